"""The stage contract: what a stage declares, how it runs, and the registry workflows look stages up in.

A stage is a small class (a dataclass of its parameters is the usual form) that declares its input
files, its output files and its parameters, and has one :meth:`Stage.execute` that does the work and
returns a :class:`~alignforge.stages.StageSummary`. :func:`run_stage` wraps it: it fingerprints the
inputs and parameters, reuses a finished run with the same fingerprint whose outputs are intact,
otherwise marks the run ``running``, executes (a killed run resumes at its row: that is each stage's
own append-and-skip logic), times it and records it ``finished`` atomically beside the outputs. A
stage that resumes by key is refused outputs an earlier run made from other inputs or parameters
(``_resume``).

Modelled on datatrove's ``PipelineStep`` (records in, records out, every drop with a reason) and
torchtune's recipes (one readable unit per stage).
"""

from __future__ import annotations

import importlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from alignforge.errors import ConfigError
from alignforge.stages._resume import output_state, refuse_stale_outputs
from alignforge.stages.record import (
    StageRecord,
    file_sha256,
    fingerprint,
    input_digests,
    now,
    record_path,
    stat_key,
)
from alignforge.stages.summary import StageSummary

__all__ = ["Stage", "run_stage", "refuse_outputs_on_inputs", "register_stage", "get_stage", "stage_names"]


class Stage(ABC):
    """One unit of work with declared inputs, outputs and parameters.

    Subclasses set ``name`` (``"generate.dpo"``, ``"dedup"``, ...) and implement :meth:`inputs`,
    :meth:`outputs`, :meth:`params` and :meth:`execute`. ``outputs()["out"]`` is the main output; the
    stage's record is kept beside it. Parameters that do not change the result (a progress bar,
    concurrency) stay out of :meth:`params`, so changing them reuses a finished run.
    """

    name: ClassVar[str] = ""
    #: False for a stage that writes its outputs under temporary names and renames them when it
    #: completes: a run that raises leaves nothing a rerun could resume from, so :func:`run_stage`
    #: puts back the record it found (or none) rather than leave one ``running``.
    resumable: ClassVar[bool] = True
    #: Input roles whose sha256 :meth:`execute_hashing` computes from the bytes its pass reads, so
    #: that :func:`run_stage` does not read those files a first time only to hash them.
    hashed_by_execute: ClassVar[tuple[str, ...]] = ()
    #: True for a stage that resumes by appending to its outputs and skipping the rows already there
    #: by key (a candidate id, an input line, a sample index) without checking what made them.
    #: :func:`run_stage` then refuses outputs with rows that an earlier run made from other inputs or
    #: parameters, or that were changed after a run finished: they would pass for this run's.
    resumes_by_key: ClassVar[bool] = False
    #: Input roles and parameter names such a stage's resume does handle when they change (each
    #: documented: a larger quota goes on where the last run stopped, ``ks`` only re-counts pass@k).
    resume_may_change: ClassVar[frozenset[str]] = frozenset()
    #: The option that starts the stage over (verify's ``--fresh``), named when a resume is refused.
    fresh_option: ClassVar[str | None] = None

    @abstractmethod
    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        """Input files by role (``None`` for an optional input not given)."""

    @abstractmethod
    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        """Output paths by role; ``out`` is the main one."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The parameters that decide the result (JSON-ready after :func:`~alignforge.stages.record.canonical`)."""

    @abstractmethod
    def execute(self) -> StageSummary:
        """Do the work (resuming at the row a killed run reached) and say what was done."""

    def execute_hashing(self, roles: frozenset[str]) -> tuple[StageSummary, dict[str, str]]:
        """:meth:`execute`, and the sha256 of the inputs in ``roles`` (of :attr:`hashed_by_execute`)
        from the bytes it read. A stage naming roles there overrides this."""
        raise NotImplementedError(f"{type(self).__name__} names hashed_by_execute but does not hash")

    def stale_rows(self) -> str | None:
        """For a stage that :attr:`resumes_by_key` and may resume on a changed input: why rows its
        outputs hold were made from other text than the input now has (None: none were)."""
        return None

    def starts_over(self) -> bool:
        """True when this run discards what its outputs hold (asked to with :attr:`fresh_option`)."""
        return False

    def fingerprint(self, *, digests: dict[str, dict[str, Any]] | None = None) -> str:
        return fingerprint(self.name, dict(self.inputs()), self.params(), digests=digests)

    def record_path(self) -> Path:
        return record_path(self.outputs()["out"])

    def finished_record(self, fp: str | None = None) -> StageRecord | None:
        """The record of a finished run with this fingerprint whose outputs are intact, else None."""
        rec = StageRecord.read(self.record_path())
        if rec is None or rec.status != "finished":
            return None
        if fp is None:
            fp = self.fingerprint(digests=input_digests(dict(self.inputs()), rec.inputs))
        if rec.fingerprint != fp:
            return None
        return rec if rec.outputs_intact() else None


def run_stage(
    stage: Stage, *, reuse: bool = True, record: bool = True, stale: str = "refuse"
) -> StageSummary:
    """Run ``stage`` through the contract and return its summary.

    ``reuse``: a finished run with the same fingerprint and intact outputs is not repeated (its
    recorded summary comes back with ``reused=True``). ``record``: write ``<out>.stage.json`` (off for
    a dry run, which writes nothing).

    An input of the stage's ``hashed_by_execute`` is hashed by the stage's own pass over it, not read
    first, unless its recorded hash still holds (same path, size, mtime, inode) or a finished run
    could be reused (whether it may depends on the hash). Its ``running`` record then has no
    fingerprint yet (``""``) and that input's ``sha256`` is null.

    An output (or the record) that is the same file as an input is refused with a
    :class:`~alignforge.errors.ConfigError` before anything is read or written
    (:func:`refuse_outputs_on_inputs`); so are, for a stage that :attr:`Stage.resumes_by_key`, outputs
    left by a run of other inputs or parameters or changed after a run finished; with
    ``stale="restart"`` (a workflow, which owns its steps' outputs) such outputs and their record are
    removed instead and the stage starts over. A run that raises
    leaves the record as it was found when it had not changed an output yet (bad input, an invalid
    option), or always for a stage that is not :attr:`Stage.resumable`.
    """
    rec_path = stage.record_path()
    inputs = dict(stage.inputs())
    refuse_outputs_on_inputs(stage.name, inputs, {**stage.outputs(), "stage record": rec_path})
    previous = StageRecord.read(rec_path)
    known = previous.inputs if previous is not None else None
    finished = reuse and previous is not None and previous.status == "finished"
    later = _hashed_later(stage, inputs, known, finished)
    digests = input_digests({r: p for r, p in inputs.items() if r not in later}, known)
    for role, path in later.items():
        digests[role] = {"path": os.fspath(path), "sha256": None, "stat": stat_key(path)}
    fp = "" if later else stage.fingerprint(digests=digests)
    if reuse and not later:
        done = stage.finished_record(fp)
        if done is not None:
            summary = StageSummary.from_dict(done.summary)
            summary.reused = True
            summary.fingerprint = fp
            return summary
    try:
        refuse_stale_outputs(stage, previous, fp, digests)
    except ConfigError:
        if stale != "restart":
            raise
        for path in stage.outputs().values():
            Path(path).unlink(missing_ok=True)
        rec_path.unlink(missing_ok=True)
        previous = None
    before = output_state(stage)
    rec = StageRecord(
        stage.name, fp, "running", params=_jsonable(stage.params()), inputs=digests, started=now()
    )
    if previous is not None and fp and previous.fingerprint == fp:
        rec.started = previous.started  # a resumed run keeps its first start
    if record:
        rec.write(rec_path)
    t0 = time.perf_counter()
    try:
        if later:
            summary, hashed = stage.execute_hashing(frozenset(later))
            for role in later:
                digests[role]["sha256"] = hashed[role]
            fp = rec.fingerprint = stage.fingerprint(digests=digests)
        else:
            summary = stage.execute()
    except BaseException:
        if record and (not stage.resumable or output_state(stage) == before):
            _put_back(rec_path, previous)
        raise
    summary.duration_s = round(time.perf_counter() - t0, 3)
    summary.fingerprint = fp
    if record and summary.estimate is None:
        rec.status = "finished"
        rec.finished = now()
        rec.outputs = {
            role: {"path": os.fspath(p), "sha256": file_sha256(p), "stat": stat_key(p)}
            for role, p in stage.outputs().items()
            if Path(p).exists()
        }
        rec.summary = summary.to_dict()
        rec.write(rec_path)
    return summary


def refuse_outputs_on_inputs(
    stage: str,
    inputs: Mapping[str, str | os.PathLike[str] | None],
    outputs: Mapping[str, str | os.PathLike[str] | None],
) -> None:
    """Raise :class:`~alignforge.errors.ConfigError` (exit 2) when an output is the same file as
    an input: writing it would destroy the input before (or while) the stage reads it. The same
    file is the same resolved path, or the same file reached by another name (a link). The error
    names the output's own role rather than ``out``, the alias of the main one."""
    for out_role, out in sorted(outputs.items(), key=lambda kv: kv[0] == "out"):
        if out is None:
            continue
        for in_role, src in inputs.items():
            if src is not None and same_file(out, src):
                raise ConfigError(
                    f"{stage}: output {out_role!r} ({os.fspath(out)}) is the same file as input "
                    f"{in_role!r} ({os.fspath(src)}): writing it would overwrite the input; "
                    "name another path"
                )


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """The same file: the same resolved path, or (both existing) one file reached by two names."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(a).resolve() == Path(b).resolve()


def _put_back(rec_path: Path, previous: StageRecord | None) -> None:
    """The record a failed run found (none: no record), when it left nothing to resume from."""
    if previous is not None:
        previous.write(rec_path)
    else:
        rec_path.unlink(missing_ok=True)


def _hashed_later(
    stage: Stage,
    inputs: dict[str, str | os.PathLike[str] | None],
    known: dict[str, Any] | None,
    may_reuse: bool,
) -> dict[str, str | os.PathLike[str]]:
    """The inputs (role -> path) the stage's pass will hash (see :func:`run_stage`)."""
    later: dict[str, str | os.PathLike[str]] = {}
    if may_reuse:
        return later
    for role in stage.hashed_by_execute:
        path = inputs.get(role)
        if path is None or not Path(path).is_file():
            continue
        prev = (known or {}).get(role)
        if (
            isinstance(prev, dict)
            and prev.get("sha256")
            and prev.get("path") == os.fspath(path)
            and prev.get("stat") == stat_key(path)
        ):
            continue  # its recorded hash holds: nothing to read
        later[role] = path
    return later


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    from alignforge.stages.record import canonical

    result: dict[str, Any] = canonical(params)
    return result


# --- registry ----------------------------------------------------------------------------------

# name -> "module:Class". Built-in stages are listed here, loaded on first use (so importing the
# registry loads no stage's heavy dependencies); a plugin adds its own with register_stage().
_REGISTRY: dict[str, str | type[Stage]] = {}


def register_stage(cls_or_path: type[Stage] | str, name: str | None = None) -> Any:
    """Register a stage class (usable as a class decorator) or a lazy ``"module:Class"`` path."""
    if isinstance(cls_or_path, str):
        if not name:
            raise ConfigError("register_stage('module:Class', name=...) needs the stage's name")
        _REGISTRY[name] = cls_or_path
        return cls_or_path
    key = name or cls_or_path.name
    if not key:
        raise ConfigError(f"{cls_or_path.__name__} has no stage name")
    _REGISTRY[key] = cls_or_path
    return cls_or_path


def get_stage(name: str) -> type[Stage]:
    """The stage class registered as ``name``; an unknown name lists the known ones."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ConfigError(f"unknown stage {name!r}; known: {', '.join(stage_names())}")
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
        _REGISTRY[name] = entry
    return entry


def stage_names() -> list[str]:
    return sorted(_REGISTRY)

"""``check`` as a stage: measure a file, hold it to the gates and, asked to, write the rows passing
every row gate, all in one pass over the input (:func:`~alignforge.quality.check_file`).

The main output is the ``keep_passing`` file when there is one (its ``*.dropped.jsonl`` beside it),
else the ``json_out`` metrics file. The summary's ``written`` / ``dropped`` are the rows kept and the
rows failing a row gate (each counted once, by the first gate it fails); its figures hold the whole
result (``result``: what ``--json`` writes), ``passed`` and ``failed_gates``.

The input is read once, also on a recorded run: the scan feeds the sha256 that names the input in
the stage record (``hashed_by_execute``), rather than :func:`~alignforge.stages.run_stage` hashing
the file before the scan reads it.

A killed check leaves no partial output (the files are renamed into place when the pass ends) and
resumes at no row: its figures are whole-file figures, so the rerun measures the file again and
writes the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from alignforge.errors import ConfigError
from alignforge.quality._digest import FileDigest
from alignforge.quality.check import CheckResult, check_file
from alignforge.quality.gates import decontam_entry, load_gates
from alignforge.stages import Stage, StageSummary, refuse_outputs_on_inputs, run_stage, side_paths

__all__ = ["CheckStage", "run_check", "load_tokenizer"]

PathLike = str | os.PathLike[str]


def load_tokenizer(spec: str) -> Any:
    """A chat-template tokenizer from a path or ``embedded`` (the bundled model's)."""
    from alignforge._deps import require

    transformers = require("transformers", extra="local")
    if spec == "embedded":
        from alignforge.models import embedded_checkpoint

        spec = str(embedded_checkpoint())
    return transformers.AutoTokenizer.from_pretrained(spec)


def _path(p: PathLike | None) -> Path | None:
    return None if p is None else Path(p)


@dataclass
class CheckStage(Stage):
    """The parameters of ``alignforge check`` (``gates``: a gates file, a loaded dict, or None for the
    defaults; ``gates_stage``: which of its stages; ``tokenizer``: a path, ``embedded`` or a loaded one)."""

    data: PathLike
    keep_passing: PathLike | None = None
    json_out: PathLike | None = None
    html_out: PathLike | None = None
    failing_rows: PathLike | None = None
    kind: str | None = None
    gates: dict[str, Any] | PathLike | None = None
    gates_stage: str | None = None
    on_error: str = "raise"
    side_file: PathLike | None = None
    against: str | list[str] | None = None
    benchmark_dir: PathLike | None = None
    decontam_report: PathLike | None = None
    verdicts: PathLike | None = None
    tokenizer: Any = None
    score_scale: str | None = None
    review: bool = False

    name: ClassVar[str] = "check"
    hashed_by_execute: ClassVar[tuple[str, ...]] = ("data",)
    # Every file is renamed into place when the pass ends: a check that fails (bad input) leaves
    # nothing to resume from, so it leaves the record it found rather than one `running`.
    resumable: ClassVar[bool] = False

    def gate_config(self) -> dict[str, Any]:
        return self.gates if isinstance(self.gates, dict) else load_gates(self.gates)

    def writes(self) -> bool:
        """Whether the check writes a file its record can sit beside (else it only measures)."""
        return self.keep_passing is not None or self.json_out is not None

    def inputs(self) -> dict[str, PathLike | None]:
        found: dict[str, PathLike | None] = {
            "data": self.data,
            "gates": None if isinstance(self.gates, dict) else self.gates,
            "verdicts": self.verdicts,
            "decontam_report": self.decontam_report,
        }
        if self.review:
            from alignforge.review.store import store_path

            found["review"] = store_path(self.data)
        entry = decontam_entry(self.gate_config())
        against = self.against or (entry[0] if entry and not self.decontam_report else None)
        if against:
            from alignforge.curate import default_benchmark_dir

            folder = self.benchmark_dir or (entry[1] if entry else None)
            found["benchmarks"] = folder or default_benchmark_dir()
            names = against.split(",") if isinstance(against, str) else against
            for name in names:  # a benchmark given as a JSONL file is an input too
                p = Path(name.strip().removeprefix("jsonl:"))
                if p.suffix in (".jsonl", ".gz") and p.is_file():
                    found[f"benchmark:{name.strip()}"] = p
        return found

    def outputs(self) -> dict[str, PathLike]:
        out = self.keep_passing if self.keep_passing is not None else self.json_out
        if out is None:
            raise ConfigError("check records its run beside a file it writes: give keep_passing or json_out")
        found: dict[str, PathLike] = {"out": out}
        if self.keep_passing is not None:
            found["dropped"] = side_paths(self.keep_passing).dropped
        for role, p in (
            ("json", self.json_out),
            ("html", self.html_out),
            ("failing_rows", self.failing_rows),
        ):
            if p is not None:
                found[role] = p
        if self.on_error == "skip":
            found["errors"] = self._side_file()
        return found

    def _side_file(self) -> Path:
        return _path(self.side_file) or Path(self.data).with_name(Path(self.data).name + ".errors.jsonl")

    def params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "gates": self.gates if isinstance(self.gates, dict) else None,
            "gates_stage": self.gates_stage,
            "on_error": self.on_error,
            "against": self.against,
            "benchmark_dir": self.benchmark_dir,
            "score_scale": self.score_scale,
            "review": self.review,
            "tokenizer": self.tokenizer,  # a name or path; a loaded one stands in by its type
            # where the files go: another path is another run
            "keep_passing": self.keep_passing,
            "json_out": self.json_out,
            "html_out": self.html_out,
            "failing_rows": self.failing_rows,
            "side_file": self.side_file,
        }

    def execute(self) -> StageSummary:
        return self._execute(None)

    def execute_hashing(self, roles: frozenset[str]) -> tuple[StageSummary, dict[str, str]]:
        """:meth:`execute`, with the data file's sha256 from the bytes the check's pass reads."""
        digest = FileDigest(self.data) if "data" in roles else None
        summary = self._execute(digest)
        return summary, ({"data": digest.finish()} if digest is not None else {})

    def _execute(self, digest: FileDigest | None) -> StageSummary:
        if self.keep_passing is not None:
            side_paths(self.keep_passing)  # refuses a keep file that is not *.jsonl before the pass
        tok = load_tokenizer(self.tokenizer) if isinstance(self.tokenizer, str) else self.tokenizer
        result = check_file(
            self.data,
            kind=self.kind,
            gates=self.gates,  # a path is named in the check's errors
            stage=self.gates_stage,
            on_error=self.on_error,
            side_file=self.side_file,
            decontam_report=self.decontam_report,
            verdicts=self.verdicts,
            tokenizer=tok,
            score_scale=self.score_scale,
            against=self.against,
            benchmark_dir=self.benchmark_dir,
            review=self.review,
            keep_passing=self.keep_passing,
            failing_rows=self.failing_rows,
            digest=digest,
        )
        if self.json_out is not None:
            write_json(result, Path(self.json_out))
        if self.html_out is not None:
            from alignforge.quality.html import render_html

            _write_atomic(Path(self.html_out), render_html(result).encode("utf-8"))
        return self._summary(result)

    def _summary(self, result: CheckResult) -> StageSummary:
        outputs = {role: os.fspath(p) for role, p in self.outputs().items()} if self.writes() else {}
        s = StageSummary(
            self.name,
            written=result.kept or 0,
            outputs=outputs,
            figures={
                "result": result.as_dict(),
                "passed": result.passed,
                "failed_gates": [g.name for g in result.failed_gates],
                "kind": result.kind,
            },
        )
        for reason, n in result.drop_reasons.items():
            s.drop(reason, n)
        if self.keep_passing is not None:
            s.notes.append(
                f"kept {result.kept:,} rows passing every row-level gate -> {self.keep_passing} "
                f"({result.dropped:,} dropped, with their reasons -> {side_paths(self.keep_passing).dropped})"
            )
        if self.failing_rows is not None:
            s.notes.append(
                f"{result.dropped:,} rows failing a row-level gate -> {self.failing_rows}/<gate>.jsonl"
            )
        return s


def _write_atomic(path: Path, data: bytes) -> None:
    """``path``'s bytes replaced whole: written as ``.NAME.partial`` beside it, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(result: CheckResult, path: Path) -> None:
    import orjson

    _write_atomic(
        path,
        orjson.dumps(
            result.as_dict(),
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        ),
    )


def run_check(stage: CheckStage, *, reuse: bool = False) -> tuple[StageSummary, CheckResult]:
    """Run a check: through :func:`~alignforge.stages.run_stage` (recorded beside its output) when it
    writes a file, else as a bare measurement. Not reused by default: a rerun measures again, since
    a check also reads what its fingerprint does not cover (the tokenizer behind a name, a
    benchmark index). Returns the summary and the result it holds.

    An unrecorded check still refuses an ``html_out`` or ``failing_rows`` that is one of its inputs,
    as :func:`~alignforge.stages.run_stage` does for a recorded one (the side file of skipped lines
    is refused by :func:`~alignforge.quality.check_file` itself)."""
    if stage.writes():
        summary = run_stage(stage, reuse=reuse)
    else:
        outputs = {"html": stage.html_out, "failing_rows": stage.failing_rows}
        refuse_outputs_on_inputs(stage.name, stage.inputs(), outputs)
        summary = stage.execute()
    return summary, CheckResult.from_dict(summary.figures["result"])

"""RLVR tasks with verifiable rewards: math, code, finance and general, each checked before it is written.

No LLM is needed. Math: procedural questions with exact answers. Code: functions whose reference
solution must pass all of its 3-5 tests in the sandbox. Finance and general: templates whose
reference answer, stated plainly, must pass the task's own verifier (``metadata.verifier``; see
docs/rlvr_domains.md). ``mix`` (``"40/30/20/10"``) splits ``n`` over the four domains. Tasks that
fail go to ``<out>.dropped.jsonl`` with the reason.

Tasks are checked and written a chunk at a time, in the order they are made; a rerun keeps the
rows already written that are still what this run would write (the same tasks, in the same order)
and checks only the rest, so a killed run resumes at its row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from alignforge.errors import ConfigError
from alignforge.generate._rlvr_rows import VERIFICATION_TYPES, check, chunks, make_rows, specs
from alignforge.generate._stage import GeneratorStage, run_generator
from alignforge.generate.mix import MIX_DOMAINS, parse_mix, plan_mix
from alignforge.io import JsonlWriter, iter_jsonl, write_jsonl
from alignforge.stages import StageSummary, add_drop_reason, drop_reasons_of, side_paths

__all__ = ["generate_rlvr_data", "RLVRStage", "VERIFICATION_TYPES"]


def _as_made(row: dict[str, Any]) -> dict[str, Any]:
    """A written row as it was made, before the check marked it (``reference_passed``, drop reasons)."""
    meta = {k: v for k, v in row.get("metadata", {}).items() if k not in ("reference_passed", "drop_reasons")}
    return {**row, "metadata": meta}


@dataclass
class RLVRStage(GeneratorStage):
    """``generate rlvr`` as a stage: the parameters of :func:`generate_rlvr_data`, one ``execute()``."""

    name = "generate.rlvr"

    input_file: str | os.PathLike[str] | None
    output_file: str | os.PathLike[str]
    domain: str | None = None
    verification_type: str | None = None
    n: int = 100
    seed: int = 0
    timeout_s: float = 5.0
    mix: str | None = None

    def __post_init__(self) -> None:
        if self.mix is not None:
            if self.domain is not None:
                raise ConfigError(f"give a domain ({self.domain!r}) or a mix ({self.mix!r}), not both")
            if self.verification_type is not None or self.input_file is not None:
                raise ConfigError(
                    "a mix plans the built-in generators of each domain with its default verification "
                    "type: give --input / --verification-type with --domain instead"
                )
            self.mix = "/".join(str(v) for v in parse_mix(self.mix).values())  # one spelling per mix
            return
        self.domain = self.domain or "math"
        if self.domain not in VERIFICATION_TYPES:
            raise ConfigError(f"RLVR domain must be one of {sorted(VERIFICATION_TYPES)}, got {self.domain!r}")
        if self.verification_type is None and self.domain != "general":  # general: each task its own
            self.verification_type = VERIFICATION_TYPES[self.domain][0]
        if (
            self.verification_type is not None
            and self.verification_type not in VERIFICATION_TYPES[self.domain]
        ):
            raise ConfigError(
                f"verification type {self.verification_type!r} does not fit domain {self.domain!r}: use one of "
                f"{VERIFICATION_TYPES[self.domain]}"
            )

    def params(self) -> dict[str, Any]:
        p = super().params()
        if self.input_file is not None:  # the specs say how many tasks and from which seed
            del p["n"], p["seed"]
        return p

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"specs": self.input_file}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        paths = side_paths(self.output_file)  # no LLM, no failures file
        return {"out": paths.out, "dropped": paths.dropped}

    def _plan(self) -> list[tuple[str, str | None, int]]:
        """(domain, verification type, tasks) in the order the rows are made: math, code, finance, general."""
        if self.mix is None:
            assert self.domain is not None
            return [(self.domain, self.verification_type, self.n)]
        counts = plan_mix(self.n, self.mix)
        return [(d, None if d == "general" else VERIFICATION_TYPES[d][0], counts[d]) for d in MIX_DOMAINS]

    def execute(self) -> StageSummary:
        paths = side_paths(self.output_file)
        rows: list[dict[str, Any]] = []
        drawn: dict[str, dict[str, int]] = {}  # generator / family -> tasks asked of it, distinct ones made
        for domain, vtype, n in self._plan():
            for spec in specs(self.input_file, domain, vtype, n, self.seed):
                made = make_rows(domain, spec, vtype, self.input_file)
                rows.extend(made)
                if "prompt" not in spec:  # a generator spec (a ready task is one row, always made)
                    d = drawn.setdefault(
                        str(spec.get("generator") or spec.get("family")), {"asked": 0, "made": 0}
                    )
                    d["asked"] += int(spec.get("count", 1))
                    d["made"] += len(made)
        summary = self.summary(by_source={}, by_domain={}, short_of={})
        bad: dict[str, tuple[str, Any]] = {}
        start = self._resume(rows, bad)
        summary.resumed = start
        seen = {r["task_id"] for r in rows[:start]}
        with JsonlWriter(paths.out) as out_w, JsonlWriter(paths.dropped) as drop_w:
            for chunk in chunks(rows, start):
                bad.update(check([r for r in chunk if r["task_id"] not in bad], self.timeout_s))
                for r in chunk:
                    tid = r["task_id"]
                    reason = bad.get(tid) or (("duplicate_task", {"task_id": tid}) if tid in seen else None)
                    seen.add(tid)
                    if reason:
                        drop_w.write(add_drop_reason(r, *reason))
                        summary.drop(reason[0])
                        continue
                    r["metadata"]["reference_passed"] = True
                    out_w.write(r)
                    summary.written += 1
        for r in rows:
            if r["metadata"].get("reference_passed"):
                src = r["metadata"].get("generator") or r["metadata"].get("family") or "input"
                summary.by_source[src] = summary.by_source.get(src, 0) + 1
                summary.by_domain[r["domain"]] = summary.by_domain.get(r["domain"], 0) + 1
        counts = ", ".join(f"{k}={v}" for k, v in sorted(summary.by_source.items()))
        summary.notes = [f"   tasks in {paths.out.name}: {sum(summary.by_source.values())} ({counts})"]
        summary.figures["short_of"] = {k: v for k, v in sorted(drawn.items()) if v["made"] < v["asked"]}
        if summary.short_of:
            asked, distinct = (sum(v[f] for v in drawn.values()) for f in ("asked", "made"))
            short = ", ".join(
                f"{k} {v['made']} of {v['asked']}"
                for k, v in sorted(summary.short_of.items(), key=lambda kv: kv[1]["made"] - kv[1]["asked"])
            )
            summary.notes.append(
                f"   asked {asked} tasks, the generators gave {distinct} distinct ones (a small parameter space "
                f"repeats itself; each generator draws at most 5 per task asked): {short}"
            )
        if self.mix is not None:
            planned = plan_mix(self.n, self.mix)
            summary.notes.append(
                f"   mix {self.mix} (math/code/finance/general): "
                + ", ".join(f"{d}={summary.by_domain.get(d, 0)} of {planned[d]}" for d in MIX_DOMAINS)
            )
        return summary

    def _resume(self, rows: list[dict[str, Any]], bad: dict[str, tuple[str, Any]]) -> int:
        """How many of ``rows`` are already written as this run would write them (in order, across the
        two files); anything after that is cut, so the run continues from there. Fills ``bad`` with
        the verdicts of the dropped ones, so a later duplicate of a task gets its task's reason."""
        paths = side_paths(self.output_file)
        written = [
            [row for _, row in iter_jsonl(p)] if p.exists() and p.stat().st_size else []
            for p in (paths.out, paths.dropped)
        ]
        pos = [0, 0]
        k = 0
        for k, row in enumerate(rows):  # noqa: B007 (k: how many matched when the loop stops)
            for side in (0, 1):
                have = written[side]
                if pos[side] < len(have) and _as_made(have[pos[side]]) == row:
                    reasons = drop_reasons_of(have[pos[side]])
                    if side == 0:
                        row["metadata"]["reference_passed"] = True
                    elif reasons and reasons[0]["reason"] != "duplicate_task":
                        bad.setdefault(row["task_id"], (reasons[0]["reason"], reasons[0]["detail"]))
                    pos[side] += 1
                    break
            else:
                break
        else:
            k = len(rows)
        for side, p in enumerate((paths.out, paths.dropped)):
            if pos[side] < len(written[side]):  # rows this run would not write here: start over from k
                write_jsonl(p, written[side][: pos[side]])
        return k


def generate_rlvr_data(
    input_file: str | os.PathLike[str] | None,
    output_file: str | os.PathLike[str],
    domain: str | None = None,
    verification_type: str | None = None,
    *,
    n: int = 100,
    seed: int = 0,
    timeout_s: float = 5.0,
    mix: str | None = None,
) -> StageSummary:
    """Write verifiable RLVR tasks for ``domain`` (``math``, the default, ``code``, ``finance`` or
    ``general``) to ``output_file``, or ``n`` tasks split over all four by ``mix`` (``"40/30/20/10"``:
    math/code/finance/general, whole percentages; rows are written in that order).

    ``input_file`` may hold generator specs (``{"generator": "percent", "count": 20, "seed": 1}`` for
    math, ``{"family": "caesar", "count": 5}`` for code, finance and general), ready tasks to check
    (math: ``prompt`` + ``answer``; code: ``prompt``, ``tests``, ``entry_point``,
    ``reference_solution``; finance: ``prompt``, ``answer``, ``metadata.verifier``; general:
    ``prompt``, ``answer``, ``choices`` for multiple choice, ``metadata.verifier`` optional), or be
    ``None`` for ``n`` tasks spread evenly over the built-in generators. A general task carries its
    own verification type (``short_answer`` or ``choice``); naming one keeps only that type.
    Returns the stage's :class:`~alignforge.stages.StageSummary` (path-like for the tasks file;
    figures ``by_source`` and ``by_domain``).
    """
    return run_generator(RLVRStage(**locals()), dry_run=False)

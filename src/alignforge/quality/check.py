"""``check``: read a dataset once, compute its figures, hold them against the gates, and (asked to)
write the rows passing every row gate in that same pass (:mod:`alignforge.quality._rowfilter`).
The scans themselves (the accumulator for a kind, the parallel and columnar whole-file scans) are
in :mod:`alignforge.quality._check_scan`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import AlignforgeError
from alignforge.io import DataError as DataError  # reached through this module (tests)
from alignforge.io import ReadStats, detect_file_kind, first_row, read_rows
from alignforge.quality import _columnar
from alignforge.quality import _decontam as decontam_figures
from alignforge.quality._check_scan import _feed, _scan_parallel
from alignforge.quality._check_scan import make_accumulator as make_accumulator
from alignforge.quality._common import Accumulator
from alignforge.quality._digest import FileDigest
from alignforge.quality._dpo import DPOAccumulator as DPOAccumulator  # reached through this module (tests)
from alignforge.quality._rowfilter import RowFilter
from alignforge.quality.gates import (
    GateResult,
    decontam_entry,
    evaluate,
    load_gates,
    row_rules,
    stage_for_kind,
)
from alignforge.records import Kind, detect_shape
from alignforge.stages import same_file

__all__ = [
    "CheckResult",
    "check_file",
    "compute_figures",
    "input_warnings",
    "keep_passing",
    "make_accumulator",
]


@dataclass
class CheckResult:
    path: str
    kind: str
    shape: str
    stage: str
    figures: dict[str, Any]
    gates: list[GateResult] = field(default_factory=list)
    read: ReadStats = field(default_factory=ReadStats)
    # With keep_passing / failing_rows: rows passing every row gate, rows failing one, and the
    # failing rows counted once each by the first gate they fail.
    kept: int | None = None
    dropped: int | None = None
    drop_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not any(g.failed for g in self.gates)

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if g.failed]

    def as_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path,
            "kind": self.kind,
            "shape": self.shape,
            "stage": self.stage,
            "passed": self.passed,
            "figures": self.figures,
            "gates": [g.as_dict() for g in self.gates],
            "invalid_rows": {
                "skipped": self.read.skipped,
                "reasons": self.read.reasons,
                "side_file": self.read.side_file,
            },
        }
        if self.kept is not None:
            out["row_filter"] = {
                "kept": self.kept,
                "dropped": self.dropped,
                "drop_reasons": self.drop_reasons,
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """The inverse of :meth:`as_dict` (a recorded stage summary holds that form)."""
        invalid = data.get("invalid_rows") or {}
        read = ReadStats(
            skipped=invalid.get("skipped", 0),
            reasons=dict(invalid.get("reasons") or {}),
            side_file=invalid.get("side_file"),
        )
        rows = data.get("row_filter") or {}
        return cls(
            data["path"],
            data["kind"],
            data["shape"],
            data["stage"],
            data["figures"],
            [GateResult.from_dict(g) for g in data.get("gates", [])],
            read,
            rows.get("kept"),
            rows.get("dropped"),
            dict(rows.get("drop_reasons") or {}),
        )


def _first_shape(path: Path) -> str:
    row = first_row(path)
    return detect_shape(row).value if row is not None else "standard"


def _load_verdicts(path: str | os.PathLike[str]) -> dict[str, str]:
    best: dict[str, str] = {}
    for _, row in read_rows(path, Kind.VERDICT):
        tid = row["task_id"]
        if best.get(tid) != "passed":
            best[tid] = row["status"]
    return best


def compute_figures(
    path: str | os.PathLike[str],
    *,
    kind: Kind | str | None = None,
    rules: dict[str, Any] | None = None,
    on_error: str = "raise",
    side_file: str | os.PathLike[str] | None = None,
    tokenizer: Any = None,
    verdicts: dict[str, str] | None = None,
    stats: ReadStats | None = None,
    score_scale: str | None = None,
    against: str | Sequence[str] | None = None,
    benchmark_dir: str | os.PathLike[str] | None = None,
    decontam_report: str | os.PathLike[str] | None = None,
    row_filter: RowFilter | None = None,
    digest: FileDigest | None = None,
) -> tuple[Kind, dict[str, Any], Accumulator]:
    """One streaming pass over ``path``: (kind, figures, the accumulator).

    ``row_filter`` sees every row with the row gates it failed, in the same pass (which then runs
    in one process); the caller calls its ``finish`` with the accumulator's ``excluded_by``.

    Decontamination (see :mod:`alignforge.quality._decontam`): ``against`` scans the same rows for
    benchmark overlap in that pass (``benchmark_dir`` defaults to
    :func:`~alignforge.curate.default_benchmark_dir`); ``decontam_report`` takes the figures of a
    report bound to this file's sha256. With neither, ``decontamination`` is None (unmeasured).

    ``digest`` is fed the file's bytes as the pass reads them (:mod:`alignforge.quality._digest`);
    its ``finish`` then gives the file's sha256 without reading it again.
    """
    path = Path(path)
    if against and decontam_report:
        raise AlignforgeError("give either a benchmark scan (--against) or --decontam-report, not both")
    # A report for another file is refused before the long pass; the scan's index is built before it.
    decontam = decontam_figures.report_figures(decontam_report, path) if decontam_report else {}
    names = decontam_figures.parse_names(against) if against else None
    scan = decontam_figures.start_scan(names, benchmark_dir) if names else None
    k = Kind(kind) if kind else detect_file_kind(path, on_error=on_error)  # type: ignore[arg-type]
    given = stats is not None
    stats = stats if stats is not None else ReadStats()
    workers = 1 if row_filter is not None else _parallel_workers(path, k, on_error)
    columnar = row_filter is None and _columnar_eligible(path, k, on_error)
    if workers > 1 or columnar:
        acc = _scan_parallel(path, k, rules or {}, workers, stats, columnar=columnar, digest=digest)
        if scan is not None:
            decontam_figures.scan_parallel(path, k, scan, workers)
        figures = acc.finish()
        stats.rows = acc.rows
        if given:
            figures["invalid_rows"] = 0
    else:
        acc = make_accumulator(
            k, rules or {}, tokenizer=tokenizer, verdicts=verdicts, score_scale=score_scale
        )
        fed: Any = row_filter.attach(acc) if row_filter is not None else acc
        rows = read_rows(path, k, on_error=on_error, side_file=side_file, stats=stats, digest=digest)  # type: ignore[arg-type]
        _feed(fed, rows, scan)
        figures = acc.finish()
        if given:
            figures["invalid_rows"] = stats.skipped
    if scan is not None:
        decontam = decontam_figures.scan_figures(scan, names, benchmark_dir)  # type: ignore[arg-type]
    figures.update(decontam)
    figures["blank_lines"] = stats.blank_lines
    figures["blank_line_numbers"] = stats.blank_line_numbers
    return k, figures, acc


PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def _parallel_workers(path: Path, kind: Kind, on_error: str) -> int:
    """Large files of a mergeable kind are split by byte range over the cores (strict mode only:
    skip mode keeps one side file in line order)."""
    if kind is not Kind.DPO or on_error != "raise" or str(path).endswith(".parquet"):
        return 1
    if path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def _columnar_eligible(path: Path, kind: Kind, on_error: str) -> bool:
    """Large DPO JSONL files read strictly go to the columnar scan first (:mod:`._columnar`)."""
    if kind is not Kind.DPO or on_error != "raise" or str(path).endswith(".parquet"):
        return False
    return path.stat().st_size >= _columnar.MIN_BYTES


WARNED_ROWS = 10


def _some(lines: list[int], total: int, shown: int = 20) -> str:
    text = ", ".join(map(str, lines[:shown]))
    return text + (f" and {total - shown:,} more" if total > shown else "")


def input_warnings(path: str | os.PathLike[str], figures: dict[str, Any]) -> list[str]:
    """Input problems that do not stop the check, each ``path:line: field 'x': message``: blank lines,
    DPO pairs whose chosen equals rejected once whitespace is normalised, RLVR rows repeating an
    earlier row (the first :data:`WARNED_ROWS` of each; the figures hold the rest)."""
    out = []
    n = figures.get("blank_lines") or 0
    if n:
        lines = figures["blank_line_numbers"]
        out.append(f"{path}:{lines[0]}: {n:,} blank line(s) skipped, at lines {_some(lines, n)}")
    n = figures.get("identical_pairs") or 0
    for line in figures.get("identical_pair_lines", [])[:WARNED_ROWS]:
        out.append(
            f"{path}:{line}: field 'rejected': equals 'chosen' once whitespace is normalised "
            "(no preference signal)"
        )
    if n > WARNED_ROWS:
        out.append(f"{path}: {n - WARNED_ROWS:,} more pairs with chosen equal to rejected (identical_pairs)")
    repeats = figures.get("duplicate_row_lines", [])
    for d in repeats[:WARNED_ROWS]:
        out.append(f"{path}:{d['line']}: field '<row>': repeats line {d['first_line']} exactly")
    n = figures.get("duplicate_rows") or 0
    if n > WARNED_ROWS:
        out.append(f"{path}: {n - WARNED_ROWS:,} more rows repeating an earlier row (duplicate_row_lines)")
    return out


def check_file(
    path: str | os.PathLike[str],
    *,
    kind: Kind | str | None = None,
    gates: dict[str, Any] | str | os.PathLike[str] | None = None,
    stage: str | None = None,
    on_error: str = "raise",
    side_file: str | os.PathLike[str] | None = None,
    decontam_report: str | os.PathLike[str] | None = None,
    verdicts: str | os.PathLike[str] | None = None,
    tokenizer: Any = None,
    score_scale: str | None = None,
    against: str | Sequence[str] | None = None,
    benchmark_dir: str | os.PathLike[str] | None = None,
    review: bool = False,
    keep_passing: str | os.PathLike[str] | None = None,
    failing_rows: str | os.PathLike[str] | None = None,
    digest: FileDigest | None = None,
) -> CheckResult:
    """Measure ``path`` and evaluate its stage's gates (the defaults of ``gates init`` when None).

    In the same pass, ``keep_passing`` (``*.jsonl``) receives the rows that pass every row gate and
    its ``*.dropped.jsonl`` the others, each with ``metadata.drop_reasons``; ``failing_rows`` (a
    folder) receives each gate's failing rows as ``<gate>.jsonl`` (``{"line", "gate", "row"}``).
    The result's ``kept`` / ``dropped`` count them. The input is read once either way.

    ``score_scale`` ("0-10" or "0-1") says what scale SFT rows' ``score`` is on when a row does not
    say (``metadata.score_scale``); the judge's 0-10 by default.

    Decontamination is measured by ``against`` (a scan in the same pass), else by
    ``decontam_report`` (bound to this file's sha256), else by the gates file's
    ``decontamination:`` entry; with none of them the figure is unmeasured and its gate fails.

    ``review`` adds the manual review's figures (``alignforge review``; its SQLite store beside
    ``path``, bound to the file's sha256): ``review_disagreement`` feeds the gate of that name.

    ``digest`` (a :class:`~alignforge.quality._digest.FileDigest` of ``path``) is fed the bytes the
    pass reads, for the stage record's content hash.
    """
    path = Path(path)
    gate_cfg = gates if isinstance(gates, dict) else load_gates(gates)
    gates_where = "the gates" if isinstance(gates, dict) else str(gates or "the default gates")
    entry = decontam_entry(gate_cfg)
    if not against and not decontam_report and entry is not None:
        against = entry[0]
        benchmark_dir = benchmark_dir if benchmark_dir is not None else entry[1]
    if decontam_report and entry is not None and not against:
        _require_report_covers(decontam_report, entry[0], gates_where, path)
    k = Kind(kind) if kind else detect_file_kind(path, on_error=on_error)  # type: ignore[arg-type]
    stage = _data_stage(stage, k, path)
    stats = ReadStats()
    side: Path | None = None
    if on_error == "skip":
        side = Path(side_file) if side_file else path.with_name(path.name + ".errors.jsonl")
        inputs = {"data": path, "gates file": gates, "verdicts": verdicts, "report": decontam_report}
        _refuse_side_file_on_input(side, inputs)
        _partial(side).unlink(missing_ok=True)
    verdict_map = _load_verdicts(verdicts) if verdicts else None
    rules = row_rules(gate_cfg, stage)
    filt = None
    if keep_passing is not None or failing_rows is not None:
        filt = RowFilter(k, rules, keep=keep_passing, failing_dir=failing_rows)
    try:
        figures, _ = _measure(
            path,
            filt,
            kind=k,
            rules=rules,
            on_error=on_error,
            side_file=_partial(side) if side is not None else side_file,
            tokenizer=tokenizer,
            verdicts=verdict_map,
            stats=stats,
            score_scale=score_scale,
            against=against,
            benchmark_dir=benchmark_dir,
            decontam_report=decontam_report,
            digest=digest,
        )
    except BaseException:
        if side is not None:
            _partial(side).unlink(missing_ok=True)  # the last run's side file stays as it was
        raise
    finally:
        if filt is not None:
            filt.abort()  # removes partial files (after finish() there are none)
    if side is not None:  # this run's skipped lines replace the last run's, whole
        if _partial(side).exists():
            os.replace(_partial(side), side)
        else:
            side.unlink(missing_ok=True)
        stats.side_file = str(side)
    figures["warnings"] = input_warnings(path, figures)
    if review:
        from alignforge.review import review_figures

        rev = review_figures(path)
        figures.update({k: rev[k] for k in ("review_disagreement", "review_decided", "review_covered_share")})
    results = evaluate(figures, gate_cfg, stage)
    result = CheckResult(str(path), k.value, _first_shape(path), stage, figures, results, stats)
    if filt is not None:
        result.kept, result.dropped, result.drop_reasons = filt.kept, filt.dropped, dict(filt.first_reasons)
    return result


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


_KIND_OF_STAGE = {
    stage_for_kind(k.value): k.value for k in (Kind.DPO, Kind.SFT, Kind.KTO, Kind.GRPO, Kind.RLVR)
}


def _data_stage(stage: str | None, kind: Kind, path: Path) -> str:
    """The gates stage to hold ``path`` to: ``stage``, or the kind's data stage. A data stage of
    another kind is refused: its row gates read fields this kind's rows do not have, so they would
    pass without being judged."""
    own = stage_for_kind(kind.value)
    other = _KIND_OF_STAGE.get(stage) if stage is not None else None
    if stage is None or other is None or stage == own:
        return stage or own
    raise AlignforgeError(
        f"{path}: --stage {stage} holds {other} data, but this is a {kind.value} file (stage {own}): "
        f"its gates would not be judged on these rows; drop --stage, or give --kind {other} if the "
        f"file really is {other} data"
    )


def _refuse_side_file_on_input(side: Path, inputs: dict[str, Any]) -> None:
    """The side file of skipped lines is replaced by each run: one that is an input would destroy it."""
    for role, p in inputs.items():
        if isinstance(p, str | os.PathLike) and same_file(side, p):
            raise AlignforgeError(
                f"{side}: the side file for skipped lines (--side-file) is the {role} {p}, which the run "
                f"would overwrite; give --side-file another path (default: DATA.errors.jsonl)"
            )


def _benchmark_key(name: str) -> str:
    """A benchmark as ``--against`` names it, compared: a registry name in any case, a file by its path."""
    from alignforge.curate.benchmarks import _is_user_file

    name = name.strip()
    if _is_user_file(name):
        return str(Path(name.removeprefix("jsonl:")).expanduser().resolve())
    return name.lower()


def _require_report_covers(
    report: str | os.PathLike[str], names: list[str], gates_where: str, data: Path
) -> None:
    """Refuse a ``--decontam-report`` that did not scan every benchmark the gates file's
    ``decontamination`` entry names (its figure would vouch for benchmarks never scanned).

    A report that cannot be read, or is not a JSON object, is left to
    :func:`~alignforge.quality._decontam.report_figures`, which refuses it before the pass."""
    import orjson

    try:
        content = orjson.loads(Path(report).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return
    if not isinstance(content, dict):
        return
    scanned = content.get("against")
    if not isinstance(scanned, list) or not all(isinstance(x, str) for x in scanned):
        raise AlignforgeError(
            f"{report}: field 'against' does not list the benchmarks the report scanned, so it cannot "
            f"vouch for the benchmarks {gates_where} names ({', '.join(names)}); re-run "
            f"`alignforge decontaminate {data} --against {','.join(names)} --report {report}`"
        )
    have = {_benchmark_key(x) for x in scanned}
    missing = [n for n in names if _benchmark_key(n) not in have]
    if missing:
        raise AlignforgeError(
            f"{report}: a decontamination report against {', '.join(scanned) or 'nothing'}, given for "
            f"{data}, but {gates_where} (decontamination.against) names {', '.join(names)}: it did not scan "
            f"{', '.join(missing)}; re-run `alignforge decontaminate {data} --against {','.join(names)} "
            f"--report {report}`, or check with --against {','.join(names)}"
        )


def _measure(path: Path, filt: RowFilter | None, **kwargs: Any) -> tuple[dict[str, Any], Accumulator]:
    """compute_figures, with the row filter finished once the whole-file gates are known."""
    _, figures, acc = compute_figures(path, row_filter=filt, **kwargs)
    if filt is not None:
        filt.finish(acc)
    return figures, acc


def keep_passing(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    *,
    kind: Kind | str,
    rules: dict[str, Any],
    excluded_lines: set[int] | None = None,
    excluded_by: dict[str, set[int]] | None = None,
    failing_dir: str | os.PathLike[str] | None = None,
) -> tuple[int, int]:
    """Write the rows of ``path`` that pass every row-level gate of ``rules`` to ``out`` (``*.jsonl``;
    the others to its ``*.dropped.jsonl`` with ``metadata.drop_reasons``): (kept, dropped).

    One streaming pass (invalid lines are skipped): duplicates ("first occurrence wins") and
    conflicts are found in it. ``excluded_by`` (gate -> lines) and ``excluded_lines`` (gate
    ``excluded``) drop further rows the caller names. With ``failing_dir`` every failing row also
    goes to ``failing_dir/<gate>.jsonl`` as ``{"line", "gate", "row"}``, once per gate it fails.
    :func:`check_file` with ``keep_passing=`` does this while it measures the file.
    """
    k = Kind(kind)
    extra = {g: set(lines) for g, lines in (excluded_by or {}).items()}
    if excluded_lines:
        extra.setdefault("excluded", set()).update(excluded_lines)
    filt = RowFilter(k, rules, keep=out, failing_dir=failing_dir, extra=extra)
    try:
        _measure(Path(path), filt, kind=k, rules=rules, on_error="skip")
    finally:
        filt.abort()
    return filt.kept, filt.dropped

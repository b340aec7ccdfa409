"""Where ``check``'s decontamination figure comes from: a scan of the checked rows, or a bound report.

Rows' own ``contaminated`` flags never feed it (they are reported as ``decontamination_claimed``).

* **scan** - :class:`~alignforge.curate.decontam.StreamScan`, the n-gram engine of
  ``decontaminate``, fed the same batches as the accumulator in ``check``'s single pass (a large
  file read in parallel byte ranges gets a parallel scan of its own ranges).
* **report** - a ``decontaminate --report`` JSON, accepted only when the checked file's sha256
  equals the hash of the file it scanned (``scanned``) or of the clean file it wrote (``output``,
  whose figures were counted as it was written). Anything else is refused (exit 2).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError
from alignforge.io import DataError, read_rows
from alignforge.records import Kind

__all__ = ["file_sha256", "report_figures", "start_scan", "scan_figures", "scan_parallel", "parse_names"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def parse_names(against: str | Sequence[str]) -> list[str]:
    from alignforge.curate.decontam import parse_against

    return parse_against(against)


def _fix_hint(data: Path, report: str | os.PathLike[str]) -> str:
    return (
        f"re-run `alignforge decontaminate {data} --report {report}` on this file, "
        f"or measure it directly with `alignforge check {data} --against gsm8k,humaneval,...`"
    )


def _section_figures(where: str, section: dict[str, Any], path: str | os.PathLike[str]) -> dict[str, Any]:
    """The figures of one section of a report, each checked: a report is input, not trusted."""
    score = section.get("decontamination_score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
        raise AlignforgeError(
            f"{path}: field '{where}decontamination_score' must be a number in 0-1, got {score!r}"
        )
    per = section.get("per_benchmark")
    if not isinstance(per, dict) or not all(
        isinstance(b, dict) and isinstance(b.get("share"), int | float) and not isinstance(b["share"], bool)
        for b in per.values()
    ):
        raise AlignforgeError(
            f"{path}: field '{where}per_benchmark' must map each benchmark to {{items, overlapped_items, share}}"
        )
    return {
        "decontamination": float(score),
        "per_benchmark": per,
        "max_benchmark_share": max((b["share"] for b in per.values()), default=0.0),
    }


def report_figures(report_path: str | os.PathLike[str], data: str | os.PathLike[str]) -> dict[str, Any]:
    """The figures of a ``decontaminate --report`` for ``data``; refused unless bound to its bytes."""
    data = Path(data)
    try:
        report = orjson.loads(Path(report_path).read_bytes())
    except FileNotFoundError:
        raise AlignforgeError(f"{report_path}: no such decontamination report") from None
    except orjson.JSONDecodeError as exc:
        raise AlignforgeError(f"{report_path}: not valid JSON ({exc})") from None
    if not isinstance(report, dict):
        raise AlignforgeError(
            f"{report_path}: expected the JSON object `alignforge decontaminate --report` writes"
        )
    scanned = report.get("scanned")
    if not isinstance(scanned, dict) or not isinstance(scanned.get("sha256"), str):
        raise AlignforgeError(
            f"{report_path}: field 'scanned.sha256' is missing, so the report does not say which file's bytes "
            f"it measured (written by an older alignforge, or not by `decontaminate`) and cannot vouch for "
            f"{data}; " + _fix_hint(data, report_path)
        )
    sha = file_sha256(data)
    output = report.get("output") if isinstance(report.get("output"), dict) else None
    if sha == scanned["sha256"]:
        measured, section, where = scanned, report, ""
    elif output is not None and sha == output.get("sha256"):
        measured, section, where = output, output, "output."
    else:
        also = (
            f" and its clean output {output.get('path')} (sha256 {str(output.get('sha256'))[:16]}...)"
            if output is not None
            else ""
        )
        raise AlignforgeError(
            f"{report_path} is a decontamination report for {scanned.get('path')} (sha256 "
            f"{scanned['sha256'][:16]}...){also}, not for {data} (sha256 {sha[:16]}...): another file, "
            f"or the file was edited after the scan; " + _fix_hint(data, report_path)
        )
    figures = _section_figures(where, section, report_path)
    figures["decontamination_source"] = {
        "method": "report",
        "report": str(report_path),
        "sha256": sha,
        "measured_as": "output" if where else "scanned",
        "against": report.get("against"),
        "rows": measured.get("rows"),
        "unscanned_rows": section.get("unscanned_rows"),  # None: a report from before they were counted
    }
    return figures


def start_scan(against: Sequence[str], benchmark_dir: Any) -> Any:
    """A :class:`~alignforge.curate.decontam.StreamScan` over ``against`` (the index is cached on disk)."""
    from alignforge.curate import build_index
    from alignforge.curate.decontam import StreamScan

    return StreamScan(build_index(parse_names(against), benchmark_dir=benchmark_dir))


def scan_figures(scan: Any, against: Sequence[str], benchmark_dir: Any) -> dict[str, Any]:
    from alignforge.curate import resolve_benchmark_dir

    t = scan.tally.figures()
    return {
        "decontamination": t["decontamination_score"],
        "per_benchmark": t["per_benchmark"],
        "max_benchmark_share": t["max_benchmark_share"],
        "contaminated_rows": t["contaminated_rows"],
        "decontamination_source": {
            "method": "scan",
            "against": list(against),
            "benchmark_dir": str(resolve_benchmark_dir(benchmark_dir)),
            "n": scan.index.n,
            "rows": t["rows"],
            "contaminated_first_lines": scan.tally.first_lines[:20],
            # Rows with no text in the fields the scan reads: not clean, so not in the figure's numerator.
            "unscanned_rows": t["unscanned_rows"],
            "unscanned_first_lines": scan.tally.unscanned_lines[:20],
        },
    }


# The scan of one parallel pass, set before the fork: each child reads the parent's index
# instead of unpickling tens of MB.
_FORK_SCAN: Any = None


def _scan_range(path: Path, kind: Kind, start: int, end: int) -> tuple[Any, int, Any]:
    from alignforge.curate.decontam import StreamScan

    seen = [0]
    scan = StreamScan(_FORK_SCAN.index, _FORK_SCAN.rules)
    lines: list[int] = []
    rows: list[dict[str, Any]] = []
    try:
        for line, row in read_rows(path, kind, byte_range=(start, end), lines_seen=seen):
            lines.append(line)
            rows.append(row)
            if len(rows) == 4096:
                scan.add_batch(lines, rows)
                lines, rows = [], []
        if rows:
            scan.add_batch(lines, rows)
    except DataError as exc:
        return None, seen[0], (exc.line, exc.message, exc.field)
    return scan.tally, seen[0], None


def scan_parallel(path: Path, kind: Kind, scan: Any, workers: int) -> None:
    """Scan ``path`` in ``workers`` byte ranges (the parallel path of ``check``), merged into ``scan``."""
    import multiprocessing

    global _FORK_SCAN
    size = path.stat().st_size
    bounds = [size * i // workers for i in range(workers + 1)]
    _FORK_SCAN = scan
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.starmap(
                _scan_range, [(path, kind, bounds[i], bounds[i + 1]) for i in range(workers)]
            )
    finally:
        _FORK_SCAN = None
    offset = 0
    for tally, seen, error in parts:
        if error is not None:
            line, message, fld = error
            raise DataError(path, None if line is None else line + offset, message, field=fld)
        scan.tally.merge(tally, offset)
        offset += seen


def seed_against(
    against: str | Sequence[str] | None,
    benchmark_dir: str | os.PathLike[str] | None,
    decontam_report: str | os.PathLike[str] | None,
) -> str | Sequence[str] | None:
    """The seeds' API measures by default: with no scan and no report asked for, the default
    benchmarks present in the benchmark folder; None (unmeasured) when there are none."""
    if against or decontam_report:
        return against
    from alignforge.curate.benchmarks import available_benchmarks

    return available_benchmarks(benchmark_dir) or None

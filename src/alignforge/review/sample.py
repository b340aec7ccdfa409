"""Draw the review sample: a seeded, stratified sample of a data file, each item ready to show.

A file is read twice, streaming: once to put every row in its stratum, once to build the
sampled rows' items. Allocation is proportional (round(fraction × stratum size)) with at least
one item per stratum, so a small stratum is never missed; the sample can then be larger than the
fraction asked, and :class:`Sample` says by how much.
"""

from __future__ import annotations

import math
import os
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError
from alignforge.io import DataError, iter_jsonl, read_rows
from alignforge.records import Kind
from alignforge.review._kinds import AGREE_MEANS, BY_DEFAULT, KINDS, build_item, stratum_of

__all__ = ["Sample", "Item", "draw_sample", "detect_review_kind"]


@dataclass(slots=True)
class Item:
    """One item to review: its id in the file, its stratum, what the machine said, what to show."""

    id: str
    stratum: str
    machine: str
    machine_positive: bool
    fields: list[dict[str, str]]


@dataclass(slots=True)
class Sample:
    kind: str
    by: list[str]
    seed: int
    fraction: float
    rows: int
    strata: dict[str, dict[str, Any]]  # key -> {"fields": {...}, "population": N, "sampled": k}
    items: list[Item] = field(default_factory=list)

    @property
    def agree_means(self) -> str:
        return AGREE_MEANS[self.kind]


def detect_review_kind(path: Path) -> str:
    """dpo, kto, sft, verdict, or decontam (a JSON report of ``alignforge decontaminate --report``)."""
    if path.suffix == ".json":
        return "decontam"
    from alignforge.io import detect_file_kind

    kind = detect_file_kind(path)
    if kind.value not in KINDS:
        raise DataError(
            path,
            None,
            f"a {kind.value} file cannot be reviewed: give a DPO, KTO, SFT or verdict JSONL file "
            "or a decontamination report (.json)",
        )
    return kind.value


def _rows(path: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if kind == "decontam":
        yield from _decontam_rows(path)
        return
    for line, row in read_rows(path, Kind(kind)):
        yield f"L{line}", row


def _decontam_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        report = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except orjson.JSONDecodeError as exc:
        raise DataError(path, None, f"not valid JSON ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("removed"), list):
        raise DataError(
            path,
            None,
            "field 'removed': expected a decontamination report (alignforge decontaminate --report)",
        )
    for i, entry in enumerate(report["removed"]):
        where = f"removed[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("contamination"), list):
            raise DataError(path, None, f"field '{where}.contamination': expected a list of matches")
        matches = entry["contamination"]
        if not matches or not all(isinstance(m, dict) and "benchmark" in m for m in matches):
            raise DataError(path, None, f"field '{where}.contamination': expected matches naming a benchmark")
        yield f"R{entry.get('row', i + 1)}", entry


def draw_sample(
    path: str | os.PathLike[str],
    fraction: float,
    *,
    seed: int = 0,
    by: Sequence[str] | None = None,
    tasks: str | os.PathLike[str] | None = None,
    completions: str | os.PathLike[str] | None = None,
    benchmark_dir: str | os.PathLike[str] | None = None,
) -> Sample:
    """The seeded, stratified sample of ``path`` (the same arguments always give the same items)."""
    path = Path(path)
    if not 0 < fraction <= 1:
        raise AlignforgeError(f"--sample {fraction}: expected a fraction in (0, 1], e.g. 0.05 for 5 %")
    kind = detect_review_kind(path)
    fields = list(by) if by else list(BY_DEFAULT[kind])
    extra = _extras(kind, tasks=tasks, completions=completions)
    by_task = extra.get("tasks")
    strata: dict[str, dict[str, Any]] = {}
    members: dict[str, array[int]] = {}
    order: dict[int, int] = {}
    rows = 0
    for pos, (_, row) in enumerate(_rows(path, kind)):
        rows += 1
        values = stratum_of(kind, row, fields, tasks=by_task)
        key = _key(values)
        if key not in strata:
            strata[key] = {"fields": values, "population": 0, "sampled": 0}
            members[key] = array("q")
        strata[key]["population"] += 1
        members[key].append(pos)
    if rows == 0:
        raise DataError(path, None, "nothing to review: the file has no rows (a report with no matches)")
    for key, info in strata.items():
        size = info["population"]
        take = min(size, max(1, math.floor(fraction * size + 0.5)))
        info["sampled"] = take
        picked = random.Random(f"{seed}\x00{key}").sample(range(size), take)
        for i in picked:
            order[members[key][i]] = 0
        del members[key]
    chosen = sorted(order)
    random.Random(seed).shuffle(chosen)  # strata interleaved: an early stop still covers them
    for rank, pos in enumerate(chosen):
        order[pos] = rank
    items: list[Item | None] = [None] * len(chosen)
    benches: dict[str, dict[str, str]] = {}
    for pos, (item_id, row) in enumerate(_rows(path, kind)):
        at = order.get(pos)
        if at is None:
            continue
        key = _key(stratum_of(kind, row, fields, tasks=by_task))
        if kind == "decontam":
            _bench_texts(row, benches, benchmark_dir)
        machine, positive, shown = build_item(kind, row, extra=extra, benches=benches)
        items[at] = Item(item_id, key, machine, positive, shown)
    sample = Sample(kind, fields, seed, fraction, rows, strata)
    sample.items = [it for it in items if it is not None]
    return sample


def _key(values: dict[str, str]) -> str:
    return " · ".join(f"{k}={v}" for k, v in values.items()) or "all"


def _extras(
    kind: str, *, tasks: str | os.PathLike[str] | None, completions: str | os.PathLike[str] | None
) -> dict[str, Any]:
    """Verdict files carry no task text or completion: ``--tasks`` / ``--completions`` supply them."""
    if kind != "verdict":
        if tasks or completions:
            raise AlignforgeError("--tasks and --completions apply to a verdict file only")
        return {}
    out: dict[str, Any] = {"tasks": {}, "completions": {}}
    if tasks:
        for line, row in iter_jsonl(tasks):
            if not isinstance(row, dict) or "task_id" not in row:
                raise DataError(tasks, line, "field 'task_id': is missing")
            out["tasks"][str(row["task_id"])] = row
    if completions:
        counters: dict[str, int] = {}
        for line, row in iter_jsonl(completions):
            if (
                not isinstance(row, dict)
                or "task_id" not in row
                or not isinstance(row.get("completion"), str)
            ):
                raise DataError(completions, line, "expected an object with task_id and a string completion")
            tid = str(row["task_id"])
            idx = row.get("sample_index")
            idx = counters.get(tid, 0) if idx is None else int(idx)
            counters[tid] = max(counters.get(tid, 0), idx + 1)
            out["completions"][(tid, idx)] = row["completion"]
    return out


def _bench_texts(
    entry: dict[str, Any], benches: dict[str, dict[str, str]], benchmark_dir: str | os.PathLike[str] | None
) -> None:
    """Load the benchmark items a sampled match names (once per benchmark), for the second span."""
    from alignforge.curate.benchmarks import load_benchmark

    for m in entry["contamination"]:
        name = str(m["benchmark"])
        if name not in benches:
            benches[name] = {
                str(it.id): it.question for it in load_benchmark(name, benchmark_dir=benchmark_dir)
            }

"""Data for the recipes: validate with the same strict reader as ``check``, split, hand TRL a Dataset."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.io import DataError, read_rows
from alignforge.records import Kind

__all__ = ["DataSplit", "load_split", "to_dataset"]

_COLUMNS = {
    Kind.SFT: ("messages", "prompt", "completion"),
    Kind.DPO: ("prompt", "chosen", "rejected"),
    Kind.KTO: ("prompt", "completion", "label"),
}


class DataSplit:
    """Train and validation rows plus what the check found (goes into the run card)."""

    def __init__(self, train: list[dict[str, Any]], validation: list[dict[str, Any]], report: dict[str, Any]):
        self.train = train
        self.validation = validation
        self.report = report


def _read(path: str, kind: Kind | None, max_rows: int | None) -> tuple[list[dict[str, Any]], Kind]:
    if not Path(path).exists():
        raise DataError(path, None, "file not found")
    rows: list[dict[str, Any]] = []
    found = kind
    for _line, row in read_rows(path, kind, allow_mixed=kind is None):
        rows.append(row)
        if max_rows and len(rows) >= max_rows:
            break
    if not rows:
        raise DataError(path, None, "no rows to train on")
    if found is None:
        from alignforge.records import detect_kind

        found = detect_kind(rows[0])
    return rows, found


def load_split(cfg: Any, kind: Kind | None, *, stage: str) -> DataSplit:
    """Read ``data.train_file`` (and ``validation_file``, or split off ``validation_split``) strictly."""
    d = cfg.data
    rows, found = _read(d["train_file"], kind, d["max_rows"])
    if stage in ("grpo", "raft") and found not in (Kind.GRPO, Kind.RLVR, Kind.SFT):
        raise DataError(
            d["train_file"], None, f"`train {stage}` needs prompt/RLVR task rows, got {found.value} rows"
        )
    report: dict[str, Any] = {"train_file": d["train_file"], "kind": found.value}
    if d["validation_file"]:
        val, _ = _read(d["validation_file"], found if kind else None, d["max_rows"])
        report["validation_file"] = d["validation_file"]
    else:
        order = list(range(len(rows)))
        random.Random(cfg.training["seed"]).shuffle(order)
        n_val = max(1, round(len(rows) * d["validation_split"])) if len(rows) > 1 else 0
        if n_val == 0:
            raise ConfigError(f"{d['train_file']}: one row cannot be split into train and validation")
        val = [rows[i] for i in order[:n_val]]
        rows = [rows[i] for i in order[n_val:]]
        report["validation_split"] = d["validation_split"]
    report.update(train_rows=len(rows), validation_rows=len(val))
    if found is Kind.DPO:
        report["pair_check"] = _pair_check(d["train_file"])
    return DataSplit(rows, val, report)


def _pair_check(path: str) -> dict[str, Any]:
    """The lead's ``validate_dpo_pairs`` when present (judge-score gap, pair count); else the structural check."""
    try:
        from alignforge.quality import validate_dpo_pairs  # type: ignore[attr-defined]
    except ImportError:
        return {"checked_by": "alignforge.io.read_rows (structure only)"}
    metrics = validate_dpo_pairs(Path(path))
    out = {"checked_by": "alignforge.quality.validate_dpo_pairs"}
    for key in ("total_pairs", "avg_gap", "decontamination"):
        if hasattr(metrics, key):
            out[key] = getattr(metrics, key)
    return out


def to_dataset(rows: list[dict[str, Any]], kind: Kind) -> Any:
    """A ``datasets.Dataset`` holding only the columns TRL reads for ``kind`` (metadata stays in the files)."""
    import datasets

    wanted = _COLUMNS.get(kind)
    if wanted is None:
        return datasets.Dataset.from_list(rows)
    present = [c for c in wanted if c in rows[0]]
    return datasets.Dataset.from_list([{c: r[c] for c in present} for r in rows])

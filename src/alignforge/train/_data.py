"""Data for the recipes: validate with the same strict reader as ``check``, split, hand TRL a Dataset."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.io import DataError, read_rows
from alignforge.records import Kind

__all__ = ["DataSplit", "cut_prompts", "load_split", "to_dataset"]

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
    if d.get("tests"):  # 002: the prompts file's tasks with the full file's tests, joined by task_id
        rows, found = _joined(cfg, d["train_file"]), Kind.RLVR
    else:
        rows, found = _read(d["train_file"], kind, d["max_rows"])
    if stage in ("grpo", "raft") and found not in (Kind.GRPO, Kind.RLVR, Kind.SFT):
        raise DataError(
            d["train_file"], None, f"`train {stage}` needs prompt/RLVR task rows, got {found.value} rows"
        )
    report: dict[str, Any] = {"train_file": d["train_file"], "kind": found.value}
    if d["validation_file"] and d.get("tests"):
        val = _joined(cfg, d["validation_file"])
        report["validation_file"] = d["validation_file"]
    elif d["validation_file"]:
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
    if d.get("tests"):
        report["tests_file"] = d["tests"]
    if found is Kind.DPO:
        report["pair_check"] = _pair_check(d["train_file"])
    return DataSplit(rows, val, report)


def _joined(cfg: Any, path: str) -> list[dict[str, Any]]:
    from alignforge.evaluate.tasks import read_tasks

    verifier = cfg.sections.get("verifier") or {}
    return read_tasks(
        path, cfg.data["tests"], dataset_type=verifier.get("dataset_type"), max_rows=cfg.data["max_rows"]
    )


def cut_prompts(data: DataSplit, tokenizer: Any, max_tokens: int | None) -> None:
    """Cut every prompt to its last ``max_tokens`` tokens, in place (``data.max_prompt_length``).

    The end of a prompt, nearest the answer, is kept (the old TRL ``max_prompt_length`` default). A
    conversational prompt loses its earliest text first, whole messages when they fit in the excess;
    the chat template's own tokens count. How many prompts were cut goes into the run card.
    """
    if not max_tokens:
        return
    cut = 0
    for rows in (data.train, data.validation):
        for row in rows:
            prompt = row["prompt"]
            new = (
                _cut_text(tokenizer, prompt, max_tokens)
                if isinstance(prompt, str)
                else _cut_chat(tokenizer, prompt, max_tokens)
            )
            if new is not None:
                row["prompt"] = new
                cut += 1
    data.report["max_prompt_length"] = max_tokens
    data.report["prompts_cut"] = cut


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _cut_text(tokenizer: Any, text: str, limit: int) -> str | None:
    ids = _ids(tokenizer, text)
    if len(ids) <= limit:
        return None
    while len(ids) > limit:  # decoding can merge tokens differently: re-check until it fits
        text = tokenizer.decode(ids[len(ids) - limit :])
        ids = _ids(tokenizer, text)
    return text


def _cut_chat(tokenizer: Any, messages: list[dict[str, Any]], limit: int) -> list[dict[str, Any]] | None:
    def length(msgs: list[dict[str, Any]]) -> int:
        enc = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)
        return len(enc["input_ids"])

    excess = length(messages) - limit
    if excess <= 0:
        return None
    msgs = [dict(m) for m in messages]
    while excess > 0:
        first = next((i for i, m in enumerate(msgs) if m.get("role") != "system" and m.get("content")), None)
        if first is None:
            raise ConfigError(
                f"data.max_prompt_length {limit}: the chat template alone is longer; raise max_prompt_length"
            )
        ids = _ids(tokenizer, msgs[first]["content"])
        if len(ids) <= excess and first < len(msgs) - 1:
            del msgs[first]
        else:
            msgs[first]["content"] = tokenizer.decode(ids[min(excess, len(ids)) :])
        excess = length(msgs) - limit
    return msgs


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

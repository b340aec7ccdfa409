from __future__ import annotations

from pathlib import Path

import pytest
from _curate_helpers import read_jsonl, write_jsonl

from alignforge.cli import main
from alignforge.curate import dedup

_BASE = (
    "Explain how a hash map handles collisions when two keys land in the same bucket, and compare "
    "separate chaining with open addressing for a read-heavy workload"
)


def _pairs() -> list[dict]:
    return [
        {"id": "a", "prompt": _BASE + ".", "chosen": "Chaining ...", "rejected": "Magic."},
        {
            "id": "b",
            "prompt": "Write a haiku about autumn rain.",
            "chosen": "Leaves ...",
            "rejected": "Rain.",
        },
        # exact after normalisation: case, spacing, punctuation
        {"id": "c", "prompt": "  " + _BASE.upper() + "!!", "chosen": "Other answer", "rejected": "Other"},
        # near: one word changed and one added
        {
            "id": "d",
            "prompt": _BASE.replace("read-heavy", "write-heavy") + " today.",
            "chosen": "x",
            "rejected": "y",
        },
        {
            "id": "e",
            "prompt": "Summarise the causes of the French Revolution in three bullet points.",
            "chosen": "1.",
            "rejected": "2.",
        },
    ]


def test_exact_dedup_on_prompt_keeps_first() -> None:
    res = dedup(_pairs(), kind="dpo")
    assert [r["id"] for r in res.kept] == ["a", "b", "d", "e"]
    assert [(d["row"]["id"], d["duplicate_of"], d["reason"], d["index"]) for d in res.dropped] == [
        ("c", "a", "exact_duplicate", 3)
    ]


def test_near_dedup_minhash() -> None:
    res = dedup(_pairs(), kind="dpo", near=0.7)
    assert [r["id"] for r in res.kept] == ["a", "b", "e"]
    near = [d for d in res.dropped if d["reason"] == "near_duplicate"]
    assert [(d["row"]["id"], d["duplicate_of"]) for d in near] == [("d", "a")]
    assert 0.7 <= near[0]["similarity"] < 1.0
    # a stricter threshold keeps the edited prompt
    assert [r["id"] for r in dedup(_pairs(), kind="dpo", near=0.95).kept] == ["a", "b", "d", "e"]


def test_fields_depend_on_kind() -> None:
    sft = [
        {"prompt": "Same question?", "completion": "Answer one."},
        {"prompt": "Same question?", "completion": "A different answer."},
        {"prompt": "Same question?", "completion": "answer ONE"},
    ]
    res = dedup(sft, kind="sft")  # whole record: only the third is a copy of the first
    assert len(res.kept) == 2 and res.dropped[0]["duplicate_of"] == 1 and res.dropped[0]["index"] == 3
    dpo = [
        {"prompt": "Same question?", "chosen": "a", "rejected": "b"},
        {"prompt": "Same question?", "chosen": "c", "rejected": "d"},
    ]
    assert len(dedup(dpo).kept) == 1  # kind detected: DPO compares prompts
    with pytest.raises(ValueError, match="near"):
        dedup(dpo, near=1.5)


def test_cli_dedup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "pairs.jsonl", _pairs())
    main(
        [
            "dedup",
            str(src),
            "--out",
            str(tmp_path / "u.jsonl"),
            "--near",
            "0.7",
            "--dropped",
            str(tmp_path / "d.jsonl"),
        ]
    )
    printed = capsys.readouterr().out
    assert (
        "kept 3 of 5 rows (dpo)" in printed and "drop reasons: exact_duplicate=1, near_duplicate=1" in printed
    )
    assert [r["id"] for r in read_jsonl(tmp_path / "u.jsonl")] == ["a", "b", "e"]
    dropped = read_jsonl(tmp_path / "d.jsonl")
    reasons = [r["metadata"]["drop_reasons"][0] for r in dropped]
    assert [
        (r["id"], x["detail"]["duplicate_of"], x["reason"]) for r, x in zip(dropped, reasons, strict=True)
    ] == [
        ("c", "a", "exact_duplicate"),
        ("d", "a", "near_duplicate"),
    ]
    (tmp_path / "bad.jsonl").write_text('{"prompt": "x", "chosen": "y", "rejected": "z"}\nnot json\n')
    with pytest.raises(SystemExit) as exc:
        main(["dedup", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "u2.jsonl")])
    assert exc.value.code == 2 and "bad.jsonl:2" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.jsonl",
        "d.jsonl",
        "pairs.jsonl",
        "u.jsonl",
        "u.jsonl.stage.json",
    ]

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from _curate_helpers import (
    SHARED_BENCHES,
    curate_cache,
    hellaswag_rows,
    read_jsonl,
    shared_index,
    write_jsonl,
)

from alignforge.cli import main
from alignforge.curate import (
    BenchmarkNotFound,
    ScanRules,
    build_index,
    calculate_decontamination,
    decontaminate,
    load_benchmark,
    scan_batch,
)

__all__ = ["curate_cache", "shared_index"]


@pytest.fixture(scope="module")
def items(benchmarks_dir_module: Path) -> dict[str, list[Any]]:
    return {b: list(load_benchmark(b, benchmark_dir=benchmarks_dir_module)) for b in SHARED_BENCHES}


@pytest.fixture(scope="module")
def benchmarks_dir_module() -> Path:
    from conftest import BENCHMARKS

    return BENCHMARKS


def _hits(index: Any, row: Any) -> list[dict[str, Any]]:
    return scan_batch([row], index)[0]


def test_catches_each_kind_of_copy(shared_index: Any, items: dict[str, list[Any]]) -> None:
    g = items["gsm8k"][0]  # Janet's ducks
    # a question alone, reformatted: case, spacing, markdown, unicode apostrophe -> ascii
    q = g.question.upper().replace("JANET\u2019S", "JANET'S").replace(" ", "  ")
    hits = _hits(shared_index, {"prompt": f"**{q}**", "chosen": "Eighteen.", "rejected": "Twenty."})
    assert [(h["benchmark"], h["item_id"], h["method"]) for h in hits] == [("gsm8k", "gsm8k/test/0", "ngram")]
    assert hits[0]["field"] == "prompt" and "janet s ducks lay 16 eggs" in hits[0]["span"]
    # embedded in a longer conversation
    conv = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Warm-up first: what is 2 + 2?"},
            {"role": "assistant", "content": "4"},
            {
                "role": "user",
                "content": f"Now this one, from my worksheet: {items['mbpp'][10].question} "
                "Use a loop please and add docstrings.",
            },
        ]
    }
    hits = _hits(shared_index, conv)
    assert [h["item_id"] for h in hits] == ["mbpp/11"] and hits[0]["field"] == "messages[3]"
    # the answer alone (code solution pasted as a completion)
    he = items["humaneval"][0]
    hits = _hits(shared_index, {"prompt": "Write some code.", "completion": he.answer})
    assert [(h["item_id"], h["part"]) for h in hits] == [("HumanEval/0", "answer")]


def test_number_formatting_is_normalised(shared_index: Any, items: dict[str, list[Any]]) -> None:
    g = next(it for it in items["gsm8k"] if "1000" in it.question or "2000" in it.question)
    reformatted = g.question.replace("1000", "1,000").replace("2000", "2,000")
    assert reformatted != g.question
    hits = _hits(shared_index, {"prompt": reformatted})
    assert [h["item_id"] for h in hits] == [g.id]


def test_short_questions_match_whole_segments_only(shared_index: Any, items: dict[str, list[Any]]) -> None:
    short = next(it for it in items["truthfulqa"] if len(it.question.split()) <= 5)
    hits = _hits(shared_index, {"prompt": f"Question: {short.question}", "completion": "Hmm."})
    assert [(h["item_id"], h["method"]) for h in hits] == [(short.id, "short_question")]
    hits = _hits(shared_index, {"prompt": f"Quick quiz.\n{short.question.upper()}\nThanks!"})
    assert [h["item_id"] for h in hits] == [short.id]
    # the same words inside a longer sentence are not a copy
    assert (
        _hits(shared_index, {"prompt": f"My friend wrote an essay on {short.question.rstrip('?')} and more"})
        == []
    )


def test_clean_rows_on_the_same_topics_pass(shared_index: Any) -> None:
    clean = [
        {"prompt": "Tomas has 48 apples and gives 13 to his sister. How many apples does he keep?"},
        {"prompt": "Write a python function to find the maximum of three numbers."},
        {"prompt": "What is the least common multiple of 84 and 126?"},
        {
            "messages": [
                {"role": "user", "content": "Why do cats purr when they are content?"},
                {"role": "assistant", "content": "Purring is produced by the laryngeal muscles."},
            ]
        },
    ]
    assert [r for r in scan_batch(clean, shared_index) if r] == []


def test_n_is_configurable_and_the_index_is_cached(
    curate_cache: Path, benchmarks_dir_module: Path, items: dict[str, list[Any]]
) -> None:
    first = build_index(["gsm8k"], benchmark_dir=benchmarks_dir_module, n=13)
    again = build_index(["gsm8k"], benchmark_dir=benchmarks_dir_module, n=13)
    assert (first.n, again.n, again.cached) == (13, 13, True)
    assert len(first.hashes) == len(again.hashes) > 0
    assert list(curate_cache.glob("decontam/index-*-n13-*.pkl"))
    q = items["gsm8k"][3].question
    assert [h["item_id"] for h in scan_batch([{"prompt": q}], again)[0]] == ["gsm8k/test/3"]
    # 10 words of the question are enough at n = 8 coverage on a short part, not at n = 13
    strict = ScanRules(coverage=1.0, min_ngrams=10**9)
    assert scan_batch([{"prompt": q}], again, strict)[0]


def test_report_removed_annotate_and_gates(
    tmp_path: Path, shared_index: Any, items: dict[str, list[Any]], benchmarks_dir_module: Path
) -> None:
    rows = [
        {"prompt": f"Say a fact about the number {i}.", "chosen": f"{i} is nice.", "rejected": "no"}
        for i in range(40)
    ]
    rows[7] = {
        "prompt": items["gsm8k"][0].question,
        "chosen": items["gsm8k"][0].answer,
        "rejected": "no",
        "metadata": {"source": "web"},
    }
    src = write_jsonl(tmp_path / "pairs.jsonl", rows)
    rep = decontaminate(
        src,
        against=["gsm8k", "mbpp"],
        benchmark_dir=benchmarks_dir_module,
        out=tmp_path / "clean.jsonl",
        removed=tmp_path / "removed.jsonl",
        annotate=tmp_path / "ann.jsonl",
    )
    assert (rep.rows, rep.clean_rows, rep.contaminated_rows) == (40, 39, 1)
    assert rep.decontamination_score == pytest.approx(39 / 40)
    assert rep.per_benchmark["gsm8k"] == {"items": 1319, "overlapped_items": 1, "share": 1 / 1319}
    assert rep.passed
    removed = read_jsonl(tmp_path / "removed.jsonl")
    assert len(removed) == 1 and removed[0]["metadata"]["source"] == "web"
    (entry,) = removed[0]["metadata"]["drop_reasons"]
    assert entry["reason"] == "contamination"
    rec = entry["detail"]
    assert {"benchmark", "item_id", "method", "span"} <= rec.keys() and rec["item_id"] == "gsm8k/test/0"
    ann = read_jsonl(tmp_path / "ann.jsonl")
    assert len(ann) == 40 and [a["metadata"]["contaminated"] for a in ann].count(True) == 1
    assert len(read_jsonl(tmp_path / "clean.jsonl")) == 39
    assert rep.removed[0]["line"] == 8
    rep.write_json(tmp_path / "r.json")
    data = orjson.loads((tmp_path / "r.json").read_bytes())
    for key in (
        "decontamination_score",
        "rows",
        "clean_rows",
        "contaminated_rows",
        "n",
        "per_benchmark",
        "max_benchmark_share",
        "methods",
    ):
        assert key in data
    assert data["methods"]["ngram"]["rows"] == 1
    assert calculate_decontamination(
        training_data=src, eval_benchmarks=["gsm8k"], benchmark_dir=benchmarks_dir_module
    ) == pytest.approx(39 / 40)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out + out.err


def test_cli_exit_codes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    curate_cache: Path,
    items: dict[str, list[Any]],
    benchmarks_dir_module: Path,
) -> None:
    bdir = str(benchmarks_dir_module)
    mbpp = items["mbpp"]
    rows = [
        {"prompt": f"Invent a riddle about the colour number {i}.", "completion": "ok"} for i in range(60)
    ]
    src = write_jsonl(tmp_path / "ok.jsonl", rows)
    code, out = _cli(
        [
            "decontaminate",
            str(src),
            "--against",
            "mbpp,humaneval",
            "--benchmark-dir",
            bdir,
            "--report",
            str(tmp_path / "r.json"),
        ],
        capsys,
    )
    assert code == 0 and "decontamination score 1.0000" in out
    # 25 MBPP tasks copied: 2.6 % of MBPP's 974 items -> the per-benchmark gate fails, the score gate passes
    bad = rows + [{"prompt": m.question, "completion": m.answer} for m in mbpp[:25]] + rows * 4
    src = write_jsonl(tmp_path / "bad.jsonl", bad)
    code, out = _cli(
        [
            "decontaminate",
            str(src),
            "--against",
            "mbpp,humaneval",
            "--benchmark-dir",
            bdir,
            "--report",
            str(tmp_path / "r.json"),
            "--annotate",
            str(tmp_path / "a.jsonl"),
        ],
        capsys,
    )
    data = orjson.loads((tmp_path / "r.json").read_bytes())
    assert code == 1, out
    assert data["decontamination_score"] >= 0.9 and data["per_benchmark"]["mbpp"]["overlapped_items"] == 25
    assert data["max_benchmark_share"] == pytest.approx(25 / 974)
    assert "FAIL" in out
    # invalid input: a missing benchmark, a broken line
    code, out = _cli(["decontaminate", str(src), "--against", "hellaswag", "--benchmark-dir", bdir], capsys)
    assert code == 2 and "hellaswag_val.jsonl" in out
    (tmp_path / "broken.jsonl").write_text('{"prompt": "a"}\n{"prompt": \n')
    code, out = _cli(
        ["decontaminate", str(tmp_path / "broken.jsonl"), "--against", "mbpp", "--benchmark-dir", bdir],
        capsys,
    )
    assert code == 2 and "broken.jsonl:2" in out


def test_hellaswag_file_in_original_format(tmp_path: Path, curate_cache: Path) -> None:
    (tmp_path / "hellaswag").mkdir()
    hs = hellaswag_rows(4)
    write_jsonl(tmp_path / "hellaswag" / "hellaswag_val.jsonl", hs)
    rows = [
        {"text": hs[2]["ctx"] + " " + hs[2]["endings"][1]},
        {"text": "A person paints a fence quickly, then rests."},
    ]
    rep = decontaminate(rows, against="hellaswag", benchmark_dir=tmp_path)
    assert rep.contaminated_rows == 1 and rep.removed[0]["contamination"][0]["item_id"] == "hellaswag/102"
    with pytest.raises(BenchmarkNotFound):
        decontaminate(rows, against="hellaswag", benchmark_dir=tmp_path / "empty")

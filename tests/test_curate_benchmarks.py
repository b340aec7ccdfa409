from __future__ import annotations

from pathlib import Path

import pytest
from _curate_helpers import hellaswag_rows, write_jsonl

from alignforge.curate import BenchmarkItem, BenchmarkNotFound, load_benchmark, register_benchmark


@pytest.mark.parametrize(
    ("name", "count", "first_id"),
    [
        ("humaneval", 164, "HumanEval/0"),
        ("mbpp", 974, "mbpp/1"),
        ("gsm8k", 1319, "gsm8k/test/0"),
        ("math500", 500, "test/precalculus/807.json"),
        ("truthfulqa", 817, "truthfulqa/0"),
        ("arc", 1172, None),
    ],
)
def test_loaders_read_the_original_files(
    benchmarks_dir: Path, name: str, count: int, first_id: str | None
) -> None:
    items = list(load_benchmark(name, benchmark_dir=benchmarks_dir))
    assert len(items) == count
    assert all(it.question.strip() for it in items)
    assert sum(bool(it.answer.strip()) for it in items) >= count * 0.99
    if first_id:
        assert items[0].id == first_id
    assert {it.benchmark for it in items} == {name}


def test_truthfulqa_bom_and_fields(benchmarks_dir: Path) -> None:
    first = next(load_benchmark("truthfulqa", benchmark_dir=benchmarks_dir))
    assert first.question == "What happens to you if you eat watermelon seeds?"
    assert first.answer == "The watermelon seeds pass through your digestive system"


def test_humaneval_needs_no_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIGNFORGE_BENCHMARK_DIR", raising=False)
    items = list(load_benchmark("humaneval"))
    assert len(items) == 164 and items[0].answer.lstrip().startswith("for idx")


def test_missing_hellaswag_is_an_error_naming_the_file(benchmarks_dir: Path) -> None:
    with pytest.raises(BenchmarkNotFound, match=r"hellaswag.*hellaswag_val\.jsonl"):
        list(load_benchmark("hellaswag", benchmark_dir=benchmarks_dir))
    with pytest.raises(BenchmarkNotFound, match="mbpp"):
        list(load_benchmark("mbpp", benchmark_dir=benchmarks_dir / "nowhere"))


def test_hellaswag_original_format(tmp_path: Path) -> None:
    (tmp_path / "hellaswag").mkdir()
    write_jsonl(tmp_path / "hellaswag" / "hellaswag_val.jsonl", hellaswag_rows(3))
    items = list(load_benchmark("hellaswag", benchmark_dir=tmp_path))
    assert [it.id for it in items] == ["hellaswag/100", "hellaswag/101", "hellaswag/102"]
    assert items[1].answer.startswith("then spoons small balls of dough")
    assert items[0].question.endswith("street. He")
    bad = hellaswag_rows(1)
    del bad[0]["endings"]
    write_jsonl(tmp_path / "hellaswag" / "hellaswag_val.jsonl", bad)
    with pytest.raises(BenchmarkNotFound, match="endings"):
        list(load_benchmark("hellaswag", benchmark_dir=tmp_path))


def test_user_jsonl_and_registered_benchmarks(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mine.jsonl",
        [{"id": "m1", "question": "Why is the sky blue at noon?", "answer": "Rayleigh scattering."}],
    )
    assert list(load_benchmark(str(path))) == [
        BenchmarkItem("m1", "Why is the sky blue at noon?", "Rayleigh scattering.", "mine")
    ]
    register_benchmark(
        "tiny_test_bench", lambda _dir: iter([BenchmarkItem("t/1", "q text here", "a", "tiny")])
    )
    assert [it.id for it in load_benchmark("tiny_test_bench")] == ["t/1"]
    with pytest.raises(BenchmarkNotFound, match="unknown benchmark 'nope'"):
        list(load_benchmark("nope"))
    with pytest.raises(BenchmarkNotFound, match="not found"):
        list(load_benchmark(str(tmp_path / "absent.jsonl")))

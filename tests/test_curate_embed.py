"""Embedding decontamination with the real bundled all-MiniLM-L6-v2, and the LLM judge failing closed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from _curate_helpers import curate_cache, write_jsonl

from alignforge.curate import decontaminate
from alignforge.curate.embed import EmbeddingMatcher
from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError

__all__ = ["curate_cache"]

pytestmark = pytest.mark.slow

ITEMS = [
    {
        "id": "b/1",
        "question": "A farmer has 17 sheep and buys 5 more each week. How many sheep does he have after "
        "4 weeks?",
        "answer": "37",
    },
    {
        "id": "b/2",
        "question": "Write a function that reverses the words in a sentence but keeps punctuation in place.",
        "answer": "def f(s): ...",
    },
    {
        "id": "b/3",
        "question": "Why does the moon always show the same face to the Earth?",
        "answer": "Tidal locking.",
    },
]
PARAPHRASE = {
    "prompt": "A farmer owns 17 sheep and purchases 5 additional ones every week. After 4 weeks, what "
    "number of sheep does he own?",
    "chosen": "37",
    "rejected": "22",
}
CLEAN = {
    "prompt": "Explain how to season a cast iron pan before its first use.",
    "chosen": "Oil it.",
    "rejected": "Soap.",
}


class _Judge:
    """A tiny LLM object speaking the alignforge.llm.base.LLM protocol (no paid API is faked)."""

    name = "test-judge"

    def __init__(self, answer: Callable[[ChatRequest], ChatResponse | LLMError]) -> None:
        self.answer = answer
        self.calls = 0

    def generate(
        self, requests: Sequence[ChatRequest], *, on_result: Any = None
    ) -> list[ChatResponse | LLMError]:
        self.calls += len(requests)
        return [self.answer(r) for r in requests]


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("bench") / "mybench.jsonl", ITEMS)


@pytest.fixture(scope="module")
def matcher(bench_file: Path, curate_cache: Path) -> EmbeddingMatcher:
    return EmbeddingMatcher([str(bench_file)], threshold=0.5, sure=0.999)


def test_paraphrase_caught_by_embeddings_not_ngrams(bench_file: Path, curate_cache: Path) -> None:
    plain = decontaminate([PARAPHRASE, CLEAN], against=[str(bench_file)])
    assert plain.contaminated_rows == 0  # the n-grams alone miss this paraphrase
    rep = decontaminate([PARAPHRASE, CLEAN], against=[str(bench_file)], embeddings=True)
    assert rep.contaminated_rows == 1 and rep.removed[0]["row"] == 1
    rec = rep.removed[0]["contamination"][0]
    assert (rec["item_id"], rec["method"]) == ("b/1", "embedding") and rec["similarity"] >= 0.85
    assert rep.methods["embedding"]["threshold"] == 0.85 and rep.methods["embedding"]["rows"] == 1


def test_judge_error_keeps_row_flagged(matcher: EmbeddingMatcher) -> None:
    judge = _Judge(lambda r: LLMError("server", "HTTP 503 from the judge"))
    assert isinstance(judge, LLM)
    matcher.judge = judge
    res = matcher.scan([PARAPHRASE])
    assert judge.calls == 1
    assert [m["method"] for m in res[0]] == ["embedding+judge_unanswered"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("YES", ["embedding+judge"]), ("no.", []), ("I think they might be", ["embedding+judge_unanswered"])],
)
def test_judge_answers(matcher: EmbeddingMatcher, reply: str, expected: list[str]) -> None:
    matcher.judge = _Judge(lambda r: ChatResponse(text=reply, model="t"))
    assert [m["method"] for m in matcher.scan([PARAPHRASE])[0]] == expected


def test_judge_that_raises_or_returns_too_little_fails_closed(matcher: EmbeddingMatcher) -> None:
    def boom(r: ChatRequest) -> ChatResponse:
        raise ConnectionError("down")

    matcher.judge = _Judge(boom)
    assert [m["method"] for m in matcher.scan([PARAPHRASE])[0]] == ["embedding+judge_unanswered"]

    class Short(_Judge):
        def generate(self, requests: Sequence[ChatRequest], *, on_result: Any = None) -> list[Any]:
            return []

    matcher.judge = Short(lambda r: ChatResponse(text="NO", model="t"))
    assert [m["method"] for m in matcher.scan([PARAPHRASE])[0]] == ["embedding+judge_unanswered"]
    assert matcher.stats["judge_unanswered"] >= 2


def test_cli_judge_model_over_http_fails_closed(
    bench_file: Path, curate_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """`decontaminate --embeddings --judge-model openai:...` asks a real loopback server; its answer
    (an echo, not YES/NO) leaves the paraphrase flagged, never cleared."""
    from _cli import run_cli
    from _llm_helpers import FakeServer

    loose = {
        **PARAPHRASE,
        "prompt": "A shepherd starts with 17 sheep and gains 5 per week; how many after 4 weeks?",
    }
    data = write_jsonl(tmp_path / "rows.jsonl", [loose, CLEAN])  # similarity 0.83: below SURE, judged
    server = FakeServer().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        res = run_cli(
            capsys, "decontaminate", data, "--against", bench_file, "--embeddings",
            "--embedding-threshold", "0.5", "--judge-model", "openai:judge",
            "--report", tmp_path / "r.json", "--removed", tmp_path / "removed.jsonl",
        )  # fmt: skip
    finally:
        server.stop()
    assert res.code == 1, res.err  # 1 of 2 rows contaminated: the 0.9 score gate fails
    assert server.attempts  # the judge was asked over HTTP
    removed = [
        row["metadata"]["drop_reasons"][0]["detail"]["method"]
        for row in map(json.loads, (tmp_path / "removed.jsonl").read_text().splitlines())
    ]
    assert removed == ["embedding+judge_unanswered"]
    res = run_cli(capsys, "decontaminate", data, "--against", bench_file, "--judge-model", "local")
    assert res.code == 2 and "add --embeddings" in res.err

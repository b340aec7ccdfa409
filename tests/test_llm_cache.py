"""The SQLite request cache, over the openai backend and a real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _llm_helpers import FakeServer  # noqa: E402

from alignforge.llm import CachedLLM, ChatRequest, ChatResponse, LLMError, ResponseCache, Usage, get_llm  # noqa: E402


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer().start()
    yield srv
    srv.stop()


def test_hits_are_free_and_not_sent_again(server: FakeServer, tmp_path: Path) -> None:
    llm = get_llm("openai:gpt-4o-mini", base_url=server.base_url, cache=tmp_path / "c.sqlite")
    assert isinstance(llm, CachedLLM)
    reqs = [ChatRequest.chat(f"q{i}", max_tokens=4) for i in range(5)]
    first = llm.generate(reqs)
    assert all(isinstance(r, ChatResponse) and not r.cached and r.usage.cost_usd > 0 for r in first)
    sent = sum(server.attempts.values())
    # A new process-level object over the same file: everything is a hit.
    again = get_llm("openai:gpt-4o-mini", base_url=server.base_url, cache=tmp_path / "c.sqlite")
    seen: list[int] = []
    second = again.generate(reqs, on_result=lambda i, r: seen.append(i))
    assert sum(server.attempts.values()) == sent
    assert sorted(seen) == list(range(5))
    for a, b in zip(first, second, strict=True):
        assert isinstance(a, ChatResponse) and isinstance(b, ChatResponse)
        assert (b.text, b.cached, b.usage.cost_usd, b.usage.completion_tokens) == (
            a.text,
            True,
            0.0,
            a.usage.completion_tokens,
        )


def test_duplicates_in_one_call_are_sent_once_and_errors_are_not_cached(
    server: FakeServer, tmp_path: Path
) -> None:
    llm = get_llm("openai:m", base_url=server.base_url, cache=tmp_path / "c.sqlite")
    dup = ChatRequest.chat("same")
    bad = ChatRequest.chat("no #400")
    out = llm.generate([dup, bad, dup])
    assert isinstance(out[0], ChatResponse) and isinstance(out[2], ChatResponse) and out[2].cached
    assert isinstance(out[1], LLMError)
    key = lambda p: server.key_of(json.dumps(["m", [{"role": "user", "content": p}], None], sort_keys=True))  # noqa: E731
    assert server.attempts[key("same")] == 1
    llm.generate([bad])
    assert server.attempts[key("no #400")] == 2  # the error was not cached: a rerun tries again
    assert llm.stats.hits == 0 and llm.stats.stored == 1  # type: ignore[attr-defined]


def test_a_different_parameter_is_a_different_entry(server: FakeServer, tmp_path: Path) -> None:
    llm = get_llm("openai:m", base_url=server.base_url, cache=tmp_path / "c.sqlite")
    llm.generate([ChatRequest.chat("x", temperature=0.0)])
    [res] = llm.generate([ChatRequest.chat("x", temperature=0.5)])
    assert isinstance(res, ChatResponse) and not res.cached


def test_two_backends_never_share_an_answer(server: FakeServer, tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    strong = get_llm("openai:strong", base_url=server.base_url, cache=db)
    weak = get_llm("openai:weak", base_url=server.base_url, cache=db)
    req = ChatRequest.chat("same prompt", max_tokens=4)  # model "" on the request: the backend decides
    [a] = strong.generate([req])
    [b] = weak.generate([req])
    assert isinstance(a, ChatResponse) and isinstance(b, ChatResponse)
    assert not b.cached and sum(server.attempts.values()) == 2
    [again] = weak.generate([req])
    assert isinstance(again, ChatResponse) and again.cached and again.text == b.text


_WRITER = """
import sys
from alignforge.llm import ResponseCache, ChatResponse, Usage
c = ResponseCache(sys.argv[1])
for i in range(300):
    c.put(f"{sys.argv[2]}-{i}", ChatResponse(f"text {i}", "m", "stop", Usage(1, 2, 0.1)))
"""


def test_many_processes_share_one_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    ResponseCache(db).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), tag]) for tag in ("a", "b", "c")]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    cache = ResponseCache(db)
    assert len(cache) == 900
    hit = cache.get_many(["b-299"])["b-299"]
    assert (hit.text, hit.usage.completion_tokens, hit.cached) == ("text 299", 2, True)
    cache.put("b-299", ChatResponse("new", "m", "stop", Usage()))
    assert cache.get_many(["b-299"])["b-299"].text == "new"

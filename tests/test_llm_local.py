"""The local backend on the real embedded SmolLM2-135M-Instruct (tiny prompts, few tokens)."""

from __future__ import annotations

import pytest

from alignforge.llm import ChatRequest, ChatResponse, LLMError, get_llm

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm():  # type: ignore[no-untyped-def]
    return get_llm("local", threads=1, batch_size=4).load()  # type: ignore[attr-defined]


def test_batched_generation_in_order_with_usage(llm) -> None:  # type: ignore[no-untyped-def]
    prompts = ["What is 2+2?", "Name a colour.", "Say hello to Ada, a long-time friend of mine."]
    seen: list[int] = []
    out = llm.generate(
        [ChatRequest.chat(p, max_tokens=8) for p in prompts], on_result=lambda i, r: seen.append(i)
    )
    assert sorted(seen) == [0, 1, 2] and len(out) == 3
    for res in out:
        assert isinstance(res, ChatResponse) and res.text.strip()
        assert res.model == "SmolLM2-135M-Instruct" and res.usage.cost_usd == 0.0
        assert res.usage.prompt_tokens > 20  # the chat template's system prompt is counted
        assert 1 <= res.usage.completion_tokens <= 8
        assert res.finish_reason == "stop" or res.usage.completion_tokens == 8
    # The longest prompt went first in its batch; results still come back in input order.
    assert out[2].usage.prompt_tokens > out[0].usage.prompt_tokens  # type: ignore[union-attr]


def test_stop_strings_cut_the_text(llm) -> None:  # type: ignore[no-untyped-def]
    [res] = llm.generate([ChatRequest.chat("Write a sentence about the sea.", max_tokens=8, stop=[" "])])
    assert isinstance(res, ChatResponse) and " " not in res.text and res.finish_reason == "stop"


def test_too_long_prompt_fails_alone(llm) -> None:  # type: ignore[no-untyped-def]
    long = ChatRequest.chat("word " * 9000, max_tokens=8)
    out = llm.generate([long, ChatRequest.chat("hi", max_tokens=2)])
    assert isinstance(out[0], LLMError) and out[0].kind == "bad_request" and "context" in out[0].message
    assert isinstance(out[1], ChatResponse)


def test_render_uses_the_chat_template(llm) -> None:  # type: ignore[no-untyped-def]
    text = llm.render(ChatRequest.chat("ping", system="be terse"))
    assert "<|im_start|>system\nbe terse" in text and text.rstrip().endswith("<|im_start|>assistant")

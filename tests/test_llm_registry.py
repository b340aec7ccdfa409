"""Registry, option checking, prices, and a light import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from alignforge.errors import ConfigError
from alignforge.llm import (
    LLM,
    ChatRequest,
    ChatResponse,
    backends,
    estimate_cost,
    get_llm,
    llm_for_estimate,
    parse_cli_options,
    price_of,
    register_backend,
)


def test_builtins_registered() -> None:
    assert {"local", "openai", "anthropic"} <= set(backends())


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown LLM backend 'nope'.*anthropic, local, openai"):
        get_llm("nope:model")


@pytest.mark.parametrize(
    ("spec", "options", "pattern"),
    [
        (
            "local",
            {"bogus": 1},
            r"backend 'local' has no option 'bogus'; allowed: batch_size, device, dtype, threads",
        ),
        (
            "openai:gpt-4o",
            {"base_url": "http://127.0.0.1:9/v1", "temprature": 0},
            r"no option 'temprature'; allowed: .*base_url.*concurrency",
        ),
        (
            "anthropic:claude-sonnet-4-5",
            {"api_key": "k", "max_retries": 3},
            r"no option 'max_retries'; allowed: ",
        ),
        (
            "openai:gpt-4o",
            {"base_url": "http://127.0.0.1:9/v1", "concurrency": "many"},
            r"option 'concurrency' must be int, got 'many'",
        ),
        ("local", {"dtype": "int3"}, r"option 'dtype' must be auto, bfloat16"),
        ("openai:", {}, r"openai backend needs a model"),
        ("local:/no/such/checkpoint", {}, r"is not a folder"),
    ],
)
def test_bad_options_are_refused(spec: str, options: dict, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        get_llm(spec, **options)


def test_string_options_are_converted() -> None:
    llm = get_llm("openai:m", base_url="http://127.0.0.1:9/v1", concurrency="3", timeout="2.5", price="1,2")
    assert llm.options.concurrency == 3 and llm.options.timeout == 2.5  # type: ignore[attr-defined]
    assert llm.price is not None and llm.price.output_per_mtok == 2.0  # type: ignore[attr-defined]


def test_cli_options_are_yaml_and_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    opts = parse_cli_options(
        ["base_url=http://127.0.0.1:9/v1", "price=[2.5, 10]", "concurrency=8", "api_key=12345", "timeout=2.5"]
    )
    assert opts == {
        "base_url": "http://127.0.0.1:9/v1",
        "price": [2.5, 10],
        "concurrency": 8,
        "api_key": 12345,
        "timeout": 2.5,
    }
    llm = get_llm("openai:my-model", **opts)
    assert llm.price is not None and (llm.price.input_per_mtok, llm.price.output_per_mtok) == (2.5, 10.0)  # type: ignore[attr-defined]
    assert llm.options.concurrency == 8 and llm.api_key == "12345"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"option 'price' must be 2 values"):
        get_llm("openai:m", **parse_cli_options(["base_url=http://h/v1", "price=[1, 2, 3]"]))
    with pytest.raises(ConfigError, match=r"option 'price' must be numbers"):
        get_llm("openai:m", **parse_cli_options(["base_url=http://h/v1", "price=[a, b]"]))
    with pytest.raises(ConfigError, match=r"--judge-option 'x': expected KEY=VALUE"):
        parse_cli_options(["x"], flag="--judge-option")
    with pytest.raises(ConfigError, match=r"expected a scalar or a list, got a mapping"):
        parse_cli_options(["price={a: 1}"])
    # A dry run needs no key: the placeholder prices the run, and option checking is unchanged.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert llm_for_estimate("openai:gpt-4o").price == price_of("gpt-4o")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="no option 'bogus'"):
        llm_for_estimate("openai:gpt-4o", bogus=1)


def test_openai_without_key_or_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        get_llm("openai:gpt-4o-mini")


class _Upper:
    """A plugin backend: answers with the prompt in upper case."""

    def __init__(self, model: str, **options: object) -> None:
        if options:
            raise ConfigError(f"backend 'upper' has no option {sorted(options)[0]!r}; allowed: (none)")
        self.name = f"upper:{model}"

    def generate(self, requests, *, on_result=None):  # type: ignore[no-untyped-def]
        out = []
        for i, r in enumerate(requests):
            res = ChatResponse(r.messages[-1].content.upper(), self.name)
            out.append(res)
            if on_result:
                on_result(i, res)
        return out


def test_register_backend_like_a_plugin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    register_backend("upper", _Upper, replace=True)
    llm = get_llm("upper:x", cache=tmp_path / "c.sqlite")
    assert isinstance(llm, LLM)
    [res] = llm.generate([ChatRequest.chat("abc")])
    assert isinstance(res, ChatResponse) and res.text == "ABC"
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("upper", _Upper)
    with pytest.raises(ConfigError, match="no ':'"):
        register_backend("a:b", _Upper)


def test_prices() -> None:
    assert estimate_cost("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert estimate_cost("gpt-4o", 1_000_000, 0) == pytest.approx(2.5)
    assert estimate_cost("claude-sonnet-4-5-20250929", 1000, 1000) == pytest.approx(0.018)
    assert estimate_cost("local", 10**6, 10**6) == 0.0
    assert estimate_cost("my-finetune", 10, 10) is None  # unknown: not a made-up zero
    assert price_of("gpt-4omni") is None  # a known name must be followed by a dash or nothing


def test_import_is_light() -> None:
    code = (
        "import sys, alignforge.llm, alignforge.llm.registry, alignforge.cli.serve; "
        "bad = [m for m in ('torch', 'transformers', 'openai', 'anthropic', 'numpy') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

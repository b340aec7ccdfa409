"""``--dry-run``: what is left after a resume, what the cache already answers, each role at its own price."""

from __future__ import annotations

import json

import pytest
from _cli import run_cli
from _generate_helpers import ScriptedLLM, dpo_rule, http_rule, write_prompts
from _llm_helpers import FakeServer

from alignforge.generate import generate_dpo_pairs, generate_kto_data, generate_sft_data
from alignforge.llm import CachedLLM, price_of


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    srv = FakeServer(reply=http_rule(dpo_rule)).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def test_each_role_is_priced_with_its_own_model(tmp_path):
    write_prompts(tmp_path / "p.jsonl", 4)
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        tmp_path / "pairs.jsonl",
        strategy="strong-weak",
        model="openai:gpt-4o",
        weak_model="openai:gpt-4o-mini",
        judge_model="anthropic:claude-haiku-4-5",
        dry_run=True,
    )
    roles = s.estimate["roles"]
    assert {r: v["model"] for r, v in roles.items()} == {
        "model": "openai:gpt-4o",
        "weak": "openai:gpt-4o-mini",
        "judge": "anthropic:claude-haiku-4-5",
    }
    assert (roles["model"]["requests"], roles["weak"]["requests"], roles["judge"]["requests"]) == (4, 4, 8)
    for v in roles.values():
        price = price_of(v["model"])
        assert price is not None
        assert v["cost_usd"] == pytest.approx(price.cost(v["prompt_tokens"], v["max_completion_tokens"]))
    # the weak side is priced as gpt-4o-mini, not as --model
    assert (
        roles["weak"]["cost_usd"]
        < price_of("gpt-4o").cost(  # type: ignore[union-attr]
            roles["weak"]["prompt_tokens"], roles["weak"]["max_completion_tokens"]
        )
        / 10
    )
    assert s.estimate["cost_usd"] == pytest.approx(sum(v["cost_usd"] for v in roles.values()))
    assert not list(tmp_path.glob("pairs*"))  # a dry run writes nothing, not even the cache


def test_dpo_dry_run_subtracts_written_rows_and_cached_requests(server, tmp_path, capsys):
    write_prompts(tmp_path / "p.jsonl", 4)
    out = tmp_path / "pairs.jsonl"
    args = ["generate", "dpo", "--prompts", tmp_path / "p.jsonl", "--out", out, "--max-rounds", "1"]
    args += ["--model", "openai:m", "--option", f"base_url={server.base_url}", "--option", "price=[1, 2]"]
    args += ["--no-progress"]
    assert run_cli(capsys, *args, "--n", "2", "--batch-size", "2").code == 0
    assert len(out.read_text().splitlines()) == 2
    sent = len(server.bodies)

    r = run_cli(capsys, *args, "--dry-run")
    assert r.code == 0, r.err
    assert "dry run: 2 candidates to try, 10 LLM requests (10 to send, 0 answered from the cache" in r.out
    assert "resumed: 2 candidates (2 passing pairs) are already written" in r.out

    for p in tmp_path.glob("pairs*.jsonl"):  # rows lost, cache kept (as after a kill)
        p.unlink()
    s = generate_dpo_pairs(
        tmp_path / "p.jsonl",
        out,
        max_rounds=1,
        model="openai:m",
        llm_options={"base_url": server.base_url, "price": [1, 2]},
        dry_run=True,
    )
    e = s.estimate
    assert (e["candidates"], e["resumed"], e["planned"]) == (4, 0, 20)
    # the first answer of the two finished candidates is known up front and already in the cache
    assert (e["roles"]["model"]["cached"], e["cached"], e["requests"]) == (2, 2, 18)
    assert e["roles"]["judge"]["cached"] == 0  # judge calls embed an answer: counted as to send

    assert run_cli(capsys, *args).code == 0  # finish the run
    r = run_cli(capsys, *args, "--dry-run")
    assert "dry run: 0 candidates to try, 0 LLM requests (0 to send" in r.out and "cost $0.0000" in r.out
    assert len(server.bodies) > sent


@pytest.mark.parametrize("strategy", ["flaw", "strong-weak", "reference", "temperature", "best-of-n"])
def test_dry_run_known_requests_match_the_run(tmp_path, strategy):
    """The requests a dry run builds up front are the ones the run sends: after a run they are all cached."""
    write_prompts(tmp_path / "p.jsonl", 3, reference="Rayleigh scattering.")
    model = CachedLLM(ScriptedLLM(dpo_rule, name="strong"), tmp_path / "c.sqlite")
    weak = (
        CachedLLM(ScriptedLLM(dpo_rule, name="weak"), tmp_path / "c.sqlite")
        if strategy == "strong-weak"
        else None
    )
    kw = dict(model=model, weak_model=weak, strategy=strategy, max_rounds=1, cache=None, progress=False)
    generate_dpo_pairs(tmp_path / "p.jsonl", tmp_path / "pairs.jsonl", **kw)
    for p in tmp_path.glob("pairs*.jsonl"):
        p.unlink()
    e = generate_dpo_pairs(tmp_path / "p.jsonl", tmp_path / "pairs.jsonl", dry_run=True, **kw).estimate
    known = {"flaw": 3, "strong-weak": 6, "reference": 6, "temperature": 6, "best-of-n": 12}[strategy]
    assert e["cached"] == known
    assert e["requests"] == e["dependent"]  # nothing known up front is left to send
    assert e["planned"] == 3 * {"flaw": 5, "best-of-n": 8}.get(strategy, 4)


def test_judge_dry_run_subtracts_judged_rows_and_cached_requests(server, tmp_path, capsys):
    pairs = tmp_path / "p.jsonl"

    def write(n: int) -> None:
        rows = [{"prompt": f"Q{i}?", "chosen": "Good.", "rejected": "FLAWED."} for i in range(n)]
        pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))

    write(3)
    args = ["judge", pairs, "--out", tmp_path / "j.jsonl", "--model", "openai:gpt-4o-mini"]
    args += ["--option", f"base_url={server.base_url}", "--no-progress"]
    assert run_cli(capsys, *args).code == 0
    write(5)
    r = run_cli(capsys, *args, "--dry-run")
    assert "dry run: 4 judge requests for 2 rows (3 already done), 0 more answered from the cache" in r.out
    (tmp_path / "j.jsonl").unlink()
    r = run_cli(capsys, *args, "--dry-run", "--pairwise")
    # 5 rows x 2 scores, of which 3 rows' scores are cached; the 10 pairwise requests are new
    assert "dry run: 14 judge requests for 5 rows, 6 more answered from the cache" in r.out
    assert "judge openai:gpt-4o-mini: 14 requests to send (6 more answered from the cache)" in r.out


def test_sft_and_kto_dry_runs_after_a_partial_run(server, tmp_path, capsys):
    write_prompts(tmp_path / "p.jsonl", 3)
    opts = {"base_url": server.base_url, "price": [1, 2]}
    sft = tmp_path / "sft.jsonl"
    generate_sft_data(
        sft, prompts=tmp_path / "p.jsonl", model="openai:m", llm_options=opts, limit=2, progress=False
    )
    s = generate_sft_data(sft, prompts=tmp_path / "p.jsonl", model="openai:m", llm_options=opts, dry_run=True)
    assert (s.resumed, s.estimate["inputs"], s.estimate["requests"]) == (2, 1, 2)
    assert (
        "1 inputs, 2 LLM requests (2 to send, 0 answered from the cache; 2 inputs done before)"
        in s.lines()[0]
    )

    kto = tmp_path / "kto.jsonl"
    kw = dict(model="openai:m", llm_options=opts, per_prompt=2)
    generate_kto_data(tmp_path / "p.jsonl", kto, progress=False, **kw)
    e = generate_kto_data(tmp_path / "p.jsonl", kto, dry_run=True, **kw).estimate
    assert (e["resumed"], e["requests"], e["cached"]) == (6, 0, 0)
    kto.unlink()  # the scored rows (kept and left out by the balance) are gone; the cache is not
    (tmp_path / "kto.dropped.jsonl").unlink(missing_ok=True)
    e = generate_kto_data(tmp_path / "p.jsonl", kto, dry_run=True, **kw).estimate
    assert (e["resumed"], e["cached"], e["requests"]) == (0, 6, 6)  # answers cached, judge calls counted

"""Model gates from the project's own gates file, and the GRPO/RAFT rewards against the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignforge.errors import ConfigError
from alignforge.quality.gates import DEFAULT_GATES_YAML
from alignforge.train.config import parse_config
from alignforge.train.gates import gates_for
from alignforge.train.rewards import code_tests_reward, judge_reward, resolve_rewards


def _cfg(stage: str, gates_file: Path):
    raw = {
        "model": {"base_model": "x"},
        "data": {"train_file": "a.jsonl"},
        "constraints": {"gates_file": str(gates_file)},
        "logging": {"output_dir": "out"},
    }
    return parse_config(raw, stage)


def test_gates_init_file_drives_the_training_gates(tmp_path):
    path = tmp_path / "gates.yaml"
    path.write_text(DEFAULT_GATES_YAML)
    gates, skipped = gates_for(_cfg("dpo", path))
    assert skipped == []
    assert {(g.metric, g.kind, g.threshold) for g in gates} == {
        ("kl_divergence", "max", 0.1),
        ("reward_margin", "min", 0.15),
        ("preference_accuracy", "min", 0.5),
    }
    by = {g.metric: g for g in gates}
    # preference_accuracy is optional and on_fail: flag in the defaults
    assert by["preference_accuracy"].check({}).passed
    assert by["preference_accuracy"].check({}).reason == "not measured (optional)"
    flagged = by["preference_accuracy"].check({"preference_accuracy": 0.3})
    assert flagged.passed and flagged.flagged and flagged.reason.startswith("flagged:")
    # the others fail closed and fail on a miss
    assert not by["kl_divergence"].check({}).passed
    assert not by["kl_divergence"].check({"kl_divergence": 0.2}).passed
    assert by["reward_margin"].check({"reward_margin": 0.2}).passed

    rm, _ = gates_for(_cfg("reward", path))
    assert {g.metric for g in rm} == {"rm_train_accuracy", "rm_val_accuracy", "rm_train_val_gap"}
    rl, _ = gates_for(_cfg("grpo", path))
    assert {g.metric for g in rl} == {"kl_divergence", "frac_zero_std_groups"}


def test_a_gates_file_that_applies_nothing_or_names_an_unknown_metric_is_an_error(tmp_path):
    path = tmp_path / "gates.yaml"
    path.write_text(DEFAULT_GATES_YAML)
    with pytest.raises(ConfigError, match="no gates for train sft"):
        gates_for(_cfg("sft", path))
    bad = tmp_path / "bad.yaml"
    bad.write_text("dpo_training:\n  kl_divergense: {max: 0.1}\n")
    with pytest.raises(ConfigError, match="kl_divergense: train dpo measures no such metric"):
        gates_for(_cfg("dpo", bad))


TASK_TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"]


def test_code_tests_reward_runs_the_sandbox_and_is_not_fooled():
    prompt = 'def add(a, b):\n    """Return a + b."""\n'
    completions = [
        "    return a + b\n",  # body, right
        "    return a - b\n",  # body, wrong
        "```python\ndef add(a, b):\n    return b + a\n```",  # chat model: the whole function, fenced
        "    class Yes:\n        def __eq__(self, o):\n            return True\n    return Yes()\n",  # hack
        "    import sys\n    sys.exit(0)\n",  # exit-code hack
    ]
    n = len(completions)
    rewards = code_tests_reward(
        [prompt] * n,
        completions,
        prompt=[prompt] * n,
        tests=[TASK_TESTS] * n,
        entry_point=["add"] * n,
        task_id=["t/add"] * n,
        timeout_s=5.0,
    )
    assert rewards == [1.0, 0.0, 1.0, 0.0, 0.0]
    # resolve_rewards binds rewards.timeout_s and keeps TRL's __name__
    (func,) = resolve_rewards(["code_tests"], timeout_s=3.0)
    assert func.__name__ == "code_tests"
    assert func([prompt], [completions[0]], tests=[TASK_TESTS], entry_point=["add"]) == [1.0]


def test_judge_reward_never_invents_a_score(monkeypatch):
    from _llm_helpers import FakeServer

    with pytest.raises(ConfigError, match="rewards.judge_model"):
        resolve_rewards(["judge"])
    server = FakeServer().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        # The loopback server echoes instead of grading: nothing parses, so there is no reward, not 0.
        out = judge_reward(["What is 2+2?"], ["4"], judge_model="openai:echo-judge")
        assert out == [None]
        assert server.attempts  # the judge was really asked (and re-asked once)
    finally:
        server.stop()


def test_logp_trend_warning_when_chosen_and_rejected_both_fall(tmp_path):
    from alignforge.train.monitors import Monitor, write_metrics

    mon = Monitor("dpo")
    mon.absorb({"eval_logps/chosen": -40.0, "eval_logps/rejected": -42.0})  # the pre-training baseline
    mon.absorb({"eval_logps/chosen": -39.0, "eval_logps/rejected": -45.0})  # chosen up: healthy
    assert mon.warnings == []
    mon.absorb({"eval_logps/chosen": -44.0, "eval_logps/rejected": -60.0})  # both below the baseline
    (warning,) = mon.warnings
    assert "both fell" in warning and "-40.00 -> -44.00" in warning
    # a resumed run keeps the baseline (it is saved with the checkpoint's metrics)
    write_metrics(tmp_path, mon.metrics, stage="dpo", warnings=mon.warnings)
    resumed = Monitor("dpo")
    resumed.restore(tmp_path)
    resumed.warnings.clear()
    resumed.absorb({"eval_logps/chosen": -41.0, "eval_logps/rejected": -43.0})
    assert len(resumed.warnings) == 1
    off = Monitor("dpo", logp_trend_warning=False)
    off.absorb({"eval_logps/chosen": -40.0, "eval_logps/rejected": -42.0})
    off.absorb({"eval_logps/chosen": -50.0, "eval_logps/rejected": -52.0})
    assert off.warnings == []

"""Every public name resolves to what the docs say, and is called with small real inputs.

For each package's ``__all__``: a check in ``CALLS`` that calls the name (or, for a constant, reads
it), or a one-line reason in ``NOT_CALLED`` and a check that it is the kind of callable the docs
say. A name in neither fails the test, so nothing is skipped silently. Names are resolved after
every submodule of the package has been imported: a submodule named like a public name rebinds the
package attribute (``alignforge.verify.calibrate`` did), and that must not shadow the function.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import random
import subprocess
import sys
import types
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "alignforge",
    "alignforge.quality",
    "alignforge.verify",
    "alignforge.curate",
    "alignforge.generate",
    "alignforge.judge",
    "alignforge.llm",
    "alignforge.train",
    "alignforge.evaluate",
    "alignforge.assess",
)
# Submodules that load torch / transformers at import time: importing them is no cheap check.
HEAVY_SUBMODULES = {"alignforge.train._rollout"}

PAIRS = [
    {"prompt": "What is 7 times 8?", "chosen": "7 x 8 = 56.", "rejected": "7 x 8 = 54.", "chosen_score": 9.5,
     "rejected_score": 4.0},
    {"prompt": "What is the capital of France?", "chosen": "Paris.", "rejected": "Lyon.", "chosen_score": 9.0,
     "rejected_score": 3.0},
]  # fmt: skip


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _pairs(tmp: Path) -> Path:
    return _jsonl(tmp / "pairs.jsonl", PAIRS)


def _bench_dir() -> Path:
    bench = REPO.parent / "shared" / "benchmarks"
    if not bench.is_dir():
        pytest.fail(f"{bench} is missing: the tests need ../shared/benchmarks beside the repository")
    return bench


# --- alignforge (every top-level name is called) ---------------------------------------------------


def _version(v: Any, tmp: Path) -> None:
    import re

    assert isinstance(v, str) and re.fullmatch(r"\d+\.\d+\.\d+\S*", v)


def _validate_dpo_pairs(f: Any, tmp: Path) -> None:
    m = f(_pairs(tmp))
    assert m.total_pairs == 2 and m.avg_gap == pytest.approx(5.75)


def _enforce_gates(f: Any, tmp: Path) -> None:
    assert f("dpo_training", kl_divergence=0.05, reward_margin=0.5, verbose=False) is True
    assert f("dpo_training", kl_divergence=0.5, reward_margin=0.5, verbose=False) is False


def _check_quality_gates(f: Any, tmp: Path) -> None:
    (tmp / "training_metrics.json").write_text(json.dumps({"kl_divergence": 0.05, "reward_margin": 0.3}))
    out = f(tmp, {"constraints": {"kl_divergence_max": 0.1, "preference_gap_target": 0.15}})
    assert out["gates_passed"] is True and out["kl_divergence"] == 0.05


def _check_file(f: Any, tmp: Path) -> None:
    r = f(_pairs(tmp))
    assert r.kind == "dpo" and r.figures["total_pairs"] == 2


def _split_file(f: Any, tmp: Path) -> None:
    rows = [dict(PAIRS[0], prompt=f"What is {i} times 8?") for i in range(20)]
    out = f(_jsonl(tmp / "p.jsonl", rows), tmp / "split", validation=0.25)
    assert out["train"] + out["validation"] == 20 if "train" in out else out


def _calculate_decontamination(f: Any, tmp: Path) -> None:
    score = f(_pairs(tmp), ["humaneval"], benchmark_dir=_bench_dir())
    assert score == 1.0


def _generate_dpo_pairs(f: Any, tmp: Path) -> None:
    prompts = _jsonl(tmp / "prompts.jsonl", [{"prompt": "What is 7 times 8?"}])
    s = f(
        prompts, tmp / "dpo.jsonl", model="openai:gpt-4o-mini", n=1, cache=None, progress=False, dry_run=True
    )
    assert s.target == 1 and s.estimate is not None and not (tmp / "dpo.jsonl").exists()


def _generate_rlvr_data(f: Any, tmp: Path) -> None:
    s = f(None, tmp / "rlvr.jsonl", domain="math", n=3)
    assert s.written == 3 and len((tmp / "rlvr.jsonl").read_text().splitlines()) == 3


def _assess_rlvr_verifiability(f: Any, tmp: Path) -> None:
    rows = [
        {"task_id": "a", "prompt": "What is 6 x 7?", "answer": "42", "domain": "math"},
        {"task_id": "b", "prompt": "What is 15% of 80?", "answer": "12", "domain": "math",
         "metadata": {"reference_solution": "It is \\boxed{8}."}},
    ]  # fmt: skip
    v = f(rows)
    assert float(v) == 0.5 and v.verified == 1 and v.reference_fails == 1 and v < 0.8


def _pass_at_k(f: Any, tmp: Path) -> None:
    assert f(10, 3, 1) == pytest.approx(0.3) and f(5, 5, 2) == 1.0


def _get_llm(f: Any, tmp: Path) -> None:
    llm = f("openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="unused", cache=tmp / "c.sqlite")
    assert callable(llm.generate) and (tmp / "c.sqlite").exists()


def _sandbox_pool(c: Any, tmp: Path) -> None:
    with c(1) as pool:
        assert pool.info["isolation"] in ("process", "bwrap")


def _resolve_llm(f: Any, tmp: Path) -> None:
    opts = {"base_url": "http://127.0.0.1:9/v1", "api_key": "unused"}
    llm = f("openai:gpt-4o-mini", cache=tmp / "r.sqlite", options=opts)
    assert llm.name == "openai:gpt-4o-mini" and (tmp / "r.sqlite").exists()
    assert f(llm, cache=None) is llm  # an LLM object is taken as is


def _resolve_llms(f: Any, tmp: Path) -> None:
    opts = {"base_url": "http://127.0.0.1:9/v1", "api_key": "unused"}
    llm, judge, weak, budget = f("openai:a", opts, judge=(None, None), cache=None, max_cost=None)
    assert judge is llm and weak is None and budget is None


def _embedded_checkpoint(f: Any, tmp: Path) -> None:
    # the cached path (the conversion loads torch and takes seconds): a finished checkpoint is reused
    from alignforge.models import EMBEDDED_MODEL

    (tmp / EMBEDDED_MODEL).mkdir()
    (tmp / EMBEDDED_MODEL / ".complete").touch()
    assert f(cache_dir=tmp) == tmp / EMBEDDED_MODEL


# --- alignforge.verify (every function is called) --------------------------------------------------

HE_TASK = {
    "task_id": "HE/0",
    "prompt": 'def inc(x):\n    """x + 1"""\n',
    "entry_point": "inc",
    "tests": "def check(candidate):\n    assert candidate(1) == 2\n",
    "canonical_solution": "    return x + 1\n",
}


def _verifier(cls: Any, tmp: Path) -> None:
    with cls({"HE/0": HE_TASK}, workers=1) as v:
        assert v.verify("def inc(x):\n    return x + 1\n", task_id="HE/0")["passed"]


def _pytest_verifier(cls: Any, tmp: Path) -> None:
    task = {"prompt": "Write sq(x).", "test_style": "pytest",
            "tests": "from solution import sq\n\ndef test_sq():\n    assert sq(3) == 9\n"}  # fmt: skip
    with cls({"P/0": task}, workers=1) as v:
        assert v.verify("def sq(x):\n    return x * x\n", task_id="P/0")["passed"]


def _calibrate(f: Any, tmp: Path) -> None:
    r = f([{"task_id": "m", "prompt": "6 x 7?", "answer": "42", "domain": "math"}])
    assert r["verifiability_breakdown"]["verified"] == 1 and r["kinds"]["wrong"]["passed"] == 0


def _verify_finance(f: Any, tmp: Path) -> None:
    from alignforge.verify import FinanceSpec

    spec = FinanceSpec("$12.50", decimals=2)
    assert f("The answer is $12.50.", spec).passed and not f("The answer is $12.49.", spec).passed


def _verify_general(f: Any, tmp: Path) -> None:
    from alignforge.verify import GeneralSpec

    spec = GeneralSpec("B", match="choice", choices=("x", "y"))
    assert f("The answer is (B).", spec).passed and not f("The answer is A or B.", spec).passed


def _verify_completions(f: Any, tmp: Path) -> None:
    rows = [
        {"task_id": "HE/0", "completion": "    return x + 1\n"},
        {"task_id": "HE/0", "completion": "    return x\n"},
    ]
    assert [v["passed"] for v in f({"HE/0": HE_TASK}, rows, workers=1)] == [True, False]


def _prepare_dataset(f: Any, tmp: Path) -> None:
    import gzip

    src = tmp / "src"
    src.mkdir()
    lines = gzip.open(_bench_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt").read().splitlines()[:2]
    (src / "HumanEval.jsonl").write_text("\n".join(lines) + "\n")
    s = f("humaneval", tmp / "out", source=src, workers=1)
    assert s.splits["humaneval"]["written"] == 2 and s.written == 2


def _verify_file(f: Any, tmp: Path) -> None:
    tasks = _jsonl(
        tmp / "tasks.jsonl", [{"task_id": "m", "prompt": "6 x 7?", "answer": "42", "domain": "math"}]
    )
    comps = _jsonl(
        tmp / "c.jsonl", [{"task_id": "m", "completion": c} for c in ("\\boxed{42}", "\\boxed{41}")]
    )
    s = f(tasks, comps, tmp / "v.jsonl", workers=1, ks=[1])
    assert (s.written, s.statuses) == (2, {"failed": 1, "passed": 1}) and s.pass_at_k["pass@1"] == 0.5


def _pass_at_k_table(f: Any, tmp: Path) -> None:
    t = f([{"task_id": "a", "passed": True}, {"task_id": "a", "passed": False}], [1])
    assert t["pass@1"] == pytest.approx(0.5) if "pass@1" in t else t


def _load_tasks(f: Any, tmp: Path) -> None:
    assert f([HE_TASK])["HE/0"]["style"] == "humaneval"


def _find_reference(f: Any, tmp: Path) -> None:
    assert f({"tests": ["assert g() == 1"], "metadata": {"reference_solution": "def g(): return 1"}}) == (
        "metadata.reference_solution",
        "def g(): return 1",
    )


def _verifiability(cls: Any, tmp: Path) -> None:
    v = cls(0.75, breakdown={"verified": 3, "reference_fails": 1})
    assert v >= 0.75 and v.tasks == 4 and v.reference_fails == 1


def _is(kind: type | tuple[type, ...]) -> Callable[[Any, Path], None]:
    def check(value: Any, tmp: Path) -> None:
        assert isinstance(value, kind)

    return check


CALLS: dict[str, Callable[[Any, Path], None]] = {
    "alignforge:__version__": _version,
    "alignforge:validate_dpo_pairs": _validate_dpo_pairs,
    "alignforge:enforce_gates": _enforce_gates,
    "alignforge:check_quality_gates": _check_quality_gates,
    "alignforge:check_file": _check_file,
    "alignforge:split_file": _split_file,
    "alignforge:calculate_decontamination": _calculate_decontamination,
    "alignforge:generate_dpo_pairs": _generate_dpo_pairs,
    "alignforge:generate_rlvr_data": _generate_rlvr_data,
    "alignforge:assess_rlvr_verifiability": _assess_rlvr_verifiability,
    "alignforge:pass_at_k": _pass_at_k,
    "alignforge:get_llm": _get_llm,
    "alignforge:embedded_checkpoint": _embedded_checkpoint,
    "alignforge.verify:CodeVerifier": _verifier,
    "alignforge.verify:HumanEvalVerifier": _verifier,
    "alignforge.verify:MBPPVerifier": _verifier,
    "alignforge.verify:RLVRPytestVerifier": _pytest_verifier,
    "alignforge.verify:MathVerdict": lambda c, t: c(True, "passed", "4", "4").reward == 1.0,
    "alignforge.verify:VerdictCache": lambda c, t: c(t / "v.sqlite").get("nope") is None,
    "alignforge.verify:SandboxPool": _sandbox_pool,
    "alignforge.verify:plus_task": lambda f, t: f({"task_id": "t", "tests": ["assert f(1) == 1"], "plus_tests": ["assert f(2) == 2"]})["tests"] == ["assert f(1) == 1", "assert f(2) == 2"],
    "alignforge.verify:strengthen_tasks": lambda f, t: f([{"task_id": "m", "prompt": "p", "answer": "1", "domain": "math"}], workers=1)[1][0].status.startswith("skipped"),
    "alignforge.verify:Verifiability": _verifiability,
    "alignforge.verify:assess_rlvr_verifiability": _assess_rlvr_verifiability,
    "alignforge.verify:calibrate": _calibrate,
    "alignforge.verify:extract_answer": lambda f, t: f("so \\boxed{42}") == "42",
    "alignforge.verify:find_reference": _find_reference,
    "alignforge.verify:load_tasks": _load_tasks,
    "alignforge.verify:pass_at_k": _pass_at_k,
    "alignforge.verify:pass_at_k_table": _pass_at_k_table,
    "alignforge.verify:prepare_dataset": _prepare_dataset,
    "alignforge.verify:verify_choice": lambda f, t: f("The answer is (B)", "B").passed,
    "alignforge.verify:verify_completions": _verify_completions,
    "alignforge.verify:verify_exact": lambda f, t: f("Paris.", "paris").passed,
    "alignforge.verify:verify_math": lambda f, t: f("\\boxed{12}", "12").passed and not f("\\boxed{8}", "12").passed,
    "alignforge.verify:verify_file": _verify_file,
    "alignforge.verify:VerdictStatus": lambda c, t: c("hack_suspected") is c.HACK_SUSPECTED and c.PASSED == "passed",
    "alignforge.verify:math_correct": lambda f, t: f("so \\boxed{6}", "6") and not f("so \\boxed{5}", "6"),
    "alignforge.verify:code_task": lambda f, t: f("t", "p", {"tests": ["assert 1"], "x": 1}) == {"task_id": "t", "prompt": "p", "domain": "code", "tests": ["assert 1"]} and f("t", "p", {}) is None,
    "alignforge.verify:sandbox_pool": lambda f, t: f({"m": {"domain": "math"}}, 1) is None,
    "alignforge.verify:FinanceSpec": lambda c, t: c("$12.50", decimals=2).gold == Fraction(25, 2),
    "alignforge.verify:verify_finance": _verify_finance,
    "alignforge.verify:GeneralSpec": lambda c, t: c("B", match="choice", choices=("x", "y")).match == "choice",
    "alignforge.verify:verify_general": _verify_general,
    "alignforge.verify:grade_task": lambda f, t: f({"task_id": "f", "prompt": "p", "answer": "$12.50", "domain": "finance", "metadata": {"verifier": {"type": "finance", "answer_kind": "amount", "unit": "USD", "decimals": 2}}}, "Final answer: $12.50").passed,
    "alignforge.verify:measure_false_positives": lambda f, t: f([{"task_id": "f", "prompt": "p", "answer": "$12.50", "domain": "finance", "metadata": {"verifier": {"type": "finance", "answer_kind": "amount", "unit": "USD", "decimals": 2}}}])["finance"]["passed"] == 0,
}  # fmt: skip

# A check's lambda that returns False is a failure too (see test_every_public_name_is_called).

# --- the other packages: cheap calls where a small real input exists --------------------------------


def _dedup(f: Any, tmp: Path) -> None:
    r = f([PAIRS[0], dict(PAIRS[0]), PAIRS[1]])
    assert len(r.kept) == 2 and len(r.dropped) == 1


def _iter_dedup(f: Any, tmp: Path) -> None:
    assert [drop is None for _, drop in f([PAIRS[0], dict(PAIRS[0])])] == [True, False]


def _load_benchmark(f: Any, tmp: Path) -> None:
    items = list(f("humaneval", benchmark_dir=_bench_dir()))
    assert len(items) == 164 and items[0].benchmark == "humaneval"


def _win_rate(f: Any, tmp: Path) -> None:
    rows = [{"winner": "tuned"}, {"winner": "tuned"}, {"winner": "baseline"}, {"winner": "tie"}]
    out = f(_jsonl(tmp / "w.jsonl", rows))
    assert out["win_rate"] == pytest.approx(2.5 / 4)


def _load_scores(f: Any, tmp: Path) -> None:
    (tmp / "s.json").write_text(json.dumps({"arc": 0.5, "gsm8k": 0.25}))
    assert f(tmp / "s.json") == {"arc": 0.5, "gsm8k": 0.25}


def _parse_config(f: Any, tmp: Path) -> None:
    cfg = f({"model": {"name": "HuggingFaceTB/SmolLM2-135M-Instruct"}}, "sft")
    assert cfg.stage == "sft"


CALLS.update(
    {
        "alignforge.quality:check_file": _check_file,
        "alignforge.quality:check_quality_gates": _check_quality_gates,
        "alignforge.quality:enforce_gates": _enforce_gates,
        "alignforge.quality:split_file": _split_file,
        "alignforge.quality:validate_dpo_pairs": _validate_dpo_pairs,
        "alignforge.quality:DEFAULT_GATES_YAML": lambda v, t: "dpo_training" in v,
        "alignforge.quality:load_gates": lambda f, t: "preference_data" in f(),
        "alignforge.quality:evaluate": lambda f, t: all(g.status == "pass" for g in f({"kl_divergence": 0.01}, f.__globals__["load_gates"](), "dpo_training") if g.name == "kl_divergence"),
        "alignforge.curate:calculate_decontamination": _calculate_decontamination,
        "alignforge.curate:dedup": _dedup,
        "alignforge.curate:iter_dedup": _iter_dedup,
        "alignforge.curate:load_benchmark": _load_benchmark,
        "alignforge.curate:benchmark_names": lambda f, t: "humaneval" in f(),
        "alignforge.curate:available_benchmarks": lambda f, t: "humaneval" in f(_bench_dir()),
        "alignforge.curate:default_benchmark_dir": lambda f, t: isinstance(f(), Path),
        "alignforge.curate:DEFAULT_BENCHMARKS": lambda v, t: "humaneval" in v,
        "alignforge.curate:BenchmarkItem": lambda c, t: c("x/1", "q?").answer == "",
        "alignforge.curate:DecontamReport": lambda c, t: c().rows == 0,
        "alignforge.curate:DedupResult": lambda c, t: c().kept == [],
        "alignforge.curate:ScanRules": lambda c, t: c(coverage=0.5).coverage == 0.5,
        "alignforge.curate:dedup_file": lambda f, t: f(_jsonl(t / "d.jsonl", [PAIRS[0], PAIRS[0], PAIRS[1]]), out=t / "u.jsonl").drop_reasons == {"exact_duplicate": 1},
        "alignforge.curate:DedupStage": lambda c, t: c(_pairs(t), t / "u.jsonl").outputs()["dropped"] == t / "u.dropped.jsonl",
        "alignforge.curate:decontaminate_file": lambda f, t: f(_pairs(t), against="humaneval", benchmark_dir=_bench_dir()).contaminated_rows == 0,
        "alignforge.curate:DecontaminateStage": lambda c, t: c(_pairs(t), "humaneval", out=t / "c.jsonl").outputs()["dropped"] == t / "c.dropped.jsonl",
        "alignforge.curate:benchmark_table": lambda f, t: any(r["benchmark"] == "humaneval" for r in f(_bench_dir())),
        "alignforge.curate:resolve_benchmark_dir": lambda f, t: f(t) == t,
        "alignforge.generate:generate_dpo_pairs": _generate_dpo_pairs,
        "alignforge.generate:generate_rlvr_data": _generate_rlvr_data,
        "alignforge.generate:flaw_sequence": lambda f, t: len(f({"incomplete": 1.0}, 3)) == 3,
        "alignforge.generate:parse_mix": lambda f, t: sum(f(None).values()) == pytest.approx(1.0),
        "alignforge.generate:FLAWS": lambda v, t: len(v) == 6,
        "alignforge.generate:DEFAULT_MIX": lambda v, t: sum(v.values()) == pytest.approx(1.0),
        "alignforge.generate:Thresholds": lambda c, t: c().gap == 3.0,
        "alignforge.generate:DPOStage": lambda c, t: c(t / "p.jsonl", t / "o.jsonl").params()["gap_threshold"] == 3.0,
        "alignforge.generate:SFTStage": lambda c, t: c(t / "o.jsonl", prompts=t / "p.jsonl").name == "generate.sft",
        "alignforge.generate:KTOStage": lambda c, t: c(t / "p.jsonl", t / "o.jsonl").params()["per_prompt"] == 2,
        "alignforge.generate:GRPOStage": lambda c, t: c(t / "p.jsonl", t / "o.jsonl").params()["reward"] == "auto",
        "alignforge.generate:RLVRStage": lambda c, t: c(None, t / "o.jsonl").verification_type == "math",
        "alignforge.generate:parse_share_band": lambda f, t: f("0.6-0.7") == (0.6, 0.7),
        "alignforge.generate:plan_mix": lambda f, t: f(50, "40/30/20/10") == {"math": 20, "code": 15, "finance": 10, "general": 5},
        "alignforge.generate:FINANCE_FAMILIES": lambda v, t: "loan_payment" in v,
        "alignforge.generate:GENERAL_FAMILIES": lambda v, t: "mc_prime" in v,
        "alignforge.generate:make_finance_task": lambda f, t: f("npv", random.Random(0)).to_row()["domain"] == "finance",
        "alignforge.generate:make_general_task": lambda f, t: f("mc_prime", random.Random(0)).to_row()["verification_type"] == "choice",
        "alignforge.judge:parse_score": lambda f, t: f("Score: 7\nRationale: fine").score == 7.0 and f("Score: 11") is None,
        "alignforge.judge:parse_choice": lambda f, t: f("Winner: A", "Winner", ("a", "b")) == "a",
        "alignforge.judge:parse_yes_no_fields": lambda f, t: f("Flaw: yes\nFluent: no", ("Flaw", "Fluent")) == {"Flaw": True, "Fluent": False},
        "alignforge.judge:ParsedScore": lambda c, t: c(5.0, "ok").score == 5.0,
        "alignforge.judge:RUBRIC": lambda v, t: "9-10" in v,
        "alignforge.judge:JudgeStatus": lambda c, t: c("parse_failed") is c.PARSE_FAILED and c.OK == "ok",
        "alignforge.llm:get_llm": _get_llm,
        "alignforge.llm:resolve_llm": _resolve_llm,
        "alignforge.llm:resolve_llms": _resolve_llms,
        "alignforge.llm:backends": lambda f, t: {"local", "openai", "anthropic"} <= set(f()),
        "alignforge.llm:parse_cli_options": lambda f, t: f(["price=[2.5,10]", "concurrency=8"]) == {"price": [2.5, 10], "concurrency": 8},
        "alignforge.llm:price_of": lambda f, t: f("local") is not None,
        "alignforge.llm:estimate_cost": lambda f, t: f("local", 100, 100) == 0.0,
        "alignforge.llm:PRICES": lambda v, t: isinstance(v, dict) and len(v) > 0,
        "alignforge.llm:Message": lambda c, t: c("user", "hi").content == "hi",
        "alignforge.llm:ChatRequest": lambda c, t: c.chat("hi", max_tokens=4).max_tokens == 4,
        "alignforge.llm:Usage": lambda c, t: c().cost_usd == 0.0,
        "alignforge.llm:Budget": lambda c, t: c(1.0).max_cost_usd == 1.0,
        "alignforge.llm:ResponseCache": lambda c, t: c(t / "r.sqlite") is not None and (t / "r.sqlite").exists(),
        "alignforge.llm:LLMError": lambda c, t: c("timeout", "slow").kind == "timeout",
        "alignforge.train:STAGES": lambda v, t: "dpo" in v and "sft" in v,
        "alignforge.train:Gate": lambda c, t: c("kl", "max", 0.1, "cfg").threshold == 0.1,
        "alignforge.evaluate:capability_retention": lambda f, t: f({"arc": 0.5, "gsm": 0.4}, {"arc": 0.5, "gsm": 0.2})["capability_retention"] == pytest.approx(0.5),
        "alignforge.evaluate:load_scores": _load_scores,
        "alignforge.evaluate:win_rate": _win_rate,
        "alignforge.assess:parse_items": lambda f, t: f("1. first item here\n2. second item here") == ["first item here", "second item here"],
        "alignforge.assess:parse_implementation": lambda f, t: "def f" in f("```python\ndef f():\n    return 1\n```")["code"],
        "alignforge.assess:STEP_FILES": lambda v, t: isinstance(v, dict) and len(v) >= 7,
        "alignforge.assess:AttemptResult": lambda c, t: c(1, "ok").attempt == 1,
        "alignforge.assess:LIKELIHOODS": lambda v, t: v == ("high", "medium", "low"),
        "alignforge.assess:SEVERITIES": lambda v, t: v == ("critical", "major", "minor"),
        "alignforge.llm:Price": lambda c, t: c(2.5, 10.0).output_per_mtok == 10.0,
    }
)  # fmt: skip
CALLS_RETURNING_BOOL = {k for k, v in CALLS.items() if getattr(v, "__name__", "") == "<lambda>"}

_LLM = "needs an LLM to answer (a real model load or a server); covered by its slow test file"
_TRAIN = "trains or loads a model through TRL/torch; covered by the slow tests in tests/test_train*.py"
# name -> (why it is not called here, what it must be: "function" or "class")
NOT_CALLED: dict[str, tuple[str, str]] = {
    "alignforge.generate:generate_sft_data": (_LLM, "function"),
    "alignforge.generate:generate_kto_data": (_LLM, "function"),
    "alignforge.generate:generate_grpo_data": (_LLM + " (judge rewards)", "function"),
    "alignforge.generate:load_taxonomy": (
        "needs a taxonomy YAML file; tests/test_generate* write one",
        "function",
    ),
    "alignforge.generate:pair_gate_reasons": (
        "takes an internal scored Candidate built by the DPO loop",
        "function",
    ),
    "alignforge.verify:RayVerifier": (
        "starts a Ray cluster (slow); tests/test_verify_ray.py runs it on a local one",
        "class",
    ),
    "alignforge.judge:Judge": (_LLM, "class"),
    "alignforge.judge:judge_response": (_LLM, "function"),
    "alignforge.judge:judge_file": (_LLM, "function"),
    "alignforge.judge:JudgeResult": ("a judge's answer record, built by Judge", "class"),
    "alignforge.judge:FlawCheck": ("a judge's answer record, built by Judge", "class"),
    "alignforge.judge:PairwiseResult": ("a judge's answer record, built by Judge", "class"),
    "alignforge.judge:JudgeStage": ("the stage judge_file runs (an LLM run)", "class"),
    "alignforge.llm:LLM": ("a Protocol: backends implement it, nothing instantiates it", "class"),
    "alignforge.llm:llm_for_estimate": (
        "get_llm's dry-run twin; called through generate_dpo_pairs(dry_run=True)",
        "function",
    ),
    "alignforge.llm:register_backend": (
        "registers into the process-wide registry; tests/test_llm* register and remove one",
        "function",
    ),
    "alignforge.llm:MissingCredentials": ("an exception class, raised by backends with no key", "class"),
    "alignforge.llm:CachedLLM": ("wraps a live LLM; built by get_llm(cache=...), called above", "class"),
    "alignforge.llm:BudgetedLLM": (
        "wraps a live LLM that answers; tests/test_llm* run it on loopback",
        "class",
    ),
    "alignforge.llm:CostEstimate": ("built by estimate_requests from a live backend", "class"),
    "alignforge.llm:estimate_requests": (
        "prices requests through a backend; called via generate_dpo_pairs(dry_run=True)",
        "function",
    ),
    "alignforge.llm:ChatResponse": ("a backend's answer record", "class"),
    "alignforge.verify:VerifyStage": ("the stage verify_file runs, called above", "class"),
    "alignforge.verify:PrepareStage": ("the stage prepare_dataset runs, called above", "class"),
    "alignforge.verify:code_correct_many": (
        "runs the sandbox; tests/test_judge_file.py verifies code rows through it",
        "function",
    ),
    "alignforge.train:TrainConfig": ("built by parse_config / load_config from a full stage config", "class"),
    "alignforge.train:load_config": (
        "needs a full stage YAML; tests/test_train_config* cover it",
        "function",
    ),
    "alignforge.train:parse_config": (
        "needs a full stage config; tests/test_train_config* cover it",
        "function",
    ),
    "alignforge.train:trl_args": ("imports TRL to build its argument dataclass", "function"),
    "alignforge.train:GateResult": ("built by the model gates after a run", "class"),
    "alignforge.train:Monitor": (_TRAIN, "class"),
    "alignforge.train:TrainStage": ("built by run_training from a full stage config", "class"),
    "alignforge.train:NotTrained": ("an exception class, raised by a run that took no step", "class"),
    "alignforge.train:check_runnable": (
        "needs a full stage config; tests/test_seed_yaml* cover it",
        "function",
    ),
    "alignforge.train:is_main_process": (
        "reads the launcher's RANK; tests/test_train_cli* launch two",
        "function",
    ),
    "alignforge.train:load_causal_lm": (_TRAIN, "function"),
    "alignforge.train:load_tokenizer": (_TRAIN, "function"),
    "alignforge.train:policy_kl": (_TRAIN, "function"),
    "alignforge.train:run_dpo": (_TRAIN, "function"),
    "alignforge.train:run_grpo": (_TRAIN, "function"),
    "alignforge.train:run_kto": (_TRAIN, "function"),
    "alignforge.train:run_raft": (_TRAIN, "function"),
    "alignforge.train:run_reward": (_TRAIN, "function"),
    "alignforge.train:run_sft": (_TRAIN, "function"),
    "alignforge.train:run_training": (_TRAIN, "function"),
    "alignforge.evaluate:score_checkpoint": ("samples from a checkpoint (a model load)", "function"),
    "alignforge.evaluate:score_checkpoints": ("samples from each checkpoint (model loads)", "function"),
    "alignforge.evaluate:load_benchmark_config": (
        "needs a full benchmark.yaml naming checkpoints",
        "function",
    ),
    "alignforge.evaluate:BenchmarkConfig": ("built by load_benchmark_config", "class"),
    "alignforge.evaluate:CheckpointScoring": ("built by score_checkpoint (a model load)", "class"),
    "alignforge.assess:run_assessment": (_LLM, "function"),
    "alignforge.assess:AssessmentResult": ("built by run_assessment", "class"),
    "alignforge.assess:StepFailed": ("an exception class, raised by a failed step", "class"),
    "alignforge.assess:Unparsable": ("an exception class, raised by the parsers", "class"),
    "alignforge.assess:Span": ("built by parse_spans from a judge's answer", "class"),
    "alignforge.assess:parse_catalog": (
        "needs a judge-shaped catalog answer; tests/test_assess* hold tables of them",
        "function",
    ),
    "alignforge.assess:parse_challenge": (
        "needs a model's challenge answer; tests/test_assess* hold tables of them",
        "function",
    ),
    "alignforge.assess:parse_spans": (
        "needs a judge's span answer and code; tests/test_assess* hold tables of them",
        "function",
    ),
    "alignforge.assess:parse_details": (
        "needs a model's detail answer; tests/test_assess* hold tables of them",
        "function",
    ),
    "alignforge.assess:load_run": ("needs a finished assessment run folder", "function"),
    "alignforge.assess:render_page": ("needs a finished assessment run folder", "function"),
    "alignforge.assess:write_page": ("needs a finished assessment run folder", "function"),
    "alignforge.curate:NgramIndex": ("built by build_index over benchmark files", "class"),
    "alignforge.curate:build_index": (
        "builds and caches an n-gram index; called through calculate_decontamination",
        "function",
    ),
    "alignforge.curate:scan_batch": (
        "needs a built NgramIndex; called through calculate_decontamination",
        "function",
    ),
    "alignforge.curate:StreamScan": ("needs a built NgramIndex; used by check --against", "class"),
    "alignforge.curate:decontaminate": ("calculate_decontamination (called above) runs it", "function"),
    "alignforge.curate:register_benchmark": ("changes the process-wide benchmark registry", "function"),
    "alignforge.curate:import_benchmarks": (
        "copies benchmark files into the user's cache folder",
        "function",
    ),
    "alignforge.curate:BenchmarkNotFound": ("an exception class, raised by load_benchmark", "class"),
    "alignforge.quality:CheckResult": ("built by check_file, called above", "class"),
    "alignforge.quality:DPOMetrics": ("built by validate_dpo_pairs, called above", "class"),
    "alignforge.quality:GateResult": ("built by evaluate, called above", "class"),
    "alignforge.quality:compute_figures": ("check_file (called above) runs it", "function"),
    "alignforge.quality:keep_passing": (
        "needs rules from a gates file and a failing file; tests/test_check* cover it",
        "function",
    ),
}


def _public_names() -> list[tuple[str, str]]:
    out = []
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        out += [(pkg, name) for name in mod.__all__]
    return out


def _import_every_submodule(pkg: str) -> None:
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, f"{pkg}."):
        if info.name.endswith("__main__") or info.name in HEAVY_SUBMODULES:
            continue
        importlib.import_module(info.name)


@pytest.mark.parametrize("pkg", PACKAGES)
def test_no_public_name_is_shadowed_by_a_submodule(pkg):
    _import_every_submodule(pkg)
    mod = importlib.import_module(pkg)
    shadowed = [n for n in mod.__all__ if isinstance(getattr(mod, n), types.ModuleType)]
    assert not shadowed, f"{pkg}: {shadowed} resolve to submodules, not to the public objects"


def test_every_public_name_is_called_or_has_a_reason():
    names = {f"{pkg}:{name}" for pkg, name in _public_names()}
    unaccounted = sorted(names - set(CALLS) - set(NOT_CALLED))
    assert not unaccounted, f"public names with no call and no reason: {unaccounted}"
    assert not (set(CALLS) & set(NOT_CALLED))
    stale = sorted((set(CALLS) | set(NOT_CALLED)) - names)
    assert not stale, f"entries for names no package exports: {stale}"


@pytest.mark.parametrize("key", sorted(CALLS))
def test_every_public_name_is_called(key, tmp_path):
    pkg, name = key.split(":")
    _import_every_submodule(pkg if pkg != "alignforge" else "alignforge.verify")
    value = getattr(importlib.import_module(pkg), name)
    assert not isinstance(value, types.ModuleType), f"{key} resolves to a module"
    result = CALLS[key](value, tmp_path)
    if key in CALLS_RETURNING_BOOL:
        assert result is True, f"{key}: the check returned {result!r}"


@pytest.mark.parametrize("key", sorted(NOT_CALLED))
def test_names_not_called_are_the_callables_the_docs_say(key):
    pkg, name = key.split(":")
    reason, kind = NOT_CALLED[key]
    assert reason.strip() and kind in ("function", "class")
    value = getattr(importlib.import_module(pkg), name)
    assert inspect.isclass(value) if kind == "class" else inspect.isfunction(value), (key, value)


def test_from_verify_import_calibrate_after_the_cli_ran_calibrate(tmp_path):
    # the `alignforge verify calibrate` code path imports the calibration module; the public name must
    # still be the function afterwards, in the same process
    tasks = _jsonl(
        tmp_path / "t.jsonl", [{"task_id": "m", "prompt": "6 x 7?", "answer": "42", "domain": "math"}]
    )
    code = (
        "import sys\n"
        "from alignforge.cli import main\n"
        "try:\n"
        f"    main(['verify', 'calibrate', '--tasks', {str(tasks)!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "from alignforge.verify import calibrate\n"
        "assert callable(calibrate) and calibrate.__name__ == 'calibrate', calibrate\n"
        "import alignforge.verify.calibration, alignforge.verify.tasks\n"
        "import alignforge.verify as V\n"
        "assert V.calibrate is calibrate, V.calibrate\n"
        "print(calibrate([{'task_id': 'n', 'answer': '2', 'domain': 'math'}])['verifiability_rate'])\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verifiability math: 100.00% of 1" in r.stdout and r.stdout.strip().endswith("1.0")

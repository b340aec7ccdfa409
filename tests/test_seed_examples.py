"""The seeds' own Python examples run against alignforge with only the import changed (issue #11 §3).

Each example is transcribed from ``../shared/seeds`` as written; the one edit is
``from training_metrics import X`` -> ``from alignforge.training_metrics import X`` (the 000
integration snippets have no import line: the transcription adds it). The 000 snippets are
functions whose bodies are the seed's text (``fmt: off`` keeps them verbatim); the two 001
scripts are run as scripts (``runpy``, ``__name__ == "__main__"``) from the seed's text. Each
example is also run on data that must fail it, so none of these tests can pass by accident.
Pseudo-code blocks (000's ``generator.generate_one()``, ``verify_robust`` with an undefined
``run_test``, lists of test strings) are not examples of alignforge and are not run.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import runpy
from pathlib import Path
from typing import Any

import pytest
from _generate_helpers import http_rule, judge_kind, judged_item, last_user
from _llm_helpers import FakeServer

from alignforge.errors import ConfigError
from alignforge.io import DataError
from alignforge.llm.base import ChatRequest
from alignforge.quality._synthetic import synthetic_dpo_rows

SEED_IMPORT = ("from training_metrics import", "from alignforge.training_metrics import")


def _write_jsonl(path: str | Path, rows: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def _passing_pairs(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` synthetic pairs that pass every row gate (chosen >= 9, rejected <= 6, gap >= 3)."""
    out: list[dict[str, Any]] = []
    for row in synthetic_dpo_rows(4 * n, seed=seed):
        m = row["metadata"]
        if (
            m["chosen_score"] >= 9.0
            and m["rejected_score"] <= 6.0
            and m["chosen_score"] - m["rejected_score"] >= 3
        ):
            out.append(row)
        if len(out) == n:
            return out
    raise AssertionError("not enough synthetic passing pairs")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each example runs in its own folder (the seeds use relative paths), with no API keys and no
    benchmark folder unless the test names one."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("ALIGNFORGE_BENCHMARK_DIR", raising=False)
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def test_training_metrics_exports_every_seed_name() -> None:
    import alignforge
    import alignforge.training_metrics as tm

    for name in tm.__all__:
        value = getattr(tm, name)
        assert callable(value), name
        if name in alignforge.__all__:
            assert getattr(alignforge, name) is value
    assert {
        "validate_dpo_pairs",
        "calculate_decontamination",
        "generate_dpo_pairs",
        "generate_rlvr_data",
        "assess_rlvr_verifiability",
        "enforce_gates",
        "check_quality_gates",
    } <= set(tm.__all__)
    with pytest.raises(AttributeError, match="no attribute 'validate_dpo_pair'"):
        tm.validate_dpo_pair  # noqa: B018


# --- seeds/000 "DPO Pair Generation Best Practices", §4 Quality Validation, Post-Generation -----------


def _seed_000_quality_validation() -> None:
    # fmt: off
    from alignforge.training_metrics import validate_dpo_pairs

    metrics = validate_dpo_pairs(
        dpo_path=Path("pairs.jsonl"),
        gap_threshold=3.0
    )

    # Strict enforcement
    assert metrics.avg_chosen >= 9.0
    assert metrics.avg_rejected <= 6.0
    assert metrics.avg_gap >= 3.0
    assert metrics.total_pairs >= 1000
    # fmt: on


def test_000_quality_validation() -> None:
    _write_jsonl("pairs.jsonl", synthetic_dpo_rows(1200, seed=1))  # the seed asks for >= 1000 pairs
    _seed_000_quality_validation()
    _write_jsonl("pairs.jsonl", synthetic_dpo_rows(999, seed=1))
    with pytest.raises(AssertionError, match="total_pairs"):
        _seed_000_quality_validation()
    weak = list(synthetic_dpo_rows(1200, seed=1))
    for row in weak:
        row["metadata"]["rejected_score"] = 8.0
    _write_jsonl("pairs.jsonl", weak)
    with pytest.raises(AssertionError, match="avg_rejected"):
        _seed_000_quality_validation()


# --- seeds/000 "DPO Pair Generation Best Practices", §5 Decontamination ----------------------------


def _seed_000_decontamination() -> None:
    # fmt: off
    from alignforge.training_metrics import calculate_decontamination

    decontam = calculate_decontamination(
        training_data=Path("pairs.jsonl"),
        eval_benchmarks=["truthfulqa", "hellaswag"]
    )

    assert decontam >= 0.9, "Contamination detected"
    # fmt: on


# HellaSwag's validation file in its original format (rowanz/hellaswag ``hellaswag_val.jsonl``);
# ../shared/benchmarks has no HellaSwag, so the test writes a few items of its own.
HELLASWAG_ITEMS = [
    {
        "ind": 24 + i,
        "activity_label": label,
        "ctx_a": ctx_a,
        "ctx_b": ctx_b,
        "ctx": f"{ctx_a} {ctx_b}",
        "split": "val",
        "split_type": "indomain",
        "endings": endings,
        "label": 1,
        "source_id": f"activitynet~v_seed{i}",
    }
    for i, (label, ctx_a, ctx_b, endings) in enumerate(
        [
            (
                "Roof shingle removal",
                "A man in a red helmet is kneeling on the slanted roof of a small wooden shed in the rain.",
                "he",
                ["eats a sandwich.", "pries the old shingles loose with a flat bar.", "sings.", "runs away."],
            ),
            (
                "Making a sandwich",
                "A woman spreads a thick layer of peanut butter across two slices of bread on a cutting board.",
                "she",
                ["flies a kite.", "presses the slices together and cuts them in half.", "sleeps.", "swims."],
            ),
            (
                "Washing a dog",
                "A boy lifts a muddy golden retriever into a plastic tub filled with warm soapy water outside.",
                "the boy",
                ["reads a book.", "scrubs the fur with a brush while the dog shakes.", "drives.", "cooks."],
            ),
        ]
    )
]


def _benchmark_dir(root: Path, benchmarks_dir: Path) -> Path:
    (root / "hellaswag").mkdir(parents=True)
    _write_jsonl(root / "hellaswag" / "hellaswag_val.jsonl", HELLASWAG_ITEMS)
    (root / "truthfulqa").symlink_to(benchmarks_dir / "truthfulqa", target_is_directory=True)
    return root


def _truthfulqa_questions(benchmarks_dir: Path, n: int) -> list[str]:
    import csv
    import io

    text = gzip.decompress((benchmarks_dir / "truthfulqa" / "TruthfulQA.csv.gz").read_bytes()).decode()
    return [r["Question"] for r in csv.DictReader(io.StringIO(text)) if len(r["Question"].split()) >= 10][:n]


def test_000_decontamination(tmp_path: Path, benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _benchmark_dir(tmp_path / "benchmarks", benchmarks_dir)
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(bench))
    clean = list(synthetic_dpo_rows(200, seed=2))
    _write_jsonl("pairs.jsonl", clean)
    _seed_000_decontamination()

    # 30 of 200 prompts copied from the HellaSwag file written above: the loader read it
    leaked = [dict(r) for r in clean]
    for i in range(30):
        leaked[i]["prompt"] = f"Continue the scene: {HELLASWAG_ITEMS[i % 3]['ctx']}"
    _write_jsonl("pairs.jsonl", leaked)
    with pytest.raises(AssertionError, match="Contamination detected"):
        _seed_000_decontamination()

    # 30 of 200 prompts are TruthfulQA questions, read through the symlinked original CSV
    leaked = [dict(r) for r in clean]
    for i, q in enumerate(_truthfulqa_questions(benchmarks_dir, 30)):
        leaked[i]["prompt"] = q
    _write_jsonl("pairs.jsonl", leaked)
    with pytest.raises(AssertionError, match="Contamination detected"):
        _seed_000_decontamination()


# --- seeds/000 "Integration with Training Workflows", DPO Workflow ------------------------------------


def _seed_000_dpo_workflow(generate_dpo_pairs: Any) -> None:
    """The seed's snippet; ``generate_dpo_pairs`` is alignforge's, bound to a backend by the caller."""
    from alignforge.training_metrics import validate_dpo_pairs

    # fmt: off
    # Stage 2: Preference Data Generation
    pairs = generate_dpo_pairs(
        input_file="sft.jsonl",
        output_file="dpo_pairs.jsonl",
        chosen_threshold=9.0,
        rejected_threshold=6.0,
        gap_threshold=3.0
    )

    # Quality gate
    metrics = validate_dpo_pairs(pairs)
    assert metrics.passes_thresholds()

    # Proceed to Stage 3: Model Initialization
    # fmt: on


def _write_sft(path: str, n: int) -> None:
    """An SFT file of ``n`` conversations (the flaw strategy keeps each answer as the chosen side)."""
    _write_jsonl(
        path,
        (
            {
                "id": f"sft{i}",
                "messages": [
                    {
                        "role": "user",
                        "content": f"Request {i}: how should a new team plan sprint number {i}?",
                    },
                    {
                        "role": "assistant",
                        "content": f"A sound plan for sprint {i}: agree the goal, size the work.",
                    },
                ],
            }
            for i in range(n)
        ),
    )


def _scripted(chosen: float, rejected: float) -> Any:
    """A loopback judge that scores good answers ``chosen`` and rewritten (flawed) ones ``rejected``."""

    def rule(req: ChatRequest) -> str:
        kind = judge_kind(req)
        if kind == "score":
            body = judged_item(req).split("RESPONSE:", 1)[1]
            return f"Score: {rejected if 'FLAWED' in body else chosen}\nRationale: scripted."
        if kind == "flaw":
            return "Flaw: yes\nFluent: yes\nRationale: the planned flaw is there."
        if "Here is a question and an answer." in last_user(req):
            return "Here is the rewritten answer:\nFLAWED plan that sounds fine but skips sizing."
        return f"A careful answer to: {last_user(req)[:40]}"

    return rule


def _on(srv: FakeServer) -> Any:
    from alignforge.training_metrics import generate_dpo_pairs

    return functools.partial(
        generate_dpo_pairs,
        model="openai:scripted",
        llm_options={"base_url": srv.base_url, "concurrency": 32},
        progress=False,
    )


def test_000_dpo_workflow_clear_signal_passes(benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge scores 9.5 and 3 on 1000 prompts: every pair passes and so does the seed's gate."""
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))
    _write_sft("sft.jsonl", 1000)
    srv = FakeServer(reply=http_rule(_scripted(9.5, 3.0))).start()
    try:
        _seed_000_dpo_workflow(_on(srv))
    finally:
        srv.stop()
    from alignforge.training_metrics import validate_dpo_pairs

    m = validate_dpo_pairs("dpo_pairs.jsonl")
    assert (m.total_pairs, m.avg_chosen, m.avg_rejected, m.decontamination) == (1000, 9.5, 3.0, 1.0)


def test_000_dpo_workflow_weak_signal_fails_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge scores 8 and 7.5: the generator drops every pair with its reasons; the gate fails."""
    _write_sft("sft.jsonl", 4)
    weak = _scripted(8.0, 7.5)

    def rule(req: ChatRequest) -> str:  # one prompt of four gets a clear preference
        if judge_kind(req) == "score" and "Request 0:" in judged_item(req):
            return _scripted(9.5, 3.0)(req)
        return weak(req)

    srv = FakeServer(reply=http_rule(rule)).start()
    try:
        with pytest.raises(AssertionError, match="passes_thresholds"):
            _seed_000_dpo_workflow(_on(srv))
    finally:
        srv.stop()
    from alignforge.training_metrics import validate_dpo_pairs

    m = validate_dpo_pairs("dpo_pairs.jsonl")
    assert m.total_pairs == 1 and not m.passes_thresholds()
    assert "total_pairs: 1 (needs >= 1000)" in m.failures()
    dropped = [json.loads(x) for x in open("dpo_pairs.dropped.jsonl")]
    assert len(dropped) == 9  # 3 weak prompts x max_rounds 3
    reasons = {r["reason"] for row in dropped for r in row["metadata"]["drop_reasons"]}
    assert reasons == {
        "chosen_score_below_threshold",
        "rejected_score_above_threshold",
        "gap_below_threshold",
    }


def test_generate_summaries_are_their_output_paths(tmp_path: Path) -> None:
    """What the seeds pass on: ``pairs`` / ``tasks`` are read as their output file."""
    from alignforge.training_metrics import generate_dpo_pairs, generate_rlvr_data, validate_dpo_pairs

    _write_sft("sft.jsonl", 2)
    plan = generate_dpo_pairs("sft.jsonl", "dpo_pairs.jsonl", model="openai:gpt-4o-mini", dry_run=True)
    assert plan.output == Path("dpo_pairs.jsonl") and os.fspath(plan) == "dpo_pairs.jsonl"
    with pytest.raises(FileNotFoundError, match="dpo_pairs.jsonl"):  # a dry run wrote nothing to read
        validate_dpo_pairs(plan)
    _write_jsonl("tasks.jsonl", [{"generator": "percent", "count": 2}])
    tasks = generate_rlvr_data("tasks.jsonl", "rlvr.jsonl", domain="math")
    assert tasks.output == Path("rlvr.jsonl") and Path(tasks).read_text().count("\n") == tasks.written == 2


@pytest.mark.slow
def test_000_dpo_workflow_as_written_on_the_embedded_model() -> None:
    """The snippet exactly as written: the default backend is the embedded SmolLM2-135M. Its pairs
    do not reach the thresholds, so the gate fails, and the dropped pairs say why."""
    from alignforge.training_metrics import generate_dpo_pairs

    _write_sft("sft.jsonl", 1)
    with pytest.raises((AssertionError, DataError)) as err:
        _seed_000_dpo_workflow(generate_dpo_pairs)
    from alignforge.training_metrics import validate_dpo_pairs

    def rows(path: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in open(path)] if Path(path).exists() else []

    passed, dropped = rows("dpo_pairs.jsonl"), rows("dpo_pairs.dropped.jsonl")
    assert passed or dropped
    assert all(row["metadata"]["drop_reasons"] for row in dropped)
    if isinstance(err.value, DataError):  # no pair passed: the pairs file is empty, and says so
        assert not passed and "dpo_pairs.jsonl" in str(err.value) and "empty" in str(err.value)
    else:  # a pair passed, but one pair is not a data set
        assert "total_pairs: 1 (needs >= 1000)" in validate_dpo_pairs("dpo_pairs.jsonl").failures()


# --- seeds/000 "Integration with Training Workflows", RLVR Workflow -----------------------------------


def _seed_000_rlvr_workflow() -> float:
    from alignforge.training_metrics import assess_rlvr_verifiability, generate_rlvr_data

    # fmt: off
    # Stage 4: Verifiable Data Generation
    tasks = generate_rlvr_data(
        input_file="tasks.jsonl",
        output_file="rlvr.jsonl",
        domain="math",
        verification_type="math"
    )

    # Quality gate
    verifiable = assess_rlvr_verifiability(tasks)
    assert verifiable >= 0.8

    # Proceed to Stage 5: RLVR Optimization
    # fmt: on
    return verifiable


def test_000_rlvr_workflow() -> None:
    _write_jsonl(
        "tasks.jsonl",
        [
            {"generator": "percent", "count": 3, "seed": 1},
            {"generator": "discount", "count": 3, "seed": 1},
            {"prompt": "What is 15% of 80? Give the final answer as a number.", "answer": "12"},
        ],
    )
    verifiable = _seed_000_rlvr_workflow()
    assert 0.8 <= verifiable <= 1.0
    assert len(Path("rlvr.jsonl").read_text().splitlines()) == 7


# --- seeds/001 "Training Monitoring Script (Python)" and its dpo_config.yaml --------------------------

SEED_001_DPO_CONFIG = """\
# dpo_config.yaml
model:
  base_model: "meta-llama/Llama-2-7b-hf"  # Path or HF model ID
  reference_model: "checkpoints/sft_baseline"  # Frozen reference
  policy_model: "checkpoints/sft_baseline"  # Initialized from reference

data:
  train_file: "data/preference_pairs_train.jsonl"
  validation_file: "data/preference_pairs_val.jsonl"
  max_prompt_length: 512
  max_response_length: 1024

training:
  learning_rate: 1.0e-6  # Conservative for stability
  beta: 0.1  # KL penalty strength (higher = closer to reference)
  batch_size: 4  # Per device
  gradient_accumulation_steps: 4  # Effective batch = 16
  max_steps: 1000
  warmup_steps: 100
  logging_steps: 10
  eval_steps: 100
  save_steps: 100

optimization:
  optimizer: "adamw"
  weight_decay: 0.01
  max_grad_norm: 1.0
  lr_scheduler: "cosine"

constraints:
  kl_target: 0.1  # Maximum KL divergence
  preference_gap_target: 0.15  # Minimum preference gap

compute:
  fp16: true  # Mixed precision training
  device: "cuda"
  num_devices: 8
  gradient_checkpointing: true  # Memory optimization

logging:
  wandb_project: "dpo-alignment"
  wandb_run_name: "dpo-exp-001"
  output_dir: "outputs/dpo-exp-001"
"""

SEED_001_MONITOR = '''\
# monitor_training.py
from pathlib import Path
from training_metrics import validate_dpo_pairs

def check_quality_gates(checkpoint_dir: Path, config: dict) -> dict:
    """Check if quality thresholds are met during training.

    Args:
        checkpoint_dir: Path to checkpoint directory
        config: Training configuration dict

    Returns:
        Dict with quality gate results
    """
    results = {
        "kl_divergence": None,
        "preference_gap": None,
        "gates_passed": False,
    }

    # Load metrics from checkpoint
    metrics_file = checkpoint_dir / "training_metrics.json"
    if not metrics_file.exists():
        return results

    import json
    with open(metrics_file) as f:
        metrics = json.load(f)

    # Check KL divergence
    kl = metrics.get("kl_divergence", float("inf"))
    kl_threshold = config["constraints"]["kl_target"]
    results["kl_divergence"] = kl

    # Check preference gap
    val_file = Path(config["data"]["validation_file"])
    dpo_metrics = validate_dpo_pairs(
        dpo_path=val_file,
        gap_threshold=config["constraints"]["preference_gap_target"]
    )
    results["preference_gap"] = dpo_metrics.avg_gap

    # Determine if gates passed
    results["gates_passed"] = (
        kl <= kl_threshold and
        dpo_metrics.avg_gap >= config["constraints"]["preference_gap_target"]
    )

    return results

# Example usage:
if __name__ == "__main__":
    import yaml

    config_path = Path("dpo_config.yaml")
    with open(config_path) as f:
        config = yaml.safe_load(f)

    checkpoint_dir = Path("outputs/dpo-exp-001/checkpoint-1000")
    results = check_quality_gates(checkpoint_dir, config)

    print(f"KL Divergence: {results['kl_divergence']:.4f} (target ≤0.1)")
    print(f"Preference Gap: {results['preference_gap']:.4f} (target ≥0.15)")
    print(f"Gates Passed: {'✅' if results['gates_passed'] else '❌'}")
'''


def _run_seed_script(name: str, text: str, *, main: bool = True) -> dict[str, Any]:
    """Write the seed's script with its import changed, and run it (as ``__main__`` when ``main``)."""
    assert text.count(SEED_IMPORT[0]) == 1
    Path(name).write_text(text.replace(*SEED_IMPORT))
    return runpy.run_path(name, run_name="__main__" if main else name.removesuffix(".py"))


def _checkpoint(kl: float, margin: float) -> Path:
    """A checkpoint folder with the training_metrics.json the train recipes write (same writer)."""
    from alignforge.train.monitors import write_metrics

    ckpt = Path("outputs/dpo-exp-001/checkpoint-1000")
    metrics = {
        "kl_divergence": kl,
        "kl_divergence_initial": 0.0,
        "preference_gap": margin,
        "reward_margin": margin,
        "preference_accuracy": 0.75,
    }
    write_metrics(ckpt, metrics, stage="dpo", step=1000, warnings=[], gates=[], gates_passed=True)
    return ckpt


def test_001_monitoring_script(capsys: pytest.CaptureFixture[str]) -> None:
    Path("dpo_config.yaml").write_text(SEED_001_DPO_CONFIG)
    _write_jsonl("data/preference_pairs_val.jsonl", synthetic_dpo_rows(200, seed=3))
    ckpt = _checkpoint(kl=0.06, margin=0.4)
    # The seed holds the 0-10 judge gap to its 0.15 (a 0-1 figure): alignforge warns, and it passes.
    with pytest.warns(UserWarning, match="gap_threshold=0.15 on the 0-10 judge scale"):
        _run_seed_script("monitor_training.py", SEED_001_MONITOR)
    out = capsys.readouterr().out
    assert "KL Divergence: 0.0600 (target ≤0.1)" in out
    assert "Gates Passed: ✅" in out

    _checkpoint(kl=0.3, margin=0.4)  # KL over the seed's kl_target
    with pytest.warns(UserWarning):
        _run_seed_script("monitor_training.py", SEED_001_MONITOR)
    out = capsys.readouterr().out
    assert "KL Divergence: 0.3000" in out and "Gates Passed: ❌" in out

    # alignforge's own check_quality_gates on the same folder and config also holds the margin,
    # the implicit reward margin the recipes write (the seed's 0.15 is in those nats).
    import yaml

    from alignforge.training_metrics import check_quality_gates

    config = yaml.safe_load(SEED_001_DPO_CONFIG)
    assert check_quality_gates(ckpt, config)["gates_passed"] is False
    _checkpoint(kl=0.06, margin=0.4)
    assert check_quality_gates(ckpt, config) == {
        "kl_divergence": 0.06,
        "preference_gap": 0.4,
        "gates_passed": True,
        "reasons": [],
    }
    _checkpoint(kl=0.06, margin=0.1)
    res = check_quality_gates(ckpt, config)
    assert res["gates_passed"] is False and res["reasons"] == ["reward margin 0.1000 < 0.15"]


# --- seeds/001 "Quality Gate Enforcement Script" -------------------------------------------------------

SEED_001_ENFORCE = '''\
# enforce_quality_gates.py
from pathlib import Path
from training_metrics import validate_dpo_pairs
import sys

def enforce_gates(
    stage: str,
    dpo_pairs_path: Path = None,
    kl_divergence: float = None,
    capability_retention: float = None,
) -> bool:
    """Enforce quality gates for DPO workflow stages.

    Args:
        stage: Stage name (e.g., "preference_data", "dpo_training", "evaluation")
        dpo_pairs_path: Path to preference pairs (for Stage 2)
        kl_divergence: Computed KL divergence (for Stage 5)
        capability_retention: Retention percentage (for Stage 7)

    Returns:
        True if gates passed, False otherwise
    """
    print(f"\\n{'='*60}")
    print(f"Quality Gate Enforcement: {stage}")
    print(f"{'='*60}\\n")

    if stage == "preference_data":
        if dpo_pairs_path is None:
            print("❌ Error: dpo_pairs_path required for preference_data stage")
            return False

        MIN_GAP = 3/20  # 0.15 preference gap
        metrics = validate_dpo_pairs(dpo_pairs_path, gap_threshold=MIN_GAP)

        print(f"Preference Gap: {metrics.avg_gap:.4f} (target ≥0.15)")
        print(f"Pair Count: {metrics.total_pairs} (target ≥1000)")
        print(f"Decontamination: {metrics.decontamination:.4f} (target ≥0.9)")

        gates_passed = (
            metrics.avg_gap >= MIN_GAP and
            metrics.total_pairs >= 1000 and
            metrics.decontamination >= 0.9
        )

    elif stage == "dpo_training":
        if kl_divergence is None:
            print("❌ Error: kl_divergence required for dpo_training stage")
            return False

        print(f"KL Divergence: {kl_divergence:.4f} (target ≤0.1)")
        gates_passed = kl_divergence <= 0.1

    elif stage == "evaluation":
        if capability_retention is None:
            print("❌ Error: capability_retention required for evaluation stage")
            return False

        print(f"Capability Retention: {capability_retention:.1f}% (target ≥95%)")
        gates_passed = capability_retention >= 95.0

    else:
        print(f"❌ Error: Unknown stage '{stage}'")
        return False

    print(f"\\n{'='*60}")
    print(f"Result: {'✅ PASSED' if gates_passed else '❌ FAILED'}")
    print(f"{'='*60}\\n")

    return gates_passed

# Example usage:
if __name__ == "__main__":
    # Stage 2: Preference Data
    passed = enforce_gates(
        stage="preference_data",
        dpo_pairs_path=Path("data/preference_pairs.jsonl")
    )
    if not passed:
        sys.exit(1)

    # Stage 5: DPO Training
    passed = enforce_gates(
        stage="dpo_training",
        kl_divergence=0.08
    )
    if not passed:
        sys.exit(1)

    # Stage 7: Evaluation
    passed = enforce_gates(
        stage="evaluation",
        capability_retention=96.5
    )
    if not passed:
        sys.exit(1)
'''

# The same example usage with alignforge's enforce_gates in place of the script's own definition.
SEED_001_ENFORCE_WITH_ALIGNFORGE = (
    "from training_metrics import enforce_gates\n"
    "import sys\nfrom pathlib import Path\n\n" + SEED_001_ENFORCE.split("# Example usage:\n", 1)[1]
)


def test_001_enforce_gates_script(
    capsys: pytest.CaptureFixture[str], benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))  # decontamination is scanned
    _write_jsonl("data/preference_pairs.jsonl", _passing_pairs(1200))
    with pytest.warns(UserWarning, match="0-1"):  # the seed's MIN_GAP = 3/20 against the 0-10 gap
        _run_seed_script("enforce_quality_gates.py", SEED_001_ENFORCE)  # no SystemExit: all three pass
    out = capsys.readouterr().out
    assert out.count("Result: ✅ PASSED") == 3 and "Pair Count: 1200" in out

    _write_jsonl("data/preference_pairs.jsonl", _passing_pairs(500))
    with pytest.warns(UserWarning), pytest.raises(SystemExit) as stop:
        _run_seed_script("enforce_quality_gates.py", SEED_001_ENFORCE)
    assert stop.value.code == 1 and "Result: ❌ FAILED" in capsys.readouterr().out


def test_001_enforce_gates_script_with_alignforge_enforce_gates(
    capsys: pytest.CaptureFixture[str], benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))
    monkeypatch.setenv("COLUMNS", "240")  # the gate tables unwrapped
    _write_jsonl("data/preference_pairs.jsonl", _passing_pairs(1200))
    _run_seed_script("enforce_quality_gates.py", SEED_001_ENFORCE_WITH_ALIGNFORGE)  # no SystemExit
    out = capsys.readouterr().out
    for stage in ("preference_data", "dpo_training", "evaluation"):
        assert f"Quality gates: {stage}" in out
    stage5 = out.split("Quality gates: dpo_training", 1)[1].split("Quality gates: evaluation", 1)[0]
    assert "reward_margin" in stage5 and "not given: not held here" in stage5  # check_quality_gates' job

    _write_jsonl("data/preference_pairs.jsonl", _passing_pairs(500))  # total_pairs >= 1000 fails
    with pytest.raises(SystemExit) as stop:
        _run_seed_script("enforce_quality_gates.py", SEED_001_ENFORCE_WITH_ALIGNFORGE)
    assert stop.value.code == 1


def test_enforce_gates_reads_the_seeds_figures() -> None:
    from alignforge.training_metrics import enforce_gates

    def gate(stage: str, **kw: Any) -> bool:
        return enforce_gates(stage, verbose=False, **kw)

    # Stage 5: the seed's KL alone; a margin given is held too
    assert gate("dpo_training", kl_divergence=0.08)
    assert not gate("dpo_training", kl_divergence=0.12)
    assert gate("dpo_training", kl_divergence=0.08, reward_margin=0.2)
    assert not gate("dpo_training", kl_divergence=0.08, reward_margin=0.05)
    assert not gate("dpo_training", kl_divergence=0.08, figures={"reward_margin": 0.05})
    assert gate("dpo_training", kl_divergence=0.08, figures={"preference_accuracy": 0.4})  # on_fail: flag
    # Stage 7: the seed's percent, or the ratio `alignforge bench retention` writes
    assert gate("evaluation", capability_retention=96.5)
    assert not gate("evaluation", capability_retention=94.0)
    assert gate("evaluation", capability_retention=0.965)
    assert not gate("evaluation", capability_retention=0.94)
    assert gate("evaluation", capability_retention=1.02)  # tuned beat the baseline on every suite
    assert not gate("evaluation", capability_retention=96.5, figures={"win_rate": 0.4})
    # wrong calls are errors, not a quiet pass or fail
    with pytest.raises(ValueError, match="kl_divergence is required for the dpo_training stage"):
        gate("dpo_training", reward_margin=0.3)
    with pytest.raises(ValueError, match="capability_retention is required"):
        gate("evaluation")
    with pytest.raises(ValueError, match="no gate for kl_divergance; its gates read kl_divergence"):
        gate("dpo_training", kl_divergence=0.08, figures={"kl_divergance": 0.01})
    with pytest.raises(ValueError, match="stage 'evaluation' has no gate for kl_divergence"):
        gate("evaluation", capability_retention=96.5, kl_divergence=0.08)
    with pytest.raises(ConfigError, match="no stage 'dpo_train'"):
        gate("dpo_train", kl_divergence=0.08)
    # stages beyond the seed's three still fail closed
    assert not gate("reward_model", figures={"rm_train_accuracy": 0.8, "rm_val_accuracy": 0.75})
    assert gate(
        "reward_model", figures={"rm_train_accuracy": 0.8, "rm_val_accuracy": 0.75, "rm_train_val_gap": 0.05}
    )

"""The seeds' YAML files run as written: 001's dpo_config.yaml, 002's validation / production runs and
benchmark.yaml (issue #11 §3). Fast tests check loading and the errors; ``slow`` ones run each file
through the CLI with the ``--set`` fixes its error names, on the embedded model and the real sandbox."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from pathlib import Path

import pytest
from _cli import run_cli
from _train_helpers import DATA, EXAMPLES, build_tiny_model

from alignforge.errors import ConfigError
from alignforge.io import DataError
from alignforge.train import load_config, trl_args
from alignforge.train._data import cut_prompts, load_split

SEEDS = EXAMPLES / "seeds"
SHARED_SEEDS = EXAMPLES.parents[1] / "shared" / "seeds"
DPO_FIXES = [
    "--set model.base_model=embedded",
    "--set model.policy_model=embedded",
    "--set model.reference_model=embedded",
    "--set compute.device=cpu",
    "--set compute.fp16=false",
]


def _seed_block(prefix: str, first_line: str) -> str:
    text = next(SHARED_SEEDS.glob(f"{prefix}_*.txt")).read_text()
    start = text.index(first_line + "\n")
    return text[start : text.index("```", start)]


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("dpo_config", "001"), ("validation_run", "002"), ("production_run", "002"), ("benchmark", "002")],
)
def test_example_seed_files_are_the_seeds_verbatim(name: str, prefix: str) -> None:
    first, _, rest = (SEEDS / f"{name}.yaml").read_text().partition("\n")
    assert first.startswith(f"# From ../shared/seeds/{prefix}_")
    header = "# dpo_config.yaml" if name == "dpo_config" else f"# configs/{name}.yaml"
    assert rest == _seed_block(prefix, header)


def test_dpo_seed_loads_as_written_with_its_split_length_translated() -> None:
    cfg = load_config(SEEDS / "dpo_config.yaml", "dpo")
    assert cfg.data["max_length"] == 512 + 1024
    assert cfg.data["max_prompt_length"] == 512
    assert cfg.notes == [
        "data.max_prompt_length 512 + data.max_response_length 1024: alignforge cuts each prompt to its "
        "last 512 tokens itself and sets TRL's max_length = 1536 (TRL 1.16's DPOConfig has neither key)"
    ]
    runnable = load_config(
        SEEDS / "dpo_config.yaml", "dpo", overrides={"compute.device": "cpu", "compute.fp16": False}
    )
    args = trl_args(runnable)
    assert args.max_length == 1536 and args.beta == 0.1 and args.gradient_accumulation_steps == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_response_length": 64}, r"data\.max_response_length needs data\.max_prompt_length"),
        (
            {"max_prompt_length": 32, "max_response_length": 64, "max_length": 128},
            r"data\.max_length 128 contradicts data\.max_prompt_length \+ data\.max_response_length = 96",
        ),
        ({"max_prompt_length": 2048}, r"max_prompt_length 2048 leaves no room .* data\.max_length 1024"),
        ({"max_prompt_length": 0, "max_response_length": 8}, r"data\.max_prompt_length must be >= 1"),
    ],
)
def test_split_length_errors_name_the_keys(tmp_path: Path, data: dict, message: str) -> None:
    raw = {
        "model": {"base_model": "m"},
        "data": {"train_file": "a.jsonl", **data},
        "logging": {"output_dir": "o"},
    }
    from alignforge.train import parse_config

    with pytest.raises(ConfigError, match=message):
        parse_config(raw, "dpo", source="x.yaml")


def test_max_prompt_length_is_a_dpo_key_only() -> None:
    from alignforge.train import parse_config

    raw = {"model": {"base_model": "m"}, "data": {"train_file": "a", "max_prompt_length": 8}}
    with pytest.raises(ConfigError, match=r"data\.max_prompt_length is not a `train sft` setting"):
        parse_config({**raw, "logging": {"output_dir": "o"}}, "sft")


def test_dpo_seed_fails_before_any_load_with_one_line_naming_every_set_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = run_cli(capsys, "train", "dpo", "--config", SEEDS / "dpo_config.yaml")
    assert r.code == 2
    (line,) = r.err.strip().splitlines()
    assert (
        "'meta-llama/Llama-2-7b-hf'" in line
        and "compute.device is cuda but torch sees no CUDA device" in line
    )
    assert line.endswith(
        "Fix: "
        + " ".join(
            [*DPO_FIXES[:3], "--set data.train_file=FILE", "--set data.validation_file=FILE", *DPO_FIXES[3:]]
        )
    )


def test_a_tracker_that_is_not_installed_is_one_note_not_a_crash() -> None:
    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here: the run reports to it")
    from alignforge.train import check_runnable

    overrides = {k.removeprefix("--set ").split("=")[0]: "embedded" for k in DPO_FIXES[:3]}
    overrides.update({"compute.device": "cpu", "compute.fp16": False})
    cfg = load_config(SEEDS / "dpo_config.yaml", "dpo", overrides=overrides)
    assert "wandb" in cfg.logging["report_to"]
    with pytest.raises(ConfigError, match=r"data\.train_file .* not found"):
        check_runnable(cfg)  # the seed's data paths do not exist here
    cfg.data.update(train_file=str(DATA / "pairs_train.jsonl"), validation_file=str(DATA / "pairs_val.jsonl"))
    check_runnable(cfg)
    assert cfg.logging["report_to"] == ["tensorboard"]
    assert cfg.notes[-1].startswith("logging.wandb_project 'dpo-alignment': wandb is not installed")


def test_002_run_sections_map_onto_the_raft_recipe() -> None:
    cfg = load_config(SEEDS / "validation_run.yaml", "raft", overrides={"logging.output_dir": "o"})
    assert (
        cfg.model["base_model"] == "Qwen/Qwen2.5-Coder-3B" and cfg.spelled["model.base_model"] == "model.name"
    )
    assert cfg.data["train_file"].endswith("data/rlvr/humaneval_validation.jsonl")
    assert cfg.data["tests"].endswith("data/rlvr/humaneval_full.jsonl")
    assert (cfg.raft["cycles"], cfg.raft["samples_per_prompt"]) == (3, 4)
    assert cfg.rewards["functions"] == ["code_tests"] and cfg.rewards["timeout_s"] == 30
    assert cfg.verifier["dataset_type"] == "humaneval"
    prod = load_config(SEEDS / "production_run.yaml", "raft", overrides={"model.base_model": "embedded"})
    assert prod.output_dir == Path("models/production_raft") and prod.logging["save_every_cycle"] is True
    assert prod.model["base_model"] == "embedded"  # --set model.base_model replaces the file's model.name
    assert (prod.raft["cycles"], prod.raft["samples_per_prompt"], prod.verifier["dataset_type"]) == (
        5,
        8,
        "mbpp",
    )


def test_validation_run_without_output_dir_gets_one_named_after_the_file() -> None:
    """002's validation_run.yaml names no output folder: it runs as written into outputs/validation_run."""
    cfg = load_config(SEEDS / "validation_run.yaml", "raft")
    assert cfg.output_dir == Path("outputs/validation_run")
    assert any("logging.output_dir is not given: writing to outputs/validation_run" in n for n in cfg.notes)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"name": "a", "base_model": "b"}}, "model.name and model.base_model are the same setting"),
        (
            {"verifier": {"type": "rlvr_pytest"}, "rewards": {"functions": ["math"]}},
            "contradicts rewards.functions",
        ),
        (
            {"verifier": {"type": "math", "dataset_type": "mbpp"}},
            "verifier.dataset_type mbpp needs code tests",
        ),
        ({"verifier": {"type": "pytest"}}, "verifier.type: 'pytest' is not one of"),
    ],
)
def test_002_keys_that_contradict_fail_with_one_line(raw: dict, message: str) -> None:
    from alignforge.train import parse_config

    base = {"model": {"base_model": "m"}, "data": {"train_file": "t.jsonl"}, "logging": {"output_dir": "o"}}
    for section, body in raw.items():
        base[section] = {**base.get(section, {}), **body}
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(base, "raft", source="x.yaml")


def _humaneval(folder: Path, n: int) -> tuple[Path, Path]:
    """The first ``n`` HumanEval tasks in `prepare humaneval`'s prompts / full file shapes."""
    from alignforge.io import write_jsonl

    src = EXAMPLES.parents[1] / "shared" / "benchmarks" / "humaneval" / "HumanEval.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(src, "rt")][:n]
    folder.mkdir(parents=True, exist_ok=True)
    prompts, full = folder / "humaneval_prompts.jsonl", folder / "humaneval_full.jsonl"
    write_jsonl(prompts, [{k: r[k] for k in ("task_id", "prompt", "entry_point")} for r in rows])
    write_jsonl(
        full,
        [
            {
                "task_id": r["task_id"],
                "prompt": r["prompt"],
                "entry_point": r["entry_point"],
                "tests": r["test"],
                "test_style": "humaneval",
                "domain": "code",
                "solution": r["canonical_solution"],
            }
            for r in rows
        ],
    )
    return prompts, full


def test_prompts_take_their_tests_from_the_full_file_by_task_id(tmp_path: Path, benchmarks_dir: Path) -> None:
    prompts, full = _humaneval(tmp_path, 3)
    overrides = {
        "model.name": "embedded",
        "data.prompts": str(prompts),
        "data.tests": str(full),
        "logging.output_dir": "o",
    }
    cfg = load_config(SEEDS / "validation_run.yaml", "raft", overrides=overrides)
    data = load_split(cfg, None, stage="raft")
    rows = data.train + data.validation
    assert sorted(r["task_id"] for r in rows) == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert all(r["tests"].lstrip().startswith(("METADATA", "def check")) and "entry_point" in r for r in rows)
    assert data.report["tests_file"] == str(full)

    lines = full.read_text().splitlines()
    full.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # HumanEval/1 loses its tests
    with pytest.raises(
        DataError, match=re.escape(f"{prompts}:2: field 'task_id': 'HumanEval/1' has no row in {full}")
    ):
        load_split(cfg, None, stage="raft")
    cfg = load_config(
        SEEDS / "production_run.yaml",
        "raft",
        overrides={**overrides, "data.tests": str(tmp_path / "x.jsonl")},
    )
    _humaneval(tmp_path / "y", 3)[1].rename(tmp_path / "x.jsonl")
    with pytest.raises(
        DataError,
        match=r":1: field 'tests': verifier\.dataset_type is mbpp but task 'HumanEval/0' has humaneval tests",
    ):
        load_split(cfg, None, stage="raft")


def test_prompt_cut_keeps_the_end_of_text_and_chat_prompts() -> None:
    from transformers import AutoTokenizer

    from alignforge.models import embedded_checkpoint
    from alignforge.train._data import DataSplit

    tok = AutoTokenizer.from_pretrained(embedded_checkpoint())
    long_text = " ".join(f"word{i}" for i in range(60)) + " What is 2 + 2?"
    chat = [
        {"role": "user", "content": "background " * 40},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": long_text},
    ]
    data = DataSplit([{"prompt": long_text}, {"prompt": "short"}], [], {})
    cut_prompts(data, tok, 24)
    text = data.train[0]["prompt"]
    assert text.endswith("What is 2 + 2?") and len(tok(text, add_special_tokens=False)["input_ids"]) <= 24
    assert data.train[1]["prompt"] == "short"
    assert data.report == {"max_prompt_length": 24, "prompts_cut": 1}
    # A chat prompt loses its earliest messages first; the template's own tokens (SmolLM2 adds a
    # system prompt) count towards the limit.
    data = DataSplit([], [{"prompt": chat}], {})
    cut_prompts(data, tok, 60)
    msgs = data.validation[0]["prompt"]
    rendered = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)
    assert (
        len(rendered["input_ids"]) <= 60 and len(msgs) == 1 and msgs[0]["content"].endswith("What is 2 + 2?")
    )
    assert chat[0]["content"].startswith("background")  # the rows' own lists are not changed in place
    with pytest.raises(ConfigError, match="the chat template alone is longer"):
        cut_prompts(DataSplit([{"prompt": chat}], [], {}), tok, 8)


def test_benchmark_seed_lists_every_missing_checkpoint_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    r = run_cli(capsys, "bench", "checkpoints", "--config", SEEDS / "benchmark.yaml", "--out", tmp_path / "b")
    assert r.code == 2
    (line,) = r.err.strip().splitlines()
    assert (
        "model.checkpoints: 5 of 5 not found: models/base, models/sft, models/production_raft/cycle_1, "
        in line
    )
    assert not (tmp_path / "b").exists()
    r = run_cli(
        capsys,
        "bench",
        "checkpoints",
        "--config",
        SEEDS / "benchmark.yaml",
        "--out",
        tmp_path / "b",
        "--set",
        "model.checkpoints=[local]",
        "--set",
        "benchmark.k_values=[1, 20]",
    )
    assert r.code == 2 and "benchmark.k_values [1, 20] needs samples_per_problem >= 20 (got 10)" in r.err


@pytest.mark.slow
def test_dpo_seed_trains_with_the_fixes_its_error_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # the run must write nothing where it is started (TensorBoard once wrote ./runs)
    sets = [s.removeprefix("--set ") for s in DPO_FIXES] + [
        f"data.train_file={DATA / 'pairs_train.jsonl'}",
        f"data.validation_file={DATA / 'pairs_val.jsonl'}",
        "data.max_prompt_length=6",  # short enough that the example prompts get cut
        "data.max_response_length=24",
        "data.max_rows=4",
        "training.max_steps=1",
        # the seed's 1e-6 with 100 warm-up steps moves no weight in one step (1e-8): a stage that
        # trained nothing is not finished, so the one step here gets a rate that changes weights
        "training.learning_rate=0.0001",
        "training.warmup_steps=0",
        "training.batch_size=2",
        "training.gradient_accumulation_steps=1",
        "monitors.kl_prompts=1",
        "monitors.kl_max_new_tokens=4",
        "constraints.on_fail=flag",
        f"logging.output_dir={out}",
    ]
    args = [a for s in sets for a in ("--set", s)]
    r = run_cli(capsys, "train", "dpo", "--config", SEEDS / "dpo_config.yaml", *args)
    assert r.code == 0, r.err
    assert (
        "note: data.max_prompt_length 6 + data.max_response_length 24: alignforge cuts each prompt" in r.err
    )
    card = json.loads((out / "run_card.json").read_text())
    assert card["config"]["data"]["max_length"] == 30 and card["data"]["prompts_cut"] > 0
    assert json.loads((out / "training_metrics.json").read_text())["step"] == 1
    assert (out / "model.safetensors").exists()
    assert list(cwd.iterdir()) == [] and list((out / "runs").iterdir())  # TensorBoard under output_dir


@pytest.mark.slow
def test_validation_run_does_a_raft_cycle_in_the_real_sandbox(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, benchmarks_dir: Path
) -> None:
    prompts, full = _humaneval(tmp_path / "rlvr", 3)
    out = tmp_path / "raft"
    sets = [
        "model.name=embedded",
        f"data.prompts={prompts}",
        f"data.tests={full}",
        "raft.cycles=1",
        "raft.samples_per_prompt=2",
        "raft.max_new_tokens=16",
        "raft.eval_samples=2",
        "raft.pass_k=[1, 2]",
        f"checkpointing.output_dir={out}",
    ]
    r = run_cli(
        capsys,
        "train",
        "raft",
        "--config",
        SEEDS / "validation_run.yaml",
        *[a for s in sets for a in ("--set", s)],
    )
    # The 135M model passes no HumanEval task in 16 tokens: the cycle keeps nothing, so nothing is
    # trained and the stage is not recorded finished (exit 1, the run card and cycle are kept).
    assert r.code == 1, r.err
    assert "note: verifier.type rlvr_pytest" in r.err
    assert "not recorded as finished: no cycle kept a passing sample" in r.err
    cycle = out / "cycle_1"
    assert (cycle / ".complete").exists() and (cycle / "model.safetensors").exists()
    kept = [json.loads(x) for x in (cycle / "samples.jsonl").read_text().splitlines()]
    dropped = [json.loads(x) for x in (cycle / "samples.dropped.jsonl").read_text().splitlines()]
    samples = kept + dropped
    assert len(samples) == 4 and {s["task_id"] for s in samples} <= {
        "HumanEval/0",
        "HumanEval/1",
        "HumanEval/2",
    }
    assert all(s["passed"] is True for s in kept)
    assert all(
        s["passed"] is False and s["metadata"]["drop_reasons"][0]["reason"] == "failed_verification"
        for s in dropped
    )
    card = json.loads((out / "run_card.json").read_text())
    assert card["data"]["tests_file"] == str(full) and card["config"]["rewards"]["timeout_s"] == 30


@pytest.mark.slow
def test_benchmark_seed_scores_every_checkpoint_in_one_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, benchmarks_dir: Path
) -> None:
    tiny = build_tiny_model(tmp_path / "tiny")
    _prompts, full = _humaneval(tmp_path, 2)
    sets = [
        f"model.checkpoints=[local, {tiny}]",
        f"data.prompts={full}",
        "benchmark.samples_per_problem=2",
        "benchmark.k_values=[1, 2]",
        "benchmark.max_tokens=32",
    ]
    out = tmp_path / "scores"
    r = run_cli(
        capsys,
        "bench",
        "checkpoints",
        "--config",
        SEEDS / "benchmark.yaml",
        "--out",
        out,
        *[a for s in sets for a in ("--set", s)],
    )
    assert r.code == 0, r.err
    header, *rows, footer = r.out.strip().splitlines()
    assert header.split() == ["checkpoint", "pass@1", "pass@2"] and len(rows) == 2
    assert footer.startswith("2 tasks x 2 samples per checkpoint")
    report = json.loads((out / "report.json").read_text())
    assert list(report["checkpoints"]) == ["local", str(tiny)]
    for row in report["checkpoints"].values():
        assert set(row["pass_at_k"]) == {"pass@1", "pass@2"} and sum(row["statuses"].values()) == 4
        verdicts = (Path(row["dir"]) / "verdicts.jsonl").read_text().splitlines()
        assert len(verdicts) == 4

"""The ``verified`` reward: RAFT / GRPO on a mix of RLVR domains (math, code, finance, general).

Each completion is graded by the verifier of its row's domain, and the reward's pass/fail equals
what the verify engine (``alignforge verify``) says about the same answer on the same task file:
code through the real sandbox, finance with its tolerance and units, general by normalised match and
by multiple choice. Rows reach the reward the way RAFT and GRPO hand them over (``task_columns``,
and GRPO's Arrow dataset). A row of no known domain is an error naming it. Configs name the reward;
the RLVR workflow picks it for mixed tasks and breaks pass@k down per domain. The slow test runs
RAFT on the embedded model over a tiny mixed task file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from alignforge.errors import ConfigError
from alignforge.io import DataError
from alignforge.stages import run_stage
from alignforge.train.config import parse_config
from alignforge.train.rewards import domain_reward, implementation, resolve_rewards

_FINANCE = {"type": "finance", "answer_kind": "amount", "unit": "USD", "decimals": 2, "abs_tol": 0.005}
TASKS: list[dict[str, Any]] = [
    {
        "task_id": "math/sum",
        "prompt": "Compute 52 × 12 + 14 × 12. Give the final answer on the last line as 'The answer is <number>.'",
        "answer": "792",
        "domain": "math",
    },
    {
        "task_id": "math/frac",
        "prompt": "What is 1/2 + 1/4? Give the final answer as \\boxed{}.",
        "answer": "\\frac{3}{4}",
        "domain": "math",
    },
    {
        "task_id": "code/add",
        "prompt": 'def add(a, b):\n    """Return a + b."""\n',
        "entry_point": "add",
        "tests": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"],
        "domain": "code",
    },
    {
        "task_id": "finance/compound",
        "prompt": "$43,800 is invested at 4% per year, compounded annually. What is it worth after 7 years?",
        "answer": "$57,637.81",
        "domain": "finance",
        "metadata": {"verifier": _FINANCE},
    },
    {
        "task_id": "finance/cagr",
        "prompt": "A portfolio shrank from $144,000 to $133,200 over 4 years. Its CAGR, in % to 2 decimals?",
        "answer": "-1.93%",
        "domain": "finance",
        "metadata": {
            "verifier": {
                "type": "finance",
                "answer_kind": "percent",
                "unit": "%",
                "decimals": 2,
                "abs_tol": 0.005,
            }
        },
    },
    {
        "task_id": "general/letter",
        "prompt": "What is the 19th letter of the English alphabet?",
        "answer": "S",
        "domain": "general",
        "metadata": {"verifier": {"type": "general", "match": "normalized"}},
    },
    {
        "task_id": "general/capital",
        "prompt": "Which city is the capital of France? A) London B) Paris C) Rome",
        "answer": "B",
        "choices": ["London", "Paris", "Rome"],
        "domain": "general",
        "metadata": {"verifier": {"type": "general", "match": "choice"}},
    },
]
HACK_EQ = "def add(a, b):\n    class E:\n        def __eq__(s, o): return True\n    return E()\n"
# (task_id, completion, passes): right and wrong answers of every domain, hacks included.
SAMPLES: list[tuple[str, str, bool]] = [
    ("math/sum", "52*12 = 624 and 14*12 = 168.\nThe answer is 792.", True),
    ("math/sum", "The answer is 782.", False),
    ("math/frac", "Half plus a quarter: \\boxed{0.75}", True),
    ("math/frac", "\\boxed{\\frac{2}{6}}", False),
    ("code/add", "def add(a, b):\n    return a + b\n", True),  # the whole function
    ("code/add", "    return a + b\n", True),  # the body after the prompt
    ("code/add", "def add(a, b):\n    return a * b\n", False),
    ("code/add", HACK_EQ, False),  # an object equal to everything never passes
    ("finance/compound", "It grows to 43800 * 1.04^7.\nThe answer is $57,637.81.", True),
    ("finance/compound", "The answer is $57,637.", False),  # off by 81 cents: outside the tolerance
    ("finance/compound", "The answer is €57,637.81.", False),  # the wrong currency
    ("finance/cagr", "The answer is -1.93%.", True),
    ("finance/cagr", "The answer is 1.93%.", False),
    ("general/letter", "Counting A=1 ... The answer is S.", True),
    ("general/letter", "The answer is T.", False),
    ("general/capital", "Paris is the capital. The answer is B.", True),
    ("general/capital", "The answer is A.", False),
    ("general/capital", "The answer is A or B.", False),  # hedging is wrong
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _engine_passed(tasks_file: Path, samples: list[tuple[str, str, bool]]) -> list[bool]:
    """What the verify engine (``alignforge verify``'s) says about each sample, from the task file."""
    from alignforge.train.rewards import _completion_style
    from alignforge.verify import verify_completions

    by_id = {t["task_id"]: t for t in TASKS}
    jobs = [
        {
            "task_id": tid,
            "completion": text,
            "completion_style": _completion_style(text, by_id[tid].get("entry_point")),
        }
        for tid, text, _ in samples
    ]
    return [bool(v["passed"]) for v in verify_completions(tasks_file, jobs, timeout_s=10.0)]


def _raft_columns(samples: list[tuple[str, str, bool]]) -> dict[str, list[Any]]:
    """The columns RAFT hands a reward (``_rollout.task_columns`` of each sample's task row)."""
    from alignforge.train._rollout import task_columns

    by_id = {t["task_id"]: t for t in TASKS}
    return task_columns([by_id[tid] for tid, _, _ in samples])


def test_verified_reward_gives_the_verify_engines_pass_fail_on_every_domain(tmp_path: Path) -> None:
    expected = [ok for _, _, ok in SAMPLES]
    engine = _engine_passed(_write(tmp_path / "tasks.jsonl", TASKS), SAMPLES)
    assert engine == expected  # the table is right about the engine

    (reward,) = resolve_rewards(["verified"], timeout_s=10.0)
    cols = _raft_columns(SAMPLES)
    assert SAMPLES[8][0] == "finance/compound" and json.loads(cols["verifier"][8]) == _FINANCE  # the spec
    prompts = cols.pop("prompt")
    got = reward(prompts=prompts, completions=[text for _, text, _ in SAMPLES], **cols)
    assert got == [1.0 if ok else 0.0 for ok in engine]


def test_verified_reward_through_grpos_arrow_dataset_and_raft_score(tmp_path: Path) -> None:
    """GRPO's dataset is Arrow, which merges the finance and general specs into one struct (every key
    on every row): the spec travels as JSON text so each verifier still reads its own. RAFT's
    ``score`` decides pass by the first reward, as the engine does."""
    import datasets

    from alignforge.train._rollout import score, task_columns

    cols = datasets.Dataset.from_dict(task_columns(TASKS * 2)).to_dict()
    assert len(cols["domain"]) == 2 * len(TASKS)
    by_id = {t["task_id"]: i for i, t in enumerate(TASKS)}
    rows = [{k: v[by_id[tid]] for k, v in cols.items()} for tid, _, _ in SAMPLES]
    back = {k: [r[k] for r in rows] for k in cols}
    prompts = back.pop("prompt")
    got = domain_reward(prompts, [text for _, text, _ in SAMPLES], **back)
    assert got == [1.0 if ok else 0.0 for _, _, ok in SAMPLES]

    (reward,) = resolve_rewards(["verified"])
    groups = [[text for t, text, _ in SAMPLES if t == task["task_id"]] for task in TASKS]
    _, passed = score([reward], TASKS, groups)
    assert passed == [[ok for t, _, ok in SAMPLES if t == task["task_id"]] for task in TASKS]


def test_a_row_of_no_known_domain_is_an_error_naming_it() -> None:
    rows = [dict(TASKS[0]), {**TASKS[5], "task_id": "general/odd", "domain": "chemistry"}]
    cols = _columns(rows)
    with pytest.raises(
        DataError,
        match=r"task 'general/odd' \(row 2 of the batch\): field 'domain': 'chemistry' is not one of math, code, "
        "finance, general",
    ):
        domain_reward(cols.pop("prompt"), ["The answer is 792.", "The answer is S."], **cols)


def test_rows_without_a_domain_are_read_as_the_verify_engine_reads_them(tmp_path: Path) -> None:
    """No ``domain`` anywhere: tests make a code task, an answer a math one (what the workflow's
    domain inference assumes when it picks this reward)."""
    code = {"task_id": "c1", "prompt": "def f(x):\n", "tests": ["assert f(1) == 1"], "entry_point": "f"}
    math = {"task_id": "m1", "prompt": "What is 1 + 1?", "answer": "2"}
    rows = [code, code, math, math]
    completions = [
        "def f(x):\n    return x\n",
        "def f(x):\n    return 0\n",
        "The answer is 2.",
        "The answer is 3.",
    ]
    cols = _columns(rows)
    assert "domain" not in cols
    got = domain_reward(cols.pop("prompt"), completions, **cols)
    from alignforge.verify import verify_completions

    jobs = [
        {"task_id": r["task_id"], "completion": c, "completion_style": "full"}
        for r, c in zip(rows, completions, strict=True)
    ]
    engine = [
        float(v["passed"]) for v in verify_completions(_write(tmp_path / "t.jsonl", [code, math]), jobs)
    ]
    assert got == engine == [1.0, 0.0, 1.0, 0.0]


def test_tests_on_a_non_code_row_or_a_bad_spec_are_errors() -> None:
    mislabelled = {**TASKS[2], "task_id": "code/labelled-math", "domain": "math", "answer": "3"}
    cols = _columns([mislabelled])
    with pytest.raises(DataError, match=r"task 'code/labelled-math' .*'math', but the row carries tests"):
        domain_reward(cols.pop("prompt"), ["    return a + b\n"], **cols)
    bad_spec = {
        **TASKS[3],
        "task_id": "finance/bad",
        "metadata": {"verifier": {"type": "finance", "bogus": 1}},
    }
    cols = _columns([bad_spec])
    with pytest.raises(DataError, match=r"task finance/bad: field 'metadata.verifier.bogus': unknown key"):
        domain_reward(cols.pop("prompt"), ["The answer is $57,637.81."], **cols)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    from alignforge.train._rollout import task_columns

    return task_columns(rows)


def test_configs_name_the_reward_and_it_resolves(tmp_path: Path) -> None:
    for stage in ("raft", "grpo"):
        raw = {
            "model": {"base_model": "x"},
            "data": {"train_file": str(tmp_path / "t.jsonl")},
            "rewards": {"functions": ["verified"], "timeout_s": 7},
        }
        cfg = parse_config(raw, stage, source=f"{stage}.yaml")
        (func,) = resolve_rewards(cfg.rewards["functions"], timeout_s=cfg.rewards["timeout_s"])
        assert func.__name__ == "verified"  # TRL logs it by this name
        assert func.func is domain_reward and func.keywords == {"timeout_s": 7, "executor": "local"}  # type: ignore[attr-defined]
    # 002's spelling: verifier.type names it too
    cfg = parse_config(
        {"model": {"base_model": "x"}, "data": {"train_file": "t.jsonl"}, "verifier": {"type": "verified"}},
        "raft",
        source="raft.yaml",
    )
    assert cfg.rewards["functions"] == ["verified"]
    assert "verify_completions by the row's domain" in implementation("verified")
    with pytest.raises(ConfigError, match="runs the code_tests reward and the verified reward on Ray"):
        resolve_rewards(["math"], executor="ray")


@pytest.mark.slow
def test_verified_reward_on_ray_gives_the_same_pass_fail(tmp_path: Path) -> None:
    """``verifier.executor: ray``: the same verdicts from a sandbox pool on a local Ray cluster."""
    ray = pytest.importorskip("ray")
    from alignforge.train import rewards

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        (reward,) = resolve_rewards(["verified"], timeout_s=10.0, executor="ray")
        cols = _raft_columns(SAMPLES)
        got = reward(prompts=cols.pop("prompt"), completions=[t for _, t, _ in SAMPLES], **cols)
        assert got == [1.0 if ok else 0.0 for _, _, ok in SAMPLES]
        assert sum(a["rows"] for a in rewards._ray_verifier().stats()["actors"]) == len(SAMPLES)
    finally:
        rewards._ray_verifier().close()
        ray.shutdown()


# --- the RLVR workflow --------------------------------------------------------------------------


def _workflow(tmp: Path, body: str) -> Path:
    wf = tmp / "rlvr.yaml"
    wf.write_text(
        "workflow: rlvr\nmodel: embedded\nprepare: {datasets: []}\n"
        "raft: {cycles: 1}\nbenchmark: {prompts: tasks.jsonl, samples_per_problem: 2, k_values: [1]}\n" + body
    )
    return wf


def _raft_rewards(wf: Path, run: Path) -> list[str]:
    from alignforge.workflow import load_workflow

    step = next(s for s in load_workflow(wf, run).steps if s.name == "raft.train")
    return list(step.stage.config.rewards["functions"])  # type: ignore[union-attr]


def test_workflow_trains_mixed_tasks_with_the_verified_reward(tmp_path: Path) -> None:
    _write(tmp_path / "tasks.jsonl", TASKS)
    _write(tmp_path / "math.jsonl", TASKS[:2])
    _write(tmp_path / "code.jsonl", TASKS[2:3])
    assert _raft_rewards(_workflow(tmp_path, "data: {prompts: tasks.jsonl}\n"), tmp_path / "r1") == [
        "verified"
    ]
    # one domain keeps its own reward; a finance-only file gets the one reward that grades finance
    bench_math = "benchmark: {prompts: math.jsonl, samples_per_problem: 2, k_values: [1]}\n"
    wf = (
        _workflow(tmp_path, "data: {prompts: math.jsonl}\n")
        .read_text()
        .replace("benchmark: {prompts: tasks.jsonl, samples_per_problem: 2, k_values: [1]}\n", bench_math)
    )
    (tmp_path / "rlvr.yaml").write_text(wf)
    assert _raft_rewards(tmp_path / "rlvr.yaml", tmp_path / "r2") == ["math"]
    # a generated mix (its domains known before it is generated) with math validation tasks
    gen = "generate: {mix: 40/30/20/10, n: 8}\ndata: {prompts: generated, validation: math.jsonl}\n"
    assert _raft_rewards(_workflow(tmp_path, gen), tmp_path / "r3") == ["verified"]
    # math training tasks, but RAFT's own pass@k runs on the (mixed) benchmark tasks: verified
    assert _raft_rewards(_workflow(tmp_path, "data: {prompts: math.jsonl}\n"), tmp_path / "r4") == [
        "verified"
    ]
    # code only: code_tests, as before
    code = "data: {prompts: code.jsonl, validation: code.jsonl}\n"
    assert _raft_rewards(_workflow(tmp_path, code), tmp_path / "r5") == ["code_tests"]


def test_workflow_refuses_a_single_domain_reward_on_mixed_tasks(tmp_path: Path) -> None:
    from alignforge.workflow import load_workflow

    _write(tmp_path / "tasks.jsonl", TASKS)
    wf = _workflow(tmp_path, "data: {prompts: tasks.jsonl}\nverifier: {type: math}\n")
    line = wf.read_text().splitlines().index("verifier: {type: math}") + 1
    with pytest.raises(ConfigError) as info:
        load_workflow(wf, tmp_path / "run")
    msg = str(info.value)
    assert msg.startswith(f"{wf.resolve()}:{line}: verifier.type:"), msg
    assert "the math reward grades math tasks only, but RAFT's tasks hold code, finance, general, math" in msg
    assert not (tmp_path / "run").exists()
    ok = _workflow(tmp_path, "data: {prompts: tasks.jsonl}\nverifier: {type: verified}\n")
    assert _raft_rewards(ok, tmp_path / "run") == ["verified"]
    # a verifier section that names no type (the template's) still gets the tasks' own reward
    no_type = _workflow(tmp_path, "data: {prompts: tasks.jsonl}\nverifier: {type: null, timeout: 30}\n")
    assert _raft_rewards(no_type, tmp_path / "run2") == ["verified"]


def test_workflow_refuses_a_reward_of_another_domain(tmp_path: Path) -> None:
    """Code tasks graded by the math reward would pass nothing for the wrong reason: refused too."""
    from alignforge.workflow import load_workflow

    _write(tmp_path / "code.jsonl", TASKS[2:3])
    wf = _workflow(tmp_path, "data: {prompts: code.jsonl}\ntrain: {rewards: {functions: [math]}}\n")
    wf.write_text(wf.read_text().replace("prompts: tasks.jsonl", "prompts: code.jsonl"))
    with pytest.raises(
        ConfigError,
        match=r"train\.rewards.*the math reward grades math tasks only, but RAFT's tasks "
        r"hold code: use code_tests",
    ):
        load_workflow(wf, tmp_path / "run")


def test_pass_at_k_table_breaks_pass_at_k_down_per_domain(tmp_path: Path) -> None:
    from alignforge.workflow.rlvr_stages import PassAtKTable

    tasks = _write(tmp_path / "bench.jsonl", TASKS[:3])  # math/sum, math/frac, code/add
    reports, verdicts = [], []
    # base: math/sum 2 of 2, math/frac 0 of 2, code/add 1 of 2; cycle_1: everything passes
    for label, cycle, passes in (("base", 0, [1, 1, 0, 0, 1, 0]), ("cycle_1", 1, [1] * 6)):
        folder = tmp_path / label
        folder.mkdir()
        ids = ["math/sum", "math/sum", "math/frac", "math/frac", "code/add", "code/add"]
        _write(
            folder / "verdicts.jsonl",
            [{"task_id": t, "passed": bool(p)} for t, p in zip(ids, passes, strict=True)],
        )
        overall = {"pass@1": sum(passes) / 6}
        body = {"model": "local", "n_tasks": 3, "samples_per_task": 2, "overall": overall}
        (folder / "report.json").write_text(json.dumps(body))
        reports.append((label, cycle, str(folder / "report.json")))
        verdicts.append(str(folder / "verdicts.jsonl"))
    st = PassAtKTable(tuple(reports), tmp_path / "t.json", (1, 2), tasks=str(tasks), verdicts=tuple(verdicts))
    assert {"tasks", "verdicts.base", "verdicts.cycle_1"} <= set(st.inputs())
    s = run_stage(st)
    table = json.loads((tmp_path / "t.json").read_text())
    base = table["rows"][0]["by_domain"]
    assert base == {
        "code": {"n_tasks": 1, "pass_at_k": {"pass@1": 0.5, "pass@2": 1.0}},
        "math": {"n_tasks": 2, "pass_at_k": {"pass@1": 0.5, "pass@2": 0.5}},
    }
    assert table["rows"][1]["by_domain"]["math"]["pass_at_k"] == {"pass@1": 1.0, "pass@2": 1.0}
    assert s.figures["by_domain"]["base"] == base
    assert any(n.strip().startswith("math ") for n in s.notes)
    # a verdict of a task the file does not hold: the verdicts and the tasks disagree, named
    _write(tmp_path / "base" / "verdicts.jsonl", [{"task_id": "other/1", "passed": True}])
    with pytest.raises(DataError, match=r"verdicts.jsonl:1: field 'task_id': 'other/1' is not a task of"):
        PassAtKTable(
            tuple(reports), tmp_path / "t2.json", (1,), tasks=str(tasks), verdicts=tuple(verdicts)
        ).execute()
    with pytest.raises(ValueError, match="verdicts: 1 files for 2 reports"):
        PassAtKTable(tuple(reports), tmp_path / "t3.json", (1,), tasks=str(tasks), verdicts=(verdicts[0],))


# --- RAFT on the embedded model ------------------------------------------------------------------

# Tasks a 135M model sometimes gets, one per domain. RAFT samples a plain-text prompt as a continuation
# (no chat template), so each prompt ends where the answer starts.
EASY: list[dict[str, Any]] = [
    {
        "task_id": "math/easy",
        "prompt": "Question: What is 2 + 3?\nAnswer: The answer is",
        "answer": "5",
        "domain": "math",
    },
    {
        "task_id": "code/easy",
        "prompt": 'def add(a, b):\n    """Return the sum of a and b."""\n',
        "entry_point": "add",
        "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
        "domain": "code",
    },
    {
        "task_id": "finance/easy",
        "prompt": "Question: You pay $10.00 for a $7.50 item. How much change do you get?\nAnswer: The answer is",
        "answer": "$2.50",
        "domain": "finance",
        "metadata": {"verifier": {"type": "finance", "answer_kind": "amount", "unit": "USD", "decimals": 2}},
    },
    {
        "task_id": "general/easy",
        "prompt": "Question: What is the first letter of the English alphabet?\nAnswer: The answer is",
        "answer": "A",
        "domain": "general",
        "metadata": {"verifier": {"type": "general", "match": "normalized"}},
    },
]


@pytest.mark.slow
def test_rlvr_workflow_on_the_embedded_model_over_a_mixed_task_file(tmp_path: Path) -> None:
    """The RLVR workflow on a task file of all four domains, with no reward named: RAFT trains with
    the verified reward, every sample of every domain is decided as the verify engine decides it (kept
    exactly when the engine passes it), and the pass@k table has each domain's share of every row."""
    from alignforge.train.rewards import _completion_style
    from alignforge.verify import verify_completions
    from alignforge.workflow import run_workflow

    rows = [dict(t) for t in EASY]
    rows[1]["solution"] = "def add(a, b):\n    return a + b\n"  # the reference the tasks step runs
    tasks = _write(tmp_path / "mixed.jsonl", rows)
    wf = tmp_path / "rlvr.yaml"
    wf.write_text(
        "workflow: rlvr\nmodel: embedded\nprepare: {datasets: []}\ndata: {prompts: mixed.jsonl}\n"
        "raft: {cycles: 1, samples_per_prompt: 4, max_new_tokens: 48, eval_samples: 1, pass_k: [1]}\n"
        "train:\n  training: {learning_rate: 1.0e-5, batch_size: 4, max_steps: 1, logging_steps: 1}\n"
        "  compute: {device: cpu}\n  constraints: {on_fail: flag}\n"
        "benchmark: {prompts: mixed.jsonl, samples_per_problem: 2, k_values: [1, 2], max_tokens: 48}\n"
        "gates: {on_fail: flag}\n"
    )
    run = tmp_path / "run"
    m = run_workflow(wf, run)
    assert all(s["status"] in ("finished", "skipped") for s in m["stages"]), [
        (s["name"], s["status"], s["error"]) for s in m["stages"]
    ]
    card = json.loads((run / "raft" / "run_card.json").read_text())
    assert list(card["data"]["rewards"]) == ["verified"]

    cycle = run / "raft" / "cycle_1"
    kept = [json.loads(x) for x in (cycle / "samples.jsonl").read_text().splitlines()]
    dropped = [json.loads(x) for x in (cycle / "samples.dropped.jsonl").read_text().splitlines()]
    samples = kept + dropped
    assert len(samples) == 4 * len(EASY) and {s["task_id"] for s in samples} == {t["task_id"] for t in EASY}
    by_id = {t["task_id"]: t for t in EASY}
    jobs = [
        {
            "task_id": s["task_id"],
            "completion": s["completion"],
            "completion_style": _completion_style(s["completion"], by_id[s["task_id"]].get("entry_point")),
        }
        for s in samples
    ]
    engine = [bool(v["passed"]) for v in verify_completions(tasks, jobs, timeout_s=10.0)]
    assert [s["passed"] for s in samples] == engine
    assert [s["reward"] for s in samples] == [1.0 if ok else 0.0 for ok in engine]
    # what passed is kept for SFT, once per distinct text
    passing = {(s["task_id"], s["completion"]) for s, ok in zip(samples, engine, strict=True) if ok}
    assert passing and {(s["task_id"], s["completion"]) for s in kept} == passing
    assert len(kept) == len(passing)

    table = m["pass_at_k"]
    assert [r["checkpoint"] for r in table["rows"]] == ["base", "cycle_1"]
    for r in table["rows"]:
        parts = r["by_domain"]
        assert sorted(parts) == ["code", "finance", "general", "math"]
        assert all(p["n_tasks"] == 1 for p in parts.values())
        for key in ("pass@1", "pass@2"):  # the domains' shares make up the overall figure
            mean = sum(p["pass_at_k"][key] for p in parts.values()) / len(parts)
            assert mean == pytest.approx(r["pass_at_k"][key])


@pytest.mark.parametrize("stage", ["raft", "grpo"])
def test_a_task_of_no_known_domain_is_refused_before_sampling_naming_its_line(
    tmp_path: Path, stage: str
) -> None:
    from alignforge.train.config import load_config
    from alignforge.train.grpo import grpo_recipe
    from alignforge.train.raft import raft_recipe

    rows = [dict(TASKS[0]), dict(TASKS[1]), {**TASKS[5], "task_id": "odd", "domain": "chemistry"}]
    data = _write(tmp_path / "tasks.jsonl", rows)
    cfg_path = tmp_path / f"{stage}.yaml"
    cfg_path.write_text(
        json.dumps(
            {
                "model": {
                    "base_model": str(tmp_path / "no-model")
                },  # never loaded: the data is refused first
                "data": {"train_file": str(data)},
                "rewards": {"functions": ["verified"]},
            }
        )
    )
    recipe = raft_recipe if stage == "raft" else grpo_recipe
    with pytest.raises(
        DataError, match=rf"{re.escape(str(data))}:3: field 'domain': 'chemistry' is not one of"
    ):
        recipe(load_config(cfg_path, stage=stage))
    rows[2] = {**TASKS[2], "task_id": "code/called-math", "domain": "math"}  # tests, but says math
    _write(data, rows)
    with pytest.raises(DataError, match=r":3: field 'domain': 'math', but the row carries tests"):
        recipe(load_config(cfg_path, stage=stage))

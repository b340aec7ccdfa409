"""``workflow: rlvr``: seed 002's RLVR run as steps of the contract, ending in pass@k per RAFT cycle.

prepare (``prepare.<dataset>``) -> optional generate.rlvr (``tasks.generate``) -> the training and the
benchmark tasks, each selected and with every reference run against its own tests (``tasks.train``,
``tasks.benchmark``: the verifiability gate) -> the base model benchmarked (``bench.base``) -> RAFT for
``raft.cycles`` cycles (``raft.train``: one ``train.raft`` step that saves every cycle's checkpoint; a
killed run resumes at the first unfinished cycle) -> each cycle's checkpoint benchmarked
(``bench.cycle_<k>``: ``evaluate.checkpoint``, ``benchmark.samples_per_problem`` samples per problem,
pass@k for ``benchmark.k_values``) -> the table with its gates (``bench.pass_at_k``).

:func:`build_rlvr` validates the whole file and builds every step before anything runs; :func:`run_rlvr`
runs them and puts the table in the manifest (``pass_at_k``) with a decision. The file's keys mirror
002's configs (``model.name``, ``data.prompts`` / ``data.tests``, ``raft:``, ``verifier:``,
``checkpointing:``, ``benchmark:``); every key is in :func:`alignforge.workflow.template.rlvr_template`.

Tasks of several domains (``generate: {mix: 40/30/20/10}``, a mixed task file, or a list of sources)
train with the ``verified`` reward unless the file names one: each sample graded by the verifier of
its task's domain, as ``alignforge verify`` grades it; a single-domain reward (``math``,
``code_tests``, ``exact_match``) on such tasks is refused before anything runs. The benchmark grades
every sample by its task's domain the same way, and the table breaks pass@k down per domain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.stages import Stage
from alignforge.workflow._dpo_steps import make_stage, stage_params, train_step
from alignforge.workflow._rlvr_domains import check_reward, default_reward, raft_domains
from alignforge.workflow.generic import check_step_inputs, launcher_of
from alignforge.workflow.rlvr_stages import PassAtKTable, VerifiedTasks
from alignforge.workflow.run import Launcher, Runner, Step
from alignforge.workflow.schema import Doc, Key

__all__ = ["RLVRPlan", "build_rlvr", "run_rlvr"]

_TOP = {
    "workflow",
    "description",
    "executor",
    "launcher",
    "model",
    "benchmark_dir",
    "prepare",
    "generate",
    "data",
    "references",
    "raft",
    "verifier",
    "checkpointing",
    "train",
    "benchmark",
    "gates",
}
_MODEL = {"name", "base_model", "lora", "dtype", "attn_implementation", "trust_remote_code"}
_PREPARE = {"datasets", "validation_size", "strengthen"}
_DATA = {"prompts", "tests", "validation", "limit", "task_ids"}
_REFS = {"on_fail", "min_verifiability", "timeout_s"}
_RAFT = {
    "cycles",
    "samples_per_prompt",
    "temperature",
    "max_new_tokens",
    "keep_per_prompt",
    "eval_samples",
    "pass_k",
    "prompt_format",
}
_CHECKPOINTING = {"save_every_cycle"}
_TRAIN = {"training", "optimization", "constraints", "compute", "rewards", "monitors", "logging", "data"}
_BENCH = {
    "prompts",
    "tests",
    "limit",
    "task_ids",
    "samples_per_problem",
    "k_values",
    "temperature",
    "max_tokens",
    "timeout_s",
    "base",
    "cycles",
}
_GATES = {"max_pass1_drop", "min_pass_at_k", "on_fail"}
DATASETS = ("humaneval", "mbpp", "gsm8k", "math500")


@dataclass
class RLVRPlan:
    run_dir: Path
    executor: str
    launcher: Launcher
    steps: list[Step]
    table: Path
    base_model: str


def build_rlvr(doc: Doc, run_dir: Path) -> RLVRPlan:
    """Validate the file and build every step; see the module docstring."""
    doc.check_keys((), doc.data, _TOP)
    executor = doc.typed(("executor",), str, "local")
    if executor not in ("local", "ray"):
        raise doc.error(("executor",), f"{executor!r} is not one of local, ray")
    launcher = launcher_of(doc, ("launcher",))
    if isinstance(doc.get(("model",)), str):  # `model: embedded`, as in the DPO workflow
        model: dict[str, Any] = {}
        name = doc.typed(("model",), str)
    else:
        model = doc.section(("model",), _MODEL)
        name = doc.typed(("model", "name"), str) or doc.typed(("model", "base_model"), str) or "embedded"
    bench = doc.typed(("benchmark_dir",), str)
    bench_dir = doc.resolve(bench) if bench else None
    if bench_dir is not None and not bench_dir.is_dir():
        raise doc.error(("benchmark_dir",), f"folder {bench_dir} does not exist")
    r = run_dir
    steps: list[Step] = []

    # Prepare: each benchmark dataset into RUN/data (002's data/rlvr), every reference checked.
    splits = _prepare(doc, bench_dir, r / "data", steps)
    generated = _generate(doc, r / "data" / "generated.jsonl", steps)
    sources = {**splits, **({"generated": generated} if generated else {})}

    # The training and benchmark tasks: selected, each reference verified (the verifiability gate).
    refs = doc.section(("references",), _REFS)
    on_fail = refs.get("on_fail", "drop")
    if on_fail not in ("drop", "stop"):
        raise doc.error(("references", "on_fail"), f"{on_fail!r} is not one of drop, stop")
    ref_params = {
        "on_fail": on_fail,
        "min_verifiability": _share(doc, ("references", "min_verifiability")),
        "timeout_s": float(doc.typed(("references", "timeout_s"), (int, float), 10.0)),
    }
    doc.section(("data",), _DATA)
    train_tasks = _tasks_step(doc, ("data",), sources, r / "tasks" / "train.jsonl", ref_params)
    steps.append(Step("tasks.train", "Training tasks: selected, references verified", train_tasks))
    doc.section(("benchmark",), _BENCH)
    bench_tasks = _tasks_step(doc, ("benchmark",), sources, r / "tasks" / "benchmark.jsonl", ref_params)
    steps.append(Step("tasks.benchmark", "Benchmark tasks: selected, references verified", bench_tasks))
    validation = Path(bench_tasks.outputs()["out"])
    if doc.get(("data", "validation")) is not None:
        validation = _source(doc, ("data", "validation"), sources)

    # RAFT: one train.raft step; every cycle's checkpoint in RUN/raft/cycle_<k>. The reward must grade
    # every domain RAFT samples: the training tasks and the validation (by default the benchmark) tasks.
    domains = raft_domains(doc, sources, lambda at: _source(doc, at, sources))
    raw = _raft_raw(doc, model, name, Path(train_tasks.outputs()["out"]), validation, r / "raft", domains)
    cfg = _raft_config(doc, raw)
    check_reward(doc, cfg.rewards["functions"][0], domains)
    cycles = int(cfg.raft["cycles"])
    if cycles < 1:
        raise doc.error(("raft", "cycles"), "must be >= 1")
    raft_step = train_step("raft.train", f"RAFT: {cycles} cycles", "train.raft", cfg, raw)

    # The benchmark: base + every cycle (or benchmark.cycles), n samples per problem, pass@k.
    bench = _benchmark(doc, cycles, bool(cfg.logging["save_every_cycle"]))
    base_spec = "local" if name.split(":")[0] == "embedded" else f"local:{_model_path(doc, name)}"
    reports: list[tuple[str, int, str]] = []
    verdicts: list[str] = []

    def bench_step(label: str, cycle: int, spec: str) -> Step:
        st = make_stage(
            "evaluate.checkpoint",
            spec,
            Path(bench_tasks.outputs()["out"]),
            r / "bench" / label,
            n=bench["samples_per_problem"],
            ks=tuple(bench["k_values"]),
            temperature=bench["temperature"],
            max_tokens=bench["max_tokens"],
            timeout_s=bench["timeout_s"],
        )
        reports.append((label, cycle, str(st.outputs()["out"])))
        verdicts.append(str(st.outputs()["verdicts"]))
        title = "the base model" if cycle == 0 else f"RAFT cycle {cycle}"
        return Step(f"bench.{label}", f"Benchmark {title}: pass@k", st, kind="eval")

    if bench["base"]:
        steps.append(bench_step("base", 0, base_spec))
    steps.append(raft_step)
    for k in bench["cycles"]:
        steps.append(bench_step(f"cycle_{k}", k, f"local:{r / 'raft' / f'cycle_{k}'}"))
    gates = doc.section(("gates",), _GATES)
    if gates.get("max_pass1_drop") is not None and not bench["base"]:
        raise doc.error(
            ("gates", "max_pass1_drop"), "needs the base model benchmarked (benchmark.base: true)"
        )
    table = PassAtKTable(
        tuple(reports),
        r / "bench" / "pass_at_k.json",
        tuple(bench["k_values"]),
        max_pass1_drop=_number(doc, ("gates", "max_pass1_drop"), 0.0 if bench["base"] else None),
        min_pass_at_k=_min_pass_at_k(doc, bench["k_values"]),
        on_fail=_choice(doc, ("gates", "on_fail"), ("stop", "flag"), "stop"),
        tasks=str(bench_tasks.outputs()["out"]),
        verdicts=tuple(verdicts),
    )
    steps.append(Step("bench.pass_at_k", "pass@k per cycle, with its gates", table, kind="eval"))
    check_step_inputs(doc, steps, _STEP_KEYS)
    return RLVRPlan(r, executor, launcher, steps, Path(table.outputs()["out"]), name)


def run_rlvr(plan: RLVRPlan, runner: Runner) -> dict[str, Any]:
    """Run every step; the table goes into the manifest (``pass_at_k``) with the decision."""
    for step in plan.steps:
        runner.run(step)
    m = runner.manifest
    table = json.loads(plan.table.read_text(encoding="utf-8"))
    for row in table["rows"]:
        spec = str(row.get("model") or "")
        if spec.startswith("local:"):
            row["model"] = m.rel(spec.removeprefix("local:"))
    m.data["pass_at_k"] = table
    failed = [g["name"] for g in table["gates"] if not g["passed"]]
    last = table["rows"][-1] if table["rows"] else None
    best = max(
        (r for r in table["rows"] if r["pass_at_k"].get("pass@1") is not None),
        key=lambda r: r["pass_at_k"]["pass@1"],
        default=None,
    )
    reason = (
        f"last checkpoint {last['checkpoint']} pass@1 {_fmt(last['pass_at_k'].get('pass@1'))}"
        if last is not None
        else "no checkpoint benchmarked"
    )
    if best is not None:
        reason += f"; best pass@1 {_fmt(best['pass_at_k']['pass@1'])} at {best['checkpoint']}"
    if failed:
        reason += "; gates failed: " + ", ".join(failed)
    m.data["decision"] = {"deploy": not failed, "failed": failed, "reason": reason}
    m.write()
    return dict(m.data["decision"])


# --- building blocks ----------------------------------------------------------------------------


def _prepare(doc: Doc, bench_dir: Path | None, out: Path, steps: list[Step]) -> dict[str, Path]:
    """One ``prepare`` step per dataset; returns split name -> its task file."""
    at: Key = ("prepare",)
    doc.section(at, _PREPARE)
    datasets = doc.typed((*at, "datasets"), list) or []
    found: dict[str, Path] = {}
    for i, name in enumerate(datasets):
        if name not in DATASETS:
            raise doc.error((*at, "datasets", i), f"{name!r} is not one of {', '.join(DATASETS)}")
        from alignforge.curate import resolve_benchmark_dir

        source = Path(resolve_benchmark_dir(str(bench_dir) if bench_dir else None)) / name
        if not source.is_dir():
            raise doc.error(
                (*at, "datasets", i),
                f"no {name} data at {source} (set benchmark_dir, or ALIGNFORGE_BENCHMARK_DIR)",
            )
        st = make_stage(
            "prepare",
            name,
            out,
            source=source,
            validation_size=doc.typed((*at, "validation_size"), int, 20),
            strengthen=doc.typed((*at, "strengthen"), bool, False),
        )
        steps.append(Step(f"prepare.{name}", f"Prepare {name}: RLVR task files, references checked", st))
        for role, path in st.outputs().items():
            if role == "out":
                found[name] = Path(path)
            elif role.endswith("_full"):
                found[role.removesuffix("_full")] = Path(path)
            elif role == "validation":
                found[f"{name}_validation"] = Path(path)
    return found


def _generate(doc: Doc, out: Path, steps: list[Step]) -> Path | None:
    if doc.get(("generate",)) is None:
        steps.append(Step("tasks.generate", "Generate RLVR tasks", None, skip_reason="no generate section"))
        return None
    params = stage_params(doc, ("generate",), "generate.rlvr", {"output_file"})
    if isinstance(params.get("input_file"), str):
        params["input_file"] = str(doc.file(("generate", "input_file")))
    params.setdefault("input_file", None)
    try:
        st: Stage = make_stage("generate.rlvr", output_file=str(out), **params)
    except Exception as exc:
        raise doc.error(("generate",), str(exc)) from None
    steps.append(Step("tasks.generate", "Generate RLVR tasks (generate.rlvr)", st))
    return Path(st.outputs()["out"])


def _source(doc: Doc, at: Key, sources: dict[str, Path]) -> Path:
    """A prepared split's name (``mbpp_train``, ``humaneval``, ``generated``, ...) or a task file."""
    value = doc.typed(at, str)
    if value in sources:
        return sources[value]
    p = doc.resolve(value)
    if not p.is_file():
        known = ", ".join(sorted(sources)) or "none (no prepare.datasets, no generate)"
        raise doc.error(at, f"{value!r} is neither a prepared split ({known}) nor an existing task file")
    return p


def _tasks_step(
    doc: Doc, at: Key, sources: dict[str, Path], out: Path, refs: dict[str, Any]
) -> VerifiedTasks:
    value = doc.get((*at, "prompts"))
    if value is None:
        raise doc.error(
            (*at, "prompts"), "is required: a prepared split (e.g. mbpp_train), generated, or a task file"
        )
    if isinstance(value, list):  # several sources, concatenated (a prepared split and generated tasks)
        files = [_source(doc, (*at, "prompts", i), sources) for i in range(len(value))]
    else:
        files = [_source(doc, (*at, "prompts"), sources)]
    tests = doc.file((*at, "tests"), required=False)
    ids = doc.typed((*at, "task_ids"), list)
    limit = doc.typed((*at, "limit"), int)
    if limit is not None and limit < 1:
        raise doc.error((*at, "limit"), "must be >= 1")
    return VerifiedTasks(
        tuple(str(f) for f in files),
        out,
        tests=str(tests) if tests else None,
        limit=limit,
        task_ids=tuple(str(t) for t in ids) if ids else None,
        **refs,
    )


def _raft_raw(
    doc: Doc,
    model: dict[str, Any],
    name: str,
    train_file: Path,
    validation: Path,
    out: Path,
    domains: set[str],
) -> dict[str, Any]:
    """The ``train raft`` config: 002's model / raft / verifier / checkpointing plus ``train:``."""
    import copy

    doc.section(("raft",), _RAFT)
    doc.section(("checkpointing",), _CHECKPOINTING)
    train = copy.deepcopy(doc.section(("train",), _TRAIN))
    for section in ("data", "logging"):
        for key in ("train_file", "validation_file", "tests", "output_dir", "save_every_cycle"):
            if key in (train.get(section) or {}):
                raise doc.error(("train", section, key), "is set by the workflow: remove it")
    body = {k: v for k, v in model.items() if k not in ("name", "base_model")}
    raw: dict[str, Any] = {
        **train,
        "model": {**body, "base_model": _model_path(doc, name)},
        "data": {
            **(train.get("data") or {}),
            "train_file": str(train_file),
            "validation_file": str(validation),
        },
        # chat unless set: RAFT asks as the benchmark steps ask (evaluate.checkpoint), so what it trains
        # on is what they measure
        "raft": {"prompt_format": "chat", **copy.deepcopy(doc.section(("raft",)))},
        "logging": {
            "report_to": "none",
            **(train.get("logging") or {}),
            "output_dir": str(out),
            **doc.section(("checkpointing",)),
        },
    }
    if doc.get(("verifier",)) is not None:
        raw["verifier"] = copy.deepcopy(doc.section(("verifier",)))
    if doc.get(("verifier", "type")) is None and "rewards" not in train:  # no reward named: the tasks' own
        raw["rewards"] = {"functions": [default_reward(domains)]}
    return raw


# Where each `train raft` config section is written in the workflow file.
_WHERE = {"model": ("model",), "raft": ("raft",), "verifier": ("verifier",)}


def _raft_config(doc: Doc, raw: dict[str, Any]) -> Any:
    """``raw`` validated by the `train raft` loader; an error names the workflow file's key and line."""
    import copy
    import re

    from alignforge.errors import ConfigError
    from alignforge.train.config import parse_config

    try:
        return parse_config(copy.deepcopy(raw), "raft", source=str(doc.path))
    except ConfigError as exc:
        text = str(exc).removeprefix(f"{doc.path}: ")
        for match in re.finditer(r"\b([a-z_]+)\.([a-z_]+)\b", text):
            section, key = match.groups()
            if section == "logging" and key == "save_every_cycle":
                at: Key = ("checkpointing", key)
            else:
                at = (*_WHERE.get(section, ("train", section)), key)
            if at in doc.lines or at[:-1] in doc.lines:
                raise doc.error(at, text) from None
        raise doc.error(("raft",), text) from None


def _benchmark(doc: Doc, cycles: int, every_cycle: bool) -> dict[str, Any]:
    at: Key = ("benchmark",)
    ks = doc.typed((*at, "k_values"), list) or [1, 5, 10]
    for i, k in enumerate(ks):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise doc.error((*at, "k_values", i), f"expected a positive integer, got {k!r}")
    n = doc.typed((*at, "samples_per_problem"), int, 10)
    if n < max(ks):
        raise doc.error(
            (*at, "samples_per_problem"), f"{n} samples cannot give pass@{max(ks)} (k_values {ks}): raise it"
        )
    chosen = doc.get((*at, "cycles"), "all")
    if chosen == "all":
        picked = list(range(1, cycles + 1))
    elif isinstance(chosen, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in chosen):
        picked = sorted(set(chosen))
        bad = [c for c in picked if not 1 <= c <= cycles]
        if bad:
            raise doc.error((*at, "cycles"), f"cycles {bad} are not among raft.cycles 1..{cycles}")
    else:
        raise doc.error((*at, "cycles"), f"`all` or a list of cycle numbers, got {chosen!r}")
    if not every_cycle and picked and picked != [cycles]:
        raise doc.error(
            ("checkpointing", "save_every_cycle"),
            f"is false, so only cycle {cycles}'s weights are kept, but benchmark.cycles asks for {picked}",
        )
    return {
        "k_values": sorted(set(ks)),
        "samples_per_problem": n,
        "temperature": float(doc.typed((*at, "temperature"), (int, float), 0.8)),
        "max_tokens": doc.typed((*at, "max_tokens"), int, 384),
        "timeout_s": float(doc.typed((*at, "timeout_s"), (int, float), 5.0)),
        "base": doc.typed((*at, "base"), bool, True),
        "cycles": picked,
    }


def _min_pass_at_k(doc: Doc, ks: list[int]) -> tuple[tuple[int, float], ...]:
    at: Key = ("gates", "min_pass_at_k")
    body = doc.section(at)
    out: list[tuple[int, float]] = []
    for k, bound in body.items():
        if isinstance(k, bool) or not isinstance(k, int) or k not in ks:
            raise doc.error((*at, k), f"pass@{k} is not measured (benchmark.k_values: {ks})")
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not 0 <= bound <= 1:
            raise doc.error((*at, k), f"expected a share between 0 and 1, got {bound!r}")
        out.append((k, float(bound)))
    return tuple(out)


def _number(doc: Doc, at: Key, default: float | None) -> float | None:
    v = doc.typed(at, (int, float), default)
    if v is not None and v < 0:
        raise doc.error(at, f"must be >= 0, got {v}")
    return None if v is None else float(v)


def _share(doc: Doc, at: Key) -> float | None:
    v = doc.typed(at, (int, float))
    if v is not None and not 0 <= v <= 1:
        raise doc.error(at, f"must lie between 0 and 1, got {v}")
    return None if v is None else float(v)


def _choice(doc: Doc, at: Key, choices: tuple[str, ...], default: str) -> str:
    v = doc.typed(at, str, default)
    if v not in choices:
        raise doc.error(at, f"{v!r} is not one of {', '.join(choices)}")
    return str(v)


def _model_path(doc: Doc, name: str) -> str:
    """A model folder relative to the workflow file, resolved; a Hub id as it is."""
    p = doc.resolve(name)
    return str(p) if p.is_dir() else name


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


_STEP_KEYS: dict[str, Key] = {
    "tasks.train": ("data",),
    "tasks.benchmark": ("benchmark",),
    "raft.train": ("raft",),
}

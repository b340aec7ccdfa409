"""The DPO workflow file's sections: the keys each takes, and the sections read and checked whole.

:func:`alignforge.workflow.dpo.build_dpo` checks each section against its key set here, and reads the
split shares, ``preference.gates``, ``rounds:`` and ``evaluation:`` through these functions, so an
error names its key and line before anything runs. :data:`STEP_KEYS` names the key each fixed step is
built from, where a missing input is reported.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.workflow._dpo_steps import make_stage
from alignforge.workflow.schema import Doc, Key

__all__ = [
    "TOP_KEYS",
    "SFT_KEYS",
    "PREF_KEYS",
    "INIT_KEYS",
    "RM_KEYS",
    "SUITES",
    "STEP_KEYS",
    "read_share",
    "read_gates",
    "read_rounds",
    "read_evaluation",
]


# The keys each section of the file takes.
TOP_KEYS = {
    "workflow",
    "description",
    "executor",
    "launcher",
    "model",
    "benchmark_dir",
    "sft",
    "preference",
    "init_check",
    "reward_model",
    "dpo",
    "rounds",
    "evaluation",
}
SFT_KEYS = {"data", "validation", "seed", "sft_checkpoint", "train"}
PREF_KEYS = {
    "prompts",
    "generate",
    "judge",
    "dedup",
    "decontaminate",
    "gates",
    "gates_stage",
    "validation",
    "seed",
}
INIT_KEYS = {"beta", "max_pairs", "kl_prompts", "max_new_tokens", "kl_max", "loss_tol", "reward_tol"}
RM_KEYS = {"train", "filter"}
_ROUNDS = {
    "count",
    "prompts",
    "prompts_per_round",
    "samples_per_prompt",
    "min_gain",
    "judge_model",
    "max_tokens",
}
_EVAL = {
    "suites",
    "max_new_tokens",
    "seed",
    "prompts",
    "judge",
    "winrate_limit",
    "winrate_max_new_tokens",
    "thresholds",
}
SUITES = ("humaneval", "mbpp", "gsm8k", "math500", "arc_challenge", "truthfulqa_mc1", "mmlu")


# The file's section each step is built from: a missing input is reported at its key.
STEP_KEYS: dict[str, Key] = {
    "sft.split": ("sft", "data"),
    "sft.train": ("sft", "train"),
    "baseline.suites": ("evaluation", "suites"),
    "pairs.generate": ("preference", "prompts"),
    "pairs.judge": ("preference", "judge"),
    "pairs.dedup": ("preference", "dedup"),
    "pairs.decontaminate": ("preference", "decontaminate"),
    "pairs.check": ("preference", "gates"),
    "init.check": ("init_check",),
    "reward.train": ("reward_model",),
    "reward.filter": ("reward_model", "filter"),
    "dpo.train": ("dpo",),
}


def read_share(doc: Doc, at: Key, default: float) -> float:
    """A split's validation share at ``at``: strictly between 0 and 1."""
    v = doc.typed(at, (int, float), default)
    if not 0 < v < 1:
        raise doc.error(at, f"must lie strictly between 0 and 1, got {v}")
    return float(v)


def read_gates(doc: Doc) -> Any:
    """``preference.gates``: a gates file's path, or a mapping checked by the gates file's own loader."""
    at: Key = ("preference", "gates")
    value = doc.get(at)
    if value is None:
        return None
    if isinstance(value, str):
        return doc.file(at)
    if not isinstance(value, dict):
        raise doc.error(at, "a gates file path or a gates mapping (the `alignforge gates init` shape)")
    import tempfile

    import yaml

    from alignforge.quality.gates import load_gates

    with tempfile.TemporaryDirectory() as tmp:  # validated by the gates file's own loader
        p = Path(tmp) / "gates.yaml"
        p.write_text(yaml.safe_dump(value), encoding="utf-8")
        try:
            load_gates(p)
        except ConfigError as exc:
            raise doc.error(at, str(exc).replace(f"{p}: ", "")) from None
    return value


def read_rounds(doc: Doc, generate: dict[str, Any]) -> dict[str, Any]:
    """``rounds:`` with its defaults; its prompts file must hold ``prompts_per_round`` for each round."""
    at: Key = ("rounds",)
    doc.section(at, _ROUNDS)
    count = doc.typed((*at, "count"), int, 0)
    out: dict[str, Any] = {
        "count": count,
        "prompts": None,
        "prompts_per_round": doc.typed((*at, "prompts_per_round"), int, 8),
        "samples_per_prompt": doc.typed((*at, "samples_per_prompt"), int, 4),
        "min_gain": float(doc.typed((*at, "min_gain"), (int, float), 0.0)),
        "judge_model": doc.typed((*at, "judge_model"), str) or generate.get("judge_model"),
        "max_tokens": doc.typed((*at, "max_tokens"), int),
    }
    if count < 0:
        raise doc.error((*at, "count"), "must be >= 0")
    if count:
        out["prompts"] = doc.file((*at, "prompts"))
        rows = sum(1 for line in out["prompts"].read_text(encoding="utf-8").splitlines() if line.strip())
        need = count * out["prompts_per_round"]
        if rows < need:
            raise doc.error(
                (*at, "prompts"),
                f"{rows} prompts, but {count} rounds x {out['prompts_per_round']} fresh prompts need {need}",
            )
    return out


def read_evaluation(doc: Doc, bench_dir: str | None) -> dict[str, Any]:
    """``evaluation:`` with its defaults; each suite must have its data under the benchmark folder."""
    at: Key = ("evaluation",)
    doc.section(at, _EVAL)
    suites = doc.typed((*at, "suites"), list)
    if not suites:
        raise doc.error((*at, "suites"), "is required: a list of {name, limit}")
    checked = []
    for i, s in enumerate(suites):
        where = (*at, "suites", i)
        if not isinstance(s, dict):
            raise doc.error(where, "expected {name: ..., limit: ...}")
        doc.check_keys(where, s, {"name", "limit"})
        name = doc.typed((*where, "name"), str)
        if name not in SUITES:
            raise doc.error((*where, "name"), f"{name!r} is not one of {', '.join(SUITES)}")
        checked.append({"name": name, "limit": doc.typed((*where, "limit"), int)})
        probe = make_stage(
            "evaluate.suites",
            model="none:probe",
            suites=[checked[-1]],
            out_dir=Path("."),
            benchmark_dir=bench_dir,
        )
        if probe.inputs().get(f"suite.{name}") is None:
            from alignforge.curate import resolve_benchmark_dir

            folder = resolve_benchmark_dir(bench_dir)
            raise doc.error(
                (*where, "name"),
                f"no {name} data under the benchmark folder {folder} (set benchmark_dir, or ALIGNFORGE_BENCHMARK_DIR)",
            )
    thresholds = doc.section(
        (*at, "thresholds"),
        {"capability_benchmarks", "quality_thresholds", "win_rate", "alignment_evaluation"},
    )
    if thresholds:
        from alignforge.evaluate.decision import normalize_thresholds

        try:
            normalize_thresholds(copy.deepcopy(thresholds))
        except ConfigError as exc:
            raise doc.error((*at, "thresholds"), str(exc)) from None
    return {
        "suites": checked,
        "benchmark_dir": bench_dir,
        "max_new_tokens": doc.typed((*at, "max_new_tokens"), int, 256),
        "seed": doc.typed((*at, "seed"), int, 0),
        "prompts": doc.file((*at, "prompts")),
        "judge": doc.typed((*at, "judge"), str, "local"),
        "winrate_limit": doc.typed((*at, "winrate_limit"), int),
        "winrate_max_new_tokens": doc.typed((*at, "winrate_max_new_tokens"), int, 256),
        "thresholds": thresholds or None,
    }

"""Run a DPO sweep: each trial applies the sampled values onto the DPO config and trains ``train.dpo``.

Locally the sweep is an Optuna study in ``STUDY_DIR/study.db`` (SQLite, ``load_if_exists``), so the same
command resumes it. Trials send heartbeats; a trial whose process died (``kill -9``, a lost machine) goes
stale after ``grace_period`` seconds and is re-queued with the same values
(``RetryHeartbeatStaleTrialCallback``) instead of staying RUNNING. A trial trains in
``STUDY_DIR/trials/<hash of its values>``, so a retried trial resumes the dead one's checkpoint through
the stage contract. Samplers are pinned: ``TPESampler(seed)`` for bayes, ``RandomSampler(seed)`` for
random, ``GridSampler(values, seed)`` for grid.

Every trial is gated by the DPO config's gates (``constraints:`` / ``gates_file``). A trial whose gates
fail, or that did not train, is recorded PRUNED with its failures as user attributes and never counts
as best. ``--trials N`` is the number of finished (complete or pruned) trials the study should hold.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError, GateFailure
from alignforge.sweep.space import METRICS, Param, SweepSpec, load_space

__all__ = ["ALIASES", "SweepResult", "TrialOutcome", "WinRate", "run_sweep", "target_key"]

# Sweep parameter names the seed uses that are not the config's own key.
ALIASES = {"warmup_ratio": "training.warmup_steps"}  # transformers 5: warmup_steps < 1 is a ratio
STUDY_DB = "study.db"
BEST_CONFIG = "best_config.yaml"
RESULTS = "sweep_results.json"
_FILE_KEYS = (
    ("data", "train_file"),
    ("data", "validation_file"),
    ("data", "tests"),
    ("constraints", "gates_file"),
)


@dataclass
class WinRate:
    """How a trial's validation win rate is measured (``evaluate.winrate`` against ``baseline``)."""

    judge: str
    prompts: Path
    baseline: str
    limit: int | None = None
    max_new_tokens: int = 256


@dataclass
class TrialOutcome:
    number: int | None
    params: dict[str, Any]
    overrides: dict[str, Any]
    output_dir: str
    status: str  # "passed", "gates_failed", "not_trained", "not_measured"
    value: float | None = None
    gates: list[dict[str, Any]] = field(default_factory=list)
    failed_gates: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    state: str = ""
    retried_from: int | None = None  # the trial number this one re-runs (its process died)
    resumed_from: str | None = None  # the checkpoint its training resumed from

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class SweepResult:
    study_dir: Path
    metric: str
    goal: str
    trials: list[TrialOutcome]
    best: TrialOutcome | None
    best_config: Path | None
    results: Path
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"sweep {self.metric} ({self.goal}): {len(self.trials)} trials in {self.study_dir}"]
        for t in self.trials:
            shown = "—" if t.value is None else f"{t.value:.4g}"
            why = "" if t.passed else f"  {t.status}: {', '.join(t.failed_gates) or '-'}"
            out.append(f"   trial {t.number:>3} {t.state:<8} {shown:>10}  {_short(t.params)}{why}")
        if self.best is None:
            out.append("no trial passed its gates: no best config written")
        else:
            out.append(
                f"best: trial {self.best.number} {self.metric} = {self.best.value:.4g}  {_short(self.best.params)}"
            )
            out.append(f"best config: {self.best_config}")
        return out + [f"note: {n}" for n in self.notes]


def _short(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def target_key(name: str, sections: dict[str, dict[str, Any]], source: str) -> str:
    """The config key (``section.key``) a sweep parameter sets: dotted names as written, the seed's
    ``warmup_ratio`` as ``training.warmup_steps``, any other name where exactly one section has it."""
    if "." in name:
        section, _, key = name.partition(".")
        if key not in sections.get(section, {}):
            raise ConfigError(f"{source}: sweep parameter {name!r}: the DPO config has no key {name}")
        return name
    if name in ALIASES:
        return ALIASES[name]
    found = [f"{s}.{name}" for s, body in sections.items() if name in body]
    if len(found) != 1:
        where = f"it is in {', '.join(found)}; name one" if found else "no section has it; write section.key"
        raise ConfigError(f"{source}: sweep parameter {name!r} maps to no single DPO config key ({where})")
    return found[0]


class _Sweep:
    """What every trial shares: the config, the space, the targets, the gates and the objective."""

    def __init__(self, config: Path, spec: SweepSpec, study_dir: Path, win: WinRate | None) -> None:
        from alignforge.train import check_runnable, load_config
        from alignforge.train.gates import gates_for

        self.config, self.spec, self.study_dir, self.win = config, spec, study_dir, win
        base = load_config(config, "dpo")
        self.targets = {name: target_key(name, base.sections, spec.source) for name in spec.params}
        gates, _ = gates_for(base)
        if not gates:
            raise ConfigError(
                f"{config}: the DPO config sets no gates, and every sweep trial is gated: set "
                "constraints.kl_target and constraints.preference_gap_target (the seed: 0.1 and 0.15) "
                "or constraints.gates_file"
            )
        for name, p in spec.params.items():  # every value the space can take must load: fail before trial 0
            for value in _extremes(p):
                if name == "warmup_ratio" and not (isinstance(value, int | float) and 0 <= value < 1):
                    raise ConfigError(
                        f"{spec.source}: parameters.warmup_ratio: a ratio is in [0, 1), got {value!r}"
                    )
                load_config(config, "dpo", overrides={self.targets[name]: value})
        if METRICS[spec.metric] is None:
            if win is None:
                raise ConfigError(
                    f"{spec.source}: metric {spec.metric} needs a judge: pass --judge SPEC and --prompts FILE "
                    "(held-out prompts), or sweep on validation/margin"
                )
            from alignforge.stages import get_stage

            get_stage("evaluate.winrate")  # unknown stage -> one line now, not after the first training
        check_runnable(base)  # models, data files, device: one line naming the fixes, before any load

    def trial_dir(self, params: dict[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]
        return self.study_dir / "trials" / digest

    def run(self, params: dict[str, Any], number: int | None = None) -> TrialOutcome:
        """Train one trial and gate it; the objective is measured only for a trial whose gates passed."""
        from alignforge.train import NotTrained, check_runnable, load_config, run_training
        from alignforge.train.monitors import METRICS_FILE

        out = self.trial_dir(params)
        overrides = {self.targets[k]: v for k, v in params.items()}
        cfg = load_config(self.config, "dpo", overrides={**overrides, "logging.output_dir": str(out)})
        check_runnable(cfg)
        status = "passed"
        try:
            figures = run_training(cfg).figures
        except GateFailure:  # constraints.on_fail: stop -- the metrics file holds what was measured
            body = json.loads((out / METRICS_FILE).read_text())
            figures = {"gates": body.get("gates") or [], "metrics": body}
        except NotTrained as exc:
            figures, status = exc.summary.figures, "not_trained"
        gates = list(figures.get("gates") or [])
        metrics = {
            k: v for k, v in (figures.get("metrics") or {}).items() if isinstance(v, int | float | type(None))
        }
        failed = [g["metric"] for g in gates if not g["passed"]]
        if failed and status == "passed":
            status = "gates_failed"
        outcome = TrialOutcome(number, params, overrides, str(out), status, gates=gates, failed_gates=failed)
        outcome.metrics = metrics
        outcome.resumed_from = figures.get("resumed_from")
        if status == "passed":
            key = METRICS[self.spec.metric]
            value = metrics.get(key) if key is not None else self._win_rate(out)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                outcome.status, outcome.failed_gates = "not_measured", [self.spec.metric]
            else:
                outcome.value = float(value)
        return outcome

    def _win_rate(self, trial_dir: Path) -> float | None:
        from alignforge.stages import get_stage, run_stage

        assert self.win is not None
        stage_cls: Any = get_stage("evaluate.winrate")
        stage = stage_cls(
            model=f"local:{trial_dir}",
            baseline=self.win.baseline,
            prompts=self.win.prompts,
            judge=self.win.judge,
            out_dir=trial_dir / "winrate",
            max_new_tokens=self.win.max_new_tokens,
            limit=self.win.limit,
        )
        summary = run_stage(stage)
        body = json.loads(Path(summary.outputs["out"]).read_text())
        return body.get("win_rate")


def _extremes(p: Param) -> list[Any]:
    if p.kind == "categorical":
        return list(p.choices)
    if p.kind == "int":
        return [int(p.low or 0), int(p.high or 0)]
    return [float(p.low or 0.0), float(p.high or 0.0)]


def _sampler(spec: SweepSpec, seed: int) -> Any:
    import optuna

    if spec.method == "bayes":
        return optuna.samplers.TPESampler(seed=seed)
    if spec.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler(spec.grid_space(), seed=seed)


def _suggest(trial: Any, p: Param) -> Any:
    if p.kind == "categorical":
        return trial.suggest_categorical(p.name, list(p.choices))
    if p.kind == "int":
        return trial.suggest_int(p.name, int(p.low or 0), int(p.high or 0))
    return trial.suggest_float(p.name, float(p.low or 0), float(p.high or 0), log=p.log, step=p.step)


def _fingerprint(config: Path, space: Path) -> str:
    return hashlib.sha256(config.read_bytes() + b"\0" + space.read_bytes()).hexdigest()


def open_study(
    spec: SweepSpec,
    study_dir: Path,
    *,
    seed: int = 0,
    heartbeat_interval: int = 60,
    grace_period: int | None = None,
    max_retry: int = 3,
    fingerprint: str = "",
) -> Any:
    """The sweep's Optuna study in ``study_dir/study.db``, created or loaded (same space and config only)."""
    from alignforge._deps import require

    optuna = require("optuna", extra="sweep")
    study_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # heartbeat_interval is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.RDBStorage(
            url=f"sqlite:///{(study_dir / STUDY_DB).resolve()}",
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=max_retry
            ),
        )
    study = optuna.create_study(
        storage=storage,
        sampler=_sampler(spec, seed),
        study_name=spec.name,
        direction=spec.goal,
        load_if_exists=True,
    )
    held = study.user_attrs.get("fingerprint")
    if held is None:
        study.set_user_attr("fingerprint", fingerprint)
        study.set_user_attr("metric", spec.metric)
    elif held != fingerprint:
        raise ConfigError(
            f"{study_dir / STUDY_DB}: study {spec.name!r} was run with another config or space; "
            "resume it with the same files or give a new --study-dir"
        )
    if study.direction.name.lower() != spec.goal:
        raise ConfigError(
            f"{study_dir / STUDY_DB}: study {spec.name!r} {study.direction.name.lower()}s, not {spec.goal}"
        )
    return study


def run_sweep(
    config: str | os.PathLike[str],
    space: str | os.PathLike[str],
    *,
    trials: int,
    study_dir: str | os.PathLike[str],
    seed: int = 0,
    heartbeat_interval: int = 60,
    grace_period: int | None = None,
    max_retry: int = 3,
    win_rate: WinRate | None = None,
    echo: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run (or resume) a local Optuna sweep of ``train.dpo``; see the module docstring."""
    config, space, study_dir = Path(config), Path(space), Path(study_dir)
    if trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {trials}")
    from alignforge._deps import require

    optuna = require("optuna", extra="sweep")
    spec = load_space(space)
    sweep = _Sweep(config, spec, study_dir, win_rate)
    say = echo or (lambda _line: None)
    for note in spec.notes:
        say(f"note: {note}")

    study = open_study(
        spec,
        study_dir,
        seed=seed,
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        max_retry=max_retry,
        fingerprint=_fingerprint(config, space),
    )
    target = min(trials, spec.run_cap or trials)
    if spec.method == "grid":
        target = min(target, math.prod(len(v) for v in spec.grid_space().values()))

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, p) for name, p in spec.params.items()}
        trial.set_user_attr("output_dir", str(sweep.trial_dir(params)))
        say(f"trial {trial.number}: {_short(params)}")
        outcome = sweep.run(params, trial.number)
        for key in ("status", "gates", "failed_gates", "metrics", "output_dir", "overrides", "resumed_from"):
            trial.set_user_attr(key, getattr(outcome, key))
        if not outcome.passed:
            trial.set_user_attr("objective", outcome.metrics.get(METRICS[spec.metric] or ""))
            raise optuna.TrialPruned(f"{outcome.status}: {', '.join(outcome.failed_gates)}")
        assert outcome.value is not None
        return outcome.value

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    with warnings.catch_warnings():  # fail_stale_trials is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a dead trial past its grace period is re-queued first
    while len(study.get_trials(deepcopy=False, states=done)) < target:
        study.optimize(objective, n_trials=1)
        if spec.method == "grid" and _grid_exhausted(study, spec):
            break
    return _finish(study, sweep, spec, study_dir)


def _grid_exhausted(study: Any, spec: SweepSpec) -> bool:
    import optuna

    seen = {
        json.dumps(t.params, sort_keys=True)
        for t in study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        )
    }
    return len(seen) >= math.prod(len(v) for v in spec.grid_space().values())


def _outcome(t: Any) -> TrialOutcome:
    a = t.user_attrs
    return TrialOutcome(
        number=t.number,
        params=dict(t.params),
        overrides=dict(a.get("overrides") or {}),
        output_dir=str(a.get("output_dir") or ""),
        status=str(a.get("status") or t.state.name.lower()),
        value=t.value if t.state.name == "COMPLETE" else None,
        gates=list(a.get("gates") or []),
        failed_gates=list(a.get("failed_gates") or []),
        metrics=dict(a.get("metrics") or {}),
        state=t.state.name,
        retried_from=t.system_attrs.get("failed_trial"),
        resumed_from=a.get("resumed_from"),
    )


def _finish(study: Any, sweep: _Sweep, spec: SweepSpec, study_dir: Path) -> SweepResult:
    outcomes = [_outcome(t) for t in study.get_trials(deepcopy=False)]
    eligible = [t for t in outcomes if t.state == "COMPLETE" and t.passed and t.value is not None]
    pick = max if spec.goal == "maximize" else min
    best = pick(eligible, key=lambda t: t.value or 0.0) if eligible else None
    notes = [
        f"trial {t.number} is RUNNING: if its process is dead it is retried once its heartbeat is "
        "older than the grace period; run the same command again"
        for t in outcomes
        if t.state == "RUNNING"
    ]
    best_path = _write_best(sweep, best, study_dir) if best is not None else None
    results = study_dir / RESULTS
    body = {
        "metric": spec.metric,
        "goal": spec.goal,
        "method": spec.method,
        "best": asdict(best) if best else None,
        "trials": [asdict(t) for t in outcomes],
    }
    _atomic(results, json.dumps(body, indent=2, default=str) + "\n")
    return SweepResult(study_dir, spec.metric, spec.goal, outcomes, best, best_path, results, notes)


def _write_best(sweep: _Sweep, best: TrialOutcome, study_dir: Path) -> Path:
    """The DPO config as the user wrote it, with the best trial's values set."""
    import yaml

    raw = yaml.safe_load(sweep.config.read_text()) or {}
    for dotted, value in best.overrides.items():
        section, _, key = dotted.partition(".")
        if section == "logging" and section not in raw and "checkpointing" in raw:
            section = "checkpointing"
        raw.setdefault(section, {})[key] = value
    for section, key in _FILE_KEYS:  # relative to the config file, which the best config is not beside
        value = (raw.get(section) or {}).get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            near = Path(value) if Path(value).exists() else sweep.config.parent / value  # as load_config
            raw[section][key] = str(near.resolve())
    head = (
        f"# best trial {best.number} of the sweep in {study_dir}: {sweep.spec.metric} = {best.value:.6g} "
        f"({sweep.spec.goal}), gates passed\n# trained model: {best.output_dir}\n"
        f"# from {sweep.config} with {', '.join(f'{k}={v}' for k, v in best.overrides.items())}\n"
    )
    path = study_dir / BEST_CONFIG
    _atomic(path, head + yaml.safe_dump(raw, sort_keys=False))
    return path


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)

"""``alignforge sweep dpo``: a gated hyperparameter sweep of the DPO recipe (Optuna locally, or W&B)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS", "sweep"]

FILE = click.Path(dir_okay=False, path_type=Path)


@click.group("sweep")
def sweep() -> None:
    """Hyperparameter sweeps from the seed's W&B sweep_config.yaml; every trial gated.

    \b
    Example:
      alignforge sweep dpo --config dpo_config.yaml --space sweep_config.yaml --trials 20
    """


@sweep.command("dpo")
@click.option("--config", "config_path", required=True, type=FILE, help="The DPO config (train dpo's YAML).")
@click.option("--space", "space_path", required=True, type=FILE, help="The sweep config (W&B format).")
@click.option(
    "--trials", type=int, default=20, show_default=True, help="Finished trials the study should hold."
)
@click.option(
    "--study-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sweeps/dpo"),
    show_default=True,
    help="Study database, one folder per trial, the best config.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The sampler's seed.")
@click.option(
    "--backend",
    type=click.Choice(["optuna", "wandb"]),
    default="optuna",
    show_default=True,
    help="optuna: a local study in SQLite; wandb: a W&B sweep with a local agent (needs wandb).",
)
@click.option(
    "--heartbeat", type=int, default=60, show_default=True, help="Seconds between trial heartbeats."
)
@click.option(
    "--grace-period",
    type=int,
    help="Seconds without a heartbeat before a RUNNING trial counts as dead and is retried [2 x heartbeat].",
)
@click.option("--judge", help="Judge model spec, for metric validation/win_rate.")
@click.option("--prompts", type=FILE, help="Held-out prompts (JSONL), for metric validation/win_rate.")
@click.option("--baseline", help="Baseline model spec for the win rate [local:<the config's policy model>].")
@click.option("--winrate-limit", type=int, help="Judge at most this many prompts per trial.")
def dpo(
    config_path: Path,
    space_path: Path,
    trials: int,
    study_dir: Path,
    seed: int,
    backend: str,
    heartbeat: int,
    grace_period: int | None,
    judge: str | None,
    prompts: Path | None,
    baseline: str | None,
    winrate_limit: int | None,
) -> None:
    """Sweep train dpo's hyperparameters; the best gated trial's config is written as YAML.

    \b
    Example:
      alignforge sweep dpo --config dpo_config.yaml --space sweep_config.yaml --trials 20
      alignforge sweep dpo --config dpo_config.yaml --space sweep_config.yaml --study-dir sweeps/exp1
      alignforge sweep dpo --config c.yaml --space s.yaml --judge local --prompts heldout.jsonl
    """
    import os

    from alignforge.errors import ConfigError
    from alignforge.sweep.runner import WinRate

    win = None
    if judge or prompts:
        if not (judge and prompts):
            raise ConfigError("--judge and --prompts go together (the win rate needs both)")
        if baseline is None:
            from alignforge.train import load_config

            model = load_config(config_path, "dpo").model
            baseline = f"local:{model.get('policy_model') or model['base_model']}"
        win = WinRate(judge=judge, prompts=prompts, baseline=baseline, limit=winrate_limit)
    if backend == "wandb":
        from alignforge.sweep.wandb_backend import run_wandb_sweep

        sweep_id = run_wandb_sweep(config_path, space_path, trials=trials, study_dir=study_dir, win_rate=win)
        click.echo(f"W&B sweep {sweep_id}: {trials} trials run here")
        return
    if os.environ.get("WANDB_API_KEY"):
        click.echo("note: W&B is configured; --backend wandb runs this as a W&B sweep", err=True)
    from alignforge._deps import require
    from alignforge.sweep.runner import run_sweep

    optuna = require("optuna", extra="sweep")

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # alignforge prints each trial itself

    result = run_sweep(
        config_path,
        space_path,
        trials=trials,
        study_dir=study_dir,
        seed=seed,
        heartbeat_interval=heartbeat,
        grace_period=grace_period,
        win_rate=win,
        echo=lambda line: click.echo(line, err=True),
    )
    for line in result.lines():
        click.echo(line)
    if result.best is None:
        from alignforge.errors import GateFailure

        raise GateFailure(f"no trial of the sweep in {study_dir} passed its gates")


COMMANDS = [sweep]

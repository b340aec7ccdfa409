"""``alignforge train <stage> --config FILE``: parses options, runs the ``train.<stage>`` stage, prints its summary."""

from __future__ import annotations

import click

__all__ = ["COMMANDS", "train"]

_STAGES = {
    "sft": "Supervised fine-tuning on messages or prompt/completion rows.",
    "reward": "A reward model (sequence classifier) on preference pairs; train/validation accuracy gates.",
    "dpo": "Direct preference optimisation with KL, margin and log-prob monitors.",
    "kto": "KTO on prompt/completion/label rows.",
    "grpo": "GRPO with verifiers (math equivalence, code tests) as reward functions.",
    "raft": "RAFT cycles: sample N per prompt, verify, keep passing samples, SFT on them; pass@k per cycle.",
}


@click.group("train")
def train() -> None:
    """Training stages over TRL, with model gates, monitors and a run card.

    \b
    Example:
      alignforge train dpo --config examples/dpo_config.yaml
      alignforge train raft --config examples/seeds/validation_run.yaml --set model.name=embedded
      accelerate launch --num_processes 2 -m alignforge train dpo --config examples/dpo_config.yaml
    """


def _make(stage: str, summary: str) -> click.Command:
    @click.command(
        stage,
        help=f"""{summary}

    \b
    Example:
      alignforge train {stage} --config examples/{"dpo_config" if stage == "dpo" else stage}.yaml
      alignforge train {stage} --config my.yaml --set training.max_steps=10 --set logging.output_dir=out
    """,
    )
    @click.option(
        "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="YAML config."
    )
    @click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="SECTION.KEY=VALUE",
        help="Override one config key (YAML value), repeatable.",
    )
    def command(config_path: str, overrides: tuple[str, ...]) -> None:
        import yaml

        from alignforge.errors import ConfigError
        from alignforge.train import check_runnable, is_main_process, load_config, run_training

        parsed = {}
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep or "." not in key:
                raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE")
            parsed[key] = yaml.safe_load(value)
        cfg = load_config(config_path, stage, overrides=parsed)
        check_runnable(cfg)  # models, device, precision: one line naming the --set fixes, before any load
        if is_main_process():
            for note in cfg.notes:
                click.echo(f"note: {note}", err=True)
        _quiet()
        summary = run_training(cfg)  # NotTrained (exit 1) and GateFailure under on_fail: stop raise
        if not is_main_process():
            return
        for line in summary.lines():
            click.echo(line)
        if not summary.passed:
            click.echo(
                "gates failed (on_fail: flag): the model is saved and flagged in the run card", err=True
            )

    return command


def _quiet() -> None:
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()


for _stage, _summary in _STAGES.items():
    train.add_command(_make(_stage, _summary))


@train.command("init-check")
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="DPO YAML config."
)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), help="Folder (default: <output_dir>/init_check)."
)
def init_check(config_path: str, out_dir: str | None) -> None:
    """Stage 3 before any DPO step: frozen reference, policy a copy of it, tokenizer and architecture
    match, initial KL ~ 0, DPO loss ~ ln 2, implicit rewards ~ 0 (exit 1 when a gate fails).

    \b
    Example:
      alignforge train init-check --config examples/dpo_config.yaml
    """
    from alignforge.errors import GateFailure
    from alignforge.stages import run_stage
    from alignforge.train import load_config
    from alignforge.train.init_check import from_config

    stage = from_config(load_config(config_path, "dpo"), out_dir=out_dir)
    _quiet()
    summary = run_stage(stage)
    for line in summary.lines():
        click.echo(line)
    if not summary.passed:
        failed = ", ".join(g["name"] for g in summary.gates if not g["passed"])
        raise GateFailure(f"train init-check: gates failed: {failed} ({summary.output})")


@train.command("reward-filter")
@click.option(
    "--model", "model_dir", required=True, type=click.Path(file_okay=False), help="train reward's output."
)
@click.option("--pairs", required=True, type=click.Path(dir_okay=False), help="DPO pairs to filter (JSONL).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Kept pairs; OUT.dropped.jsonl beside."
)
@click.option(
    "--batch-size", default=8, show_default=True, type=click.IntRange(min=1), help="Pairs scored at once."
)
def reward_filter(model_dir: str, pairs: str, out: str, batch_size: int) -> None:
    """Stage 4 (optional): drop the pairs the reward model disagrees with (reward(chosen) <= reward(rejected)),
    each with its reason and both rewards.

    \b
    Example:
      alignforge train reward-filter --model out/reward --pairs pairs_train.jsonl --out pairs_train.rm.jsonl
    """
    from alignforge.train.reward_filter import filter_pairs

    _quiet()
    summary = filter_pairs(model_dir, pairs, out, batch_size=batch_size)
    for line in summary.lines():
        click.echo(line)


COMMANDS = [train]

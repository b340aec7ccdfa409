"""Which names a gates file may use: the row gates each data stage knows, and the figures each
stage's dataset gates can read, derived by running the code that computes them on no rows.

An unknown figure name is refused with the nearest known one (``did you mean ...?``).
"""

from __future__ import annotations

from difflib import get_close_matches
from functools import cache
from typing import Any

from alignforge.errors import ConfigError

__all__ = ["ROW_GATES"]

_STAGE_OF_KIND = {
    "dpo": "preference_data",
    "sft": "sft_data",
    "kto": "kto_data",
    "grpo": "grpo_data",
    "rlvr": "rlvr_data",
}
# Row-level gates each stage knows: a bounded gate takes {min/max}; a check takes true/false.
ROW_GATES: dict[str, dict[str, str]] = {
    "preference_data": {
        "chosen_score": "bounds",
        "rejected_score": "bounds",
        "score_gap": "bounds",
        "not_identical": "check",
        "unique": "check",
        "no_conflict": "check",
    },
    "sft_data": {"messages_valid": "check", "score": "bounds", "renders": "check"},
    "kto_data": {},
    "grpo_data": {"prompt_only": "check", "reward_spec": "check"},
    "rlvr_data": {"tests_per_task": "bounds", "entry_point_in_prompt": "check", "unique_task_id": "check"},
}


# --- The figures a stage's gates can read, derived from the code that computes them ---------------

_KIND_OF_STAGE = {stage: kind for kind, stage in _STAGE_OF_KIND.items()}
_NUMBER = "number"
_ANY_KEYS = "mapping keyed by the data"
_TYPE_WORDS = {"list": "a list", "str": "text"}


def _shape(value: Any) -> Any:
    """A figure's shape: a number (None is an unmeasured one), a dict of the shapes of a mapping with
    fixed keys, :data:`_ANY_KEYS` for a mapping whose keys come from the rows, else the type's name."""
    if isinstance(value, dict):
        return {str(k): _shape(v) for k, v in value.items()} if value else _ANY_KEYS
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return _NUMBER
    return type(value).__name__


@cache
def _figures_of(stage: str) -> dict[str, Any]:
    """The figures ``stage``'s gates can read, with their shapes."""
    if stage in ("dpo_training", "reward_model", "rl_training"):
        from alignforge.train.gates import UNITS  # the metrics training writes and its gates read

        return dict.fromkeys(UNITS, _NUMBER)
    if stage == "evaluation":
        from alignforge.evaluate.retention import capability_retention
        from alignforge.evaluate.winrate import winrate_stats

        figures = {**capability_retention({"b": 1.0}, {"b": 1.0}), **winrate_stats([2.0])}
        figures["per_benchmark"] = {}  # keyed by the suites scored
    else:
        from alignforge.quality._check_scan import make_accumulator
        from alignforge.quality._decontam import _section_figures
        from alignforge.records import Kind

        acc = make_accumulator(Kind(_KIND_OF_STAGE[stage]), {}, verdicts={})
        try:
            figures = acc.finish()  # an empty pass names every figure the kind computes
        finally:
            acc.cleanup()
        figures.update(_section_figures("", {"decontamination_score": 1.0, "per_benchmark": {}}, ""))
        # What check adds itself: the decontamination scan's and the review's figures, the reader's counts.
        figures.update(
            contaminated_rows=0,
            decontamination_source={},
            review_disagreement=None,
            review_decided=0,
            review_covered_share=None,
            invalid_rows=0,
            blank_lines=0,
            blank_line_numbers=[],
            warnings=[],
        )
    return {k: _shape(v) for k, v in figures.items()}


def _unknown_figure(path: str, stage: str, name: str, dotted: str, siblings: dict[str, Any]) -> str:
    close = get_close_matches(dotted.rsplit(".", 1)[-1], list(siblings), n=1)
    prefix = dotted.rsplit(".", 1)[0] + "." if "." in dotted else ""
    numbers = sorted(k for k, shape in siblings.items() if shape == _NUMBER)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; its numbers are {', '.join(numbers)}"
    if stage in ("dpo_training", "reward_model", "rl_training"):
        from alignforge.train.gates import _GATES_STAGE

        who = " / ".join(k for k, v in _GATES_STAGE.items() if v == stage)
        return f"{path}: {stage}.{name}: train {who} measures no such metric{hint}"
    return f"{path}: unknown gate '{stage}.{name}': {stage} has no figure '{dotted}'{hint}"


def _check_figure(path: str, stage: str, name: str) -> None:
    """A dataset gate's name must be a number ``stage`` computes (dotted for an entry of a mapping)."""
    known = _figures_of(stage)
    node: Any = known
    walked: list[str] = []
    for part in name.split("."):
        if node == _ANY_KEYS:
            return  # an entry of a mapping keyed by the rows (flaw types, benchmarks, domains)
        if not isinstance(node, dict):
            what = "a number" if node == _NUMBER else _TYPE_WORDS.get(node, node)
            raise ConfigError(
                f"{path}: gate '{stage}.{name}': figure '{'.'.join(walked)}' is {what}; it has no entry '{part}'"
            )
        walked.append(part)
        if part not in node:
            raise ConfigError(_unknown_figure(path, stage, name, ".".join(walked), node))
        node = node[part]
    if node == _NUMBER:
        return
    if isinstance(node, dict) or node == _ANY_KEYS:
        keys = node if isinstance(node, dict) else known.get(f"{name}_target")
        example = next(iter(keys)) if isinstance(keys, dict) and keys else "NAME"
        raise ConfigError(
            f"{path}: gate '{stage}.{name}' reads figure '{name}', which is a mapping, not a number; "
            f"gate one entry with a dotted name such as '{name}.{example}'"
        )
    raise ConfigError(
        f"{path}: gate '{stage}.{name}' reads figure '{name}', which is {_TYPE_WORDS.get(node, node)}, not a number"
    )

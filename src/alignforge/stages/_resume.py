"""What :func:`~alignforge.stages.run_stage` checks about the outputs an earlier run left.

A stage that resumes by key (:attr:`~alignforge.stages.Stage.resumes_by_key`) appends to its outputs
and skips the rows already there by id, input line or sample index, without asking where they came
from. Rows an earlier run made from other inputs or parameters, or rows edited after a run finished,
would then be kept as this run's, and the record would say ``finished`` for outputs this run did not
produce. :func:`refuse_stale_outputs` refuses both (exit 2) before anything is written, naming what
changed and how to start over. :func:`output_state` is what says whether a failed run touched its
outputs at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignforge.errors import ConfigError
from alignforge.stages.record import StageRecord, _hashed_files, canonical, stat_key

if TYPE_CHECKING:
    from alignforge.stages.contract import Stage

__all__ = ["refuse_stale_outputs", "output_state"]


def refuse_stale_outputs(
    stage: Stage, previous: StageRecord | None, fp: str, digests: dict[str, dict[str, Any]]
) -> None:
    """Raise :class:`~alignforge.errors.ConfigError` when ``stage`` would resume from outputs that
    ``previous`` (the record found beside them) says were made from other inputs or parameters than
    those named in :attr:`~alignforge.stages.Stage.resume_may_change`, or that were changed after that
    run finished. ``fp`` is this run's fingerprint (``""`` while an input is still to be hashed:
    then only the inputs with a known hash are compared). Empty outputs hold nothing to resume from."""
    if previous is None or not stage.resumes_by_key or stage.starts_over():
        return
    filled = _filled_outputs(stage)
    if not filled:
        return
    rec_path = stage.record_path()
    if previous.stage != stage.name:
        raise ConfigError(
            f"{stage.name}: {filled[0]} was written by stage {previous.stage!r} (record {rec_path}); "
            + _start_over(stage, filled, rec_path)
        )
    if not fp or previous.fingerprint != fp:
        changes = _changes(stage, previous, digests)
        blocking = [text for name, text in changes if name not in stage.resume_may_change]
        if blocking or (fp and previous.fingerprint and not changes):
            what = "; ".join(blocking) or f"record fingerprint {previous.fingerprint[:12]}, now {fp[:12]}"
            raise ConfigError(
                f"{stage.name}: {filled[0]} holds rows of a run made from other inputs or parameters "
                f"({what}; record {rec_path}); resuming would keep them as this run's. "
                + _start_over(stage, filled, rec_path)
            )
    stale = stage.stale_rows()
    if stale:
        raise ConfigError(
            f"{stage.name}: {stale}; resuming would keep them. " + _start_over(stage, filled, rec_path)
        )
    if previous.status == "finished":
        changed = previous.changed_outputs()
        if changed:
            raise ConfigError(
                f"{stage.name}: {changed[0]} was changed after the run that wrote it finished (its "
                f"content is not the one recorded in {rec_path}); resuming would build on the changed "
                "rows. " + _start_over(stage, filled, rec_path)
            )


def output_state(stage: Stage) -> dict[str, Any]:
    """Per output role: what says its content is unchanged (an empty or missing output: None)."""
    return {role: stat_key(p) if _has_content(p) else None for role, p in stage.outputs().items()}


def _filled_outputs(stage: Stage) -> list[str]:
    """The outputs with content, the main one first."""
    outputs = stage.outputs()
    order = sorted(outputs, key=lambda role: role != "out")
    return [os.fspath(outputs[role]) for role in order if _has_content(outputs[role])]


def _has_content(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    try:
        if p.is_file():
            return p.stat().st_size > 0
        return p.is_dir() and bool(_hashed_files(p))
    except OSError:
        return False


def _changes(
    stage: Stage, previous: StageRecord, digests: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    """(name, what changed) for each input (by content) and parameter that differs from the record."""
    found: list[tuple[str, str]] = []
    old_inputs = previous.inputs or {}
    for role in sorted(set(digests) | set(old_inputs)):
        new, old = digests.get(role), old_inputs.get(role)
        if new is None:
            found.append((role, f"input {role!r} is no longer given"))
            continue
        if not isinstance(old, dict):
            found.append((role, f"input {role!r} ({new.get('path')}) was not an input then"))
            continue
        was, now = old.get("sha256"), new.get("sha256")
        if was is None or now is None or was == now:
            continue  # a hash not known yet (hashed by the stage's pass) cannot be compared
        if now == "-":
            found.append((role, f"input {role!r} ({new.get('path')}) is missing"))
        else:
            found.append((role, f"input {role!r} ({new.get('path')}) has other content"))
    old_params, new_params = previous.params or {}, canonical(stage.params())
    for key in sorted(set(old_params) | set(new_params)):
        if key not in old_params:
            found.append((key, f"parameter {key!r} is new ({_shown(new_params[key])})"))
        elif key not in new_params:
            found.append((key, f"parameter {key!r} is gone (was {_shown(old_params[key])})"))
        elif old_params[key] != new_params[key]:
            found.append(
                (key, f"parameter {key!r} was {_shown(old_params[key])}, now {_shown(new_params[key])}")
            )
    return found


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _start_over(stage: Stage, filled: list[str], rec_path: Path) -> str:
    fresh = f", or rerun with {stage.fresh_option}" if stage.fresh_option else ""
    return f"Start over (delete {', '.join(filled)} and {rec_path}{fresh}) or write to another output path"

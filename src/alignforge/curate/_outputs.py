"""Output files that appear whole or not at all (dedup and decontaminate).

Both stages carry state from row to row (the hashes seen so far, the per-benchmark tally), so a
killed run is redone from the start rather than continued. Each output is written to a temporary
name beside it and renamed when the run completes; a run that raised deletes its temporaries, and
one that was killed leaves a temporary that the next run over the same output removes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from alignforge.io import dumps

__all__ = ["AtomicOutputs"]

_TMP = ".tmp"


def _tmp_name(final: Path, pid: int) -> Path:
    return final.with_name(f".{final.name}{_TMP}{pid}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(final: Path) -> list[Path]:
    """Delete what a killed run left for ``final`` (``.NAME.tmpPID`` whose process is gone)."""
    removed: list[Path] = []
    prefix = f".{final.name}{_TMP}"
    if not final.parent.is_dir():
        return removed
    for p in final.parent.iterdir():
        pid = p.name[len(prefix) :] if p.name.startswith(prefix) else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


class AtomicOutputs:
    """JSONL files by role, written to temporary names and renamed when :meth:`close` commits.

    A role whose path is None is not written. Each file's sha256 and row count are taken from the
    bytes as they are written.
    """

    def __init__(self, **paths: str | os.PathLike[str] | None) -> None:
        self._w: dict[str, tuple[Any, Path, Path]] = {}
        self.sha256: dict[str, Any] = {}
        self.rows: dict[str, int] = {}
        for name, p in paths.items():
            if p is None:
                continue
            final = Path(p)
            final.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(final)
            tmp = _tmp_name(final, os.getpid())
            self._w[name] = (open(tmp, "wb"), tmp, final)  # noqa: SIM115 - closed in close()
            self.sha256[name] = hashlib.sha256()
            self.rows[name] = 0

    def write(self, name: str, row: dict[str, Any]) -> None:
        if name in self._w:
            data = dumps(row)
            self._w[name][0].write(data)
            self.sha256[name].update(data)
            self.rows[name] += 1

    def close(self, *, commit: bool) -> None:
        """Rename every file into place (``commit``) or delete them all."""
        for fh, tmp, final in self._w.values():
            fh.close()
            if commit:
                os.replace(tmp, final)
            else:
                tmp.unlink(missing_ok=True)

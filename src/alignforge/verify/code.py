"""``HumanEvalVerifier`` / ``MBPPVerifier``: verify one piece of code against one task, the seed's API."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable, Mapping
from typing import Any

from alignforge.verify.engine import VerdictCache, verify_completions
from alignforge.verify.tasks import load_tasks

__all__ = ["CodeVerifier", "HumanEvalVerifier", "MBPPVerifier", "RLVRPytestVerifier"]


class CodeVerifier:
    """Verifies code for the tasks of one file; keeps a warm sandbox pool until :meth:`close`."""

    completion_style = "full"

    def __init__(
        self,
        tasks: str | os.PathLike[str] | Mapping[str, Any],
        *,
        workers: int | None = None,
        timeout_s: float = 5.0,
        partial: bool = False,
        isolation: str = "process",
    ) -> None:
        self.tasks = load_tasks(tasks)
        self.workers, self.timeout_s, self.partial, self.isolation = workers, timeout_s, partial, isolation
        self.cache = VerdictCache()
        self._pool: Any = None

    @property
    def pool(self) -> Any:
        if self._pool is None:
            from alignforge.verify._pool import SandboxPool

            self._pool = SandboxPool(self.workers or 1, isolation=self.isolation)
            atexit.register(self.close)
        return self._pool

    def verify(self, code: str, *, task_id: str | int, completion_style: str | None = None) -> dict[str, Any]:
        """One verdict dict (``passed``, ``reward``, ``status``, ``tests``, ...)."""
        row = {
            "task_id": str(task_id),
            "completion": code,
            "completion_style": completion_style or self.completion_style,
        }
        return next(iter(self.verify_many([row])))

    def verify_many(self, rows: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
        return verify_completions(
            self.tasks, rows, timeout_s=self.timeout_s, partial=self.partial, cache=self.cache, pool=self.pool
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> CodeVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HumanEvalVerifier(CodeVerifier):
    """HumanEval tasks: code is the whole function, or (``completion_style="body"``) its continuation."""

    completion_style = "full"


class MBPPVerifier(CodeVerifier):
    """MBPP tasks: complete code checked by the task's assert list (with ``test_setup_code``)."""


class RLVRPytestVerifier(CodeVerifier):
    """Tasks whose tests are pytest-style ``test_*`` functions, run inside the sandbox worker."""

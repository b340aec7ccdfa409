"""The pool: long-lived worker processes, one job at a time each, restarted when they fail.

Workers start as fresh interpreters with a scrubbed environment (no API keys or
tokens are passed on). The pool holds a backstop deadline per job on top of the
worker's own limits, so even a hung test file cannot stall a run.

A pool with one worker per CPU it may use pins each worker to a CPU; its
zygote, forker and candidates inherit the pin. A worker and its candidate answer each other
call by call, and left to itself the scheduler queues both on one CPU while another idles
(bench/BENCHMARKS.md, 2026-12-05 second entry). A pin is a scheduling hint, not isolation.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from alignforge.verify._protocol import (
    ChannelClosed,
    ChannelTimeout,
    ProtocolError,
    error_verdict,
    read_frame,
    write_frame,
)

_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "AF_VERIFY_CHILD_CPU")
ISOLATIONS = ("process", "bwrap")


def _bwrap_prefix() -> list[str]:
    exe = shutil.which("bwrap")
    if exe is None:
        from alignforge.errors import AlignforgeError

        raise AlignforgeError("--isolation bwrap needs bubblewrap: apt-get install -y bubblewrap")
    binds: list[str] = []
    pkg_root = str(Path(__file__).resolve().parents[2])
    for path in sorted(
        {
            "/usr",
            "/lib",
            "/lib64",
            "/bin",
            "/etc/alternatives",
            sys.prefix,
            sys.base_prefix,
            os.path.realpath(sys.executable).rsplit("/bin/", 1)[0],
            pkg_root,
        }
    ):
        if os.path.exists(path):
            binds += ["--ro-bind", path, path]
    # No user namespace: as root the zygote keeps the power to drop each child to its own uid.
    unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    if os.geteuid() != 0:
        unshare.append("--unshare-user")
    # The fresh /proc, /dev and /tmp first: a bind listed after them shows through (a venv under /tmp).
    return [
        exe,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        *binds,
        *unshare,
        "--die-with-parent",
        "--new-session",
        *(["--cap-add", "ALL"] if os.geteuid() == 0 else []),
        "--",
    ]


def cpu_plan(size: int) -> list[int] | None:
    """The CPU of each of ``size`` workers: one each of the CPUs this process may use, when there are
    exactly ``size``; else None (no pins). With two or more workers on a CPU a pinned one could not move
    to a CPU left idle, and its candidates would reach the wall-clock limit before their CPU limit."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus if size == len(cpus) else None


_COMPILED_KEEP = 4096  # tasks whose compiled tests the pool keeps for workers that have not had them


class _Worker:
    def __init__(self, config: dict[str, Any], cpu: int | None = None) -> None:
        import json

        self.cpu = cpu
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-P",  # not the caller's cwd on sys.path: an inspect.py there would run in the worker
                "-m",
                "alignforge.verify._worker",
                json.dumps({**config, "parent_pid": os.getpid(), "cpu": cpu}),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.w, self.r = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self.sent: set[str] = set()  # task keys this worker already holds

    def call(self, msg: dict[str, Any], timeout: float, max_bytes: int = 1 << 30) -> dict[str, Any]:
        import time

        write_frame(self.w, pickle.dumps(msg))
        return pickle.loads(read_frame(self.r, deadline=time.monotonic() + timeout, max_bytes=max_bytes))

    def kill(self, *, graceful: bool = False) -> None:
        """SIGKILL the worker's process group; ``graceful`` first lets an idle worker exit on EOF
        (it then removes what its zygote left on a shared /tmp)."""
        if graceful and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


class SandboxPool:
    """``workers`` sandbox workers; :meth:`run` is thread-safe and blocks until a verdict."""

    pin = True  # pin the workers to CPUs when :func:`cpu_plan` can
    max_reply_bytes = 1 << 30  # a worker's reply past this loses the worker (killed, replaced) and the job

    def __init__(
        self, workers: int | None = None, *, isolation: str = "process", tmpfs_mb: int = 256
    ) -> None:
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        self.size = workers or os.cpu_count() or 1
        self.config = {"tmpfs_mb": tmpfs_mb, "prefix": _bwrap_prefix() if isolation == "bwrap" else []}
        self.isolation = isolation
        self.cpus = cpu_plan(self.size) if self.pin else None
        self._compiled: OrderedDict[str, bytes | None] = OrderedDict()  # task key -> compiled tests
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            for i in range(self.size):
                self._add(self.cpus[i] if self.cpus else None)
            self.info = self._info()
        except BaseException:  # a worker that cannot start: leave no process behind
            self.close()
            raise

    def _add(self, cpu: int | None) -> None:
        w = _Worker(self.config, cpu)
        with self._lock:
            self._all.append(w)
        self._idle.put(w)

    def _info(self) -> dict[str, Any]:
        w = self._idle.get()
        try:
            info = w.call({"op": "info"}, 60)
        finally:
            self._idle.put(w)
        return {"isolation": self.isolation, **info}

    @property
    def fallback(self) -> str | None:
        """One line saying what isolation the sandbox fell back to, or None when it got all of it."""
        net, fs = str(self.info.get("network", "")), str(self.info.get("filesystem", ""))
        lost = []
        if self.isolation != "bwrap" and not net.startswith("new network namespace"):
            lost.append(f"network {net}")
        if not self.info.get("private_tmp"):
            lost.append(f"filesystem: {fs or 'host filesystem visible'}; /tmp shared between samples")
        if not lost:
            return None
        kept = "its own uid, " if self.info.get("uid_switch") else ""
        return (
            f"sandbox isolation fell back: {'; '.join(lost)}. Each candidate still runs in a separate "
            f"process with {kept}CPU, memory and file-size limits and a scrubbed environment"
        )

    def _compiled_for(self, key: str, task: dict[str, Any] | None) -> bytes | None:
        """The task's tests compiled once for every worker (:func:`compile_for_workers`); the last
        ``_COMPILED_KEEP`` tasks are kept, and a task compiled again after that is the same bytes."""
        if task is None:
            return None
        with self._lock:
            if key in self._compiled:
                self._compiled.move_to_end(key)
                return self._compiled[key]
        from alignforge.verify._suites import compile_for_workers

        data = compile_for_workers(task)  # outside the lock; two threads may both compile one task
        with self._lock:
            self._compiled[key] = data
            while len(self._compiled) > _COMPILED_KEEP:
                self._compiled.popitem(last=False)
        return data

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        backstop = job["timeout_s"] * (job["wall_factor"] + 1) + 20
        key = str(job.get("task_key"))
        compiled = self._compiled_for(key, job.get("task"))  # before taking a worker: none waits on it
        w = self._idle.get()
        if self._closed:  # closed while this job waited: it ends here, and so does the next waiting one
            self._idle.put(w)
            return error_verdict("the sandbox pool was closed before this job ran")
        if key in w.sent:
            job = {**job, "task": None}
        elif job.get("task") is not None:
            job = {**job, "compiled": compiled}
        try:
            verdict = w.call(job, backstop, self.max_reply_bytes)
            w.sent.add(key)
        except (ChannelClosed, ChannelTimeout, ProtocolError, BrokenPipeError, OSError, EOFError) as exc:
            # the worker's channel is out of step (a reply unread, or half read): it is not used again
            w.kill()
            with self._lock:
                if w in self._all:  # close() may have taken the list already
                    self._all.remove(w)
            if self._closed:
                self._idle.put(w)  # dead: the next waiting job takes it and finds the pool closed
            else:
                self._add(w.cpu)  # the replacement takes the lost worker's CPU
            status = "timeout" if isinstance(exc, ChannelTimeout) else "error"
            return error_verdict(f"worker lost ({type(exc).__name__}); restarted", status, backstop)
        self._idle.put(w)
        return verdict

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = self._all, []
        for w in workers:
            if w.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    w.proc.stdin.close()  # all at once: the idle ones exit together
        for w in workers:
            w.kill(graceful=True)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

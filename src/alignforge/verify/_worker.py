"""The worker: runs a task's (trusted) tests against one sandboxed candidate per job.

Started by the pool as ``python -m alignforge.verify._worker CONFIG`` with a scrubbed
environment. It owns a zygote (a clean process that forks the candidates), talks to
each candidate over two pipes, records every test outcome itself, and answers the
pool with a verdict. Exit codes and the candidate's output never decide a pass.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from alignforge.verify._protocol import (
    ChannelClosed,
    ChannelTimeout,
    ProtocolError,
    RemoteRef,
    decode_tree,
    read_frame,
    write_frame,
)
from alignforge.verify._suites import Compiled, StopRun, compile_task, normalize_output

_DEBUG_CPU = bool(os.environ.get("AF_VERIFY_CHILD_CPU"))


class _Abort(BaseException):
    """Ends a run; ``status`` is the verdict status it implies."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class CandidateException(Exception):
    """A non-builtin exception raised by candidate code (name and message only)."""


class _Conn:
    def __init__(self, req_w: int, resp_r: int, deadline: float) -> None:
        self.req_w, self.resp_r, self.deadline = req_w, resp_r, deadline
        self.pending_load = False
        self.prefetched: dict[bytes, Any] = {}
        self.prefetch_calls: list[Any] = []

    def send_load(self, msg: dict[str, Any]) -> None:
        """Send the program without waiting; its reply is read before the first call's."""
        try:
            write_frame(self.req_w, pickle.dumps(msg))
        except BrokenPipeError:
            raise _Abort("died", "candidate process exited") from None
        self.pending_load = True

    def drain_load(self) -> None:
        if self.pending_load:
            self.pending_load = False
            try:
                self._reply()
            except Exception as exc:
                raise _Abort(
                    "error", f"program failed to load: {type(exc).__name__}: {str(exc)[:300]}"
                ) from None

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.drain_load()
        if self.prefetched:
            queue = self.prefetched.get(pickle.dumps((name, args, kwargs)))
            if queue:
                return self._interpret(queue.popleft())
        return self.request({"op": "call", "name": name, "args": args, "kwargs": kwargs})

    def request(self, msg: dict[str, Any]) -> Any:
        try:
            write_frame(self.req_w, pickle.dumps(msg))
        except BrokenPipeError:
            raise _Abort("died", "candidate process exited") from None
        self.drain_load()
        return self._reply()

    def _reply(self) -> Any:
        try:
            raw = read_frame(self.resp_r, deadline=self.deadline)
            reply = json.loads(raw)
            if type(reply) is dict and "pre" in reply:
                self._store_prefetched(reply.pop("pre"))
        except ChannelTimeout:
            raise _Abort("timeout", "time limit reached") from None
        except (ChannelClosed, BrokenPipeError):
            raise _Abort("died", "candidate process exited") from None
        except (ProtocolError, ValueError, RecursionError) as exc:
            raise _Abort("hack_suspected", f"malformed reply: {str(exc)[:200]}") from None
        return self._interpret(reply)

    def _store_prefetched(self, pre: Any) -> None:
        from collections import deque

        if type(pre) is not list or len(pre) != len(self.prefetch_calls):
            raise _Abort("hack_suspected", "malformed prefetch reply")
        for (name, args, kwargs), item in zip(self.prefetch_calls, pre, strict=True):
            if type(item) is not str:
                raise _Abort("hack_suspected", "malformed prefetch reply")
            self.prefetched.setdefault(pickle.dumps((name, args, kwargs)), deque()).append(json.loads(item))

    def _interpret(self, reply: Any) -> Any:
        if type(reply) is not dict:
            raise _Abort("hack_suspected", "malformed reply")
        if "v" in reply:
            try:
                return decode_tree(reply["v"])
            except (ProtocolError, TypeError, RecursionError) as exc:
                raise _Abort("hack_suspected", f"malformed value: {str(exc)[:200]}") from None
        if "ok" in reply:
            return None
        if "ref" in reply and type(reply["ref"]) is int:
            return RemoteRef(f"#{reply['ref']}")
        if "untrusted" in reply:
            name = str(reply["untrusted"])[:100]
            if reply.get("suspect"):
                raise _Abort("hack_suspected", f"returned a {name} whose type overrides comparison dunders")
            raise CandidateException(f"returned an object of type {name}, which cannot be compared safely")
        return _raise_candidate(reply)


def _raise_candidate(reply: dict[str, Any]) -> Any:
    name, msg = str(reply.get("exc", "")), str(reply.get("msg", ""))[:500]
    if name == "MemoryError":
        raise _Abort("memory", "MemoryError in candidate code")
    klass = getattr(builtins, name, None)
    if isinstance(klass, type) and issubclass(klass, Exception):
        raise klass(msg)
    raise CandidateException(f"{reply.get('name', name)}: {msg}")


class _Remote:
    def __init__(self, conn: _Conn, name: str) -> None:
        self._conn, self._name = conn, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            pickle.dumps((args, kwargs))
        except Exception as exc:
            raise TypeError(f"arguments cannot be sent to the sandbox: {exc}") from None
        return self._conn.call(self._name, args, kwargs)


class _Recorder:
    def __init__(self, units: list[str], partial: bool) -> None:
        self.outcomes: list[dict[str, Any] | None] = [None] * len(units)
        self.units, self.partial = units, partial

    def set(self, idx: int, outcome: str, detail: str = "") -> None:
        cur = self.outcomes[idx]
        if cur is None or (cur["outcome"] == "passed" and outcome != "passed"):
            self.outcomes[idx] = {
                "name": self.units[idx],
                "outcome": outcome,
                **({"detail": detail} if detail else {}),
            }
        if outcome != "passed" and not self.partial:
            raise StopRun()

    def check(self, idx: int, thunk: Any) -> None:
        try:
            ok = bool(thunk())
        except (_Abort, StopRun):
            raise
        except Exception as exc:
            self.set(idx, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
            return
        self.set(idx, "passed" if ok else "failed")


def _run_units(comp: Compiled, task: dict[str, Any], conn: _Conn, rec: _Recorder) -> None:
    ns: dict[str, Any] = {"__name__": "__af_tests__", "__af_check": rec.check}
    if comp.style == "humaneval":
        with contextlib.suppress(Exception):
            exec(comp.prompt_code, ns)
        exec(comp.codes[0], ns)
        proxy = _Remote(conn, task["entry_point"])
        ns[task["entry_point"]] = proxy
        try:
            ns["check"](proxy)
        except (_Abort, StopRun):
            raise
        except Exception as exc:  # the check body raised outside an assert
            first = next((i for i, o in enumerate(rec.outcomes) if o is None), None)
            if first is not None:
                rec.set(first, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
    elif comp.style == "mbpp":
        for line in task.get("test_imports") or []:
            exec(line, ns)
        for mod in comp.auto_imports:
            ns[mod] = __import__(mod)
        if task.get("test_setup_code") and not comp.setup_in_child:
            exec(task["test_setup_code"], ns)
        for name in comp.remote_names:
            ns[name] = RemoteRef(name)
        for name in comp.candidate_names:
            ns[name] = _Remote(conn, name)
        for i, code in enumerate(comp.codes):
            try:
                exec(code, ns)
            except (_Abort, StopRun):
                raise
            except Exception as exc:
                rec.set(i, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
    elif comp.style == "pytest":
        _run_pytest_style(comp, task, conn, rec, ns)
    elif comp.style == "stdio":
        for i, case in enumerate(task["tests"]):
            out = conn.request({"op": "stdio", "input": case["input"]})
            same = isinstance(out, str) and normalize_output(out) == normalize_output(case["output"])
            rec.set(i, "passed" if same else "failed")


class _SolutionModule:
    """Stands in for ``solution`` / the candidate module in ``from solution import f``."""

    def __init__(self, conn: _Conn) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Remote(self._conn, name)


def _run_pytest_style(
    comp: Compiled, task: dict[str, Any], conn: _Conn, rec: _Recorder, ns: dict[str, Any]
) -> None:
    module_name = task.get("module") or "solution"
    sys.modules[module_name] = _SolutionModule(conn)  # type: ignore[assignment]
    names = task.get("candidate_names") or ([task["entry_point"]] if task.get("entry_point") else [])
    for name in names:
        ns[name] = _Remote(conn, name)
    exec(comp.codes[0], ns)
    for name in names:  # a test module's own `from solution import f` rebinds to the same proxy kind
        ns.setdefault(name, _Remote(conn, name))
    for i, unit in enumerate(comp.units):
        try:
            ns[unit]()
        except (_Abort, StopRun):
            raise
        except AssertionError as exc:
            rec.set(i, "failed", str(exc)[:300])
            continue
        except Exception as exc:
            rec.set(i, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
            continue
        rec.set(i, "passed")


class _Zygote:
    def __init__(self, tmpfs_mb: int, prefix: list[str]) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: os.environ[k] for k in ("PATH", "PYTHONPATH", "LANG") if k in os.environ}
        uid_base = 1_500_000_000 + 2 * os.getpid()  # host pid: unique even when the zygote has its own pid ns
        cmd = [
            *prefix,
            sys.executable,
            "-m",
            "alignforge.verify._zygote",
            str(child.fileno()),
            str(tmpfs_mb),
            str(uid_base),
        ]
        self.proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL)
        child.close()
        self.sock = parent
        self.info: dict[str, Any] = pickle.loads(self.sock.recv(1 << 16))
        self.requested: dict[str, Any] | None = None

    def request_spawn(self, spec: dict[str, Any]) -> None:
        """Ask for the next child now; its pipes are collected by :meth:`spawn` (one round trip saved)."""
        self.sock.send(pickle.dumps({"op": "spawn", **spec}))
        self.requested = spec

    def spawn(self, spec: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
        if self.requested is None:
            self.request_spawn(spec)
        asked, self.requested = self.requested, None
        raw, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 16, 2)
        if not raw:
            raise ConnectionError("zygote closed")
        meta = pickle.loads(raw)
        if asked != spec:  # limits changed since the early request: discard that child
            for fd in fds:
                os.close(fd)
            self.finish(meta, want_status=False)
            return self.spawn(spec)
        return meta, fds

    def finish(self, meta: dict[str, Any], *, want_status: bool) -> dict[str, Any]:
        self.sock.send(pickle.dumps({"op": "finish", "want_status": want_status, **meta}))
        if not want_status:
            return {"status": 0, "cpu_s": None}
        raw = self.sock.recv(1 << 16)
        if not raw:
            raise ConnectionError("zygote closed")
        return pickle.loads(raw)

    def close(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()


def _verdict_status(rec: _Recorder, abort: _Abort | None, exit_info: dict[str, Any], cpu_limit: float) -> str:
    sig = os.WTERMSIG(exit_info["status"]) if os.WIFSIGNALED(exit_info["status"]) else 0
    if abort is not None:
        if abort.status == "died":
            if sig in (signal.SIGXCPU,) or (exit_info["cpu_s"] or 0.0) >= cpu_limit:
                abort.detail = f"CPU time limit of {cpu_limit:g} s reached"
                return "timeout"
            return "error"
        return abort.status
    if all(o is not None and o["outcome"] == "passed" for o in rec.outcomes) and rec.outcomes:
        return "passed"
    return "failed"


def run_job(
    zyg: _Zygote, job: dict[str, Any], cache: dict[str, tuple[dict[str, Any], Compiled]]
) -> dict[str, Any]:
    key = job["task_key"]
    if key not in cache:  # the pool sends each task to a worker once
        cache[key] = (job["task"], compile_task(job["task"]))
    task, comp = cache[key]
    rec = _Recorder(comp.units, job["partial"])
    t0 = time.monotonic()
    spec = {
        "cpu_s": job["timeout_s"],
        "memory_mb": job["memory_mb"],
        "fsize_mb": job["fsize_mb"],
        "nproc": 64,
    }
    meta, (req_w, resp_r) = zyg.spawn(spec)
    conn = _Conn(req_w, resp_r, t0 + job["timeout_s"] * job["wall_factor"] + 0.5)
    abort: _Abort | None = None
    try:
        load = {"op": "load", "program": job["program"], "stdio": comp.style == "stdio"}
        if comp.setup_in_child:
            load["setup"] = comp.setup_in_child
        if comp.prefetch:
            load["prefetch"] = comp.prefetch
            conn.prefetch_calls = comp.prefetch
        conn.send_load(load)
        try:
            _run_units(comp, task, conn, rec)
        finally:
            conn.drain_load()
    except StopRun:
        pass
    except _Abort as exc:
        abort = exc
    finally:
        os.close(req_w)
        os.close(resp_r)
        exit_info = zyg.finish(meta, want_status=(abort is not None and abort.status == "died") or _DEBUG_CPU)
        zyg.request_spawn(spec)
    status = _verdict_status(rec, abort, exit_info, job["timeout_s"])
    tests = [o or {"name": u, "outcome": "not_run"} for o, u in zip(rec.outcomes, comp.units, strict=True)]
    n_pass = sum(t["outcome"] == "passed" for t in tests)
    reward = 1.0 if status == "passed" else 0.0
    if job["partial"] and status in ("passed", "failed") and tests:
        reward = n_pass / len(tests)
    out = {
        "passed": status == "passed",
        "reward": reward,
        "status": status,
        "tests": tests,
        "duration_s": round(time.monotonic() - t0, 6),
        **({"cpu_s": round(exit_info["cpu_s"], 4)} if exit_info["cpu_s"] is not None else {}),
    }
    if abort is not None:
        out["detail"] = abort.detail
    return out


def main() -> None:
    config = json.loads(sys.argv[1])
    chan_in, chan_out = 0, os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    zyg: _Zygote | None = None
    cache: dict[str, tuple[dict[str, Any], Compiled]] = {}
    while True:
        try:
            job = pickle.loads(read_frame(chan_in, max_bytes=1 << 30))
        except ChannelClosed:
            break
        if zyg is None or zyg.proc.poll() is not None:
            if zyg is not None:
                zyg.close()
            zyg = _Zygote(config["tmpfs_mb"], config.get("prefix") or [])
        if job.get("op") == "info":
            write_frame(chan_out, pickle.dumps(zyg.info))
            continue
        try:
            verdict = run_job(zyg, job, cache)
        except (ConnectionError, OSError) as exc:  # the zygote died under us: a candidate killed its parent
            zyg.close()
            zyg = None
            verdict = {
                "passed": False,
                "reward": 0.0,
                "status": "hack_suspected",
                "tests": [],
                "duration_s": 0.0,
                "detail": f"sandbox parent lost: {exc}",
            }
        write_frame(chan_out, pickle.dumps(verdict))
    if zyg is not None:
        zyg.close()


if __name__ == "__main__":
    main()

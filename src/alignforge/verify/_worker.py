"""The worker: runs a task's (trusted) tests against one sandboxed candidate per job.

Started by the pool as ``python -m alignforge.verify._worker CONFIG`` with a scrubbed
environment. It owns a zygote (a clean process that forks the candidates), talks to
each candidate over two pipes, records every test outcome itself, and answers the
pool with a verdict. Exit codes and the candidate's output never decide a pass.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import marshal
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import warnings
from typing import Any

from alignforge.verify._calls import Abort, Conn, Remote
from alignforge.verify._protocol import ChannelClosed, RemoteRef, error_verdict, read_frame, write_frame
from alignforge.verify._suites import Compiled, StopRun, compile_task, load_compiled, normalize_output

_DEBUG_CPU = bool(os.environ.get("AF_VERIFY_CHILD_CPU"))


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
        except (Abort, StopRun):
            raise
        except Exception as exc:
            self.set(idx, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
            return
        self.set(idx, "passed" if ok else "failed")


def _run_units(comp: Compiled, task: dict[str, Any], conn: Conn, rec: _Recorder) -> None:
    ns: dict[str, Any] = {"__name__": "__af_tests__", "__af_check": rec.check}
    if comp.style == "humaneval":
        with contextlib.suppress(Exception):
            exec(comp.prompt_code, ns)
        exec(comp.codes[0], ns)
        proxy = Remote(conn, task["entry_point"])
        ns[task["entry_point"]] = proxy
        try:
            ns["check"](proxy)
        except (Abort, StopRun):
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
            ns[name] = Remote(conn, name)
        for i, code in enumerate(comp.codes):
            try:
                exec(code, ns)
            except (Abort, StopRun):
                raise
            except Exception as exc:
                rec.set(i, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
    elif comp.style == "pytest":
        _run_pytest_style(comp, task, conn, rec, ns)
    elif comp.style == "stdio":
        for i, case in enumerate(task["tests"]):
            _run_stdio_case(conn, rec, i, case)


def _run_stdio_case(conn: Conn, rec: _Recorder, i: int, case: dict[str, Any]) -> None:
    """One input/output case: a runtime error in the program is this case's ``error``, nothing more."""
    expected = str(case["output"])
    # Enough for any output equal to the expected one after trimming; more is a flood, not an answer.
    limit = 2 * len(expected.encode("utf-8", "surrogatepass")) + (64 << 10)
    try:
        reply = conn.request({"op": "stdio", "input": case["input"], "limit": limit})
    except (Abort, StopRun):
        raise
    except Exception as exc:
        rec.set(i, "error", f"{type(exc).__name__}: {str(exc)[:300]}")
        return
    if type(reply) is not tuple or len(reply) != 2 or type(reply[0]) is not str:
        raise Abort("hack_suspected", "malformed stdio reply")
    out, more = reply
    if more:
        rec.set(i, "failed", f"output longer than {limit} bytes")
    else:
        rec.set(i, "passed" if normalize_output(out) == normalize_output(expected) else "failed")


class _SolutionModule:
    """Stands in for ``solution`` / the candidate module in ``from solution import f``."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Remote(self._conn, name)


def _run_pytest_style(
    comp: Compiled, task: dict[str, Any], conn: Conn, rec: _Recorder, ns: dict[str, Any]
) -> None:
    """Collect and call the test module's ``test_*`` functions (and ``Test*`` classes' methods).

    A pytest-compatible runner, not pytest: no fixtures, no parametrize, no conftest. A test
    that needs arguments, a module with no tests and a module that raises at import are an
    ``error`` verdict, never a quiet zero.
    """
    if comp.unsupported:
        raise Abort("error", comp.unsupported)
    if not comp.units:
        raise Abort("error", "the test module defines no test_* functions")
    module_name = task.get("module") or "solution"
    sys.modules[module_name] = _SolutionModule(conn)  # type: ignore[assignment]
    names = task.get("candidate_names") or ([task["entry_point"]] if task.get("entry_point") else [])
    for name in names:
        ns[name] = Remote(conn, name)
    try:
        exec(comp.codes[0], ns)
    except (Abort, StopRun):
        raise
    except BaseException as exc:  # like a pytest collection error: every test errors
        detail = f"test module raised at import: {type(exc).__name__}: {str(exc)[:300]}"
        for i, unit in enumerate(comp.units):
            rec.outcomes[i] = {"name": unit, "outcome": "error", "detail": detail}
        raise Abort("error", detail) from None
    for name in names:  # a test module's own `from solution import f` rebinds to the same proxy kind
        ns.setdefault(name, Remote(conn, name))
    for i, unit in enumerate(comp.units):
        try:
            klass, _, method = unit.rpartition("::")
            result = getattr(ns[klass](), method)() if klass else ns[unit]()
            if inspect.iscoroutine(result):
                import asyncio

                asyncio.run(result)
        except (Abort, StopRun):
            raise
        except AssertionError as exc:
            rec.set(i, "failed", str(exc)[:300])
            continue
        except BaseException as exc:  # pytest.fail() and pytest.skip() raise BaseException subclasses
            outcome = "failed" if type(exc).__name__ == "Failed" else "error"
            rec.set(i, outcome, f"{type(exc).__name__}: {str(exc)[:300]}")
            continue
        rec.set(i, "passed")


class _Zygote:
    def __init__(self, tmpfs_mb: int, prefix: list[str]) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: os.environ[k] for k in ("PATH", "PYTHONPATH", "LANG") if k in os.environ}
        # Every library symbol resolved at load, in the zygote: children then never resolve one lazily
        # (and copy the GOT page it lives on) on a first call. Not secret: like PATH, a child can still
        # read it in /proc/self/environ after the zygote clears its environment.
        env["LD_BIND_NOW"] = "1"
        uid_base = 1_500_000_000 + 2 * os.getpid()  # host pid: unique even when the zygote has its own pid ns
        cmd = [
            *prefix,
            sys.executable,
            "-P",  # not the caller's cwd on the candidates' import path (it may be /tmp itself)
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

    def finish(
        self, meta: dict[str, Any], *, want_status: bool, then_spawn: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """End a job; ``then_spawn`` asks for the next child in the same message (as :meth:`request_spawn`
        does, one wake-up of the zygote fewer a job). The zygote empties /tmp before it hands that
        child over, as always."""
        msg = {"op": "finish", "want_status": want_status, **meta}
        if then_spawn is not None:
            msg["then_spawn"] = {"op": "spawn", **then_spawn}
            self.requested = then_spawn
        self.sock.send(pickle.dumps(msg))
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
        root = self.info.get("root")
        if root and not self.info.get("private_tmp"):  # the fallback's job root on the host's /tmp
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def _verdict_status(rec: _Recorder, abort: Abort | None, exit_info: dict[str, Any], cpu_limit: float) -> str:
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


# Larger programs are compiled by their child, under its CPU and memory limits (this process has none);
# so are programs whose code is much larger than their source (folded constants: ``"\U0001F300" * 4096``
# is 17 characters of source and 16 KiB of code), which could pass the child's 32 MiB frame limit.
_COMPILE_HERE_MAX_CHARS = 1 << 15
_CODE_MAX_BYTES = 1 << 20


def _code(program: str) -> bytes | None:
    """The candidate's program compiled here, as marshal bytes for the child to load; None when it does
    not compile, is over 32 Ki characters or compiles to over 1 MiB: the child then compiles the source
    itself, and a syntax error is its load reply, as before.

    Compiling is parsing, never running: here, in a warm process, it costs a fraction of what it costs
    in a fresh forked child, where every parser and compiler page it touches is copied (about 0.4 ms of
    the child's CPU a sample; bench/BENCHMARKS.md). Same flags as the child's own ``compile`` (both
    modules inherit ``from __future__ import annotations``); warnings are the candidate's, not ours.
    """
    if len(program) > _COMPILE_HERE_MAX_CHARS:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = marshal.dumps(compile(program, "<candidate>", "exec"))
    except Exception:  # SyntaxError, ValueError (a NUL byte), RecursionError, MemoryError
        return None
    return code if len(code) <= _CODE_MAX_BYTES else None


def run_job(
    zyg: _Zygote, job: dict[str, Any], cache: dict[str, tuple[dict[str, Any], Compiled] | str]
) -> dict[str, Any]:
    key = job["task_key"]
    if key not in cache:  # the pool sends each task to a worker once, compiled when it could
        try:
            compiled = job.get("compiled")
            cache[key] = (job["task"], load_compiled(compiled) if compiled else compile_task(job["task"]))
        except Exception as exc:  # the task's own tests do not compile: every sample of it is told so
            cache[key] = f"the task's tests cannot be compiled: {type(exc).__name__}: {exc}"[:400]
    entry = cache[key]
    if isinstance(entry, str):
        return error_verdict(entry)
    task, comp = entry
    rec = _Recorder(comp.units, job["partial"])
    t0 = time.monotonic()
    spec = {
        "cpu_s": job["timeout_s"],
        "memory_mb": job["memory_mb"],
        "fsize_mb": job["fsize_mb"],
        "nproc": 64,
    }
    meta, (req_w, resp_r) = zyg.spawn(spec)
    conn = Conn(req_w, resp_r, t0 + job["timeout_s"] * job["wall_factor"] + 0.5)
    abort: Abort | None = None
    try:
        load: dict[str, Any] = {"op": "load", "stdio": comp.style == "stdio"}
        code = _code(job["program"])
        if code is None:
            load["program"] = job["program"]
        else:
            load["code"] = code
        if comp.setup_in_child:
            load["setup"] = comp.setup_in_child
        if comp.prefetch:
            load["prefetch"] = comp.prefetch
            conn.prefetch_calls = comp.prefetch
        conn.send_load(load)
        try:
            _run_units(comp, task, conn, rec)
        except (Abort, StopRun):
            raise
        except Exception as exc:  # raised outside any recorded test (test code around the asserts)
            raise Abort("error", f"{type(exc).__name__} outside a test: {str(exc)[:300]}") from None
        finally:
            conn.drain_load()
    except StopRun:
        pass
    except Abort as exc:
        abort = exc
    finally:
        os.close(req_w)
        os.close(resp_r)
        want = (abort is not None and abort.status == "died") or _DEBUG_CPU
        exit_info = zyg.finish(meta, want_status=want, then_spawn=spec)
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


def _die_with_parent(parent: int | None) -> None:
    """SIGKILL this worker when the harness dies, even mid-job (its zygote, and with it the
    candidates' PID namespace, follow)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if parent is not None and os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)


def main() -> None:
    config = json.loads(sys.argv[1])
    _die_with_parent(config.get("parent_pid"))
    if config.get("cpu") is not None:  # before the zygote starts: it and every candidate inherit the pin
        # A CPU taken away since the pool planned (a cpuset change) leaves this worker unpinned, as it
        # would be with no plan: the pin only helps the scheduler.
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {config["cpu"]})
    chan_in, chan_out = 0, os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    zyg: _Zygote | None = None
    cache: dict[str, tuple[dict[str, Any], Compiled] | str] = {}
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
            verdict = error_verdict(f"sandbox parent lost: {exc}", "hack_suspected")
        except Exception as exc:  # a harness bug: this job errors, the worker lives on with a fresh zygote
            zyg.close()
            zyg = None
            verdict = error_verdict(f"harness error: {type(exc).__name__}: {str(exc)[:300]}")
        write_frame(chan_out, pickle.dumps(verdict))
    if zyg is not None:
        zyg.close()


if __name__ == "__main__":
    main()

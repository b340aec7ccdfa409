"""The oracle: one program's function called on many inputs in the sandbox, the values sent back.

:class:`OraclePool` is a :class:`~alignforge.verify._pool.SandboxPool` whose workers run this module
(``python -m alignforge.verify._oracle CONFIG``) instead of the test runner. Each run of a job after
the first gets a fresh zygote, so the runs see different hash secrets (every zygote is a fresh
interpreter with hash randomisation on and the environment scrubbed, PYTHONHASHSEED included; a probe
function appended to the program checks that each differs from the ones before). Candidates run exactly as under verification: forked from the zygote into their own uid and
namespaces with CPU, memory and file-size limits, answering over the same channel, so what comes back
is only ever rebuilt builtin values.

``per_input`` jobs call each input in a fresh child under its own CPU-time limit and report the CPU
seconds it used (the reference: no state carries from one input to the next, and slow inputs are
seen); other jobs call all inputs in one child, with a wall-clock limit per call and a fresh child
after a call that times out or kills it (the mutants).
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from alignforge.verify._pool import _ENV_KEEP, SandboxPool, _Worker

__all__ = ["OraclePool", "PROBE", "not_run", "too_large", "unsent"]

PROBE = "__af_hash_probe"
_NOT_RUN = "not run: too many timeouts"
# The builtin, imported in the probe: a program may define a ``hash`` of its own.
_PROBE_SRC = (
    f"\n\ndef {PROBE}():\n    import builtins\n    return builtins.hash('alignforge: which hash secret?')\n"
)


_UNSENT = "the answer could not be sent back"
_TOO_LARGE = "the answer is too large to send back"
_NO_ROOM = "no room left in the job's reply for the answer"
# One answer may take this much (pickled), and the answers of one job (all its runs) this much together:
# past either, an answer is no answer (:func:`unsent`), so a job's reply stays far below the pool's limit
# on a reply (1 GiB) whatever the program returns; the others come back as they are.
_MAX_ANSWER_BYTES = 16 << 20
_MAX_JOB_ANSWER_BYTES = 256 << 20


def unsent(result: dict[str, Any]) -> bool:
    """The call answered, but with a value the sandbox cannot encode (an int past 4,300 digits, a list
    nested past the stack) or one too large to send back (past 16 MiB, or past 256 MiB for the job's
    answers together): not a raise of the program, and no answer a test can be written with."""
    return result.get("error") in (_UNSENT, _TOO_LARGE, _NO_ROOM)


def too_large(result: dict[str, Any]) -> bool:
    """The answer alone was past 16 MiB: no value a test was written with (their repr is at most 1,000
    characters) is that large, so it differs from every expected value."""
    return result.get("error") == _TOO_LARGE


class _Budget:
    """What is left of a job's answer bytes (trusted side: sizes are measured here, on rebuilt values)."""

    def __init__(self, total: int = _MAX_JOB_ANSWER_BYTES, each: int = _MAX_ANSWER_BYTES) -> None:
        self.left, self.each = total, each

    def admit(self, result: dict[str, Any]) -> dict[str, Any]:
        if "ok" not in result:
            return result
        try:
            size = len(pickle.dumps(result["ok"]))
        except Exception:  # RecursionError, MemoryError: the reply could not carry it either
            return {"error": _UNSENT}
        if size > self.each:
            return {"error": _TOO_LARGE}
        if size > self.left:
            return {"error": _NO_ROOM}
        self.left -= size
        return result


def not_run(result: dict[str, Any]) -> bool:
    """The input was never run: the program's run stopped after ``max_timeouts`` timeouts before it."""
    return result.get("error") == _NOT_RUN


_WALL_FACTOR = 2.0


class _OracleWorker(_Worker):
    def __init__(self, config: dict[str, Any]) -> None:  # the pool's worker, started on this module
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-P",  # not the caller's cwd on sys.path: an inspect.py there would run in the worker
                "-m",
                "alignforge.verify._oracle",
                json.dumps({**config, "parent_pid": os.getpid()}),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.w, self.r = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self.sent: set[str] = set()
        self.cpu = None  # not pinned; the pool replaces a lost worker with one made the same way


class OraclePool(SandboxPool):
    """Sandbox workers that return values; :meth:`calls` is thread-safe. Not pinned to CPUs: it runs
    beside a pinned :class:`SandboxPool` when tests are strengthened."""

    pin = False

    def _add(self, cpu: int | None) -> None:
        w = _OracleWorker(self.config)
        with self._lock:
            self._all.append(w)
        self._idle.put(w)

    def calls(
        self,
        program: str,
        entry: str,
        inputs: list[Any],
        *,
        timeout_s: float,
        runs: int = 1,
        per_input: bool = False,
        memory_mb: int = 1024,
        max_timeouts: int = 3,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """``{"runs": [[result per input] per run], "probes": [hash probe per run]}``.

        A result is ``{"ok": value}``, ``{"raised": exception name}``, ``{"timeout": True}`` or
        ``{"error": detail}`` (a harness failure, the program did not load, a value that cannot be
        compared safely, an answer that could not be sent back (:func:`unsent`), or not run after
        ``max_timeouts`` timeouts), with ``cpu_s`` for ``per_input`` jobs. A call past its wall-clock
        deadline that used less CPU time than ``timeout_s`` (starved by a busy machine) runs once more,
        alone, in a fresh child, up to ``max_timeouts`` times a run: its result says ``"retried": True``.
        ``runs`` (1 or more): each run after the first in a fresh zygote, under a hash secret no run
        before it had; ``fresh``: the first too (no secret of an earlier job's run).
        """
        job = {
            "op": "calls",
            "program": program + _PROBE_SRC,
            "entry": entry,
            "inputs": inputs,
            "call_timeout_s": timeout_s,
            "runs": runs,
            "per_input": per_input,
            "memory_mb": memory_mb,
            "max_timeouts": max_timeouts,
            "fresh": fresh,
            # the pool's backstop for the whole job: every call of every run at its limit, and up to
            # max_timeouts calls a run once more (a starved call runs again, alone)
            "timeout_s": timeout_s * (len(inputs) + 2 + max_timeouts) * runs,
            "wall_factor": _WALL_FACTOR,
        }
        reply = self.run(job)
        if "runs" not in reply:  # the pool lost the worker: a verdict-shaped reply
            raise RuntimeError(f"oracle worker failed: {reply.get('detail')}")
        return reply


# --- the worker process ----------------------------------------------------------------------


def _one_call(conn: Any, entry: str, inp: Any, budget: _Budget) -> dict[str, Any]:
    return budget.admit(_answer(conn, entry, inp))


def _answer(conn: Any, entry: str, inp: Any) -> dict[str, Any]:
    from alignforge.verify._calls import UNSENT, Abort, CandidateException, Remote
    from alignforge.verify._protocol import RemoteRef

    args, kwargs = copy.deepcopy(inp)  # a fresh copy for every call, whatever the last one did to it
    try:
        args = _build(conn, args)  # objects of the program's classes: built in the sandbox, afresh, first
        value = Remote(conn, entry)(*args, **kwargs)
    except Abort:
        raise
    except Exception as exc:
        if getattr(exc, UNSENT, False):
            return {"error": _UNSENT}
        if isinstance(exc, CandidateException):
            return {"raised": str(exc).split(":", 1)[0][:100]}
        return {"raised": type(exc).__name__}
    if isinstance(value, RemoteRef):
        return {"error": "returned an object of its own class"}
    return {"ok": value}


def _has_built(v: Any) -> bool:
    from alignforge.verify._inputs_mutation import Built

    if type(v) is Built:
        return True
    if type(v) in (list, tuple):
        return any(_has_built(x) for x in v)
    return False


def _build(conn: Any, v: Any) -> Any:
    """``v`` with each :class:`~alignforge.verify._inputs_mutation.Built` made by the program's own class
    in the sandbox (a handle to it comes back), inner ones first; lists and tuples of them too. ``v``
    itself where it holds none (one walk: the common case)."""
    from alignforge.verify._calls import Remote
    from alignforge.verify._inputs_mutation import Built

    if type(v) is Built:
        return Remote(conn, v.cls)(*(_build(conn, a) for a in v.args))
    if type(v) in (list, tuple) and _has_built(v):
        return type(v)(_build(conn, x) for x in v)
    return v


def _spawn(zyg: Any, cpu_s: float, memory_mb: int, deadline: float) -> tuple[Any, Any, dict[str, Any]]:
    from alignforge.verify._calls import Conn

    spec = {"cpu_s": cpu_s, "memory_mb": memory_mb, "fsize_mb": 16, "nproc": 64}
    meta, (req_w, resp_r) = zyg.spawn(spec)
    return meta, Conn(req_w, resp_r, deadline), spec


def _close(zyg: Any, meta: dict[str, Any], conn: Any, spec: dict[str, Any], want: bool) -> dict[str, Any]:
    os.close(conn.req_w)
    os.close(conn.resp_r)
    info: dict[str, Any] = zyg.finish(meta, want_status=want, then_spawn=spec)
    return info


def _timed_out(exc: Any, info: dict[str, Any], limit: float) -> bool:
    if exc.status == "timeout":
        return True
    status = info.get("status") or 0
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    return exc.status == "died" and (sig == signal.SIGXCPU or (info.get("cpu_s") or 0.0) >= limit)


def _starved(status: str, cpu_s: float | None, limit: float) -> bool:
    """A call stopped at its wall-clock deadline (``status`` "timeout", not a death at the CPU limit)
    whose child used less CPU time than one call may (the child's whole life, so this call's at most):
    a busy machine starved a call that may need a millisecond. A loop, past the limit by then, is not."""
    return status == "timeout" and (cpu_s or 0.0) < limit


def _run(zyg: Any, job: dict[str, Any], budget: _Budget) -> tuple[list[dict[str, Any]], Any]:
    """One run of every input; returns (results, hash probe)."""
    from alignforge.verify._calls import Abort, Remote

    limit, entry, program, mem = job["call_timeout_s"], job["entry"], job["program"], job["memory_mb"]
    inputs: list[Any] = job["inputs"]
    results: list[dict[str, Any]] = []
    probe: Any = None
    i = timeouts = retries = 0
    retry = -1  # the input whose call ran out of wall-clock time: it runs again, alone, in a fresh child
    while i < len(inputs):
        if timeouts >= job["max_timeouts"]:  # it loops on most inputs: what it did so far is enough
            results += [{"error": _NOT_RUN}] * (len(inputs) - i)
            break
        alone = job["per_input"] or retry == i
        cpu = limit if alone else limit * (len(inputs) - i) + 1
        meta, conn, spec = _spawn(zyg, cpu, mem, time.monotonic() + limit * _WALL_FACTOR + 0.5)
        info: dict[str, Any] = {}
        try:
            conn.send_load({"op": "load", "program": program, "stdio": False})
            conn.drain_load()
            if probe is None:
                probe = Remote(conn, PROBE)()
            while i < len(inputs):
                conn.deadline = time.monotonic() + limit * _WALL_FACTOR + 0.5
                results.append(_one_call(conn, entry, inputs[i], budget))
                if retry == i:
                    results[-1]["retried"] = True
                i += 1
                if alone:
                    break
        except Abort as exc:
            info = _close(zyg, meta, conn, spec, True)
            meta = None
            if probe is None:  # the program itself does not load (or loops at import)
                return [{"error": f"{exc.status}: {exc.detail}"[:300]}] * len(inputs), probe
            if (
                _starved(exc.status, info.get("cpu_s"), limit)
                and retry != i
                and retries < job["max_timeouts"]
            ):
                # Once more alone, under its own CPU limit; a second timeout counts. At most
                # max_timeouts of them a run, as the pool's backstop allows.
                retry, retries = i, retries + 1
                continue
            timed_out = _timed_out(exc, info, cpu)
            timeouts += timed_out
            results.append({"timeout": True} if timed_out else {"error": str(exc.status)})
            if retry == i:
                results[-1]["retried"] = True
            i += 1
        finally:
            if meta is not None:
                info = _close(zyg, meta, conn, spec, job["per_input"])
        if job["per_input"] and info.get("cpu_s") is not None:
            results[-1]["cpu_s"] = info["cpu_s"]
    return results, probe


def main() -> None:
    from alignforge.verify._calls import Abort
    from alignforge.verify._protocol import ChannelClosed, read_frame, write_frame
    from alignforge.verify._worker import _die_with_parent, _Zygote

    config = json.loads(sys.argv[1])
    _die_with_parent(config.get("parent_pid"))
    chan_in, chan_out = 0, os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One zygote at a time: two in one worker would share the sandbox uids (they derive from the
    # worker's pid) and sweep each other's children. A second run gets a fresh zygote instead.
    zyg: list[Any] = [None]

    def zygote(fresh: bool = False) -> Any:
        if fresh or zyg[0] is None or zyg[0].proc.poll() is not None:
            if zyg[0] is not None:
                zyg[0].close()
            zyg[0] = _Zygote(config["tmpfs_mb"], config.get("prefix") or [])
        return zyg[0]

    while True:
        try:
            job = pickle.loads(read_frame(chan_in, max_bytes=1 << 30))
        except ChannelClosed:
            break
        if job.get("op") == "info":
            write_frame(chan_out, pickle.dumps(zygote().info))
            continue
        try:
            budget = _Budget()
            runs = [_run(zygote(fresh=bool(job.get("fresh"))), job, budget)]
            while len(runs) < job["runs"]:
                for _ in range(3):
                    left = budget.left
                    again = _run(zygote(fresh=True), job, budget)
                    if again[1] is None or all(
                        again[1] != p for _, p in runs
                    ):  # a new hash secret (or no probe)
                        runs.append(again)
                        break
                    budget.left = left  # a run thrown away takes none of the reply's room
                else:
                    raise RuntimeError(
                        "three fresh zygotes had the same hash secret: is PYTHONHASHSEED fixed?"
                    )
            reply: dict[str, Any] = {"runs": [r for r, _ in runs], "probes": [p for _, p in runs]}
        except (Exception, Abort) as exc:  # a harness failure: this job errors, the worker lives on
            if zyg[0] is not None:
                zyg[0].close()
                zyg[0] = None
            reply = {"passed": False, "status": "error", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        write_frame(chan_out, pickle.dumps(reply))
    if zyg[0] is not None:
        zyg[0].close()


if __name__ == "__main__":
    main()

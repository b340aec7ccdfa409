"""The zygote: a clean, warmed process that forks one limited child per job.

It is started as a fresh interpreter (``python -m alignforge.verify._zygote FD``) with
a scrubbed environment, so no secret ever enters its memory, and it never sees a
task's tests, so a forked child cannot find the expected answers in memory. At start
it isolates itself once (network and mount namespaces, read-only mounts, private
tmpfs for /tmp); every child inherits that and then drops to its own uid, limits
and working directory. Children are reaped and swept (process group, then every
process of the child's uid) when the worker says the job is over; then the private
/tmp, /var/tmp and /dev/shm are emptied, so nothing one sample wrote reaches the next.

Two processes share the work. The *forker*, forked once from the warmed zygote, does
nothing but fork candidates (in their own PID namespace) and reap them; everything else
(working directories, pipes, sweeps, wiping /tmp, talking to the worker) stays in the
zygote, which never forks again. Every fork write-protects the forking process's whole
heap, and each page it then writes costs a fault and a copy while a child still shares
it: the single process took about 185 such faults a job, the forker now takes about 105
and the zygote none (bench/BENCHMARKS.md).

The forker's code and the candidate's start are in :mod:`._forker`, the removal of files after a
job in :mod:`._zygote_cleanup`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import Any

from alignforge.verify._forker import (
    _CLONE_NEWNET,
    _CLONE_NEWNS,
    _CLONE_NEWUSER,
    _PR_SET_CHILD_SUBREAPER,
    _PR_SET_PDEATHSIG,
    _SIGKILL,
    _forker_main,
)
from alignforge.verify._mounts import _TMP_ROOTS, _call, _libc, _private_mounts
from alignforge.verify._zygote_cleanup import _empty, _remove

# Modules candidates use most (HumanEval prompts import typing). Every module here makes each fork
# dearer (page tables), so the list stays short: random/statistics/datetime double the fork time.
_WARM_MODULES = (
    "math",
    "re",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "typing",
    "copy",
    "operator",
    "collections.abc",
)


def _isolate(tmpfs_mb: int) -> dict[str, Any]:
    """Enter new network and mount namespaces; say what worked and what it fell back to."""
    info: dict[str, Any] = {"uid_switch": os.geteuid() == 0, "private_tmp": False}
    flags = _CLONE_NEWNET | _CLONE_NEWNS
    try:
        if os.geteuid() != 0:
            uid, gid = os.getuid(), os.getgid()
            _call(_libc.unshare, flags | _CLONE_NEWUSER)
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{uid} {uid} 1"),
                ("gid_map", f"{gid} {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as fh:
                    fh.write(text)
            info["user_namespace"] = True
        else:
            _call(_libc.unshare, flags)
        info["network"] = "new network namespace (no interfaces up)"
    except OSError as exc:
        info["network"] = f"NOT isolated: unshare failed ({exc.strerror}); use --isolation bwrap"
        return info
    info["filesystem"], info["private_tmp"] = _private_mounts(tmpfs_mb)
    return info


def _sweep_uid(uid: int) -> None:
    """Kill every process running as ``uid`` (escaped grandchildren included)."""
    if os.geteuid() != 0:
        return
    os.setresuid(uid, uid, 0)
    try:
        os.kill(-1, _SIGKILL)
    except OSError:
        pass
    finally:
        os.setresuid(0, 0, 0)


def main(sock_fd: int, tmpfs_mb: int, uid_base: int) -> None:
    global _ROOT
    import pickle

    for name in _WARM_MODULES:
        __import__(name)
    sock = socket.socket(fileno=sock_fd)
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL)
    info = _isolate(tmpfs_mb)
    os.environ.clear()  # the worker passed only PATH/LANG/PYTHONPATH; children see even less
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"})
    uids = [uid_base, uid_base + 1]  # the running job and the pre-forked spare never share a uid
    info["sandbox_uids"] = uids if info["uid_switch"] else [os.getuid()]
    info["sandbox_uid"] = info["sandbox_uids"][0]
    for u in uids:
        _sweep_uid(u)
    if info["private_tmp"]:
        os.makedirs(_ROOT, exist_ok=True)
    else:  # /tmp is the host's, shared with other zygotes and earlier runs: a directory of our own
        while True:
            try:
                _ROOT = f"/tmp/af-sandbox-{os.getpid()}-{os.urandom(4).hex()}"
                os.mkdir(_ROOT, 0o711)
                break
            except FileExistsError:
                continue
        os.chmod(_ROOT, 0o711)
    info["root"] = _ROOT
    import gc

    # The first compile() in a process builds the AST node types (about 120 classes): do it here once,
    # not in every child (it cost each child 1-2 ms and the page copies that go with it).
    exec(compile("def _w(a):\n    return [a, (a,), {a: a}]\n_w(1)\n", "<warm>", "exec"), {})
    gc.collect()
    gc.freeze()  # keep the collector from touching (and copying) the zygote's pages in every child
    try:
        info["pid_namespace"] = _start_forker(sock)
        sock.send(pickle.dumps(info))
        _serve(sock, info, uids)
    except OSError:  # the worker or the forker went away
        os._exit(0)


def _serve(sock: socket.socket, info: dict[str, Any], uids: list[int]) -> None:
    import pickle

    spare: dict[str, Any] | None = None
    wipe = info["private_tmp"]  # never in the fallback: there /tmp is the host's
    while True:
        raw = _recv(sock)
        if not raw:
            os._exit(0)
        msg = pickle.loads(raw)
        if msg["op"] == "finish":
            out = _finish(
                msg["pid"], msg["workdir"], msg["uid"], info["uid_switch"], want_status=msg["want_status"]
            )
            if wipe:
                _wipe_tmp(spare["workdir"] if spare is not None else None)
            if msg["want_status"]:
                sock.send(pickle.dumps(out))
            msg = msg.get("then_spawn")  # the next child, asked for with this job's end: after the wipe
            if msg is None:
                continue
        if msg["op"] == "spawn":
            spec = {k: msg[k] for k in ("cpu_s", "memory_mb", "fsize_mb", "nproc")}
            if spare is not None and spare["spec"] != spec:  # other limits: that child goes, its pipes too
                for fd in spare["fds"]:
                    os.close(fd)
                _finish(spare["pid"], spare["workdir"], spare["uid"], info["uid_switch"], want_status=False)
                spare = None
            job = spare or _fork(spec, uids[0], info["uid_switch"])
            socket.send_fds(
                sock,
                [pickle.dumps({"pid": job["pid"], "workdir": job["workdir"], "uid": job["uid"]})],
                job["fds"],
            )
            for fd in job["fds"]:
                os.close(fd)
            other = uids[1] if job["uid"] == uids[0] else uids[0]
            spare = _fork(spec, other, info["uid_switch"])


def _recv(sock: socket.socket) -> bytes:
    """The worker's next message; the forker's exit reports that arrive meanwhile are noted at once."""
    import select

    fd, forker = sock.fileno(), _forker[0].fileno()
    while True:
        ready, _, _ = select.select([fd, forker], [], [])
        if forker in ready:
            _read_reports()
        if fd in ready:
            return sock.recv(1 << 16)


_ROOT = "/tmp/af-sandbox"
_seq = [0]
_jobs: set[int] = set()  # candidates whose exit the zygote still wants to hear of
_exited: dict[int, tuple[int, float]] = {}  # pid -> (wait status, CPU seconds), from the forker
_forker: list[socket.socket] = []  # the zygote's end of the forker's socket


def _start_forker(sock: socket.socket) -> bool:
    """Fork the forker (see the module's docstring); True when its children get a PID namespace."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zygote = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            sock.close()  # the forker never talks to the worker
            ours.close()
            _forker_main(theirs, zygote)
        finally:
            os._exit(0)
    theirs.close()
    _forker.append(ours)
    ready = ours.recv(16)
    if not ready:
        raise OSError("the forker died at start")
    return ready == b"r1"


def _note(msg: bytes) -> int | None:
    """Record one of the forker's messages; a fork's answer returns the new child's pid."""
    if not msg:
        raise OSError("the forker died")
    if msg[:1] == b"p":
        return int(msg[1:])
    pid, status, cpu = msg[1:].split()
    if int(pid) in _jobs:
        _exited[int(pid)] = (int(status), float(cpu))
    return None


def _read_reports(timeout: float = 0.0) -> None:
    """Note the forker's pending exit reports (waiting up to ``timeout`` seconds for the first)."""
    import select

    fd = _forker[0].fileno()
    while select.select([fd], [], [], timeout)[0]:
        _note(_forker[0].recv(256))
        timeout = 0.0


def _fork(spec: dict[str, Any], uid: int, uid_switch: bool) -> dict[str, Any]:
    import pickle

    _seq[0] += 1
    workdir = f"{_ROOT}/job{_seq[0]}"
    os.mkdir(workdir, 0o700)
    if uid_switch:
        os.chown(workdir, uid, uid)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    socket.send_fds(_forker[0], [pickle.dumps((os.fsencode(workdir), uid, spec))], [req_r, resp_w])
    os.close(req_r)
    os.close(resp_w)
    while (pid := _note(_forker[0].recv(256))) is None:
        pass
    _jobs.add(pid)
    return {"pid": pid, "workdir": workdir, "uid": uid, "spec": spec, "fds": [req_w, resp_r]}


def _finish(pid: int, workdir: str, uid: int, uid_switch: bool, *, want_status: bool) -> dict[str, Any]:
    import time

    with contextlib.suppress(OSError):
        os.killpg(pid, _SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, _SIGKILL)
    if uid_switch:
        _sweep_uid(uid)
    status, cpu = 0, 0.0
    if want_status:
        deadline = time.monotonic() + 5
        while pid not in _exited and (left := deadline - time.monotonic()) > 0:
            _read_reports(left)
    if pid in _exited:
        status, cpu = _exited.pop(pid)
    _jobs.discard(pid)  # an exit reported later is not wanted
    _remove(workdir)
    return {"status": status, "cpu_s": cpu}


def _wipe_tmp(keep: str | None) -> None:
    """Empty the private /tmp, /var/tmp and /dev/shm after a job (its processes are already dead).

    ``keep`` is the waiting spare's working directory: its cwd stays, its contents go (without the
    uid switch the finished job could have planted files there). The bound-back interpreter paths
    stay; the directories on the way to them are emptied of everything else.
    """
    for top in (*_TMP_ROOTS, _ROOT, keep):
        if top is not None:
            _empty(top, (_ROOT, keep))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))

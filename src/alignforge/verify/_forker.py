"""The forker: the process forked once from the warmed zygote (:mod:`._zygote`) that forks every
candidate, in its own PID namespace where the kernel allows one, and reaps and reports them; and the
candidate's start in the forked child (limits, its own uid and working directory, then the job).

Also the kernel and signal constants the zygote shares with it. The zygote runs as ``__main__``
(``python -m alignforge.verify._zygote``): nothing here imports it back, which would load a second
copy of that module.
"""

from __future__ import annotations

import _signal
import contextlib
import os
import resource
import signal
import socket
import sys
from typing import Any

from alignforge.verify._child import serve
from alignforge.verify._mounts import _call, _libc

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWNET, _CLONE_NEWPID = 0x00020000, 0x10000000, 0x40000000, 0x20000000
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
# What a child runs before its job is cold code in a fresh copy-on-write process, where every line
# costs page copies: plain ints and the C-level signal.signal (the signal module's wrapper builds an
# enum member per call), nothing imported, nothing compiled (see bench/BENCHMARKS.md).
_SIGKILL, _SIGXFSZ = int(signal.SIGKILL), int(signal.SIGXFSZ)
_SIG_DFL, _SIG_IGN = int(signal.SIG_DFL), int(signal.SIG_IGN)
_SIG_RESET = tuple(int(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD))


def _pid_namespace() -> bool:
    """Put every candidate in a new PID namespace whose init dies with this process (the forker).

    The kernel kills every process of a namespace when its init exits, so candidates (forked
    grandchildren included) cannot outlive the harness, even when it is killed with SIGKILL and
    never gets to sweep their uid: the forker dies with the zygote, the init with the forker. The
    init only reaps orphans. False when unshare is refused.
    """
    try:
        _call(_libc.unshare, _CLONE_NEWPID)
    except OSError:
        return False
    zygote = os.getpid()
    pid = os.fork()  # the first child of the namespace is its init (pid 1)
    if pid == 0:
        try:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            # getppid() is 0 inside the new namespace; /proc still shows the zygote by its host pid
            if not os.path.exists(f"/proc/{zygote}"):  # it died before the line above took effect
                os._exit(0)
            os.closerange(0, 65536)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
            while True:
                signal.sigwait({signal.SIGCHLD})
                with contextlib.suppress(ChildProcessError):
                    while os.waitpid(-1, os.WNOHANG)[0]:
                        pass
        finally:
            os._exit(0)
    return True


def _run_child(req_r: int, resp_w: int, workdir: bytes, spec: dict[str, Any], uid: int) -> None:
    """The forked child: limits, its own uid and working directory, then :func:`serve` (never returns).

    HOME and TMPDIR already name ``workdir``: the forker set them just before the fork.
    """
    try:
        # The zygote's wakeup pipe (closed below): a candidate's handler must not write to it.
        signal.set_wakeup_fd(-1)
        os.setpgid(0, 0)
        for sig in _SIG_RESET:
            _signal.signal(sig, _SIG_DFL)
        # Past the file-size limit a write fails with EFBIG (an exception in candidate code), not a kill.
        _signal.signal(_SIGXFSZ, _SIG_IGN)
        os.dup2(req_r, 3)
        os.dup2(resp_w, 4)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(5, 65536)
        cpu = max(1, int(spec["cpu_s"] + 0.999))
        limits = [
            (resource.RLIMIT_CPU, (cpu, cpu + 1)),
            (resource.RLIMIT_AS, (spec["memory_mb"] << 20,) * 2),
            (resource.RLIMIT_FSIZE, (spec["fsize_mb"] << 20,) * 2),
            (resource.RLIMIT_NPROC, (spec["nproc"],) * 2),
            (resource.RLIMIT_CORE, (0, 0)),
            (resource.RLIMIT_NOFILE, (256, 256)),
        ]
        for what, value in limits:
            resource.setrlimit(what, value)
        os.chdir(workdir)
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        # After the uid switch, which clears it: the child dies with the zygote (its PID namespace's
        # init does too, taking every candidate with it; this covers a zygote without that namespace).
        _libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL)
        serve(3, 4)
    finally:
        os._exit(0)


def _forker_main(sock: socket.socket, zygote: int) -> None:
    """The forker's life: a PID namespace for its children, then fork each candidate it is sent.

    Per job it runs a short, fixed path (receive, fork, close, answer) and per exit it reaps and
    reports, so few of its pages are written between two forks. Its candidates' exits go back to
    the zygote as ``x<pid> <status> <cpu s>``; a fork's answer is ``p<pid>``.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL)  # it dies with the zygote
    if os.getppid() != zygote:  # the zygote died before the line above took effect
        return
    # Orphans of candidates outside a PID namespace come back here, to be reaped with the rest.
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1)
    pid_ns = _pid_namespace()
    # A SIGCHLD that lands between the interpreter's last signal check and the blocking select() would
    # run a Python handler only at the next job, leaving the exited child a zombie while the forker
    # idles. The C handler writes to this pipe, and the loop waits on it with the socket: no race.
    signal.signal(signal.SIGCHLD, _ignore)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    sock.send(b"r1" if pid_ns else b"r0")
    _fork_loop(sock, wake_r)


def _ignore(signum: int, frame: Any) -> None:
    return None


_putenv = os.putenv
_environ: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]


def _fork_loop(sock: socket.socket, wake_r: int) -> None:
    import pickle
    import select

    fd, loads, fds_space = sock.fileno(), pickle.loads, socket.CMSG_SPACE(8)
    while True:
        ready = select.select([fd, wake_r], [], [])[0]
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 4096):
                    pass
            _reap(sock)
        if fd in ready:
            data, anc, _flags, _addr = sock.recvmsg(4096, fds_space)
            if not data:
                return
            fds = anc[0][2]  # the zygote always sends exactly the child's two pipe ends
            req_r, resp_w = int.from_bytes(fds[:4], sys.byteorder), int.from_bytes(fds[4:8], sys.byteorder)
            workdir, uid, spec = loads(data)
            # The child's HOME and TMPDIR, in C's environment and in os.environ's own copy of it: what
            # ``os.environ[k] = v`` does, without os.py's Python frames (about 20 of the forker's page
            # copies a job). The forker itself never reads them.
            _putenv(b"HOME", workdir)
            _putenv(b"TMPDIR", workdir)
            _environ[b"HOME"] = _environ[b"TMPDIR"] = workdir
            pid = os.fork()
            if pid == 0:  # the socket, the wake pipe, the pipes' other ends: closed by its closerange
                _run_child(req_r, resp_w, workdir, spec, uid)
            os.close(req_r)
            os.close(resp_w)
            sock.send(b"p%d" % pid)


def _reap(sock: socket.socket) -> None:
    """Reap every exited child at once (candidates and re-parented orphans) and report each."""
    while True:
        try:
            pid, status, usage = os.wait3(os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock.send(b"x%d %d %r" % (pid, status, usage.ru_utime + usage.ru_stime))

"""Mounts for the zygote's private view of the host: read-only everywhere, a private tmpfs on /tmp.

Runs once per zygote, inside its new mount namespace (nothing here touches the host's mounts).
The interpreter's own paths stay visible wherever they live: under a mode-700 home they are
exposed alone in an otherwise empty read-only tmpfs; under /tmp, /var/tmp or /dev/shm (a venv in
a checkout under /tmp) they are bound back read-only into the fresh private tmpfs, at the same path.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_TMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")  # each gets a private tmpfs, emptied after every job
_kept: list[str] = []  # paths inside those tmpfs that are bound back read-only (and never emptied)

_libc = ctypes.CDLL(None, use_errno=True)


def _call(fn: Any, *args: Any) -> None:
    if fn(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s):
        return s.encode() if s is not None else None

    _call(_libc.mount, enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def _blocked_ancestor(path: str) -> tuple[str, str] | None:
    """(first ancestor others cannot traverse, its child on the way to ``path``), or None."""
    parts = os.path.realpath(path).split("/")[1:]
    cur = ""
    for i, name in enumerate(parts[:-1]):
        cur += "/" + name
        try:
            if not os.stat(cur).st_mode & 0o001:
                return cur, cur + "/" + parts[i + 1]
        except OSError:
            return None
    return None


def _expose_interpreter() -> list[str]:
    """Make the interpreter's own paths readable to the sandbox uid without exposing their neighbours.

    A home directory such as /root (mode 700) that holds the Python install is covered by an empty
    read-only tmpfs, and only the needed subtree is bind-mounted back into it (read-only).
    """
    exposed: list[str] = []
    for _ in range(6):  # each pass opens one more level (a 700 dir inside an exposed one)
        wanted: dict[str, set[str]] = {}
        for p in _interpreter_paths():
            if p and os.path.exists(p):
                hit = _blocked_ancestor(p if os.path.isdir(p) else os.path.dirname(p) + "/x")
                if hit and not _in_tmp(hit[0]):  # under /tmp: _tmp_keepers binds it back, parents 0755
                    wanted.setdefault(hit[0], set()).add(hit[1])
        if not wanted:
            break
        _expose_level(wanted, exposed)
    return exposed


def _interpreter_paths() -> list[str]:
    """What the candidates need to see: the Python installation, its import path and alignforge."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    exe = sys.executable
    return [*sys.path, exe, os.path.realpath(exe), sys.prefix, sys.base_prefix, package]


def _in_tmp(path: str) -> bool:
    return path.startswith(tuple(root + "/" for root in _TMP_ROOTS))


def _tmp_keepers() -> tuple[dict[str, int], list[str]]:
    """The interpreter's paths under /tmp, /var/tmp or /dev/shm, which the private tmpfs would hide.

    Returns {path: O_PATH fd opened now, before the tmpfs covers it} for the topmost such paths (by the
    path as given and by its real path, so a symlinked venv resolves either way), and the paths that
    cannot be kept because they are a tmp root itself.
    """
    wanted: set[str] = set()
    refused: set[str] = set()
    for p in _interpreter_paths():
        if not p or not os.path.exists(p):
            continue
        for path in {os.path.abspath(p), os.path.realpath(p)}:
            if path in _TMP_ROOTS:
                refused.add(path)
            elif _in_tmp(path):
                wanted.add(path)
    top: list[str] = []
    for path in sorted(wanted):
        if not any(path.startswith(t + "/") for t in top):
            top.append(path)
    return {path: os.open(path, os.O_PATH) for path in top}, sorted(refused)


def _bind_back(keep: dict[str, int]) -> None:
    """Bind each kept path read-only at the same place in the fresh tmpfs (parents made 0755)."""
    for path, fd in keep.items():
        src = f"/proc/self/fd/{fd}"
        cur = ""
        for name in path.split("/")[1:-1]:
            cur += "/" + name
            if not os.path.isdir(cur):
                os.mkdir(cur)
                os.chmod(cur, 0o755)  # whatever the umask: the sandbox uid must traverse it
        if os.path.isdir(src):
            os.mkdir(path)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        # a user namespace may not drop the source's nosuid/nodev/noexec on remount
        locked = os.statvfs(src).f_flag & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        _mount(src, path, None, _MS_BIND | _MS_REC)
        _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | locked)
        os.close(fd)
        _kept.append(path)


def _expose_level(wanted: dict[str, set[str]], exposed: list[str]) -> None:
    for top, subs in wanted.items():
        fds = {sub: os.open(sub, os.O_PATH) for sub in subs if os.path.exists(sub)}
        _mount("tmpfs", top, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
        for sub, fd in fds.items():
            os.mkdir(sub, 0o755)
            _mount(f"/proc/self/fd/{fd}", sub, None, _MS_BIND | _MS_REC)
            os.close(fd)
            exposed.append(sub)
        _mount(None, top, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _private_mounts(tmpfs_mb: int) -> tuple[str, bool]:
    """(what was done, whether /tmp, /var/tmp and /dev/shm are this zygote's own tmpfs)."""
    try:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        exposed = _expose_interpreter()
        kept_fds, refused = _tmp_keepers()  # before the tmpfs mounts below hide them
        points = []
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                parts = line.split()
                points.append((parts[4], parts[5]))
        readonly = 0
        for point, opts in points:
            if point.startswith(("/proc", "/dev")) or point in ("/tmp", "/var/tmp"):
                continue
            keep = (_MS_NOSUID if "nosuid" in opts else 0) | (_MS_NODEV if "nodev" in opts else 0)
            keep |= _MS_NOEXEC if "noexec" in opts else 0
            try:
                _mount(None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | keep)
                readonly += 1
            except OSError:
                pass
        for point in _TMP_ROOTS:
            if os.path.isdir(point):
                _mount("tmpfs", point, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={tmpfs_mb}m,mode=1777")
        _bind_back(kept_fds)
        shown = f"; {', '.join(exposed)} exposed read-only in an otherwise empty parent" if exposed else ""
        if _kept:
            shown += f"; {', '.join(_kept)} bound back read-only into the private tmpfs"
        if refused:
            shown += f"; NOT visible to candidates: {', '.join(refused)} (on the import path, but a tmp root)"
        text = f"{readonly} mounts read-only; private {tmpfs_mb} MiB tmpfs on /tmp, /var/tmp, /dev/shm"
        return text + f", emptied after every job{shown}", True
    except OSError as exc:
        return f"host filesystem visible and writable where permissions allow ({exc.strerror})", False

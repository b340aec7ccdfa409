"""Removing files after a job without :mod:`shutil`: a job's directory tree (symlinks removed, never
followed) and the contents of the zygote's private tmpfs mounts (the bound-back paths kept).
:func:`._zygote._wipe_tmp` drives the second; it stays in :mod:`._zygote` because it reads the
zygote's ``_ROOT``, which ``main`` rebinds.
"""

from __future__ import annotations

import contextlib
import os

from alignforge.verify._mounts import _kept

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove(path: str) -> None:
    """Delete the directory ``path`` and everything in it, as ``shutil.rmtree(path, ignore_errors=True)``
    does: symlinks are removed, never followed, and each step is taken relative to an open directory.
    Not shutil itself: it imports bz2, lzma and zlib, 30 more mappings for every fork to copy.
    """
    try:
        os.rmdir(path)  # the usual case: the job left its directory empty
        return
    except OSError:
        pass
    parent, name = os.path.split(path)
    try:
        fd = os.open(parent, _DIR_FLAGS)
    except OSError:
        return
    try:
        _remove_at(fd, name)
    except RecursionError:  # a tree deeper than the interpreter's stack: what is left stays
        pass
    finally:
        os.close(fd)


def _remove_at(dir_fd: int, name: str) -> None:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:  # a file, a symlink (O_NOFOLLOW) or gone
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        return
    try:
        with os.scandir(fd) as it:
            names = [entry.name for entry in it]
        for child in names:
            _remove_at(fd, child)
    except OSError:
        pass
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=dir_fd)


def _empty(top: str, spare: tuple[str | None, ...]) -> None:
    try:
        entries = list(os.scandir(top))
    except OSError:
        return
    for entry in entries:
        if entry.path in spare or entry.path in _kept:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if any(k.startswith(entry.path + "/") for k in _kept):
                    _empty(entry.path, spare)
                else:
                    _remove(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass

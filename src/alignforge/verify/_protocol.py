"""Framing and the value codec shared by the worker (trusted) and the candidate process (untrusted).

Frames are a 4-byte big-endian length and a payload. The worker sends the candidate
pickles (the candidate trusts the worker); the candidate answers in a tagged JSON
tree that can only rebuild builtin values, so nothing it sends can carry code or an
object with a custom ``__eq__`` back into the process that compares results.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

MAX_REPLY_BYTES = 32 * 1024 * 1024
_HEADER = struct.Struct(">I")


def error_verdict(detail: str, status: str = "error", duration_s: float = 0.0) -> dict[str, Any]:
    """The verdict of a job that ran no test (the worker's or the pool's own failure, a task that
    cannot be compiled): never passed, reward 0."""
    return {
        "passed": False,
        "reward": 0.0,
        "status": status,
        "tests": [],
        "duration_s": duration_s,
        "detail": detail,
    }


class ChannelClosed(Exception):
    """The other end closed the pipe (the process died or exited)."""


class ChannelTimeout(Exception):
    """No complete frame arrived before the deadline."""


class ProtocolError(Exception):
    """A frame was too large or did not decode to a value the codec allows."""


class RemoteRef:
    """A name bound in the candidate's namespace (setup objects built from candidate classes)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteRef, (self.name,))

    def __bool__(self) -> bool:
        raise TypeError("an object of a candidate-defined class has no trusted truth value")

    def __repr__(self) -> str:
        return f"<sandbox object {self.name}>"


class MatchResult(str):
    """A ``re.Match`` returned by a candidate: truthy, equal to its matched text."""

    def __bool__(self) -> bool:
        return True


def write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None, poller: Any) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise ChannelTimeout()
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise ChannelClosed()
        buf += chunk
    return bytes(buf)


def read_frame(fd: int, *, deadline: float | None = None, max_bytes: int = MAX_REPLY_BYTES) -> bytes:
    poller = None
    if deadline is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    (n,) = _HEADER.unpack(_read_exact(fd, 4, deadline, poller))
    if n > max_bytes:
        raise ProtocolError(f"reply of {n} bytes exceeds the {max_bytes}-byte limit")
    return _read_exact(fd, n, deadline, poller)


# --- the value codec (candidate -> worker) -------------------------------------------------------


def decode_value(raw: bytes) -> Any:
    """Rebuild a reply; anything but the tagged builtin tree raises :class:`ProtocolError`."""
    try:
        return decode_tree(json.loads(raw))
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, MemoryError) as exc:
        raise ProtocolError(f"undecodable reply: {type(exc).__name__}: {str(exc)[:200]}") from None


def decode_tree(x: Any) -> Any:
    """Rebuild one tagged value (already parsed from JSON)."""
    t = type(x)
    if x is None or t is str or t is int or t is float or t is bool:
        return x
    if t is dict and len(x) == 1:
        ((tag, v),) = x.items()
        if tag == "l":
            return [decode_tree(i) for i in _need_list(v)]
        if tag == "t":
            return tuple(decode_tree(i) for i in _need_list(v))
        if tag == "s":
            return {decode_tree(i) for i in _need_list(v)}
        if tag == "f":
            return frozenset(decode_tree(i) for i in _need_list(v))
        if tag == "d":
            return {decode_tree(k): decode_tree(val) for k, val in (_need_pair(p) for p in _need_list(v))}
        if tag == "b":
            return bytes.fromhex(v) if type(v) is str else _bad(v)
        if tag == "c":
            re_, im = _need_pair(v)
            if type(re_) is float and type(im) is float:
                return complex(re_, im)
        if tag == "F":
            from fractions import Fraction

            num, den = _need_pair(v)
            if type(num) is int and type(den) is int and den != 0:
                return Fraction(num, den)
        if tag == "D" and type(v) is str:
            from decimal import Decimal

            return Decimal(v)
        if tag == "m" and type(v) is str:
            return MatchResult(v)
        if tag == "q":
            from collections import deque

            return deque(decode_tree(i) for i in _need_list(v))
    return _bad(x)


def _need_list(v: Any) -> list[Any]:
    return v if type(v) is list else _bad(v)


def _need_pair(v: Any) -> tuple[Any, Any]:
    if type(v) is list and len(v) == 2:
        return v[0], v[1]
    return _bad(v)


def _bad(v: Any) -> Any:
    raise ProtocolError(f"reply holds a value the codec does not allow: {str(v)[:80]}")

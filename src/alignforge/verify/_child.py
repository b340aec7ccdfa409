"""The candidate side: runs in the forked, limited child and answers the worker's calls.

Everything the encoder uses is bound at import time (in the zygote, before any
candidate code exists), so a candidate that monkeypatches ``builtins``, ``json`` or
``type`` cannot change how its return values are encoded. Whatever it does, the
worker only ever receives bytes that decode to builtin values.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import decimal
import fractions
import io
import json
import marshal
import os
import pickle
import sys
from typing import Any

from alignforge.verify._protocol import RemoteRef, read_frame, write_frame

_type = type
_len = len
_str = str
_repr = repr
_isinstance = isinstance
_loads = pickle.loads
_code_loads = marshal.loads
_getattr = getattr
_BUILTIN_EQ_TYPES = (int, float, str, bytes, bool, list, tuple, dict, set, frozenset, complex, type(None))
_Counter, _OrderedDict, _defaultdict, _deque = (
    collections.Counter,
    collections.OrderedDict,
    collections.defaultdict,
    collections.deque,
)
_Fraction, _Decimal = fractions.Fraction, decimal.Decimal
_SUSPECT_DUNDERS = (
    "__eq__",
    "__ne__",
    "__bool__",
    "__len__",
    "__hash__",
    "__lt__",
    "__gt__",
    "__le__",
    "__ge__",
    "__float__",
    "__int__",
    "__index__",
    "__abs__",
    "__sub__",
    "__contains__",
    "__iter__",
    "__getattribute__",
    "__getattr__",
    "__instancecheck__",
    "__class__",
)
_DICT_TYPES = (dict, _Counter, _OrderedDict, _defaultdict)
_type_flags = type.__dict__["__flags__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_name = type.__dict__["__name__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: set on every class made by a class statement or type()
_NUMPY_SKIP = ("datetime64", "timedelta64", "object_", "void")
_Match = type(__import__("re").match("", ""))
_handles: list[Any] = []
_join = "".join
_make_encoder = json.encoder.c_make_encoder  # type: ignore[attr-defined]
_encode_str = json.encoder.encode_basestring_ascii


class Untrusted(Exception):
    def __init__(self, typename: str, suspect: bool) -> None:
        super().__init__(typename)
        self.typename = typename
        self.suspect = suspect


def _suspect(t: Any) -> bool:
    try:
        for klass in t.__mro__:
            if klass is object or klass in _BUILTIN_EQ_TYPES:
                continue
            if any(name in klass.__dict__ for name in _SUSPECT_DUNDERS):
                return True
        return False
    except Exception:
        return True


def encode(obj: Any) -> Any:
    t = _type(obj)
    if obj is None or t is str or t is int or t is float or t is bool:
        return obj
    if t is list:
        return {"l": [encode(x) for x in obj]}
    if t is tuple:
        return {"t": [encode(x) for x in obj]}
    if t in _DICT_TYPES:
        return {"d": [[encode(k), encode(v)] for k, v in dict.items(obj)]}
    if t is set:
        return {"s": [encode(x) for x in obj]}
    if t is frozenset:
        return {"f": [encode(x) for x in obj]}
    if t is bytes or t is bytearray:
        return {"b": bytes.hex(bytes(obj))}
    if t is complex:
        return {"c": [complex.real.__get__(obj), complex.imag.__get__(obj)]}
    if t is _Fraction:
        return {"F": [obj.numerator, obj.denominator]}
    if t is _Decimal:
        return {"D": _Decimal.__str__(obj)}
    if t is _deque:
        return {"q": [encode(x) for x in obj]}
    if t is _Match:
        return {"m": obj.group(0)}
    if _is_numpy_scalar(t):
        return encode(t.item(obj))
    raise Untrusted(_getattr(t, "__qualname__", "?"), _suspect(t))


def _is_numpy_scalar(t: Any) -> bool:
    """Exactly one of numpy's own scalar classes (``np.int64``, ``np.float64``, ``np.bool_``, ...).

    They are static C types, which no Python code can make: a subclass, or a look-alike class named
    ``numpy.int64`` in a fake ``numpy`` module, is a heap type and is refused. The test reads the
    type's slots through descriptors bound at import, so a metaclass cannot answer for it.
    """
    try:
        if _type_flags(t) & _HEAPTYPE or _type_module(t) != "numpy" or _type_name(t) in _NUMPY_SKIP:
            return False
        return any(
            not _type_flags(k) & _HEAPTYPE and _type_module(k) == "numpy" and _type_name(k) == "generic"
            for k in _type_mro(t)
        )
    except Exception:
        return False


def _exc_reply(exc: BaseException) -> dict[str, Any]:
    name = _getattr(_type(exc), "__name__", "Exception")
    try:
        msg = _str(exc)[:500]
    except BaseException:
        msg = "<unprintable>"
    builtin = _type(exc) is _getattr(builtins, name, None)
    return {"exc": name if builtin else "CandidateException", "name": _str(name)[:100], "msg": msg}


def _resolve(value: Any, ns: dict[str, Any]) -> Any:
    if _type(value) is RemoteRef:
        if value.name.startswith("#"):
            return _handles[int(value.name[1:])]
        return ns[value.name]
    if _type(value) in (list, tuple):
        return _type(value)(_resolve(v, ns) for v in value)
    return value


def _run_stdio(code: Any, stdin_text: str, limit: int, null_fd: int) -> tuple[str, bool]:
    """Run the program as ``__main__`` with real fds 0 and 1 (so ``sys.stdin.buffer``, ``open(0)``,
    ``sys.stdout.buffer`` and ``os.write(1, ...)`` work); return (at most ``limit`` bytes of its
    stdout, decoded, and whether there was more)."""
    fd_in, fd_out = os.memfd_create("stdin"), os.memfd_create("stdout")
    old = sys.stdin, sys.stdout
    g: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        data = memoryview(stdin_text.encode("utf-8", "surrogateescape"))
        while data:
            data = data[os.write(fd_in, data) :]
        os.lseek(fd_in, 0, os.SEEK_SET)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
        out = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
        sys.stdout = out
        try:
            with contextlib.suppress(SystemExit):
                exec(code, g)
            out.flush()
            g.clear()  # drops (and so flushes) files the program opened on fd 1 while fd 1 is its stdout
            with contextlib.suppress(Exception):
                sys.__stdout__.flush()  # type: ignore[union-attr]
        finally:
            g.clear()
            sys.stdin, sys.stdout = old
            os.dup2(null_fd, 0)
            os.dup2(null_fd, 1)
        raw = os.pread(fd_out, limit + 1, 0)
        return raw[:limit].decode("utf-8", "replace"), _len(raw) > limit
    finally:
        os.close(fd_in)
        os.close(fd_out)


def _call(ns: dict[str, Any], name: str, args: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        fn = ns.get(name)
        if fn is None:
            raise NameError(f"name '{name}' is not defined")
        result = fn(*_resolve(tuple(args), ns), **kwargs)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from candidate code included
        return _exc_reply(exc)
    try:
        return {"v": encode(result)}
    except Untrusted as u:
        if u.suspect:
            return {"untrusted": u.typename[:100], "suspect": True}
        _handles.append(result)  # a plain object of the candidate's own class: keep it, hand out a handle
        return {"ref": _len(_handles) - 1, "type": u.typename[:100]}
    except BaseException as exc:  # the answer cannot be sent (nested past the stack): no raise of the call
        return {**_exc_reply(exc), "unsent": 1}


def _not_json(obj: Any) -> Any:
    raise TypeError(f"Object of type {_type(obj).__name__} is not JSON serializable")


def _dumps(obj: Any) -> str:
    """``json.dumps(obj)`` as one C call: json's own C encoder, made per call for its circularity check
    (json.dumps runs three Python frames around it, cold and so dear in a fresh child)."""
    return _join(_make_encoder({}, _not_json, _encode_str, None, ": ", ", ", False, False, True)(obj, 0))


def _dump(reply: dict[str, Any]) -> str:
    try:
        return _dumps(reply)
    except BaseException as exc:  # the answer itself cannot be sent: said so, apart from a raise
        return _dumps({**_exc_reply(exc), "unsent": 1})


def serve(req_fd: int, resp_fd: int) -> None:
    """Answer frames until the worker closes the pipe. Never returns normally.

    ``load`` may carry ``prefetch``: calls whose arguments are literals in the tests; they run
    right after the program, in test order, and their replies ride back with the load reply,
    saving one round trip per call.
    """
    ns: dict[str, Any] = {"__name__": "__candidate__", "__builtins__": builtins}
    stdio_code: Any = None
    null_fd = os.open(os.devnull, os.O_RDWR)
    send = write_frame
    while True:
        try:
            msg = _loads(read_frame(req_fd, deadline=None))
        except BaseException:
            os._exit(0)
        op = msg["op"]
        reply: dict[str, Any]
        try:
            if op == "load":
                # Compiled by the worker when it compiles (marshalled: see _worker._code); else here,
                # where a syntax error becomes this reply.
                code = msg.get("code")
                code = (
                    _code_loads(code) if code is not None else compile(msg["program"], "<candidate>", "exec")
                )
                if msg.get("stdio"):
                    stdio_code = code
                else:
                    exec(code, ns)
                    if msg.get("setup"):
                        exec(compile(msg["setup"], "<setup>", "exec"), ns)
                reply = {"ok": True}
                if msg.get("prefetch"):
                    reply["pre"] = [_dump(_call(ns, name, a, kw)) for name, a, kw in msg["prefetch"]]
            elif op == "call":
                reply = _call(ns, msg["name"], msg["args"], msg["kwargs"])
            elif op == "stdio":
                reply = {"v": encode(_run_stdio(stdio_code, msg["input"], msg["limit"], null_fd))}
            else:
                reply = {"exc": "RuntimeError", "name": "RuntimeError", "msg": f"unknown op {op!r}"}
        except BaseException as exc:
            reply = _exc_reply(exc)
        try:
            send(resp_fd, _dump(reply).encode())
        except BaseException:
            os._exit(0)

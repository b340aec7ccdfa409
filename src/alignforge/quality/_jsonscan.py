"""A byte-level JSON Lines scanner for standard-shape DPO rows, compiled with numba.

One pass over a chunk of whole lines does what Arrow's parse, the byte checks and the per-row
columns did in several: it validates each line as strict JSON (the grammar orjson accepts) and
gives, per row, 64-bit hashes of the decoded prompt, chosen and rejected, a whitespace-blind digest
of chosen and rejected (equal for two texts equal once whitespace is normalised as ``str.split``
does), their lengths in characters, the six scores, hashes and positions of the four labels and the
two ``contaminated`` flags.

It only vouches. It never decides that a line is bad: on anything outside the narrow shape it reads
(a blank or missing text, a score of another type or outside the fast, correctly rounded float path,
a repeated or escaped key, nesting past :data:`MAX_DEPTH`, two objects on a line, invalid UTF-8, a
lone surrogate, ...) it stops with a reason code and the line's index, and ``check`` reads the file
row by row, which names the line and the field of any error exactly as before.

Strings are hashed as the UTF-8 of the code points they decode to, so one text written with
different escapes (``\\u00e9`` or ``é``, ``\\/`` or ``/``) hashes alike; the whitespace-blind digest
is the sum and count of the bytes of the characters outside Python's ``str.isspace`` set. Numbers in
score fields are converted by Clinger's fast path (a mantissa under 2**53 times or divided by an
exact power of ten: one IEEE rounding, so the same double as any correctly rounded parser);
anything else declines. Numbers in fields the figures
ignore are only validated; one whose exponent or length could overflow a double marks its line for
orjson to read (:data:`SUSPECT`).

One module of about 750 lines, past STYLE's 500 on purpose: numba's on-disk cache (``cache=True``)
checks only the source file of the function it compiled, so with the kernels ``_scan`` calls in other
files an edit to one of them would leave the old compiled scanner in use, silently (a limitation
numba's jit docs state, and reproduced on this file split in five).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, cast

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# What every part of the scanner is compiled with: cached on disk, without the GIL, and without
# numba's reference counting (they allocate nothing; counting references on every call that passes
# an array cost more than the parsing).
_kernel: Any = cast(Any, njit)(cache=True, nogil=True, _nrt=False)

__all__ = ["MAX_DEPTH", "REASONS", "scan_chunk"]

MAX_DEPTH = 1100  # deeper nesting declines
SUSPECT_DEPTH = 1000  # deeper nesting is orjson's to judge (its limit is 1,024 levels)

# Reason codes: what stopped the scan at a line (0: it did not stop).
REASONS = {
    1: "is not one JSON object of the expected shape",
    2: "is over the line limit",
    3: "has invalid UTF-8, an invalid escape or a control character in a string",
    4: "has a key written with an escape",
    5: "repeats a field the figures read",
    6: "has prompt, chosen or rejected missing, null, blank or not a string",
    7: "has a score that is not a plain number in the fast path, or is outside 0-10",
    8: "has a label or flag of another type",
    9: "nests deeper than the scan follows",
    10: "has metadata that is not an object",
}

# Field ids: texts 0-2, scores 3-5, labels 6-7, contaminated 8, metadata 9; -1 unknown.
_KEYS = (
    b"prompt",
    b"chosen",
    b"rejected",
    b"chosen_score",
    b"rejected_score",
    b"score",
    b"flaw_type",
    b"strategy",
    b"contaminated",
    b"metadata",
)
_BY_LENGTH_AND_LAST = np.zeros((16, 128), dtype=np.int8)  # (length, last byte) -> field id + 1: unique
for _f, _k in enumerate(_KEYS):
    assert not _BY_LENGTH_AND_LAST[len(_k), _k[-1]]
    _BY_LENGTH_AND_LAST[len(_k), _k[-1]] = _f + 1
_KEY_BYTES = np.frombuffer(b"".join(_KEYS), dtype=np.uint8).copy()
_KEY_OFFS = np.cumsum([0] + [len(k) for k in _KEYS]).astype(np.int64)

_P1 = np.uint64(0x9E3779B185EBCA87)  # xxHash64's primes
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_ZERO = np.uint64(0)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_ASCII_SPACE = np.array([chr(c).isspace() for c in range(128)], dtype=np.uint8)
_LO7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)
_ONES = np.uint64(0x0101010101010101)
_CONTROL = np.uint64(0x2020202020202020)  # every byte 0x20: a byte below it is a control character
_SPACES = _CONTROL
_QUOTES = np.uint64(0x2222222222222222)
_SLASHES = np.uint64(0x5C5C5C5C5C5C5C5C)
_LANES = np.uint64(0x00FF00FF00FF00FF)
_LANE_SUM = np.uint64(0x0001000100010001)
_PLAIN = np.array([0x20 <= c < 0x7F and c not in (0x22, 0x5C) for c in range(256)], dtype=np.uint8)
_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)  # each exact in a double
_TWO53 = np.uint64(1 << 53)

SUSPECT = 1  # flag: orjson must read this line before the scan may vouch for it


@_kernel
def _is_space(cp: int) -> bool:
    if cp <= 0x20:
        return cp == 0x20 or 0x09 <= cp <= 0x0D or 0x1C <= cp <= 0x1F
    if cp < 0x85:
        return False
    return (
        cp == 0x85
        or cp == 0xA0
        or cp == 0x1680
        or 0x2000 <= cp <= 0x200A
        or cp == 0x2028
        or cp == 0x2029
        or cp == 0x202F
        or cp == 0x205F
        or cp == 0x3000
    )


@_kernel
def _ws(a: Any, i: int, end: int) -> int:
    while i < end:
        c = a[i]
        if c == 0x20 or c == 0x09 or c == 0x0D:  # JSON's whitespace but the newline that ends a line
            i += 1
        else:
            break
    return i


@_kernel
def _hex4(a: Any, i: int, end: int) -> int:
    """The value of four hex digits at ``a[i:i+4]``, or -1."""
    if i + 4 > end:
        return -1
    v = 0
    for k in range(4):
        c = a[i + k]
        if 0x30 <= c <= 0x39:
            d = c - 0x30
        elif 0x61 <= c <= 0x66:
            d = c - 0x61 + 10
        elif 0x41 <= c <= 0x46:
            d = c - 0x41 + 10
        else:
            return -1
        v = v * 16 + d
    return v


@_kernel
def _fin(z: Any) -> Any:
    """splitmix64's finaliser."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@cast(Any, intrinsic)
def _load64(typingctx: Any, arr: Any, idx: Any) -> Any:
    """The 8 bytes of ``arr`` from ``idx`` as one little-endian uint64 (an unaligned load)."""
    sig = types.uint64(arr, types.intp)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(ptr, align=1)

    return sig, codegen


@_kernel
def _round(acc: Any, word: Any) -> Any:
    """xxHash64's round: every bit of ``word`` reaches every bit of the result (a multiply alone
    carries only upward, so words differing in their top byte would collide one time in 256)."""
    acc += word * _P2
    acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
    return acc * _P1


@_kernel
def _zero_bytes(x: Any) -> Any:
    """0x80 in each byte of ``x`` that is zero, 0 in the others (exactly: no borrow between bytes)."""
    t = (x & _LO7) + _LO7
    return ~(t | x | _LO7)


@_kernel
def _byte_sum(w: Any) -> Any:
    """The sum of the 8 bytes of ``w`` (at most 2,040)."""
    t = (w & _LANES) + ((w >> np.uint64(8)) & _LANES)  # four 16-bit lanes of at most 510
    return (t * _LANE_SUM) >> np.uint64(48)


@_kernel
def _string(a: Any, i: int, end: int) -> tuple[int, Any, Any, int, bool]:
    """Read the string whose opening quote is at ``i``: (the index after its closing quote, or -1 when
    invalid; the hash of the string; a hash of its non-whitespace bytes, in any order; its characters;
    whether any is not whitespace).

    Both are computed over the string's canonical bytes, the UTF-8 of the code points it decodes to,
    so that every spelling of one string (escaped or not) gives the same values. The hash takes
    64-bit words of those bytes through xxHash64's round, in two lanes (alternate words), so a run
    of 8 plain ASCII bytes costs two multiplications. The second value, the sum and count of the
    bytes of characters that are not whitespace (Python's ``str.isspace``), is equal for two strings
    equal once whitespace is normalised; it only picks the pairs Python then compares."""
    h0 = _P1 + _P2
    h1 = _P2
    buf = _ZERO  # canonical bytes not yet in a word (``pending`` of them, little-endian)
    pending = 0
    size = 0  # canonical bytes in all
    total = _ZERO  # sum and count of the canonical bytes of non-whitespace characters
    kept = 0
    chars = 0
    i += 1
    while True:
        # Eight plain bytes at a time: printable ASCII but the quote and the backslash.
        while i + 8 <= end:
            w = _load64(a, i)
            if (
                (w & _HIGH)
                | ((w - _CONTROL) & ~w & _HIGH)
                | _zero_bytes(w ^ _QUOTES)
                | _zero_bytes(w ^ _SLASHES)
            ):
                break
            if pending:
                shift = np.uint64(8 * pending)
                h0, h1 = h1, _round(h0, buf | (w << shift))
                buf = w >> (np.uint64(64) - shift)
            else:
                h0, h1 = h1, _round(h0, w)
            spaces = _zero_bytes(w ^ _SPACES) >> np.uint64(7)  # 1 in each space byte
            total += _byte_sum(w & ~(spaces * np.uint64(0xFF)))
            kept += 8 - int((spaces * _ONES) >> np.uint64(56))
            size += 8
            chars += 8
            i += 8
        if i >= end:
            return -1, _ZERO, _ZERO, 0, False
        c = a[i]
        if c == 0x22:
            break
        # One character: its canonical bytes ``v`` (``k`` of them, little-endian) and code point.
        cp = 0
        if c == 0x5C:
            if i + 1 >= end:
                return -1, _ZERO, _ZERO, 0, False
            e = a[i + 1]
            i += 2
            if e == 0x22 or e == 0x5C or e == 0x2F:
                cp = e
            elif e == 0x6E:
                cp = 0x0A
            elif e == 0x74:
                cp = 0x09
            elif e == 0x72:
                cp = 0x0D
            elif e == 0x62:
                cp = 0x08
            elif e == 0x66:
                cp = 0x0C
            elif e == 0x75:
                cp = _hex4(a, i, end)
                if cp < 0:
                    return -1, _ZERO, _ZERO, 0, False
                i += 4
                if 0xD800 <= cp <= 0xDBFF:  # a high surrogate: its low one must follow
                    if i + 6 > end or a[i] != 0x5C or a[i + 1] != 0x75:
                        return -1, _ZERO, _ZERO, 0, False
                    lo = _hex4(a, i + 2, end)
                    if lo < 0xDC00 or lo > 0xDFFF:
                        return -1, _ZERO, _ZERO, 0, False
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                elif 0xDC00 <= cp <= 0xDFFF:
                    return -1, _ZERO, _ZERO, 0, False
            else:
                return -1, _ZERO, _ZERO, 0, False
            if cp < 0x80:
                k, v = 1, cp
            elif cp < 0x800:
                k, v = 2, (0xC0 | (cp >> 6)) | ((0x80 | (cp & 0x3F)) << 8)
            elif cp < 0x10000:
                k = 3
                v = (0xE0 | (cp >> 12)) | ((0x80 | ((cp >> 6) & 0x3F)) << 8) | ((0x80 | (cp & 0x3F)) << 16)
            else:
                k = 4
                v = (
                    (0xF0 | (cp >> 18))
                    | ((0x80 | ((cp >> 12) & 0x3F)) << 8)
                    | ((0x80 | ((cp >> 6) & 0x3F)) << 16)
                    | ((0x80 | (cp & 0x3F)) << 24)
                )
        elif c < 0x20:
            return -1, _ZERO, _ZERO, 0, False
        elif c < 0x80:
            cp, k, v = c, 1, c
            i += 1
        else:  # a UTF-8 sequence, checked as Python's decoder checks it, its bytes kept as they are
            if 0xC2 <= c <= 0xDF:
                n, cp, lo, hi = 1, c & 0x1F, 0x80, 0xBF
            elif 0xE0 <= c <= 0xEF:
                n, cp = 2, c & 0x0F
                lo = 0xA0 if c == 0xE0 else 0x80
                hi = 0x9F if c == 0xED else 0xBF
            elif 0xF0 <= c <= 0xF4:
                n, cp = 3, c & 0x07
                lo = 0x90 if c == 0xF0 else 0x80
                hi = 0x8F if c == 0xF4 else 0xBF
            else:
                return -1, _ZERO, _ZERO, 0, False
            if i + n >= end:
                return -1, _ZERO, _ZERO, 0, False
            b = a[i + 1]
            if b < lo or b > hi:
                return -1, _ZERO, _ZERO, 0, False
            cp = (cp << 6) | (b & 0x3F)
            v = c | (b << 8)
            for m in range(2, n + 1):
                b = a[i + m]
                if b < 0x80 or b > 0xBF:
                    return -1, _ZERO, _ZERO, 0, False
                cp = (cp << 6) | (b & 0x3F)
                v |= b << (8 * m)
            k = n + 1
            i += k
        chars += 1
        size += k
        u = np.uint64(v)
        if not (_ASCII_SPACE[cp] if cp < 0x80 else _is_space(cp)):
            total += _byte_sum(u)
            kept += k
        if pending + k < 8:
            buf |= u << np.uint64(8 * pending)
            pending += k
        else:  # a word is full (``pending`` is at least 4 here: the shifts stay under 64)
            shift = np.uint64(8 * pending)
            h0, h1 = h1, _round(h0, buf | (u << shift))
            buf = u >> (np.uint64(64) - shift)
            pending += k - 8
    # One finaliser each: the caller mixes the hashes again before any of them is compared.
    h = _fin(_fin(h0 ^ buf) ^ ((h1 << np.uint64(32)) | (h1 >> np.uint64(32))) ^ np.uint64(size))
    return i + 1, h, _fin(total ^ (np.uint64(kept) * _M1)), chars, kept > 0


@_kernel
def _number(a: Any, i: int, end: int) -> tuple[int, float, bool, bool]:
    """Read a JSON number at ``i``: (the index after it or -1 when invalid; its value; whether the
    value is exact by the fast path; whether a double might overflow on it)."""
    neg = False
    if a[i] == 0x2D:
        neg = True
        i += 1
        if i >= end:
            return -1, 0.0, False, False
    c = a[i]
    if c < 0x30 or c > 0x39:
        return -1, 0.0, False, False
    m = np.uint64(0)
    digits = 0  # significant digits taken into m
    exp10 = 0
    many = False  # more digits than m holds exactly
    whole = 0
    if c == 0x30:
        i += 1
        if i < end and 0x30 <= a[i] <= 0x39:
            return -1, 0.0, False, False  # a leading zero
    else:
        while i < end and 0x30 <= a[i] <= 0x39:
            if digits < 19:
                m = m * np.uint64(10) + np.uint64(a[i] - 0x30)
                digits += 1
            else:
                many = True
                exp10 += 1
            whole += 1
            i += 1
    integer = True
    if i < end and a[i] == 0x2E:
        integer = False
        i += 1
        start = i
        while i < end and 0x30 <= a[i] <= 0x39:
            d = a[i] - 0x30
            if digits == 0 and d == 0:
                exp10 -= 1  # a leading zero of the fraction
            elif digits < 19:
                m = m * np.uint64(10) + np.uint64(d)
                digits += 1
                exp10 -= 1
            elif d != 0:
                many = True
            i += 1
        if i == start:
            return -1, 0.0, False, False
    magnitude = whole  # decimal digits before the point, moved by the exponent: past 308 a double overflows
    if i < end and (a[i] == 0x65 or a[i] == 0x45):
        integer = False
        i += 1
        eneg = False
        if i < end and (a[i] == 0x2B or a[i] == 0x2D):
            eneg = a[i] == 0x2D
            i += 1
        start = i
        e = 0
        while i < end and 0x30 <= a[i] <= 0x39:
            if e < 100000:
                e = e * 10 + (a[i] - 0x30)
            i += 1
        if i == start:
            return -1, 0.0, False, False
        exp10 += -e if eneg else e
        magnitude += -e if eneg else e
    big = magnitude >= 300
    if m == 0:
        return i, (-0.0 if neg and not integer else 0.0), not many, big
    fast = not many and m <= _TWO53 and -22 <= exp10 <= 22
    if not fast:
        return i, 0.0, False, big
    v = float(m)
    v = v * _POW10[exp10] if exp10 >= 0 else v / _POW10[-exp10]
    return i, (-v if neg else v), True, big


@_kernel
def _member_key(a: Any, i: int, end: int) -> tuple[int, int]:
    """Read an ignored object's member key and its colon: (the index of the value, 0), or (-1, why)."""
    if i >= end or a[i] != 0x22:
        return -1, 1
    i = _string(a, i, end)[0]
    if i < 0:
        return -1, 3
    i = _ws(a, i, end)
    if i >= end or a[i] != 0x3A:
        return -1, 1
    return _ws(a, i + 1, end), 0


@_kernel
def _skip(a: Any, i: int, end: int, depth: int, stack: Any) -> tuple[int, int]:
    """Validate the JSON value at ``i``, of any type: (the index after it, or -1; a reason code
    when -1, else :data:`SUSPECT` or 0)."""
    flags = 0
    top = 0  # entries of stack in use: 1 an object, 2 an array
    while True:
        if i >= end:
            return -1, 1
        c = a[i]
        if c == 0x22:
            i = _string(a, i, end)[0]
            if i < 0:
                return -1, 3
        elif c == 0x2D or 0x30 <= c <= 0x39:
            i, _, _, big = _number(a, i, end)
            if i < 0:
                return -1, 1
            if big:
                flags = SUSPECT
        elif c == 0x74 or c == 0x66 or c == 0x6E:  # true false null
            if c == 0x74 and i + 4 <= end and a[i + 1] == 0x72 and a[i + 2] == 0x75 and a[i + 3] == 0x65:
                i += 4
            elif (
                c == 0x66
                and i + 5 <= end
                and a[i + 1] == 0x61
                and a[i + 2] == 0x6C
                and a[i + 3] == 0x73
                and a[i + 4] == 0x65
            ):
                i += 5
            elif c == 0x6E and i + 4 <= end and a[i + 1] == 0x75 and a[i + 2] == 0x6C and a[i + 3] == 0x6C:
                i += 4
            else:
                return -1, 1
        elif c == 0x7B or c == 0x5B:
            if depth + top + 1 > MAX_DEPTH:
                return -1, 9
            if depth + top + 1 > SUSPECT_DEPTH:
                flags = SUSPECT
            stack[top] = 1 if c == 0x7B else 2
            top += 1
            i = _ws(a, i + 1, end)
            if i < end and a[i] == (0x7D if c == 0x7B else 0x5D):
                top -= 1
                i += 1
            elif c == 0x7B:
                i, why = _member_key(a, i, end)
                if i < 0:
                    return -1, why
                continue  # the member's value
            else:
                continue  # the first element
        else:
            return -1, 1
        # After a value: close the containers it ends, or go on to the next member or element.
        while True:
            if top == 0:
                return i, flags
            i = _ws(a, i, end)
            if i >= end:
                return -1, 1
            c = a[i]
            closer = 0x7D if stack[top - 1] == 1 else 0x5D
            if c == closer:
                top -= 1
                i += 1
                continue
            if c != 0x2C:
                return -1, 1
            i = _ws(a, i + 1, end)
            if stack[top - 1] == 1:
                i, why = _member_key(a, i, end)
                if i < 0:
                    return -1, why
            break


@_kernel
def _key(a: Any, i: int, end: int, keys: Any, offs: Any) -> tuple[int, int, int]:
    """Read the key at ``i``: (the index after it or -1, the field id or -1, a reason code)."""
    j = i + 1
    while j < end and _PLAIN[a[j]]:
        j += 1
    if j >= end:
        return -1, -1, 1
    if a[j] == 0x5C:
        return -1, -1, 4
    if a[j] != 0x22:  # a control character, or non-ASCII: no field the figures read
        j = _string(a, i, end)[0]
        return (-1, -1, 3) if j < 0 else (j, -1, 0)
    n = j - i - 1
    f = _BY_LENGTH_AND_LAST[n, a[j - 1]] - 1 if 0 < n < 16 else -1  # the one field it can be
    if f >= 0:
        for k in range(n):
            if a[i + 1 + k] != keys[offs[f] + k]:
                return j + 1, -1, 0
    return j + 1, f, 0


@_kernel
def _row(
    a: Any, i: int, end: int, row: int, out_h: Any, out_n: Any, out_scores: Any, out_labels: Any,
    out_flags: Any, keys: Any, offs: Any, stack: Any,
) -> tuple[int, int, int]:  # fmt: skip
    """Read the row's object at ``i``: (the index after it or -1, a reason code, the line's flags).
    ``metadata``'s object is read in the same loop (numba's cache does not keep recursive code)."""
    flags = 0
    meta = False  # inside metadata's object
    seen = 0  # the fields read so far at this level
    seen_row = 0
    i = _ws(a, i + 1, end)
    if i < end and a[i] == 0x7D:
        return -1, 6, 0
    while True:
        if i >= end or a[i] != 0x22:
            return -1, 1, 0
        i, field, why = _key(a, i, end, keys, offs)
        if i < 0:
            return -1, why, 0
        i = _ws(a, i, end)
        if i >= end or a[i] != 0x3A:
            return -1, 1, 0
        i = _ws(a, i + 1, end)
        if i >= end:
            return -1, 1, 0
        if meta and (field <= 2 or field == 9):
            field = -1  # texts and metadata inside metadata are fields the figures ignore
        if field >= 0:
            if seen & (1 << field):
                return -1, 5, 0
            seen |= 1 << field
        c = a[i]
        is_null = c == 0x6E and i + 4 <= end and a[i + 1] == 0x75 and a[i + 2] == 0x6C and a[i + 3] == 0x6C
        if field < 0:
            i, why = _skip(a, i, end, 2 if meta else 1, stack)
            if i < 0:
                return -1, why, 0
            flags |= why
        elif field <= 2:
            if c != 0x22:
                return -1, 6, 0
            i, h, hn, chars, nonblank = _string(a, i, end)
            if i < 0:
                return -1, 3, 0
            if not nonblank:
                return -1, 6, 0
            out_h[row, field] = h
            if field > 0:
                out_h[row, field + 2] = hn
                out_n[row, field - 1] = chars
        elif field <= 5:
            slot = field - 3 + (3 if meta else 0)
            if is_null:
                i += 4
            elif c == 0x2D or 0x30 <= c <= 0x39:
                i, v, exact, _ = _number(a, i, end)
                if i < 0:
                    return -1, 1, 0
                if not exact or not (0.0 <= v <= 10.0):
                    return -1, 7, 0
                out_scores[row, slot] = v
            else:
                return -1, 7, 0
        elif field <= 7:
            slot = (field - 6) * 2 + (1 if meta else 0)
            if is_null:
                i += 4
            elif c == 0x22:
                start = i
                i, h, _, _, _ = _string(a, i, end)
                if i < 0:
                    return -1, 3, 0
                out_labels[row, slot, 0] = start
                out_labels[row, slot, 1] = i
                out_h[row, 5 + slot] = h
            else:
                return -1, 8, 0
        elif field == 8:
            slot = 1 if meta else 0
            if is_null:
                i += 4
            elif c == 0x74 and i + 4 <= end and a[i + 1] == 0x72 and a[i + 2] == 0x75 and a[i + 3] == 0x65:
                out_flags[row, slot] = 1
                i += 4
            elif (
                c == 0x66
                and i + 5 <= end
                and a[i + 1] == 0x61
                and a[i + 2] == 0x6C
                and a[i + 3] == 0x73
                and a[i + 4] == 0x65
            ):
                out_flags[row, slot] = 0
                i += 5
            else:
                return -1, 8, 0
        elif is_null:  # metadata
            i += 4
        elif c == 0x7B:
            i = _ws(a, i + 1, end)
            if i >= end or a[i] != 0x7D:
                meta, seen_row, seen = True, seen, 0
                continue  # its first member
            i += 1
        else:
            return -1, 10, 0
        # After a value: close metadata's object if it ends here, then the next member or the end.
        while True:
            i = _ws(a, i, end)
            if i >= end:
                return -1, 1, 0
            if a[i] == 0x7D:
                i += 1
                if meta:
                    meta, seen = False, seen_row
                    continue
                if (seen & 7) != 7:
                    return -1, 6, 0
                return i, 0, flags
            if a[i] != 0x2C:
                return -1, 1, 0
            i = _ws(a, i + 1, end)
            break


@_kernel
def _fill(
    a: Any, rows: int, max_line: int, starts: Any, out_h: Any, out_n: Any, out_scores: Any, out_labels: Any,
    out_flags: Any, suspect: Any, keys: Any, offs: Any, stack: Any,
) -> tuple[int, int]:  # fmt: skip
    """Read ``rows`` lines into the outputs: (rows read, 0), or (the line that stopped it, why).
    No allocation here: numba counts no references, which calls on arrays would otherwise pay."""
    n = len(a)
    i = 0
    for row in range(rows):
        starts[row] = i
        j = _ws(a, i, n)
        if j >= n or a[j] != 0x7B:
            return row, 1
        j, why, flags = _row(a, j, n, row, out_h, out_n, out_scores, out_labels, out_flags, keys, offs, stack)
        if j < 0:
            return row, why
        j = _ws(a, j, n)
        if j < n and a[j] != 0x0A:
            return row, 1
        if j - i > max_line:
            return row, 2
        suspect[row] = flags != 0
        i = j + 1
    starts[rows] = min(i, n)
    return rows, 0


@njit(cache=True, nogil=True)
def _scan(a: Any, last: bool, max_line: int, keys: Any, offs: Any) -> tuple[Any, ...]:
    n = len(a)
    rows = 0
    for k in range(n):
        if a[k] == 0x0A:
            rows += 1
    if last and n and a[n - 1] != 0x0A:
        rows += 1
    starts = np.empty(rows + 1, dtype=np.int64)
    out_h = np.zeros((rows, 9), dtype=np.uint64)  # prompt, chosen, rejected, norm c, norm r, 4 labels
    out_n = np.zeros((rows, 2), dtype=np.int64)
    out_scores = np.full((rows, 6), np.nan)  # own chosen, rejected, score; metadata's
    out_labels = np.full((rows, 4, 2), -1, dtype=np.int64)  # flaw own/meta, strategy own/meta
    out_flags = np.full((rows, 2), -1, dtype=np.int8)  # contaminated own, metadata's
    suspect = np.zeros(rows, dtype=np.bool_)
    stack = np.zeros(MAX_DEPTH + 2, dtype=np.uint8)
    done, why = _fill(
        a, rows, max_line, starts, out_h, out_n, out_scores, out_labels, out_flags, suspect, keys, offs, stack
    )
    return done, why, starts, out_h, out_n, out_scores, out_labels, out_flags, suspect


_loaded = threading.Lock()
_ready = False


def _load() -> None:
    """Load the compiled scanner once, from numba's cache when it holds it (compiling it otherwise).

    numba's first call in a process loads its array-math registry, which looks for a BLAS by
    importing ``scipy.linalg`` (0.2 s here): the scanner uses no linear algebra, so where scipy.linalg
    is not loaded yet, that import is refused for the duration (numba then records "no BLAS", which
    only np.dot and friends in jitted code would need) and allowed again after."""
    global _ready
    with _loaded:
        if _ready:
            return
        blocked = "scipy.linalg" not in sys.modules
        if blocked:
            sys.modules["scipy.linalg"] = None  # type: ignore[assignment]
        try:
            _scan(np.frombuffer(b"{}\n", dtype=np.uint8), False, 8, _KEY_BYTES, _KEY_OFFS)
        finally:
            if blocked and sys.modules.get("scipy.linalg", 0) is None:
                del sys.modules["scipy.linalg"]
        _ready = True


def scan_chunk(data: Any, *, last: bool, max_line: int) -> tuple[Any, ...]:
    """Scan ``data`` (whole lines; the file's last line may lack its newline when ``last``):
    (rows scanned, a reason code or 0, line starts, hashes, lengths, scores, label positions,
    flags, suspect lines). On a reason code the first value is the 0-based line that stopped it.
    Lets go of the GIL."""
    if not _ready:
        _load()
    a = np.frombuffer(data, dtype=np.uint8)
    return _scan(a, last, max_line, _KEY_BYTES, _KEY_OFFS)  # type: ignore[no-any-return]

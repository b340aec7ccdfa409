"""Differential fuzz: ``check``'s columnar DPO scan against the row-by-row scan (issue #12).

Seeded random DPO files are written byte by byte (our own JSON writer: every escape, raw and
escaped UTF-8, whitespace between tokens, shuffled and unknown keys, numbers spelt many ways), then
checked twice with :func:`check_file`: once with the columnar scan forced on (``MIN_BYTES = 0``,
a small ``CHUNK_BYTES`` so lines straddle chunk ends) and once with it off (the row scan, the
reference). The whole result must be the same: every figure (floats to the bit, dict order too),
the warnings, the gates, or the same ``DataError`` word for word.

On the good files the columnar scan must also have been used. The generated features the engine
declines by design (rare spellings it hands to the row scan, naming the line) are listed in
:data:`DECLINED_BY_DESIGN`: good files leave them out, and each gets a file of its own whose result
must still match, and which must say it declined.
On a mismatch the failing file is shrunk to a few lines and named in the assertion.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

import alignforge.quality._columnar as columnar
import alignforge.quality.check as chk
from alignforge.io import DataError

if columnar.unavailable():
    pytest.skip(f"the columnar scan cannot run here: {columnar.unavailable()}", allow_module_level=True)

SEEDS = [1, 2, 3, 4, 5]

# -- A JSON writer that controls every byte --------------------------------------------------------


class Raw(bytes):
    """A token written as is (a number's spelling, a literal, a bad token)."""


class Obj(list):  # type: ignore[type-arg]
    """An object as (key, value) members, in order; a key may repeat. A key given as bytes is written
    as is (an escaped key, say)."""


# Python's whitespace (str.isspace): \t-\r \x1c-\x1f space \x85 \xa0 \u1680 \u2000-\u200a \u2028 \u2029 \u202f \u205f \u3000
WHITESPACE = "".join(chr(i) for i in range(0x110000) if chr(i).isspace())
SHORT_ESCAPES = {'"': b'\\"', "\\": b"\\\\", "/": b"\\/", "\b": b"\\b", "\f": b"\\f", "\n": b"\\n", "\r": b"\\r", "\t": b"\\t"}  # fmt: skip
WORDS = [
    "the", "answer", "is", "42", "e", "tree", "too", "x", "Ünïcødé", "naïve", "straße", "–", "€", "数据",
    "中文", "😀", "𝄞", "🇫🇷", "a\"quote", "back\\slash", "sl/ash", "bell\b", "ff\f", "nul\x00l", "del\x7f",
    "c\x01trl", "\u200bzw", "\ufeffbom", "\u2060wj", "\u180emvs", "NaN", "Infinity", "[{", "}]", "e1e2",
]  # fmt: skip


def _u(code: int, rng: random.Random) -> bytes:
    digits = f"{code:04x}"
    return b"\\u" + "".join(c.upper() if rng.random() < 0.5 else c for c in digits).encode()


def enc_str(s: str, rng: random.Random, p_escape: float | None = None) -> bytes:
    """``s`` as a JSON string, each character raw or escaped by chance (short escapes, ``\\uXXXX`` in
    either case, surrogate pairs for astral characters); those JSON requires escaped, always."""
    p = rng.choice([0.0, 0.0, 0.1, 0.5, 1.0]) if p_escape is None else p_escape
    out = [b'"']
    for ch in s:
        code = ord(ch)
        if not (ch in '"\\' or code < 0x20) and rng.random() >= p:
            out.append(ch.encode())
            continue
        forms = [SHORT_ESCAPES[ch]] if ch in SHORT_ESCAPES else []
        if code < 0x10000:
            forms.append(_u(code, rng))
        else:
            v = code - 0x10000
            forms.append(_u(0xD800 + (v >> 10), rng) + _u(0xDC00 + (v & 0x3FF), rng))
        out.append(rng.choice(forms))
    out.append(b'"')
    return b"".join(out)


def _ws(rng: random.Random) -> bytes:
    """JSON whitespace between tokens: mostly none, sometimes spaces, tabs or a carriage return."""
    return rng.choice([b"", b"", b"", b"", b" ", b"  ", b"\t", b" \t ", b"\r", b" \r\t"])


def enc(value: Any, rng: random.Random) -> bytes:
    if isinstance(value, Raw):
        return bytes(value)
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, str):
        return enc_str(value, rng)
    if isinstance(value, int | float):
        return orjson.dumps(value)
    if isinstance(value, Obj):
        members = [
            (k if isinstance(k, bytes) else enc_str(k, rng, 0.0)) + _ws(rng) + b":" + _ws(rng) + enc(v, rng)
            for k, v in value
        ]
        return b"{" + _ws(rng) + (_ws(rng) + b"," + _ws(rng)).join(members) + _ws(rng) + b"}"
    if isinstance(value, list):
        return (
            b"[" + _ws(rng) + (_ws(rng) + b"," + _ws(rng)).join(enc(v, rng) for v in value) + _ws(rng) + b"]"
        )
    raise TypeError(value)


# -- Texts -----------------------------------------------------------------------------------------


def text(rng: random.Random) -> str:
    """Words and runs of Python whitespace of every kind; never blank."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 9))]
    return _join(words, rng)


def _wsrun(rng: random.Random, *, empty: bool) -> str:
    if empty and rng.random() < 0.5:
        return ""
    return "".join(rng.choice([" ", " ", " ", rng.choice(WHITESPACE)]) for _ in range(rng.randint(1, 3)))


def _join(words: list[str], rng: random.Random) -> str:
    body = "".join(w + _wsrun(rng, empty=False) for w in words[:-1]) + words[-1]
    return _wsrun(rng, empty=True) + body + _wsrun(rng, empty=True)


def same_once_normalised(s: str, rng: random.Random) -> str:
    """Another text equal to ``s`` once whitespace is normalised (other runs, other ends)."""
    return _join(s.split(), rng)


def almost_same(s: str, rng: random.Random) -> str:
    """``s`` with whitespace put inside a word: not equal once normalised."""
    words = s.split()
    i = rng.randrange(len(words))
    w = words[i]
    words[i] = (w[:1] + rng.choice(WHITESPACE) + w[1:]) if len(w) > 1 else w + " " + w
    return _join(words, rng)


BLANK_LOOKING = ["\u200b", " \ufeff ", "\u2060\u3000", "\u180e", "\x7f", "\u3000x\u2028", " .\t", "\u00ad"]

# -- Numbers ---------------------------------------------------------------------------------------


def score_spelling(rng: random.Random) -> Raw:
    """A 0-10 score in a spelling any correctly rounded parser reads the same (ints, decimals,
    exponents, negative zero, the edges 0 and 10)."""
    kind = rng.randrange(6)
    if kind == 0:
        k = rng.randint(0, 10)
        return Raw(rng.choice([f"{k}", f"{k}.0", f"{k}e0", f"{k}0e-1" if k else "0e-1", f"{k}E+0"]).encode())
    if kind == 1:
        return Raw(rng.choice([b"0", b"0.0", b"-0", b"-0.0", b"0e0", b"-0E-5", b"10", b"10.0", b"1e1", b"1E+1", b"100e-1", b"0.1e2"]))  # fmt: skip
    if kind == 2:
        return Raw(
            rng.choice([b"9.3e0", b"1E-1", b"0.95E+1", b"95e-1", b"2.5", b"7.25", b"0.001", b"9.999999"])
        )
    places = rng.choice([1, 2, 3, 4])  # a decimal of up to four places, 0-10
    d = rng.randrange(0, 10 * 10**places + 1)
    whole, frac = divmod(d, 10**places)
    if rng.random() < 0.3:
        return Raw(f"{d}e-{places}".encode())
    return Raw(f"{whole}.{frac:0{places}d}".encode())


OTHER_NUMBERS = [
    b"0", b"-0", b"-0.0", b"1.5E+3", b"3.14159", b"1e308", b"-1.7976931348623157e308", b"2.2250738585072014e-308",
    b"5e-324", b"1e-400", b"0.000001", b"123456789012345678901234567890", b"-9223372036854775809",
    b"18446744073709551616", b"1" + b"0" * 308, b"9007199254740993", b"1E+2", b"7.00000000000000000001",
]  # fmt: skip
LABELS = ["incomplete", "factual_error", "zeta", "é-label", "e\u0301-label", "数据", "tab\tlabel", 'q"uote', "b\\s", "", " ", "😀"]  # fmt: skip


def any_value(rng: random.Random, depth: int = 0) -> Any:
    """A value of any JSON type for a field the figures ignore."""
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return Raw(rng.choice(OTHER_NUMBERS))
    if kind == 1:
        return rng.choice([None, True, False])
    if kind in (2, 3):
        return text(rng)
    if kind == 4:
        return rng.choice([Obj(), [], ""])
    if kind in (5, 6):  # objects whose keys look like the fields the figures read: ignored there
        keys = ["prompt", "chosen", "chosen_score", "metadata", "flaw_type", "k", "é", "数"]
        return Obj((rng.choice(keys), any_value(rng, depth + 1)) for _ in range(rng.randint(1, 4)))
    return [any_value(rng, depth + 1) for _ in range(rng.randint(1, 4))]


# -- Rows ------------------------------------------------------------------------------------------


class Gen:
    """Rows of a good file with every corner the columnar scan reads (``extra`` adds features the
    current engine declines: see :data:`DECLINED_BY_DESIGN`)."""

    def __init__(self, seed: int, extra: Callable[[random.Random, Obj], None] | None = None) -> None:
        self.rng = random.Random(seed)
        self.extra = extra
        self.pairs: list[tuple[str, str, str]] = []  # (prompt, chosen, rejected) written so far
        self.prompts: list[str] = []

    def texts(self) -> tuple[str, str, str]:
        rng = self.rng
        roll = rng.random()
        if self.pairs and roll < 0.08:  # a duplicate, written afresh (other escapes, other bytes)
            return rng.choice(self.pairs)
        if self.pairs and roll < 0.13:  # a conflict: the reversed preference
            p, c, r = rng.choice(self.pairs)
            return p, r, c
        p = rng.choice(self.prompts) if self.prompts and rng.random() < 0.15 else text(rng)
        c = rng.choice(BLANK_LOOKING) if rng.random() < 0.03 else text(rng)
        roll = rng.random()
        if roll < 0.07:
            r = c  # identical
        elif roll < 0.15:
            r = same_once_normalised(c, rng)
        elif roll < 0.19:
            r = almost_same(c, rng)
        elif roll < 0.22:
            r = rng.choice(BLANK_LOOKING)
        else:
            r = text(rng)
        return p, c, r

    def row(self) -> Obj:
        rng = self.rng
        p, c, r = self.texts()
        self.pairs.append((p, c, r))
        self.prompts.append(p)
        members = Obj([("prompt", p), ("chosen", c), ("rejected", r)])
        meta = Obj()
        for name in ("chosen_score", "rejected_score", "score"):
            where = rng.random()
            if name == "score" and where < 0.8:
                continue
            if where < 0.15:
                continue  # missing
            value = None if rng.random() < 0.1 else score_spelling(rng)
            if where < 0.5:
                meta.append((name, value))
            elif where < 0.8:
                members.append((name, value))
            else:  # both: the row's wins unless null
                members.append((name, value))
                meta.append((name, score_spelling(rng)))
        for name in ("flaw_type", "strategy", "contaminated"):
            for target in (members, meta):
                roll = rng.random()
                if roll < 0.4:
                    continue
                if roll < 0.5:
                    target.append((name, None))
                elif name == "contaminated":
                    target.append((name, rng.random() < 0.5))
                else:
                    target.append((name, rng.choice(LABELS)))
        for _ in range(rng.choice([0, 0, 1, 2])):  # fields the figures ignore
            meta.append((rng.choice(["judge", "prompt", "metadata", "note", "é", "chosen"]), any_value(rng)))
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            name = rng.choice(["id", "extra", "prompt_id", "chosen_score_raw", "tags", "scores", "x", "é"])
            members.append((name, any_value(rng)))
            if rng.random() < 0.1:
                members.append((name, any_value(rng)))  # an unknown key twice: both parsers take it
        if rng.random() < 0.01:  # deep, within orjson's limit
            depth = rng.randint(900, 1020)
            members.append(("deep", Raw(b"[" * depth + b"1" + b"]" * depth)))
        rng.shuffle(meta)
        roll = rng.random()
        if roll < 0.15:
            pass  # no metadata
        elif roll < 0.25:
            members.append(("metadata", None))
        elif roll < 0.35:
            members.append(("metadata", Obj()))
        else:
            members.append(("metadata", meta))
        rng.shuffle(members)
        if self.extra is not None:
            self.extra(rng, members)
        return members

    def line(self, obj: Any = None) -> bytes:
        rng = self.rng
        body = enc(self.row() if obj is None else obj, rng)
        return (
            rng.choice([b"", b"", b"", b" ", b"\t "]) + body + rng.choice([b"", b"", b"", b" ", b"\t", b"\r"])
        )


def write_file(path: Path, lines: list[bytes], rng: random.Random) -> None:
    """Lines ending in LF or CRLF, by chance; the last one with or without its newline."""
    out = bytearray()
    for i, line in enumerate(lines):
        out += line
        if i < len(lines) - 1 or rng.random() < 0.7:
            out += b"\r\n" if rng.random() < 0.2 else b"\n"
    path.write_bytes(bytes(out))


def good_lines(gen: Gen, n: int) -> list[bytes]:
    lines = [gen.line() for _ in range(n)]
    for line in lines:
        orjson.loads(line)  # the writer's own check: every good line is JSON
    return lines


# -- The two scans ---------------------------------------------------------------------------------


def canon(x: Any) -> Any:
    """``x`` with its order and types kept: dicts as item lists, floats by their bits."""
    if isinstance(x, dict):
        return ("dict", [(canon(k), canon(v)) for k, v in x.items()])
    if isinstance(x, list | tuple):
        return ("list", [canon(v) for v in x])
    if isinstance(x, float):
        return ("float", x.hex())
    return (type(x).__name__, x)


def outcome(path: Path, *, fast: bool) -> tuple[Any, str | None]:
    """(the whole check result, or its DataError; the engine that read the file)."""
    saved = columnar.MIN_BYTES, chk.PARALLEL_MIN_BYTES
    columnar.MIN_BYTES = 0 if fast else 1 << 62
    chk.PARALLEL_MIN_BYTES = 1 << 62  # the reference is the sequential row scan
    try:
        result = chk.check_file(path)
    except DataError as exc:
        return ("DataError", str(exc), exc.line, exc.field), None
    finally:
        columnar.MIN_BYTES, chk.PARALLEL_MIN_BYTES = saved
    data = result.as_dict()
    engine = data["figures"].pop("scan_engine")
    return canon(data), engine


def _differs(path: Path, lines: list[bytes], probe: Path) -> bool:
    probe.write_bytes(b"\n".join(lines))
    return outcome(probe, fast=True)[0] != outcome(probe, fast=False)[0]


def shrink(path: Path) -> str:
    """The failing file cut down (greedy chunk removal, bounded) to lines that still disagree."""
    lines = path.read_bytes().split(b"\n")
    probe = path.with_name("shrunk.jsonl")
    size, runs = max(1, len(lines) // 2), 0
    while size >= 1 and runs < 80:
        i, removed = 0, False
        while i < len(lines) and runs < 80:
            trial = lines[:i] + lines[i + size :]
            runs += 1
            if trial and _differs(path, trial, probe):
                lines, removed = trial, True
            else:
                i += size
        if not removed:
            size //= 2
    shown = "\n".join(repr(line[:400]) for line in lines[:8])
    return f"{len(lines)} line(s) still disagree:\n{shown}"


def assert_same(path: Path) -> tuple[Any, str | None]:
    fast, engine = outcome(path, fast=True)
    slow, slow_engine = outcome(path, fast=False)
    assert slow_engine in (None, "rows")
    if fast != slow:
        pytest.fail(f"the columnar scan disagrees with the row scan on {path}: {shrink(path)}")
    return slow, engine


@pytest.fixture
def chunked(monkeypatch: pytest.MonkeyPatch) -> Callable[[random.Random], int]:
    def set_chunk(rng: random.Random) -> int:
        size = rng.choice([1500, 4096, 20_000, 65_536, columnar.CHUNK_BYTES])
        monkeypatch.setattr(columnar, "CHUNK_BYTES", size)  # lines straddle chunk ends
        return size

    return set_chunk


# -- Good files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_good_file_gives_the_row_scans_figures_by_the_columnar_scan(tmp_path, chunked, seed):
    rng = random.Random(seed)
    chunked(rng)
    gen = Gen(seed)
    lines = good_lines(gen, rng.randint(300, 3000))
    path = tmp_path / "pairs.jsonl"
    write_file(path, lines, rng)
    result, engine = assert_same(path)
    assert result[0] != "DataError", result  # the writer writes good rows only
    assert engine == "columnar", engine
    figures = dict(dict(result[1])[("str", "figures")][1])

    def fig(name: str) -> Any:
        return figures[("str", name)][1]

    # The corners were there to be found.
    assert fig("duplicate_pairs") > 0 and fig("conflicting_pairs") > 0 and fig("identical_pairs") > 0
    assert 0 < fig("scored_pairs") < fig("total_pairs") == len(lines)
    assert fig("decontamination_claimed_rows") > 0
    labels = {k[1] for k, _ in fig("flaw_mix")}
    assert {"é-label", "数据", 'q"uote', ""} <= labels
    # Duplicates were written with other bytes than their first appearance; every whitespace is there.
    seen: dict[tuple[str, str, str], bytes] = {}
    rewritten, chars = 0, set()
    for line in lines:
        row = orjson.loads(line)
        key = (row["prompt"], row["chosen"], row["rejected"])
        chars.update(*key)
        rewritten += key in seen and seen[key] != line
        seen.setdefault(key, line)
    assert rewritten > 0 and set(WHITESPACE) <= chars


# -- Features the current engine declines (good files leave them out) ------------------------------


def _escaped_key(rng: random.Random, members: Obj) -> None:
    k = rng.randrange(len(members))
    name, value = members[k]
    if isinstance(name, str) and name and rng.random() < 0.3:
        members[k] = (enc_str(name, rng, 1.0), value)  # "pr\u006fmpt": the same key to orjson


def _repeated_key(rng: random.Random, members: Obj) -> None:
    if rng.random() < 0.3:  # a field the figures read, twice: orjson keeps the last
        name = rng.choice(["prompt", "chosen", "rejected", "chosen_score", "flaw_type", "metadata"])
        first = {"chosen_score": Raw(b"3"), "metadata": None, "flaw_type": "zeta"}.get(
            name, "an earlier text"
        )
        members.insert(0, (name, first))


def _label_of_another_type(rng: random.Random, members: Obj) -> None:
    if rng.random() < 0.2:
        name = rng.choice(["flaw_type", "strategy", "contaminated"])
        members[:] = [m for m in members if m[0] != name]
        other = [Raw(b"5"), Raw(b"-0.5"), True] if name != "contaminated" else [Raw(b"1"), "yes", Obj()]
        members.append((name, rng.choice(other)))


def _score_beyond_fast_path(rng: random.Random, members: Obj) -> None:
    if rng.random() < 0.2:  # more digits than a 64-bit mantissa, or a halfway case: still 0-10
        spelling = rng.choice([
            b"7.00000000000000000001", b"9.99999999999999999999999", b"0.30000000000000000000000001",
            b"9.000000000000000888178419700125232338905334472656250000001",  # just above a halfway point
            b"2.5e-0000000001", b"0.0000000000000000000000000001", b"12345678901234567e-16",
        ])  # fmt: skip
        members[:] = [m for m in members if m[0] != "chosen_score"]
        members.append(("chosen_score", Raw(spelling)))


def _nul_only_text(rng: random.Random, members: Obj) -> None:
    if rng.random() < 0.1:  # "\x00" is not whitespace: not blank to str.strip()
        members[:] = [m for m in members if m[0] != "rejected"]
        members.append(("rejected", rng.choice(["\x00", " \x00 ", "\x00\u3000"])))


DECLINED_BY_DESIGN: dict[str, Callable[[random.Random, Obj], None]] = {
    # The scan reads these rarely-seen spellings no faster than the row scan would: it declines them,
    # naming the line and why, and the row scan's figures (or its error) are the result.
    "escaped key": _escaped_key,
    "repeated known key": _repeated_key,
    "label or flag of another type": _label_of_another_type,  # an error: the row scan names the field
    "score beyond the fast path": _score_beyond_fast_path,
}
READ_BY_THE_SCAN: dict[str, Callable[[random.Random, Obj], None]] = {
    "text of NUL and whitespace only": _nul_only_text,
}


@pytest.mark.parametrize("feature", sorted(DECLINED_BY_DESIGN) + sorted(READ_BY_THE_SCAN))
def test_a_rare_feature_gives_the_row_scans_result(tmp_path, chunked, feature):
    rng = random.Random(feature)
    chunked(rng)
    gen = Gen(len(feature), extra={**DECLINED_BY_DESIGN, **READ_BY_THE_SCAN}[feature])
    lines = good_lines(gen, 400)
    path = tmp_path / "pairs.jsonl"
    write_file(path, lines, rng)
    result, engine = assert_same(path)
    if feature in READ_BY_THE_SCAN:
        assert engine == "columnar"
    elif result[0] == "DataError":
        assert feature == "label or flag of another type", result
    else:
        assert engine is not None and engine.startswith("rows (the columnar scan declined: line "), engine


# -- One bad line among good ones ------------------------------------------------------------------

G = b'{"prompt": "p", "chosen": "c", "rejected": "r"'  # a row to finish: G + b"}" is good
BAD_LINES: dict[str, bytes] = {
    "lone high surrogate": G + b', "chosen": "c\\ud800"}',
    "lone high surrogate, ignored field": G + b', "extra": "\\ud800"}',
    "lone low surrogate": G + b', "extra": ["\\udc00"]}',
    "reversed surrogate pair": G + b', "metadata": {"note": "\\ude00\\ud83d"}}',
    "high surrogate then a letter": b'{"prompt": "p\\ud83d\\u0041", "chosen": "c", "rejected": "r"}',
    "invalid UTF-8": b'{"prompt": "p\xff", "chosen": "c", "rejected": "r"}',
    "invalid UTF-8, ignored field": G + b', "extra": "\xc3"}',
    "overlong UTF-8": G + b', "extra": "\xc0\xaf"}',
    "surrogate as UTF-8": b'{"prompt": "p", "chosen": "\xed\xa0\x80", "rejected": "r"}',
    "truncated UTF-8 sequence": b'{"prompt": "p", "chosen": "\xe2\x82", "rejected": "r"}',
    "bad escape": b'{"prompt": "p", "chosen": "c\\x41", "rejected": "r"}',
    "bad escape, ignored field": G + b', "extra": {"k": "\\a"}}',
    "short \\u escape": G + b', "extra": "\\u12"}',
    "raw control character": b'{"prompt": "p", "chosen": "c\x01", "rejected": "r"}',
    "raw tab in a string": b'{"prompt": "p", "chosen": "c\td", "rejected": "r"}',
    "raw NUL in an ignored field": G + b', "extra": "a\x00b"}',
    "NaN": G + b', "extra": NaN}',
    "Infinity": G + b', "metadata": {"x": Infinity}}',
    "-Infinity score": G + b', "chosen_score": -Infinity}',
    "NaN score": G + b', "metadata": {"rejected_score": NaN}}',
    "leading zero": G + b', "extra": 01}',
    "leading zero score": G + b', "chosen_score": 07}',
    "trailing comma": G + b",}",
    "trailing comma in an array": G + b', "extra": [1, 2,]}',
    "duplicated key (the last blank)": G + b', "prompt": " "}',
    "duplicated key (the first blank)": b'{"prompt": " ", "chosen": "c", "rejected": "r", "prompt": "p2"}',
    "score as a string": G + b', "metadata": {"chosen_score": "9"}}',
    "score as true": G + b', "rejected_score": true}',
    "score out of range": G + b', "chosen_score": 10.5}',
    "score just past 10": G + b', "metadata": {"score": 10.000000000000002}}',
    "score below 0": G + b', "rejected_score": -0.25}',
    "score past a double": G + b', "chosen_score": 1e999}',
    "blank prompt": b'{"prompt": " \\u3000\\t", "chosen": "c", "rejected": "r"}',
    "blank chosen of every whitespace": b'{"prompt": "p", "chosen": "'
    + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE).encode()
    + b'", "rejected": "r"}',
    "empty rejected": b'{"prompt": "p", "chosen": "c", "rejected": ""}',
    "missing rejected": b'{"prompt": "p", "chosen": "c"}',
    "null prompt": b'{"prompt": null, "chosen": "c", "rejected": "r"}',
    "two objects on one line": G + b"} " + G + b"}",
    "blank line": b"",
    "whitespace line": b" \t\r",
    "a list where a string belongs": b'{"prompt": "p", "chosen": ["c"], "rejected": "r"}',
    "messages where a string belongs": b'{"prompt": "p", "chosen": [{"role": "assistant", "content": "c"}], "rejected": "r"}',  # fmt: skip
    "metadata a list": G + b', "metadata": [1]}',
    "metadata a string": G + b', "metadata": "m"}',
    "nesting past 1,024 levels": G + b', "extra": ' + b"[" * 1030 + b"]" * 1030 + b"}",
    "nesting of 1,024 objects": G + b', "extra": ' + b'{"a":' * 1024 + b"1" + b"}" * 1024 + b"}",
    "a number past 64 bits": G + b', "extra": 123456789012345678901234567890}',
    "a number past 64 bits in metadata": G + b', "metadata": {"n": -99999999999999999999999}}',
    "a number past a double (exponent)": G + b', "extra": 1e400}',
    "a number past a double (300 digits, e9)": G + b', "extra": ' + b"9" * 300 + b"e9}",
    "a number past a double (251 digits, e60)": G + b', "metadata": {"x": [1' + b"0" * 250 + b"e60]}}",
    "a number past a double (400 digits)": G + b', "extra": ' + b"9" * 400 + b"}",
    "a number past a double (0.5e309)": G + b', "extra": [0.5e309]}',
    "a number past a double (-1.8e308)": G + b', "metadata": {"n": -1.8e308}}',
    "a number near a double's end (0.0000001e315)": G + b', "extra": 0.0000001e315}',
    "a number brought back by its exponent": G + b', "extra": 1' + b"0" * 500 + b"e-400}",
    "a number lost to underflow": G + b', "extra": [1e-99999999, 0e999999]}',
    "not JSON whitespace (form feed)": G + b',\x0c"extra": 1}',
    "a comment": G + b" /* c */}",
    "single quotes": G + b", 'x': 1}",
    "a bare word": G + b', "extra": True}',
    "truncated": G,
    "not an object": b'["p", "c", "r"]',
    "an empty object": b"{}",
    "a byte-order mark": b"\xef\xbb\xbf" + G + b"}",
    "a label as an object": G + b', "flaw_type": {"a": 1}}',
}
# Lines the row scan reads without an error (the rest must give its error, word for word).
ROW_SCAN_READS = {
    "duplicated key (the first blank)",
    "blank line",
    "whitespace line",
    "a number past 64 bits",
    "a number past 64 bits in metadata",
    "a byte-order mark",
    "a number near a double's end (0.0000001e315)",
    "a number brought back by its exponent",
    "a number lost to underflow",
}


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_one_bad_line_gives_the_row_scans_result(tmp_path, chunked, name):
    rng = random.Random(name)
    chunked(rng)
    gen = Gen(len(name) * 7 + 1)
    lines = good_lines(gen, rng.randint(200, 600))
    at = rng.choice([0, rng.randrange(len(lines)), len(lines)])
    if name == "a byte-order mark":
        at = 0  # only the file's first line may carry one
    lines.insert(at, BAD_LINES[name])
    path = tmp_path / "pairs.jsonl"
    write_file(path, lines, rng)
    result, _ = assert_same(path)
    if name in ROW_SCAN_READS:
        assert result[0] != "DataError", result
    else:
        assert result[0] == "DataError" and result[2] == at + 1, result  # the bad line, named


def test_a_label_as_an_object_is_an_error_naming_its_field(tmp_path):
    """A flaw_type given as an object was counted as a dict key: a TypeError traceback from both
    scans. Labels are now validated: the line and the field are named, by both scans alike."""
    lines = good_lines(Gen(9), 50)
    lines.insert(10, BAD_LINES["a label as an object"])
    path = tmp_path / "pairs.jsonl"
    write_file(path, lines, random.Random(9))
    result, _ = assert_same(path)
    assert result[0] == "DataError" and result[2] == 11 and result[3].endswith("flaw_type"), result

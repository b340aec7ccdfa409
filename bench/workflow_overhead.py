"""A workflow run against the same stages run by hand (``run_stage`` in a script); a resumed run.

Stages: split -> dedup -> check (keep-passing, pair gates) -> split, on a synthetic DPO pairs file
(``--rows``, default 200k). The same stage objects' parameters, run three ways in fresh folders:

- by hand: ``run_stage(...)`` for each stage, in order;
- ``alignforge workflow run`` (``workflow: stages``): the runner, its manifest, its gates;
- the workflow again on the finished run directory: it must redo no stage (the executions are
  counted from the stage records' ``finished`` times, which a redo would change).

Target: workflow / by hand <= 1.05. Reported: the ratio of the fastest of ``--repeats`` runs each
(alternating order; the minimum is the estimate least disturbed by other work on a shared machine),
the ratio of the medians, and the seconds each way spends outside the stages' own ``execute()``
(wall time - the sum of the stages' ``duration_s``): the runner's cost itself.

    .venv/bin/python bench/workflow_overhead.py [--rows 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

GATES = {
    "version": 1,
    "preference_data": {
        "row_gates": {"chosen_score": {"min": 9.0}, "rejected_score": {"max": 6.0}, "not_identical": True},
        "total_pairs": {"min": 1000},
    },
}


def make_pairs(path: Path, rows: int) -> None:
    rnd = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            p = f"Question {i % (rows // 2)}: what is {rnd.randint(1, 999)} plus {rnd.randint(1, 999)}?"
            f.write(
                json.dumps(
                    {
                        "prompt": p,
                        "chosen": f"The answer is {i}. " * 4,
                        "rejected": f"Maybe {i + 1}.",
                        "metadata": {
                            "chosen_score": rnd.choice([9.0, 9.5, 8.0]),
                            "rejected_score": rnd.choice([2.0, 5.0, 7.0]),
                        },
                    }
                )
                + "\n"
            )


def by_hand(data: Path, out: Path) -> tuple[float, float]:
    from alignforge.stages import get_stage, run_stage

    t = time.perf_counter()
    split = run_stage(get_stage("split")(data, out / "s1", validation=0.1))
    dedup = run_stage(get_stage("dedup")(data=Path(split.outputs["out"]), out=out / "dedup.jsonl"))
    check = run_stage(
        get_stage("check")(
            data=Path(dedup.outputs["out"]),
            keep_passing=out / "checked.jsonl",
            json_out=out / "check.json",
            failing_rows=out / "failing_rows",
            gates=GATES,
            gates_stage="preference_data",
        )
    )
    last = run_stage(get_stage("split")(Path(check.outputs["out"]), out / "s2", validation=0.2))
    wall = time.perf_counter() - t
    return wall, wall - sum(x.duration_s for x in (split, dedup, check, last))


WORKFLOW = """\
workflow: stages
stages:
  - {{name: s1, stage: split, params: {{data: {data}, out_dir: "run:s1", validation: 0.1}}}}
  - {{name: dedup, stage: dedup, params: {{data: "@s1.out", out: "run:dedup.jsonl"}}}}
  - name: check
    stage: check
    params: {{data: "@dedup.out", keep_passing: "run:checked.jsonl", json_out: "run:check.json",
             failing_rows: "run:failing_rows", gates_stage: preference_data, gates: {gates}}}
  - {{name: s2, stage: split, params: {{data: "@check.out", out_dir: "run:s2", validation: 0.2}}}}
"""


def by_workflow(wf: Path, out: Path) -> tuple[float, dict]:
    from alignforge.workflow import run_workflow

    t = time.perf_counter()
    m = run_workflow(wf, out)
    return time.perf_counter() - t, m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="alignforge-wf-bench-"))
    try:
        data = root / "pairs.jsonl"
        make_pairs(data, args.rows)
        wf = root / "wf.yaml"
        wf.write_text(WORKFLOW.format(data=data, gates=json.dumps(GATES)))
        hand, flow, hand_out, flow_out = [], [], [], []
        for i in range(args.repeats):
            order = ("hand", "flow") if i % 2 == 0 else ("flow", "hand")
            for which in order:
                out = root / f"{which}{i}"
                if which == "hand":
                    wall, outside = by_hand(data, out)
                    hand.append(wall)
                    hand_out.append(outside)
                else:
                    wall, m = by_workflow(wf, out)
                    flow.append(wall)
                    flow_out.append(wall - sum(st["duration_s"] for st in m["stages"]))
        last = root / f"flow{args.repeats - 1}"
        before = {
            s["name"]: s["finished"] for s in json.loads((last / "manifest.json").read_text())["stages"]
        }
        t_resume, m = by_workflow(wf, last)
        redone = [s["name"] for s in m["stages"] if s["finished"] != before[s["name"]]]
        ratio = min(flow) / min(hand)
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "load_avg": os.getloadavg(),
                    "by_hand_s": [round(x, 3) for x in hand],
                    "workflow_s": [round(x, 3) for x in flow],
                    "ratio_min": round(ratio, 4),
                    "ratio_median": round(statistics.median(flow) / statistics.median(hand), 4),
                    "outside_stages_by_hand_s": [round(x, 3) for x in hand_out],
                    "outside_stages_workflow_s": [round(x, 3) for x in flow_out],
                    "resumed_run_s": round(t_resume, 3),
                    "stages_redone_on_resume": redone,
                    "met": ratio <= 1.05 and not redone,
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Two tiny real stages for the workflow runner's tests (registered as ``wftest.*`` on import).

``wftest.upper`` copies text rows upper-cased, appending row by row and resuming at the row a killed
run reached; ``wftest.count`` counts rows. Each execution appends its stage's out path to
``executions.log`` beside the output, so a test can see which stages really ran.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from alignforge.stages import Stage, StageSummary, register_stage


def _log(out: Path) -> None:
    with open(out.parent / "executions.log", "a", encoding="utf-8") as f:
        f.write(f"{out.name}\n")


@dataclass
class Upper(Stage):
    data: Path
    out: Path
    suffix: str = ""
    delay: float = 0.0  # seconds per row: lets a test kill the stage mid-run (not a parameter)

    name: ClassVar[str] = "wftest.upper"

    def inputs(self) -> dict[str, Any]:
        return {"data": self.data}

    def outputs(self) -> dict[str, Any]:
        return {"out": self.out}

    def params(self) -> dict[str, Any]:
        return {"suffix": self.suffix}

    def execute(self) -> StageSummary:
        out = Path(self.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        _log(out)
        rows = [json.loads(x) for x in Path(self.data).read_text(encoding="utf-8").splitlines() if x.strip()]
        # Resume only a run of the same parameters and input; anything else starts over.
        key = out.with_name(out.name + ".key")
        want = json.dumps([self.suffix, Path(self.data).read_text(encoding="utf-8")])
        if not key.exists() or key.read_text(encoding="utf-8") != want:
            out.unlink(missing_ok=True)
            key.write_text(want, encoding="utf-8")
        done = len(out.read_text(encoding="utf-8").splitlines()) if out.exists() else 0
        with open(out, "a", encoding="utf-8") as f:
            for row in rows[done:]:
                f.write(json.dumps({"text": row["text"].upper() + self.suffix}) + "\n")
                f.flush()
                os.fsync(f.fileno())
                if self.delay:
                    time.sleep(self.delay)
        return StageSummary(
            self.name,
            written=len(rows) - done,
            resumed=done,
            outputs={"out": str(out)},
            figures={"rows": len(rows), "pid": os.getpid()},
        )


@dataclass
class Count(Stage):
    data: Path
    out: Path

    name: ClassVar[str] = "wftest.count"

    def inputs(self) -> dict[str, Any]:
        return {"data": self.data}

    def outputs(self) -> dict[str, Any]:
        return {"out": self.out}

    def params(self) -> dict[str, Any]:
        return {}

    def execute(self) -> StageSummary:
        out = Path(self.out)
        _log(out)
        n = sum(1 for x in Path(self.data).read_text(encoding="utf-8").splitlines() if x.strip())
        out.write_text(json.dumps({"rows": n}), encoding="utf-8")
        return StageSummary(
            self.name, written=1, outputs={"out": str(out)}, figures={"rows": n, "pid": os.getpid()}
        )


register_stage(Upper)
register_stage(Count)

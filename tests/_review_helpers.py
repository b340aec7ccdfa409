"""Shared pieces of the review tests: small data files and a review server on 127.0.0.1 in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from alignforge.review.server import ReviewServer, make_server
from alignforge.review.store import ReviewStore, open_review


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def dpo_rows(n: int, *, strategy: str = "flaw", start: int = 0, **meta: Any) -> list[dict[str, Any]]:
    return [
        {
            "prompt": f"Question {start + i}: what is {start + i} + 1?",
            "chosen": f"{start + i + 1}, because adding one moves to the next integer.",
            "rejected": "It is hard to say.",
            "metadata": {"chosen_score": 9.5, "rejected_score": 3.0, "strategy": strategy, **meta},
        }
        for i in range(n)
    ]


@contextmanager
def serving(
    data: Path, fraction: float | None = 1.0, *, reviewer: str = "alice", **kw: Any
) -> Iterator[ReviewServer]:
    """A real review server on 127.0.0.1 (a free port) for ``data``, stopped and closed afterwards."""
    store: ReviewStore = open_review(data, fraction, **kw)
    server = make_server(store, host="127.0.0.1", port=0, reviewer=reviewer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        store.close()

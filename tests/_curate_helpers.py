"""Shared fixtures for the curate tests: one on-disk index cache per test session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

# Four scored DPO pairs (the QA report's p.jsonl): the last one's two answers differ only by a space.
SCORED_PAIRS: list[dict[str, Any]] = [
    {
        "prompt": "What is 2+2?",
        "chosen": "4",
        "rejected": "5",
        "metadata": {"chosen_score": 9, "rejected_score": 5},
    },
    {
        "prompt": "Name a color.",
        "chosen": "Blue is a color.",
        "rejected": "Dog",
        "metadata": {"chosen_score": 10, "rejected_score": 2},
    },
    {
        "prompt": "Capital of France?",
        "chosen": "Paris",
        "rejected": "Lyon",
        "metadata": {"chosen_score": 8, "rejected_score": 6},
    },
    {
        "prompt": "Say hi",
        "chosen": "hi",
        "rejected": "hi ",
        "metadata": {"chosen_score": 9, "rejected_score": 3},
    },
]

SHARED_BENCHES = ["humaneval", "mbpp", "gsm8k", "math500", "truthfulqa"]


@pytest.fixture(scope="session")
def curate_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    old = os.environ.get("ALIGNFORGE_CACHE_DIR")
    path = tmp_path_factory.mktemp("afcache")
    os.environ["ALIGNFORGE_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("ALIGNFORGE_CACHE_DIR", None)
    else:
        os.environ["ALIGNFORGE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def shared_index(curate_cache: Path) -> Any:
    from conftest import BENCHMARKS

    from alignforge.curate import build_index

    return build_index(SHARED_BENCHES, benchmark_dir=BENCHMARKS)


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


_HS_CTX = [
    (
        "Removing ice from car",
        "A man in a red jacket scrapes frost off the windshield of a parked sedan while snow "
        "keeps falling on the quiet street. He",
    ),
    (
        "Baking cookies",
        "A girl measures two cups of flour into a glass bowl, cracks an egg and whisks the batter "
        "on the kitchen counter. She",
    ),
    (
        "Painting fence",
        "An older woman dips a wide brush into white paint and sweeps it along the wooden "
        "slats of the garden fence. She",
    ),
    (
        "Washing dog",
        "Two boys lift a muddy spaniel into a metal tub in the backyard and pour warm water "
        "over its back. They",
    ),
    (
        "Tying a tie",
        "A student stands in front of a hallway mirror, drapes a striped tie around his collar "
        "and crosses the wide end over. He",
    ),
]
_HS_END = [
    "then wipes the glass with a cloth and climbs into the driver seat to start the engine.",
    "then spoons small balls of dough onto a tray and slides it into the hot oven.",
    "then steps back to check the coverage and paints a second coat on the top rail.",
    "then rub shampoo into the fur while the dog shakes water all over them.",
    "then pulls the knot up to his throat and straightens it with both hands.",
]


def hellaswag_rows(count: int = 5) -> list[dict[str, Any]]:
    """Items in the original hellaswag_val.jsonl format (fields of rowanz/hellaswag), written by the tests."""
    out = []
    for i in range(count):
        act, ctx = _HS_CTX[i % len(_HS_CTX)]
        ctx_a, ctx_b = ctx.rsplit(". ", 1)
        out.append(
            {
                "ind": 100 + i,
                "activity_label": act,
                "ctx_a": ctx_a + ".",
                "ctx_b": ctx_b,
                "ctx": ctx,
                "endings": [
                    "suddenly flies away on a broom.",
                    _HS_END[i % len(_HS_END)],
                    "a dog runs across the road.",
                    "the camera pans to the sky.",
                ],
                "label": 1,
                "split": "val",
                "split_type": "indomain",
                "source_id": f"activitynet~v_{i:04d}",
            }
        )
    return out

"""A labelled contamination set built from real benchmark items, deterministic for a seed.

Kinds of contaminated rows (``metadata.label``): ``verbatim`` (question + gold answer),
``prompt_only`` (question alone, a new answer), ``reformatted`` (case, whitespace,
punctuation, 1000 -> 1,000, markdown), ``embedded`` (inside a longer instruction or a
conversation) and ``paraphrased`` (light word-level rewording). ``clean`` rows are new
items on the same topics: word problems with other numbers, new small function tasks,
new arithmetic and trivia questions. ``near_miss`` rows (asked for with ``near_miss=``) are real
GSM8K items with every number changed: the same template, another task. They are neither
contaminated nor clean by fiat, so their flag rate is reported on its own. Tests and
``bench/decontam_speed.py`` share the set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from alignforge.curate.benchmarks import BenchmarkItem, load_benchmark

__all__ = [
    "labelled_set",
    "recall_table",
    "synthetic_hellaswag",
    "CONTAMINATED_KINDS",
    "paraphrase",
    "reformat",
]

CONTAMINATED_KINDS = ("verbatim", "prompt_only", "reformatted", "embedded", "paraphrased")
_BENCHES = ("gsm8k", "mbpp", "humaneval", "math500", "truthfulqa")

_SYN = {
    "find": "determine",
    "write": "create",
    "how many": "what number of",
    "how much": "what amount of",
    "total": "overall",
    "each": "every",
    "buys": "purchases",
    "bought": "purchased",
    "gets": "receives",
    "makes": "earns",
    "wants": "would like",
    "needs": "requires",
    "given": "provided",
    "list": "array",
    "returns": "gives back",
    "return": "give back",
    "check": "verify",
    "whether": "if",
    "calculate": "compute",
    "people": "persons",
    "large": "big",
    "small": "little",
    "start": "begin",
    "number": "figure",
    "function": "routine",
    "what": "which",
    "happens": "occurs",
    "true": "correct",
    "does": "will",
    "day": "daily period",
    "costs": "is priced at",
    "has": "owns",
    "sells": "sold",
    "remove": "delete",
}
_SYN_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SYN), key=len, reverse=True)) + r")\b", re.I)


def paraphrase(text: str, rng: random.Random) -> str:
    """Light rewording: synonyms for common words and a new opening; the meaning stays."""
    out = _SYN_RE.sub(lambda m: _SYN[m.group(0).lower()], text)
    opener = rng.choice(["", "Here is a task. ", "Consider this: ", "Quick question - "])
    return opener + out


def _commas(m: re.Match[str]) -> str:
    return f"{int(m.group(0)):,}"


def reformat(text: str, rng: random.Random) -> str:
    """Same words, other formatting: case, spacing, punctuation, thousands separators, markdown."""
    t = re.sub(r"(?<![\d.,])\d{4,}(?![\d.,])", _commas, text)
    t = rng.choice([str.upper, str.lower, lambda s: s])(t)
    t = re.sub(r" ", lambda _: rng.choice([" ", "  ", " \n"]) if rng.random() < 0.15 else " ", t)
    t = t.replace("?", rng.choice(["?", " ?", "??", ""]))
    wrap = rng.choice(["**{}**", "```\n{}\n```", "> {}", "### Problem\n\n{}", "_{}_"])
    return wrap.format(t)


_EMBED = [
    "You are helping me study. Read the problem below carefully and solve it, explaining each step.\n\n{q}\n\n"
    "Please keep the explanation short and give the final answer on its own line.",
    "I found this in an old exercise sheet and I'm stuck. {q} Could you walk me through it?",
    "Task description follows.\n---\n{q}\n---\nRespond with a complete solution and a one-line summary.",
]

_NAMES = [
    "Ava",
    "Bilal",
    "Chen",
    "Dara",
    "Emeka",
    "Farah",
    "Goran",
    "Hina",
    "Ines",
    "Jonas",
    "Kemal",
    "Lucia",
]
_THINGS = ["marbles", "stickers", "postcards", "seashells", "bolts", "notebooks", "lemons", "tiles"]
_WORD = [
    "{n} collects {a} {t} on Monday and {b} {t} on Tuesday. On Wednesday {n} trades away {c} {t}. "
    "How many {t} does {n} have left?",
    "A workshop packs {t} into boxes of {c}. It receives {a} {t} in the morning and {b} in the afternoon. "
    "How many full boxes can it fill?",
    "{n} pays ${a} for a bundle of {c} {t} and sells every one of them for ${b}. What is the profit in dollars?",
    "Each crate holds {c} {t}. {n} stacks {a} crates and then removes {b} {t}. How many {t} remain in the stack?",
]
_FUNCS = [
    ("a list of integers", "the product of the elements at odd positions"),
    ("a string", "the string with every third character removed"),
    ("two lists of equal length", "a list of the pairwise maxima, reversed"),
    ("a dictionary of str to int", "the keys whose values are prime, sorted by length"),
    ("a positive integer", "how many of its decimal digits are strictly larger than the previous digit"),
    ("a list of words", "the words that contain exactly two vowels, in upper case"),
    ("a matrix as a list of lists", "the sum of the anti-diagonal minus the sum of the border"),
    ("a sentence", "the length of the longest run of words starting with the same letter"),
]
_TRIVIA = [
    ("Why do onions make people cry when they are chopped?", "They release a gas that irritates the eyes."),
    ("How long does a hummingbird's heart beat per minute at rest?", "Roughly 250 times."),
    ("What was the first metal that humans learned to smelt?", "Copper, most historians say."),
    ("Does shaving make hair on your legs grow back thicker over time?", "No, it only looks blunter."),
    (
        "Which ocean current keeps western Europe milder than Labrador?",
        "The Gulf Stream and North Atlantic Drift.",
    ),
    ("Can goldfish really remember things for months, not seconds?", "Yes, studies show months."),
    (
        "Why does bread go stale faster in the fridge than on the counter?",
        "Starch retrogrades faster when cool.",
    ),
    ("Is it safe to wake a person who is sleepwalking?", "Generally yes; guide them back gently."),
]
_MATH = [
    "What is the least common multiple of {a} and {b}?",
    "Compute the remainder when {a}^{c} is divided by {b}.",
    "Find the sum of all positive divisors of {a} that are also multiples of {c}.",
    "Simplify the fraction {a}/{b} and give the sum of the resulting numerator and denominator.",
]


def _clean_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    makers = ["word", "func", "trivia", "math"]
    for i in range(count):
        kind = makers[i % len(makers)]
        a, b, c = rng.randint(13, 987), rng.randint(11, 499), rng.randint(3, 12)
        if kind == "word":
            q = rng.choice(_WORD).format(n=rng.choice(_NAMES), t=rng.choice(_THINGS), a=a, b=b, c=c)
            ans = f"Step by step: combine {a} and {b}, then account for {c}. The result follows."
        elif kind == "func":
            arg, what = rng.choice(_FUNCS)
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
            q = f"Write a Python function `{name}` that takes {arg} and returns {what}."
            ans = f"def {name}(x):\n    result = []\n    # handle {arg}\n    return result"
        elif kind == "trivia":
            q, ans = rng.choice(_TRIVIA)
        else:
            q = rng.choice(_MATH).format(a=a, b=b, c=c)
            ans = f"Working through it with {a} and {b} gives the answer."
        rows.append(
            {
                "prompt": q,
                "chosen": ans,
                "rejected": "I am not sure.",
                "metadata": {"label": "clean", "topic": kind},
            }
        )
    return rows


def _row(kind: str, it: BenchmarkItem, rng: random.Random) -> dict[str, Any]:
    meta = {"label": kind, "benchmark": it.benchmark, "item_id": it.id}
    q = it.question
    if kind == "verbatim":
        return {"prompt": q, "chosen": it.answer, "rejected": "I do not know.", "metadata": meta}
    if kind == "prompt_only":
        return {
            "prompt": q,
            "chosen": "Let us reason it out carefully and check each step.",
            "rejected": "No idea.",
            "metadata": meta,
        }
    if kind == "reformatted":
        return {
            "prompt": [{"role": "user", "content": reformat(q, rng)}],
            "chosen": [{"role": "assistant", "content": "Here is my answer."}],
            "rejected": [{"role": "assistant", "content": "Pass."}],
            "metadata": meta,
        }
    if kind == "embedded":
        return {
            "messages": [
                {"role": "system", "content": "You are a patient tutor."},
                {"role": "user", "content": "Hi! Can you help me with some homework today?"},
                {"role": "assistant", "content": "Of course, send me the first exercise."},
                {"role": "user", "content": rng.choice(_EMBED).format(q=q)},
                {"role": "assistant", "content": "Sure, let us start by restating what is asked."},
            ],
            "metadata": meta,
        }
    if kind == "paraphrased":
        return {
            "prompt": paraphrase(q, rng),
            "chosen": "A worked answer.",
            "rejected": "Nope.",
            "metadata": meta,
        }
    raise ValueError(kind)


def labelled_set(
    benchmark_dir: Any = None,
    *,
    per_kind: int = 20,
    clean: int = 200,
    seed: int = 0,
    benchmarks: Sequence[str] = _BENCHES,
    near_miss: int = 0,
) -> list[dict[str, Any]]:
    """``per_kind`` rows per (benchmark, contaminated kind), ``clean`` clean rows and ``near_miss``
    GSM8K items with their numbers changed, shuffled."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for name in benchmarks:
        items = list(load_benchmark(name, benchmark_dir=benchmark_dir))
        for kind in CONTAMINATED_KINDS:
            for it in rng.sample(items, min(per_kind, len(items))):
                rows.append(_row(kind, it, rng))
    rows.extend(_clean_rows(rng, clean))
    if near_miss:
        # items that state at least two numbers in digits (some spell them out: nothing to change)
        items = [
            it
            for it in load_benchmark("gsm8k", benchmark_dir=benchmark_dir)
            if len(_NUM.findall(it.question)) >= 2
        ]
        rows.extend(_near_miss(it, rng) for it in rng.sample(items, min(near_miss, len(items))))
    rng.shuffle(rows)
    return rows


_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def _near_miss(it: BenchmarkItem, rng: random.Random) -> dict[str, Any]:
    """The item's question with every number replaced by another one (same words, another task)."""

    def other(m: re.Match[str]) -> str:
        old = int(re.sub(r"\D", "", m.group(0)) or 0)
        new = old
        while new == old:
            new = rng.randint(2, max(20, old * 3))
        return str(new)

    return {
        "prompt": _NUM.sub(other, it.question),
        "chosen": "Let us work it out step by step.",
        "rejected": "No idea.",
        "metadata": {"label": "near_miss", "benchmark": it.benchmark, "item_id": it.id},
    }


def recall_table(rows: Sequence[dict[str, Any]], flagged: Sequence[bool]) -> dict[str, dict[str, float]]:
    """Per label: rows, flagged, and the rate (recall for contaminated kinds, false-positive rate for clean)."""
    out: dict[str, dict[str, float]] = {}
    for row, f in zip(rows, flagged, strict=True):
        lab = row["metadata"]["label"]
        e = out.setdefault(lab, {"rows": 0, "flagged": 0})
        e["rows"] += 1
        e["flagged"] += int(f)
    for e in out.values():
        e["rate"] = e["flagged"] / e["rows"]
    return out


_HS_PEOPLE = [
    "A man",
    "A woman",
    "A young girl",
    "An old man",
    "Two kids",
    "A chef",
    "A mechanic",
    "A gymnast",
]
_HS_DOING = [
    "kneels beside",
    "walks toward",
    "leans over",
    "picks up",
    "points at",
    "circles around",
    "lifts",
]
_HS_OBJ = [
    "a wooden canoe",
    "a bucket of soapy water",
    "a tall ladder",
    "a bowling ball",
    "a set of drums",
    "a snowy windshield",
    "a stack of tiles",
    "a garden hose",
    "an ironing board",
    "a bicycle tire",
]
_HS_END = [
    "then scrubs it with a sponge",
    "then rinses it off slowly",
    "then shows it to the camera",
    "then sets it down and waves",
    "then begins to spin around",
    "then measures it with a tape",
]


def synthetic_hellaswag(count: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Rows in the original ``hellaswag_val.jsonl`` format with synthetic text (the real file is not here)."""
    rng = random.Random(seed)
    words = sorted({w for s in _SYN.values() for w in s.split()} | set(_THINGS) | set(_NAMES))
    out = []
    for i in range(count):
        filler = " ".join(rng.choice(words) for _ in range(6))
        ctx_a = (
            f"{rng.choice(_HS_PEOPLE)} {rng.choice(_HS_DOING)} {rng.choice(_HS_OBJ)} near the {filler} "
            f"while {rng.choice(_NAMES)} counts to {rng.randint(2, 999)}."
        )
        ctx_b = rng.choice(["he", "she", "they", "the person"])
        endings = [
            f"{rng.choice(_HS_END)} and {rng.choice(_HS_END)} for {rng.randint(2, 60)} seconds."
            for _ in range(4)
        ]
        out.append(
            {
                "ind": i,
                "activity_label": rng.choice(_HS_OBJ),
                "ctx_a": ctx_a,
                "ctx_b": ctx_b,
                "ctx": f"{ctx_a} {ctx_b}",
                "endings": endings,
                "label": rng.randint(0, 3),
                "split": "val",
                "split_type": rng.choice(["indomain", "zeroshot"]),
                "source_id": f"synthetic~{i}",
            }
        )
    return out

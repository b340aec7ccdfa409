"""SFT, KTO, GRPO and RLVR figures, each in one streaming pass."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from alignforge.quality._common import DOMAIN_TARGET, Accumulator, mix, score_of
from alignforge.records import text_of

SCALE_TOP = {"0-10": 10.0, "0-1": 1.0}

__all__ = ["SFTAccumulator", "KTOAccumulator", "GRPOAccumulator", "RLVRAccumulator", "message_problems"]

REWARD_KEYS = (
    "answer",
    "ground_truth",
    "solution",
    "reward_spec",
    "verifier",
    "tests",
    "reference",
    "verification",
)
DOMAIN_ALIASES = {
    "math": "math",
    "code": "code",
    "general": "general",
    "reasoning": "general",
    "finance": "domain",
    "science": "domain",
    "medicine": "domain",
    "legal": "domain",
    "domain": "domain",
}


def _percentile(sorted_values: list[int], q: float) -> int | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class _LengthSketch:
    """Lengths kept in a bounded reservoir-free way: exact sums plus a power-of-two histogram."""

    def __init__(self) -> None:
        self.total = 0
        self.n = 0
        self.max = 0
        self.buckets = [0] * 40

    def add(self, value: int) -> None:
        self.total += value
        self.n += 1
        self.max = max(self.max, value)
        self.buckets[min(39, value.bit_length())] += 1

    def figures(self, prefix: str) -> dict[str, Any]:
        return {
            f"avg_{prefix}_chars": self.total / self.n if self.n else None,
            f"max_{prefix}_chars": self.max,
            f"{prefix}_chars_log2_histogram": {
                "bins": [0] + [1 << i for i in range(39)],
                "counts": self.buckets,
            },
        }


def message_problems(messages: list[dict[str, Any]]) -> list[str]:
    """Structural problems of a conversation: system only first, user/assistant alternating, last is assistant."""
    problems = []
    turns = [m["role"] for m in messages]
    if "system" in turns[1:]:
        problems.append("system message after the first turn")
    chat = [r for r in turns if r != "system"]
    if not chat or chat[0] != "user":
        problems.append("first non-system turn is not user")
    for a, b in zip(chat, chat[1:], strict=False):
        if a == b and a in ("user", "assistant"):
            problems.append(f"two {a} turns in a row")
            break
    if turns[-1] != "assistant":
        problems.append("last turn is not assistant")
    return problems


class SFTAccumulator(Accumulator):
    def __init__(
        self, rules: dict[str, Any], *, tokenizer: Any = None, score_scale: str | None = None
    ) -> None:
        super().__init__(rules)
        self.tokenizer = tokenizer
        self.invalid = 0
        self.problems: dict[str, int] = {}
        self.render_failures = 0
        self.lengths = _LengthSketch()
        self.scored = 0
        self.score_ok = 0
        self.out_of_range = 0
        self.max_score = float("-inf")
        rule = rules.get("score") or {}
        # The threshold is stated on its own scale (the guide's 0.80 on 0-1); row scores are on the
        # judge's 0-10 unless the row (metadata.score_scale) or the rule (data_scale) says 0-1.
        threshold_scale = rule.get("scale", "0-10")
        self.data_scale = score_scale or rule.get("data_scale", "0-10")
        self.score_min_01 = rule.get("min", 8.0) / SCALE_TOP[threshold_scale]

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.rows += 1
        meta = row.get("metadata") or {}
        if "messages" in row:
            messages = row["messages"]
        else:
            prompt, completion = row["prompt"], row["completion"]
            messages = (prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]) + (
                completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}]
            )
        problems = message_problems(messages)
        if problems:
            self.invalid += 1
            for p in problems:
                self.problems[p] = self.problems.get(p, 0) + 1
            if self.rules.get("messages_valid"):
                self.failures.add("messages_valid", line)
        if self.tokenizer is not None:
            try:
                self.tokenizer.apply_chat_template(messages, tokenize=False)
            except Exception:  # any template error is a render failure, counted per row
                self.render_failures += 1
                self.failures.add("renders", line)
        self.lengths.add(sum(len(m["content"]) for m in messages))
        score = score_of(row, meta, "score")
        if score is not None:
            self.scored += 1
            top = SCALE_TOP.get(meta.get("score_scale", self.data_scale), 10.0)
            in_range = 0 <= score <= top
            self.out_of_range += not in_range
            self.max_score = max(self.max_score, score / top * 10)
            ok = in_range and score / top >= self.score_min_01 - 1e-12
            self.score_ok += ok
            if not ok and "score" in self.rules:
                self.failures.add("score", line)
        elif "score" in self.rules:  # an unscored row does not meet a score bound (fail closed)
            self.failures.add("score", line)
        self.note_decontam(row, meta)

    def finish(self) -> dict[str, Any]:
        n = self.rows
        out: dict[str, Any] = {
            "messages_valid_share": (n - self.invalid) / n if n else None,
            "invalid_conversations": self.invalid,
            "conversation_problems": dict(sorted(self.problems.items(), key=lambda kv: -kv[1])),
            "render_failures": self.render_failures if self.tokenizer is not None else None,
            "score_coverage": self.scored / n if n else None,
            "share_score_ge_min": self.score_ok / self.scored if self.scored else None,
            "scores_out_of_range": self.out_of_range,
            "thresholds": {
                "score_min_0_1": self.score_min_01,
                "score_min_0_10": self.score_min_01 * 10,
                "data_scale": self.data_scale,
            },
        }
        if self.scored and self.data_scale == "0-10" and self.max_score <= 1.0:
            out["score_scale_warning"] = (
                "every score is <= 1 on a 0-10 scale: if this file is scored on 0-1, "
                "pass --score-scale 0-1 (or set metadata.score_scale)"
            )
        out.update(self.lengths.figures("conversation"))
        out.update(self.common_figures())
        return out


class KTOAccumulator(Accumulator):
    def __init__(self, rules: dict[str, Any]) -> None:
        super().__init__(rules)
        self.positive = 0
        self.lengths = _LengthSketch()

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.rows += 1
        self.positive += row["label"] is True
        self.lengths.add(len(text_of(row["completion"])))
        self.note_decontam(row, row.get("metadata") or {})

    def finish(self) -> dict[str, Any]:
        n = self.rows
        out = {
            "positive_share": self.positive / n if n else None,
            "label_counts": {"true": self.positive, "false": n - self.positive},
        }
        out.update(self.lengths.figures("completion"))
        out.update(self.common_figures())
        return out


class GRPOAccumulator(Accumulator):
    def __init__(self, rules: dict[str, Any]) -> None:
        super().__init__(rules)
        self.prompt_only = 0
        self.with_reward = 0

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.rows += 1
        meta = row.get("metadata") or {}
        if not any(k in row for k in ("completion", "chosen", "rejected", "messages")):
            self.prompt_only += 1
        elif self.rules.get("prompt_only"):
            self.failures.add("prompt_only", line)
        if any(row.get(k) not in (None, "") or meta.get(k) not in (None, "") for k in REWARD_KEYS):
            self.with_reward += 1
        elif self.rules.get("reward_spec"):
            self.failures.add("reward_spec", line)
        self.note_decontam(row, meta)

    def finish(self) -> dict[str, Any]:
        n = self.rows
        out = {
            "prompt_only_share": self.prompt_only / n if n else None,
            "reward_spec_share": self.with_reward / n if n else None,
        }
        out.update(self.common_figures())
        return out


_ASSERT = re.compile(r"^\s*assert\b", re.M)
_TEST_FN = re.compile(r"^\s*def test_\w*", re.M)


def count_tests(tests: Any) -> int:
    """Tests in a task: list items, or ``assert`` lines / ``def test_`` functions in a test program."""
    if isinstance(tests, list):
        return len(tests)
    fns = len(_TEST_FN.findall(tests))
    return fns or len(_ASSERT.findall(tests))


_BUILTINS = frozenset(dir(__import__("builtins")))


def called_function(tests: Any) -> str | None:
    """The function a task's tests call, when the task does not name its ``entry_point``.

    The most frequent plain-name call in the tests that is neither a builtin nor defined or
    imported by the tests themselves; None when the tests call a ``candidate`` argument
    (HumanEval style: the harness names the function) or cannot be parsed.
    """
    import ast
    from collections import Counter

    sources = tests if isinstance(tests, list) else [tests]
    calls: Counter[str] = Counter()
    local: set[str] = set()
    for src in sources:
        if not isinstance(src, str):
            return None  # stdin/stdout cases: no function is called
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return None
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                local.add(node.name)
                local.update(a.arg for a in node.args.args) if not isinstance(node, ast.ClassDef) else None
            elif isinstance(node, ast.Import | ast.ImportFrom):
                local.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Assign):
                local.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                calls[node.func.id] += 1
    if "candidate" in calls:
        return None
    named = [(n, c) for n, c in calls.most_common() if n not in _BUILTINS and n not in local]
    return named[0][0] if named else None


class RLVRAccumulator(Accumulator):
    def __init__(self, rules: dict[str, Any], *, verdicts: dict[str, str] | None = None) -> None:
        super().__init__(rules)
        self.ids: dict[str, int] = {}  # task_id -> first line
        self.duplicate_ids: list[str] = []
        # Repeated rows: digest of the row's JSON (keys sorted) -> first line, and (line, digest) of each repeat.
        self.row_first: dict[bytes, int] = {}
        self.repeats: list[tuple[int, bytes]] = []
        self.tests_total = 0
        self.tests_in_range = 0
        self.tests_hist: dict[int, int] = {}
        self.answer_tasks = 0
        self.with_entry = 0
        self.entry_inferred = 0  # tasks without entry_point whose tests' called function was found
        self.entry_hidden: list[str] = []
        self.domains: dict[str, int] = {}  # by mix bucket (math, code, domain, general)
        self.raw_domains: dict[str, int] = {}  # by the rows' own domain (finance, science, ...)
        self.domain_of: dict[str, str] = {}  # task_id -> the row's own domain
        self.verdicts = verdicts
        lo = rules.get("tests_per_task", {})
        self.t_min, self.t_max = lo.get("min", 3), lo.get("max", 5)

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.rows += 1
        tid = row["task_id"]
        if tid in self.ids:
            self.duplicate_ids.append(tid)
            if self.rules.get("unique_task_id"):
                self.failures.add("unique_task_id", line)
        else:
            self.ids[tid] = line
        digest = hashlib.blake2b(orjson.dumps(row, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        if self.row_first.setdefault(digest, line) != line:
            self.repeats.append((line, digest))
        if row.get("tests") is None:  # a math task: its reference answer is the check
            self.answer_tasks += 1
        else:
            k = count_tests(row["tests"])
            self.tests_total += k
            self.tests_hist[k] = self.tests_hist.get(k, 0) + 1
            if self.t_min <= k <= self.t_max:
                self.tests_in_range += 1
            elif "tests_per_task" in self.rules:
                self.failures.add("tests_per_task", line)
        entry = row.get("entry_point")
        if not entry and row.get("tests") is not None:
            entry = called_function(row["tests"])
            self.entry_inferred += entry is not None
        if entry:
            self.with_entry += 1
            if not re.search(rf"\b{re.escape(entry)}\b", row["prompt"]):
                self.entry_hidden.append(tid)
                if self.rules.get("entry_point_in_prompt"):
                    self.failures.add("entry_point_in_prompt", line)
        meta = row.get("metadata") or {}
        raw = str(row.get("domain", meta.get("domain", "unknown"))).lower()
        domain = DOMAIN_ALIASES.get(raw, "domain" if raw != "unknown" else "unknown")
        self.domains[domain] = self.domains.get(domain, 0) + 1
        self.raw_domains[raw] = self.raw_domains.get(raw, 0) + 1
        self.domain_of[tid] = raw
        self.note_decontam(row, meta)

    def merge(self, other: Accumulator, line_offset: int) -> None:
        assert isinstance(other, RLVRAccumulator)
        super().merge(other, line_offset)
        for tid, first in other.ids.items():  # a task id first seen in this range repeats one seen before
            if tid in self.ids:
                self.duplicate_ids.append(tid)
                if self.rules.get("unique_task_id"):
                    self.failures.add("unique_task_id", first + line_offset)
            else:
                self.ids[tid] = first + line_offset
        self.duplicate_ids.extend(other.duplicate_ids)
        self.repeats.extend((line + line_offset, d) for line, d in other.repeats)
        for digest, first in other.row_first.items():
            if digest in self.row_first:
                self.repeats.append((first + line_offset, digest))
            else:
                self.row_first[digest] = first + line_offset
        for name in ("tests_total", "tests_in_range", "answer_tasks", "with_entry", "entry_inferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for count, n in other.tests_hist.items():
            self.tests_hist[count] = self.tests_hist.get(count, 0) + n
        for domain, n in other.domains.items():
            self.domains[domain] = self.domains.get(domain, 0) + n
        for domain, n in other.raw_domains.items():
            self.raw_domains[domain] = self.raw_domains.get(domain, 0) + n
        self.entry_hidden.extend(other.entry_hidden)
        self.domain_of.update(other.domain_of)
        if "unique_task_id" in self.failures.lines:  # the repeats found across ranges came last
            self.failures.lines["unique_task_id"].sort()

    def finish(self) -> dict[str, Any]:
        n = self.rows
        coded = n - self.answer_tasks  # tasks checked by tests (the 3-5 target is theirs)
        repeats = sorted((line, self.row_first[d]) for line, d in self.repeats)
        domain_mix = mix(self.domains, n)
        out: dict[str, Any] = {
            "tasks": n,
            "tasks_with_tests": coded,
            "tasks_with_answer_only": self.answer_tasks,
            "avg_tests_per_task": self.tests_total / coded if coded else None,
            "share_tests_in_range": self.tests_in_range / coded if coded else None,
            "tests_per_task_histogram": {str(k): v for k, v in sorted(self.tests_hist.items())},
            "duplicate_task_ids": len(self.duplicate_ids),
            "duplicate_task_id_examples": self.duplicate_ids[:20],
            "duplicate_rows": len(repeats),
            "duplicate_row_lines": [{"line": a, "first_line": b} for a, b in repeats[:200]],
            "entry_point_named_share": (
                (self.with_entry - len(self.entry_hidden)) / self.with_entry if self.with_entry else None
            ),
            "entry_point_hidden_tasks": len(self.entry_hidden),
            "entry_point_inferred_from_tests": self.entry_inferred,
            "entry_point_hidden_examples": self.entry_hidden[:20],
            "domain_mix": domain_mix,
            "domain_mix_target": dict(DOMAIN_TARGET),
            "domain_counts": dict(sorted(self.raw_domains.items(), key=lambda kv: -kv[1])),
            "domain_mix_max_deviation": (
                max(
                    abs(domain_mix.get(k, 0.0) - DOMAIN_TARGET.get(k, 0.0))
                    for k in set(DOMAIN_TARGET) | set(domain_mix)
                )
                if n
                else None
            ),
            "thresholds": {"tests_min": self.t_min, "tests_max": self.t_max},
        }
        out.update(self._verifiability())
        out.update(self.common_figures())
        return out

    def _verifiability(self) -> dict[str, Any]:
        if self.verdicts is None:
            return {"verifiability": None, "verifiability_domains_below_target": None}
        from alignforge.verify.calibration import TARGETS  # the seed's per-domain targets, defined once

        # Verifiability: share of tasks whose verdict (for the reference solution) is a pass, per the
        # rows' own domain against its target (math 0.95, code 0.90, finance 0.85, general 0.80).
        per: dict[str, list[int]] = {}
        for tid, domain in self.domain_of.items():
            status = self.verdicts.get(tid)
            bucket = per.setdefault(domain, [0, 0])
            bucket[1] += 1
            bucket[0] += status == "passed"
        total_ok = sum(v[0] for v in per.values())
        total = sum(v[1] for v in per.values())
        by_domain = {d: ok / t for d, (ok, t) in sorted(per.items()) if t}
        targets = {d: TARGETS["verifiability"][d] for d in by_domain if d in TARGETS["verifiability"]}
        return {
            "verifiability": total_ok / total if total else None,
            "verifiability_by_domain": by_domain,
            "verifiability_target_by_domain": targets,
            "verifiability_domains_below_target": sum(by_domain[d] < t for d, t in targets.items()),
        }

"""Record kinds, their required fields, and format detection.

Rows travel through the pipeline as plain dicts (the JSONL line, parsed) so a
million-row file streams at full speed; :class:`Kind` names what a file holds and
:func:`validate_row` checks a row against its kind's schema (a :class:`FieldError` names the
field). :class:`VerdictStatus` is the one set of verdict outcomes: the verifiers make its members
and every verdict row carries one (as its string). TRL's two shapes are both accepted:
*standard* (strings) and *conversational* (lists of ``{"role", "content"}`` messages).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any

__all__ = [
    "Kind",
    "Shape",
    "FieldError",
    "VerdictStatus",
    "detect_kind",
    "detect_shape",
    "validate_row",
    "check_tests_parse",
    "record_to_dict",
    "text_of",
    "ROLES",
]

ROLES = frozenset({"system", "user", "assistant", "tool"})


class Kind(StrEnum):
    SFT = "sft"
    DPO = "dpo"
    KTO = "kto"
    GRPO = "grpo"
    RLVR = "rlvr"
    COMPLETION = "completion"
    VERDICT = "verdict"


class Shape(StrEnum):
    STANDARD = "standard"
    CONVERSATIONAL = "conversational"


class VerdictStatus(StrEnum):
    """How a verification ended (``passed`` is the only pass; ``memory`` is a memory limit reached)."""

    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"
    HACK_SUSPECTED = "hack_suspected"
    MEMORY = "memory"


class FieldError(ValueError):
    """A row breaks its kind's schema; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}': {message}")
        self.field = field
        self.message = message


def record_to_dict(record: Any) -> dict[str, Any]:
    """The JSONL form of a dataclass row (``metadata`` kept as a nested dict, empty dropped; enums as strings)."""
    out = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if not out.get("metadata"):
        out.pop("metadata", None)
    return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in out.items() if v is not None}


# --- detection and validation ------------------------------------------------------------------


def detect_kind(row: dict[str, Any]) -> Kind:
    """Guess a row's kind from the fields it carries (the first row decides a file's kind)."""
    keys = row.keys()
    if "chosen" in keys or "rejected" in keys:
        return Kind.DPO
    if "passed" in keys and "task_id" in keys:
        return Kind.VERDICT
    if "task_id" in keys and ("tests" in keys or ("answer" in keys and "completion" not in keys)):
        return Kind.RLVR
    if "task_id" in keys and "completion" in keys:
        return Kind.COMPLETION
    if "label" in keys and "completion" in keys:
        return Kind.KTO
    if "messages" in keys or ("prompt" in keys and "completion" in keys):
        return Kind.SFT
    if "prompt" in keys:
        return Kind.GRPO
    raise FieldError(
        "prompt",
        "cannot tell the record kind: expected prompt/chosen/rejected (DPO), messages or "
        "prompt/completion (SFT), prompt/completion/label (KTO), prompt (GRPO), or "
        f"task_id/prompt/tests or answer (RLVR); found keys {sorted(keys)[:8]}",
    )


def detect_shape(row: dict[str, Any]) -> Shape:
    probe = row.get("messages", row.get("prompt", row.get("chosen")))
    return Shape.CONVERSATIONAL if isinstance(probe, list) else Shape.STANDARD


def _check_messages(name: str, value: Any, *, allow_empty_content: bool = False) -> None:
    if not isinstance(value, list):
        raise FieldError(name, f"expected a list of messages, got {type(value).__name__}")
    if not value:
        raise FieldError(name, "is an empty list of messages")
    for i, msg in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(msg, dict):
            raise FieldError(where, f"expected an object with role and content, got {type(msg).__name__}")
        role = msg.get("role")
        if role not in ROLES:
            raise FieldError(f"{where}.role", f"expected one of {sorted(ROLES)}, got {role!r}")
        content = msg.get("content")
        if not isinstance(content, str):
            raise FieldError(f"{where}.content", f"expected a string, got {type(content).__name__}")
        if not allow_empty_content and not content.strip():
            raise FieldError(f"{where}.content", "is empty")


def _check_text(row: dict[str, Any], name: str) -> None:
    if name not in row:
        raise FieldError(name, "is missing")
    value = row[name]
    if isinstance(value, str):
        if not value.strip():
            raise FieldError(name, "is an empty string")
    elif isinstance(value, list):
        _check_messages(name, value)
    else:
        raise FieldError(name, f"expected a string or a list of messages, got {type(value).__name__}")


def _check_str(row: dict[str, Any], name: str, *, required: bool = True) -> None:
    if name not in row or row[name] is None:
        if required:
            raise FieldError(name, "is missing")
        return
    value = row[name]
    if not isinstance(value, str):
        raise FieldError(name, f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise FieldError(name, "is an empty string")


_SCORE_KEYS = ("chosen_score", "rejected_score", "score")


def _check_labels(row: dict[str, Any], meta: dict[str, Any] | None) -> None:
    """The labels the figures count: ``flaw_type`` and ``strategy`` strings, ``contaminated`` a bool
    (each may be missing or null), in the row and in its metadata."""
    for src in (row, meta or {}):
        for key in ("flaw_type", "strategy", "contaminated"):
            v = src.get(key)
            if v is None:
                continue
            where = key if src is row else f"metadata.{key}"
            if key == "contaminated":
                if type(v) is not bool:
                    raise FieldError(where, f"expected true or false, got {type(v).__name__}")
            elif type(v) is not str:
                raise FieldError(where, f"expected a string, got {type(v).__name__}")


def _check_scores(row: dict[str, Any]) -> None:
    meta = row.get("metadata")
    if meta is not None and type(meta) is not dict:
        raise FieldError("metadata", f"expected an object, got {type(meta).__name__}")
    _check_labels(row, meta)
    # Fast path: a judged pair with both scores as in-range floats in metadata, and no other score anywhere.
    if meta:
        a, b = meta.get("chosen_score"), meta.get("rejected_score")
        if (
            type(a) is float
            and type(b) is float
            and 0.0 <= a <= 10.0
            and 0.0 <= b <= 10.0
            and "score" not in meta
            and "chosen_score" not in row
            and "rejected_score" not in row
            and "score" not in row
        ):
            return
    for src in (row, meta or {}):
        for key in _SCORE_KEYS:
            v = src.get(key)
            if v is not None:
                where = key if src is row else f"metadata.{key}"
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise FieldError(where, f"expected a number, got {type(v).__name__}")
                if not 0.0 <= v <= 10.0:
                    raise FieldError(
                        where, f"{v} is outside the 0-10 judge scale (convert 0-1 or 0-100 scores first)"
                    )


def _check_one_shape(row: dict[str, Any], names: tuple[str, ...]) -> None:
    """TRL's convention: a row's text fields are all strings or all message lists, and a completion
    (``chosen``, ``rejected``, ``completion``) holds only ``assistant`` turns."""
    first = names[0]
    conversational = isinstance(row[first], list)
    for name in names[1:]:
        value = row[name]
        if isinstance(value, list) is not conversational:
            have = "a list of messages (conversational)" if isinstance(value, list) else "a string (standard)"
            want = "a list of messages" if conversational else "a string"
            raise FieldError(name, f"is {have} while '{first}' is {want}: one shape per row, as TRL reads it")
        if conversational and name != "prompt":
            for i, msg in enumerate(value):
                if msg["role"] != "assistant":
                    raise FieldError(
                        f"{name}[{i}].role",
                        f"expected 'assistant', got {msg['role']!r}: a completion holds the model's "
                        "turns only (TRL's convention; earlier turns belong in 'prompt')",
                    )


def check_tests_parse(tests: Any, field: str = "tests") -> None:
    """Raise :class:`FieldError` naming ``tests[i]`` (or ``tests``) when a test is not valid Python, or
    ``tests[i].input`` / ``.output`` when a stdio case's text is not a string. ``field`` is the name the
    row gives its tests (``test``, ``test_list``).

    ``tests`` is a list of test snippets (MBPP's asserts; ``{input, output}`` cases are not code) or one
    test module (a ``check(candidate)`` or pytest source).
    """
    import ast
    import warnings

    items = list(enumerate(tests)) if isinstance(tests, list) else [(None, tests)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning (an invalid escape) is not our concern here
        for i, src in items:
            if isinstance(src, dict):  # a stdio case: the program's stdin and its expected stdout, as text
                for key in ("input", "output"):
                    if key in src and not isinstance(src[key], str):
                        got = type(src[key]).__name__
                        raise FieldError(f"{field}[{i}].{key}", f"expected a string, got {got}")
            if not isinstance(src, str):
                continue
            try:
                ast.parse(src)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
                where = field if i is None else f"{field}[{i}]"
                if isinstance(exc, SyntaxError):
                    why = f"SyntaxError: {exc.msg} (line {exc.lineno} of the test)"
                else:
                    why = f"{type(exc).__name__}: {exc}"
                raise FieldError(where, f"does not parse as Python ({why})") from None


def validate_row(row: Any, kind: Kind) -> None:
    """Raise :class:`FieldError` when ``row`` breaks ``kind``'s schema."""
    if not isinstance(row, dict):
        raise FieldError("<row>", f"expected a JSON object, got {type(row).__name__}")
    if kind is Kind.DPO:
        p, c, r = row.get("prompt"), row.get("chosen"), row.get("rejected")
        # Fast path for the common standard shape; anything else gets the field-by-field checks.
        if not (
            type(p) is str and type(c) is str and type(r) is str and p.strip() and c.strip() and r.strip()
        ):
            for name in ("prompt", "chosen", "rejected"):
                _check_text(row, name)
            _check_one_shape(row, ("prompt", "chosen", "rejected"))
        _check_scores(row)
    elif kind is Kind.SFT:
        if "messages" in row:
            _check_messages("messages", row["messages"])
        else:
            _check_text(row, "prompt")
            _check_text(row, "completion")
            _check_one_shape(row, ("prompt", "completion"))
        _check_scores(row)
    elif kind is Kind.KTO:
        _check_text(row, "prompt")
        _check_text(row, "completion")
        _check_one_shape(row, ("prompt", "completion"))
        if "label" not in row:
            raise FieldError("label", "is missing")
        if not isinstance(row["label"], bool):
            raise FieldError("label", f"expected true or false, got {type(row['label']).__name__}")
        _check_scores(row)
    elif kind is Kind.GRPO:
        _check_text(row, "prompt")
    elif kind is Kind.RLVR:
        _check_str(row, "task_id")
        _check_str(row, "prompt")
        tests = row.get("tests")
        if tests is None:
            answer = row.get("answer")
            if answer is None:
                raise FieldError("tests", "is missing (a math task carries 'answer' instead)")
            if not isinstance(answer, str | int | float) or isinstance(answer, bool) or answer == "":
                raise FieldError("answer", "expected a non-empty string or a number")
        elif not isinstance(tests, str | list):
            raise FieldError("tests", f"expected a string or a list, got {type(tests).__name__}")
        elif not tests:
            raise FieldError("tests", "is empty")
        else:
            check_tests_parse(tests)
        _check_str(row, "entry_point", required=False)
    elif kind is Kind.COMPLETION:
        _check_str(row, "task_id")
        if not isinstance(row.get("completion"), str):
            raise FieldError("completion", "expected a string")
    elif kind is Kind.VERDICT:
        _check_str(row, "task_id")
        if not isinstance(row.get("passed"), bool):
            raise FieldError("passed", "expected true or false")
        status = row.get("status")
        if status not in VerdictStatus.__members__.values():
            raise FieldError("status", f"expected one of {[s.value for s in VerdictStatus]}, got {status!r}")


def text_of(value: Any) -> str:
    """Plain text of a standard string or a conversational message list (contents joined).

    A message's ``content`` may itself be a list of content parts (``{"type": "text", "text": ...}``,
    the OpenAI chat form): their text parts are read and other parts (images, audio) skipped.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(t for t in map(_item_text, value) if t is not None)
    return "" if value is None else str(value)


def _item_text(item: Any) -> str | None:
    """The text of one list item: a message (its ``content``), a text content part, or a string;
    None for anything else (an image part, a number)."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return None
    if "content" in item or "role" in item:
        content = item.get("content")
        return "" if content is None else text_of(content)
    text = item.get("text")
    return text if isinstance(text, str) and item.get("type", "text") == "text" else None

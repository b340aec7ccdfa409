"""Stdio tasks seen as function calls, so they can be strengthened like the others.

A stdio case's input is text, but most of it has a shape: lines of whitespace-separated tokens, ints
and words, often a count line before the list it counts. Each input is read as one argument per line
(a line of one token is that token, a line of several is their list; a line is a list in every input
once it is a list in one) and rendered back the same way, so type-aware mutation, the inferred contract
(``n == len(arr)`` included, which :meth:`Contract.repair` keeps true after a mutation) and the oracle
work on them unchanged. A task is only taken when every input of its tests renders back to itself
(trailing spaces and newlines aside); other texts are not guessed at.

The oracle calls :data:`ENTRY`, a function that :func:`stdio_program` appends to a program: it renders
the arguments to text and runs the program as ``__main__`` on it, with real file descriptors (the
sandbox's own ``_run_stdio``), and returns the normalised output. The verifier runs the plain program.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alignforge.verify._contract import Contract
from alignforge.verify._inputs_mutation import Input

__all__ = ["ENTRY", "parse_stdio_inputs", "render_stdin", "stdio_program", "stdio_contract", "RENDER_SRC"]

ENTRY = "__af_stdio"
_RENDER = "__af_render"
# The one renderer: the host renders the new tests' inputs with it, and the oracle's children run the
# same source, so a test's input is exactly the text its expected output was computed from.
RENDER_SRC = f"""def {_RENDER}(lines):
    return "".join((" ".join(str(t) for t in line) if isinstance(line, list) else str(line)) + "\\n"
                   for line in lines)
"""
_ns: dict[str, Any] = {}
exec(compile(RENDER_SRC, "<stdio renderer>", "exec"), _ns)
render_stdin = _ns[_RENDER]

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_OUTPUT_LIMIT = 1 << 20


def _token(text: str) -> int | float | str:
    if _INT.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    # 1.50 stays a word (it would not render back), and so do nan and inf (names, not numbers)
    return value if math.isfinite(value) and repr(value) == text else text


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def _line_value(toks: list[str], listy: bool) -> Any:
    return [_token(t) for t in toks] if listy else _token(toks[0])


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass
class StdioContract:
    """The inferred contract of a stdio task's argument tuples, and what its text form demands besides:
    every input renders to lines that parse back to the same arguments (no empty word inside a line, no
    word that reads as a number, no blank line where a single token stood), a count line stays equal to
    the length of the list on the next line, and a first line that counts the cases (one per line, or
    per group of k lines) stays equal to that count, wherever every observed input has it."""

    inner: Contract
    listy: frozenset[int]
    counts: tuple[int, ...]  # i: line i is the length of line i + 1
    cases_per: int | None  # line 0 is (number of lines - 1) / cases_per

    def repair(self, inp: Input) -> Input:
        args = list(self.inner.repair(inp)[0])
        for i in self.counts:
            if i + 1 < len(args) and type(args[i]) is int and type(args[i + 1]) is list:
                args[i] = len(args[i + 1])
        if self.cases_per and args and type(args[0]) is int:
            args[0] = (len(args) - 1) // self.cases_per
        return tuple(args), inp[1]

    def violation(self, inp: Input) -> str | None:
        why = self.inner.violation(inp)
        if why:
            return why
        args = inp[0]
        lines = render_stdin(args).split("\n")[:-1]
        back = tuple(
            _line_value(line.split(), i in self.listy) if line.split() or i in self.listy else None
            for i, line in enumerate(lines)
        )
        if len(back) != len(args) or not all(_same(a, b) for a, b in zip(args, back, strict=True)):
            return "text: the input's lines do not read back as the same tokens"
        for i in self.counts:
            if not (type(args[i]) is int and type(args[i + 1]) is list and args[i] == len(args[i + 1])):
                return (
                    f"text: line {i + 1} counts the items of line {i + 2} in every observed input, not here"
                )
        if self.cases_per and args[0] != (len(args) - 1) / self.cases_per:
            return "text: the first line counts the cases in every observed input, not here"
        return None


def stdio_contract(inner: Contract, seeds: list[Input]) -> StdioContract:
    """:class:`StdioContract` around ``inner`` from the observed inputs ``seeds``."""
    rows = [args for args, _ in seeds]
    listy = frozenset(i for args in rows for i, a in enumerate(args) if type(a) is list)
    width = min((len(a) for a in rows), default=0)
    counts = tuple(
        i
        for i in range(width - 1)
        if all(type(a[i]) is int and type(a[i + 1]) is list and a[i] == len(a[i + 1]) for a in rows)
    )
    cases_per = None
    if rows and all(len(a) > 1 and type(a[0]) is int and a[0] > 0 for a in rows):
        per = {(len(a) - 1) / a[0] for a in rows}
        if len(per) == 1 and (k := per.pop()).is_integer() and (len(rows) > 1 or rows[0][0] > 1):
            cases_per = int(k)
    return StdioContract(inner, listy, counts, cases_per)


def parse_stdio_inputs(task: Mapping[str, Any]) -> list[Input] | None:
    """The task's stdio inputs as argument tuples (one per line), or None when one does not render back
    to its own text (its shape is not lines of tokens) or the task has no cases."""
    texts = [str(case.get("input", "")) for case in task.get("tests") or [] if isinstance(case, Mapping)]
    if not texts:
        return None
    split = [[line.split() for line in _normal(t).split("\n")] for t in texts]
    listy = {i for lines in split for i, toks in enumerate(lines) if len(toks) != 1}
    out: list[Input] = []
    for text, lines in zip(texts, split, strict=True):
        args = tuple(_line_value(toks, i in listy) for i, toks in enumerate(lines))
        if _normal(render_stdin(args)) != _normal(text):
            return None
        out.append((args, {}))
    return out


def stdio_program(source: str) -> str:
    """``source`` with :data:`ENTRY` appended: called with one argument per input line, it runs the
    program as ``__main__`` on their rendering and returns its output, normalised as the verifier
    compares it. The program is compiled once, when the oracle's child loads it; it runs afresh each call."""
    return (
        f"{RENDER_SRC}\n"
        f"__af_program = compile({source!r}, '<program>', 'exec')\n\n\n"
        f"def {ENTRY}(*lines):\n"
        "    import os\n"
        "    from alignforge.verify._child import _run_stdio\n\n"
        "    null = os.open(os.devnull, os.O_RDWR)\n"
        "    try:\n"
        f"        out, more = _run_stdio(__af_program, {_RENDER}(lines), {_OUTPUT_LIMIT}, null)\n"
        "    finally:\n"
        "        os.close(null)\n"
        "    if more:\n"
        f"        raise OverflowError('more than {_OUTPUT_LIMIT} bytes of output')\n"
        "    return '\\n'.join(line.rstrip() for line in out.strip().splitlines())  # normalize_output\n"
    )

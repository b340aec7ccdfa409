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

import re
from collections.abc import Mapping
from typing import Any

from alignforge.verify._inputs_mutation import Input

__all__ = ["ENTRY", "parse_stdio_inputs", "render_stdin", "stdio_program", "RENDER_SRC"]

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
    return value if repr(value) == text else text  # 1.50 stays a word: it would not render back


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


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
        args = tuple(
            [_token(t) for t in toks] if i in listy else _token(toks[0]) for i, toks in enumerate(lines)
        )
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

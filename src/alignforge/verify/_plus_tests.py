"""Strengthened tests as source: one assert per input, the float-tolerant comparison, and the task views.

A strengthened task keeps its own ``tests`` and carries the new ones in ``plus_tests``, in the same
style: a ``check(candidate)`` string for HumanEval-style tasks, a list of assert lines for MBPP-style
ones, a module of ``test_*`` functions (one per input) for pytest-style ones. :func:`plus_task` gives the task as the engine runs it with the original tests and the new ones
together (HumanEval+ to HumanEval), so pass@k can be reported on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alignforge.verify._inputs_mutation import Built, Input

__all__ = [
    "CLOSE",
    "CLOSE_SRC",
    "has_float",
    "passes",
    "render_plus_tests",
    "plus_task",
    "REL_TOL",
    "ABS_TOL",
    "PYTEST_PREFIX",
]

REL_TOL, ABS_TOL = 1e-6, 1e-9
PYTEST_PREFIX = "test_af_plus_"  # the new test functions of a pytest-style task: test_af_plus_1, ...
PYTEST_MODULE = "__af_solution"  # the module the new pytest tests call the function through
CLOSE = "__af_close"
# The one comparison: the tests run this source, and the selection (which input kills which mutant)
# runs the same function, so a test passes exactly when the selection says it does.
CLOSE_SRC = f'''def {CLOSE}(a, b):
    """Equal, with floats compared by math.isclose (rel_tol={REL_TOL}, abs_tol={ABS_TOL}), recursively."""
    if isinstance(a, float) or isinstance(b, float):
        num = (int, float)
        return (isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool)
                and not isinstance(b, bool)
                and __import__("math").isclose(a, b, rel_tol={REL_TOL}, abs_tol={ABS_TOL}))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all({CLOSE}(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all({CLOSE}(a[k], b[k]) for k in a)
    return a == b
'''
_ns: dict[str, Any] = {}
exec(compile(CLOSE_SRC, "<plus-tests helper>", "exec"), _ns)
_close = _ns[CLOSE]


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_float(v) for v in value)
    if isinstance(value, dict):
        return any(has_float(k) or has_float(v) for k, v in value.items())
    return False


def passes(actual: Any, expected: Any) -> bool:
    """Whether ``assert`` in a rendered test passes for this return value (see :func:`render_plus_tests`)."""
    try:
        return bool(_close(actual, expected)) if has_float(expected) else bool(actual == expected)
    except Exception:
        return False


def _same(a: Any, b: Any) -> bool:
    """Two runs' values agree: same types all the way down, floats by isclose."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return passes(a, b)
    return bool(a == b)


def _source(v: Any, module: str) -> str:
    """``repr(v)``, with the class of each :class:`Built` named through ``module`` (``m.Pair(5, 24)``)."""
    if type(v) is Built:
        return f"{module}{v.cls}({', '.join(_source(a, module) for a in v.args)})"
    if type(v) is list and any(type(x) in (Built, list, tuple) for x in v):
        return f"[{', '.join(_source(x, module) for x in v)}]"
    if type(v) is tuple and any(type(x) in (Built, list, tuple) for x in v):
        return f"({', '.join(_source(x, module) for x in v)}{',' if len(v) == 1 else ''})"
    return repr(v)


def _call(name: str, inp: Input, module: str = "") -> str:
    args, kwargs = inp
    parts = [_source(a, module) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _assert(name: str, inp: Input, expected: Any, module: str = "") -> str:
    if has_float(expected):
        return f"assert {CLOSE}({_call(name, inp, module)}, {expected!r})"
    return f"assert {_call(name, inp, module)} == {expected!r}"


def render_plus_tests(task: Mapping[str, Any], entry: str, cases: list[tuple[Input, Any]]) -> str | list[Any]:
    """The new tests in the task's style, one assert (stdio: one case) per ``(input, expected output)``."""
    if task["style"] == "stdio":  # the input lines rendered as the oracle rendered them
        from alignforge.verify._stdio_inputs import render_stdin

        return [{"input": render_stdin(inp[0]), "output": e} for inp, e in cases]
    floats = any(has_float(e) for _, e in cases)
    if task["style"] == "humaneval":
        body = "\n".join(f"    {_assert('candidate', inp, e)}" for inp, e in cases) or "    pass"
        return (CLOSE_SRC + "\n\n" if floats else "") + f"def check(candidate):\n{body}\n"
    if task["style"] == "pytest":  # one test function per input, so partial credit counts each
        # The function through a module alias of our own: binding `entry` would replace a name the
        # module's own tests may use (a brute-force checker of the same name, say).
        module = str(task.get("module") or "solution")
        call = f"{PYTEST_MODULE}.{entry}"
        tests = "\n\n".join(
            f"def {PYTEST_PREFIX}{k}():\n    {_assert(call, inp, e, PYTEST_MODULE + '.')}\n"
            for k, (inp, e) in enumerate(cases, 1)
        )
        return f"import {module} as {PYTEST_MODULE}\n\n" + (CLOSE_SRC + "\n\n" if floats else "") + tests
    return [(CLOSE_SRC + "\n" if has_float(e) else "") + _assert(entry, inp, e) for inp, e in cases]


def plus_task(row: Mapping[str, Any], *, field: str = "plus_tests") -> dict[str, Any]:
    """The row with ``tests`` = its original tests followed by ``row[field]`` (a row without them is
    returned as it is): what HumanEval+ is to HumanEval."""
    out = dict(row)
    plus = row.get(field)
    if not plus:
        return out
    key = next((k for k in ("tests", "test", "test_list") if k in row), "tests")
    base = row[key]
    if isinstance(base, str):
        if not isinstance(plus, str):
            raise ValueError(
                f"field {field!r}: a check(candidate) string is expected beside a string 'tests'"
            )
        if _style(row) == "pytest":  # the new test functions follow the module's own
            return {**out, key: f"{base.rstrip()}\n\n\n{plus}"}
        renamed = plus.replace("def check(candidate):", "def __af_plus_check(candidate):", 1)
        out[key] = (
            f"{base.rstrip()}\n\n__af_base_check = check\n\n{renamed.rstrip()}\n\n\n"
            "def check(candidate):\n    __af_base_check(candidate)\n    __af_plus_check(candidate)\n"
        )
    else:
        if not isinstance(plus, list):
            raise ValueError(f"field {field!r}: a list of asserts is expected beside a list 'tests'")
        out[key] = list(base) + list(plus)
    return out


def _style(row: Mapping[str, Any]) -> str:
    """The row's test style as the engine reads it (``test_style`` wins), for a row whose tests are a
    string: ``humaneval`` or ``pytest``."""
    from alignforge.verify._suites import detect_style

    return detect_style({**row, "tests": row.get("tests", row.get("test"))})

"""Test styles: what a task's tests look like, and how the worker runs them against a remote candidate.

Tests are trusted (they come from the task file) and run in the worker; the
candidate's functions are proxies that call into the sandboxed child and get back
rebuilt builtin values. Each ``assert`` is rewritten into a call that records its
own outcome, so per-test results and partial rewards come from the worker, never
from anything the candidate prints or returns as an exit code.
"""

from __future__ import annotations

import ast
import builtins
import marshal
import re
from dataclasses import dataclass, field, fields
from typing import Any

STYLES = ("humaneval", "mbpp", "pytest", "stdio")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.S)


def detect_style(row: dict[str, Any]) -> str:
    """The test style a task row carries (``test_style`` wins when present)."""
    style = row.get("test_style")
    if style:
        if style not in STYLES:
            raise ValueError(f"test_style must be one of {STYLES}, got {style!r}")
        return str(style)
    tests = row.get("tests", row.get("test"))
    if isinstance(tests, str):
        if re.search(r"^def check\(", tests, re.M):
            return "humaneval"
        if re.search(r"^(async )?def test_", tests, re.M):
            return "pytest"
        raise ValueError("tests is a string with neither check(candidate) nor test_* functions")
    if isinstance(tests, list) and tests:
        if all(isinstance(t, str) for t in tests):
            return "mbpp"
        if all(isinstance(t, dict) and "input" in t and "output" in t for t in tests):
            return "stdio"
    raise ValueError(
        "tests must be a check() string, pytest source, a list of asserts, or input/output cases"
    )


def strip_fences(text: str) -> str:
    """The code inside markdown fences (python blocks preferred, joined), or the text unchanged."""
    blocks = _FENCE.findall(text)
    if not blocks:
        return text
    py = [body for lang, body in blocks if lang.lower() in ("python", "py", "python3", "")]
    return "\n\n".join(py or [body for _, body in blocks])


def build_program(task: dict[str, Any], completion: str, completion_style: str = "body") -> str:
    """The source the candidate process executes for one completion."""
    if completion_style not in ("body", "full"):
        raise ValueError(f"completion_style must be 'body' or 'full', got {completion_style!r}")
    code = strip_fences(completion)
    style = task["style"]
    if style == "stdio":
        return code
    prompt = task.get("prompt") or ""
    if style == "humaneval" or _is_code(prompt):
        entry = task.get("entry_point") or ""
        restated = bool(entry) and re.search(rf"^def {re.escape(entry)}\(", code, re.M) is not None
        if completion_style == "body" and not restated:
            return prompt + code
        # Full code after the prompt: the prompt's imports and helpers stay, its stub is redefined.
        return prompt + "\n" + code
    return code


def _is_code(text: str) -> bool:
    if "def " not in text:
        return False
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


# --- the worker side ---------------------------------------------------------------------------


class StopRun(BaseException):
    """First failure when rewards are all-or-nothing: stop early."""


@dataclass
class Compiled:
    """A task's tests, compiled once per worker."""

    style: str
    units: list[str]
    codes: list[Any] = field(default_factory=list)
    setup_in_child: str | None = None
    remote_names: list[str] = field(default_factory=list)
    candidate_names: list[str] = field(default_factory=list)
    auto_imports: list[str] = field(default_factory=list)
    prompt_code: Any = None
    prefetch: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    unsupported: str = ""


class _LiteralCalls(ast.NodeVisitor):
    """Calls of candidate functions with literal arguments in straight-line asserts, in source order."""

    def __init__(self, names: set[str]) -> None:
        self.names, self.calls = names, []  # type: ignore[var-annotated]

    def visit_Assert(self, node: ast.Assert) -> None:
        for sub in _in_order(node.test):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in self.names:
                try:
                    args = tuple(ast.literal_eval(a) for a in sub.args)
                    kwargs = {k.arg: ast.literal_eval(k.value) for k in sub.keywords if k.arg}
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
                if len(kwargs) == len(sub.keywords):
                    self.calls.append((sub.func.id, args, kwargs))

    def _skip(self, node: ast.AST) -> None:  # calls in loops or branches may run any number of times
        return None

    visit_For = visit_While = visit_If = visit_With = visit_Try = visit_Lambda = _skip  # type: ignore[assignment]
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip  # type: ignore[assignment]


def _in_order(node: ast.AST) -> list[ast.AST]:
    """Sub-nodes in evaluation order (arguments before the call that uses them)."""
    out: list[ast.AST] = []
    for child in ast.iter_child_nodes(node):
        out += _in_order(child)
    out.append(node)
    return out


def _prefetch(sources: list[str], names: set[str]) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    finder = _LiteralCalls(names)
    for src in sources:
        tree = ast.parse(src)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):  # check(candidate): its straight-line body
                for stmt in node.body:
                    finder.visit(stmt)
            else:
                finder.visit(node)
    return finder.calls


_STDLIB_AUTO = ("math", "sys", "re", "collections", "itertools", "heapq", "cmath", "string")


class _Rewriter(ast.NodeTransformer):
    def __init__(self, units: list[str]) -> None:
        self.units = units

    def visit_Assert(self, node: ast.Assert) -> Any:
        if isinstance(node.test, ast.Constant) and node.test.value:  # HumanEval's `assert True, "..."`
            return ast.Pass()
        idx = len(self.units)
        self.units.append(ast.unparse(node.test)[:200])
        thunk = ast.Lambda(
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=node.test,
        )
        call = ast.Call(func=ast.Name("__af_check", ast.Load()), args=[ast.Constant(idx), thunk], keywords=[])
        return ast.copy_location(ast.Expr(call), node)


def _rewrite(source: str, units: list[str], filename: str) -> Any:
    tree = _Rewriter(units).visit(ast.parse(source))
    return compile(ast.fix_missing_locations(tree), filename, "exec", optimize=0)


def _called_names(sources: list[str]) -> set[str]:
    names: set[str] = set()
    for src in sources:
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


def _assigned_names(source: str) -> list[str]:
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            out += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return out


def _runs_setup(task: dict[str, Any]) -> bool:
    """Whether compiling the task runs its MBPP ``test_setup_code`` (to see whether it is built from
    the candidate's own classes)."""
    return task["style"] == "mbpp" and bool((task.get("test_setup_code") or "").strip())


def compile_task(task: dict[str, Any]) -> Compiled:
    """A task's tests compiled for the worker. Always with ``optimize=0``: a harness started with
    ``python -O`` must not strip the tests' asserts (the pool compiles in the caller's process)."""
    style = task["style"]
    units: list[str] = []
    if style == "humaneval":
        code = _rewrite(task["tests"], units, "<tests>")
        try:
            prompt_code = compile(task.get("prompt") or "", "<prompt>", "exec", optimize=0)
        except SyntaxError:
            prompt_code = compile("", "<prompt>", "exec", optimize=0)
        tree = ast.parse(task["tests"])
        check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
        param = check.args.args[0].arg if check is not None and check.args.args else "candidate"
        pre = [
            (task["entry_point"], a, k)
            for _, a, k in _prefetch([task["tests"]], {param, task["entry_point"]})
        ]
        return Compiled(
            style, units, [code], candidate_names=[task["entry_point"]], prompt_code=prompt_code, prefetch=pre
        )
    if style == "mbpp":
        codes = [_rewrite(t, units, f"<test {i}>") for i, t in enumerate(task["tests"])]
        comp = Compiled(style, units, codes)
        if _runs_setup(task):
            setup = task["test_setup_code"]
            try:
                exec(compile(setup, "<setup>", "exec", optimize=0), {})
            except NameError:  # built from the candidate's own classes: build it in the child
                comp.setup_in_child = setup
                comp.remote_names = _assigned_names(setup)
        used = {n.id for t in task["tests"] for n in ast.walk(ast.parse(t)) if isinstance(n, ast.Name)}
        imported = " ".join(task.get("test_imports") or [])
        comp.auto_imports = [m for m in _STDLIB_AUTO if m in used and m not in imported]
        called = _called_names(task["tests"])
        defined = set(dir(builtins)) - {task.get("entry_point") or ""}
        comp.candidate_names = sorted(n for n in called if n not in defined and n not in comp.remote_names)
        comp.prefetch = _prefetch(task["tests"], set(comp.candidate_names))
        return comp
    if style == "pytest":
        tree = ast.parse(task["tests"])
        units, needs_args = _pytest_units(tree)
        unsupported = ""
        if needs_args:
            unsupported = (
                f"{', '.join(needs_args[:5])} take arguments: this runner calls test_* functions without "
                "fixtures or parametrize"
            )
        return Compiled(style, units, [compile(tree, "<tests>", "exec", optimize=0)], unsupported=unsupported)
    if style == "stdio":
        return Compiled(style, [f"case {i}" for i in range(len(task["tests"]))])
    raise ValueError(f"unknown test style {style!r}")


def compile_for_workers(task: dict[str, Any]) -> bytes | None:
    """:func:`compile_task`'s result as marshal bytes, made once by the pool for every worker to load
    (each worker compiled each task itself: 1.3 ms a HumanEval task, once per worker).

    None, and the worker compiles as before, when compiling means running something: MBPP's
    ``test_setup_code`` is run to see whether it needs the candidate's classes, and that runs in the
    worker only. None too when the tests do not compile: the worker's error verdict says why.
    """
    try:
        if _runs_setup(task):
            return None
        comp = compile_task(task)
        return marshal.dumps(tuple(getattr(comp, f.name) for f in fields(Compiled)))
    except Exception:  # SyntaxError, a malformed task, a literal marshal cannot hold: the worker says
        return None


def load_compiled(data: bytes) -> Compiled:
    """The :class:`Compiled` that :func:`compile_for_workers` wrote."""
    return Compiled(*marshal.loads(data))


def _pytest_units(tree: ast.Module) -> tuple[list[str], list[str]]:
    """Test names as pytest collects them (``test*`` functions, ``Test*`` classes' ``test*`` methods,
    async ones included) and the tests that need arguments (fixtures or parametrize)."""
    units: list[str] = []
    needs_args: list[str] = []
    funcs = (ast.FunctionDef, ast.AsyncFunctionDef)

    def add(name: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, skip: int) -> None:
        units.append(name)
        a = fn.args
        positional = [*a.posonlyargs, *a.args][skip:]
        required = len(positional) - len(a.defaults)
        kw_required = sum(d is None for d in a.kw_defaults)
        if required > 0 or kw_required > 0:
            needs_args.append(name)

    for node in tree.body:
        if isinstance(node, funcs) and node.name.startswith("test"):
            add(node.name, node, 0)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, funcs) and item.name.startswith("test"):
                    add(f"{node.name}::{item.name}", item, 1)
    return units, needs_args


def normalize_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())

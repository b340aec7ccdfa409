"""Which local names a function may still read after a given statement: a conservative liveness analysis.

Backward over the function's statements, the textbook way (a name is live where some path from there
reads it before writing it), with Python's control flow: ``if``, ``for``/``while`` to a fixpoint with
``break``/``continue``, ``try``/``except`` (an exception may leave any statement of the body for any
handler), ``with`` (a manager may swallow the exception: the code after it runs). Where the analysis
cannot be sure it answers None, never "dead": the name is declared ``global``/``nonlocal``, a nested
function, lambda, class or generator expression mentions it (a closure reads it whenever it runs), the
function mentions ``locals``, ``eval``, frames and the like (:func:`introspects`), or it uses a statement
this analysis does not model (``try``/``finally``, ``match``, ``except*``). Every expression counts as reading every name in it, so the
live sets are too large, never too small.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

__all__ = ["live_after", "reads", "introspects", "nested_scopes", "NESTED_SCOPES"]

# Code that runs later than where it stands, with the enclosing function's names: functions, lambdas,
# classes, and generator expressions (which read their free names as they are consumed, not as built).
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.GeneratorExp)

# Names through which code can read a function's locals or frames other than by their names (a frame
# reached any other way goes through one of the frame attributes, by name or, with getattr, in a string):
# any of them anywhere in the code looked at (as a name, an attribute, an imported name or in a string) and
# this analysis and the store rules answer no.
_INTROSPECTION = frozenset(
    {
        "locals",
        "vars",
        "eval",
        "exec",
        "dir",
        "__import__",
        "_getframe",
        "currentframe",
        "f_locals",
        "f_back",
        "tb_frame",
        "gi_frame",
        "cr_frame",
        "ag_frame",
        "settrace",
        "setprofile",
        "inspect",
        "traceback",
        "gc",
        "get_objects",
        "get_referrers",
        "builtins",
        "__builtins__",
        "globals",
        "setattr",
        "__dict__",
        "modules",
        "getrefcount",
        "importlib",
        "import_module",
        "getattr",
    }
)

_LONG_WORDS = tuple(w for w in _INTROSPECTION if len(w) > 4)  # 'dir', 'eval' are in ordinary text


def introspects(tree: ast.AST) -> bool:
    """Whether ``tree`` mentions any of them."""
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id in _INTROSPECTION:
            return True
        if isinstance(n, ast.Attribute) and n.attr in _INTROSPECTION:
            return True
        if isinstance(n, ast.alias) and set(n.name.split(".")) & _INTROSPECTION:
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str | bytes):
            text = n.value if isinstance(n.value, str) else n.value.decode("latin-1")
            if any(w in text for w in _LONG_WORDS):
                return True
    return False


class _Unknown(Exception):
    """The analysis cannot model this function soundly."""


@dataclass(frozen=True)
class _Ctx:
    target: ast.stmt
    seen: list[frozenset[str]] = field(default_factory=list)
    brk: frozenset[str] | None = None  # live after the loop a ``break`` leaves
    cont: frozenset[str] | None = None  # live at the head of the loop a ``continue`` goes back to
    exc: frozenset[str] = frozenset()  # live in the handlers an exception here may reach


def reads(node: ast.AST | None) -> frozenset[str]:
    """Every name the expression (or statement part) loads, nested scopes included."""
    if node is None:
        return frozenset()
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _binds(target: ast.AST) -> frozenset[str]:
    """The names an assignment target rebinds (``x``, ``a, *b``); a subscript or attribute binds none."""
    if isinstance(target, ast.Name):
        return frozenset({target.id})
    if isinstance(target, ast.Tuple | ast.List):
        return frozenset().union(*(_binds(t) for t in target.elts))
    if isinstance(target, ast.Starred):
        return _binds(target.value)
    return frozenset()


def _target_reads(target: ast.AST) -> frozenset[str]:
    """The names a store reads: ``a[i] = v`` reads ``a`` and ``i``."""
    if isinstance(target, ast.Name):
        return frozenset()
    if isinstance(target, ast.Tuple | ast.List):
        return frozenset().union(*(_target_reads(t) for t in target.elts))
    if isinstance(target, ast.Starred):
        return _target_reads(target.value)
    return frozenset(n.id for n in ast.walk(target) if isinstance(n, ast.Name))


def _block(stmts: list[ast.stmt], out: frozenset[str], ctx: _Ctx) -> frozenset[str]:
    live = out
    for stmt in reversed(stmts):
        live = _stmt(stmt, live, ctx) | ctx.exc
    return live


def _loop(body: list[ast.stmt], head_of: object, out: frozenset[str], ctx: _Ctx) -> frozenset[str]:
    """The live set at a loop's head, to a fixpoint (the sets only grow, and names are finitely many)."""
    head: frozenset[str] = frozenset()
    while True:
        inner = replace(ctx, brk=out, cont=head)
        new = head_of(_block(body, head, inner))  # type: ignore[operator]
        if new == head:
            return head
        head = new


def _stmt(s: ast.stmt, out: frozenset[str], ctx: _Ctx) -> frozenset[str]:
    if s is ctx.target:
        ctx.seen.append(out | ctx.exc)
    if isinstance(s, ast.Assign):
        binds = frozenset().union(*(_binds(t) for t in s.targets))
        return (out - binds) | reads(s.value) | frozenset().union(*(_target_reads(t) for t in s.targets))
    if isinstance(s, ast.AnnAssign):
        if s.value is None:
            return out
        return (out - _binds(s.target)) | reads(s.value) | _target_reads(s.target)
    if isinstance(s, ast.AugAssign):
        return out | reads(s.value) | _target_reads(s.target) | _binds(s.target)
    if isinstance(s, ast.Expr | ast.Assert | ast.Delete | ast.Return | ast.Raise):
        used = frozenset().union(*(reads(c) for c in ast.iter_child_nodes(s)))
        if isinstance(s, ast.Delete):
            used |= frozenset().union(*(_binds(t) | _target_reads(t) for t in s.targets))
        return used if isinstance(s, ast.Return | ast.Raise) else out | used
    if isinstance(s, ast.Pass):
        return out
    if isinstance(s, ast.Break | ast.Continue):
        jump = ctx.brk if isinstance(s, ast.Break) else ctx.cont
        if jump is None:
            raise _Unknown("break/continue outside a loop")
        return jump
    if isinstance(s, ast.If):
        return reads(s.test) | _block(s.body, out, ctx) | _block(s.orelse, out, ctx)
    if isinstance(s, ast.While):
        after_else = _block(s.orelse, out, ctx)
        return _loop(s.body, lambda body_in: reads(s.test) | body_in | after_else, out, ctx)
    if isinstance(s, ast.For | ast.AsyncFor):
        after_else = _block(s.orelse, out, ctx)
        bound, target_reads = _binds(s.target), _target_reads(s.target)
        head = _loop(s.body, lambda body_in: ((body_in - bound) | target_reads) | after_else, out, ctx)
        return reads(s.iter) | head
    if isinstance(s, ast.Try):
        if s.finalbody:
            raise _Unknown("try/finally")
        handlers = frozenset().union(
            *(
                (_block(h.body, out, ctx) - ({h.name} if h.name else set())) | reads(h.type)
                for h in s.handlers
            )
        )
        after_body = _block(s.orelse, out, ctx)
        return _block(s.body, after_body, replace(ctx, exc=ctx.exc | handlers)) | handlers
    if isinstance(s, ast.With | ast.AsyncWith):
        body_in = _block(s.body, out, replace(ctx, exc=ctx.exc | out))  # a manager may swallow it
        bound = frozenset().union(*(_binds(i.optional_vars) for i in s.items if i.optional_vars))
        items = frozenset().union(
            *(reads(i.context_expr) | _target_reads(i.optional_vars or ast.Pass()) for i in s.items)
        )
        return (body_in - bound) | items
    if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        outer = [*s.decorator_list, *(getattr(s, "bases", []) or []), *(getattr(s, "keywords", []) or [])]
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef):
            outer += [*s.args.defaults, *(d for d in s.args.kw_defaults if d is not None)]
        return (out - {s.name}) | frozenset().union(*(reads(n) for n in outer))
    if isinstance(s, ast.Import | ast.ImportFrom):
        names = {(a.asname or a.name).split(".")[0] for a in s.names}
        return out - names
    if isinstance(s, ast.Global | ast.Nonlocal):
        return out
    raise _Unknown(type(s).__name__)


def nested_scopes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    return [n for n in ast.walk(func) if n is not func and isinstance(n, NESTED_SCOPES)]


def live_after(func: ast.FunctionDef | ast.AsyncFunctionDef, stmt: ast.stmt, name: str) -> bool | None:
    """Whether the local ``name`` may be read after ``stmt`` (a statement of ``func``) runs: True (it may),
    False (no path from there reads it before rebinding it, so what ``stmt`` left in it is never seen), or
    None (this analysis cannot say)."""
    if introspects(func):
        return None
    for node in ast.walk(func):
        if isinstance(node, ast.Global | ast.Nonlocal) and name in node.names:
            return None
    for scope in nested_scopes(func):
        if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(scope)):
            return None
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and scope.name == name:
            return None
    ctx = _Ctx(target=stmt)
    try:
        _block(func.body, frozenset(), ctx)
    except (_Unknown, RecursionError):
        return None
    if not ctx.seen:
        return None  # the statement is not in the function's own code (a nested scope's)
    return any(name in live for live in ctx.seen)

"""What the equivalence rules know of who binds a name and how: the AST facts and helpers they share.

Who binds a name and how (:func:`rebound`, :func:`binds_not_by_name`, :func:`_plain_locals`,
:func:`fixed_input`), whether a call is the builtin (:func:`builtin_call`), whether a value is free of
side effects (:func:`pure`), and the int constant a node holds (:func:`_int_const`). The int and range
facts built on these are in :mod:`alignforge.verify._ast_ints`; the two preconditions that guard the
rules (``reflective``, ``self_contained``) in :mod:`alignforge.verify._ast_preconditions`. Used by the
rules that :mod:`alignforge.verify._equivalence` lists, and by :mod:`alignforge.verify._boundary` and
:mod:`alignforge.verify._inputs_mutation`; nothing here is a rule.
"""

from __future__ import annotations

import ast

from alignforge.verify._liveness import nested_scopes

__all__ = [
    "parents",
    "rebound",
    "builtin_call",
    "modules_of",
    "bound_beside_imports",
    "pure",
    "binds_not_by_name",
    "stores_of",
    "required_params",
    "fixed_input",
]


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


# What a stored value (or a table's size) may hold: nothing with a side effect (no call but these
# builtins, no attribute but a module's), and no division, modulo, power or shift. The changed constant
# itself never reaches these: the rules allow it only as an element or with a sign, because for
# neighbouring ints int(s, b), range steps, min/max of what may be empty and float() can raise for one
# and not the other (found by review).
_PURE_CALLS = frozenset({"range", "len", "float", "int", "abs", "min", "max", "list", "tuple", "bool"})
_PURE_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)
_PURE_NODES = (
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.UnaryOp,
    ast.UAdd,
    ast.USub,
    ast.Not,
    ast.Invert,
    ast.Compare,
    ast.cmpop,
    ast.BoolOp,
    ast.boolop,
    ast.IfExp,
    ast.ListComp,
    ast.SetComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Store,
    *_PURE_BINOPS,
)


def rebound(tree: ast.Module, name: str) -> bool:
    """Whether the program binds ``name`` anywhere, by any statement or as a parameter (so a builtin of
    that name may not be the builtin)."""
    return name in _binds_in(tree) or any(
        (isinstance(n, ast.arg) and n.arg == name) or (isinstance(n, ast.alias) and n.name == "*")
        for n in ast.walk(tree)
    )  # `from m import *` may bind any name (audioop's `max`)


def builtin_call(tree: ast.Module, node: ast.AST, name: str, arities: tuple[int, ...]) -> bool:
    """``node`` calls the builtin ``name`` (the program never rebinds it) with positional arguments only,
    as many as one of ``arities``, none of them starred (``range(*xs)`` may start below 0: found by
    review)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and not rebound(tree, name)
        and not node.keywords
        and len(node.args) in arities
        and not any(isinstance(a, ast.Starred) for a in node.args)
    )


def modules_of(tree: ast.Module) -> set[str]:
    """Names bound only by ``import x`` / ``import x as y`` (``x.attr`` then reads a module attribute)."""
    imported = {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
    }
    return {m for m in imported if not bound_beside_imports(tree, m)}


def bound_beside_imports(tree: ast.Module, name: str) -> bool:
    """Whether anything but an import binds ``name``: an assignment or loop target, ``def``/``class``
    (found by review: a module-level ``class defaultdict``), a parameter, ``except .. as``, a match
    capture, a star import."""
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            return True
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == name:
            return True
        if isinstance(n, ast.arg) and n.arg == name:
            return True
        if isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name == name:
            return True
        if isinstance(n, ast.MatchMapping) and n.rest == name:
            return True
        if isinstance(n, ast.alias) and n.name == "*":
            return True
    return False


def pure(tree: ast.Module, expr: ast.AST) -> bool:
    """The expression has no side effect, and changing an int constant in it changes only its value."""
    modules = modules_of(tree)
    for node in ast.walk(expr):
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _PURE_BINOPS):
                return False
        elif isinstance(node, ast.Call):
            if not (
                isinstance(node.func, ast.Name)
                and node.func.id in _PURE_CALLS
                and not node.keywords
                and not rebound(tree, node.func.id)
            ):
                return False
        elif isinstance(node, ast.Attribute):
            if not (
                isinstance(node.value, ast.Name)
                and node.value.id in modules
                and isinstance(node.ctx, ast.Load)
            ):
                return False
        elif isinstance(node, ast.comprehension):
            if node.is_async:
                return False
        elif not isinstance(node, _PURE_NODES):
            return False
    return True


def _statement_of(
    tree: ast.Module, node: ast.AST
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.stmt | None, list[ast.AST]]:
    """The function and the statement that hold ``node``, and the chain of ancestors from the node up."""
    up = parents(tree)
    chain: list[ast.AST] = []
    cur: ast.AST | None = node
    stmt: ast.stmt | None = None
    while cur is not None:
        chain.append(cur)
        if stmt is None and isinstance(cur, ast.stmt):
            stmt = cur
        if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and cur is not node:
            if isinstance(cur, ast.Lambda):
                return None, None, chain
            return cur, stmt, chain
        cur = up.get(id(cur))
    return None, stmt, chain


def _binds_in(node: ast.AST, exempt: set[int] | None = None) -> set[str]:
    """Every name ``node`` can rebind, by any statement: assignment and loop targets, ``del``, ``import ..
    as``, ``except .. as``, ``def``/``class``, ``with .. as``, ``:=`` and ``match`` captures (less the
    target nodes in ``exempt``)."""
    exempt = exempt or set()
    names = {
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in exempt
    }
    return names | binds_not_by_name(node)


def binds_not_by_name(node: ast.AST) -> set[str]:
    """The names ``node`` binds other than through a ``Name`` target: ``import .. as``, ``except .. as``,
    ``def``/``class``, and ``match`` captures (``case n``, ``case [*n]``, ``case {**n}``)."""
    out: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.alias):
            out.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out |= {n.name} if n is not node else set()
        elif isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name:
            out.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            out.add(n.rest)
    return out


def _plain_locals(func: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> bool:
    """Every name is a local of ``func`` (a parameter, or bound in its own code) that no ``global`` or
    ``nonlocal`` declares and no nested scope mentions: only ``func``'s own statements can rebind it."""
    params = _params(func)
    inner = {id(m) for n in nested_scopes(func) for m in ast.walk(n)}
    bound = {
        n.id
        for n in ast.walk(func)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in inner
    } | binds_not_by_name(func)
    for n in ast.walk(func):
        if isinstance(n, ast.Global | ast.Nonlocal) and names & set(n.names):
            return False
        if id(n) in inner and isinstance(n, ast.Name) and n.id in names:
            return False
    return names <= params | bound


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = func.args
    return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}


def stores_of(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[ast.Name]:
    """Every ``name`` node of ``func`` that binds it (store or delete; :func:`binds_not_by_name` has the
    other bindings)."""
    return [
        n
        for n in ast.walk(func)
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
    ]


def required_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The positional parameters without a default: the ones the task's inputs fill (a default, ``*args``,
    ``**kw`` or a keyword-only one may hold anything: found by review). None at all where the function
    calls itself (a recursive call may pass other values)."""
    if any(isinstance(n, ast.Name) and n.id == func.name for n in ast.walk(func)):
        return set()
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    return {a.arg for a in positional[: len(positional) - len(args.defaults)]}


def fixed_input(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """``name`` is a required parameter that nothing in ``func`` rebinds: it holds the task's input."""
    return (
        name in required_params(func)
        and _plain_locals(func, {name})
        and name not in binds_not_by_name(func)
        and not stores_of(func, name)
    )


def _input_name(
    tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, *, cells: bool = False
) -> bool:
    """``name`` is a required parameter the function never rebinds: it holds the task's input. With
    ``cells`` (a list whose cells are read), it is only ever read as a cell's base (``arr[i]``) or in
    ``len(arr)``: never stored into, given a method, passed on or aliased (``list.append(arr, 'ab')``,
    ``b = arr; b.append(..)``: found by review), so its cells stay the task's numbers."""
    up = parents(func)
    for n in ast.walk(func):
        if cells and isinstance(n, ast.Name) and n.id == name:
            above = up.get(id(n))
            cell = isinstance(above, ast.Subscript) and above.value is n and isinstance(above.ctx, ast.Load)
            if not (cell or (above is not None and builtin_call(tree, above, "len", (1,)))):
                return False
    return fixed_input(func, name)


def _int_const(node: ast.AST) -> int | None:
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


_CATCHERS = (ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.Yield, ast.YieldFrom, ast.Await)

"""What the equivalence rules know of a program's text: the AST facts and helpers they share.

Who binds a name and how (:func:`rebound`, :func:`binds_not_by_name`, :func:`_plain_locals`,
:func:`fixed_input`), whether a call is the builtin (:func:`builtin_call`), whether a value is free of
side effects (:func:`pure`), what a test says of a name's least value (:func:`_floors`), whether a float
can arise from ints (:func:`_float_free`), and the two preconditions that guard the rules: none proves
anything of a :func:`reflective` program, and the newer ones need a :func:`self_contained` one. Used by
the rules that :mod:`alignforge.verify._equivalence` lists, and by :mod:`alignforge.verify._boundary`
and :mod:`alignforge.verify._inputs_mutation`; nothing here is a rule.
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
    "self_contained",
    "reflective",
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


def _signed_int(node: ast.AST) -> int | None:
    """An int constant, ``-1`` (a unary minus on one) included."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_const(node.operand)
        return None if inner is None else -inner
    return _int_const(node)


def _back_step(index: ast.AST, var: str) -> int | None:
    """d for ``var - d`` (d an int constant), 0 for ``var`` itself; None for any other index."""
    if isinstance(index, ast.Name) and index.id == var:
        return 0
    if (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, ast.Sub)
        and isinstance(index.left, ast.Name)
        and index.left.id == var
    ):
        return _int_const(index.right)
    return None


def _forward_step(index: ast.AST, var: str) -> int | None:
    """d for ``var + d`` or ``d + var`` (d an int constant), 0 for ``var`` itself; None otherwise."""
    if isinstance(index, ast.Name) and index.id == var:
        return 0
    if isinstance(index, ast.BinOp) and isinstance(index.op, ast.Add):
        for a, b in ((index.left, index.right), (index.right, index.left)):
            if isinstance(a, ast.Name) and a.id == var:
                return _int_const(b)
    return None


def _range_size(tree: ast.Module, call: ast.AST) -> ast.AST | None:
    """E for ``range(E)`` or ``range(0, E)`` with E side-effect free; None otherwise."""
    if not builtin_call(tree, call, "range", (1, 2)):
        return None
    assert isinstance(call, ast.Call)
    args = call.args
    if (
        len(args) == 2
        and isinstance(args[0], ast.Constant)
        and type(args[0].value) is int
        and args[0].value == 0
    ):
        args = args[1:]
    return args[0] if len(args) == 1 and pure(tree, args[0]) else None


def _floors(test: ast.AST, *, negated: bool) -> dict[str, int]:
    """What ``test`` (or, ``negated``, its failing) says of names that are never negative here: the least
    each can be. Passed, ``x >= g`` and ``x > g`` (``and`` of them); failed, ``x == 0`` (``or`` of them)
    gives x >= 1."""
    joiner = ast.Or if negated else ast.And
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, joiner) else [test]
    out: dict[str, int] = {}
    for t in parts:
        if not (isinstance(t, ast.Compare) and len(t.ops) == 1):
            continue
        left, op, right = t.left, t.ops[0], t.comparators[0]
        if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
            left, right = right, left
            mirror = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq}
            op = mirror[type(op)]() if type(op) in mirror else ast.NotEq()  # g > x is x < g (found by review)
        g = _int_const(right)
        if not isinstance(left, ast.Name) or g is None:
            continue
        if negated and isinstance(op, ast.Eq) and g == 0:
            least = 1
        elif not negated and isinstance(op, ast.GtE):
            least = g
        elif not negated and isinstance(op, ast.Gt):
            least = g + 1
        else:
            continue
        out[left.id] = max(out.get(left.id, 0), least)
    return out


_FLOAT_NAMES = frozenset(
    {"float", "complex", "math", "cmath", "decimal", "fractions", "statistics", "numpy", "np"}
)


def _float_free(tree: ast.Module) -> bool:
    """No float can arise in the program from int inputs: no true division, no float or complex
    constant, no ``float()``, ``math``, ``decimal`` and the like, no power (or ``pow``) but by a
    non-negative int constant. (Found by review: ``a + b / 2`` read ``% 2``, ``m == m + k`` past
    2**53.) The int-operand rules hold only in such a program, on the task's int inputs."""
    for n in ast.walk(tree):
        if isinstance(n, ast.BinOp | ast.AugAssign) and isinstance(n.op, ast.Div):
            return False
        if isinstance(n, ast.Attribute) and n.attr.startswith("__"):
            return False  # (0).__truediv__(1) (found by review)
        if isinstance(n, ast.Constant) and isinstance(n.value, float | complex):
            return False
        if isinstance(n, ast.Name) and n.id in _FLOAT_NAMES:
            return False
        if isinstance(n, ast.alias) and set(n.name.split(".")) & _FLOAT_NAMES:
            return False
        if isinstance(n, ast.BinOp | ast.AugAssign) and isinstance(n.op, ast.Pow):
            exponent: ast.AST | None = n.right if isinstance(n, ast.BinOp) else n.value
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "pow":
            exponent = n.args[1] if len(n.args) == 2 and not n.keywords and not rebound(tree, "pow") else None
        else:
            continue
        power = None if exponent is None else _int_const(exponent)
        if power is None or power < 0:
            return False
    return True


def self_contained(tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The function runs only as the task calls it, and nothing but its own statements runs while it
    does: the module holds only imports, undecorated top-level functions and names bound to constants
    (no statement runs a call at import, no class exists: no property, no ``__getitem__``, no dunder a
    value could bring); no function of the module is named inside ``func`` (no recursion, no helper,
    no passing itself to something that calls it), none names ``func`` (nobody else calls it); ``func``
    has no nested function or lambda, no ``global``/``nonlocal``, no store into an attribute (a module's
    function replaced: ``heapq.nlargest = ..``). The newer rules' threat model (found by review:
    module-level calls, mutual recursion, ``type('C', (), {..})``, ``assertRaises(IndexError, f)``, a
    property changing a global list, a helper rebinding a global)."""
    defs = set()
    for st in tree.body:
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef) and not st.decorator_list:
            defs.add(st.name)
            a = st.args
            heads = [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
            notes = [x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x]
            if any(not isinstance(n, _CONSTANT_NODES) for h in heads for n in ast.walk(h)) or any(
                isinstance(n, ast.Call | ast.NamedExpr | ast.Lambda)
                for h in [*notes, st.returns]
                if h
                for n in ast.walk(h)
            ):
                return False  # a default or annotation runs at import: `a=(c := helper)` (found by review)
        elif isinstance(st, ast.Assign) and all(isinstance(t, ast.Name) for t in st.targets):
            if not all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(st.value)):
                return False
        elif not isinstance(st, ast.Import | ast.ImportFrom):
            return False
    if func not in tree.body or reflective(tree):
        return False
    for n in ast.walk(tree):
        if isinstance(n, ast.ClassDef | ast.Global | ast.Nonlocal | ast.Match):
            return False  # (a match binds names without Name nodes: found by review)
        if isinstance(n, ast.Name) and n.id == func.name:
            return False  # (a def's name is no Name node: only a use of it)
        if isinstance(n, ast.Import | ast.ImportFrom):
            relative = isinstance(n, ast.ImportFrom) and bool(n.level)
            mods = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
            if relative or any(m.split(".")[0] not in _PLAIN_MODULES for m in mods):
                return False
    for n in ast.walk(func):
        if n is not func and isinstance(
            n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            return False
        if isinstance(n, ast.Name) and n.id in defs:
            return False
        if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load):
            return False
    return True


def reflective(tree: ast.Module) -> bool:
    """Whether the program may reach an object by a name it builds at run time (its frame, its locals, a
    module's functions): a reflective name (``getattr``, ``attrgetter``, ``type``, ``vars``, ..), a
    name or attribute with underscores (``sys._getframe``, ``x.__setattr__``, ``__builtins__``), a
    string holding ``__`` (``sys.modules['__main__']``, ``'{0.__class__}'.format``), ``.format`` on a
    string built at run time, ``string.Formatter``'s field getters, or a class of its own (its dunders,
    ``__index__``, ``__rmul__``, ``__eq__`` or a metaclass, run where no rule looks). Every equivalence
    rule refuses
    such a program (found by review: ``operator.attrgetter('_get' + 'frame')(sys)()`` read a table's
    initial cells through the frame's locals)."""
    for n in ast.walk(tree):
        if isinstance(n, ast.ClassDef):
            return True  # its dunders (__index__, __rmul__, __eq__, a metaclass) run unseen (found by review)
        if isinstance(n, ast.Name) and (n.id in _REFLECTIVE or n.id.startswith("__")):
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str | bytes) and "__" in str(n.value):
            return True
        if isinstance(n, ast.Attribute) and (n.attr.startswith("_") or n.attr in _REFLECTIVE):
            return True
        if (
            isinstance(n, ast.Attribute)
            and n.attr == "format"
            and not (isinstance(n.value, ast.Constant) and isinstance(n.value.value, str))
        ):
            return True
        if isinstance(n, ast.alias) and n.name.split(".")[0] in ("operator", "string", "inspect", "ctypes"):
            return True
    return False


# Names and attributes that reach objects by a string or change them from afar; modules whose functions
# run no code of the program's own (the newer rules' :func:`self_contained`).
_REFLECTIVE = frozenset(
    {
        "getattr",
        "modules",
        "Formatter",
        "get_field",
        "get_value",
        "format_map",
        "vformat",
        "setattr",
        "delattr",
        "hasattr",
        "vars",
        "globals",
        "locals",
        "eval",
        "exec",
        "compile",
        "type",
        "object",
        "super",
        "attrgetter",
        "methodcaller",
        "operator",
        "breakpoint",
        "getsizeof",
        "getallocatedblocks",
        "getrefcount",
    }
)
_PLAIN_MODULES = frozenset(
    {"heapq", "math", "cmath", "collections", "itertools", "re", "bisect", "sys", "functools"}
)
_CONSTANT_NODES = (
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Load,
    ast.UnaryOp,
    ast.unaryop,
    ast.BinOp,
    ast.operator,
)


_CATCHERS = (ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.Yield, ast.YieldFrom, ast.Await)

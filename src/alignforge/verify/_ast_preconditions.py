"""The two preconditions that guard the equivalence rules: a program not reflective, and self-contained.

No rule proves anything of a :func:`reflective` program (one that may reach an object by a name it
builds at run time, or has a class of its own), and the newer ones need a :func:`self_contained` one
(nothing but the function's own statements runs while it does, and only the task calls it). Both read
only the program's text. :mod:`alignforge.verify._ast_facts` re-exports them; nothing here is a rule.
"""

from __future__ import annotations

import ast

__all__ = ["self_contained", "reflective"]


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

"""Mutants of a reference solution, for measuring how strong a task's tests are.

Each operator changes the first place it applies to (in source order) inside the entry-point
function, or in the whole program when there is none. A mutant is not a known-wrong
solution: it may be equivalent to the reference, or differ only on inputs the tests never
try. calibrate reports how many the tests kill; a survivor points to weak tests.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

__all__ = ["mutants", "mutation_site", "OPERATORS"]

_NEGATE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


def _is_add_sub(node: ast.AST) -> bool:
    return isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Add | ast.Sub)


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _flip_compare(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.Compare)
    node.ops[0] = _NEGATE[type(node.ops[0])]()
    return node


def _off_by_one(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.Constant) and type(node.value) is int
    return ast.copy_location(ast.Constant(int(node.value) + 1), node)


def _swap_add_sub(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.BinOp | ast.AugAssign)
    node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
    return node


def _first_branch(node: ast.AST) -> ast.AST | list[ast.stmt]:
    """``if c: A else: B`` becomes ``A``; ``A if c else B`` becomes ``A``."""
    assert isinstance(node, ast.If | ast.IfExp)
    return node.body


# name -> (does the operator apply to this node, the mutation)
OPERATORS: dict[str, tuple[Callable[[ast.AST], bool], Callable[[ast.AST], ast.AST | list[ast.stmt]]]] = {
    "flip_compare": (lambda n: isinstance(n, ast.Compare) and type(n.ops[0]) in _NEGATE, _flip_compare),
    "off_by_one": (_is_int, _off_by_one),
    "swap_add_sub": (_is_add_sub, _swap_add_sub),
    "first_branch": (lambda n: isinstance(n, ast.If | ast.IfExp), _first_branch),
}


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, fn: Callable[[ast.AST], ast.AST | list[ast.stmt]]) -> None:
        self.target, self.fn = target, fn

    def generic_visit(self, node: ast.AST) -> ast.AST | list[ast.stmt]:  # type: ignore[override]
        if node is self.target:
            return self.fn(node)
        return super().generic_visit(node)


def _scope(tree: ast.Module, entry: str | None) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry:
            return node
    return tree


def _sites(tree: ast.Module, entry: str | None) -> dict[str, int]:
    """Per operator, the index (in ``ast.walk`` order) of the first node in source order it applies to."""
    nodes = list(ast.walk(tree))
    scope = _scope(tree, entry)
    in_scope = {id(n) for n in ast.walk(scope)}
    ordered = sorted(
        (i for i, n in enumerate(nodes) if id(n) in in_scope and hasattr(n, "lineno")),
        key=lambda i: (nodes[i].lineno, nodes[i].col_offset),  # type: ignore[attr-defined]
    )
    out = {}
    for name, (applies, _) in OPERATORS.items():
        site = next((i for i in ordered if applies(nodes[i])), None)
        if site is not None:
            out[name] = site
    return out


def mutation_site(code: str, entry: str | None, name: str) -> tuple[ast.Module, ast.AST] | None:
    """The reference's parsed tree and the node operator ``name`` changes in it (None: it applies nowhere)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return None
    site = _sites(tree, entry).get(name)
    return None if site is None else (tree, list(ast.walk(tree))[site])


def mutants(code: str, entry: str | None = None) -> list[tuple[str, str]]:
    """(operator name, mutated program) for each operator that applies and changes the program."""
    try:
        tree = ast.parse(code)
        original = ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError):
        return []
    out: list[tuple[str, str]] = []
    for name, site in _sites(tree, entry).items():
        fn = OPERATORS[name][1]
        copied = copy.deepcopy(tree)
        target = list(ast.walk(copied))[site]  # deepcopy keeps the walk order
        mutated = ast.fix_missing_locations(_Replace(target, fn).visit(copied))
        try:
            text = ast.unparse(mutated)
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError, RecursionError):
            continue
        if text != original:
            out.append((name, text + "\n"))
    return out

"""The dead-store and overwritten-table equivalence rules, and the liveness analysis under them.

Each case is a reference, the mutation operator, the rule expected (None: the rule must not fire) and
calls. Where a rule fires, the mutant must answer every call as the reference does; where it must not,
the listed calls include one that tells the mutant apart, so the case shows a real difference the rule
would have hidden.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

import pytest

from alignforge.verify._equivalence import equivalence_rule
from alignforge.verify._liveness import live_after
from alignforge.verify._mutants import mutants

_LISTS = [[], [3], [1, 2], [5, -1, 4], [0, 0, 7, 2]]
_INTS = list(range(-3, 7))

CASES: list[tuple[str, str, str | None, list[tuple[Any, ...]]]] = [
    # -- dead_store: the value stored is never read -------------------------------------------------
    (
        "def f(a, b):\n    t = 0\n    t = a + b\n    return t\n",
        "off_by_one",
        "dead_store",
        [(a, b) for a in _INTS for b in _INTS],
    ),
    (  # rebound by the loop, and not read after it
        "def f(xs):\n    i = 0\n    s = 0\n    for i in range(len(xs)):\n        s = s + xs[i]\n    return s\n",
        "off_by_one",
        "dead_store",
        [(xs,) for xs in _LISTS],
    ),
    (  # rebound in the loop body before every read
        "def f(xs):\n    j = 0\n    s = 0\n    for x in xs:\n        j = 2 * x\n        s = s + j\n    return s\n",
        "off_by_one",
        "dead_store",
        [(xs,) for xs in _LISTS],
    ),
    (  # the constant as an element of a fresh container, never read
        "def f(a):\n    p = (0, a)\n    p = (a, a)\n    return p\n",
        "off_by_one",
        "dead_store",
        [(a,) for a in _INTS],
    ),
    (  # read after the loop: an empty list leaves the first value
        "def f(xs):\n    i = 0\n    for i in range(len(xs)):\n        pass\n    return i\n",
        "off_by_one",
        None,
        [([],), ([1],)],
    ),
    (  # read by a nested function before it is rebound
        "def f(a):\n    t = 0\n    def g():\n        return t\n    r = g()\n    t = a\n    return r\n",
        "off_by_one",
        None,
        [(1,)],
    ),
    (  # an exception skips the rebinding, and the handler's path reads it
        "def f(a):\n    t = 0\n    try:\n        t = 10 // a\n    except ZeroDivisionError:\n        pass\n    return t\n",
        "off_by_one",
        None,
        [(0,), (2,)],
    ),
    (  # `continue` skips the rebinding
        "def f(n):\n    t = 0\n    for i in range(n):\n        if i % 2:\n            continue\n        t = 5\n"
        "    return t\n",
        "off_by_one",
        None,
        [(0,), (3,)],
    ),
    (  # a while loop that may not run
        "def f(n):\n    t = 0\n    while n > 0:\n        t = n\n        n = n - 1\n    return t\n",
        "off_by_one",
        None,
        [(0,), (2,)],
    ),
    (  # += on a list changes it in place, where another name sees it
        "def f(xs):\n    ys = xs\n    ys += [1]\n    return xs\n",
        "off_by_one",
        None,
        [([],)],
    ),
    (  # a call with a side effect in the stored value
        "def f(xs):\n    xs = list(xs)\n    t = xs.pop(0)\n    t = 1\n    return xs\n",
        "off_by_one",
        None,
        [([1, 2, 3],)],
    ),
    (  # a divisor: the changed constant makes it raise
        "def f(a):\n    t = a // (a - 1)\n    t = 0\n    return t\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # read through locals()
        "def f(a):\n    t = 0\n    d = dict(locals())\n    t = a\n    return d['t']\n",
        "off_by_one",
        None,
        [(1,)],
    ),
    # found by a review: values whose evaluation, not only their result, depends on the constant
    (  # `and` runs its right side only for some values of the left
        "def f(a, s):\n    t = a > 3 and s < a\n    t = 0\n    return t\n",
        "off_by_one",
        None,
        [(4, "x")],
    ),
    (  # a builtin that raises for one int and not the next
        "def f(s):\n    t = int(s, 10)\n    t = 1\n    return t\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # + and - are other operations on strings
        "def f(a, b):\n    t = a + b\n    t = 0\n    return t\n",
        "swap_add_sub",
        None,
        [("x", "y")],
    ),
    (  # locals() by another name
        "def f(a):\n    lc = locals\n    t = 0\n    d = lc()['t']\n    t = a\n    return d\n",
        "off_by_one",
        None,
        [(7,)],
    ),
    # -- overwritten_table: every cell written before any is read --------------------------------------
    (
        "def f(xs):\n    n = len(xs)\n    t = [0] * n\n    for i in range(n):\n        t[i] = xs[i] * 2\n"
        "    return t\n",
        "off_by_one",
        "overwritten_table",
        [(xs,) for xs in _LISTS],
    ),
    (
        "def f(r, c):\n    t = [[0 for _ in range(c)] for _ in range(r)]\n    for i in range(r):\n"
        "        for j in range(c):\n            t[i][j] = i * j\n    return t\n",
        "off_by_one",
        "overwritten_table",
        [(r, c) for r in range(-1, 4) for c in range(-1, 4)],
    ),
    (  # a cell read before it is written (t[-1] on the first pass)
        "def f(n):\n    t = [0] * n\n    for i in range(n):\n        t[i] = t[i - 1] + 1\n    return t\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # left early
        "def f(n):\n    t = [0] * n\n    for i in range(n):\n        t[i] = i\n        if i > 1:\n"
        "            break\n    return t\n",
        "off_by_one",
        None,
        [(5,)],
    ),
    (  # the row index rebound inside the loops: cells of later rows are missed
        "def f(r, c):\n    t = [[0 for _ in range(c)] for _ in range(r)]\n    for i in range(r):\n"
        "        for j in range(c):\n            t[i][j] = 1\n            i = 0\n    return t\n",
        "off_by_one",
        None,
        [(2, 2)],
    ),
    (  # one more cell than the loop writes
        "def f(n):\n    t = [0] * (n + 1)\n    for i in range(n):\n        t[i] = 1\n    return t\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # the inner size shrinks as the loops run
        "def f(r, c):\n    t = [[0 for _ in range(c)] for _ in range(r)]\n    for i in range(r):\n"
        "        for j in range(c):\n            t[i][j] = 1\n        c = c - 1\n    return t\n",
        "off_by_one",
        None,
        [(2, 2)],
    ),
    (  # an import rebinds the inner size between rows
        "def f(r, c):\n    t = [[0 for _ in range(c)] for _ in range(r)]\n    for i in range(r):\n"
        "        for j in range(c):\n            t[i][j] = 1\n        from os import SEEK_SET as c\n    return t\n",
        "off_by_one",
        None,
        [(2, 2)],
    ),
    (  # another loop reuses the row index
        "def f(r, c):\n    t = [[0 for _ in range(c)] for _ in range(r)]\n    for i in range(r):\n"
        "        for j in range(c):\n            t[i][j] = 1\n            for i in [0]:\n                pass\n"
        "    return t\n",
        "off_by_one",
        None,
        [(2, 2)],
    ),
    (  # a closure moves the index while the stored value is evaluated (before the index is)
        "def f(n):\n    t = [0] * n\n    def g():\n        nonlocal i\n        i = 0\n        return 1\n"
        "    for i in range(n):\n        t[i] = g()\n    return t\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    # -- filled_in_order: a 1-D table filled from its start before any cell is read ----------------------
    (  # Jacobsthal-Lucas: dp[0], dp[1], then dp[i] from dp[i-1], dp[i-2]
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 2\n    dp[1] = 1\n    for i in range(2, n + 1):\n"
        "        dp[i] = dp[i - 1] + 2 * dp[i - 2]\n    return dp[n]\n",
        "off_by_one",
        "filled_in_order",
        [(n,) for n in range(-3, 9)],
    ),
    (  # two tables filled together; the other table's statements between
        "def f(n):\n    a = [0] * (n + 1)\n    b = [0] * (n + 1)\n    a[0] = 1\n    a[1] = 0\n    b[0] = 0\n"
        "    b[1] = 1\n    for i in range(2, n + 1):\n        a[i] = a[i - 2] + 2 * b[i - 1]\n"
        "        b[i] = a[i - 1] + b[i - 2]\n    return a[n]\n",
        "off_by_one",
        "filled_in_order",
        [(n,) for n in range(-3, 9)],
    ),
    (  # cell 0 never written, but only dp[n] is read and n >= 2 whenever the writes succeed
        "def f(n, k):\n    dp = [0] * (n + 1)\n    dp[1] = k\n    dp[2] = k * k\n    for i in range(3, n + 1):\n"
        "        dp[i] = (k - 1) * (dp[i - 1] + dp[i - 2])\n    return dp[n]\n",
        "off_by_one",
        "filled_in_order",
        [(n, k) for n in range(-3, 8) for k in (1, 2, 3)],
    ),
    (  # reads two back, but only cell 1 was written before the loop
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[1] = 1\n    for i in range(2, n + 1):\n"
        "        dp[i] = dp[i - 1] + dp[i - 2]\n    return dp[n]\n",
        "off_by_one",
        None,
        [(2,), (5,)],
    ),
    (  # the whole table is read though cell 0 is never written
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[1] = 1\n    for i in range(2, n + 1):\n"
        "        dp[i] = dp[i - 1] * 2\n    return sum(dp)\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # the cell being written is read first
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 1\n    for i in range(1, n + 1):\n"
        "        dp[i] = dp[i] + dp[i - 1]\n    return dp[n]\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # the size is rebound between the table and the loop: the loop ends short
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 1\n    n = n - 1\n    for i in range(1, n + 1):\n"
        "        dp[i] = dp[i - 1] + 1\n    return dp\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # a cell read ahead of the ones written
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 1\n    s = 0\n    for i in range(1, n + 1):\n"
        "        dp[i] = dp[i - 1] + 1\n        s = s + dp[n]\n    return s\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # an import rebinds the size between the table and the loop
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 1\n    from os import SEEK_SET as n\n"
        "    for i in range(1, n + 1):\n        dp[i] = dp[i - 1] + 1\n    return dp\n",
        "off_by_one",
        None,
        [(5,)],
    ),
    # found by a second review
    (  # a generator expression reads the table when consumed, before it is filled
        "def f(n, k):\n    g = (T[k] for _ in [n])\n    T = [0] * (n + 1)\n    v = next(g)\n    T[0] = 1\n"
        "    for i in range(1, n + 1):\n        T[i] = T[i - 1] + v\n    return T\n",
        "off_by_one",
        None,
        [(2, 1)],
    ),
    (  # a generator expression reads the stored value when consumed
        "def f(xs):\n    g = (t + x for x in xs)\n    t = 0\n    out = list(g)\n    t = 1\n    return out\n",
        "off_by_one",
        None,
        [([1, 2],)],
    ),
    (  # an enclosing loop left before the table is filled
        "def f(n, xs):\n    for x in xs:\n        T = [0] * (n + 1)\n        if x:\n            break\n        T[0] = 1\n"
        "        for i in range(1, n + 1):\n            T[i] = T[i - 1] + 1\n    return T\n",
        "off_by_one",
        None,
        [(2, [True])],
    ),
    (  # the size rebound by an import after the loop, before the read
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[1] = 1\n    for i in range(2, n + 1):\n"
        "        dp[i] = dp[i - 1] * 2\n    from os import SEEK_SET as n\n    return dp[n]\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # the size mentions the table: at the loop it means the new list
        "def f(T):\n    T = [0] * (not T)\n    for i in range(0, not T):\n        T[i] = 5\n    return T\n",
        "off_by_one",
        None,
        [(0,)],
    ),
    # -- sign_blind_counter and cell_counter: one step statement, read only where the step cannot show
    (  # found by review: two step statements, only one of which the mutant flips, can cancel out
        "def f(xs):\n    n = 0\n    for x in xs:\n        if x > 0:\n            n += 1\n        else:\n"
        "            n += 1\n    return n == 0\n",
        "swap_add_sub",
        None,
        [([1, -1],)],
    ),
    (  # "seen once": a count set to 1 at first sight and stepped after, read only as == 1
        "def f(s):\n    seen = {}\n    for c in s:\n        if c in seen:\n            seen[c] += 1\n        else:\n            seen[c] = 1\n    return [c for c in s if seen[c] == 1]\n",
        "off_by_one",
        "cell_counter",
        [(w,) for w in ("", "a", "aab", "abcabd", "zzz", "abba")],
    ),
    (
        "def f(s):\n    seen = {}\n    for c in s:\n        if c in seen:\n            seen[c] += 1\n        else:\n            seen[c] = 1\n    return [c for c in s if seen[c] == 1]\n",
        "swap_add_sub",
        "cell_counter",
        [(w,) for w in ("", "a", "aab", "abcabd", "zzz", "abba")],
    ),
    (  # read as == 2: the step shows
        "def f(s):\n    seen = {}\n    for c in s:\n        if c in seen:\n            seen[c] += 1\n        else:\n            seen[c] = 1\n    return [c for c in s if seen[c] == 2]\n",
        "off_by_one",
        None,
        [("aab",)],
    ),
    (  # the counts themselves returned
        "def f(s):\n    seen = {}\n    for c in s:\n        if c in seen:\n            seen[c] += 1\n        else:\n            seen[c] = 1\n    return seen\n",
        "off_by_one",
        None,
        [("aab",)],
    ),
    (  # two step statements: the mutant flips one, and +1 -1 comes back to 1
        "def f(s):\n    seen = {}\n    for i, c in enumerate(s):\n        if c not in seen:\n            seen[c] = 1\n"
        "        elif i % 2:\n            seen[c] += 1\n        else:\n            seen[c] += 1\n"
        "    return [c for c in seen if seen[c] == 1]\n",
        "swap_add_sub",
        None,
        [("aaa",)],
    ),
    # -- unread_cells: a dict whose keys are read, never its values ---------------------------------
    (  # "the first repeated character": h[ch] = 0 only marks ch as seen
        "def f(s):\n    h = {}\n    for ch in s:\n        if ch in h:\n            return ch\n        else:\n"
        "            h[ch] = 0\n    return None\n",
        "off_by_one",
        "unread_cells",
        [(w,) for w in ("", "a", "aab", "abcabd", "zzz", "abba")],
    ),
    (  # `not in`, and a dict() made fresh
        "def f(xs):\n    seen = dict()\n    out = []\n    for x in xs:\n        if x not in seen:\n"
        "            seen[x] = 0\n            out.append(x)\n    return out\n",
        "off_by_one",
        "unread_cells",
        [(xs,) for xs in _LISTS],
    ),
    (  # a cell read: the value shows
        "def f(s):\n    h = {}\n    for ch in s:\n        h[ch] = 0\n    return [h[c] for c in s]\n",
        "off_by_one",
        None,
        [("ab",)],
    ),
    (  # the values read through a method
        "def f(s):\n    h = {}\n    for ch in s:\n        h[ch] = 0\n    return sum(h.values())\n",
        "off_by_one",
        None,
        [("ab",)],
    ),
    (  # the dict returned
        "def f(s):\n    h = {}\n    for ch in s:\n        h[ch] = 0\n    return h\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # stepped: += reads the cell
        "def f(s):\n    h = {}\n    for ch in s:\n        if ch not in h:\n            h[ch] = 0\n"
        "        h[ch] += 1\n    return [h[c] for c in s]\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # a dict passed in: what it holds is the caller's to read
        "def f(s, h):\n    for ch in s:\n        h[ch] = 0\n    return h\n",
        "off_by_one",
        None,
        [("a", {})],
    ),
    (  # aliased: the other name reads the cells
        "def f(s):\n    h = {}\n    g = h\n    for ch in s:\n        h[ch] = 0\n    return g\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # a closure reads the cells
        "def f(s):\n    h = {}\n    for ch in s:\n        h[ch] = 0\n    get = lambda c: h[c]\n"
        "    return [get(c) for c in s]\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # found by review: `dict` rebound through globals() to a class that sees the values
        "class D(dict):\n    def __contains__(self, k):\n        return sum(self.values()) > 0\n"
        "def f(s):\n    globals()['dict'] = D\n    h = dict()\n    for ch in s:\n        if ch in h:\n"
        "            return ch\n        h[ch] = 0\n    return None\n",
        "off_by_one",
        None,
        [("ab",)],
    ),
    (  # found by review: builtins reached through importlib with a name built at run time
        "import importlib\nclass D(dict):\n    def __contains__(self, k):\n        return sum(self.values()) > 0\n"
        "def f(s):\n    b = importlib.import_module('built' + 'ins')\n    old = b.dict\n    b.dict = D\n"
        "    try:\n        h = dict()\n        for ch in s:\n            if ch in h:\n                return ch\n"
        "            h[ch] = 0\n        return None\n    finally:\n        b.dict = old\n",
        "off_by_one",
        None,
        [("ab",)],
    ),
    (  # the constant is the cell's key, which a key test reads
        "def f(s):\n    h = {}\n    h[0] = s\n    return 1 in h\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # a dict passed in may hold any count already
        "def f(s, seen):\n    for c in s:\n        if c in seen:\n            seen[c] += 1\n        else:\n"
        "            seen[c] = 1\n    return [c for c in s if seen[c] == 1]\n",
        "off_by_one",
        None,
        [("a", {"a": 0})],
    ),
    # found by a third review
    (  # a match capture binds the counter to any value
        "def f(x):\n    match x:\n        case n:\n            pass\n    n += 1\n    return n == 0\n",
        "swap_add_sub",
        None,
        [(-1,)],
    ),
    (  # the counter read through locals()
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return locals()['n']\n",
        "swap_add_sub",
        None,
        [([1, 2],)],
    ),
    (  # abs is not the builtin
        "from operator import pos as abs\ndef f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return abs(n)\n",
        "swap_add_sub",
        None,
        [([1, 2],)],
    ),
    (  # a match capture binds the dict to one the caller passed in
        "def f(s, m):\n    seen = {}\n    match m:\n        case {**seen}:\n            pass\n    for c in s:\n"
        "        if c in seen:\n            seen[c] += 1\n        else:\n            seen[c] = 1\n"
        "    return [c for c in s if seen[c] == 1]\n",
        "off_by_one",
        None,
        [("a", {"a": 0})],
    ),
]


def _answers(program: str, calls: list[tuple[Any, ...]]) -> list[Any]:
    ns: dict[str, Any] = {}
    exec(program, ns)
    out = []
    for args in calls:
        try:
            out.append(("ok", ns["f"](*copy.deepcopy(args))))
        except Exception as exc:
            out.append(("raises", type(exc).__name__))
    return out


@pytest.mark.parametrize("reference,operator,rule,calls", CASES)
def test_the_rule_fires_exactly_where_the_mutant_cannot_differ(
    reference: str, operator: str, rule: str | None, calls: list[tuple[Any, ...]]
) -> None:
    mutant = dict(mutants(reference, "f"))[operator]
    assert equivalence_rule(reference, "f", operator) == rule
    same = _answers(reference, calls) == _answers(mutant, calls)
    assert same is (rule is not None), (reference, mutant)


def _func_and_stmt(code: str, line: int) -> tuple[ast.FunctionDef, ast.stmt]:
    func = ast.parse(code).body[0]
    assert isinstance(func, ast.FunctionDef)
    stmt = next(n for n in ast.walk(func) if isinstance(n, ast.stmt) and getattr(n, "lineno", 0) == line)
    return func, stmt


@pytest.mark.parametrize(
    "code,line,name,expected",
    [
        # while/else: the else branch reads it
        (
            "def f(n):\n    t = 0\n    while n:\n        t = 1\n        n -= 1\n    else:\n        pass\n    return t\n",
            2,
            "t",
            True,
        ),
        # rebound on both branches of an if
        (
            "def f(a):\n    t = 0\n    if a:\n        t = 1\n    else:\n        t = 2\n    return t\n",
            2,
            "t",
            False,
        ),
        # rebound on one branch only
        ("def f(a):\n    t = 0\n    if a:\n        t = 1\n    return t\n", 2, "t", True),
        # a manager may swallow the exception that skips the rebinding
        ("def f(a):\n    t = 0\n    with a:\n        t = a.x\n    return t\n", 2, "t", True),
        # read on the next pass of the loop it is stored in
        ("def f(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n    return 1\n", 4, "s", True),
        # not read after the loop and rebound before each read
        ("def f(xs):\n    for x in xs:\n        s = x\n        print(s)\n    return 1\n", 3, "s", True),
        (
            "def f(xs):\n    for x in xs:\n        s = 0\n        s = x\n        print(s)\n    return 1\n",
            3,
            "s",
            False,
        ),
        # try/finally and global declarations are beyond the analysis
        (
            "def f(a):\n    t = 0\n    try:\n        t = a\n    finally:\n        pass\n    return t\n",
            2,
            "t",
            None,
        ),
        ("def f(a):\n    global t\n    t = 0\n    t = a\n    return t\n", 3, "t", None),
        # break leaves with the value: read after the loop
        (
            "def f(xs):\n    for x in xs:\n        t = x\n        break\n    else:\n        t = 0\n    return t\n",
            3,
            "t",
            True,
        ),
    ],
)
def test_liveness_follows_python_control_flow(code: str, line: int, name: str, expected: bool | None) -> None:
    func, stmt = _func_and_stmt(code, line)
    assert live_after(func, stmt, name) is expected


@pytest.mark.slow
def test_inputs_a_mutant_was_never_run_on_tell_nothing() -> None:
    """The oracle stops a program's run after three timeouts and marks the rest "not run". Those used to
    count as differences, so a slow but otherwise equal mutant (MBPP 952's `r = n - r` branch) was called
    `missed` on a small input it answers the same. Now the rest is run again: the survivor is told apart
    only by its timeouts, on inputs the contract refuses, and no input is offered as a new test."""
    from alignforge.verify._contract import infer_contract
    from alignforge.verify._equivalence import classify_survivors
    from alignforge.verify._oracle import OraclePool

    reference = "def tri(n):\n    return n * (n + 1) // 2\n"
    slow = "def tri(n):\n    return sum(range(n + 1))\n"  # the same on n >= 0; minutes for 10**12
    contract = infer_contract([((3,), {}), ((5,), {}), ((8,), {})])
    huge = [((10**12 + k,), {}) for k in range(4)]  # first, so the first run stops before the rest
    small = [((k,), {}) for k in range(1, 13)]
    assert all(contract.violation(i) for i in huge) and not any(contract.violation(i) for i in small)
    found: dict[str, list[Any]] = {}
    with OraclePool(1) as oracle:
        notes = classify_survivors(
            reference, "tri", {"slow": slow}, huge + small, contract, oracle, timeout_s=0.3, found=found
        )
    note = notes["slow"]
    assert note.kind == "outside_contract" and "times out on" in note.detail, note
    assert not found

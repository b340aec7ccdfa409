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

from alignforge.verify._ast_facts import rebound
from alignforge.verify._equivalence import boundary_inputs, equivalence_rule
from alignforge.verify._liveness import live_after
from alignforge.verify._mutants import mutants

_LISTS = [[], [3], [1, 2], [5, -1, 4], [0, 0, 7, 2]]
_INTS = list(range(-3, 7))

_BELL = (
    "def f(n):\n    bell = [[0 for i in range(n + 1)] for j in range(n + 1)]\n    bell[0][0] = 1\n"
    "    for i in range(1, n + 1):\n        bell[i][0] = bell[i - 1][i - 1]\n"
    "        for j in range(1, i + 1):\n            bell[i][j] = bell[i - 1][j - 1] + bell[i][j - 1]\n"
    "    return bell[n][0]\n"
)

_ARGMAX = (
    "def f(nums):\n    max_val = 0\n    result = nums[0]\n    for i in nums:\n        occu = nums.count(i)\n"
    "        if occu > max_val:\n            max_val = occu\n            result = i\n"
    "    return (result, max_val)\n"
)
_COUNTED = [[], [4], [1, 2], [2, 2], [1, 2, 2], [3, 1, 3, 1], "abca", (5, 6, 6)]

_CORNERS = (
    "def f(arr, n):\n    g = 0\n    for i in range(1, n):\n        if arr[i] - arr[i - 1] > 0 and g == 1:\n"
    "            return False\n        if arr[i] - arr[i] < 0:\n            g = 1\n    return True\n"
)
_CORNER_CALLS = [
    (xs, len(xs))
    for xs in ([], [1], [3, 2, 1, 2, 3, 4], [2, 1, 2], [1, float("nan"), 5, 9], [0.5, float("inf"), -1.0])
] + [([1, 2], 5)]

_ODD_DAYS = (
    "def f(N):\n    hund1 = N // 100\n    hund4 = N // 400\n    leap = N >> 2\n    ordd = N - leap\n"
    "    if hund1:\n        ordd += hund1\n        leap -= hund1\n    if hund4:\n        ordd -= hund4\n"
    "        leap += hund4\n    days = ordd + leap * 2\n    odd = days % 7\n    return odd\n"
)

_TOP3 = (
    "def f(nums):\n    import heapq\n    a, b = (heapq.nlargest(3, nums), heapq.nsmallest(2, nums))\n"
    "    return max(a[0] * a[1] * a[2], a[0] * b[0] * b[1])\n"
)

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
    # overwritten_table with a chain of stores: each branch stores the cell, reading only earlier ones
    (  # sequences of length n, each at least twice the one before: T[i - 1][j], T[i // 2][j - 1]
        "def f(m, n):\n    T = [[0 for i in range(n + 1)] for i in range(m + 1)]\n    for i in range(m + 1):\n"
        "        for j in range(n + 1):\n            if i == 0 or j == 0:\n                T[i][j] = 0\n"
        "            elif i < j:\n                T[i][j] = 0\n            elif j == 1:\n                T[i][j] = i\n"
        "            else:\n                T[i][j] = T[i - 1][j] + T[i // 2][j - 1]\n    return T[m][n]\n",
        "off_by_one",
        "overwritten_table",
        [(m, n) for m in range(-1, 12) for n in range(-1, 5)],
    ),
    (  # LCS of three strings, 3-D
        "def f(X, Y, Z):\n    m, n, o = len(X), len(Y), len(Z)\n"
        "    L = [[[0 for i in range(o + 1)] for j in range(n + 1)] for k in range(m + 1)]\n"
        "    for i in range(m + 1):\n        for j in range(n + 1):\n            for k in range(o + 1):\n"
        "                if i == 0 or j == 0 or k == 0:\n                    L[i][j][k] = 0\n"
        "                elif X[i - 1] == Y[j - 1] and X[i - 1] == Z[k - 1]:\n"
        "                    L[i][j][k] = L[i - 1][j - 1][k - 1] + 1\n                else:\n"
        "                    L[i][j][k] = max(L[i - 1][j][k], L[i][j - 1][k], L[i][j][k - 1])\n    return L[m][n][o]\n",
        "off_by_one",
        "overwritten_table",
        [(a, b, c) for a in ("", "ab", "abc") for b in ("", "b", "acb") for c in ("b", "cab")],
    ),
    (  # a branch's own test says i >= 1
        "def f(n):\n    T = [[0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n"
        "            if i >= 1:\n                T[i][j] = T[i - 1][j] + j\n            else:\n"
        "                T[i][j] = 1\n    return T\n",
        "off_by_one",
        "overwritten_table",
        [(n,) for n in range(-1, 5)],
    ),
    (  # `j == 0` says nothing of i: T[-1][j] is the last row, unwritten
        "def f(n):\n    T = [[0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n"
        "            if j == 0:\n                T[i][j] = 1\n            else:\n"
        "                T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # an `and` failing says neither is 0
        "def f(n):\n    T = [[0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n"
        "            if i == 0 and j == 0:\n                T[i][j] = 1\n            else:\n"
        "                T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # a later cell read
        "def f(n):\n    T = [[0] * (n + 1) for _ in range(n)]\n    for i in range(n):\n"
        "        for j in range(n + 1):\n            if j == n:\n                T[i][j] = 1\n            else:\n"
        "                T[i][j] = T[i][j + 1] + 1\n    return T\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # no `else`: a cell neither branch stores
        "def f(n):\n    T = [[0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n"
        "            if i == 0:\n                T[i][j] = 1\n            elif j > 1:\n"
        "                T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # a test reads the cell itself
        "def f(n):\n    T = [[0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n"
        "            if T[i][j] == 0:\n                T[i][j] = 1\n            else:\n                T[i][j] = 2\n"
        "    return T\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # a whole row read: the current one, half written
        "def f(n):\n    T = [[0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n"
        "            if i == 0:\n                T[i][j] = 1\n            else:\n                T[i][j] = sum(T[i])\n"
        "    return T\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    # -- filled_by_rows: a 2-D table's first rows and columns written whole, then the rest row by row ----
    (  # edit distance
        "def f(a, b):\n    m, n = len(a), len(b)\n    dp = [[0] * (n + 1) for _ in range(m + 1)]\n"
        "    for i in range(m + 1):\n        dp[i][0] = i\n    for j in range(n + 1):\n        dp[0][j] = j\n"
        "    for i in range(1, m + 1):\n        for j in range(1, n + 1):\n            if a[i - 1] == b[j - 1]:\n"
        "                dp[i][j] = dp[i - 1][j - 1]\n            else:\n"
        "                dp[i][j] = 1 + min(dp[i - 1][j], dp[i][j - 1], dp[i - 1][j - 1])\n    return dp\n",
        "off_by_one",
        "filled_by_rows",
        [(x, y) for x in ("", "a", "kitten", "abc") for y in ("", "b", "sitting", "cab")],
    ),
    (  # row 0 by a loop of its own (a chain), then rows from 1 reading any cell of the row above, in tests too
        "def f(a, k):\n    n = len(a)\n    dp = [[0 for i in range(n)] for i in range(n)]\n    for i in range(n):\n"
        "        if a[i] > a[0]:\n            dp[0][i] = a[i] + a[0]\n        else:\n            dp[0][i] = a[i]\n"
        "    for i in range(1, n):\n        for j in range(n):\n            if a[j] > a[i] and j > i:\n"
        "                if dp[i - 1][i] + a[j] > dp[i - 1][j]:\n                    dp[i][j] = dp[i - 1][i] + a[j]\n"
        "                else:\n                    dp[i][j] = dp[i - 1][j]\n            else:\n"
        "                dp[i][j] = dp[i - 1][j]\n    return dp[k][k]\n",
        "off_by_one",
        "filled_by_rows",
        [
            (xs, k)
            for xs in ([1, 101, 2, 3, 100, 4, 5], [11, 15, 19, 21, 26, 28, 31], [3], [2, 1])
            for k in (0, 1, 3)
        ],
    ),
    (  # a single cell, then the edges from 1, the nest reading T[0][...] and T[...][0] by constants
        "def f(a, b):\n    m, n = len(a), len(b)\n    dp = [[0] * (n + 1) for _ in range(m + 1)]\n    dp[0][0] = 5\n"
        "    for i in range(1, m + 1):\n        dp[i][0] = dp[i - 1][0] + 1\n    for j in range(1, n + 1):\n"
        "        dp[0][j] = dp[0][j - 1] + 2\n    for i in range(1, m + 1):\n        for j in range(1, n + 1):\n"
        "            dp[i][j] = dp[i - 1][j] + dp[i][j - 1] + dp[0][j] + dp[i][0]\n    return dp\n",
        "off_by_one",
        "filled_by_rows",
        [(x, y) for x in ("", "a", "abc") for y in ("", "b", "cab")],
    ),
    (  # the column from 1 and no dp[0][0]: the nest reads it
        "def f(a, b):\n    m, n = len(a), len(b)\n    dp = [[0] * (n + 1) for _ in range(m + 1)]\n"
        "    for i in range(1, m + 1):\n        dp[i][0] = i\n    for j in range(1, n + 1):\n        dp[0][j] = j\n"
        "    for i in range(1, m + 1):\n        for j in range(1, n + 1):\n            dp[i][j] = dp[i - 1][j - 1] + 1\n"
        "    return dp[m][n]\n",
        "off_by_one",
        None,
        [("a", "b")],
    ),
    (  # row 0 stops one short of the table's width: dp[0][n] is read unwritten
        "def f(a, b):\n    m, n = len(a), len(b)\n    dp = [[0] * (n + 1) for _ in range(m + 1)]\n"
        "    for i in range(m + 1):\n        dp[i][0] = i\n    for j in range(n):\n        dp[0][j] = j\n"
        "    for i in range(1, m + 1):\n        for j in range(1, n + 1):\n            dp[i][j] = dp[i - 1][j] + 1\n"
        "    return dp[m][n]\n",
        "off_by_one",
        None,
        [("a", "b")],
    ),
    (  # a cell ahead in the same row
        "def f(a, b):\n    m, n = len(a), len(b)\n    dp = [[0] * (n + 1) for _ in range(m + 1)]\n"
        "    for i in range(m + 1):\n        dp[i][0] = i\n    for j in range(n + 1):\n        dp[0][j] = j\n"
        "    for i in range(1, m + 1):\n        for j in range(1, n):\n            dp[i][j] = dp[i][j + 1] + 1\n"
        "    return dp\n",
        "off_by_one",
        None,
        [("ab", "abc")],
    ),
    (  # the nest from row 0 reads the row above without knowing i >= 1: T[-1] is the last row
        "def f(m, n):\n    T = [[0] * n for _ in range(m)]\n    for i in range(m):\n        T[i][0] = 1\n"
        "    for i in range(0, m):\n        for j in range(1, n):\n            T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3, 3)],
    ),
    (  # a line read ahead of itself
        "def f(m, n):\n    T = [[0] * n for _ in range(m)]\n    T[0][0] = 1\n    for i in range(1, m):\n"
        "        T[i][0] = T[i + 1][0] if i + 1 < m else 1\n    for j in range(1, n):\n        T[0][j] = 1\n"
        "    for i in range(1, m):\n        for j in range(1, n):\n            T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3, 2)],
    ),
    (  # a line from 0 reading its cell before x: T[-1][0], the last row's, unwritten
        "def f(m, n):\n    T = [[0] * n for _ in range(m)]\n    for i in range(m):\n        T[i][0] = T[i - 1][0] + 1\n"
        "    for j in range(n):\n        T[0][j] = 1\n    for i in range(1, m):\n        for j in range(1, n):\n"
        "            T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3, 2)],
    ),
    (  # the size rebound after the table: the lines and the nest stop a row short
        "def f(m, n):\n    T = [[0] * n for _ in range(m)]\n    m = m - 1\n    for i in range(m):\n        T[i][0] = 1\n"
        "    for j in range(n):\n        T[0][j] = 1\n    for i in range(1, m):\n        for j in range(1, n):\n"
        "            T[i][j] = T[i - 1][j] + 1\n    return T\n",
        "off_by_one",
        None,
        [(3, 2)],
    ),
    (  # found by review: `3 >= i` read as i >= 3 (the sides swapped, the operator not)
        "def f(n):\n    T = [0] * n\n    for i in range(n):\n        if 3 >= i:\n"
        "            T[i] = T[i - 3] + 1\n        else:\n            T[i] = i\n    return T\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: the same in 2-D, `1 > i`
        "def f(n, m):\n    T = [[0] * m for _ in range(n)]\n    for i in range(n):\n"
        "        for j in range(m):\n            if 1 > i:\n"
        "                T[i][j] = T[i - 2][j] + 1\n            else:\n"
        "                T[i][j] = i + j\n    return T[0][0]\n",
        "off_by_one",
        None,
        [(2, 1)],
    ),
    (  # found by review: the same under filled_by_rows, `2 > i`
        "def f(n, m):\n    T = [[0] * m for _ in range(n)]\n    for x in range(m):\n"
        "        T[0][x] = 7\n    for i in range(1, n):\n        for j in range(m):\n"
        "            if 2 > i:\n                T[i][j] = T[i - 3][j] + 1\n"
        "            else:\n                T[i][j] = T[i - 1][j] + 1\n    return T[1][0]\n",
        "off_by_one",
        None,
        [(3, 1)],
    ),
    # -- filled_as_triangle: row i from row i - 1, at columns 0 to i; only column 0 read after --------------
    (  # Bell's triangle (MBPP 67, 608)
        _BELL,
        "off_by_one",
        "filled_as_triangle",
        [(n,) for n in range(-2, 9)],
    ),
    (  # a chain in the row, the row's start from T[i - 1][0], the diagonal read as a bound's column 0
        _BELL.replace("bell[i][0] = bell[i - 1][i - 1]", "bell[i][0] = bell[i - 1][0] + i")
        .replace(
            "bell[i][j] = bell[i - 1][j - 1] + bell[i][j - 1]",
            "if j % 2:\n                bell[i][j] = bell[i][0] - bell[i - 1][j - 1]\n"
            "            else:\n                bell[i][j] = bell[i][j - 1] * 2",
        )
        .replace("return bell[n][0]", "return bell[n - 1][0] + bell[-1][0]"),
        "off_by_one",
        "filled_as_triangle",
        [(n,) for n in range(-2, 9)],
    ),
    (  # a cell beyond row i - 1's end: T[i - 1][j] for j = i was never written
        _BELL.replace("bell[i - 1][j - 1] + bell[i][j - 1]", "bell[i - 1][j] + bell[i][j - 1]"),
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # column 1 of row 0 read after the loop
        _BELL.replace("return bell[n][0]", "return bell[n][0] + bell[0][1]"),
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # a whole row read after the loop: its columns past i were never written
        _BELL.replace("return bell[n][0]", "return sum(bell[1])"),
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # rows from 2: row 1 is read unwritten
        _BELL.replace("range(1, n + 1):\n        bell[i][0]", "range(2, n + 1):\n        bell[i][0]"),
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # no (0, 0) before the loop
        _BELL.replace("    bell[0][0] = 1\n", ""),
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: T[:][0] is a whole row, not column 0's cell
        "def f(n, m):\n    T = [[0] * m for _ in range(n)]\n    for x in range(n):\n"
        "        T[x][0] = 1\n    for i in range(n):\n        for j in range(1, m):\n"
        "            T[i][j] = sum(T[:][0])\n    return T[0][1]\n",
        "off_by_one",
        None,
        [(1, 3)],
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
    # filled_in_order, widened: guards, shrinking and inner-loop indices, downward loops
    (  # breakSum: dp[i // 2], dp[int(i / 3)] are below i once i >= 1
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 0\n    dp[1] = 1\n    for i in range(2, n + 1):\n"
        "        dp[i] = max(dp[i // 2] + dp[int(i / 3)] + dp[int(i / 4)], i)\n    return dp[n]\n",
        "off_by_one",
        "filled_in_order",
        [(n,) for n in range(-2, 30)],
    ),
    (  # a read two back under `if i >= 2`, and T[i] read and stored again after the pass's store
        "def f(xs, k):\n    n = len(xs)\n    dp = [0] * n\n    dp[0] = 0\n    for i in range(1, n):\n"
        "        dp[i] = dp[i - 1]\n        if xs[i] - xs[i - 1] < k:\n            if i >= 2:\n"
        "                dp[i] = max(dp[i], dp[i - 2] + xs[i] + xs[i - 1])\n            else:\n"
        "                dp[i] = max(dp[i], xs[i] + xs[i - 1])\n    return dp[n - 1]\n",
        "off_by_one",
        "filled_in_order",
        [(xs, k) for xs in _LISTS + [[1, 2, 3, 9, 10]] for k in (0, 2, 5)],
    ),
    (  # cells written under `if n > k` (exactly when they exist), then from cell 3 on
        "def f(a, n):\n    s = [0 for _ in range(n)]\n    if n >= 1:\n        s[0] = a[0]\n    if n >= 2:\n"
        "        s[1] = a[0] + a[1]\n    if n > 2:\n        s[2] = max(s[1], a[1] + a[2], a[0] + a[2])\n"
        "    for i in range(3, n):\n        s[i] = max(s[i - 1], s[i - 2] + a[i], a[i] + a[i - 1] + s[i - 3])\n"
        "    return s[n - 1]\n",
        "off_by_one",
        "filled_in_order",
        [(xs, len(xs)) for xs in _LISTS + [[1, 2, 3, 9, 10], [4, -2, 6, 1, 1, 8]]],
    ),
    (  # min jumps: T[j] for j in range(i), a break of the inner loop, a return before the writes
        "def f(a):\n    n = len(a)\n    jumps = [0 for _ in range(n)]\n    if n == 0 or a[0] == 0:\n"
        "        return -1\n    jumps[0] = 0\n    for i in range(1, n):\n        jumps[i] = 99\n"
        "        for j in range(i):\n            if i <= j + a[j] and jumps[j] != 99:\n"
        "                jumps[i] = min(jumps[i], jumps[j] + 1)\n                break\n    return jumps[n - 1]\n",
        "off_by_one",
        "filled_in_order",
        [(xs,) for xs in _LISTS + [[1, 3, 0, 1, 4], [2, 0, 0, 1], [1, 0, 3]]],
    ),
    (  # downward from n - 2 after dp[n - 1]: T[j] for j in range(i + 1, n), the store last; max(dp) after
        "def f(a):\n    n = len(a)\n    dp = [0 for _ in range(n)]\n    dp[n - 1] = 1\n"
        "    for i in range(n - 2, -1, -1):\n        best = 0\n        for j in range(i + 1, n):\n"
        "            if a[j] % a[i] == 0 or a[i] % a[j] == 0:\n                best = max(best, dp[j])\n"
        "        dp[i] = 1 + best\n    return max(dp)\n",
        "off_by_one",
        "filled_in_order",
        [(xs,) for xs in ([3], [1, 2], [1, 3, 6, 13, 17, 18], [10, 5, 3, 15, 20], [2, 4, 8])],
    ),
    (  # downward: T[i] from T[i + 1], then read and stored again; every cell read after
        "def f(arr):\n    n = len(arr)\n    z = [0] * n\n    z[n - 1] = 1 - arr[n - 1]\n"
        "    for i in range(n - 2, -1, -1):\n        z[i] = z[i + 1]\n        if arr[i] == 0:\n"
        "            z[i] = z[i] + 1\n    count = 0\n    for i in range(n):\n        if arr[i] == 1:\n"
        "            count = count + z[i]\n    return count\n",
        "off_by_one",
        "filled_in_order",
        [(xs,) for xs in ([], [0], [1], [1, 0, 1, 0], [0, 0, 1, 1, 0], [1, 1, 0])],
    ),
    (  # `if i >= 1` does not keep T[i - 2] from index -1, the table's last, unwritten cell
        "def f(n):\n    dp = [0] * n\n    dp[0] = 1\n    for i in range(1, n):\n        dp[i] = dp[i - 1] + 1\n"
        "        if i >= 1:\n            dp[i] = dp[i] + dp[i - 2]\n    return dp\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # an inner loop up to i + 1 reads T[i] before the pass stores it
        "def f(n):\n    dp = [0] * n\n    dp[0] = 1\n    for i in range(1, n):\n        s = 0\n"
        "        for j in range(i + 1):\n            s = s + dp[j]\n        dp[i] = s\n    return dp\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # a break in an inner loop's `else` ends the outer loop: cells left unwritten
        "def f(n):\n    dp = [0] * n\n    dp[0] = 1\n    for i in range(1, n):\n        dp[i] = dp[i - 1] + 1\n"
        "        for j in range(i):\n            pass\n        else:\n            break\n    return dp\n",
        "off_by_one",
        None,
        [(4,)],
    ),
    (  # `if n > 1` is not when cell 0 exists: n == 1 leaves it unwritten
        "def f(n):\n    dp = [0] * n\n    if n > 1:\n        dp[0] = 1\n    for i in range(1, n):\n"
        "        dp[i] = dp[i - 1] + 1\n    return dp\n",
        "off_by_one",
        None,
        [(1,)],
    ),
    (  # downward without the last cell written first
        "def f(n):\n    dp = [0] * n\n    for i in range(n - 2, -1, -1):\n        dp[i] = dp[i + 1] + 1\n"
        "    return dp\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # downward from n - 3 with only dp[n - 1] written: dp[n - 2] is read unwritten
        "def f(n):\n    dp = [0] * n\n    dp[n - 1] = 1\n    for i in range(n - 3, -1, -1):\n"
        "        dp[i] = dp[i + 1] + 1\n    return dp\n",
        "off_by_one",
        None,
        [(4,)],
    ),
    (  # the pass's store under an `if`: a pass may leave its cell unwritten
        "def f(xs):\n    n = len(xs)\n    dp = [0] * n\n    dp[0] = 1\n    for i in range(1, n):\n"
        "        if xs[i]:\n            dp[i] = dp[i - 1] + 1\n    return dp\n",
        "off_by_one",
        None,
        [([1, 0, 1],)],
    ),
    (  # `int` is not the builtin: int(i / 2) is i here, read before the pass stores it
        "def int(x):\n    return round(x * 2)\ndef f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 1\n"
        "    for i in range(1, n + 1):\n        dp[i] = dp[int(i / 2)] + 1\n    return dp[n]\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: a write under `if E > k` is skipped when the table is short, so T[X] is unwritten
        "def f(n):\n    T = [0] * (n + 1)\n    if n + 1 > 2:\n        T[2] = 5\n"
        "    for i in range(3, n + 1):\n        T[i] = T[i - 1] + 1\n    return T[n]\n",
        "off_by_one",
        None,
        [(0,), (1,)],
    ),
    (  # found by review: a closure moves the inner loop's j past the cells written
        "def f(n):\n    T = [0] * n\n    j = 0\n    done = False\n    def bump():\n"
        "        nonlocal j, done\n        if not done:\n            j = j + 2\n"
        "            done = True\n    total = 0\n    for i in range(n):\n        T[i] = i\n"
        "        for j in range(i):\n            bump()\n            total = total + T[j]\n"
        "    return total\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: the same, downward: T[i] read before the pass stores it
        "def f(n):\n    T = [0] * n\n    T[n - 1] = 1\n    flag = [True]\n    def skip():\n"
        "        nonlocal j\n        if flag[0]:\n            flag[0] = False\n"
        "            j = j - 1\n    for i in range(n - 2, -1, -1):\n        best = 0\n"
        "        for j in range(i + 1, n):\n            skip()\n"
        "            best = best + T[j]\n        T[i] = best + 1\n    return T\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    # -- parity: a running sum only ever read mod 2 --------------------------------------------------------
    (  # MBPP 134: the sum's parity decides
        "def f(arr, p):\n    s = 0\n    for i in range(len(arr)):\n        s = s + arr[i]\n    if p == 1:\n"
        "        if s % 2 == 0:\n            return 'ODD'\n        else:\n            return 'EVEN'\n    return 'EVEN'\n",
        "swap_add_sub",
        "parity",
        [(xs, p) for xs in _LISTS + [[1, 2, 3, 7]] for p in (0, 1)],
    ),
    (  # `+=` steps and the reset to a constant keep it a parity
        "def f(xs):\n    s = 0\n    out = []\n    for x in xs:\n        s = s + x * 3\n        s += 1\n"
        "        out.append((s + 1) % 2)\n        if x == 0:\n            s = 7\n    return out\n",
        "swap_add_sub",
        "parity",
        [(xs,) for xs in _LISTS],
    ),
    (  # the sum itself returned
        "def f(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n    return s % 2, s\n",
        "swap_add_sub",
        None,
        [([1, 2],)],
    ),
    (  # read mod 4: more than the parity shows
        "def f(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n    return s % 4\n",
        "swap_add_sub",
        None,
        [([1, 2],)],
    ),
    (  # doubled into another name, and compared
        "def f(xs):\n    s = 0\n    for x in xs:\n        s = s + x\n        t = s * 2 + 1\n    return t % 2, s > 1\n",
        "swap_add_sub",
        None,
        [([1, 2],)],
    ),
    # -- zero_test: x == x + y and x == x - y both say y == 0 --------------------------------------------
    (  # MBPP 826
        "def f(a, b, c):\n    sqa, sqb, sqc = a * a, b * b, c * c\n    if sqa == sqa + sqb or sqc == sqa + sqb:\n"
        "        return 'right'\n    return 'other'\n",
        "swap_add_sub",
        "zero_test",
        [(a, b, c) for a in (-2, 0, 3) for b in (0, 4) for c in (0, 5)],
    ),
    (  # y + x == x is not x - ... : y - x == x says y == 2x
        "def f(a, b):\n    return a == b + a\n",
        "swap_add_sub",
        None,
        [(1, 2)],
    ),
    # -- empty_extra_passes: passes one program makes and the other not, on which the inner loop is empty -
    (  # MBPP 916: range(0, n - 2) -> range(0, n + 2); the inner range(i + 1, n - 1) is empty from i = n - 2
        "def f(A, s):\n    n = len(A)\n    for i in range(0, n - 2):\n        for j in range(i + 1, n - 1):\n"
        "            for k in range(j + 1, n):\n                if A[i] + A[j] + A[k] == s:\n"
        "                    return (A[i], A[j], A[k])\n    return False\n",
        "swap_add_sub",
        "empty_extra_passes",
        [(xs, t) for xs in _LISTS + [[1, 4, 45, 6, 10, 8]] for t in (0, 5, 22, 99)],
    ),
    (  # range(n - 1) -> range(n - 2): the pass dropped, i = n - 2, has range(n, n) inside
        "def f(xs):\n    n = len(xs)\n    c = []\n    for i in range(n - 1):\n        for j in range(i + 2, n):\n"
        "            c.append(xs[i] * xs[j])\n    return c\n",
        "off_by_one",
        "empty_extra_passes",
        [(xs,) for xs in _LISTS],
    ),
    (  # range(n - 2) -> range(n - 3): the pass dropped, i = n - 3, still has j = n - 2
        "def f(xs):\n    n = len(xs)\n    c = []\n    for i in range(n - 2):\n        for j in range(i + 1, n - 1):\n"
        "            c.append(xs[i] * xs[j])\n    return c\n",
        "off_by_one",
        None,
        [([1, 2, 3, 4],)],
    ),
    (  # the outer index read after the loop
        "def f(xs):\n    n = len(xs)\n    i = None\n    for i in range(n - 1):\n        for j in range(i + 2, n):\n"
        "            pass\n    return i\n",
        "off_by_one",
        None,
        [([1, 2, 3],)],
    ),
    (  # the outer body does more than the inner loop
        "def f(xs):\n    n = len(xs)\n    c = []\n    for i in range(n - 1):\n        for j in range(i + 2, n):\n"
        "            c.append(j)\n        c.append(i)\n    return c\n",
        "off_by_one",
        None,
        [([1, 2, 3],)],
    ),
    # -- noop_guard on ints: `if v: a += v` without its test (v is then 0) -------------------------------
    (  # MBPP 289: odd days in N years
        _ODD_DAYS,
        "first_branch",
        "noop_guard",
        [(n,) for n in (*range(-450, 451, 25), 0, 1, 99, 100, 399, 400, 2000)],
    ),
    (  # `if v > 0` fails for a negative v too, which the mutant steps by
        _ODD_DAYS.replace("if hund1:", "if hund1 > 0:"),
        "first_branch",
        None,
        [(-150,)],
    ),
    (  # the stepped name is bound after the guard: `a += 0` raises where the test just failed
        "def f(n):\n    v = n // 10\n    if v:\n        a += v\n    a = 1\n    return a\n",
        "first_branch",
        None,
        [(5,)],
    ),
    (  # a string stepped by 0 raises
        "def f(n):\n    v = n // 10\n    a = 'x'\n    if v:\n        a += v\n    return a\n",
        "first_branch",
        None,
        [(5,)],
    ),
    # -- noop_guard: `if len(ys) > 0: xs.extend(ys)` without its test -------------------------------------
    (  # MBPP 859: all sublists
        "from itertools import combinations\ndef f(my_list):\n    subs = []\n    for i in range(0, len(my_list) + 1):\n"
        "        temp = [list(x) for x in combinations(my_list, i)]\n        if len(temp) > 0:\n"
        "            subs.extend(temp)\n    return subs\n",
        "first_branch",
        "noop_guard",
        [(xs,) for xs in _LISTS],
    ),
    (
        "def f(xs, k):\n    out = []\n    for x in xs:\n        part = [y for y in xs if y > x + k]\n        if part:\n"
        "            out += part\n    return out\n",
        "first_branch",
        "noop_guard",
        [(xs, k) for xs in _LISTS for k in (0, 2)],
    ),
    (  # len(ys) > 1 fails on one element too
        "def f(xs):\n    out = []\n    for x in xs:\n        part = [y for y in xs if y > x]\n        if len(part) > 1:\n"
        "            out.extend(part)\n    return out\n",
        "first_branch",
        None,
        [([1, 2],)],
    ),
    (  # appending an empty list is not nothing
        "def f(xs):\n    out = []\n    for x in xs:\n        part = [y for y in xs if y > x]\n        if part:\n"
        "            out.append(part)\n    return out\n",
        "first_branch",
        None,
        [([1, 2],)],
    ),
    (  # the caller's object: falsy, and not a list
        "def f(xs, part):\n    out = []\n    if part:\n        out.extend(part)\n    return out\n",
        "first_branch",
        None,
        [([1], None)],
    ),
    # -- scaled_counter: counts stepped by c or c + 1 keep their order ----------------------------------
    (  # MBPP 326: the word with most occurrences
        "from collections import defaultdict\ndef f(test_list):\n    temp = defaultdict(int)\n    for sub in test_list:\n"
        "        for wrd in sub.split():\n            temp[wrd] += 1\n    res = max(temp, key=temp.get)\n    return str(res)\n",
        "off_by_one",
        "scaled_counter",
        [(ws,) for ws in (["a b a"], ["x y", "y x z"], ["UTS is best", "best UTS is", "UTS"], ["q"], [])],
    ),
    (
        "import collections\ndef f(xs):\n    c = collections.defaultdict(int)\n    for x in xs:\n        c[x] += 2\n"
        "    return sorted(c, key=c.get), min(c, key=c.get)\n",
        "off_by_one",
        "scaled_counter",
        [(xs,) for xs in _LISTS[1:] + [[1, 4, 1, 2, 4, 1]]],
    ),
    (  # the counts themselves read
        "from collections import defaultdict\ndef f(xs):\n    c = defaultdict(int)\n    for x in xs:\n        c[x] += 1\n"
        "    best = max(c, key=c.get)\n    return best, c[best]\n",
        "off_by_one",
        None,
        [([1, 1, 2],)],
    ),
    (  # a step of 0 made 1: every count was 0, a tie the first key won
        "from collections import defaultdict\ndef f(xs):\n    c = defaultdict(int)\n    for x in xs:\n        c[x] += 0\n"
        "    return max(c, key=c.get)\n",
        "off_by_one",
        None,
        [([1, 2, 2],)],
    ),
    # -- first_pass_settles: an arg-max of counts, its answer starting as the first element -------------
    (  # MBPP 362 and 658, best read after the loop too
        _ARGMAX,
        "off_by_one",
        "first_pass_settles",
        [(xs,) for xs in _COUNTED],
    ),
    (  # a negative start, the count in the test itself, a statement before the test
        _ARGMAX.replace("max_val = 0", "max_val = -1")
        .replace("        occu = nums.count(i)\n", "        seen = seen + [i]\n")
        .replace(
            "if occu > max_val:\n            max_val = occu",
            "if nums.count(i) > max_val:\n            max_val = nums.count(i)",
        )
        .replace("    result = nums[0]\n", "    result = nums[0]\n    seen = []\n")
        .replace("return (result, max_val)", "return (result, max_val, seen)"),
        "off_by_one",
        "first_pass_settles",
        [(xs,) for xs in _COUNTED],
    ),
    (  # a start of 1 made 2: a count of 2 no longer beats it
        _ARGMAX.replace("max_val = 0", "max_val = 1"),
        "off_by_one",
        None,
        [([1, 2, 2],)],
    ),
    (  # the answer starts as None, not the first element
        _ARGMAX.replace("result = nums[0]", "result = None"),
        "off_by_one",
        None,
        [([1, 2],)],
    ),
    (  # sorted after the answer's start: the first pass sees another element
        _ARGMAX.replace("    result = nums[0]\n", "    result = nums[0]\n    nums.sort()\n"),
        "off_by_one",
        None,
        [([3, 1],)],
    ),
    (  # the first element skipped
        _ARGMAX.replace(
            "        occu = nums.count(i)\n",
            "        if i == nums[0]:\n            continue\n        occu = nums.count(i)\n",
        ),
        "off_by_one",
        None,
        [([1, 2],)],
    ),
    (  # counted in another list: a count of 0 on the first pass
        _ARGMAX.replace("def f(nums):", "def f(nums, other):").replace("nums.count(i)", "other.count(i)"),
        "off_by_one",
        None,
        [([1, 2], [2])],
    ),
    # -- dead_conjunct: `A and g == 1` where g is only set to 1 under an always-false test ---------------
    (  # MBPP 899: `arr[i] - arr[i] < 0` never holds
        _CORNERS,
        "flip_compare",
        "dead_conjunct",
        _CORNER_CALLS,
    ),
    (
        _CORNERS,
        "swap_add_sub",
        "dead_conjunct",
        _CORNER_CALLS,
    ),
    (  # the test the author meant: g is set
        _CORNERS.replace("arr[i] - arr[i] < 0", "arr[i] - arr[i - 1] < 0"),
        "flip_compare",
        None,
        [([2, 1, 2], 3)],
    ),
    (  # g never set before the loop: `g == 1` raises where A holds
        _CORNERS.replace("    g = 0\n", ""),
        "flip_compare",
        None,
        [([1, 2], 2)],
    ),
    (  # `x - x != 0` holds for NaN
        _CORNERS.replace("arr[i] - arr[i] < 0", "arr[i] - arr[i] != 0"),
        "flip_compare",
        None,
        [([1, float("nan"), 5, 9], 4)],
    ),
    (  # found by review: a swapped index in A reads another cell, or raises
        _CORNERS.replace("arr[i] - arr[i - 1] > 0", "arr[i - 1] > arr[i]"),
        "swap_add_sub",
        None,
        [([1, 2], 2)],
    ),
    (  # found by review: the list changed in place in the loop
        _ARGMAX.replace(
            "        occu = nums.count(i)\n", "        nums.pop(0)\n        occu = nums.count(i)\n"
        ),
        "off_by_one",
        None,
        [([1, 2, 3],)],
    ),
    (  # found by review: ... or through an alias before the loop
        _ARGMAX.replace(
            "    result = nums[0]\n", "    other = nums\n    result = nums[0]\n    other.clear()\n"
        ),
        "off_by_one",
        None,
        [([1],)],
    ),
    # -- grown_table: a table one cell longer at its end, indexed only where it is never negative --------
    (  # MBPP 685: a sieve of n + 1 cells made n + 2
        "def f(n):\n    prime = [True] * (n + 1)\n    p = 2\n    while p * p <= n:\n        if prime[p] == True:\n"
        "            i = p * 2\n            while i <= n:\n                prime[i] = False\n                i += p\n"
        "        p += 1\n    sum = 0\n    for i in range(2, n + 1):\n        if prime[i]:\n            sum += i\n"
        "    return sum\n",
        "off_by_one",
        "grown_table",
        [(n,) for n in range(-3, 40)],
    ),
    (  # MBPP 480: the size a name bound once, the index ord(c)
        "def f(s):\n    SIZE = 256\n    ctr = [0] * SIZE\n    best = -1\n    ch = ''\n    for c in s:\n"
        "        ctr[ord(c)] += 1\n    for c in s:\n        if best < ctr[ord(c)]:\n            best = ctr[ord(c)]\n"
        "            ch = c\n    return ch\n",
        "off_by_one",
        "grown_table",
        [(x,) for x in ("", "data", "create", "brilliant girl", "\xff\xfe\xff")],
    ),
    (  # MBPP 469: a row more, read at i - 1 after `if i == 0 or j == 0`, and at k (k + 1 rows)
        "def f(price, k):\n    n = len(price)\n    P = [[None for x in range(n)] for y in range(k + 1)]\n"
        "    for i in range(k + 1):\n        for j in range(n):\n            if i == 0 or j == 0:\n"
        "                P[i][j] = 0\n            else:\n                best = 0\n                for x in range(j):\n"
        "                    cur = price[j] - price[x] + P[i - 1][x]\n                    if best < cur:\n"
        "                        best = cur\n                P[i][j] = max(P[i][j - 1], best)\n"
        "    return P[k][n - 1]\n",
        "off_by_one",
        "grown_table",
        [(p, k) for p in ([1], [1, 5, 2, 3, 7, 6, 4, 5], [10, 6, 8, 4, 2]) for k in (-2, 0, 1, 2, 3)],
    ),
    (  # a negative index reads the last cell: the extra one in the mutant
        "def f(n):\n    T = [None] * (n + 1)\n    T[n] = 5\n    return T[-1]\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # its length is read
        "def f(n):\n    T = [None] * (n + 1)\n    s = 0\n    for v in T:\n        s += 1\n    return s\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # an IndexError caught: the mutant writes where the reference fails
        "def f(n):\n    T = [None] * (n + 1)\n    try:\n        T[n + 1] = 1\n    except IndexError:\n"
        "        return -1\n    return 0\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # a floor the branch rebinds: i - 1 is -1
        "def f(n):\n    T = [None] * (n + 1)\n    T[n] = 7\n    i = 3\n    if i >= 1:\n        i = 0\n"
        "        return T[i - 1]\n    return 0\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # a table made shorter, not longer
        "def f(n):\n    T = [None] * (n - 1)\n    T[n - 2] = 1\n    return T[n - 2]\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    # -- top_k_prefix: nlargest(k) made k + 1, only items below k read ------------------------------------
    (  # MBPP 911
        _TOP3,
        "off_by_one",
        "top_k_prefix",
        [(xs,) for xs in ([], [1, 2], [3, 1, 2], [12, 74, 9, 50, 61, 41], [-5, -4, 3, 3, 2, -9, 1])],
    ),
    (  # from heapq import nlargest, a name alone
        "from heapq import nlargest\n\ndef f(xs):\n    a = nlargest(2, xs)\n    return a[0] - a[1]\n",
        "off_by_one",
        "top_k_prefix",
        [(xs,) for xs in ([], [1], [3, 1, 2], [5, 5, 1, 9])],
    ),
    (  # the last item read
        _TOP3.replace("a[0] * a[1] * a[2], a[0] * b[0] * b[1]", "a[-1], b[0]"),
        "off_by_one",
        None,
        [([1, 2, 3, 4],)],
    ),
    (  # the whole list returned
        "import heapq\n\ndef f(xs):\n    a = heapq.nlargest(2, xs)\n    return a\n",
        "off_by_one",
        None,
        [([1, 2, 3],)],
    ),
    (  # found by review: the size's name rebound, T[n] is no longer the last cell
        "def f(n):\n    t = [None] * (n + 1)\n    for i in range(n + 1):\n        t[i] = i\n    n = n - 3\n"
        "    return t[n]\n",
        "off_by_one",
        None,
        [(1,)],
    ),
    (  # found by review: an old-style iteration (__getitem__, no __iter__) ends on the IndexError
        "class S:\n    def __init__(self, n):\n        self.n = n\n\n    def __getitem__(self, i):\n"
        "        return f(self.n, 'x' * i)\n\n\ndef f(n, s):\n    t = [s] * (n + 1)\n    if s == 'go':\n"
        "        return len(list(S(n)))\n    return t[len(s)]\n",
        "off_by_one",
        None,
        [(0, "go")],
    ),
    (  # found by review: a parameter rebound to a list
        "def f(n, p):\n    p = []\n    v = p * n\n    a = n + 0\n    if v:\n        a += v\n    return a\n",
        "first_branch",
        None,
        [(1, 0)],
    ),
    (  # found by review: a parameter rebound by `import .. as`
        "def f(a, v):\n    a = a * 2\n    import os as a\n    if v:\n        a += v\n    return v\n",
        "first_branch",
        None,
        [(1, 0)],
    ),
    (  # found by review: E - E of an object whose __sub__ says -1
        "class Z:\n    def __sub__(self, other):\n        return -1\n\n\ndef f(n, c):\n    g = 0\n    z = Z()\n"
        "    for _ in range(2):\n        if n + 1 < c and g == 1:\n            return 1\n        if z - z < 0:\n"
        "            g = 1\n    return 0\n",
        "swap_add_sub",
        None,
        [(5, 5)],
    ),
    (  # found by review: nlargest(0, it) never reads it, nlargest(1, it) reads it all
        "import heapq\n\ndef f(xs):\n    a = heapq.nlargest(0, (1 // x for x in xs))\n    return len(xs)\n",
        "off_by_one",
        None,
        [([1, 0, 2],)],
    ),
    (  # found by review: the name nlargest rebound by another import
        "from heapq import nlargest\nfrom builtins import divmod as nlargest\n\ndef f(n):\n"
        "    a = nlargest(1, n)\n    return a[0]\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # found by review: T[E] where E's value changes in place
        "def f(xs, ys):\n    t = [None] * (len(xs) - len(ys) + 1)\n    t[len(xs) - len(ys)] = 5\n"
        "    ys.extend(xs)\n    ys.extend(xs)\n    return t[len(xs) - len(ys)]\n",
        "off_by_one",
        None,
        [([1], [])],
    ),
    (  # found by review: a __getitem__ bound by assignment ends an old-style iteration on the IndexError
        "def f(n):\n    t = [n] * (N + 1)\n    if n >= 0:\n        return len(list(C()))\n"
        "    return t[len(range(-n - 1))]\n\n\nclass C:\n    __getitem__ = lambda self, i: f(-i - 1)\n\n\nN = 2\n",
        "off_by_one",
        None,
        [(0,)],
    ),
    (  # found by review: xs aliased to a global through recursion, changed by a helper before the loop
        "G = [1, 2]\nD = []\n\n\ndef h():\n    if G[0] != 5:\n        G.insert(0, 5)\n\n\ndef f(xs):\n"
        "    r = None\n    if not D:\n        D.append(None)\n        r = f(G)\n    best = 0\n    res = xs[0]\n"
        "    h()\n    for x in xs:\n        k = xs.count(x)\n        if k > best:\n            best = k\n"
        "            res = x\n    return (res, best, r)\n",
        "off_by_one",
        None,
        [([3],)],
    ),
    (  # found by review: a parameter with a default is no int the task supplies
        "def f(n, v=None):\n    a = n + 0\n    if v:\n        a += v\n    return a\n",
        "first_branch",
        None,
        [(3,)],
    ),
    (  # found by review: ... nor in A of `A and g == 1`
        "def f(n, a=frozenset({1}), b=frozenset()):\n    g = 0\n    if a - b > b and g == 1:\n        return 1\n"
        "    return n\n",
        "swap_add_sub",
        None,
        [(3,)],
    ),
    (  # found by review: a recursive call passes sets
        "def f(arr, x):\n    g = 0\n    for i in range(1, len(arr)):\n        if arr[i] - arr[i - 1] > x and g == 1:\n"
        "            return False\n    if x == 0:\n"
        "        return f([{1}, {1, 2}], set())\n    return True\n",
        "swap_add_sub",
        None,
        [([1, 2], 0)],
    ),
    (  # found by review: a nested function, where the mutation lands, called with sets
        "def f(n):\n    def h(arr, x):\n        g = 0\n        for i in range(1, len(arr)):\n            if arr[i] - arr[i - 1] > x and g == 1:\n                return False\n        return True\n    return h([{1}, {1, 2}], set())\n",
        "swap_add_sub",
        None,
        [(3,)],
    ),
    (  # found by review: a nested function called with a list
        "def f(n):\n    def h(m, v):\n        a = m + 0\n        if v:\n            a += v\n        return a\n    return h(n, [])\n",
        "first_branch",
        None,
        [(3,)],
    ),
    (  # found by review: a default parameter whose __index__ is -1
        "class C:\n    def __add__(self, k):\n        return k + 2\n    def __index__(self):\n        return -1\n\ndef f(n, p=C()):\n    t = [None] * (p + 1)\n    t[2] = n\n    return t[p]\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: a __getitem__ made by type() ends an old-style iteration on the IndexError
        "def f(n):\n    t = [n] * (N + 1)\n    if n >= 0:\n        return len(list(C()))\n    return t[len(range(-n - 1))]\n\n\nC = type('C', (), {'__GETITEM__'.lower(): lambda self, i: f(-i - 1)})\nN = 2\n",
        "off_by_one",
        None,
        [(0,)],
    ),
    (  # found by review: assertRaises catches the IndexError
        "import unittest\n\ndef f(n):\n    t = [n] * (N + 1)\n    if n >= 0:\n        unittest.TestCase().assertRaises(IndexError, f, -4)\n        return n\n    return t[len(range(-n - 1))]\n\n\nN = 2\n",
        "off_by_one",
        None,
        [(0,)],
    ),
    (  # found by review: a thread's future catches the IndexError
        "import concurrent.futures\n\ndef f(n):\n    t = [n] * (N + 1)\n    if n >= 0:\n        return concurrent.futures.ThreadPoolExecutor(1).submit(f, -4).exception() is None\n    return t[len(range(-n - 1))]\n\n\nN = 2\n",
        "off_by_one",
        None,
        [(0,)],
    ),
    (  # found by review: a property read changes the global list xs aliases
        "G = [1, 2]\nD = []\n\n\nclass H:\n    @property\n    def p(self):\n        if G[0] != 5:\n            G.insert(0, 5)\n        return 0\n\n\nh = H()\n\n\ndef f(xs):\n    r = None\n    if not D:\n        D.append(None)\n        r = f(G)\n    best = 0\n    res = xs[0]\n    z = h.p\n    for x in xs:\n        k = xs.count(x)\n        if k > best:\n            best = k\n            res = x\n    return (res, best, r)\n",
        "off_by_one",
        None,
        [([3],)],
    ),
    (  # found by review: an index that is a slice: arr[k] is a list
        "def f(arr, x):\n    g = 0\n    k = slice(None)\n    if arr[k] + arr[k] > arr[k] and g == 1:\n        return 1\n    return x\n",
        "swap_add_sub",
        None,
        [([1, 2], 0)],
    ),
    (  # found by review: a nested function rebinds a local by nonlocal
        "class W:\n    def __add__(self, o):\n        return self\n\n    def __bool__(self):\n        return False\n\n\ndef f(n):\n    m = n + 0\n\n    def h(n):\n        nonlocal m\n        m = n + 0\n\n    h(W())\n    v = m + 0\n    a = n + 0\n    if v:\n        a += v\n    return a\n",
        "first_branch",
        None,
        [(3,)],
    ),
    (  # found by review: a helper rebinds a global to a float
        "def g():\n    global m\n    m = (0).__truediv__(1)\n\n\ndef f(n):\n    global m\n    m = n + 0\n    g()\n    v = m + 0\n    a = n + 0\n    if v:\n        a += v\n    return 'x' * a\n",
        "first_branch",
        None,
        [(3,)],
    ),
    (  # found by review: mutual recursion passes sets
        "def h():\n    return f([{1}, {1, 2}], set())\n\n\ndef f(arr, x):\n    g = 0\n"
        "    for i in range(1, len(arr)):\n        if arr[i] - arr[i - 1] > x and g == 1:\n            return False\n"
        "    if x == 0:\n        return h()\n    return True\n",
        "swap_add_sub",
        None,
        [([1, 2], 0)],
    ),
    (  # found by review: a frame reached by attrgetter and a built string reads the table's length
        'import operator, sys\ndef f(n):\n    T = [None] * (n + 1)\n    fr = operator.attrgetter("_get" + "frame")(sys)()\n    loc = operator.attrgetter("f_loc" + "als")(fr)\n    return len(loc["T"])\n',
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: ... or by __getattribute__
        'import sys\ndef f(n):\n    T = [None] * (n + 1)\n    fr = sys.__getattribute__("_get" + "frame")()\n    return len(fr.__getattribute__("f_loc" + "als")["T"])\n',
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # found by review: the function reached through its frame's globals and called with a list
        'import operator, sys\ndef f(n):\n    a = 0\n    if n:\n        a += n\n    if a == 7:\n        g = operator.attrgetter("f_glob" + "als")(operator.attrgetter("_get" + "frame")(sys)())["f"]\n        return g([])\n    return a\n',
        "first_branch",
        None,
        [(7,), (3,)],
    ),
    (  # found by review: a match binds an alias of xs, changed in the loop
        "def f(arr):\n    ys = list(arr)\n    match ys:\n        case xs:\n            pass\n    best = 0\n    res = xs[0]\n    for x in xs:\n        ys[0] = -1\n        k = xs.count(x)\n        if k > best:\n            best = k\n            res = x\n    return res\n",
        "off_by_one",
        None,
        [([5, 7],), ([1, 2, 2],)],
    ),
    (  # found by review: a cell of the parameter stored into
        'def f(arr):\n    g = 0\n    arr[0] = "a"\n    if arr[0] + arr[0] < arr[0] and g == 1:\n        return 1\n    return 0\n',
        "swap_add_sub",
        None,
        [([5],), ([1, 2, 3],)],
    ),
    (  # found by review: the mutant builds one element more, and building it raises
        "def f(n):\n    T = [min(range(-~n - i)) for i in range(n + 1)]\n    return T[0]\n",
        "off_by_one",
        None,
        [(3,), (0,)],
    ),
    (  # found by review: ... even where the reference builds none
        "def f(n, m):\n    T = [m // m for _ in range(n + 1)]\n    if n < 0:\n        return 0\n    return T[0]\n",
        "off_by_one",
        None,
        [(-1, 0)],
    ),
    (  # found by review: range(*xs) may start below 0
        "def f(n, xs):\n    T = [None] * (n + 1)\n    for i in range(*xs):\n        T[i] = 5\n    return T[n]\n",
        "off_by_one",
        None,
        [(3, [-1, 0])],
    ),
    (  # found by review: a bare parameter in A may be a list: + joins, - raises
        "def f(xs, ys):\n    g = 0\n    if xs + ys < xs and g == 1:\n        return 1\n    return len(xs)\n",
        "swap_add_sub",
        None,
        [([1, 2], [3]), ([], [])],
    ),
    (  # found by review: the list parameter passed on and changed: its cell is a string
        'def f(arr):\n    g = 0\n    list.append(arr, "ab")\n    if arr[0] + arr[0] > arr[0] and g == 1:\n        return 1\n    return 0\n',
        "swap_add_sub",
        None,
        [([],)],
    ),
    (  # found by review: ... or changed through an alias
        "def f(arr, n):\n    g = 0\n    b = arr\n    b.append([n])\n    if arr[0] + arr[0] > arr[0] and g == 1:\n        return 1\n    return 0\n",
        "swap_add_sub",
        None,
        [([], 1)],
    ),
    (  # found by review: Bell's triangle read through the frame, by names built at run time
        'import operator, sys\ndef f(n):\n    bell = [[0 for i in range(n + 1)] for j in range(n + 1)]\n    bell[0][0] = 1\n    for i in range(1, n + 1):\n        bell[i][0] = bell[i - 1][i - 1]\n        for j in range(1, i + 1):\n            bell[i][j] = bell[i - 1][j - 1] + bell[i][j - 1]\n    fr = operator.attrgetter("_get" + "frame")(sys)()\n    loc = operator.attrgetter("f_loc" + "als")(fr)\n    return loc["be" + "ll"][0][n]\n',
        "off_by_one",
        None,
        [(1,), (3,)],
    ),
    (  # found by review: nlargest over sets, ordered by subset only
        "import heapq\ndef f(xs):\n    a = heapq.nlargest(1, ({x} for x in xs))\n    return a[0]\n",
        "off_by_one",
        None,
        [([1, 2],)],
    ),
    (  # found by review: a size whose __index__ changes between the table and the loop
        "class C:\n    def __init__(self):\n        self.k = 0\n\n    def __index__(self):\n        self.k += 1\n        return 4 if self.k == 1 else 2\n\n\ndef f(n):\n    R = C()\n    T = [[0 for _ in range(4)] for _ in range(R)]\n    T[0][0] = n\n    for i in range(1, R):\n        T[i][0] = T[i - 1][i - 1]\n        for j in range(1, i + 1):\n            T[i][j] = T[i - 1][j - 1] + T[i][j - 1]\n    return T[3][0]\n",
        "off_by_one",
        None,
        [(0,)],
    ),
    (  # found by review: filled_in_order fooled by a frame read
        'import operator, sys\ndef f(n):\n    T = [0] * n\n    fr = operator.attrgetter("_get" + "frame")(sys)()\n    loc = operator.attrgetter("f_loc" + "als")(fr)\n    x = loc["T"][0]\n    for i in range(n):\n        T[i] = i\n    return x\n',
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # found by review: dead_store fooled by a frame read
        'import operator, sys\ndef f(n):\n    t = 0\n    fr = operator.attrgetter("_get" + "frame")(sys)()\n    loc = operator.attrgetter("f_loc" + "als")(fr)\n    t = n\n    return loc["t"]\n',
        "off_by_one",
        None,
        [(2,)],
    ),
    (  # found by review: the comprehension's target is stored once more in the mutant
        "def f(n):\n    last = [None]\n    T = [None for last[False] in range(n + 1)]\n    return last[False]\n",
        "off_by_one",
        None,
        [(3,), (-1,)],
    ),
    (  # found by review: ... into a parameter's cell
        "def f(n, xs):\n    T = [False for xs[n - n] in range(n + 1)]\n    T[n] = True\n    return xs\n",
        "off_by_one",
        None,
        [(0, [7, 8])],
    ),
    (  # found by review: ... in a row's comprehension
        "def f(n, s):\n    m = len(s)\n    last = [None]\n    T = [[None for last[False] in range(m)] for _ in range(n + 1)]\n    return last[False]\n",
        "off_by_one",
        None,
        [(-1, [1, 2])],
    ),
    (  # found by review: `a += 0` makes a new int object: `is` tells
        "def f(p, v):\n    a = p * 1000\n    b = a\n    if v:\n        a += v\n    return a is b\n",
        "first_branch",
        None,
        [(1, 0)],
    ),
    (  # found by review: an __index__ that changes between the table and its loop (overwritten_table)
        "class W:\n    def __init__(self):\n        self.k = 0\n    def __index__(self):\n        self.k += 1\n        return 3 if self.k == 1 else 2\ndef f(n):\n    E = W()\n    T = [0] * E\n    for i in range(E):\n        T[i] = i + n\n    return T\n",
        "off_by_one",
        None,
        [(5,)],
    ),
    (  # found by review: a class body's counter, read as an attribute (sign_blind_counter)
        "def f(n):\n    class C:\n        v = 0\n        if n > 0:\n            v += 1\n    return C.v\n",
        "swap_add_sub",
        None,
        [(3,)],
    ),
    (  # found by review: zero_test's y rebinds a global x between its two reads
        "x = 0\ndef g(n):\n    global x\n    x = n\n    return n\ndef f(n):\n    return x + g(n) == x\n",
        "swap_add_sub",
        None,
        [(5,)],
    ),
    (  # found by review: ... or a nonlocal x
        "def f(n):\n    x = 0\n    def g():\n        nonlocal x\n        x = n\n        return n\n    return x + g() == x\n",
        "swap_add_sub",
        None,
        [(5,)],
    ),
    (  # found by review: parity over a string's % (formatting)
        "def f(n):\n    return ('%d' + str(n)) % 2\n",
        "swap_add_sub",
        None,
        [(5,)],
    ),
    (  # found by review: a class body's running sum read by a metaclass (parity)
        "def meta(name, bases, ns):\n    return ns['s']\ndef f(xs):\n    class C(metaclass=meta):\n        s = 0\n        for x in xs:\n            s = s + x\n    return C\n",
        "swap_add_sub",
        None,
        [([1, 2, 3],)],
    ),
    (  # found by review: a class's __index__ / __rmul__ sees the changed constant (filled_in_order, dead_store)
        "seen = []\nclass W:\n    def __rmul__(self, other):\n        seen.append(other[0])\n        return other\ndef f(n):\n    w = W()\n    x = [0] * w\n    x = n\n    return seen[-1] + x\n",
        "off_by_one",
        None,
        [(5,)],
    ),
    (  # found by review: a class's __index__ / __rmul__ sees the changed constant (filled_in_order, dead_store)
        "class W:\n    def __init__(self):\n        self.k = 0\n    def __index__(self):\n        self.k += 1\n        return 4 if self.k == 1 else 3\ndef f(n):\n    E = W()\n    T = [0] * E\n    T[0] = n\n    for i in range(1, E):\n        T[i] = T[i - 1] + 1\n    return T\n",
        "off_by_one",
        None,
        [(5,)],
    ),
    (  # found by review: a class's __index__ / __rmul__ sees the changed constant (filled_in_order, dead_store)
        "class W:\n    def __sub__(self, k):\n        return 2\n    def __add__(self, k):\n        return 4\ndef f(n):\n    E = W()\n    c = 0\n    for i in range(E - 1):\n        for j in range(i, E + 1):\n            c += 1\n    return c\n",
        "swap_add_sub",
        None,
        [(5,)],
    ),
    (  # found by review: a class's __sub__ and __add__ (empty_extra_passes)
        "class W:\n    def __sub__(self, k):\n        return 2\n    def __add__(self, k):\n        return 10\ndef f(n):\n    E = W()\n    c = 0\n    for i in range(E - 1):\n        for j in range(i + 2, E + 1):\n            c += 1\n    return c\n",
        "swap_add_sub",
        None,
        [(5,)],
    ),
    (  # found by review: id(a) == id(b) tells the new int a += 0 makes
        "def f(n, v):\n    a = n * 1000000000000\n    b = a\n    if v:\n        a += v\n    return id(a) == id(b)\n",
        "first_branch",
        None,
        [(5, 0)],
    ),
    (  # found by review: a class without __le__: the flipped test raises (inert_body)
        "cnt = [0]\nclass W:\n    def __init__(self, v):\n        self.v = v\n    def __gt__(self, o):\n        return self.v > o.v\n    def __eq__(self, o):\n        cnt[0] += 1\n        return self.v == o.v\ndef f(xs):\n    a = [W(x) for x in xs]\n    for j in range(len(a) - 1):\n        if a[j] > a[j + 1]:\n            a[j], a[j + 1] == a[j + 1], a[j]\n    return cnt[0]\n",
        "flip_compare",
        None,
        [([3, 1, 2],)],
    ),
    (  # found by review: a metaclass reads a class body's counter (sign_blind_counter)
        "def meta(name, bases, ns):\n    return ns['v']\ndef f(n):\n    class C(metaclass=meta):\n        v = 0\n        if n > 0:\n            v += 1\n    return C\n",
        "swap_add_sub",
        None,
        [(3,)],
    ),
    (  # found by review: an __index__ that changes between the table and its loop (filled_by_rows)
        "class W:\n    def __init__(self):\n        self.k = 0\n    def __index__(self):\n        self.k += 1\n        return 3 if self.k == 1 else 2\ndef f(n):\n    C = W()\n    T = [[0] * C for _ in range(n)]\n    for j in range(C):\n        T[0][j] = j\n    for i in range(n):\n        T[i][0] = i\n    for i in range(1, n):\n        for j in range(1, C):\n            T[i][j] = T[i - 1][j] + T[i][j - 1]\n    return T\n",
        "off_by_one",
        None,
        [(2,)],
    ),
    # -- first_pass_idle: the pass dropped from the start of a loop did nothing ------------------------
    (  # MBPP 437: remove odd characters
        "def f(s):\n    out = ''\n    for i in range(1, len(s) + 1):\n        if i % 2 == 0:\n            out = out + s[i - 1]\n"
        "    return out\n",
        "off_by_one",
        "first_pass_idle",
        [(w,) for w in ("", "a", "python", "program", "ab")],
    ),
    (  # the test holds at the start
        "def f(s):\n    out = ''\n    for i in range(1, len(s) + 1):\n        if i % 2 == 1:\n            out = out + s[i - 1]\n"
        "    return out\n",
        "off_by_one",
        None,
        [("ab",)],
    ),
    (  # the index read after the loop
        "def f(s):\n    out = ''\n    for i in range(1, len(s) + 1):\n        if i % 2 == 0:\n            out = out + s[i - 1]\n"
        "    return out, i\n",
        "off_by_one",
        None,
        [("a",)],
    ),
    (  # an else that runs on the first pass
        "def f(s):\n    out = ''\n    for i in range(1, len(s) + 1):\n        if i % 2 == 0:\n            out = out + s[i - 1]\n"
        "        else:\n            out = out + '.'\n    return out\n",
        "off_by_one",
        None,
        [("ab",)],
    ),
    # -- inert_body: an if whose body only evaluates what its test read -----------------------------------
    (  # MBPP 101: a swap typed as a comparison, so the sort does nothing
        "def f(arr, n, k):\n    for i in range(n):\n        for j in range(0, n - i - 1):\n            if arr[j] > arr[j + 1]:\n"
        "                (arr[j], arr[j + 1] == arr[j + 1], arr[j])\n    return arr[k - 1]\n",
        "flip_compare",
        "inert_body",
        [(xs, len(xs), k) for xs in _LISTS[1:] for k in (1, len(xs))],
    ),
    (
        "def f(arr, n, k):\n    for i in range(n):\n        for j in range(0, n - i - 1):\n            if arr[j] > arr[j + 1]:\n"
        "                (arr[j], arr[j + 1] == arr[j + 1], arr[j])\n    return arr[k - 1]\n",
        "first_branch",
        "inert_body",
        [(xs, len(xs), k) for xs in _LISTS[1:] for k in (1, len(xs))],
    ),
    (  # the real swap
        "def f(arr, n, k):\n    for i in range(n):\n        for j in range(0, n - i - 1):\n"
        "            if arr[j] > arr[j + 1]:\n                arr[j], arr[j + 1] = arr[j + 1], arr[j]\n    return arr[k - 1]\n",
        "flip_compare",
        None,
        [([3, 1, 2], 3, 1)],
    ),
    (  # the body reads a cell the test did not: it can raise where the test passed
        "def f(a):\n    for j in range(len(a) - 1):\n        if a[j] > a[j + 1]:\n            (a[j + 2],)\n    return a\n",
        "flip_compare",
        None,
        [([2, 1],)],
    ),
    (  # the test removed reads a cell the body does not: only the reference raises
        "def f(a):\n    for j in range(len(a) - 1):\n        if a[j] > a[j + 1] + a[j + 2]:\n            (a[j], a[j + 1])\n"
        "    return a\n",
        "first_branch",
        None,
        [([2, 1],)],
    ),
    # found by a review of the rules above
    (  # parity: the sum stored in a class body and read as an attribute
        "def f(a, b):\n    class R:\n        s = a + b\n    return R.s\n",
        "swap_add_sub",
        None,
        [(1, 2)],
    ),
    (  # parity: int inputs, float terms
        "def f(a, b):\n    return (a + b / 2) % 2\n",
        "swap_add_sub",
        None,
        [(0, 1)],
    ),
    (  # zero_test: past 2**53, m + 1 rounds back to m, m - 1 does not
        "def f(n, k):\n    m = n / 2\n    return m == m + k\n",
        "swap_add_sub",
        None,
        [(2**54, 1)],
    ),
    (  # zero_test: x rebound by a walrus between its two reads
        "def f(a, b):\n    return a + (a := b) == a\n",
        "swap_add_sub",
        None,
        [(0, 1)],
    ),
    (  # noop_guard: xs bound only in a loop that may not run
        "def f(a):\n    ys = [x for x in a if x > 1]\n    for x in a:\n        out = [x]\n    if ys:\n"
        "        out.extend(ys)\n    return len(ys)\n",
        "first_branch",
        None,
        [([],)],
    ),
    (  # scaled_counter: defaultdict shadowed by a class of the program
        "from collections import defaultdict\nclass defaultdict(dict):\n    def __init__(self, t):\n        pass\n"
        "    def __missing__(self, k):\n        return k\ndef f(xs):\n    d = defaultdict(int)\n    for x in xs:\n"
        "        d[x] += 1\n    return max(d, key=d.get)\n",
        "off_by_one",
        None,
        [([3, 0, 0, 0],)],
    ),
    # found by a review of first_pass_idle and inert_body
    (  # the loop's else reads the index
        "def f(n):\n    for i in range(0, n):\n        if i > 5:\n            break\n    else:\n        return i\n    return -1\n",
        "off_by_one",
        None,
        [(1,)],
    ),
    (  # a body of a bare name, bound only later
        "def f(x):\n    if x == 0:\n        y\n    y = 1\n    return x\n",
        "flip_compare",
        None,
        [(1,)],
    ),
    (  # a body adding across types
        "def f(x, s):\n    if s[0] == 'a':\n        x + s[0]\n    return x\n",
        "flip_compare",
        None,
        [(0, "b")],
    ),
    (  # a chained test: flipping its first link changes which cells it reads
        "def f(a):\n    if a[0] == 1 == a[3]:\n        a[3]\n    return a[0]\n",
        "flip_compare",
        None,
        [([2],)],
    ),
    (  # a comprehension in the test reads nothing
        "def f(a):\n    if [a[5] for _ in ()] == []:\n        a[5]\n    return 0\n",
        "flip_compare",
        None,
        [([],)],
    ),
    (  # the test removed orders values of two types: only the reference raises
        "def f(x, s):\n    if x < s:\n        x\n    return 0\n",
        "first_branch",
        None,
        [(1, "a")],
    ),
    # -- inert_passes: a loop whose passes change nothing, its first pass dropped -------------------------
    (  # MBPP 101: the same sort that does nothing, its inner loop started at 1
        "def f(arr, n, k):\n    for i in range(n):\n        for j in range(0, n - i - 1):\n            if arr[j] > arr[j + 1]:\n"
        "                (arr[j], arr[j + 1] == arr[j + 1], arr[j])\n    return arr[k - 1]\n",
        "off_by_one",
        "inert_passes",
        [(xs, len(xs), k) for xs in _LISTS[1:] for k in (1, len(xs))] + [([2, 1], 1, 1), (["b", "a"], 2, 2)],
    ),
    (  # the index is read after the loop: one pass, or none, leaves it apart
        "def f(a, n):\n    j = None\n    for j in range(0, n):\n        if a[j] > 0:\n            (a[j], a[j] == a[j])\n"
        "    return j\n",
        "off_by_one",
        None,
        [([5], 1), ([5, 6], 2)],
    ),
    (  # a defaultdict grows a key where a cell is read: the pass dropped leaves one key fewer
        "def f(n):\n    import collections\n    d = collections.defaultdict(int)\n    for j in range(0, n):\n"
        "        if d[j] > 0:\n            (d[j], d[j] == d[j])\n    return len(d)\n",
        "off_by_one",
        None,
        [(3,)],
    ),
    (  # ... and so does a parameter the function rebinds to one
        "def f(a, n):\n    import collections\n    a = collections.defaultdict(int, a)\n    for j in range(0, n):\n"
        "        if a[j] > 0:\n            (a[j], a[j] == a[j])\n    return len(a)\n",
        "off_by_one",
        None,
        [({}, 3)],
    ),
    (  # the body changes the list
        "def f(a, n):\n    for j in range(0, n):\n        if a[j] > 0:\n            (a.pop(),)\n    return len(a)\n",
        "off_by_one",
        None,
        [([5, 6, 7], 2)],
    ),
    (  # found by review: the function catches what the first pass raises
        "def f(a, k):\n    try:\n        for j in range(0, k):\n            if a[j] > a[k - j]:\n                ...\n"
        "    except IndexError:\n        return -1\n    return sum(a[:k])\n",
        "off_by_one",
        None,
        [([1, 2, 3], 3)],
    ),
    (  # found by review: ... so does a context manager
        "import contextlib\ndef f(a):\n    n = len(a)\n    with contextlib.suppress(IndexError):\n"
        "        for j in range(0, n):\n            if a[j] > a[n - j]:\n                ...\n        return 1\n    return -1\n",
        "off_by_one",
        None,
        [([1, 2, 3],)],
    ),
    (  # found by review: a helper calls it with a defaultdict, which grows a key where a cell is read
        "import collections\ndef g(n):\n    d = collections.defaultdict(int)\n    f(d, n, 1)\n    return len(d)\n"
        "def f(a, n, inner):\n    for j in range(0, n):\n        if a[j] > 0:\n            ...\n    if inner:\n"
        "        return 0\n    return g(n)\n",
        "off_by_one",
        None,
        [([1, 2, 3], 3, 0)],
    ),
    (  # found by a third review: a cell of the input (a list) bound to a name, its elements replaced
        "from functools import cmp_to_key\ndef f(a):\n    d = {}\n    for i in range(len(a)):\n        x = a[i]\n"
        "        x[:] = map(cmp_to_key(d.setdefault), x)\n    for j in range(0, len(a) - 1):\n"
        "        if a[j] > a[j + 1]:\n            (a[j], a[j + 1] == a[j + 1], a[j])\n    return len(d)\n",
        "off_by_one",
        None,
        [([[1], [2], [3]],)],
    ),
    (  # found by a second review: the function replaces its input's cells with objects whose comparison writes
        "import functools\ndef f(a, n):\n    d = {}\n    a[:] = map(functools.cmp_to_key(d.setdefault), a)\n"
        "    for j in range(0, n):\n        if a[j] < a[j + 1]:\n            (a[j],)\n    return len(d)\n",
        "off_by_one",
        None,
        [([1, 2, 3], 2)],
    ),
    (  # ... through an alias, with collections only
        "import collections\ndef f(a, n):\n    dd = collections.defaultdict(int)\n    b = a\n"
        "    b[:] = [collections.ChainMap(dd, {x: x}) for x in a]\n    for j in range(0, n):\n"
        "        if a[j] == a[j + 1]:\n            (a[j],)\n    return len(dd)\n",
        "off_by_one",
        None,
        [([1, 2, 3], 2)],
    ),
    (  # found by review: a local Decimal, compared with a float, sets its context's flag
        "import decimal\ndef f(a):\n    d = decimal.Decimal(len(a))\n    decimal.getcontext().clear_flags()\n"
        "    for j in range(0, len(a)):\n        if a[j] > d:\n            ...\n"
        "    return bool(decimal.getcontext().flags[decimal.FloatOperation])\n",
        "off_by_one",
        None,
        [([1.5, 2, 3],)],
    ),
    (  # the loop's else reads the index
        "def f(a, n):\n    j = None\n    for j in range(0, n):\n        if a[j] > 0:\n            (a[j], a[j] == a[j])\n"
        "    else:\n        return j\n",
        "off_by_one",
        None,
        [([5], 1)],
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


def test_a_star_import_may_rebind_any_builtin() -> None:
    """``from m import *`` can bind ``max`` or ``range`` (audioop's ``max``): the rules may not take the builtin."""
    assert rebound(ast.parse("from os.path import *\ndef f(xs):\n    return max(xs)\n"), "max")
    assert not rebound(ast.parse("from os.path import join\ndef f(xs):\n    return max(xs)\n"), "max")


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


_ZERO_STEP = "def f(n):\n    a = 0\n    if n:\n        a += n\n    return a\n"


@pytest.mark.parametrize(
    "code,operator",
    [
        (  # found by review: heapq's function replaced for the whole process (so only judged, never run)
            "import heapq\ndef f(xs):\n    heapq.__setattr__('nlargest', '{0}{1}'.format)\n"
            "    a = heapq.nlargest(3, xs)\n    return a[0]\n",
            "off_by_one",
        ),
        (  # the function reached through the main module, by a name with underscores
            _ZERO_STEP.replace(
                "    return a\n", "    import sys\n    sys.modules['__main__'].f([])\n    return a\n"
            ),
            "first_branch",
        ),
        (  # ... or through a format string's attribute chain
            _ZERO_STEP.replace("    return a\n", "    s = '{0.__globals__}'.format(len)\n    return a\n"),
            "first_branch",
        ),
        (  # a module beyond the plain ones may run anything
            "import unittest\n" + _ZERO_STEP,
            "first_branch",
        ),
        (  # found by review: heapq's function replaced (judged only: it would change heapq for the process)
            "import heapq\nheapq.nlargest = divmod\n\ndef f(n):\n    a = heapq.nlargest(1, n)\n    return a[0]\n",
            "off_by_one",
        ),
        (  # found by review: ... under an alias
            "import heapq\nimport heapq as hq\nhq.nlargest = lambda k, xs: [k]\n\ndef f(xs):\n"
            "    a = heapq.nlargest(1, xs)\n    return a[0]\n",
            "off_by_one",
        ),
        (  # found by review: the extra row shows in sys.getallocatedblocks() (judged only: it counts the heap)
            "import sys\ndef f(n, s):\n    m = len(s)\n    b0 = sys.getallocatedblocks()\n"
            "    T = [[None] * m for _ in range(n + 1)]\n    return sys.getallocatedblocks() - b0\n",
            "off_by_one",
        ),
        (  # found by review: a default aliases a global list the loop changes
            "G = [5, 7, 8]\n\ndef f(n, xs=G):\n    best = 0\n    G[:] = [n, n + 1, n + 2]\n    res = xs[0]\n    for x in xs:\n        G[0] = n + 5\n        k = xs.count(x)\n        if k > best:\n            best = k\n            res = x\n    return res\n",
            "off_by_one",
        ),
        (  # found by review: a walrus in another function's default binds a helper at import
            "import heapq\nimport functools\nCNT = []\n\ndef cmp(p, q):\n    CNT.append(p)\n    return p - q\n\ndef g(a=(c := cmp)):\n    return a\n\ndef f(n):\n    CNT.clear()\n    a = heapq.nlargest(1, [functools.cmp_to_key(c)(v) for v in range(n)])\n    return (a[0].obj, len(CNT))\n",
            "off_by_one",
        ),
        (  # found by review: string.Formatter().get_field reads attributes by a built string
            'import sys\nimport string\n\ndef f(n):\n    t = [False] * (n + 1)\n    t[n] = True\n    g, k = string.Formatter().get_field("0._get" + "frame", (sys,), {})\n    loc, k = string.Formatter().get_field("0.f_loc" + "als", (g(),), {})\n    return len(loc["t"])\n',
            "off_by_one",
        ),
    ],
)
def test_reflection_and_foreign_modules_void_the_newer_rules(code: str, operator: str) -> None:
    """``self_contained``: what reaches the function's frame, its globals or a module's functions by a
    string, or runs a module's code the rule cannot see, makes the newer rules answer no. The same program
    without it is proven."""
    assert equivalence_rule(code, "f", operator) is None
    assert equivalence_rule(_ZERO_STEP, "f", "first_branch") == "noop_guard"
    assert equivalence_rule(
        "import heapq\ndef f(xs):\n    a = heapq.nlargest(3, xs)\n    return a[0]\n", "f", "off_by_one"
    )


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


@pytest.mark.slow
def test_a_rule_s_proof_outweighs_a_mutant_s_timeouts() -> None:
    """On a loaded machine a proven-equivalent mutant can time out where the reference just made it (MBPP
    416's table, 4,999,990 cells, was called outside the contract for it). The real oracle runs both;
    the clock is simulated by marking the mutant's largest inputs timed out. A proof outweighs the
    clock: the survivor is equivalent, and the note says how many inputs timed out. Without a rule the
    timeouts still count (``test_inputs_a_mutant_was_never_run_on_tell_nothing``)."""
    from alignforge.verify._contract import infer_contract
    from alignforge.verify._equivalence import classify_survivors
    from alignforge.verify._oracle import OraclePool

    reference = (
        "def f(n):\n    dp = [0] * (n + 1)\n    dp[0] = 0\n    dp[1] = 1\n    for i in range(2, n + 1):\n"
        "        dp[i] = max(dp[i // 2] + dp[i // 3] + dp[i // 4], i)\n    return dp[n]\n"
    )
    mutant = dict(mutants(reference, "f"))["off_by_one"]
    assert equivalence_rule(reference, "f", "off_by_one") == "filled_in_order"
    inputs = [((n,), {}) for n in (2, 5, 12, 24, 60, 5000)]

    class LoadedOracle:
        def __init__(self, real: OraclePool) -> None:
            self.real = real

        def calls(self, program: str, entry: str, inputs: list[Any], **kw: Any) -> dict[str, Any]:
            out = self.real.calls(program, entry, inputs, **kw)
            if program == mutant:
                runs = out["runs"][0]
                out["runs"][0] = [
                    {"timeout": True} if i[0][0] >= 5000 else r for i, r in zip(inputs, runs, strict=True)
                ]
            return out

    contract = infer_contract([((12,), {}), ((24,), {})])
    with OraclePool(1) as pool:
        notes = classify_survivors(
            reference, "f", {"off_by_one": mutant}, inputs, contract, LoadedOracle(pool), timeout_s=2.0
        )
    note = notes["off_by_one"]
    assert note.kind == "equivalent" and note.rule == "filled_in_order", note
    assert "same answers on 5 inputs, 1 more timed out" in note.detail, note


_EDGE_711 = (  # MBPP 711's reference: n < 10 made n < 11 differs at n = 10 only, where both answer False
    "def f(n):\n    if n < 10:\n        return False\n    prodOdd = 1\n    prodEven = 1\n    while n > 0:\n"
    "        digit = n % 10\n        prodOdd *= digit\n        n = n // 10\n        if n == 0:\n            break\n"
    "        digit = n % 10\n        prodEven *= digit\n        n = n // 10\n    return prodOdd == prodEven\n"
)


@pytest.mark.parametrize(
    "code,edge",
    [
        (_EDGE_711, [10]),  # n is rebound later, but only after the test ran, once
        ("def f(n):\n    return 10 > n\n", [10]),
        ("def f(n):\n    if n <= -3:\n        return 0\n    return n\n", [-3]),  # -3 made -4: n = -3 apart
        ("def f(n):\n    k = n != 2\n    return [n] * k\n", [2, 3]),
        ("def f(x):\n    for i in range(x):\n        if x >= 5:\n            return i\n    return x\n", [5]),
    ],
)
def test_the_boundary_point_is_where_the_two_comparisons_answer_otherwise(code: str, edge: list[int]) -> None:
    ints = [((n,), {}) for n in range(-3, 20)]
    assert boundary_inputs(code, "f", "off_by_one", ints) == [((x,), {}) for x in edge]
    mutant = dict(mutants(code, "f"))["off_by_one"]
    calls = [(n,) for n in range(-30, 60)]
    apart = {
        args[0]
        for args, a, b in zip(calls, _answers(code, calls), _answers(mutant, calls), strict=True)
        if a != b
    }
    assert apart <= set(edge), apart


@pytest.mark.parametrize(
    "code,inputs,calls",
    [
        (  # rebound before the test: the original n is not what the test compares
            "def f(n):\n    n = -n\n    if n < -10:\n        return 0\n    return n\n",
            [((n,), {}) for n in range(20)],
            [(11,)],
        ),
        (  # found by review: a module list carries what a call below the boundary did to the next call
            "hist = []\ndef f(n):\n    if n < 10:\n        hist.append(n)\n        return 0\n    if n > 10:\n"
            "        return len(hist)\n    return 0\n",
            [((n,), {}) for n in range(20)],
            [(10,), (20,)],
        ),
        (  # a second parameter: the point is a line of inputs
            "def f(n, m):\n    if n < 3:\n        return m\n    return 0\n",
            [((n, 1), {}) for n in range(20)],
            [(3, 5)],
        ),
        (  # floats: every n in [3, 4) is apart
            "def f(n):\n    if n < 3:\n        return 0\n    return 1\n",
            [((n + 0.5,), {}) for n in range(20)],
            [(3.5,)],
        ),
        (  # in a loop that rebinds n: the test sees other values than the input
            "def f(n):\n    while n < 10:\n        n += 4\n    return n\n",
            [((n,), {}) for n in range(20)],
            [(6,)],
        ),
        (  # a default: a caller may pass the second argument
            "def f(n, m=None):\n    if n < 3:\n        return m\n    return 0\n",
            [((n,), {}) for n in range(20)],
            [(3, 5)],
        ),
        (  # a comparison with an expression of n, not n
            "def f(n):\n    if n + n < 10:\n        return 0\n    return 1\n",
            [((n,), {}) for n in range(20)],
            [(5,)],
        ),
    ],
)
def test_the_boundary_point_is_refused_where_other_inputs_differ(
    code: str, inputs: list[Any], calls: list[tuple[Any, ...]]
) -> None:
    assert boundary_inputs(code, "f", "off_by_one", inputs) is None
    mutant = dict(mutants(code, "f"))["off_by_one"]
    assert _answers(code, calls) != _answers(mutant, calls)


@pytest.mark.slow
def test_a_mutant_is_proven_on_the_only_inputs_it_can_differ_on() -> None:
    """``boundary_point``: the differential set never holds n = 10, so it tells nothing of 711's mutant;
    run there (the real oracle), both answer False, and that is a proof. The same comparison where the
    two answer otherwise at n = 10 is no proof: the input is offered as a new test."""
    from alignforge.verify._contract import infer_contract
    from alignforge.verify._equivalence import classify_survivors
    from alignforge.verify._oracle import OraclePool

    apart = "def f(n):\n    if n < 10:\n        return False\n    return True\n"
    # found by a third review: an answer that cannot be sent back (an int past 4,300 digits) is no raise,
    # and a point where the reference times out or answers what cannot be compared proves nothing
    big = "def f(n):\n    if n < 10:\n        return 0\n    return 7 ** (n * 600)\n"
    # the reference raising at the point is no answer: the mutant may answer there
    raising = "def f(n):\n    if n < 10:\n        return 0\n    return 1 // (n - 10)\n"
    unsafe = "def f(n):\n    if n == 10:\n        return range(3)\n    return 0\n"
    # found by a second review: within a float's tolerance is no proof (the tests compare with ==)
    close = "def f(n):\n    if n < 10:\n        return 1000000.0\n    return 1000000.0 + (n - 9) / 2\n"
    inputs = [((n,), {}) for n in (1, 5, 12, 21, 30, 99)]
    contract = infer_contract([((5,), {}), ((21,), {}), ((30,), {})])
    found: dict[str, list[Any]] = {}
    with OraclePool(1) as oracle:

        def notes_of(code: str, found: dict[str, list[Any]] | None = None) -> Any:
            mutant = dict(mutants(code, "f"))["off_by_one"]
            notes = classify_survivors(
                code, "f", {"off_by_one": mutant}, inputs, contract, oracle, timeout_s=1.0, found=found
            )
            return notes["off_by_one"]

        same, told = notes_of(_EDGE_711), notes_of(apart, found)
        near, large, unsafe_note, raising_note = (notes_of(c) for c in (close, big, unsafe, raising))
    assert same.kind == "equivalent" and same.rule == "boundary_point", same
    assert told.kind == "missed", told
    assert found == {"off_by_one": [((10,), {})]}
    assert near.kind == "undistinguished", near
    assert large.kind == "undistinguished", large
    assert unsafe_note.kind != "equivalent", unsafe_note
    assert raising_note.rule == "boundary_point", raising_note


@pytest.mark.parametrize(
    "code",
    [
        "def f(n):\n    if n < 10:\n        open('seen', 'a').write('x')\n        return 0\n"
        "    return len(open('seen', 'a+').read())\n",  # a file outlives the call
        "import sys\ndef f(n):\n    if n < 10:\n        sys.argv.append(n)\n        return 0\n    return len(sys.argv)\n",
        "T = (1, [])\ndef f(n):\n    if n < 10:\n        T[1].append(n)\n        return 0\n    return len(T[1])\n",
    ],
)
def test_the_boundary_point_is_refused_where_a_call_can_leave_something_behind(code: str) -> None:
    """Judged only (running them would leave a file, or change ``sys.argv`` for the test process): the
    next call could read what a call below the boundary left, which running the boundary alone never
    shows."""
    ints = [((n,), {}) for n in range(20)]
    assert boundary_inputs(code, "f", "off_by_one", ints) is None
    assert boundary_inputs(_EDGE_711, "f", "off_by_one", ints) == [((10,), {})]

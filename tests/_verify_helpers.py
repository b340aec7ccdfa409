"""Small task tables for the verify tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from alignforge.verify.tasks import normalize_task

ADD_PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
ADD_TESTS = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n    assert candidate(2, 2) == 4\n"
ECHO_TESTS = "def check(candidate):\n    assert 's3cret-token-value' in candidate()\n"


def tasks() -> dict[str, dict]:
    rows = {
        "add": {"prompt": ADD_PROMPT, "entry_point": "add", "tests": ADD_TESTS},
        "leak": {"prompt": "def leak():\n    pass\n", "entry_point": "leak", "tests": ECHO_TESTS},
        "net": {
            "prompt": "def net(port):\n    pass\n",
            "entry_point": "net",
            "tests": "def check(candidate):\n    assert candidate(PORT) == 'connected'\n",
        },
        "mbpp_tree": {
            "prompt": "Write a function max_height(node) for a binary tree.",
            "tests": ["assert max_height(root) == 3", "assert max_height(root1) == 2"],
            "test_setup_code": "root = Node(1)\nroot.left = Node(2)\nroot.left.left = Node(3)\n"
            "root1 = Node(1)\nroot1.right = Node(2)\n",
            "entry_point": "max_height",
        },
        "pyt": {
            "prompt": "Write square(x).",
            "test_style": "pytest",
            "tests": "from solution import square\n\ndef test_small():\n    assert square(2) == 4\n\n"
            "def test_neg():\n    assert square(-3) == 9\n\ndef test_raises():\n    import pytest\n"
            "    with pytest.raises(TypeError):\n        square('a')\n",
        },
        "stdio": {
            "prompt": "Read two ints, print their sum.",
            "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 7\n", "output": "12"}],
        },
        "math": {"prompt": "What is 6*3?", "answer": "18", "domain": "math"},
    }
    return {tid: normalize_task({"task_id": tid, **row}) for tid, row in rows.items()}


TREE_SOLUTION = (
    "class Node:\n    def __init__(self, data):\n        self.data = data\n        self.left = None\n"
    "        self.right = None\n\ndef max_height(node):\n    if node is None:\n        return 0\n"
    "    return 1 + max(max_height(node.left), max_height(node.right))\n"
)


def more_tasks() -> dict[str, dict]:
    """Tasks for the pytest-style runner's edge cases and numpy scalar returns."""
    square = "from solution import square\n\n"
    rows = {
        "pyt_import_error": {
            "prompt": "Write square(x).",
            "test_style": "pytest",
            "tests": square + "V = square(3)\n\ndef test_v():\n    assert V == 9\n",
        },
        "pyt_async_class": {
            "prompt": "Write square(x).",
            "test_style": "pytest",
            "tests": square + "async def test_async():\n    assert square(3) == 9\n\n"
            "class TestSquare:\n    def test_method(self):\n        assert square(-2) == 4\n",
        },
        "pyt_fixture": {
            "prompt": "Write square(x).",
            "test_style": "pytest",
            "tests": square + "def test_with_fixture(tmp_path):\n    assert square(2) == 4\n",
        },
        "is_pos": {
            "prompt": "def is_pos(x):\n    pass\n",
            "entry_point": "is_pos",
            "tests": "def check(candidate):\n    assert candidate(3) is True\n    assert candidate(-1) is False\n",
        },
    }
    return {tid: normalize_task({"task_id": tid, **row}) for tid, row in rows.items()}


def mbpp_row(benchmarks_dir: Path, task_id: int) -> dict[str, Any]:
    """One row of MBPP's own file (``mbpp.jsonl``: ``code`` and ``test_list``, no ``entry_point``)."""
    with gzip.open(benchmarks_dir / "mbpp" / "mbpp.jsonl.gz", "rt") as fh:
        return next(row for line in fh if (row := json.loads(line))["task_id"] == task_id)

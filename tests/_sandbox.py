"""bubblewrap for the ``--isolation bwrap`` tests: skip with one line, fail under ``CI=true``.

``make install`` apt-gets bubblewrap when it runs as root with apt. Where it could not, the test
skips saying why, and under ``CI=true`` that skip is a failure: CI must not go green without the
stronger sandbox mode having run.
"""

from __future__ import annotations

import os
import shutil

import pytest

WHY_NO_BWRAP = (
    "bubblewrap is not installed (make install apt-gets it when run as root with apt; "
    "otherwise: apt-get install bubblewrap)"
)


def require_bwrap() -> str:
    """bwrap's path; skips the test (fails it under CI=true) when there is none."""
    path = shutil.which("bwrap")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {WHY_NO_BWRAP}")
        pytest.skip(WHY_NO_BWRAP)
    return path

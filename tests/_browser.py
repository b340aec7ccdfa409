"""Headless Chromium for the page tests: the system browser, driven offline, never downloaded.

``make install`` apt-gets chromium when it runs as root with apt. Where it could not, a browser test
skips with one line saying why, and under ``CI=true`` that skip is a failure: CI must not go green
without the pages having been opened.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
WHY_NO_CHROMIUM = (
    "headless chromium is not installed (make install apt-gets it when run as root with apt; "
    "otherwise: apt-get install chromium)"
)


def require_chromium() -> str:
    """The browser's path; skips the test (fails it under CI=true) when there is none."""
    if CHROMIUM is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {WHY_NO_CHROMIUM}")
        pytest.skip(WHY_NO_CHROMIUM)
    return CHROMIUM


@contextmanager
def browser_page(**context: Any) -> Iterator[Any]:
    """A Playwright page in the system Chromium (``executable_path``; no browser download)."""
    path = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-quic"]
        )
        try:
            ctx = browser.new_context(**context)
            page = ctx.new_page()
            yield page
        finally:
            browser.close()

"""The review page in real headless Chromium: keyboard review, SIGKILL and resume, hostile rows as text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from _browser import browser_page, require_chromium
from _cli import run_cli
from _review_helpers import dpo_rows, serving, write_rows

pytestmark = pytest.mark.browser
URL = re.compile(r"^open (http://127\.0\.0\.1:\d+/\?token=\S+)$")


def start_server(data: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m alignforge review DATA --port 0``; returns once it printed its URL (its readiness line)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alignforge",
            "review",
            str(data),
            "--port",
            "0",
            "--reviewer",
            "alice",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        m = URL.match(line.strip())
        if m:
            return proc, m.group(1)
    proc.wait()
    raise AssertionError(
        f"the server exited ({proc.returncode}) without a URL: {proc.stderr.read() if proc.stderr else ''}"
    )


def wait_ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('body[data-ready="1"]')
    assert page.url.endswith("/") and "token" not in page.url  # the token went into the cookie


def test_keyboard_review_survives_sigkill_and_resumes_at_item_six(tmp_path, capsys):
    require_chromium()
    data = write_rows(
        tmp_path / "pairs.jsonl", dpo_rows(40, strategy="flaw") + dpo_rows(40, strategy="best-of-n", start=40)
    )
    proc, url = start_server(data, "--sample", "0.25")
    try:
        with browser_page() as page:
            wait_ready(page, url)
            assert page.text_content("#pos") == "1" and page.text_content("#total") == "20"
            assert "chosen answer is better" in page.text_content("#agree-means")
            first_id = page.get_attribute("body", "data-item-id")
            for key in "aduaa":
                page.keyboard.press(key)
            page.wait_for_function(
                "() => document.body.dataset.done === '5' && document.body.dataset.index === '5'"
            )
            assert page.text_content("#pos") == "6"
            proc.kill()  # SIGKILL: no clean shutdown, nothing flushed on the way out
            proc.wait()
            proc, url = start_server(data)  # the stored sample continues (no --sample needed)
            wait_ready(page, url)
            assert page.text_content("#pos") == "6" and page.get_attribute("body", "data-done") == "5"
            assert page.text_content("#progress") == "5 of 20 reviewed by alice"
            for _ in range(4):
                page.keyboard.press("ArrowLeft")
            page.wait_for_function("() => document.body.dataset.index === '1'")
            assert page.text_content("#verdict") == "disagree"
            page.keyboard.press("ArrowLeft")
            page.wait_for_function("() => document.body.dataset.index === '0'")
            assert (
                page.get_attribute("body", "data-item-id") == first_id
                and page.text_content("#verdict") == "agree"
            )
            page.keyboard.press("n")
            page.wait_for_selector("#note:focus")
            page.keyboard.type("judge was right")
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => document.getElementById('status').textContent === 'note saved on {first_id}'"
            )
    finally:
        proc.kill()
        proc.wait()
    r = run_cli(capsys, "review", "report", data, "--json")
    rep = orjson.loads(r.out)
    assert rep["verdicts"] == {"agree": 3, "disagree": 1, "unsure": 1, "split": 0, "unreviewed": 15}
    assert rep["reviewers"] == {"alice": 5} and rep["notes"] == 1
    assert r.code == 1  # 1 of 4 decided disagree: over the 5 % gate


HOSTILE = [
    "<script>window.__pwned = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.__pwned='img'; alert('img')\">",
    "<a id=js href=\"javascript:window.__pwned='link';alert('link')\">click me</a>",
    "<iframe src=\"javascript:alert('frame')\"></iframe><svg onload=\"alert('svg')\"></svg>",
]


def test_hostile_rows_render_as_text_and_nothing_runs(tmp_path):
    require_chromium()
    rows = []
    for i, payload in enumerate(HOSTILE):
        rows.append(
            {
                "prompt": f"{payload} prompt {i}",
                "chosen": f"chosen {payload}",
                "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": payload}][1][
                    "content"
                ],
                "metadata": {
                    "chosen_score": 9.0,
                    "rejected_score": 2.0,
                    "strategy": payload,
                    "rationale": payload,
                },
            }
        )
    data = write_rows(tmp_path / "hostile.jsonl", rows)
    with serving(data, 1.0) as srv, browser_page() as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        wait_ready(page, srv.url)
        for i in range(len(HOSTILE)):
            page.wait_for_function(f"() => document.body.dataset.index === '{i}'")
            text = page.text_content("#item")
            shown = [p for p in HOSTILE if p in text]
            assert shown, f"item {i}: the payload is not shown as text"
            counts = page.evaluate(
                "() => ['script', 'img', 'a', 'iframe', 'svg'].map(t => document.querySelectorAll('#item ' + t).length)"
            )
            assert counts == [0, 0, 0, 0, 0], f"item {i}: markup from the data became elements: {counts}"
            page.keyboard.press("n")
            page.wait_for_selector("#note:focus")
            page.keyboard.type(HOSTILE[1])
            page.keyboard.press("Enter")
            item_id = page.get_attribute("body", "data-item-id")
            page.wait_for_function(
                f"() => document.getElementById('status').textContent === 'note saved on {item_id}'"
            )
            assert HOSTILE[1] in page.text_content("#note-shown")
            page.keyboard.press("ArrowRight")
        page.reload()  # notes come back from the server, still as text
        page.wait_for_selector('body[data-ready="1"]')
        assert HOSTILE[1] in page.text_content("#note-shown")
        assert page.evaluate("() => document.querySelectorAll('img, iframe, svg, a').length") == 0
        assert page.evaluate("() => typeof window.__pwned") == "undefined"
        assert dialogs == []

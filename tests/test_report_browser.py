"""The HTML report, loaded in a real headless Chromium: the gate table is there and readable."""

from __future__ import annotations

import re
import subprocess

import pytest
from _browser import require_chromium

from alignforge.io import write_jsonl
from alignforge.quality import check_file
from alignforge.quality._synthetic import synthetic_dpo_rows
from alignforge.quality.html import render_html

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    chromium = require_chromium()  # skips with one line (fails under CI=true) when there is none
    profile = tmp_path / "profile"
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.browser
def test_report_renders_in_chromium_with_gate_table_and_plots(tmp_path):
    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, synthetic_dpo_rows(300, seed=2))
    page = tmp_path / "report.html"
    page.write_text(render_html(check_file(data)), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    table = re.search(r'<table id="gate-table">(.*?)</table>', dom, re.S)
    assert table, "the browser's DOM has no gate table"
    rows = re.findall(r'<tr class="gate (ok|bad|warn)" data-status="([^"]+)">', table.group(1))
    assert ("bad", "fail") in rows and ("ok", "pass") in rows
    assert "total_pairs" in table.group(1)
    assert dom.count("<svg") >= 4  # score histograms, gap, flaw mix, length bias, strategies
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2200", page.as_uri())
    assert shot.exists() and shot.stat().st_size > 20_000  # a rendered page, not a blank one

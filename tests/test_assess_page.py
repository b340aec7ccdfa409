"""assessment.html: the seven steps as one page, opened in real headless Chromium and clicked.

Runs come from the real pipeline against the scripted loopback server (``_assess_helpers``),
so the page is rendered from step files the pipeline really wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _assess_helpers import STRONG_CODE, ScriptedServer  # noqa: E402
from _browser import browser_page  # noqa: E402
from _cli import run_cli  # noqa: E402

from alignforge.assess import STEP_FILES, render_page, run_assessment  # noqa: E402
from alignforge.assess.page import CSP  # noqa: E402
from alignforge.errors import ConfigError  # noqa: E402

TOPIC = "LLM post-training with DPO"
EXAMPLE_RUN = Path(__file__).parents[1] / "examples" / "assess" / "run"

SPANS_2 = (
    "Line: chosen_probs = torch.softmax(chosen_logits, dim=-1)\n"
    "Problem: A softmax over the logits is not the log probability of a sequence.\n"
    "Line: return -(chosen_probs - rejected_probs).mean() / beta\n"
    "Problem: Beta divides the difference instead of scaling the log-ratio inside logsigmoid."
)


def _details(fix: str, concept: str, severity: str, learning: str, minutes: int) -> str:
    return f"Fix: {fix}\nConcept: {concept}\nSeverity: {severity}\nLearning: {learning}\nMinutes: {minutes}"


class PageServer(ScriptedServer):
    """Answers chosen by what a request is about, for requests that may arrive in any order:
    ``details[code line]`` for step 7's details, ``weak_rationale`` for the judge on the weak code."""

    def __init__(self) -> None:
        super().__init__()
        self.details: dict[str, str] = {}
        self.weak_rationale: str | None = None

    def answer(self, req: dict[str, Any]) -> str:
        system, last = req["messages"][0]["content"], req["messages"][-1]["content"]
        if "You explain one error" in system:
            for line, text in self.details.items():
                if f"CODE LINE: {line}\n" in last:
                    self.calls["details"] += 1
                    return text
        if "strict, fair grader" in system and self.weak_rationale and "softmax" in last:
            self.calls["judge"] += 1
            return f"Score: 2\nRationale: {self.weak_rationale}"
        return super().answer(req)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    srv = PageServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    yield srv
    srv.stop()


def _run(out: Path, **kw: Any) -> Any:
    return run_assessment(
        TOPIC,
        out=out,
        strong_model="openai:strong",
        weak_model="openai:weak",
        judge_model="openai:judge",
        **kw,
    )


@pytest.fixture
def two_span_run(server: PageServer, tmp_path: Path) -> Path:
    server.queue["spans"] = [SPANS_2]
    server.details = {
        "chosen_probs = torch.softmax(chosen_logits, dim=-1)": _details(
            "chosen_logps = chosen_logits.log_softmax(-1)",
            "Sequence log probabilities",
            "critical",
            "DPO works on log-probability ratios of whole sequences.",
            4,
        ),
        "return -(chosen_probs - rejected_probs).mean() / beta": _details(
            "return -F.logsigmoid(beta * logits).mean()",
            "The beta temperature",
            "minor",
            "Beta scales the log-ratio margin before the sigmoid.",
            6,
        ),
    }
    out = tmp_path / "run"
    assert _run(out).differentiated
    return out


def _open(page: Any, path: Path) -> list[str]:
    """Load the page; returns the console errors (a CSP violation shows up there)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri())
    return errors


@pytest.mark.browser
def test_click_on_span_2_opens_explanation_2_only(two_span_run: Path) -> None:
    a = json.loads((two_span_run / STEP_FILES[7]).read_text())
    assert [(e["severity"], e["minutes"]) for e in a["errors"]] == [("critical", 4), ("minor", 6)]
    with browser_page() as page:
        console_errors = _open(page, two_span_run / "assessment.html")
        assert page.locator(".explain").count() == 2
        assert not page.is_visible("#explain-1") and not page.is_visible("#explain-2")  # the script ran
        page.click("#span-2")
        assert page.is_visible("#explain-2") and not page.is_visible("#explain-1")
        panel = page.locator("#explain-2")
        assert panel.locator(".explanation").inner_text() == (
            "Beta divides the difference instead of scaling the log-ratio inside logsigmoid"
        )
        assert panel.locator(".concept").inner_text() == "The beta temperature"
        assert panel.locator(".severity").inner_text() == "minor"
        assert (
            panel.locator(".learning").inner_text() == "Beta scales the log-ratio margin before the sigmoid"
        )
        assert panel.locator(".fix").inner_text() == "return -F.logsigmoid(beta * logits).mean()"
        assert page.get_attribute("#span-2", "aria-expanded") == "true"
        assert page.get_attribute("#span-1", "aria-expanded") == "false"
        page.click("#span-1")  # one open at a time
        assert page.is_visible("#explain-1") and not page.is_visible("#explain-2")
        page.click("#span-1")  # a second click closes it
        assert not page.is_visible("#explain-1")
        # The page's own style applied under its CSP (a wrong hash would leave the span unstyled).
        bg = page.eval_on_selector("#span-1", "el => getComputedStyle(el).backgroundColor")
        assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
        assert console_errors == []


@pytest.mark.browser
def test_keyboard_enter_on_a_focused_span_opens_its_panel(two_span_run: Path) -> None:
    with browser_page() as page:
        _open(page, two_span_run / "assessment.html")
        span = page.locator("#span-1")
        assert span.get_attribute("tabindex") == "0" and span.get_attribute("role") == "button"
        span.focus()
        assert page.evaluate("document.activeElement.id") == "span-1"
        page.keyboard.press("Enter")
        assert page.is_visible("#explain-1") and not page.is_visible("#explain-2")
        assert span.get_attribute("aria-expanded") == "true"
        page.keyboard.press("Tab")  # the next span is the next stop
        assert page.evaluate("document.activeElement.id") == "span-2"
        page.keyboard.press(" ")
        assert page.is_visible("#explain-2") and not page.is_visible("#explain-1")
        page.keyboard.press("Escape")
        assert not page.is_visible("#explain-2")


HOSTILE_WEAK = """```python
import torch

def dpo_loss(chosen_logits, rejected_logits, beta=0.1):
    note = 1  # <img src=x onerror=window.pwned=2;alert(2)>
    chosen_probs = torch.softmax(chosen_logits, dim=-1)
    return -chosen_probs.mean() / beta
```"""
SCRIPT = "<script>window.pwned=1;alert(1)</script>"
IMG = "<img src=x onerror=window.pwned=2;alert(2)>"
LINK = '<a href="javascript:window.pwned=3;alert(3)">click me</a>'


@pytest.mark.browser
def test_hostile_model_output_is_shown_as_text_and_never_runs(server: PageServer, tmp_path: Path) -> None:
    server.queue["categories"] = [f"1. Basics of DPO {SCRIPT}\n2. Preference pairs explained"] * 3
    server.queue["catalog"] = [
        f"1. Pasting {IMG} into logs - Impact: {SCRIPT} - Likelihood: high\n"
        "2. Letting gradients flow into the reference model - Likelihood: low"
    ]
    server.queue["challenge"] = [
        f"Title: DPO loss {LINK}\nTask: Implement the DPO loss for a batch of pairs {SCRIPT}.\n"
        "Requirements:\n1. Compute the loss from log probabilities\nContext: </script><script>alert(4)</script>"
    ]
    server.queue["implementation:weak"] = [HOSTILE_WEAK]
    server.weak_rationale = f"</style></script>{SCRIPT} {LINK}"
    server.queue["spans"] = [
        f"Line: note = 1  # {IMG}\nProblem: It keeps markup {SCRIPT} in a comment for no reason.\n"
        "Line: chosen_probs = torch.softmax(chosen_logits, dim=-1)\nProblem: Softmax probabilities are not log-ratios."
    ]
    server.details = {
        f"note = 1  # {IMG}": _details(
            f"delete it {LINK}", f"Markup {IMG}", "minor", f"Text is not {SCRIPT} code", 2
        ),
        "chosen_probs = torch.softmax(chosen_logits, dim=-1)": _details(
            "chosen_logps = chosen_logits.log_softmax(-1)",
            "Log space",
            "major",
            "Losses live in log space.",
            3,
        ),
    }
    out = tmp_path / "run"
    assert _run(out).differentiated
    html = (out / "assessment.html").read_text()
    assert html.count("<script") == 1 and "<img" not in html and "<a " not in html
    dialogs: list[str] = []
    with browser_page() as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        _open(page, out / "assessment.html")
        for sel in ("#span-1", "#span-2", "#step3 h3", "#step6 p"):
            page.click(sel)
        text = page.inner_text("body")
        assert SCRIPT in text and IMG in text and LINK in text  # shown, as text
        assert "</script><script>alert(4)</script>" in text
        assert page.is_visible("#explain-2")  # the last click still works: the page's script is intact
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('script').length") == 1
        assert page.evaluate("document.querySelectorAll('img, a, iframe, object').length") == 0
    assert dialogs == []


def test_page_is_self_contained_with_a_strict_csp(two_span_run: Path) -> None:
    html = (two_span_run / "assessment.html").read_text()
    assert html == render_page(two_span_run)
    assert not re.search(r"https?://|\bsrc=|\bhref=|@import|url\(", html), "a reference outside the page"
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html
    assert "default-src 'none'" in CSP and "unsafe-inline" not in CSP
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        assert body is not None
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in CSP
    assert re.findall(r'<span class="step-no">([^<]+)</span>', html) == ["1", "2", "3", "4–5", "6", "7"]
    assert html.count('class="pill lk-') == 3  # a likelihood per catalogue mistake


def test_cli_report_rerenders_the_page_from_the_step_files(
    two_span_run: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "elsewhere" / "page.html"
    run = run_cli(capsys, "assess", "report", two_span_run, "--html", page)
    assert run.code == 0, run.err
    assert run.out.strip() == f"wrote {page}"
    assert page.read_text() == (two_span_run / "assessment.html").read_text()
    (two_span_run / "assessment.html").unlink()
    assert run_cli(capsys, "assess", "report", two_span_run).code == 0  # default: RUN_DIR/assessment.html
    assert (two_span_run / "assessment.html").read_text() == page.read_text()


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda a: a["errors"][1].update(severity="high"), r"errors\[1\]\.severity: must be one of critical"),
        (lambda a: a["errors"][0].pop("concept"), r"errors\[0\]\.concept: missing"),
        (lambda a: a["errors"][0].update(minutes="15-20"), r"errors\[0\]\.minutes: must be a whole number"),
        (lambda a: a["errors"][0].update(span="loss = 1"), r"errors\[0\]: span 'loss = 1' is not at line 4"),
    ],
)
def test_cli_report_on_a_damaged_step_file_names_file_and_field(
    two_span_run: Path, capsys, edit: Any, why: str
) -> None:  # type: ignore[no-untyped-def]
    path = two_span_run / STEP_FILES[7]
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    run = run_cli(capsys, "assess", "report", two_span_run, "--html", two_span_run / "x.html")
    assert run.code == 2
    assert re.search(rf"^error: {re.escape(str(path))}: {why}", run.err), run.err
    assert not (two_span_run / "x.html").exists()


def test_cli_report_refuses_a_folder_that_is_not_a_v2_run(two_span_run: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    run = run_cli(capsys, "assess", "report", empty)
    assert run.code == 2 and "no run.json here" in run.err
    manifest = json.loads((two_span_run / "run.json").read_text())
    (two_span_run / "run.json").write_text(json.dumps({**manifest, "pipeline": "alignforge-assess-v1"}))
    run = run_cli(capsys, "assess", "report", two_span_run)
    assert run.code == 2 and "pipeline: this page reads alignforge-assess-v2 runs" in run.err
    (two_span_run / "run.json").write_text(json.dumps(manifest))
    (two_span_run / STEP_FILES[2]).unlink()
    with pytest.raises(ConfigError, match="step2_error_catalog.json: missing, but assessment.json lists it"):
        render_page(two_span_run)


def test_a_run_that_did_not_differentiate_still_gets_a_page(server: PageServer, tmp_path: Path) -> None:
    server.queue["implementation:weak"] = [STRONG_CODE]
    res = _run(tmp_path / "run", attempts=1)
    assert not res.differentiated
    html = (tmp_path / "run" / "assessment.html").read_text()
    assert "Not in this run: student assessment (skipped: no attempt differentiated)" in html
    assert 'role="button"' not in html and "Differentiated: no" in html


def test_the_shipped_example_renders_to_its_own_page() -> None:
    """examples/assess/run is kept equal to what the page code renders (regenerate: see its README)."""
    shipped = (EXAMPLE_RUN / "assessment.html").read_text()
    assert shipped == render_page(EXAMPLE_RUN)
    assert shipped.count('role="button"') >= 2
    assert not (EXAMPLE_RUN / "llm_cache.sqlite").exists()


@pytest.mark.browser
def test_the_shipped_example_opens_offline_and_its_spans_click(tmp_path: Path) -> None:
    with browser_page(offline=True) as page:
        assert _open(page, EXAMPLE_RUN / "assessment.html") == []
        n = page.locator(".error-span").count()
        assert n >= 2
        page.click(f"#span-{n}")
        assert page.is_visible(f"#explain-{n}") and not page.is_visible("#explain-1")

"""The run dashboard: a hand-built manifest rendered to one static page, opened in real headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alignforge.errors import AlignforgeError
from alignforge.workflow.dashboard import load_manifest, render_dashboard, safe_href, write_dashboard
from tests._browser import browser_page

T0 = 1_780_000_000.0
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def _gate(name: str, value: float | None, op: str, bound: float, passed: bool, on_fail: str = "stop") -> dict:
    return {
        "name": name,
        "figure": name,
        "value": value,
        "op": op,
        "bound": bound,
        "unit": "nats/token" if "kl" in name else "",
        "passed": passed,
        "on_fail": on_fail,
    }


def _stage(name: str, status: str, start: float | None, dur: float, **extra: Any) -> dict:
    body = {
        "name": name,
        "title": name.replace("_", " "),
        "status": status,
        "fingerprint": "f" * 16,
        "started": start,
        "finished": None if start is None or status != "finished" else start + dur,
        "duration_s": dur,
        "cost_usd": 0.0125,
        "outputs": {},
        "gates": [],
        "figures": {},
        "report": None,
        "error": None,
    }
    body.update(extra)
    return body


def manifest() -> dict[str, Any]:
    stages = [
        _stage(
            "sft_preparation",
            "finished",
            T0,
            30.0,
            outputs={"out": "01_sft/split.jsonl"},
            figures={"metrics": {"train_rows": 90, "validation_rows": 10}},
        ),
        _stage(
            "preference_data",
            "finished",
            T0 + 30,
            120.0,
            report="02_pairs/report.html",
            outputs={"out": "02_pairs/pairs.jsonl", "evil": "javascript:alert(1)", "abs": "/etc/passwd"},
            gates=[
                _gate("preference_gap", 0.31, ">=", 0.15, True),
                _gate("duplicate_rate", 0.0, "<=", 0.05, True),
            ],
        ),
        _stage(
            "model_init",
            "finished",
            T0 + 150,
            12.0,
            report="https://evil.example/x.html",
            gates=[
                _gate("initial_kl", 0.0004, "<=", 0.01, True),
                _gate("dpo_loss_ln2", 0.6932, "<=", 0.02, True),
            ],
            figures={"initial_kl": 0.0004, "dpo_loss": 0.6932, "passed": True},
        ),
        _stage(
            "dpo_training",
            "finished",
            T0 + 162,
            300.0,
            gates=[
                _gate("kl_divergence", 0.13, "<=", 0.1, False, "flag"),
                _gate("preference_gap", 0.4, ">=", 0.15, True),
            ],
            figures={"metrics": {"kl_divergence": 0.13, "reward_margin": 0.4, "preference_accuracy": 0.7}},
        ),
        _stage("rounds", "failed", T0 + 462, 50.0, error=f"round 2 crashed: {HOSTILE}"),
        _stage(HOSTILE, "running", T0 + 512, 5.0),
        _stage("evaluation", "pending", None, 0.0),
    ]
    return {
        "workflow": "dpo",
        "file": f"dpo_workflow{HOSTILE}.yaml",
        "created": T0,
        "updated": T0 + 520,
        "stages": stages,
        "rounds": [
            {
                "round": 1,
                "checkpoint": "05_dpo/round1",
                "metrics": {"margin": 0.4, "kl": 0.05, "accuracy": 0.7, "win_rate": 0.55, "retention": 0.98},
                "decision": "continue",
                "reason": "margin +0.40",
            },
            {
                "round": 2,
                "checkpoint": "06_rounds/round2",
                "metrics": {"margin": 0.6, "kl": 0.09, "accuracy": 0.75, "win_rate": 0.6, "retention": 0.97},
                "decision": "rollback",
                "reason": f"kl regressed {HOSTILE}",
            },
            {
                "round": 3,
                "checkpoint": "06_rounds/round3",
                "metrics": {"margin": 0.61, "kl": 0.08, "accuracy": None, "win_rate": 0.6, "retention": 0.97},
                "decision": "stop",
                "reason": "gain 0.01 under 0.02",
            },
        ],
        "evaluation": {
            "suites": {
                "gsm8k": {
                    "baseline": {"metric": "accuracy", "score": 0.30, "se": 0.02, "n": 500},
                    "tuned": {"metric": "accuracy", "score": 0.29, "se": 0.02, "n": 500},
                    "ratio": 0.967,
                    "z": -0.35,
                    "p": 0.72,
                },
                "humaneval": {
                    "baseline": {"metric": "pass@1", "score": 0.15, "se": 0.028, "n": 164},
                    "tuned": {"metric": "pass@1", "score": 0.12, "se": 0.025, "n": 164},
                    "ratio": 0.8,
                    "z": -0.8,
                    "p": 0.42,
                },
            },
            "retention": 0.88,
            "win_rate": {"win_rate": 0.62, "se": 0.03, "lc_win_rate": 0.58, "n": 200},
        },
        "decision": {
            "deploy": False,
            "failed": ["capability_retention", "humaneval_baseline_threshold"],
            "reason": "capability retention 0.88 < 0.95",
        },
    }


def write_run(tmp_path: Path, body: dict[str, Any] | None = None) -> Path:
    run = tmp_path / "run"
    (run / "02_pairs").mkdir(parents=True)
    (run / "02_pairs" / "report.html").write_text("<p>pairs report</p>")
    (run / "manifest.json").write_text(json.dumps(body if body is not None else manifest()))
    return run


def test_page_is_static_and_escaped(tmp_path: Path) -> None:
    page = render_dashboard(write_run(tmp_path))
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "script-src 'none'" in page
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert 'href="javascript:' not in page and 'href="https:' not in page and 'href="/etc' not in page
    assert 'href="02_pairs/report.html"' in page
    assert "not linked: not a relative path inside the run directory" in page


@pytest.mark.parametrize(
    ("rel", "linked"),
    [
        ("02_pairs/report.html", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("https://evil.example/", False),
        ("//evil.example/x", False),
        ("/etc/passwd", False),
        ("../outside.html", False),
        ("a/../../outside.html", False),
        ("a\\..\\b", False),
        ("data:text/html,x", False),
        ("a\nb", False),
    ],
)
def test_only_relative_paths_inside_the_run_are_linked(tmp_path: Path, rel: str, linked: bool) -> None:
    href, _ = safe_href(tmp_path, rel)
    assert (href is not None) is linked


def test_links_from_a_page_written_elsewhere_point_into_the_run(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    (tmp_path / "site").mkdir()
    out = write_dashboard(run, tmp_path / "site" / "dash.html")
    assert 'href="../run/02_pairs/report.html"' in out.read_text()
    assert (run / "manifest.json").is_file() and not (run / "dashboard.html").exists()


def test_in_chromium_rows_gates_decision_and_nothing_runs(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    page_path = write_dashboard(run)
    console: list[str] = []
    with browser_page(viewport={"width": 1280, "height": 900}) as page:
        page.on("console", lambda m: console.append(m.text))
        page.goto(page_path.as_uri())
        rows = page.locator("tr.stage")
        assert rows.count() == 7
        statuses = [rows.nth(i).get_attribute("data-status") for i in range(7)]
        assert statuses == ["finished", "finished", "finished", "finished", "failed", "running", "pending"]
        # The hostile stage name and error are text, not markup; no script ran, no image was made.
        assert page.evaluate("window.__pwned") is None
        assert page.locator("img").count() == 0
        assert HOSTILE in rows.nth(5).locator("b").inner_text()
        assert HOSTILE in rows.nth(4).locator(".err").inner_text()
        # Gate cells: value against bound, verdicts.
        kl = page.locator('tr.stage[data-stage="dpo_training"] tr.gate[data-gate="kl_divergence"]')
        assert kl.get_attribute("data-passed") == "false"
        assert kl.locator(".value").inner_text() == "0.13"
        assert kl.locator(".bound").inner_text() == "<= 0.1"
        assert "flag" in kl.inner_text()
        assert page.locator('tr.gate[data-passed="true"]').count() == 5
        # Timeline bars for the stages that started, none for the pending one.
        assert page.locator("tr.stage rect.bar").count() == 6
        # Rounds, evaluation, decision.
        decisions = page.locator("tr.round").evaluate_all("rs => rs.map(r => r.dataset.decision)")
        assert decisions == ["continue", "rollback", "stop"]
        assert page.locator("tr.suite").count() == 2
        verdict = page.locator("#decision")
        assert verdict.get_attribute("data-deploy") == "false"
        assert verdict.inner_text() == "DO NOT DEPLOY"
        assert page.locator("li.failed-gate").all_inner_texts() == [
            "capability_retention",
            "humaneval_baseline_threshold",
        ]
        # The report link resolves to the file in the run directory; refused paths are not links.
        hrefs = page.locator("a").evaluate_all("as => as.map(a => a.href)")
        assert hrefs == [
            (run / "01_sft" / "split.jsonl").as_uri(),
            (run / "02_pairs" / "report.html").as_uri(),
            (run / "02_pairs" / "pairs.jsonl").as_uri(),
        ]
        # Charts drew: 5 round metrics + the suites' bars, each with a real size.
        charts = page.locator("div.chart svg")
        assert charts.count() == 6
        box = charts.first.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
        # The CSP let the inline style apply (a blocked stylesheet would leave the verdict unstyled).
        colour = verdict.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(255, 235, 238)"
        shot = page.screenshot(full_page=True)
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(shot)).convert("RGB")
    assert image.width == 1280 and image.height > 900
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # not a blank page
    assert not [m for m in console if "Content Security Policy" in m]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.pop("stages"), "'stages': missing"),
        (lambda m: m.update(stages="x"), "'stages': expected a list"),
        (lambda m: m["stages"][2].update(status="done"), "'stages[2].status': expected one of"),
        (
            lambda m: m["stages"][1]["gates"][0].update(value="high"),
            "'stages[1].gates[0].value': expected a number",
        ),
        (lambda m: m["stages"][1]["gates"][0].pop("passed"), "'stages[1].gates[0].passed': missing"),
        (lambda m: m["rounds"][1].update(decision="maybe"), "'rounds[1].decision': expected one of"),
        (lambda m: m["decision"].update(deploy="yes"), "'decision.deploy': expected true or false"),
        (lambda m: m["evaluation"]["suites"]["gsm8k"].update(z="big"), "'evaluation.suites.gsm8k.z'"),
    ],
)
def test_malformed_manifest_names_file_and_field(tmp_path: Path, mutate: Any, field: str) -> None:
    body = manifest()
    mutate(body)
    run = write_run(tmp_path, body)
    with pytest.raises(AlignforgeError) as err:
        render_dashboard(run)
    assert str(run / "manifest.json") in str(err.value)
    assert field in str(err.value)


def test_missing_or_broken_manifest(tmp_path: Path) -> None:
    with pytest.raises(AlignforgeError, match=r"manifest\.json: manifest not found"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"workflow": "dpo",\n "stages": [}')
    with pytest.raises(AlignforgeError, match=r"manifest\.json:2: not valid JSON"):
        load_manifest(tmp_path)

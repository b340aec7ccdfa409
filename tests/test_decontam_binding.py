"""Decontamination figures that cannot be forged (issue #11 §2) and the default benchmark folder.

Every test points HOME, ALIGNFORGE_CACHE_DIR and ALIGNFORGE_BENCHMARK_DIR at tmp_path: nothing
here reads or writes the real ~/.cache.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from alignforge.io import write_jsonl
from alignforge.quality import check_file, enforce_gates, validate_dpo_pairs
from alignforge.quality._synthetic import synthetic_dpo_rows
from tests._cli import run_cli


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ALIGNFORGE_BENCHMARK_DIR", raising=False)
    monkeypatch.delenv("ALIGNFORGE_CACHE_DIR", raising=False)
    return home


def gsm8k_questions(benchmarks_dir: Path, n: int) -> list[str]:
    with gzip.open(benchmarks_dir / "gsm8k" / "test.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for _, line in zip(range(n), fh, strict=False)]


@pytest.fixture
def forged(tmp_path: Path, benchmarks_dir: Path) -> Path:
    """1,000 well-scored pairs; 200 prompts are GSM8K test questions; every row says it is clean."""
    rows = list(synthetic_dpo_rows(1000, seed=11))
    for i, q in enumerate(gsm8k_questions(benchmarks_dir, 200)):
        rows[i * 5]["prompt"] = q
    assert all(r["metadata"]["contaminated"] is False for r in rows)
    path = tmp_path / "forged.jsonl"
    write_jsonl(path, rows)
    return path


def gate(result, name: str):
    return next(g for g in result.gates if g.name == name)


def test_row_flags_never_feed_the_gate(forged: Path, tmp_path: Path, capsys) -> None:
    # No scan, no report: the rows' "contaminated": false claims measure nothing; the gate fails closed.
    run = run_cli(capsys, "check", forged, "--json", tmp_path / "m.json")
    assert run.code == 1
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["decontamination"] is None
    assert figures["decontamination_claimed"] == 1.0  # informational, under another name
    g = gate(check_file(forged), "decontamination")
    assert g.status == "not measured" and "alignforge check FILE --against" in g.note
    assert "decontaminate FILE --report" in g.note


def test_check_against_measures_the_forged_file(
    forged: Path, benchmarks_dir: Path, tmp_path: Path, capsys
) -> None:
    run = run_cli(
        capsys,
        "check",
        forged,
        "--against",
        "gsm8k",
        "--benchmark-dir",
        benchmarks_dir,
        "--json",
        tmp_path / "m.json",
    )
    assert run.code == 1, run.err
    data = json.loads((tmp_path / "m.json").read_text())
    f = data["figures"]
    assert f["decontamination"] == pytest.approx(0.8)
    assert f["per_benchmark"]["gsm8k"] == {"items": 1319, "overlapped_items": 200, "share": 200 / 1319}
    assert f["max_benchmark_share"] == pytest.approx(200 / 1319)
    assert f["decontamination_source"]["method"] == "scan"
    assert f["decontamination_source"]["contaminated_first_lines"][:3] == [1, 6, 11]
    status = {g["name"]: g["status"] for g in data["gates"]}
    assert status["decontamination"] == "fail" and status["max_benchmark_share"] == "fail"


def test_report_is_bound_to_the_file_it_scanned(
    forged: Path, benchmarks_dir: Path, tmp_path: Path, capsys
) -> None:
    report, clean = tmp_path / "rep.json", tmp_path / "clean.jsonl"
    run = run_cli(
        capsys,
        "decontaminate",
        forged,
        "--against",
        "gsm8k",
        "--benchmark-dir",
        benchmarks_dir,
        "--report",
        report,
        "--out",
        clean,
    )
    assert run.code == 1  # 0.8 < 0.9
    rep = json.loads(report.read_text())
    assert rep["scanned"]["path"] == str(forged.resolve()) and rep["scanned"]["rows"] == 1000
    assert rep["output"]["rows"] == 800 and rep["output"]["path"] == str(clean.resolve())
    # A matching report is accepted: the gate reads the report's figure.
    r = check_file(forged, decontam_report=report)
    assert gate(r, "decontamination").value == pytest.approx(0.8)
    assert r.figures["decontamination_source"]["measured_as"] == "scanned"
    # The clean output: its own figures, counted as it was written (800 clean rows, nothing overlapped).
    r = check_file(clean, decontam_report=report)
    assert gate(r, "decontamination").status == "pass" and gate(r, "decontamination").value == 1.0
    assert r.figures["max_benchmark_share"] == 0.0
    assert r.figures["per_benchmark"]["gsm8k"]["overlapped_items"] == 0
    # ... and that is what a scan of the output finds too.
    scanned = check_file(clean, against="gsm8k", benchmark_dir=benchmarks_dir)
    assert scanned.figures["decontamination"] == 1.0 and scanned.figures["max_benchmark_share"] == 0.0
    # A report for another file: exit 2, naming both files.
    other = tmp_path / "other.jsonl"
    write_jsonl(other, synthetic_dpo_rows(50, seed=2))
    run = run_cli(capsys, "check", other, "--decontam-report", report)
    assert run.code == 2
    assert str(forged.resolve()) in run.err and str(other) in run.err and "--against" in run.err
    # The same file edited after the scan (one prompt changed back to a clean one): refused too.
    lines = forged.read_text().splitlines()
    row = json.loads(lines[0])
    row["prompt"] = "Explain sourdough starters in two sentences."
    lines[0] = json.dumps(row)
    forged.write_text("\n".join(lines) + "\n")
    run = run_cli(capsys, "check", forged, "--decontam-report", report)
    assert run.code == 2 and str(forged.resolve()) in run.err and "edited" in run.err


def test_a_report_without_a_hash_is_refused(forged: Path, tmp_path: Path, capsys) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"decontamination_score": 1.0, "per_benchmark": {}}))
    run = run_cli(capsys, "check", forged, "--decontam-report", old)
    assert run.code == 2 and "scanned.sha256" in run.err and "older alignforge" in run.err


def test_gates_file_entry_scans_and_is_validated(
    forged: Path, benchmarks_dir: Path, tmp_path: Path, capsys
) -> None:
    run = run_cli(capsys, "gates", "init")
    assert "# decontamination:" in run.out  # offered, commented
    text = run.out + f"decontamination:\n  against: [gsm8k]\n  benchmark_dir: {benchmarks_dir}\n"
    gates = tmp_path / "gates.yaml"
    gates.write_text(text)
    r = check_file(forged, gates=gates)
    assert gate(r, "decontamination").status == "fail"
    assert r.figures["decontamination"] == pytest.approx(0.8)
    assert run_cli(capsys, "gates", "validate", gates).code == 0
    for bad, expected in [
        ("decontamination:\n  against: [gsm8k]\n  dir: x\n", "unknown keys ['dir']"),
        (
            "decontamination:\n  against: [gsm9k]\n",
            "'decontamination.against' names unknown benchmark 'gsm9k'",
        ),
        ("decontamination:\n  against: []\n", "'decontamination.against' must be a non-empty list"),
    ]:
        gates.write_text(bad)
        run = run_cli(capsys, "check", forged, "--gates", gates)
        assert run.code == 2 and expected in run.err, run.err


def test_default_benchmark_dir_import_and_seed_api(
    forged: Path, benchmarks_dir: Path, isolated: Path, tmp_path: Path, capsys
) -> None:
    from alignforge.curate import calculate_decontamination, default_benchmark_dir

    cache = isolated / ".cache" / "alignforge" / "benchmarks"
    assert default_benchmark_dir() == cache
    # Nothing there yet: the seeds' API cannot measure, and says how to.
    m = validate_dpo_pairs(forged)
    assert m.decontamination is None and not m.passes_thresholds()
    msg = next(x for x in m.failures() if x.startswith("decontamination"))
    assert "--against" in msg and "decontaminate FILE --report" in msg
    # The missing-benchmark error names the benchmark, the folder and the fixes.
    with pytest.raises(Exception, match="benchmark 'gsm8k' not found") as exc:
        calculate_decontamination(training_data=forged, eval_benchmarks=["gsm8k"])
    text = str(exc.value)
    assert str(cache / "gsm8k") in text and "alignforge benchmarks import DIR" in text
    assert "ALIGNFORGE_BENCHMARK_DIR" in text
    run = run_cli(capsys, "check", forged, "--against", "gsm8k")
    assert run.code == 2 and "benchmarks import" in run.err
    # Import them; the seed's call works with no folder argument.
    run = run_cli(capsys, "benchmarks", "import", benchmarks_dir)
    assert run.code == 0, run.err
    assert (cache / "gsm8k" / "test.jsonl.gz").read_bytes() == (
        benchmarks_dir / "gsm8k" / "test.jsonl.gz"
    ).read_bytes()
    assert calculate_decontamination(training_data=forged, eval_benchmarks=["gsm8k"]) == pytest.approx(0.8)
    run = run_cli(capsys, "benchmarks", "list")
    assert str(cache / "gsm8k" / "test.jsonl.gz") in run.out
    # The seeds' API now scans the default set found there.
    m = validate_dpo_pairs(forged)
    assert m.decontamination == pytest.approx(0.8)
    assert set(m.figures["decontamination_source"]["against"]) == {
        "gsm8k",
        "humaneval",
        "math500",
        "mbpp",
        "truthfulqa",
    }
    assert any(x.startswith("decontamination: 0.8") for x in m.failures())
    assert not enforce_gates("preference_data", forged, verbose=False)


def test_benchmark_dir_env_var(forged: Path, benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alignforge.curate import calculate_decontamination

    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))
    assert calculate_decontamination(training_data=forged, eval_benchmarks=["gsm8k"]) == pytest.approx(0.8)


def test_import_validates_before_writing(
    tmp_path: Path, benchmarks_dir: Path, isolated: Path, capsys
) -> None:
    src = tmp_path / "src"
    (src / "gsm8k").mkdir(parents=True)
    (src / "mbpp").mkdir()
    (src / "gsm8k" / "test.jsonl.gz").write_bytes((benchmarks_dir / "gsm8k" / "test.jsonl.gz").read_bytes())
    (src / "mbpp" / "mbpp.jsonl").write_text('{"task_id": 1, "text": "x"\n')  # broken JSON
    run = run_cli(capsys, "benchmarks", "import", src)
    assert run.code == 2 and "mbpp.jsonl:1" in run.err
    assert not (isolated / ".cache" / "alignforge" / "benchmarks").exists()  # nothing half-imported
    run = run_cli(capsys, "benchmarks", "import", tmp_path / "empty")
    assert run.code == 2 and "no such folder" in run.err


def test_parallel_pass_scans_the_same(
    forged: Path, benchmarks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alignforge.quality.check as chk

    sequential = chk.check_file(forged, against="gsm8k", benchmark_dir=benchmarks_dir).figures
    monkeypatch.setattr(chk, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(chk.os, "sched_getaffinity", lambda _: {0, 1, 2})
    assert chk._parallel_workers(forged, chk.Kind.DPO, "raise") == 3
    parallel = chk.check_file(forged, against="gsm8k", benchmark_dir=benchmarks_dir).figures
    for key in ("decontamination", "per_benchmark", "max_benchmark_share", "contaminated_rows"):
        assert parallel[key] == sequential[key], key
    assert parallel["decontamination_source"] == sequential["decontamination_source"]
    assert sequential["decontamination"] == pytest.approx(0.8)


def test_hub_rows_fill_the_default_folder(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The hub cannot be reached here: a stand-in for `datasets` yields rows in the hub's shape once.
    import alignforge.curate.benchmarks as bm

    served: list[str] = []

    def hub_rows(hub: str, config: str | None, split: str):
        served.append(hub)
        yield {
            "question": "Tom has 3 apples and buys 4 more. How many apples does Tom have now?",
            "answer": "#### 7",
        }

    monkeypatch.setattr(bm, "_hub_rows", hub_rows)
    monkeypatch.setattr(bm, "_offline", lambda: False)
    items = list(bm.load_benchmark("gsm8k"))
    assert served == ["openai/gsm8k"] and items[0].answer == "#### 7"
    cached = bm.default_benchmark_dir() / "gsm8k" / "hub.jsonl"
    assert json.loads(cached.read_text())["answer"] == "#### 7"
    monkeypatch.setattr(bm, "_offline", lambda: True)
    assert [it.id for it in bm.load_benchmark("gsm8k")] == ["gsm8k/test/0"] and served == ["openai/gsm8k"]
    assert bm.available_benchmarks(names=["gsm8k", "mbpp"]) == ["gsm8k"]
    # A folder the user names is never written to.
    monkeypatch.setattr(bm, "_offline", lambda: False)
    mine = isolated / "mine"
    list(bm.load_benchmark("gsm8k", benchmark_dir=mine))
    assert not mine.exists()

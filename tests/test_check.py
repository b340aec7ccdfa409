"""check: figures per kind, gates with exit codes, the row-level filter, split, and the seeds' API."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from alignforge.io import write_jsonl
from alignforge.quality import check_file, check_quality_gates, enforce_gates, split_file, validate_dpo_pairs
from alignforge.quality._synthetic import synthetic_dpo_rows
from tests._cli import run_cli


def pair(
    prompt: str, chosen: str, rejected: str, cs: float | None = 9.5, rs: float | None = 3.0, **meta
) -> dict:
    row = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    m = {k: v for k, v in {"chosen_score": cs, "rejected_score": rs, **meta}.items() if v is not None}
    if m:
        row["metadata"] = m
    return row


def test_dpo_figures_are_exact_on_a_hand_made_file(tmp_path):
    rows = [
        pair(
            "p1", "good answer", "bad", 9.5, 3.0, flaw_type="incomplete", strategy="flaw", contaminated=False
        ),
        pair(
            "p2",
            "good answer two",
            "meh",
            8.0,
            7.0,
            flaw_type="hallucinated",
            strategy="flaw",
            contaminated=True,
        ),
        pair("p1", "good answer", "bad", 9.5, 3.0),  # exact duplicate of line 1
        pair("p3", "A", "B", 10.0, 0.0),
        pair("p3", "B", "A", 10.0, 0.0),  # conflicts with line 4
        pair("p4", "same", "same", None, None),  # identical, unscored
    ]
    write_jsonl(tmp_path / "d.jsonl", rows)
    r = check_file(tmp_path / "d.jsonl")
    f = r.figures
    assert (f["total_pairs"], f["unique_prompts"], f["scored_pairs"]) == (6, 4, 5)
    assert f["avg_chosen"] == pytest.approx((9.5 + 8 + 9.5 + 10 + 10) / 5)
    assert f["avg_rejected"] == pytest.approx((3 + 7 + 3 + 0 + 0) / 5)
    assert f["avg_gap"] == pytest.approx(f["avg_chosen"] - f["avg_rejected"])
    assert (f["identical_pairs"], f["duplicate_pairs"], f["conflicting_pairs"], f["conflicting_prompts"]) == (
        1,
        1,
        2,
        1,
    )
    assert f["flaw_mix"] == {"incomplete": 0.5, "hallucinated": 0.5}
    assert f["flaw_mix_max_deviation"] == pytest.approx(0.35)
    # Rows' own flags are a claim, reported apart; the gate's figure is measured (here: not at all).
    assert f["decontamination"] is None
    assert f["decontamination_claimed"] == 0.5 and f["decontamination_claimed_rows"] == 2
    fails = f["row_failures"]
    assert fails["chosen_score"]["first_lines"] == [2, 6]
    assert fails["rejected_score"]["first_lines"] == [2, 6]
    assert fails["unique"]["first_lines"] == [3]
    assert fails["no_conflict"]["first_lines"] == [4, 5]
    assert f["histograms"]["chosen_score"]["counts"][20] == 2  # the two 10.0 scores land in the last bin
    assert not r.passed
    names = {g.name for g in r.failed_gates}
    assert {"total_pairs", "duplicate_pairs", "conflicting_prompts", "decontamination"} <= names


def test_exit_codes_and_keep_passing(tmp_path, capsys, benchmarks_dir, monkeypatch):
    monkeypatch.setenv(
        "ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache")
    )  # the --against index, not in ~/.cache
    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, synthetic_dpo_rows(1200, seed=3))
    gates = tmp_path / "gates.yaml"
    run = run_cli(capsys, "gates", "init")
    gates.write_text(run.out)
    run = run_cli(capsys, "check", data, "--gates", gates, "--keep-passing", tmp_path / "kept.jsonl")
    assert run.code == 1 and "chosen_score (per row)" in run.out
    kept = tmp_path / "kept.jsonl"
    n_kept = sum(1 for _ in kept.open())
    assert 0 < n_kept < 1200 and f"kept {n_kept:,} rows" in run.out
    # The kept rows pass every row gate; loosen the dataset gates that a smaller file cannot meet.
    loose = gates.read_text().replace("total_pairs: {min: 1000", "total_pairs: {min: 10")
    gates.write_text(loose)
    run = run_cli(
        capsys,
        "check",
        kept,
        "--gates",
        gates,
        "--json",
        tmp_path / "k.json",
        "--against",
        "gsm8k,mbpp",
        "--benchmark-dir",
        benchmarks_dir,
    )
    assert run.code == 0, run.out
    assert json.loads((tmp_path / "k.json").read_text())["passed"] is True


def test_missing_figures_fail_closed(tmp_path):
    write_jsonl(tmp_path / "u.jsonl", [pair(f"p{i}", f"c{i}", f"r{i}", None, None) for i in range(3)])
    r = check_file(tmp_path / "u.jsonl")
    status = {g.name: g.status for g in r.gates}
    assert status["avg_chosen"] == "not measured" and status["decontamination"] == "not measured"
    assert status["max_benchmark_share"] == "pass"  # optional gates say so and do not fail


def test_decontam_report_is_picked_up(tmp_path):
    from alignforge.quality._decontam import file_sha256

    write_jsonl(tmp_path / "d.jsonl", synthetic_dpo_rows(20, seed=1))
    report = {
        "scanned": {
            "path": str(tmp_path / "d.jsonl"),
            "sha256": file_sha256(tmp_path / "d.jsonl"),
            "rows": 20,
        },
        "decontamination_score": 0.85,
        "per_benchmark": {"gsm8k": {"items": 1319, "overlapped_items": 40, "share": 0.0303}},
    }
    (tmp_path / "rep.json").write_text(json.dumps(report))
    r = check_file(tmp_path / "d.jsonl", decontam_report=tmp_path / "rep.json")
    status = {g.name: (g.status, g.value) for g in r.gates}
    assert status["decontamination"] == ("fail", 0.85)
    assert status["max_benchmark_share"] == ("fail", 0.0303)


def test_other_kinds(tmp_path):
    sft = [
        {
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            "metadata": {"score": 9.0},
        },
        {
            "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
            "metadata": {"score": 5.0},
        },
        {"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}]},
    ]
    write_jsonl(tmp_path / "sft.jsonl", sft)  # one shape per file: every row conversational
    f = check_file(tmp_path / "sft.jsonl").figures
    assert f["invalid_conversations"] == 1 and f["messages_valid_share"] == pytest.approx(2 / 3)
    assert f["share_score_ge_min"] == 0.5 and f["score_coverage"] == pytest.approx(2 / 3)
    assert f["conversation_problems"] == {"two user turns in a row": 1, "last turn is not assistant": 1}

    kto = [{"prompt": f"p{i}", "completion": "c", "label": i < 13} for i in range(20)]
    write_jsonl(tmp_path / "kto.jsonl", kto)
    r = check_file(tmp_path / "kto.jsonl")
    assert r.figures["positive_share"] == 0.65
    assert {g.name: g.status for g in r.gates}["positive_share"] == "pass"

    grpo = [{"prompt": "2+2?", "answer": "4"}, {"prompt": "3+3?"}]
    write_jsonl(tmp_path / "grpo.jsonl", grpo)
    f = check_file(tmp_path / "grpo.jsonl", kind="grpo").figures
    assert f["prompt_only_share"] == 1.0 and f["reward_spec_share"] == 0.5

    rlvr = [
        {
            "task_id": "t1",
            "prompt": "Write add(a, b).",
            "entry_point": "add",
            "tests": ["assert add(1,2)==3"] * 3,
            "domain": "code",
        },
        {
            "task_id": "t2",
            "prompt": "Write a function.",
            "entry_point": "mul",
            "tests": "def test_a():\n    assert mul(2,3)==6\n",
            "domain": "code",
        },
        {
            "task_id": "t1",
            "prompt": "What is 2+3? Use f.",
            "entry_point": "f",
            "tests": ["assert f()==5"] * 4,
            "domain": "math",
        },
    ]
    write_jsonl(tmp_path / "rlvr.jsonl", rlvr)
    verdicts = [
        {"task_id": "t1", "passed": True, "status": "passed"},
        {"task_id": "t2", "passed": False, "status": "error"},
    ]
    write_jsonl(tmp_path / "v.jsonl", verdicts)
    f = check_file(tmp_path / "rlvr.jsonl", verdicts=tmp_path / "v.jsonl").figures
    assert f["entry_point_hidden_examples"] == ["t2"] and f["duplicate_task_ids"] == 1
    assert f["tests_per_task_histogram"] == {"1": 1, "3": 1, "4": 1}
    assert f["domain_mix"] == {"code": pytest.approx(2 / 3), "math": pytest.approx(1 / 3)}
    assert f["verifiability"] == pytest.approx(0.5)


def test_math_tasks_with_an_answer_are_rlvr_and_exempt_from_the_tests_gate(tmp_path):
    rows = [
        {"task_id": "m1", "prompt": "What is 2+2?", "answer": "4", "domain": "math"},
        {"task_id": "m2", "prompt": "What is 3*3?", "answer": 9, "domain": "math"},
        {
            "task_id": "c1",
            "prompt": "Write add(a, b).",
            "entry_point": "add",
            "tests": ["assert add(1,2)==3"] * 3,
        },
    ]
    write_jsonl(tmp_path / "t.jsonl", rows)
    res = check_file(tmp_path / "t.jsonl")
    assert res.kind == "rlvr"
    f = res.figures
    assert (f["tasks"], f["tasks_with_tests"], f["tasks_with_answer_only"]) == (3, 1, 2)
    assert f["share_tests_in_range"] == 1.0 and f["tests_per_task_histogram"] == {"3": 1}
    write_jsonl(tmp_path / "bad.jsonl", [{"task_id": "m1", "prompt": "What is 2+2?", "answer": ""}])
    with pytest.raises(Exception, match="bad.jsonl:1.*answer"):
        check_file(tmp_path / "bad.jsonl", kind="rlvr")


def test_split_keeps_prompts_on_one_side(tmp_path):
    rows = [pair(f"prompt {i % 50}", f"c{i}", f"r{i}") for i in range(500)]
    write_jsonl(tmp_path / "d.jsonl", rows)
    info = split_file(tmp_path / "d.jsonl", tmp_path, validation=0.2, seed=7)
    assert info["train"] + info["validation"] == 500
    read = lambda p: {json.loads(x)["prompt"] for x in open(p)}  # noqa: E731
    train, val = read(info["train_file"]), read(info["validation_file"])
    assert train and val and not (train & val)
    assert 0.05 < info["validation"] / 500 < 0.4


def test_seed_api(tmp_path, capsys, benchmarks_dir, monkeypatch):
    # validate_dpo_pairs scans the default benchmarks found in the benchmark folder.
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))
    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "pairs.jsonl"
    write_jsonl(path, synthetic_dpo_rows(1500, seed=5))
    m = validate_dpo_pairs(dpo_path=path, gap_threshold=3.0)
    assert m.total_pairs == 1500 and m.decontamination == 1.0
    assert m.avg_chosen >= 9.0 and m.avg_rejected <= 6.0 and m.avg_gap >= 3.0
    assert m.passes_thresholds()
    strict = validate_dpo_pairs(path, gap_threshold=0.9, scale="0-1")  # 9.0 on the 0-10 scale
    assert not strict.passes_thresholds() and strict.failures()[0].startswith("avg_gap")
    with pytest.warns(UserWarning, match="0-1"):
        validate_dpo_pairs(path, gap_threshold=0.15)
    assert enforce_gates("dpo_training", kl_divergence=0.08, figures={"reward_margin": 0.3}, verbose=False)
    assert not enforce_gates("dpo_training", kl_divergence=0.2, figures={"reward_margin": 0.3}, verbose=False)
    assert enforce_gates("dpo_training", kl_divergence=0.08, reward_margin=0.21, verbose=False)
    assert not enforce_gates("dpo_training", kl_divergence=0.08, reward_margin=0.1, verbose=False)
    assert not enforce_gates("evaluation", capability_retention=94.0, verbose=False)
    assert enforce_gates("evaluation", capability_retention=96.5, verbose=True)
    assert "capability_retention" in capsys.readouterr().out
    ckpt = tmp_path / "checkpoint-10"
    ckpt.mkdir()
    config = {"constraints": {"kl_target": 0.1, "preference_gap_target": 0.15}}
    assert check_quality_gates(ckpt, config)["gates_passed"] is False  # no metrics file: fails, not zero
    (ckpt / "training_metrics.json").write_text(json.dumps({"kl_divergence": 0.04, "reward_margin": 0.4}))
    assert check_quality_gates(ckpt, config) | {"reasons": []} == {
        "kl_divergence": 0.04,
        "preference_gap": 0.4,
        "gates_passed": True,
        "reasons": [],
    }
    (ckpt / "training_metrics.json").write_text(json.dumps({"kl_divergence": 0.3, "reward_margin": 0.4}))
    assert check_quality_gates(ckpt, config)["gates_passed"] is False


def test_bad_gates_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "g.yaml").write_text("preference_data:\n  avg_chosen: {minimum: 9}\n")
    write_jsonl(tmp_path / "d.jsonl", synthetic_dpo_rows(3))
    run = run_cli(capsys, "check", tmp_path / "d.jsonl", "--gates", tmp_path / "g.yaml")
    assert run.code == 2 and "unknown keys ['minimum']" in run.err


def test_import_and_help_load_no_heavy_libraries():
    code = (
        "import sys, alignforge, alignforge.quality, alignforge.io\n"
        "from alignforge.cli import cli\n"
        "from click.testing import CliRunner\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'sentence_transformers', 'pandas') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("spill_rows", [None, 97])
def test_parallel_scan_matches_the_sequential_one(tmp_path, monkeypatch, spill_rows):
    import alignforge.quality._hashstore as store
    import alignforge.quality.check as chk

    if spill_rows:  # hashes go to disk buckets early: same exact answers, bounded memory
        monkeypatch.setattr(store, "SPILL_ROWS", spill_rows)
    # Spill folders of this test only: another test (or process) may be spilling in the shared /tmp.
    spills = tmp_path / "tmp"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(real_mkdtemp(*a, **k)) or made[-1])

    path = tmp_path / "big.jsonl"
    rows = list(synthetic_dpo_rows(3000, seed=9))
    rows[2500] = dict(rows[10])  # a duplicate far from its original, in the second byte range
    rows[2600] = {**rows[20], "chosen": rows[20]["rejected"], "rejected": rows[20]["chosen"]}  # a conflict
    write_jsonl(path, rows)
    sequential = chk.check_file(path).figures
    monkeypatch.setattr(chk, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(chk.os, "sched_getaffinity", lambda _: {0, 1, 2})
    parallel = chk.check_file(path).figures
    floats = {k for k, v in sequential.items() if isinstance(v, float)}
    assert {k: parallel[k] for k in floats} == pytest.approx({k: sequential[k] for k in floats})
    assert {k: v for k, v in parallel.items() if k not in floats} == {
        k: v for k, v in sequential.items() if k not in floats
    }
    assert parallel["row_failures"]["unique"]["first_lines"] == [2501]
    assert parallel["row_failures"]["no_conflict"]["first_lines"] == [21, 2601]
    # An error in a later range is reported with its line number in the whole file.
    with open(path, "ab") as fh:
        fh.write(b'{"prompt": "p", "chosen": 5, "rejected": "r"}\n')
    with pytest.raises(chk.DataError, match=r":3001: field 'chosen'"):
        chk.check_file(path)
    assert bool(made) == bool(spill_rows) and all(Path(d).parent == spills for d in made)
    assert not list(spills.iterdir()), "spill folders are removed"

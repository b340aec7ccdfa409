"""The review sample: seeded, stratified, reproducible, per kind of file; bad input names file and line."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from _cli import run_cli
from _review_helpers import dpo_rows, write_rows

from alignforge.errors import AlignforgeError
from alignforge.io import DataError
from alignforge.review import draw_sample, open_review, store_path


def _mixed(tmp_path):
    rows = (
        dpo_rows(300, strategy="flaw", flaw_type="factual")
        + dpo_rows(150, strategy="flaw", flaw_type="logic", start=300)
        + dpo_rows(45, strategy="best-of-n", start=450)
        + dpo_rows(5, strategy="reference", start=495)
    )
    rows[-1]["metadata"]["rejected_score"] = 8.0  # a gap of 1.5: its own score band
    return write_rows(tmp_path / "pairs.jsonl", rows)


def test_sample_is_stratified_proportional_with_one_per_stratum_and_reproducible(tmp_path):
    data = _mixed(tmp_path)
    s = draw_sample(data, 0.1, seed=7)
    assert s.rows == 500 and s.by == ["strategy", "flaw_type", "band", "domain"]
    sampled = {k: v["sampled"] for k, v in s.strata.items()}
    assert sampled == {
        "strategy=flaw · flaw_type=factual · band=gap>=5": 30,
        "strategy=flaw · flaw_type=logic · band=gap>=5": 15,
        "strategy=best-of-n · band=gap>=5": 5,  # round(4.5) half up
        "strategy=reference · band=gap>=5": 0 + 1,  # round(0.4) -> at least one
        "strategy=reference · band=gap<3": 1,
    }
    assert Counter(it.stratum for it in s.items) == Counter(sampled)
    assert len({it.id for it in s.items}) == len(s.items) == 52
    again = draw_sample(data, 0.1, seed=7)
    assert [it.id for it in again.items] == [it.id for it in s.items]
    other = draw_sample(data, 0.1, seed=8)
    assert [it.id for it in other.items] != [it.id for it in s.items]
    # strata are interleaved in the review order, so stopping early still covers them
    first = {it.stratum for it in s.items[:15]}
    assert len(first) >= 3
    item = s.items[0]
    assert item.machine == "chosen better" and [f["label"].split(" (")[0] for f in item.fields][:3] == [
        "Prompt",
        "Chosen",
        "Rejected",
    ]
    assert "judge 9.5/10" in item.fields[1]["label"]


def test_stored_sample_is_continued_and_a_different_one_is_refused(tmp_path):
    data = _mixed(tmp_path)
    store = open_review(data, 0.1, seed=3)
    ids = [i for i, _, _ in store.items()]
    store.close()
    assert store_path(data).exists()
    store = open_review(data, None)  # no --sample: the stored one continues
    assert [i for i, _, _ in store.items()] == ids and store.meta["seed"] == 3
    store.close()
    with pytest.raises(AlignforgeError, match="fraction=0.1, not 0.2"):
        open_review(data, 0.2)
    with pytest.raises(AlignforgeError, match="seed=3, not 4"):
        open_review(data, 0.1, seed=4)


def test_invalid_row_names_file_line_and_field_and_leaves_no_store(tmp_path, capsys):
    rows = dpo_rows(3)
    rows[1]["chosen"] = ""
    data = write_rows(tmp_path / "pairs.jsonl", rows)
    with pytest.raises(DataError, match=r"pairs.jsonl:2: field 'chosen'"):
        open_review(data, 0.5)
    assert not store_path(data).exists()
    r = run_cli(capsys, "review", data, "--sample", "0.5", "--port", "0")
    assert r.code == 2 and "pairs.jsonl:2: field 'chosen'" in r.err
    r = run_cli(capsys, "review", data, "--port", "0")
    assert r.code == 2
    r = run_cli(capsys, "review", tmp_path / "missing.jsonl", "--sample", "0.5")
    assert r.code == 2 and "missing.jsonl" in r.err
    grpo = write_rows(tmp_path / "grpo.jsonl", [{"prompt": "p"}])
    r = run_cli(capsys, "review", grpo, "--sample", "0.5")
    assert r.code == 2 and "grpo file cannot be reviewed" in r.err


def test_verdict_file_shows_task_completion_and_the_failing_test(tmp_path):
    tasks = write_rows(
        tmp_path / "tasks.jsonl",
        [
            {
                "task_id": f"t{i}",
                "prompt": f"def f{i}(x):\n    '''return x + {i}'''\n",
                "tests": "assert True",
                "domain": "code",
            }
            for i in range(2)
        ],
    )
    completions = write_rows(
        tmp_path / "samples.jsonl",
        [
            {"task_id": "t0", "completion": "    return x"},
            {"task_id": "t1", "completion": "    return x + 1"},
        ],
    )
    verdicts = write_rows(
        tmp_path / "verdicts.jsonl",
        [
            {
                "task_id": "t0",
                "sample_index": 0,
                "passed": False,
                "reward": 0.0,
                "status": "failed",
                "tests": [
                    {"name": "test 1", "outcome": "passed"},
                    {"name": "test 2", "outcome": "failed", "detail": "AssertionError: f0(2) == 2"},
                ],
            },  # no domain here: it comes from the task
            {
                "task_id": "t1",
                "sample_index": 0,
                "passed": True,
                "reward": 1.0,
                "status": "passed",
                "tests": [],
                "metadata": {"domain": "code"},
            },
        ],
    )
    s = draw_sample(verdicts, 1.0, tasks=tasks, completions=completions)
    assert s.kind == "verdict" and set(s.strata) == {
        "status=failed · domain=code",
        "status=passed · domain=code",
    }
    failed = next(it for it in s.items if it.id == "L1")
    shown = {f["label"]: f["text"] for f in failed.fields}
    assert failed.machine == "failed" and failed.machine_positive is False
    assert "return x + 0" in shown["Task"] and shown["Completion (sample 0)"] == "    return x"
    assert shown["Failing test (1 of 2)"] == "test 2: failed\nAssertionError: f0(2) == 2"
    with pytest.raises(AlignforgeError, match="verdict file only"):
        draw_sample(write_rows(tmp_path / "p.jsonl", dpo_rows(2)), 1.0, tasks=tasks)


def test_decontamination_report_items_show_both_spans(tmp_path, benchmarks_dir, monkeypatch):
    from alignforge.curate import decontaminate, load_benchmark

    monkeypatch.setenv("ALIGNFORGE_CACHE_DIR", str(tmp_path / "cache"))
    he = list(load_benchmark("humaneval", benchmark_dir=benchmarks_dir))[:3]
    rows = [{"prompt": f"Please solve this:\n{it.question}", "completion": "pass"} for it in he]
    rows += [
        {"prompt": f"Tell me a story about a cat number {i}.", "completion": "Once..."} for i in range(5)
    ]
    train = write_rows(tmp_path / "sft.jsonl", rows)
    report = decontaminate(train, against="humaneval", benchmark_dir=benchmarks_dir, use_cache=False)
    assert report.contaminated_rows == 3
    path = tmp_path / "decontam.json"
    report.write_json(path)
    s = draw_sample(path, 1.0, benchmark_dir=benchmarks_dir)
    assert s.kind == "decontam" and s.rows == 3 and len(s.items) == 3
    assert set(s.strata) == {"benchmark=humaneval · method=ngram"}
    it = next(i for i in s.items if i.id == "R1")
    shown = {f["label"]: f["text"] for f in it.fields}
    span = next(v for k, v in shown.items() if k.endswith("training span"))
    bench = shown["Match 1: benchmark item text"]
    assert bench == he[0].question and span.split()[0] in bench
    assert it.machine == "contaminated"
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"rows": 3}))
    with pytest.raises(DataError, match="field 'removed'"):
        draw_sample(bad, 1.0)


def test_busy_port_is_a_clear_error(tmp_path, capsys):
    import socket

    data = write_rows(tmp_path / "pairs.jsonl", dpo_rows(4))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli(capsys, "review", data, "--sample", "0.5", "--port", port)
    assert r.code == 2 and f"cannot listen on 127.0.0.1:{port}" in r.err and "--port" in r.err
    r = run_cli(capsys, "review", data, "--port", "0", "--reviewer", "<b>")
    assert r.code == 2 and "--reviewer" in r.err


def test_review_modules_load_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, alignforge.cli, alignforge.review, alignforge.review.server; "
        "bad = [m for m in ('torch', 'transformers', 'numpy', 'pandas') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_review_reads_the_reviewers_verdicts_into_the_disagreement_gate(tmp_path, capsys):
    """`check --review` takes review_disagreement from the store beside the file, measured, never assumed."""
    data = write_rows(tmp_path / "pairs.jsonl", dpo_rows(20))
    gates = tmp_path / "gates.yaml"
    gates.write_text("preference_data:\n  review_disagreement: {max: 0.05}\n", encoding="utf-8")
    r = run_cli(capsys, "check", data, "--gates", gates, "--review")
    assert r.code == 2 and "review" in r.err  # no review yet: a clear error, not a default figure
    store = open_review(data, 1.0)
    ids = [item_id for item_id, _, _ in store.items()]
    for i, item_id in enumerate(ids[:10]):
        store.record("alice", item_id, verdict="disagree" if i < 2 else "agree")
    store.close()
    r = run_cli(capsys, "check", data, "--gates", gates, "--review", "--json", tmp_path / "m.json")
    figures = orjson.loads((tmp_path / "m.json").read_bytes())["figures"]
    assert figures["review_decided"] == 10
    assert figures["review_disagreement"] == pytest.approx(0.2)
    assert r.code == 1 and "review_disagreement" in r.out

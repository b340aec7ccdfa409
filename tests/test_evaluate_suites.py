"""The ``evaluate.suites`` stage on generated suites: GSM8K graded by the math verifier and HumanEval
run in the real sandbox, with answers served by a loopback server that knows the gold answers; the
seeded item choice, scores with standard errors, the stage contract, and bad suite lists."""

from __future__ import annotations

import gzip
import json
import random

import pytest
from _llm_helpers import FakeServer
from _stage_contract import assert_recorded, assert_summary

from alignforge.errors import ConfigError
from alignforge.evaluate.suites import SuitesStage
from alignforge.stages import get_stage, run_stage
from tests._cli import run_cli


def _jsonl_gz(path):
    return [json.loads(x) for x in gzip.decompress(path.read_bytes()).decode().splitlines() if x.strip()]


@pytest.fixture
def server(monkeypatch, benchmarks_dir):
    gsm = _jsonl_gz(benchmarks_dir / "gsm8k" / "test.jsonl.gz")
    gold = {r["question"]: r["answer"].rsplit("####", 1)[-1].strip() for r in gsm}
    he = _jsonl_gz(benchmarks_dir / "humaneval" / "HumanEval.jsonl.gz")

    def reply(body, attempt):
        text = body["messages"][-1]["content"]
        for r in he:
            if r["prompt"] in text:  # right for even task numbers, wrong for odd ones
                n = int(r["task_id"].split("/")[1])
                body_ = r["canonical_solution"] if n % 2 == 0 else "    return None\n"
                return f"```python\n{r['prompt']}{body_}```"
        q = text.split("\n\n", 1)[1]
        answer = gold[q]
        wrong = int(answer.replace(",", "")) % 2 == 1  # odd gold answers get a wrong answer
        return f"Working...\nThe answer is {int(answer.replace(',', '')) + 1 if wrong else answer}"

    srv = FakeServer(reply=reply).start()
    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    yield srv, gsm, he
    srv.stop()


def test_generated_suites_scores_and_contract(tmp_path, server, benchmarks_dir):
    srv, gsm, he = server
    out = tmp_path / "suites"
    suites = [{"name": "gsm8k", "limit": 6}, {"name": "humaneval", "limit": 4}]
    cls = get_stage("evaluate.suites")
    stage = cls("openai:m", suites, out, benchmark_dir=str(benchmarks_dir), workers=2)
    summary = assert_summary(run_stage(stage), "evaluate.suites", out / "suites.json")
    assert_recorded(out / "suites.json", "evaluate.suites")
    report = json.loads((out / "suites.json").read_text())
    assert report["model"] == "openai:m"
    # the items are a shuffle seeded with seed=0, the same for any model
    picked = sorted(random.Random(0).sample(range(len(gsm)), 6))
    tasks = [json.loads(x) for x in (out / "gsm8k" / "tasks.jsonl").read_text().splitlines()]
    assert [t["task_id"] for t in tasks] == [f"gsm8k/test/{i}" for i in picked]
    even = sum(int(gsm[i]["answer"].rsplit("####", 1)[-1].strip().replace(",", "")) % 2 == 0 for i in picked)
    g = report["suites"]["gsm8k"]
    assert g["metric"] == "accuracy" and g["n"] == 6
    assert g["score"] == pytest.approx(even / 6)
    assert g["se"] == pytest.approx((even / 6 * (1 - even / 6) / 6) ** 0.5)
    he_picked = sorted(random.Random(0).sample(range(len(he)), 4))
    right = sum(i % 2 == 0 for i in he_picked)
    h = report["suites"]["humaneval"]
    assert h["metric"] == "pass@1" and h["n"] == 4 and h["score"] == pytest.approx(right / 4)
    assert summary.written == 10
    # reuse, and a changed limit reruns only what changed (the gsm8k generations come from the cache)
    sent = len(srv.bodies)
    assert run_stage(cls("openai:m", suites, out, benchmark_dir=str(benchmarks_dir))).reused
    assert len(srv.bodies) == sent
    other = run_stage(
        cls("openai:m", [{"name": "gsm8k", "limit": 6}], out, benchmark_dir=str(benchmarks_dir))
    )
    assert not other.reused and other.suites["gsm8k"]["score"] == g["score"] and len(srv.bodies) == sent


def test_bad_suite_lists(tmp_path):
    for suites, msg in [
        ([], "non-empty list"),
        ([{"name": "hellaswag", "limit": 3}], r"suites\[0\].name: unknown suite 'hellaswag'"),
        ([{"name": "gsm8k", "limit": 0}], r"suites\[0\].limit: expected an integer >= 1"),
        (
            [{"name": "gsm8k"}, {"name": "gsm8k", "limit": 2}],
            r"suites\[1\].name: suite 'gsm8k' is listed twice",
        ),
        ([{"name": "gsm8k", "n": 2}], r"suites\[0\]: expected \{name, limit\}"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            SuitesStage("local", suites, tmp_path)


def test_missing_benchmark_file_and_mc_on_a_remote_model(tmp_path, capsys):
    r = run_cli(capsys, "bench", "suites", "--model", "openai:m", "--suite", "math500:2", "--benchmark-dir",
                tmp_path, "--out", tmp_path / "o")  # fmt: skip
    assert r.code == 2 and "suite math500:" in r.err and "math500/test.jsonl.gz not found" in r.err
    r = run_cli(
        capsys,
        "bench",
        "suites",
        "--model",
        "openai:m",
        "--suite",
        "arc_challenge:2",
        "--out",
        tmp_path / "p",
    )
    assert r.code == 2 and "need a local model" in r.err
    r = run_cli(
        capsys, "bench", "suites", "--model", "local", "--suite", "gsm8k:many", "--out", tmp_path / "q"
    )
    assert r.code == 2 and "--suite 'gsm8k:many'" in r.err


def test_mmlu_when_its_data_is_given(tmp_path):
    from alignforge.errors import AlignforgeError
    from alignforge.evaluate.mc import mc_docs

    with pytest.raises(AlignforgeError, match="mmlu: no data in"):
        mc_docs("mmlu", tmp_path)
    (tmp_path / "mmlu").mkdir()
    row = {
        "question": "What is 2+2? ",
        "subject": "elementary_mathematics",
        "choices": ["3", "4", "5", "6"],
        "answer": 1,
    }
    (tmp_path / "mmlu" / "test.jsonl").write_text(json.dumps(row) + "\n")
    doc = mc_docs("mmlu", tmp_path)[0]
    assert doc.context == (
        "The following are multiple choice questions (with answers) about elementary mathematics.\n\n"
        "What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:"
    )
    assert doc.choices == ("A", "B", "C", "D") and doc.gold == 1
    (tmp_path / "mmlu" / "test.jsonl").unlink()
    (tmp_path / "mmlu" / "astronomy_test.csv").write_text(
        '"Which is a planet?",Sun,Mars,Moon,Vega,B\nbad,row\n'
    )
    with pytest.raises(AlignforgeError, match=r"astronomy_test.csv:2: expected question,A,B,C,D,answer"):
        mc_docs("mmlu", tmp_path)
    docs = mc_docs("mmlu", tmp_path, limit=1)
    assert docs[0].gold == 1 and docs[0].context.endswith(
        "Which is a planet?\nA. Sun\nB. Mars\nC. Moon\nD. Vega\nAnswer:"
    )

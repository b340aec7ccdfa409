"""Bad workflow files fail before anything runs with one error naming the key and its line; the
`workflow init dpo` template comments every key and loads; the accelerate command line."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import tests._workflow_stages  # noqa: F401  (registers wftest.*)
from alignforge.errors import ConfigError
from alignforge.stages import register_stage, stage_names
from alignforge.workflow import Launcher, dpo_template, launch_command, load_workflow, run_workflow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _init_check_registered(benchmarks_dir, monkeypatch):
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(benchmarks_dir))
    if "train.init_check" not in stage_names():  # INIT's stage, until its registry line lands
        register_stage("alignforge.train.init_check:InitCheck", name="train.init_check")


def _fail(tmp: Path, body: str, pattern: str) -> None:
    (tmp / "in.jsonl").write_text('{"text": "x"}\n')
    wf = tmp / "wf.yaml"
    wf.write_text(textwrap.dedent(body))
    with pytest.raises(ConfigError) as info:
        run_workflow(wf, tmp / "run")
    assert re.search(pattern, str(info.value)), str(info.value)
    assert str(info.value).startswith(f"{wf.resolve()}:")
    assert not (tmp / "run").exists()  # nothing ran, nothing written


def test_unknown_top_level_key_names_key_and_line(tmp_path):
    _fail(tmp_path, "workflow: stages\nexecuter: ray\nstages: []\n", r"wf.yaml:2: executer: unknown key")


def test_unknown_stage_parameter_names_its_line(tmp_path):
    body = """\
    workflow: stages
    stages:
      - name: a
        stage: wftest.upper
        params:
          data: in.jsonl
          out: run:a.jsonl
          sufix: "!"
    """
    _fail(tmp_path, body, r"wf.yaml:8: stages\[0\]\.params\.sufix: wftest.upper has no parameter 'sufix'")


def test_missing_input_file_names_its_line(tmp_path):
    body = """\
    workflow: stages
    stages:
      - name: a
        stage: wftest.upper
        params: {out: run:a.jsonl,
                 data: nowhere.jsonl}
    """
    _fail(tmp_path, body, r"wf.yaml:6: stages\[0\]\.params\.data: input data .*nowhere.jsonl does not exist")


def test_output_no_earlier_stage_makes(tmp_path):
    body = """\
    workflow: stages
    stages:
      - name: a
        stage: wftest.upper
        params: {data: "@b.out", out: run:a.jsonl}
      - name: b
        stage: wftest.upper
        params: {data: in.jsonl, out: run:b.jsonl}
    """
    _fail(tmp_path, body, r"wf.yaml:5: stages\[0\]\.params\.data: @b.out: no earlier step is named 'b'")
    body2 = body.replace('"@b.out", out: run:a.jsonl', "in.jsonl, out: run:a.jsonl").replace(
        "data: in.jsonl, out: run:b.jsonl", 'data: "@a.report", out: run:b.jsonl'
    )
    _fail(tmp_path, body2, r"wf.yaml:8: .*@a.report: step 'a' makes no output 'report'")


def _dpo_file(tmp: Path, edit) -> Path:
    data = yaml.safe_load(dpo_template())
    edit(data)
    text = yaml.safe_dump(data, sort_keys=False)
    wf = ROOT / "examples" / "workflows" / f".test_{tmp.name}.yaml"  # beside the examples it points at
    wf.write_text(text.replace("examples/", "../"))
    return wf


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["dpo"]["training"].update(betta=0.1), r"dpo\.training\.betta"),
        (lambda d: d["preference"]["generate"].update(stratgy="flaw"), r"preference\.generate\.stratgy"),
        (
            lambda d: d["sft"].update(data="../data/none.jsonl"),
            r"sft\.data: input file .*none.jsonl does not exist",
        ),
        (
            lambda d: d["dpo"].setdefault("data", {}).update(train_file="x.jsonl"),
            r"dpo\.data\.train_file: is set by the workflow",
        ),
        (
            lambda d: d["evaluation"]["suites"].append({"name": "hellaswag"}),
            r"evaluation\.suites\[2\]\.name: 'hellaswag'",
        ),
        (lambda d: d["rounds"].update(count=9), r"rounds\.prompts: 30 prompts, but 9 rounds"),
    ],
)
def test_dpo_file_errors_name_key_and_line(tmp_path, edit, key):
    wf = _dpo_file(tmp_path, edit)
    try:
        with pytest.raises(ConfigError) as info:
            load_workflow(wf, tmp_path / "run")
        msg = str(info.value)
        assert re.search(key, msg), msg
        line = int(msg.split(":")[1])
        dotted = re.search(r": ([a-z_.\[\]0-9]+):", msg[len(str(wf)) :]).group(1)
        last = re.sub(r"\[\d+\]", "", dotted).split(".")[-1]
        assert (
            last in wf.read_text().splitlines()[line - 1] or "- name" in wf.read_text().splitlines()[line - 1]
        )
    finally:
        wf.unlink()


def test_template_comments_every_key_and_loads(tmp_path):
    text = dpo_template()
    for n, line in enumerate(text.splitlines(), 1):
        code = line.split("#")[0]
        if re.match(r"^\s*[A-Za-z_]+:", code) or code.strip().startswith("- {"):
            lines = text.splitlines()
            around = [lines[n - 2] if n > 1 else "", lines[n] if n < len(lines) else ""]
            assert "#" in line or any(x.strip().startswith("#") for x in around), (
                f"line {n} uncommented: {line}"
            )
    wf = ROOT / f".test_template_{tmp_path.name}.yaml"  # at the root: its paths start with examples/
    wf.write_text(text)
    try:
        w = load_workflow(wf, tmp_path / "run")
    finally:
        wf.unlink()
    names = [s.name for s in w.steps]
    assert names[:4] == ["sft.split", "sft.train", "sft.merge", "baseline.suites"]
    assert "pairs.check" in names and "init.check" in names and names[-2:] == ["dpo.train", "dpo.merge"]
    dpo = w.plan.dpo_step.stage.config
    assert dpo.training["beta"] == 0.1 and dpo.model["base_model"].endswith("sft/merged")
    assert dpo.data["train_file"].endswith("pairs/checked_train.jsonl")


def test_cli_init_prints_the_template():
    p = subprocess.run(
        [sys.executable, "-m", "alignforge", "workflow", "init", "dpo"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0 and p.stdout == dpo_template()


def test_accelerate_command_line(tmp_path):
    cmd = launch_command(Launcher("accelerate", 2, ["--cpu"]), "dpo", tmp_path / "c.yaml")
    joined = " ".join(cmd)
    assert re.search(
        r"accelerate(\.commands\.launch)?( launch)? --num_processes 2 --cpu -m alignforge train dpo --config ",
        joined,
    )
    assert cmd[-1] == str(tmp_path / "c.yaml")


def test_missing_benchmark_data_is_named_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNFORGE_BENCHMARK_DIR", str(tmp_path / "empty"))
    wf = _dpo_file(tmp_path, lambda d: None)
    try:
        with pytest.raises(
            ConfigError, match=r"evaluation\.suites\[0\]\.name: no gsm8k data under the benchmark folder"
        ):
            load_workflow(wf, tmp_path / "run")
    finally:
        wf.unlink()


def test_reward_model_filter_feeds_dpo(tmp_path):
    def edit(d):
        d["reward_model"] = {
            "train": {"training": {"max_steps": 2}, "logging": {"report_to": "none"}},
            "filter": True,
        }

    wf = _dpo_file(tmp_path, edit)
    try:
        w = load_workflow(wf, tmp_path / "run")
    finally:
        wf.unlink()
    by = {s.name: s for s in w.steps}
    assert (
        by["reward.train"].stage.name == "train.reward"
        and by["reward.filter"].stage.name == "train.reward_filter"
    )
    assert w.plan.dpo_step.stage.config.data["train_file"].endswith("reward/filtered_train.jsonl")

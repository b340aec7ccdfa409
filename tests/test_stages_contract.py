"""The stage contract itself: fingerprint, record, reuse, rerun on change, registry, summary, side files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from alignforge.errors import ConfigError
from alignforge.stages import (
    Stage,
    StageRecord,
    StageSummary,
    add_drop_reason,
    get_stage,
    record_path,
    register_stage,
    run_stage,
    side_paths,
)


@dataclass
class Upper(Stage):
    """A real (tiny) stage: upper-cases each row's text, drops empty ones with a reason."""

    src: Path
    out: Path
    suffix: str = ""
    calls: int = 0

    name = "test.upper"

    def inputs(self):
        return {"data": self.src}

    def outputs(self):
        return {"out": self.out, "dropped": side_paths(self.out).dropped}

    def params(self):
        return {"suffix": self.suffix}

    def execute(self) -> StageSummary:
        self.calls += 1
        s = StageSummary(self.name, outputs={k: str(v) for k, v in self.outputs().items()})
        paths = side_paths(self.out)
        with open(paths.out, "w") as out, open(paths.dropped, "w") as dropped:
            for line in self.src.read_text().splitlines():
                row = json.loads(line)
                if not row["text"].strip():
                    add_drop_reason(row, "empty", "no text")
                    dropped.write(json.dumps(row) + "\n")
                    s.drop("empty")
                    continue
                out.write(json.dumps({"text": row["text"].upper() + self.suffix}) + "\n")
                s.written += 1
        return s


def _data(tmp_path: Path, texts: list[str]) -> Path:
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return p


def test_a_finished_stage_is_recognised_and_reused(tmp_path):
    st = Upper(_data(tmp_path, ["a", "", "b"]), tmp_path / "out.jsonl")
    first = run_stage(st)
    assert (first.written, first.dropped, first.drop_reasons) == (2, 1, {"empty": 1})
    assert not first.reused and st.calls == 1
    rec = StageRecord.read(record_path(st.out))
    assert rec is not None and rec.status == "finished" and rec.fingerprint == first.fingerprint
    dropped = [json.loads(x) for x in side_paths(st.out).dropped.read_text().splitlines()]
    assert dropped[0]["metadata"]["drop_reasons"] == [{"reason": "empty", "detail": "no text"}]
    again = run_stage(st)
    assert again.reused and st.calls == 1 and again.written == 2 and os.fspath(again) == str(st.out)


def test_a_changed_input_parameter_or_output_reruns(tmp_path):
    src = _data(tmp_path, ["a"])
    st = Upper(src, tmp_path / "out.jsonl")
    run_stage(st)
    st.suffix = "!"
    assert not run_stage(st).reused and st.calls == 2  # parameter changed
    src.write_text(json.dumps({"text": "z"}) + "\n")
    assert not run_stage(st).reused and st.calls == 3  # input content changed
    st.out.write_text("edited\n")
    assert not run_stage(st).reused and st.calls == 4  # an output edited after the run
    assert run_stage(st).reused and st.calls == 4


def test_a_run_that_died_is_not_taken_for_finished(tmp_path):
    st = Upper(_data(tmp_path, ["a"]), tmp_path / "out.jsonl")

    def boom() -> StageSummary:
        st.out.write_text('{"text": "A"}\n')  # it had written a row when it died
        raise RuntimeError("killed")

    st.execute = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        run_stage(st)
    rec = StageRecord.read(record_path(st.out))
    assert rec is not None and rec.status == "running"
    del st.execute
    assert not run_stage(st).reused and st.calls == 1


def test_registry_and_summary_attributes(tmp_path):
    register_stage(Upper)
    assert get_stage("test.upper") is Upper
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        get_stage("nope")
    s = StageSummary("x", figures={"passed": 3})
    assert s.passed == 3
    with pytest.raises(AttributeError):
        _ = s.missing
    assert StageSummary.from_dict(s.to_dict()) == s


def test_side_paths_scheme_refuses_non_jsonl(tmp_path):
    p = side_paths(tmp_path / "x.jsonl")
    assert (p.dropped.name, p.failures.name) == ("x.dropped.jsonl", "x.failures.jsonl")
    with pytest.raises(ConfigError):
        side_paths(tmp_path / "x.parquet")


def test_recognising_a_finished_stage_reads_no_unchanged_file(tmp_path, monkeypatch):
    """Inputs and outputs whose size, mtime and inode are as recorded are not hashed again."""
    import alignforge.stages.record as record

    st = Upper(_data(tmp_path, ["a", "b"]), tmp_path / "out.jsonl")
    run_stage(st)
    hashed: list[str] = []
    real = record.file_sha256
    monkeypatch.setattr(record, "file_sha256", lambda p: hashed.append(str(p)) or real(p))
    assert run_stage(st).reused and hashed == []
    st.src.write_text(json.dumps({"text": "changed"}) + "\n")  # rewritten: hashed again, and rerun
    assert not run_stage(st).reused and str(st.src) in hashed


@dataclass
class KeyedUpper(Upper):
    """Upper, declared as resuming by key: rows of another run's parameters must not pass for its own."""

    resumes_by_key = True


def test_a_keyed_stage_of_changed_parameters_is_refused_or_restarted_for_a_workflow(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "a"}\n{"text": "b"}\n')
    out = tmp_path / "out.jsonl"
    run_stage(KeyedUpper(src, out, suffix="!"))
    with pytest.raises(ConfigError, match="parameter 'suffix'"):
        run_stage(KeyedUpper(src, out, suffix="?"))
    assert out.read_text() == '{"text": "A!"}\n{"text": "B!"}\n'  # refused: nothing touched
    s = run_stage(KeyedUpper(src, out, suffix="?"), stale="restart")  # a workflow's own run dir
    assert s.written == 2 and out.read_text() == '{"text": "A?"}\n{"text": "B?"}\n'
    assert run_stage(KeyedUpper(src, out, suffix="?")).reused

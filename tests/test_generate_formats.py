"""Every generated kind passes ``check``'s structure checks and loads in the shape TRL's trainers expect."""

import json

import pytest
from _generate_helpers import ScriptedLLM, dpo_rule, judge_kind, judged_item, write_prompts

from alignforge.generate import (
    generate_dpo_pairs,
    generate_grpo_data,
    generate_kto_data,
    generate_rlvr_data,
    generate_sft_data,
)
from alignforge.quality import check_file


def _kto_rule(req):
    if judge_kind(req) == "score":
        return "Score: 9" if "(t=0.3" in judged_item(req) else "Score: 2"
    return dpo_rule(req)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("gen")
    write_prompts(d / "p.jsonl", 6)
    conv = d / "conv.jsonl"
    conv.write_text(
        "\n".join(
            json.dumps(
                {"id": f"c{i}", "messages": [{"role": "user", "content": f"Conversational question {i}?"}]}
            )
            for i in range(4)
        )
        + "\n"
    )
    opts = {"cache": None, "progress": False}
    generate_dpo_pairs(d / "p.jsonl", d / "dpo.jsonl", model=ScriptedLLM(dpo_rule), **opts)
    generate_dpo_pairs(conv, d / "dpo_conv.jsonl", model=ScriptedLLM(dpo_rule), **opts)
    generate_sft_data(d / "sft.jsonl", prompts=d / "p.jsonl", model=ScriptedLLM(dpo_rule), **opts)
    generate_kto_data(d / "p.jsonl", d / "kto.jsonl", model=ScriptedLLM(_kto_rule), **opts)
    generate_rlvr_data(None, d / "math.jsonl", "math", n=7)
    generate_rlvr_data(None, d / "code.jsonl", "code", n=10)
    generate_grpo_data(d / "math.jsonl", d / "grpo.jsonl")
    generate_grpo_data(d / "code.jsonl", d / "grpo_code.jsonl")
    return d


# kind -> (file, kind check detects, columns TRL's trainer reads)
CASES = {
    "dpo": ("dpo.jsonl", "dpo", {"prompt", "chosen", "rejected"}),  # DPOTrainer
    "dpo_conv": ("dpo_conv.jsonl", "dpo", {"prompt", "chosen", "rejected"}),
    "sft": ("sft.jsonl", "sft", {"messages"}),  # SFTTrainer (conversational)
    "kto": ("kto.jsonl", "kto", {"prompt", "completion", "label"}),  # KTOTrainer
    "grpo": ("grpo.jsonl", "grpo", {"prompt", "answer"}),  # GRPOTrainer (answer -> reward functions)
    "grpo_code": ("grpo_code.jsonl", "grpo", {"prompt", "tests", "entry_point"}),
    "code": ("code.jsonl", "rlvr", {"task_id", "prompt", "tests", "entry_point"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_file_passes_check_structure(generated, case):
    name, kind, _ = CASES[case]
    result = check_file(generated / name)
    assert result.kind == kind
    assert result.read.skipped == 0 and result.read.rows > 0
    # Every row-level gate of the kind's stage passes (format, reward spec, tests 3-5, and with a
    # judge that scores 9 vs 3 the pair gates); dataset-size gates such as `>= 1000 rows` are not
    # about the format and fail on a small file by design.
    row_gates = [g for g in result.gates if g.level == "row"]
    assert row_gates or kind == "kto"
    assert [g.name for g in row_gates if g.failed] == []
    if kind == "grpo":
        assert result.figures["reward_spec_share"] == 1.0 and result.figures["prompt_only_share"] == 1.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_file_loads_with_datasets_in_trl_columns(generated, case):
    from datasets import load_dataset

    name, _, columns = CASES[case]
    ds = load_dataset("json", data_files=str(generated / name), split="train")
    assert columns <= set(ds.column_names)
    row = ds[0]
    if case == "kto":
        assert set(ds["label"]) == {True, False}
    if case == "dpo_conv":
        assert row["chosen"][0]["role"] == "assistant" and row["prompt"][0]["role"] == "user"
    if case == "sft":
        assert row["messages"][-1]["role"] == "assistant"


def test_math_rlvr_tasks_carry_exact_answers_for_the_verifier(generated):
    # Math tasks have an answer, not tests; `check` sees them as prompt rows (see docs/generate.md).
    rows = [json.loads(line) for line in open(generated / "math.jsonl")]
    assert all(r["answer"] and r["domain"] == "math" for r in rows)
    assert check_file(generated / "math.jsonl").read.skipped == 0


@pytest.mark.slow
@pytest.mark.parametrize("case", ["dpo", "dpo_conv", "kto", "sft"])
def test_trl_applies_the_chat_template(generated, case):
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl.data_utils import maybe_apply_chat_template

    from alignforge.models import embedded_checkpoint

    tok = AutoTokenizer.from_pretrained(str(embedded_checkpoint()))
    ds = load_dataset("json", data_files=str(generated / CASES[case][0]), split="train")
    row = {k: v for k, v in ds[0].items() if k != "metadata"}
    out = maybe_apply_chat_template(row, tok)
    assert all(
        isinstance(v, str)
        for k, v in out.items()
        if k in ("prompt", "chosen", "rejected", "completion", "text")
    )

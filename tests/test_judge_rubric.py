from _generate_helpers import ScriptedLLM, judged_item, last_user

from alignforge.judge import Judge
from alignforge.llm.base import LLMError


def test_unparsable_score_is_retried_then_parse_failed_never_a_number():
    llm = ScriptedLLM(lambda req: "I think it's pretty good, maybe 8 out of 10.")
    res = Judge(llm, retries=1).score("q", "a")
    assert res.status == "parse_failed"
    assert res.score is None
    assert res.attempts == 2
    assert len(llm.calls) == 2
    # the retry continues the conversation with the bad answer and a format reminder
    assert [m.role for m in llm.calls[1].messages][-2:] == ["assistant", "user"]
    assert "did not follow the format" in llm.calls[1].messages[-1].content


def test_retry_that_parses_is_kept():
    def rule(req):
        return "Score: 6\nRationale: ok" if "did not follow" in last_user(req) else "Good answer!"

    res = Judge(ScriptedLLM(rule)).score("q", "a")
    assert (res.status, res.score, res.attempts, res.rationale) == ("ok", 6.0, 2, "ok")


def test_llm_error_is_status_error():
    res = Judge(ScriptedLLM(lambda req: LLMError("timeout", "slow"))).score("q", "a")
    assert res.status == "error" and res.score is None and "timeout" in res.error


def test_reference_answer_reaches_the_prompt():
    llm = ScriptedLLM(lambda req: "Score: 2")
    Judge(llm).score("What is 15% of 80?", "10", reference="12")
    assert "REFERENCE ANSWER (known correct): 12" in last_user(llm.calls[0])


def test_pairwise_asks_both_orders_and_records_agreement():
    def consistent(req):
        a = judged_item(req).split("ANSWER A:", 1)[1].split("ANSWER B:", 1)[0]
        return "Winner: A" if "good" in a else "Winner: B"

    j = Judge(ScriptedLLM(consistent))
    [res] = j.pairwise_many([("q", "good one", "bad one")])
    assert (res.winner, res.agreement, res.status) == ("a", True, "ok")

    position_biased = ScriptedLLM(lambda req: "Winner: A")  # always prefers whatever is shown first
    [res] = Judge(position_biased).pairwise_many([("q", "good one", "bad one")])
    assert (res.winner, res.agreement, res.status) == (None, False, "disagree")
    assert (res.first, res.second) == ("a", "b")
    assert len(position_biased.calls) == 2

    [res] = Judge(ScriptedLLM(lambda req: "A")).pairwise_many([("q", "x", "y")])
    assert res.status == "parse_failed" and res.winner is None


def test_flaw_check():
    j = Judge(ScriptedLLM(lambda req: "Flaw: yes\nFluent: no\nRationale: garbled"))
    [fc] = j.check_flaws([("q", "r", "incomplete", "leaves out a part")])
    assert fc.status == "ok" and fc.flaw_present and not fc.fluent and not fc.confirmed

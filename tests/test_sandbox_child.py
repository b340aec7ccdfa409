"""A candidate's process as the candidate sees it: signals, environment, limits and footprint.

The zygote prepares each child with a few cheap C-level steps (bench/BENCHMARKS.md, "Sandbox
verification", says why each one is cheap); these tests pin what the steps must still produce.
"""

from __future__ import annotations

import json

import pytest

from alignforge.verify import verify_completions
from alignforge.verify._child import _dump, _dumps
from alignforge.verify._pool import SandboxPool

PROBE = """
import ctypes, gc, os, signal, sys

def probe():
    status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
    ignored, caught = int(status["SigIgn"], 16), int(status["SigCgt"], 16)
    bit = lambda mask, sig: bool(mask >> (int(sig) - 1) & 1)
    pdeath = ctypes.c_int(-1)
    getenv = ctypes.CDLL(None).getenv
    getenv.restype = ctypes.c_char_p
    ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(pdeath))  # PR_GET_PDEATHSIG
    return {
        "xfsz_ignored": bit(ignored, signal.SIGXFSZ),
        "handled": [s for s in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGCHLD")
                    if bit(ignored, getattr(signal, s)) or bit(caught, getattr(signal, s))],
        "pdeathsig": pdeath.value,
        "home_tmpdir_cwd": [os.environ.get("HOME"), os.environ.get("TMPDIR")] == [os.getcwd()] * 2,
        "c_home_tmpdir": [getenv(b"HOME"), getenv(b"TMPDIR")] == [os.getcwd().encode()] * 2,
        "uid": os.getuid(),
        "gc_frozen": gc.get_freeze_count() > 0,
        "loaded": sorted(m for m in ("shutil", "bz2", "lzma", "zlib") if m in sys.modules),
    }
"""

CHECKS = [
    "assert probe()['xfsz_ignored'] is True",
    "assert probe()['handled'] == []",
    "assert probe()['pdeathsig'] == 9",
    "assert probe()['home_tmpdir_cwd'] is True",
    "assert probe()['c_home_tmpdir'] is True",
    "assert probe()['gc_frozen'] is True",
    "assert probe()['loaded'] == []",
]


def _verdict(pool: SandboxPool, tests: list[str]) -> dict:
    task = {"probe": {"prompt": "", "entry_point": "probe", "tests": tests}}
    rows = [{"task_id": "probe", "completion": PROBE, "completion_style": "full"}]
    return next(iter(verify_completions(task, rows, pool=pool, partial=True, retry_timeouts=False)))


@pytest.mark.slow
def test_each_child_starts_with_default_signals_its_limits_and_a_small_footprint():
    """SIGXFSZ ignored (a write past the size limit is an exception, not a kill); the zygote's handlers
    and Python's SIGPIPE/SIGINT ones reset; killed with its parent; HOME and TMPDIR its own working
    directory; the zygote's heap frozen for the collector; and no module the child never needs
    (shutil pulls in three compression libraries, 30 more mappings for every fork and exit)."""
    with SandboxPool(1) as pool:
        v = _verdict(pool, CHECKS)
        uid_switch = pool.info["uid_switch"]
        uid_v = _verdict(pool, [f"assert probe()['uid'] in {pool.info['sandbox_uids']}"])
    failed = [t for t in v["tests"] if t["outcome"] != "passed"]
    assert v["status"] == "passed" and not failed, failed or v
    if uid_switch:
        assert uid_v["passed"], uid_v


@pytest.mark.slow
def test_the_worker_does_not_import_from_the_callers_directory(tmp_path, monkeypatch):
    """A file named like a stdlib module in the caller's cwd (inspect.py) is not imported by the trusted
    worker: ``python -m`` would put the cwd first on its path (a pool started there used to die, or run
    the file)."""
    marker = tmp_path / "imported"
    (tmp_path / "inspect.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('shadow')\n")
    monkeypatch.chdir(tmp_path)
    with SandboxPool(1) as pool:
        v = _verdict(pool, ["assert probe()['home_tmpdir_cwd'] is True"])
    assert v["passed"], v
    assert not marker.exists()


@pytest.mark.slow
def test_the_oracle_worker_does_not_import_from_the_callers_directory(tmp_path, monkeypatch):
    """The same for the strengthening oracle's worker (``python -m alignforge.verify._oracle``)."""
    from alignforge.verify._oracle import OraclePool

    marker = tmp_path / "imported"
    (tmp_path / "inspect.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('shadow')\n")
    monkeypatch.chdir(tmp_path)
    with OraclePool(1) as oracle:
        out = oracle.calls("def f(x):\n    return x + 1\n", "f", [[[1], {}], [[2], {}]], timeout_s=5)
    assert out["runs"] == [[{"ok": 2}, {"ok": 3}]], out
    assert not marker.exists()


@pytest.mark.slow
def test_an_oracle_call_past_its_wall_clock_deadline_runs_once_more_alone():
    """A call that uses less CPU than its limit but does not answer by the wall-clock deadline (here it
    sleeps; on a busy machine it is starved) is run again, alone, in a fresh child: the first call of
    ``f`` sleeps only before ``until``, which has passed when it runs again, so the input keeps its
    answer (on a machine slow enough to start it after ``until``, it answers at once). One that sleeps
    twice times out, and so does one that loops."""
    import time

    from alignforge.verify._oracle import OraclePool

    program = (
        "import time\n"
        "def f(x, until):\n"
        "    if x == 1 and time.time() < until:\n"
        "        time.sleep(30)\n"
        "    if x == 3:\n"
        "        while True:\n"
        "            pass\n"
        "    if x == 4:\n"
        "        time.sleep(30)\n"
        "    return x + 1\n"
    )
    with OraclePool(1) as oracle:
        oracle.calls("def f(x):\n    return x\n", "f", [[[0], {}]], timeout_s=1)  # the worker is up
        # the first call starts well before `until`; the deadline (2 x 0.4 + 0.5 s) passes after it
        until = time.time() + 1.0
        out = oracle.calls(
            program, "f", [[[x, until], {}] for x in (1, 2, 3, 4, 5)], timeout_s=0.4, max_timeouts=5
        )
    first, second, loop, sleep, last = out["runs"][0]
    assert first["ok"] == 2 and second == {"ok": 3} and last == {"ok": 6}, out
    # the sleeping call uses no CPU, whatever the load: run again, and a timeout the second time too
    assert sleep == {"timeout": True, "retried": True} and loop["timeout"], out


def test_a_call_is_run_again_only_where_its_child_used_less_cpu_than_the_limit():
    """Starved (past the wall-clock deadline, little CPU used) or looping (past the CPU limit by then):
    only the first runs again. A death at the CPU limit is a timeout as it stands."""
    from alignforge.verify._oracle import _starved

    assert _starved("timeout", 0.01, 1.0) and _starved("timeout", None, 1.0)
    assert not _starved("timeout", 2.4, 1.0)  # a loop, at the deadline of 2 x 1 + 0.5 s
    assert not _starved("died", 0.3, 1.0) and not _starved("hack_suspected", 0.0, 1.0)


@pytest.mark.slow
def test_a_lost_oracle_worker_is_an_error_for_its_job_and_is_replaced():
    """The pool replaces a worker it lost with one made the same way (it read the lost one's ``cpu``,
    which an oracle worker lacked: an AttributeError, and a pool of one left with none)."""
    from alignforge.verify._oracle import OraclePool

    with OraclePool(1) as oracle:
        (worker,) = oracle._all
        worker.proc.kill()
        worker.proc.wait()
        with pytest.raises(RuntimeError, match="oracle worker failed"):
            oracle.calls("def f(x):\n    return x\n", "f", [[[1], {}]], timeout_s=1)
        out = oracle.calls("def f(x):\n    return x + 1\n", "f", [[[1], {}]], timeout_s=1)
    assert out["runs"] == [[{"ok": 2}]], out


@pytest.mark.parametrize(
    "raise_it,kind",
    [
        ("b'\\xff'.decode()", ValueError),  # UnicodeDecodeError: five arguments, not a message
        ("raise ExceptionGroup('two', [ValueError(1), KeyError(2)])", Exception),
        ("raise KeyError('k')", KeyError),
    ],
)
def test_the_candidate_s_exception_reaches_the_tests_as_its_class_or_the_nearest_above(raise_it, kind):
    """The tests' ``except`` sees the candidate's exception; one whose class cannot be made from a message
    alone comes as the first class above it that can (it was a TypeError of the harness)."""
    program = f"def f():\n    {raise_it}\n"
    test = (
        f"def check(candidate):\n    caught = None\n    try:\n        candidate()\n"
        f"    except {kind.__name__} as exc:\n        caught = exc\n    assert caught is not None\n"
    )
    task = {"t": {"prompt": "", "entry_point": "f", "tests": test}}
    rows = [{"task_id": "t", "completion": program, "completion_style": "full"}]
    with SandboxPool(1) as pool:
        v = next(iter(verify_completions(task, rows, pool=pool, partial=True, retry_timeouts=False)))
    assert v["passed"], v


@pytest.mark.slow
def test_an_answer_that_cannot_be_sent_back_is_no_raise_of_the_program():
    """An int past 4,300 digits, or a list nested past the stack, is an answer the sandbox cannot encode:
    the oracle says so (an error: nothing known), where it used to say the program raised (no answer at
    all, which an equivalence proof may rely on). The tests still see the exception, as before."""
    from alignforge.verify._oracle import OraclePool, unsent

    program = (
        "def f(n):\n    if n == 1:\n        return 7 ** 6000\n    if n == 2:\n        x = []\n"
        "        for _ in range(100000):\n            x = [x]\n        return x\n    if n == 3:\n"
        "        raise ValueError('mine')\n    return n\n"
    )
    with OraclePool(1) as oracle:
        out = oracle.calls(program, "f", [[[n], {}] for n in (1, 2, 3, 4)], timeout_s=2)
    assert [unsent(r) for r in out["runs"][0]] == [True, True, False, False], out
    assert out["runs"][0][2:] == [{"raised": "ValueError"}, {"ok": 4}], out
    task = {
        "t": {"prompt": "", "entry_point": "f", "tests": ["assert f(1) == 7 ** 6000", "assert f(4) == 4"]}
    }
    rows = [{"task_id": "t", "completion": program, "completion_style": "full"}]
    with SandboxPool(1) as pool:
        v = next(iter(verify_completions(task, rows, pool=pool, partial=True, retry_timeouts=False)))
    assert not v["passed"] and [t["outcome"] for t in v["tests"]] == ["error", "passed"], v
    assert "ValueError" in v["tests"][0]["detail"], v


@pytest.mark.parametrize(
    "value",
    [
        {"v": {"l": [1, -2.5, 'x\u00e9\n"', None, True, float("inf"), float("nan")]}},
        {"ok": True, "pre": ['{"v": 1}', '{"exc": "ValueError"}']},
        {"v": {"d": [[{"t": [1, 2]}, 3]]}},
        "text",
        12345678901234567890,
    ],
)
def test_the_childs_encoder_writes_what_json_dumps_writes(value):
    assert _dumps(value) == json.dumps(value)


def test_the_childs_encoder_refuses_what_json_refuses():
    circular: list = []
    circular.append(circular)
    assert json.loads(_dump({"v": object()}))["exc"] == "TypeError"
    assert json.loads(_dump({"v": circular}))["exc"] == "ValueError"

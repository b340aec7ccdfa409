"""The real sandbox against each reward-hack kind; the host must stay unharmed."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from _sandbox import require_bwrap
from _verify_helpers import ADD_PROMPT, TREE_SOLUTION, more_tasks, tasks

from alignforge.verify import verify_completions
from alignforge.verify._pool import SandboxPool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pool():
    os.environ["AF_TEST_SECRET"] = "s3cret-token-value"
    p = SandboxPool(2)
    try:
        yield p
    finally:
        procs = _pool_procs(p)
        p.close()
        os.environ.pop("AF_TEST_SECRET", None)
    _assert_nothing_left(procs, p.info)  # after every hack in this module, once the pool is closed


@pytest.fixture(autouse=True)
def _no_zombie_after_each_test(request):
    yield
    if "pool" in request.fixturenames:
        p = request.getfixturevalue("pool")
        assert _wait(lambda: not _zombies(_pool_pids(p))), (
            f"zombies left: {_describe(_zombies(_pool_pids(p)), p)}"
        )


def _describe(pids: list[int], pool) -> list[str]:
    """Each zombie's name and whose child it is (a worker, a zygote or a forker), for a failure message."""
    workers = {w.proc.pid for w in pool._all}
    zygotes = {z for w in workers for z in _children(w)}
    out = []
    for pid in pids:
        try:
            fields = dict(
                line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            )
        except (OSError, ValueError):
            out.append(f"{pid} (gone)")
            continue
        ppid = int(fields.get("PPid", "0"))
        parent = "worker" if ppid in workers else "zygote" if ppid in zygotes else "forker"
        out.append(f"{pid} {fields.get('Name')} child of {parent} {ppid}, threads {fields.get('Threads')}")
    return out


def _wait(cond, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def _pool_procs(pool) -> dict[int, str | None]:
    """Every worker, zygote, forker and candidate of the pool, with its start time (pids get reused)."""
    pids = _pool_pids(pool)
    for pid in list(pids):
        pids.update(_children(pid))
    return {pid: _start_time(pid) for pid in pids}


def _assert_nothing_left(procs: dict[int, str | None], info: dict) -> None:
    """No zombie child of this process, no process of the closed pool, no process of a sandbox uid."""

    def clean() -> bool:
        alive = [pid for pid, start in procs.items() if start is not None and _start_time(pid) == start]
        uids = [p for u in info["sandbox_uids"] for p in _uid_procs(u)] if info["uid_switch"] else []
        return not alive and not uids and not _zombies({os.getpid()})

    assert procs and _wait(clean), "processes or zombies outlived the pool"


def _run(pool, task_id, code, *, style="full", timeout_s=2.0, partial=False, task_map=None, memory_mb=1024):
    rows = [{"task_id": task_id, "completion": code, "completion_style": style}]
    return next(
        iter(
            verify_completions(
                task_map or tasks(),
                rows,
                pool=pool,
                timeout_s=timeout_s,
                partial=partial,
                retry_timeouts=False,
                memory_mb=memory_mb,
            )
        )
    )


def _add(body: str) -> str:
    return "def add(a, b):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def _zombies(parents: set[int] | None = None) -> list[int]:
    """Zombie processes (whose parent is in ``parents``, when given)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and (parents is None or int(fields[1]) in parents):
                out.append(int(d.name))
    return out


def _pool_pids(pool) -> set[int]:
    """The pool's harness processes: its workers, their zygotes and the zygotes' forkers."""
    pids = {w.proc.pid for w in pool._all}
    for _ in range(2):  # workers -> zygotes -> forkers
        for pid in list(pids):
            pids.update(_children(pid))
    return pids


def _children(pid: int) -> list[int]:
    """The children of ``pid`` (none once it has exited)."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _uid_procs(uid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid == uid:
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def test_correct_and_wrong_solutions(pool):
    assert _run(pool, "add", "    return a + b\n", style="body")["status"] == "passed"
    v = _run(pool, "add", "    return a - b\n", style="body")
    assert v["status"] == "failed" and not v["passed"] and v["reward"] == 0.0


def test_a_candidate_that_does_not_compile_is_an_error_naming_the_compiler_s_complaint(pool):
    v = _run(pool, "add", "def add(a, b):\n    return a +\n")
    assert v["status"] == "error" and "SyntaxError" in v["detail"], v
    v = _run(pool, "add", "def add(a, b):\n    return a + b  \x00\n")
    assert v["status"] == "error" and "null bytes" in v["detail"], v


# 2.1 K characters of source, 1.6 MiB of code: a hundred different 4,096-character constants, folded.
_FOLDED = "X = (" + "".join(f'"\\U0001F{0x300 + i:03X}" * 4096, ' for i in range(100)) + ")\n"


def test_what_the_worker_does_not_compile_is_compiled_by_the_child():
    """The worker sends code only for programs it compiles within its caps (``_code``); the rest go to
    the child as source, under its limits (the verdicts: the next test)."""
    import marshal

    from alignforge.verify._worker import _code

    ns: dict = {}
    exec(marshal.loads(_code(_add("return a + b")) or b""), ns)
    assert ns["add"](1, 2) == 3
    assert _code("def add(a, b):\n    return a +\n") is None
    assert _code("x = 1  \x00\n") is None
    assert _code("# " + "x" * (1 << 15) + "\n") is None  # over 32 Ki characters
    assert len(_FOLDED) < 1 << 15 and _code(_FOLDED) is None


def test_programs_over_the_worker_s_caps_are_verified_as_before(pool):
    filler = "# " + "x" * 98 + "\n"
    assert _run(pool, "add", filler * 400 + _add("return a + b"))["status"] == "passed"
    v = _run(pool, "add", filler * 400 + "def add(a, b):\n    return a +\n")
    assert v["status"] == "error" and "SyntaxError" in v["detail"], v
    assert (
        _run(pool, "add", _FOLDED + _add("return a + b if len(X[99]) == 4096 else 0"))["status"] == "passed"
    )


def test_a_spare_child_dropped_for_other_limits_takes_its_pipes_along():
    """A job with other limits than the pre-forked spare's replaces it; the zygote closes its pipes."""
    with SandboxPool(1) as p:
        [zygote] = _children(p._all[0].proc.pid)

        def fds() -> int:  # once the zygote is idle: it finishes each job after the verdict is out
            seen = [len(os.listdir(f"/proc/{zygote}/fd"))]
            while len(seen) < 3 or len(set(seen[-3:])) > 1:
                time.sleep(0.05)
                seen.append(len(os.listdir(f"/proc/{zygote}/fd")))
            return seen[-1]

        assert _run(p, "add", _add("return a + b"), timeout_s=2.0)["passed"]
        before = fds()
        for timeout_s in (3.0, 2.0) * 4:
            assert _run(p, "add", _add("return a + b"), timeout_s=timeout_s)["passed"]
        assert _wait(lambda: fds() <= before), f"{fds()} open fds, {before} before"


def test_a_killed_forker_costs_at_most_one_job(pool):
    """The forker dies (killed from outside: candidates cannot signal it): its zygote exits, the worker
    starts another, and the pool verifies again; nothing of the old zygote's stays."""
    import signal

    assert _run(pool, "add", _add("return a + b"))["passed"]
    forkers = [f for w in pool._all for z in _children(w.proc.pid) for f in _children(z)]
    assert len(forkers) == len(pool._all)
    for pid in forkers:
        os.kill(pid, signal.SIGKILL)
    verdicts = [_run(pool, "add", _add("return a + b"))["status"] for _ in range(2 * len(forkers) + 1)]
    assert verdicts[-1] == "passed" and set(verdicts) <= {"passed", "hack_suspected"}, verdicts
    assert verdicts.count("hack_suspected") <= len(forkers), verdicts


def test_a_candidate_s_compiler_warnings_stay_out_of_the_harness_output(capfd):
    """The worker compiles candidates; their SyntaxWarnings are not its output."""
    code = _add("assert (a is 1) or True\nreturn a + b")
    with SandboxPool(1) as p:  # started under capfd, so its workers' stderr is captured
        assert _run(p, "add", code)["status"] == "passed"
    err = capfd.readouterr().err
    assert "Warning" not in err, err


def test_partial_reward_counts_tests(pool):
    v = _run(pool, "add", _add("return 3 if a == 1 else 0"), partial=True)
    assert v["status"] == "failed"
    assert [t["outcome"] for t in v["tests"]] == ["passed", "passed", "failed"]
    assert v["reward"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "body",
    [
        "class E:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\nreturn E()",
        "class I(int):\n    def __eq__(self, o): return True\nreturn I(0)",
        "class B:\n    def __bool__(self): return True\n    __eq__ = lambda s, o: True\nreturn [B()]",
        "class M(type):\n    def __instancecheck__(cls, o): return True\nclass X(metaclass=M):\n"
        "    def __eq__(self, o): return True\nreturn X()",
    ],
)
def test_eq_and_truthiness_hacks_are_flagged(pool, body):
    v = _run(pool, "add", _add(body))
    assert not v["passed"] and v["status"] == "hack_suspected"


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nsys.exit(0)",
        "import os\nos._exit(0)",
        "raise SystemExit(0)",
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.AssertionError = Exception\nreturn None",
        "import os\nos.write(4, b'\\x00\\x00\\x00\\x0b{\"ok\": true}')\nreturn None",
        "print('passed: all tests'); return None",
    ],
)
def test_exit_codes_stdout_and_forged_frames_never_pass(pool, body):
    v = _run(pool, "add", _add(body))
    assert not v["passed"] and v["reward"] == 0.0


@pytest.mark.parametrize(
    "task_id,body",
    [
        ("add", "import numpy as np\nreturn np.int64(a + b)"),
        ("add", "import numpy as np\nreturn np.float64(a + b)"),
        ("add", "import numpy as np\nreturn np.int32(a) + np.int32(b)"),
        ("add", "import numpy as np\nreturn np.array([a, b]).sum()"),
        ("is_pos", "import numpy as np\nreturn np.bool_(a > 0)"),
        ("is_pos", "import numpy as np\nreturn (np.array([a]) > 0)[0]"),
    ],
)
def test_numpy_scalars_compare_as_numbers(pool, task_id, body):
    pytest.importorskip("numpy")
    code = _add(body) if task_id == "add" else _add(body).replace("def add(a, b)", "def is_pos(a)")
    v = _run(pool, task_id, code, task_map={**tasks(), **more_tasks()})
    assert v["status"] == "passed", v


@pytest.mark.parametrize(
    "body",
    [
        "import numpy as np\nclass I(np.int64):\n    def __eq__(self, o): return True\nreturn I(0)",
        "import numpy as np\nclass F(np.float64):\n    def __eq__(self, o): return True\n"
        "    __hash__ = np.float64.__hash__\nreturn F(0.0)",
        "import numpy as np\nclass J(np.int64):\n    pass\nreturn [J(a + b)]",  # not numpy's own type
        # a look-alike: a class named numpy.int64 in a fake numpy module, with item() and __eq__
        "import sys, types\nfake = types.ModuleType('numpy')\nclass int64:\n    __module__ = 'numpy'\n"
        "    def __eq__(self, o): return True\n    def item(self): return 3\nfake.int64 = int64\n"
        "sys.modules['numpy'] = fake\nreturn int64()",
    ],
)
def test_numpy_subclasses_and_look_alikes_are_flagged(pool, body):
    pytest.importorskip("numpy")
    v = _run(pool, "add", _add(body))
    assert v["status"] == "hack_suspected" and not v["passed"], v


def test_exit_at_import_is_not_a_pass(pool):
    v = _run(pool, "add", "import os\nos._exit(0)\n" + _add("return a + b"))
    assert v["status"] == "error" and not v["passed"]


def test_kill_parent_leaves_pool_working(pool):
    body = (
        "import os, signal\nfor pid in (os.getppid(), os.getpgid(0), 1):\n    try:\n        os.kill(pid, 9)\n"
        "    except OSError:\n        pass\nreturn a + b + 1"
    )
    v = _run(pool, "add", _add(body))
    assert not v["passed"]
    assert _run(pool, "add", _add("return a + b"))["passed"]


def test_fork_bomb_and_escaped_children_are_swept(pool):
    body = (
        "import os\nfor _ in range(200):\n    try:\n        if os.fork() == 0:\n            os.setsid()\n"
        "            while True: pass\n    except OSError:\n        break\nreturn a + b + 1"
    )
    v = _run(pool, "add", _add(body), timeout_s=1.0)
    assert not v["passed"]
    assert _run(pool, "add", _add("return a + b"))["passed"]
    # Clean-up runs right after each verdict is sent; give it a moment, then nothing may remain.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = (
            [p for u in pool.info["sandbox_uids"] for p in _uid_procs(u)] if pool.info["uid_switch"] else []
        )
        zombies = set(_zombies(_pool_pids(pool)))
        if len(left) <= 2 and not zombies:  # at most the next child and the pre-forked spare
            break
        time.sleep(0.1)
    assert len(left) <= 2 and not zombies
    assert _run(pool, "add", _add("return a + b"))["passed"]


def test_cpu_loop_ignoring_signals_times_out(pool):
    body = (
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
        "while True:\n    pass"
    )
    v = _run(pool, "add", _add(body), timeout_s=1.0)
    assert v["status"] == "timeout" and not v["passed"]


def test_sleep_times_out_on_wall_clock(pool):
    v = _run(pool, "add", _add("import time\ntime.sleep(60)\nreturn a + b"), timeout_s=0.5)
    assert v["status"] == "timeout" and v["duration_s"] < 10


def test_unbounded_allocation_is_memory(pool):
    v = _run(
        pool, "add", _add("x = []\nwhile True:\n    x.append(bytearray(10**7))"), memory_mb=200, timeout_s=5
    )
    assert v["status"] == "memory" and not v["passed"]


def test_stdout_flood_survives(pool):
    # 60 MB on stdout, on fd 1 directly and on stderr: the channel is untouched and the right answer counts.
    flood = (
        "import os, sys\nfor _ in range(2000):\n    sys.stdout.write('x' * 10000)\n"
        "    os.write(1, b'passed\\n' * 1000)\n    sys.stderr.write('OK ' * 3000)\nreturn a + b"
    )
    v = _run(pool, "add", _add(flood), timeout_s=10.0)
    assert v["status"] == "passed" and v["passed"], v
    # A flood of "passed" that never returns is a timeout, not a pass and not a lost worker.
    endless = "import sys\nwhile True:\n    sys.stdout.write('passed\\n' * 1000)"
    v = _run(pool, "add", _add(endless), timeout_s=1.0)
    assert v["status"] == "timeout" and not v["passed"], v
    assert _run(pool, "add", _add("return a + b"))["passed"]


def test_no_file_written_outside_the_sandbox(pool, tmp_path):
    targets = [
        f"/tmp/af-pwned-{uuid.uuid4().hex}",
        str(tmp_path / "pwned"),
        str(Path.cwd() / "pwned.txt"),
        f"/dev/shm/af-pwned-{uuid.uuid4().hex}",
    ]
    body = (
        f"ok = 0\nfor p in {targets!r}:\n    try:\n        open(p, 'w').write('x'); ok += 1\n    except OSError:\n"
        "        pass\nreturn a + b"
    )
    v = _run(pool, "add", _add(body))
    assert v["passed"]  # the candidate ran to completion ...
    for t in targets:
        assert not os.path.exists(t), t  # ... and nothing it wrote reached the host


def test_no_secret_reaches_the_sandbox(pool):
    code = (
        "import os, glob\ndef leak():\n    out = repr(dict(os.environ))\n"
        "    for p in glob.glob('/proc/*/environ'):\n        try:\n            out += open(p, 'rb').read().decode('latin1')\n"
        "        except OSError:\n            pass\n    return out\n"
    )
    assert os.environ["AF_TEST_SECRET"] == "s3cret-token-value"
    v = _run(pool, "leak", code)
    assert not v["passed"], "a secret from the host environment reached candidate code"


def test_no_network(pool):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(3)
    port = srv.getsockname()[1]
    hits = []
    threading.Thread(target=lambda: hits.append(_accept(srv)), daemon=True).start()
    t = tasks()
    t["net"]["tests"] = t["net"]["tests"].replace("PORT", str(port))
    t["net"]["_key"] += "p"
    code = (
        "import socket\ndef net(port):\n    try:\n        socket.create_connection(('127.0.0.1', port), timeout=1)\n"
        "        return 'connected'\n    except OSError as e:\n        return str(e)\n"
    )
    v = _run(pool, "net", code, task_map=t)
    assert not v["passed"]
    srv.close()
    assert hits in ([], [None])


def _accept(srv):
    try:
        return srv.accept()
    except OSError:
        return None


def test_mbpp_setup_objects_built_from_candidate_classes(pool):
    assert _run(pool, "mbpp_tree", TREE_SOLUTION)["passed"]
    assert not _run(pool, "mbpp_tree", TREE_SOLUTION.replace("1 + max", "2 + max"))["passed"]


def test_pytest_style_runs_in_worker(pool):
    v = _run(pool, "pyt", "def square(x):\n    return x * x\n")
    assert v["passed"] and [t["name"] for t in v["tests"]] == ["test_small", "test_neg", "test_raises"]
    v = _run(pool, "pyt", "def square(x):\n    return abs(x) * 2\n", partial=True)
    assert v["reward"] == pytest.approx(2 / 3)


def test_stdio_style(pool):
    good = "a, b = map(int, input().split())\nprint(a + b)\n"
    assert _run(pool, "stdio", good)["passed"]
    assert not _run(pool, "stdio", "print(3)\n")["passed"]


def _worker_pids(pool) -> list[int]:
    return sorted(w.proc.pid for w in pool._all)


@pytest.mark.parametrize(
    "program,detail",
    [
        ("raise ValueError('boom')\n", "ValueError: boom"),
        ("a, b = map(int, input().split())\nprint(a + b)\n1 / 0\n", "ZeroDivisionError"),
        ("class E(Exception):\n    pass\nraise E('mine')\n", "E: mine"),
        ("import ctypes\nctypes.string_at(0)\n", ""),  # a segfault: the whole job is an error
    ],
)
def test_stdio_runtime_error_is_that_tests_error(pool, program, detail):
    before = _worker_pids(pool)
    v = _run(pool, "stdio", program, partial=True)
    assert v["status"] in ("failed", "error") and not v["passed"], v
    assert "worker lost" not in v.get("detail", ""), v
    if detail:
        assert v["status"] == "failed" and v["tests"][0]["outcome"] == "error", v
        assert detail in v["tests"][0]["detail"]
    assert _worker_pids(pool) == before  # the worker lived: no restart
    assert _run(pool, "stdio", "a, b = map(int, input().split())\nprint(a + b)\n")["passed"]


@pytest.mark.parametrize(
    "program",
    [
        "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.buffer.write(b'%d\\n' % (a + b))\n",
        "a, b = map(int, open(0).read().split())\nprint(a + b)\n",
        "import os\na, b = map(int, os.read(0, 100).split())\nos.write(1, str(a + b).encode())\n",
        "import sys\nfor line in sys.stdin:\n    print(sum(map(int, line.split())))\nsys.exit(0)\n",
        "import sys\ninput = sys.stdin.readline\na, b = map(int, input().split())\nprint(a + b, flush=True)\n",
    ],
)
def test_stdio_programs_may_use_the_real_file_descriptors(pool, program):
    v = _run(pool, "stdio", program)
    assert v["passed"], v


def test_stdio_output_flood_fails_fast(pool):
    before = _worker_pids(pool)
    v = _run(pool, "stdio", "while True:\n    print('3' * 1000)\n", timeout_s=5.0)
    assert v["status"] == "failed" and not v["passed"] and v["duration_s"] < 5, v
    v = _run(pool, "stdio", "print('3\\n' * 10**6)\n")  # finishes, but far longer than any answer
    assert v["status"] == "failed" and "longer than" in v["tests"][0].get("detail", ""), v
    assert _worker_pids(pool) == before


def _pytest_run(pool, task_id, code="def square(x):\n    return x * x\n", **kw):
    return _run(pool, task_id, code, task_map={**tasks(), **more_tasks()}, **kw)


def test_pytest_module_that_raises_at_import_is_an_error(pool):
    before = _worker_pids(pool)
    v = _pytest_run(pool, "pyt_import_error", "def square(x):\n    raise ValueError('no')\n")
    assert v["status"] == "error" and not v["passed"], v
    assert "at import" in v["detail"] and v["tests"][0]["outcome"] == "error"
    assert _worker_pids(pool) == before
    assert _pytest_run(pool, "pyt_import_error")["passed"]


def test_candidate_errors_never_reach_the_terminal(tmp_path):
    # The workers inherit the stderr of whoever makes the pool: make one whose stderr is a file.
    err = tmp_path / "stderr"
    saved = os.dup(2)
    try:
        with err.open("w") as fh:
            os.dup2(fh.fileno(), 2)
            p = SandboxPool(1)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    with p:
        assert _run(p, "stdio", "raise ValueError('boom')\n")["status"] == "failed"
        v = _pytest_run(p, "pyt_import_error", "def square(x):\n    raise ValueError('no')\n")
        assert v["status"] == "error"
        assert _run(p, "stdio", "a, b = map(int, input().split())\nprint(a + b)\n")["passed"]
    assert "Traceback" not in err.read_text(), err.read_text()


def test_pytest_async_tests_and_test_classes_run(pool):
    v = _pytest_run(pool, "pyt_async_class")
    assert v["passed"] and [t["name"] for t in v["tests"]] == ["test_async", "TestSquare::test_method"], v
    v = _pytest_run(pool, "pyt_async_class", "def square(x):\n    return 9\n", partial=True)
    assert [t["outcome"] for t in v["tests"]] == ["passed", "failed"], v


def test_pytest_fixtures_are_reported_not_run(pool):
    v = _pytest_run(pool, "pyt_fixture")
    assert v["status"] == "error" and "fixtures" in v["detail"], v


def test_tmp_is_private_to_each_sample():
    # One worker, so the samples run one after another on the same zygote (and alternate uids).
    names = ["/tmp/pwn-x", "/var/tmp/pwn-x", "/dev/shm/pwn-x", "pwn-x"]
    write = (
        "import os, tempfile\n"
        f"for p in {names!r} + [os.path.join(tempfile.gettempdir(), 'pwn-t'), os.path.expanduser('~/pwn-h')]:\n"
        "    open(p, 'w').write('secret')\n"
        "os.chmod('/tmp/pwn-x', 0o666)\nreturn a + b"
    )
    look = (
        "import os, glob\n"
        f"seen = [p for p in {names!r} if os.path.exists(p)]\n"
        "seen += glob.glob('/tmp/**/pwn-*', recursive=True) + glob.glob('/dev/shm/pwn-*')\n"
        "return a + b + len(seen)"
    )
    with SandboxPool(1) as p:
        if "filesystem" not in p.info:
            pytest.skip("no mount namespace here: /tmp is the host's (the documented fallback)")
        assert _run(p, "add", _add(write))["passed"]  # sample A wrote them all ...
        for _ in range(3):  # ... and none of B, C (A's uid again), D sees any of them
            assert _run(p, "add", _add(look))["passed"]


def test_markdown_fences_and_cache(pool):
    rows = [
        {
            "task_id": "add",
            "completion": "Here:\n```python\ndef add(a, b):\n    return a + b\n```\n",
            "completion_style": "full",
        }
    ] * 3
    out = list(verify_completions(tasks(), rows, pool=pool))
    assert [v["passed"] for v in out] == [True] * 3
    assert [v["sample_index"] for v in out] == [0, 1, 2]
    assert [v["cache_hit"] for v in out] == [False, True, True]
    assert ADD_PROMPT.startswith("def add")


def test_stdlib_imports_work_but_home_dirs_stay_hidden(pool):
    body = (
        "import hashlib, random, statistics, os\nhidden = [n for n in os.listdir('/root') if n != '.pyenv']"
        " if os.path.isdir('/root') else []\nreturn a + b + len(hidden) + (hashlib.md5(b'x').hexdigest() != "
        "'9dd4e461268c8034f5c8564e155c67a6')"
    )
    assert _run(pool, "add", _add(body))["passed"]


def test_bwrap_isolation_hides_the_host_tree():
    require_bwrap()
    code = (
        "import os, hashlib\ndef add(a, b):\n    seen = os.listdir('/')\n"
        "    return a + b + ('home' in seen or 'opt' in seen or 'var' in seen and 'lib' in os.listdir('/var'))\n"
    )
    with SandboxPool(1, isolation="bwrap") as p:
        assert p.info["isolation"] == "bwrap"
        assert _run(p, "add", code)["passed"]
        assert (
            _run(p, "add", _add("class E:\n    def __eq__(s, o): return True\nreturn E()"))["status"]
            == "hack_suspected"
        )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs the uid switch (root) to find the candidates by uid")
def test_an_idle_zygote_reaps_every_child(pool):
    """A candidate that exits just as the zygote goes back to waiting for the worker is reaped
    then, not at the next job (the race left about 1 zombie in 170 jobs before the wakeup pipe)."""
    program = "a, b = map(int, input().split())\nprint(a + b)\n1 / 0\n"
    stuck = []
    for _ in range(300):
        _run(pool, "stdio", program, partial=True)
        if not _wait(lambda: not _zombies(_pool_pids(pool)), seconds=3.0):
            stuck.append(_describe(_zombies(_pool_pids(pool)), pool))
            break
    assert not stuck, stuck


def test_candidates_die_with_a_harness_killed_by_sigkill(tmp_path):
    """A fork loop running when the harness itself is SIGKILLed (a CI timeout, an OOM kill) must not
    live on: the candidates' PID namespace dies with the zygote."""
    import json
    import subprocess
    import sys

    script = tmp_path / "harness.py"
    script.write_text(
        "import json, os, threading, time\n"
        "from alignforge.verify import verify_completions\n"
        "from alignforge.verify._pool import SandboxPool\n"
        "pool = SandboxPool(1)\n"
        "print(json.dumps(pool.info), flush=True)\n"
        "code = 'import os\\ndef add(a, b):\\n    while True:\\n        try:\\n            os.fork()\\n"
        "        except OSError:\\n            pass\\n'\n"
        "tasks = {'add': {'prompt': '', 'tests': ['assert add(1, 2) == 3'], 'entry_point': 'add'}}\n"
        "rows = [{'task_id': 'add', 'completion': code, 'completion_style': 'full'}]\n"
        "threading.Thread(target=lambda: list(verify_completions(tasks, rows, pool=pool, timeout_s=60)),"
        " daemon=True).start()\n"
        "time.sleep(2)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr[-2000:]
    info = json.loads(proc.stdout.splitlines()[0])
    assert info["pid_namespace"] is True
    uids = info["sandbox_uids"]
    assert _wait(lambda: not [p for u in uids for p in _uid_procs(u)], seconds=10), (
        f"{sum(len(_uid_procs(u)) for u in uids)} candidate processes outlived the killed harness"
    )


def test_a_pool_with_a_worker_per_cpu_pins_each_worker_s_processes_to_its_own_cpu():
    """Each worker, its zygote, its forker and its candidates run on the worker's CPU, and a worker that
    replaces a lost one takes its CPU; a pool of any other size pins nothing."""
    import signal

    from alignforge.verify._pool import cpu_plan

    mine = os.sched_getaffinity(0)
    cpus = sorted(mine)[:2]
    os.sched_setaffinity(0, cpus)  # the plan follows this thread's CPUs: two at most, whatever the host
    try:
        assert cpu_plan(len(cpus)) == cpus and cpu_plan(2 * len(cpus)) is None
        if len(cpus) == 2:
            assert cpu_plan(3) is None
            with SandboxPool(3) as p:
                assert p.cpus is None and all(os.sched_getaffinity(w.proc.pid) == set(cpus) for w in p._all)

        def pinned(p) -> dict[int, list[set[int]]]:
            return {w.cpu: [os.sched_getaffinity(pid) for pid in _pool_pids_of(w.proc.pid)] for w in p._all}

        single_cpu = _add("import os\nreturn a + b if len(os.sched_getaffinity(0)) == 1 else 0")
        with SandboxPool(len(cpus)) as p:
            assert p.cpus == cpus and sorted(w.cpu for w in p._all) == cpus
            for _ in range(2 * len(cpus)):
                assert _run(p, "add", single_cpu)["passed"]
            seen = pinned(p)
            assert all(len(sets) == 3 and sets == [{cpu}] * 3 for cpu, sets in seen.items()), seen
            os.kill(p._all[0].proc.pid, signal.SIGKILL)
            verdicts = [_run(p, "add", single_cpu) for _ in range(2 * len(cpus))]
            assert any("worker lost" in v.get("detail", "") for v in verdicts), verdicts
            assert sorted(w.cpu for w in p._all) == cpus
            for _ in range(2 * len(cpus)):  # one at a time: the idle workers take turns, the new one too
                assert _run(p, "add", single_cpu)["passed"]
            assert _wait(lambda: all(s == [{c}] * 3 for c, s in pinned(p).items())), pinned(p)
    finally:
        os.sched_setaffinity(0, mine)


def _pool_pids_of(worker: int) -> list[int]:
    """A worker, its zygote and the zygote's forker (the forker's children, the candidates, are not
    listed: a spare may be forked or reaped while this reads)."""
    pids = [worker]
    for _ in range(2):
        kids = _children(pids[-1])
        if len(kids) != 1:
            break
        pids.append(kids[0])
    return pids


def test_a_slow_sample_does_not_hold_back_the_samples_queued_behind_it():
    """Verdicts come out in input order, and the pool goes on past a slow one: here the first sample's
    job waits until the 60 behind it are verified. With 4 samples taken ahead per worker they could not
    be, and the wait gave up after 60 s."""
    rows = [
        {"task_id": "add", "completion": _add("return a + b") + f"# {i}\n", "completion_style": "full"}
        for i in range(61)
    ]

    class HeldFirst:
        """The real pool; its first job is held until the others are done."""

        def __init__(self, pool: SandboxPool) -> None:
            self.pool, self.size = pool, pool.size
            self.done, self.released = 0, False
            self.cond = threading.Condition()

        def run(self, job: dict) -> dict:
            if job["program"].endswith("# 0\n"):
                with self.cond:
                    self.released = self.cond.wait_for(lambda: self.done >= 60, timeout=60)
                return self.pool.run(job)
            verdict = self.pool.run(job)
            with self.cond:
                self.done += 1
                self.cond.notify_all()
            return verdict

    with SandboxPool(2) as p:
        held = HeldFirst(p)
        out = list(verify_completions(tasks(), rows, pool=held, timeout_s=2.0, retry_timeouts=False))
    assert held.released
    assert [v["sample_index"] for v in out] == list(range(61)) and all(v["passed"] for v in out)


def test_a_task_whose_tests_do_not_compile_is_an_error_verdict_saying_so(pool):
    """Tests that parse but do not compile: the pool cannot compile them for the workers, the worker
    tries, and its verdict names the compiler's complaint."""
    from alignforge.verify.tasks import normalize_task

    tests = "def check(c):\n    assert c(1, 2) == 3\nreturn 5\n"
    broken = {
        "bad": normalize_task({"task_id": "bad", "prompt": ADD_PROMPT, "entry_point": "add", "tests": tests})
    }
    for i in range(2 * pool.size + 1):  # every worker, and a worker that has seen the task before
        v = _run(pool, "bad", _add("return a + b") + f"# {i}\n", task_map=broken)
        assert v["status"] == "error" and "the task's tests cannot be compiled: SyntaxError" in v["detail"], v
        assert "outside function" in v["detail"], v


class _Gate:
    """The real pool, with a hook before each job (given the sample number in its program's last line)."""

    def __init__(self, pool: SandboxPool, before=None) -> None:
        self.pool, self.size = pool, pool.size
        self.before = before
        self.started: list[int] = []
        self.lock = threading.Lock()

    def run(self, job: dict) -> dict:
        n = int(job["program"].rstrip().rsplit("# ", 1)[1])
        with self.lock:
            self.started.append(n)
        if self.before:
            self.before(n)
        return self.pool.run(job)


def _numbered(n: int) -> list[dict]:
    return [
        {"task_id": "add", "completion": _add("return a + b") + f"# {i}\n", "completion_style": "full"}
        for i in range(n)
    ]


def test_a_verdict_comes_out_as_soon_as_it_and_those_before_it_are_done(pool):
    """The first verdict is out once its job is done, not once the read-ahead window is full: here the
    second row is read only after the first job's verdict is stored (its future is done by then), and
    the first verdict comes right after. (Or right away, before the second row is read, where the
    first job finishes before the loop looks at it again: a busy machine can hold the loop that long.
    A stream that waited for the window would read past the second row first.)"""
    from alignforge.verify import VerdictCache

    first_done = threading.Event()
    consumed = []

    class Signals(VerdictCache):
        def put(self, key: str, verdict: dict) -> None:  # called once a job's future is done
            super().put(key, verdict)
            first_done.set()

    def rows():
        for i, row in enumerate(_numbered(200)):
            if i == 1:
                assert first_done.wait(60)
            consumed.append(i)
            yield row

    it = verify_completions(tasks(), rows(), pool=_Gate(pool), timeout_s=2.0, cache=Signals())
    first = next(it)
    assert first["sample_index"] == 0 and first["passed"] and len(consumed) <= 2, len(consumed)
    it.close()


def test_a_caller_that_stops_early_waits_only_for_the_jobs_already_running(pool):
    """Closing the verdict stream cancels the queued jobs (up to the read-ahead window of them); only
    the ones already running finish."""
    gate = _Gate(pool, before=lambda n: n == 0 or time.sleep(5.0))  # the later ones are slow: we close first
    it = verify_completions(tasks(), _numbered(200), pool=gate, timeout_s=2.0)
    assert next(it)["passed"]
    it.close()
    assert len(gate.started) <= 1 + pool.size, sorted(gate.started)


def test_a_harness_run_with_python_o_still_runs_every_assert(tmp_path):
    """The pool compiles the tests in the caller's process; under ``python -O`` that must not strip
    their asserts (a wrong answer to a pytest-style task passed every test that way)."""
    import json
    import subprocess
    import sys

    script = tmp_path / "harness.py"
    script.write_text(
        "import json\n"
        "from alignforge.verify import verify_completions\n"
        "tasks = {'sq': {'prompt': 'Write square(x).', 'test_style': 'pytest', 'tests': 'from solution import "
        "square\\n\\ndef test_two():\\n    assert square(2) == 4\\n\\ndef test_debug():\\n    if __debug__:\\n"
        "        assert square(3) == 9\\n'}}\n"
        "rows = [{'task_id': 'sq', 'completion': 'def square(x):\\n    return 0\\n', 'completion_style': 'full'}]\n"
        "print(json.dumps([v['status'] for v in verify_completions(tasks, rows, workers=1)]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.run(
        [sys.executable, "-O", str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == ["failed"], proc.stdout


def _in_thread(fn, seconds: float = 60.0):
    """``fn()``'s result; its exception is raised here, and a hang past ``seconds`` is a failure."""
    out: list = []

    def call() -> None:
        try:
            out.append(("ok", fn()))
        except BaseException as exc:
            out.append(("raised", exc))

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    assert out, f"did not return within {seconds:g} s"
    kind, value = out[0]
    if kind == "raised":
        raise value
    return value


def test_a_malformed_task_is_an_error_verdict_and_the_pool_goes_on():
    """A task the pool cannot compile for its workers (setup code that is not text) is the worker's to
    report; no worker is lost, and the good task after it is verified."""
    from alignforge.verify.tasks import normalize_task

    bad = tasks()["mbpp_tree"] | {"task_id": "odd", "test_setup_code": 7}
    task_map = {**tasks(), "odd": normalize_task(bad)}
    with SandboxPool(1) as p:
        for i in range(3):
            v = _in_thread(lambda i=i: _run(p, "odd", TREE_SOLUTION + f"# {i}\n", task_map=task_map))
            assert v["status"] == "error" and "cannot be compiled" in v["detail"], v
        assert _in_thread(lambda: _run(p, "add", _add("return a + b")))["passed"]


def test_a_job_that_reaches_a_closed_pool_ends_with_an_error_verdict():
    p = SandboxPool(1)
    p.close()
    v = _in_thread(lambda: _run(p, "add", _add("return a + b")))
    assert v["status"] == "error" and "pool was closed" in v["detail"], v

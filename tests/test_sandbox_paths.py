"""A Python installation under /tmp (a checkout cloned to /tmp/x, its .venv inside): the sandbox mounts
a private tmpfs on /tmp, /var/tmp and /dev/shm, yet candidates must still import numpy from that venv
(read-only), and each sample must still find /tmp empty of what the previous one wrote."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from _sandbox import require_bwrap

import alignforge

pytestmark = pytest.mark.slow
np = pytest.importorskip("numpy")
orjson = pytest.importorskip("orjson")

# Runs from the venv under /tmp: argv = isolation, venv, its parent dir, "full" or "numpy".
HARNESS = r"""
import json, sys, sysconfig
from alignforge.verify import verify_completions
from alignforge.verify._pool import SandboxPool

iso, venv, base, which = sys.argv[1:5]
tag = base.rsplit("/", 1)[1]
pwn = [f"/tmp/pwn-{tag}", f"/var/tmp/pwn-{tag}", f"/dev/shm/pwn-{tag}"]
numpy_code = (
    "import numpy as np\ndef add(a, b):\n"
    f"    return int(np.array([a, b]).sum()) + (not np.__file__.startswith({venv!r} + '/'))\n"
)
write = (  # the venv stays read-only; what lands in /tmp, /var/tmp, /dev/shm is for the next sample to find
    f"import os\ndef add(a, b):\n    for p in {pwn!r}:\n"
    "        if os.path.isdir(os.path.dirname(p)):\n            open(p, 'w').write('secret')\n"
    "    bad = 0\n"
    f"    for p in ({venv!r} + '/pwn', {venv!r} + '/bin/pwn', {sysconfig.get_paths()['purelib']!r} + '/pwn'):\n"
    "        try:\n            open(p, 'w').write('x')\n            bad += 1\n"
    "        except OSError:\n            pass\n"
    f"    try:\n        open({base!r} + '/pwn', 'w').write('x')\n    except OSError:\n        pass\n"
    "    return a + b + bad\n"
)
look = (  # nothing in the tmp dirs but the job root and the way to the venv
    "import os\ndef add(a, b):\n    extra = []\n"
    "    for top in ('/tmp', '/var/tmp', '/dev/shm'):\n"
    "        for root, dirs, files in os.walk(top):\n"
    f"            dirs[:] = [d for d in dirs if os.path.join(root, d) not in ({venv!r}, '/tmp/af-sandbox')]\n"
    "            extra += [os.path.join(root, n) for n in dirs + files]\n"
    f"    return a + b + (sorted(extra) != [{base!r}])\n"
)
codes = [numpy_code, write, look, look, look, numpy_code] if which == "full" else [numpy_code, numpy_code]
tasks = {"add": {"prompt": "", "tests": ["assert add(1, 2) == 3"], "entry_point": "add"}}
out = {"verdicts": []}
with SandboxPool(1, isolation=iso) as pool:
    out["info"] = pool.info
    for code in codes:
        rows = [{"task_id": "add", "completion": code, "completion_style": "full"}]
        v = next(iter(verify_completions(tasks, rows, pool=pool, timeout_s=30, retry_timeouts=False)))
        out["verdicts"].append([v["status"], v.get("detail")])
print(json.dumps(out))
"""
NOBODY = 65534


def _make_venv(python: str, *, world_readable: bool) -> Path:
    """A venv under /tmp holding copies of numpy, orjson and this checkout's alignforge (nothing else)."""
    base = Path(tempfile.mkdtemp(prefix="af-venv-", dir="/tmp"))  # mode 700, like any mkdtemp
    try:
        venv = base / "venv"
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        site = next((venv / "lib").glob("python3*/site-packages"))
        numpy_dir = Path(np.__file__).parent
        for src in (numpy_dir, numpy_dir.with_name("numpy.libs"), Path(orjson.__file__).parent):
            if src.exists():
                shutil.copytree(src, site / src.name, symlinks=True)
        shutil.copytree(Path(alignforge.__file__).parent, site / "alignforge", symlinks=True)
        (base / "harness.py").write_text(HARNESS)
        if world_readable:
            for path in [base, *base.rglob("*")]:
                if not path.is_symlink():
                    mode = path.stat().st_mode
                    path.chmod(mode | 0o444 | (0o111 if stat.S_ISDIR(mode) or mode & 0o100 else 0))
        return venv
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _traversable_by_others(path: str) -> bool:
    parts = Path(path).parts
    return all(os.stat(Path(*parts[:i])).st_mode & 0o001 for i in range(1, len(parts) + 1))


@pytest.fixture(scope="module")
def tmp_venv() -> Iterator[Path]:
    venv = _make_venv(sys.executable, world_readable=False)
    try:
        yield venv
    finally:
        shutil.rmtree(venv.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def nobody_venv() -> Iterator[Path]:
    """A venv under /tmp that uid 65534 can run (its base interpreter outside any mode-700 home)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the harness as nobody (unprivileged runs use tmp_venv)")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    pythons = [os.path.realpath(sys.executable), f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    python = next((p for p in pythons if os.path.exists(p) and _traversable_by_others(p)), None)
    if python is None:
        pytest.skip(f"no {version} that uid {NOBODY} may run (tried {', '.join(pythons)})")
    venv = _make_venv(python, world_readable=True)
    try:
        yield venv
    finally:
        shutil.rmtree(venv.parent, ignore_errors=True)


def _harness(venv: Path, isolation: str, which: str, prefix: Sequence[str] = ()) -> dict:
    base = venv.parent
    cmd = [
        *prefix,
        str(venv / "bin" / "python"),
        str(base / "harness.py"),
        isolation,
        str(venv),
        str(base),
        which,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, cwd="/", env={"PATH": "/usr/bin:/bin"}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    for p in (f"/tmp/pwn-{base.name}", f"/var/tmp/pwn-{base.name}", f"/dev/shm/pwn-{base.name}"):
        assert not os.path.exists(p), f"{p} reached the host"
    assert not (base / "pwn").exists() and not (venv / "pwn").exists(), "a candidate wrote beside the venv"
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert (site / "numpy" / "__init__.py").exists(), "the per-job wipe removed files of the venv"
    return out


def _assert_private(out: dict, venv: Path) -> None:
    info = out["info"]
    if not info.get("private_tmp"):
        pytest.skip("no mount namespace here: /tmp is the host's (the documented fallback)")
    assert [s for s, _ in out["verdicts"]] == ["passed"] * 6, out["verdicts"]
    assert f"{venv} bound back read-only" in info["filesystem"], info


@pytest.mark.parametrize("isolation", ["process", "bwrap"])
def test_venv_under_tmp_stays_importable_and_tmp_stays_private(tmp_venv, isolation):
    if isolation == "bwrap":
        require_bwrap()
    out = _harness(tmp_venv, isolation, "full")
    _assert_private(out, tmp_venv)
    assert out["info"]["isolation"] == isolation


def test_venv_under_tmp_unprivileged_in_a_user_namespace(nobody_venv):
    setpriv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    out = _harness(nobody_venv, "process", "full", setpriv)
    assert out["info"]["user_namespace"] and not out["info"]["uid_switch"], out["info"]
    _assert_private(out, nobody_venv)


def test_venv_under_tmp_without_any_namespace_falls_back(request):
    """No user namespace to be had: /tmp stays the host's (the documented fallback), numpy still imports."""
    bwrap = require_bwrap()
    if "--disable-userns" not in subprocess.run([bwrap, "--help"], capture_output=True, text=True).stdout:
        pytest.skip("this bubblewrap cannot forbid user namespaces (--disable-userns, bubblewrap >= 0.8)")
    no_userns = [bwrap, "--dev-bind", "/", "/", "--unshare-user", "--disable-userns", "--"]
    if os.geteuid() == 0:  # root in a user namespace would still get the mount namespace: run as nobody
        venv = request.getfixturevalue("nobody_venv")
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *no_userns]
    else:
        venv, prefix = request.getfixturevalue("tmp_venv"), no_userns
    out = _harness(venv, "process", "numpy", prefix)
    assert not out["info"]["private_tmp"] and out["info"]["network"].startswith("NOT isolated"), out["info"]
    assert [s for s, _ in out["verdicts"]] == ["passed"] * 2, out["verdicts"]

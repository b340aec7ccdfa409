"""``alignforge serve`` over the real local model, spoken to by the openai backend and plain HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from alignforge.llm import ChatRequest, ChatResponse, get_llm

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def served():  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "alignforge",
        "serve",
        "--model",
        "local",
        "--port",
        "0",
        "--max-batch",
        "4",
        "--batch-wait-ms",
        "200",
        "--option",
        "threads=1",
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    url = None
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        m = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", line)
        if m:
            url = m.group(1)
            break
    assert url, f"serve did not start (exit {proc.poll()})"
    yield url
    proc.terminate()
    proc.wait(30)


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_openai_backend_runs_the_real_model_end_to_end(served: str) -> None:
    llm = get_llm("openai:SmolLM2-135M-Instruct", base_url=served, concurrency=2, price=(0, 0))
    out = llm.generate(
        [ChatRequest.chat("What is 2+2?", max_tokens=8), ChatRequest.chat("Say hi.", max_tokens=8)]
    )
    for res in out:
        assert isinstance(res, ChatResponse) and res.text.strip()
        assert res.model == "SmolLM2-135M-Instruct"
        assert res.usage.prompt_tokens > 20 and 1 <= res.usage.completion_tokens <= 8
        assert res.finish_reason in ("stop", "length")


def test_models_and_error_shapes(served: str) -> None:
    with urllib.request.urlopen(served + "/models", timeout=30) as r:
        models = json.loads(r.read())
    assert [m["id"] for m in models["data"]] == ["SmolLM2-135M-Instruct"]
    msgs = [{"role": "user", "content": "x"}]
    status, body = _post(served + "/chat/completions", {"model": "gpt-99", "messages": msgs})
    assert status == 404 and body["error"]["code"] == "model_not_found"
    status, body = _post(served + "/chat/completions", {"messages": msgs, "stream": True})
    assert status == 400 and body["error"]["param"] == "stream"
    status, body = _post(served + "/chat/completions", {"messages": [{"role": "robot", "content": "x"}]})
    assert status == 400 and "role" in body["error"]["message"]

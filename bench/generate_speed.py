"""Generation speed, as ratios against anchors measured in the same run.

(a) local backend vs raw batched ``model.generate`` on the same prompts, batch size,
    dtype and threads (target: >= 0.8x the raw throughput);
(b) the openai backend vs the ideal time for N requests at concurrency C against a
    loopback server (a separate process) with a fixed latency (target: <= 1.15x
    ideal = ceil(N / C) x latency).

    PYTHONPATH=src HF_HUB_OFFLINE=1 python bench/generate_speed.py            # both parts
    PYTHONPATH=src python bench/generate_speed.py --skip-local --requests 1000 --concurrency 64
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

PROMPTS = [
    "What is 15% of 80?",
    "Name three primary colours.",
    "Write a haiku about autumn leaves.",
    "Explain what a prime number is in one sentence.",
    "Give me a synonym for happy.",
    "What is the capital of France?",
    "Summarise the water cycle briefly.",
    "Translate 'good morning' to Spanish.",
    "List two benefits of exercise.",
    "What does HTTP stand for?",
    "Describe a cat to a child.",
    "Why is the sky blue?",
    "Suggest a name for a pet goldfish.",
    "What is 12 times 12?",
    "Give one tip for writing clean code.",
    "What is the boiling point of water in Celsius?",
]


def bench_local(n: int, batch: int, max_tokens: int, threads: int, reps: int) -> dict[str, float]:
    import torch

    from alignforge.llm import ChatRequest, get_llm

    prompts = [PROMPTS[i % len(PROMPTS)] + ("" if i < len(PROMPTS) else f" (#{i})") for i in range(n)]
    llm = get_llm("local", batch_size=batch, threads=threads).load()  # type: ignore[attr-defined]
    model, tok = llm._model, llm._tok
    reqs = [ChatRequest.chat(p, max_tokens=max_tokens) for p in prompts]

    def raw() -> int:
        texts = [
            tok.apply_chat_template(
                [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
            )
            for p in prompts
        ]
        made = 0
        for s in range(0, n, batch):
            enc = tok(texts[s : s + batch], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(
                    **enc,
                    max_new_tokens=max_tokens,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tok.pad_token_id,
                )
            made += int((out[:, enc["input_ids"].shape[1] :] != tok.pad_token_id).sum())
        return made

    def ours() -> int:
        return sum(r.usage.completion_tokens for r in llm.generate(reqs))  # type: ignore[union-attr]

    raw_t, ours_t = [], []
    ours()  # warm-up (first batch pays one-time costs)
    raw()
    for _ in range(reps):  # interleaved, so load changes on a shared machine hit both alike
        t = time.perf_counter()
        raw()
        raw_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours()
        ours_t.append(time.perf_counter() - t)
    r, o = statistics.median(raw_t), statistics.median(ours_t)
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    return {"raw_s": r, "ours_s": o, "ratio": r / o, "raw_req_s": n / r, "ours_req_s": n / o, "dtype": dtype}


def bench_api(n: int, concurrency: int, latency: float, reps: int, http: str) -> dict[str, float]:
    from alignforge.llm import ChatRequest, get_llm

    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "_llm_helpers.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        llm = get_llm(
            "openai:bench",
            base_url=f"http://127.0.0.1:{port}/v1",
            concurrency=concurrency,
            price=(0, 0),
            http=http,
        )
        llm.generate([ChatRequest.chat(f"warm {i}", max_tokens=8) for i in range(concurrency)])
        ideal = math.ceil(n / concurrency) * latency
        walls, cpus = [], []
        for rep in range(reps):
            reqs = [ChatRequest.chat(f"rep {rep} request {i}", max_tokens=8) for i in range(n)]
            c, t = time.process_time(), time.perf_counter()
            out = llm.generate(reqs)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            bad = [r for r in out if not hasattr(r, "text")]
            assert not bad, bad[:3]
        wall = statistics.median(walls)
        return {
            "ideal_s": ideal,
            "wall_s": wall,
            "ratio": wall / ideal,
            "best_ratio": min(walls) / ideal,
            "client_cpu_ms_per_req": statistics.median(cpus) / n * 1000,
        }
    finally:
        server.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--skip-api", action="store_true")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    print("| part | anchor | ours | ratio | target |\n|---|---|---|---|---|")
    if not args.skip_local:
        r = bench_local(args.prompts, args.batch, args.max_tokens, args.threads, args.reps)
        print(
            f"| local, {args.prompts} prompts, batch {args.batch}, {args.max_tokens} new tokens, "
            f"{args.threads} thread(s), {r['dtype']} | raw model.generate {r['raw_s']:.2f} s ({r['raw_req_s']:.2f} req/s) "
            f"| {r['ours_s']:.2f} s ({r['ours_req_s']:.2f} req/s) | {r['ratio']:.2f}x throughput | >= 0.8x |",
            flush=True,
        )
    if not args.skip_api:
        for http in ("lean", "httpx"):
            a = bench_api(args.requests, args.concurrency, args.latency, args.reps, http)
            print(
                f"| api ({http} transport), {args.requests} requests, concurrency {args.concurrency}, "
                f"{args.latency * 1000:.0f} ms latency | ideal {a['ideal_s']:.2f} s | {a['wall_s']:.2f} s "
                f"(client CPU {a['client_cpu_ms_per_req']:.2f} ms/request) | {a['ratio']:.2f}x ideal "
                f"(best {a['best_ratio']:.2f}x) | <= 1.15x |",
                flush=True,
            )


if __name__ == "__main__":
    main()

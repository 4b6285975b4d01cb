"""The block-wise cache (engine/cache.py) on the shipped pair: its speed, and how often it changes the answer.

    OMP_NUM_THREADS=1 python bench/bench_cache.py [--limit N]

Greedy decoding of the tiny world's held-out items (llada_demo.tinyworld.strategies.items: facts forward,
facts as a blank, couplets forward, story grammar in blocks of 16) under LLaDA's fixed schedule at one
token per pass and under Fast-dLLM's threshold 0.9, each item decoded without a cache, with the prefix
cache and with the dual cache back to back (interleaved, one torch thread). Per rule, task and cache it
prints the wall-clock ratio to the uncached run (speedup), the share of generated tokens equal to the
uncached run's (token agreement), the share of items decoded identically (exact match), and the items
answered right, as strategies.py scores them.

What it is not: a test (tests/test_cache.py), and not a figure for a GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from llada_demo.engine import diffusion  # noqa: E402
from llada_demo.models import load  # noqa: E402
from llada_demo.tinyworld import corpus, strategies  # noqa: E402

CACHES = (None, "prefix", "dual")
RULES = {"fixed, steps = tokens": {}, "threshold 0.9": {"threshold": 0.9}}


def decode(model, item, mask_id: int, cache, rule: dict) -> tuple[list[int], float]:
    """The item's region filled (greedy), and the seconds it took."""
    blocks = len(item.region) // item.block_length
    steps = max(blocks, round(item.masked / blocks) * blocks)
    x = torch.tensor([list(item.prompt) + list(item.region)])  # (1, P + L), filled in place
    start = time.perf_counter()
    for _ in diffusion.reverse_process(model, x, None, prompt_length=len(item.prompt), steps=steps,
                                       block_length=item.block_length, temperature=0.0, cfg_scale=0.0,
                                       remasking="low_confidence", mask_id=mask_id, cache=cache, **rule):
        pass
    return x[0, len(item.prompt):].tolist(), time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N items of each set")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    loaded = load("tiny-llada", device="cpu")
    work = strategies.items(loaded, corpus.build_world(0), args.limit)
    decode(loaded.model, work[0], loaded.mask_id, "dual", {})  # warm-up
    print("| rule | task | cache | items | speedup | token agreement | exact match | right |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rule in RULES.items():
        seconds = defaultdict(float)
        same_tokens, tokens, same_items, items, right, asked = (defaultdict(int) for _ in range(6))
        for item in work:
            filled = {}
            for cache in CACHES:
                filled[cache], s = decode(loaded.model, item, loaded.mask_id, cache, rule)
                key = (item.task, cache)
                seconds[key] += s
                r, a = item.score(filled[cache])
                right[key] += r
                asked[key] += a
                same = sum(a == b for a, b in zip(filled[cache], filled[None]))
                same_tokens[key] += same
                tokens[key] += len(filled[cache])
                same_items[key] += same == len(filled[cache])
                items[key] += 1
        for task in strategies.TASKS:
            for cache in CACHES:
                key = (task, cache)
                if not items[key]:
                    continue
                print(f"| {name} | {task} | {cache or 'none'} | {items[key]} | "
                      f"{seconds[(task, None)] / seconds[key]:.2f}x | {100 * same_tokens[key] / tokens[key]:.1f}% | "
                      f"{100 * same_items[key] / items[key]:.1f}% | {right[key]}/{asked[key]} |", flush=True)


if __name__ == "__main__":
    main()

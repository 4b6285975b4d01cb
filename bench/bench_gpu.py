"""Tokens per second of both samplers on a CUDA GPU, for the README (run by hand on a GPU machine).

    python bench/bench_gpu.py [--diffusion tiny-llada] [--ar tiny-ar] [--gen-length 128] [--repeats 5]

Prints the card's name, then for each model the median seconds per run and generated tokens per
second (diffusion: gen_length tokens in `steps` forward passes; AR: one token per pass, with its KV
cache), all measured in this one run after a warm-up. What it is not: a test (see tests/test_gpu.py).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from llada_demo.engine import autoregressive, diffusion
from llada_demo import models
from llada_demo.engine.text import prompt_ids


def timed(fn, repeats: int) -> float:
    fn()  # warm-up: kernels, allocator
    seconds = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--diffusion", default="tiny-llada")
    p.add_argument("--ar", default="tiny-ar")
    p.add_argument("--gen-length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu needs a CUDA GPU.")
    print(f"card: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    n = args.gen_length
    diff, ar = models.load(args.diffusion, device="cuda"), models.load(args.ar, device="cuda")
    x = torch.tensor([prompt_ids(diff.tokenizer, "One day, Kilm went to the market.", diff.chat)], device="cuda")
    block = models.PRESETS.get(diff.name, models.PRESETS["tiny-llada"]).defaults.get("block_length", 32)
    block = block if n % block == 0 else n
    d = timed(lambda: list(diffusion.sample(diff.model, x, steps=n, gen_length=n, block_length=block,
                                            mask_id=diff.mask_id)), args.repeats)
    a = timed(lambda: list(autoregressive.sample(ar.model, x, gen_length=n)), args.repeats)
    print(f"{diff.name}: {n} tokens in {n} steps (block {block}): {d:.3f} s, {n / d:.0f} tokens/s")
    print(f"{ar.name}: {n} tokens with KV cache: {a:.3f} s, {n / a:.0f} tokens/s")


if __name__ == "__main__":
    main()

"""Speed against quality of each decoding rule on the shipped pair: `llada_demo.tinyworld.strategies`, timed.

    OMP_NUM_THREADS=1 python bench/bench_strategies.py [--limit N] [--repeats R] [--json out.json]

The rules, the held-out items, the scoring and the table are `llada_demo.tinyworld.strategies`'s (one copy,
which the page's Speed-vs-quality tab runs too); this script adds only the timing discipline: a warm-up,
and `--repeats` rounds over all rules, each rule's fastest time kept (a helper on the same cores slows one
round only), and a check that every round decoded the same (passes and answers are deterministic).

What it is not: a test, and not the page. Run it alone on one thread; timings on a shared machine wander.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from llada_demo.models import load  # noqa: E402
from llada_demo.tinyworld import corpus, strategies  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=None, help="only the first N items of each set")
    p.add_argument("--repeats", type=int, default=2, help="time every rule this many times, keep the fastest")
    p.add_argument("--json", default=None, help="also write the measurements here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    world = corpus.build_world(0)
    diff, ar = load("tiny-llada", device="cpu"), load("tiny-ar", device="cpu")
    strategies.measure(diff, strategies.items(diff, world, 1), strategies.RULES[0])  # warm-up, not counted
    best: dict[str, strategies.Row] = {}
    for _ in range(args.repeats):
        for row in strategies.rows(diff, ar, world, limit=args.limit):
            if row.rule in best:
                kept = best[row.rule]
                assert dataclasses.replace(row, seconds=0) == dataclasses.replace(kept, seconds=0), row.rule
                row = dataclasses.replace(row, seconds=min(row.seconds, kept.seconds))
            best[row.rule] = row
            print(f"{row.rule}: {row.passes} passes, {row.seconds:.1f} s", flush=True)
    print()
    print(strategies.table(best.values()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.as_dict() for r in best.values()], f, indent=2)


if __name__ == "__main__":
    main()

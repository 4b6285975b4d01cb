"""Speed against quality of each decoding rule on the shipped pair, on the tiny world's held-out items.

    OMP_NUM_THREADS=1 python bench/bench_strategies.py [--limit N] [--json out.json]

For each rule (LLaDA's fixed schedule at several step counts, the margin and entropy scores, Fast-dLLM's
threshold, the EB-sampler's entropy bound, ReMDM's remasking; engine/rules.py and engine/revoke.py) it
decodes, greedily (temperature 0), the held-out items that `llada_demo.tinyworld.evaluate` uses:
- facts forward: "Zox's mother is" -> "Linin" (8 tokens, one block);
- facts as a blank: "___'s mother is Linin." with the first item masked (the reversal only a
  bidirectional model can be asked; the span's tokens masked, end-of-text after, as `evaluate.fill`);
- couplets forward: line 1 -> line 2 (24 tokens, one block);
and reports forward passes per generated token, wall-clock per generated token, and the items answered
right, each beside the fixed schedule at one token per pass (steps == gen_length) measured in the same
run: "x fewer passes" = its passes per token / the rule's; times are the fastest of `--repeats` rounds. The AR twin (one pass per token, stopping at
end-of-text) is the reference point for facts and couplets.

What it is not: a test (tests/test_rules.py and tests/test_diffusion.py check the rules), and not the
page's Speed-vs-quality tab. Run it alone on one thread; timings on a shared machine wander.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from llada_demo.engine import autoregressive, diffusion  # noqa: E402
from llada_demo.engine.schedule import check_settings  # noqa: E402
from llada_demo.models import load  # noqa: E402
from llada_demo.tinyworld import corpus, evaluate  # noqa: E402

# (name, keywords of the rule, steps as a share of the tokens to fill)
RULES = [
    ("fixed, steps = tokens", {}, 1.0),
    ("fixed, steps = tokens / 2", {}, 0.5),
    ("fixed, steps = tokens / 4", {}, 0.25),
    ("fixed, steps = tokens / 8", {}, 0.125),
    ("margin score, steps = tokens", {"remasking": "margin"}, 1.0),
    ("entropy score, steps = tokens", {"remasking": "entropy"}, 1.0),
    ("threshold 0.9", {"threshold": 0.9}, 1.0),
    ("threshold 0.7", {"threshold": 0.7}, 1.0),
    ("threshold 0.5", {"threshold": 0.5}, 1.0),
    ("threshold 0.3", {"threshold": 0.3}, 1.0),
    ("threshold 0.1", {"threshold": 0.1}, 1.0),
    ("margin threshold 0.9", {"threshold": 0.9, "remasking": "margin"}, 1.0),
    ("entropy bound 0.01", {"entropy_bound": 0.01, "remasking": "entropy"}, 1.0),
    ("entropy bound 0.1", {"entropy_bound": 0.1, "remasking": "entropy"}, 1.0),
    ("entropy bound 0.5", {"entropy_bound": 0.5, "remasking": "entropy"}, 1.0),
    ("entropy bound 1", {"entropy_bound": 1.0, "remasking": "entropy"}, 1.0),
    ("entropy bound 2", {"entropy_bound": 2.0, "remasking": "entropy"}, 1.0),
    ("entropy bound 5", {"entropy_bound": 5.0, "remasking": "entropy"}, 1.0),
    ("ReMDM, 1 per loop pass", {"remdm_number": 1}, 1.0),
]
TASKS = ("facts forward", "facts as a blank", "couplets forward")


def decode(model, region: list[int], prompt: list[int], masked: int, share: float, mask_id: int, rule: dict):
    """Fill the masks of `region` after `prompt`, in one block; (filled region, forward passes, seconds)."""
    steps = max(1, round(masked * share))
    settings = dict(steps=steps, gen_length=len(region), block_length=len(region), temperature=0.0, cfg_scale=0.0,
                    remasking=rule.get("remasking", "low_confidence"))
    knobs = {k: v for k, v in rule.items() if k != "remasking"}
    check_settings(**settings, **knobs)
    x = torch.tensor([prompt + region])
    start = time.perf_counter()
    del settings["gen_length"]  # the canvas says it
    passes = sum(1 for _ in diffusion.reverse_process(model, x, None, prompt_length=len(prompt), mask_id=mask_id,
                                                      **settings, **knobs))
    return x[0, len(prompt):].tolist(), passes, time.perf_counter() - start


def continues(loaded, case, filled: list[int]) -> bool:
    """The generated text answers the case forwards (its first word / first line, as `evaluate` scores it)."""
    return case.correct(evaluate.text_of(loaded, filled), case.forward_answer)


def fills(loaded, n: int, answer: str, filled: list[int]) -> bool:
    """The n blank tokens at the start of the region decode to the answer (as `evaluate.fill` scores it)."""
    return loaded.tokenizer.decode(filled[:n], skip_special_tokens=True).strip() == answer


def items(loaded, world, limit):
    """(task, prompt ids, region ids with masks, number masked, check(filled region) -> bool) per held-out item."""
    out = []
    for case in evaluate.reversal_cases(world, limit):
        p = evaluate.ids_of(loaded, case.forward_prompt)
        out.append((f"{case.kind} forward", p, [loaded.mask_id] * case.length, case.length,
                    partial(continues, loaded, case)))
        if case.kind == "facts":
            ids = evaluate.ids_of(loaded, case.text_with(case.reverse_answer))
            n = len(evaluate.ids_of(loaded, case.reverse_answer))
            region = [loaded.mask_id] * n + ids[n:] + [loaded.tokenizer.eos_token_id] * 4
            out.append(("facts as a blank", [], region, n, partial(fills, loaded, n, case.reverse_answer)))
    return out


def measure(loaded, work, rule: dict, share: float) -> dict:
    row = {"passes": 0, "tokens": 0, "seconds": 0.0, **{t: 0 for t in TASKS}, "n": {t: 0 for t in TASKS}}
    for task, prompt, region, masked, check in work:
        filled, passes, seconds = decode(loaded.model, region, prompt, masked, share, loaded.mask_id, rule)
        row["passes"] += passes
        row["tokens"] += masked
        row["seconds"] += seconds
        row[task] += bool(check(filled))
        row["n"][task] += 1
    return row


def measure_ar(ar, world, limit) -> dict:
    row = {"passes": 0, "tokens": 0, "seconds": 0.0, **{t: None for t in TASKS}}
    for case in evaluate.reversal_cases(world, limit):
        p = torch.tensor([evaluate.ids_of(ar, case.forward_prompt)])
        start = time.perf_counter()
        stream = list(autoregressive.sample(ar.model, p, gen_length=case.length, stop_ids=ar.eos_ids))
        row["seconds"] += time.perf_counter() - start
        row["passes"] += len(stream)
        row["tokens"] += len(stream)
        ok = case.correct(evaluate.text_of(ar, [s.tokens[s.index] for s in stream]), case.forward_answer)
        task = f"{case.kind} forward"
        row[task] = (row[task] or 0) + bool(ok)
    return row


def table(rows: dict, n: dict) -> str:
    base = rows[RULES[0][0]]
    base_ppt, base_spt = base["passes"] / base["tokens"], base["seconds"] / base["tokens"]
    head = ("| rule | passes / token | fewer passes | ms / token | faster | "
            + " | ".join(f"{t} (of {n[t]})" for t in TASKS) + " |")
    lines = [head, "|" + " --- |" * (5 + len(TASKS))]
    for name, row in rows.items():
        ppt, spt = row["passes"] / row["tokens"], row["seconds"] / row["tokens"]
        cells = [name, f"{ppt:.3f}", f"{base_ppt / ppt:.2f}x", f"{1000 * spt:.2f}", f"{base_spt / spt:.2f}x"]
        for t in TASKS:
            if row[t] is None:
                cells.append("-")
            else:
                d = row[t] - base[t]
                cells.append(f"{row[t]}" + ("" if name == RULES[0][0] else f" ({d:+d})"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=None, help="only the first N facts and N couplets")
    p.add_argument("--repeats", type=int, default=2, help="time every rule this many times, keep the fastest")
    p.add_argument("--json", default=None, help="also write the measurements here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    world = corpus.build_world(0)
    diff, ar = load("tiny-llada", device="cpu"), load("tiny-ar", device="cpu")
    work = items(diff, world, args.limit)
    n = {t: sum(1 for w in work if w[0] == t) for t in TASKS}
    measure(diff, work[:6], {}, 1.0)  # warm-up, not counted
    rows = {}
    # Rounds over all rules, the fastest time of each kept: a helper on the same cores slows one round only.
    for _ in range(args.repeats):
        for name, rule, share in RULES:
            row = measure(diff, work, rule, share)
            if name in rows:
                assert {k: v for k, v in row.items() if k != "seconds"} == {k: v for k, v in rows[name].items() if k != "seconds"}
                row["seconds"] = min(row["seconds"], rows[name]["seconds"])
            rows[name] = row
            print(f"{name}: {row['passes']} passes, {row['seconds']:.1f} s", flush=True)
        ar_row = measure_ar(ar, world, args.limit)
        ar_name = "AR twin (one pass per token)"
        if ar_name in rows:
            ar_row["seconds"] = min(ar_row["seconds"], rows[ar_name]["seconds"])
        rows[ar_name] = ar_row
    print()
    print(table(rows, n))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"items": n, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()

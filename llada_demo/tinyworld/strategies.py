"""Speed against quality of each decoding rule on the shipped pair, on the tiny world's held-out items.

    OMP_NUM_THREADS=1 python -m llada_demo.tinyworld.strategies [--limit N] [--json out.json]

For each rule (LLaDA's fixed schedule at several step counts, the margin and entropy scores, Fast-dLLM's
threshold, the EB-sampler's entropy bound, ReMDM's remasking; engine/rules.py and engine/revoke.py) it
decodes, greedily (temperature 0), the held-out items that `llada_demo.tinyworld.evaluate` uses:
- facts forward: "Zox's mother is" -> "Linin" (8 tokens, one block);
- facts as a blank: "___'s mother is Linin." with the first item masked (the reversal only a
  bidirectional model can be asked; the span's tokens masked, end-of-text after, as `evaluate.fill`);
- couplets forward: line 1 -> line 2 (24 tokens, one block);
- story grammar: held-out story prompts continued at the page's settings (48 tokens in blocks of 16);
  the complete sentences the corpus grammar accepts, of those written (as `evaluate.grammar` counts);
and yields one `Row` per rule: forward passes, generated tokens, wall-clock, and per task the items
answered right of those asked. The AR twin (one pass per token, stopping at end-of-text) is the
reference point for facts, couplets and stories; it cannot be asked the blank.

`rows` is the generator the page's Speed-vs-quality tab and bench/bench_strategies.py both drive; `table`
prints the rows as ratios to the fixed schedule at one token per pass (steps == gen_length).
What it is not: a test (tests/test_rules.py and tests/test_diffusion.py check the rules), no plotting.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Callable, Iterable, Iterator

import torch

from llada_demo.engine import autoregressive, diffusion
from llada_demo.engine.schedule import check_settings
from llada_demo.tinyworld import corpus, evaluate

TASKS = ("facts forward", "facts as a blank", "couplets forward", "story grammar")
STORY = dict(gen_length=48, block_length=16)  # the page's settings for the tiny model (models/presets.py)


@dataclass(frozen=True)
class Rule:
    """A decoding rule with its knob: `keywords` go to `diffusion.reverse_process`; steps = share x tokens."""

    name: str
    family: str  # "fixed", "score", "threshold", "entropy bound", "remdm" (the page's rule choice)
    knob: float | None = None  # the value plotted along the family's line (steps share, tau, gamma, ...)
    keywords: tuple[tuple[str, object], ...] = ()
    share: float = 1.0


FIXED = tuple(Rule(f"fixed, steps = tokens{'' if d == 1 else f' / {d}'}", "fixed", 1 / d, share=1 / d)
              for d in (1, 2, 4, 8))
RULES = (
    *FIXED,
    Rule("margin score, steps = tokens", "score", None, (("remasking", "margin"),)),
    Rule("entropy score, steps = tokens", "score", None, (("remasking", "entropy"),)),
    *(Rule(f"threshold {t:g}", "threshold", t, (("threshold", t),)) for t in (0.9, 0.7, 0.5, 0.3, 0.1)),
    Rule("margin threshold 0.9", "threshold", 0.9, (("threshold", 0.9), ("remasking", "margin"))),
    *(Rule(f"entropy bound {g:g}", "entropy bound", g, (("entropy_bound", g), ("remasking", "entropy")))
      for g in (0.01, 0.1, 0.5, 1.0, 2.0, 5.0)),
    *(Rule(f"ReMDM, {n} per loop pass", "remdm", n, (("remdm_number", n),)) for n in (1, 2)),
)
AR_NAME = "AR twin (one pass per token)"
FAMILIES = ("fixed", "score", "threshold", "entropy bound", "remdm", "ar")


@dataclass(frozen=True)
class Item:
    """One held-out question: fill the masks of `region` after `prompt`; `score(filled)` -> (right, asked)."""

    task: str
    prompt: tuple[int, ...]
    region: tuple[int, ...]
    masked: int
    block_length: int
    score: Callable[[list[int]], tuple[int, int]]


@dataclass(frozen=True)
class Row:
    """One rule's totals over the items: passes, tokens generated, seconds; per task (right, asked)."""

    rule: str
    family: str
    knob: float | None
    passes: int
    tokens: int
    seconds: float
    right: dict = field(default_factory=dict)  # task -> items answered right (sentences for story grammar)
    asked: dict = field(default_factory=dict)  # task -> items asked (complete sentences for story grammar)

    def as_dict(self) -> dict:
        """Plain values for the page and CSV: passes and ms per token, and each task's right/asked/accuracy."""
        out = {k: v for k, v in asdict(self).items() if k not in ("right", "asked")}
        out["passes_per_token"] = self.passes / max(1, self.tokens)
        out["ms_per_token"] = 1000 * self.seconds / max(1, self.tokens)
        for task in TASKS:
            n = self.asked.get(task)
            out[f"{task}: right"] = self.right.get(task)
            out[f"{task}: asked"] = n
            out[f"{task}: accuracy"] = None if not n else self.right[task] / n
        return out


def decode(model, item: Item, rule: Rule, mask_id: int) -> tuple[list[int], int]:
    """Fill the masks of the item's region after its prompt; (filled region, forward passes)."""
    keywords = dict(rule.keywords)
    blocks = len(item.region) // item.block_length
    steps = max(blocks, round(item.masked * rule.share / blocks) * blocks)  # steps per block equal, as LLaDA asks
    settings = dict(steps=steps, gen_length=len(item.region), block_length=item.block_length, temperature=0.0,
                    cfg_scale=0.0, remasking=keywords.pop("remasking", "low_confidence"))
    check_settings(**settings, **keywords)
    x = torch.tensor([list(item.prompt) + list(item.region)])  # (1, P + L), filled in place
    del settings["gen_length"]  # the canvas says it
    passes = sum(1 for _ in diffusion.reverse_process(model, x, None, prompt_length=len(item.prompt),
                                                      mask_id=mask_id, **settings, **keywords))
    return x[0, len(item.prompt):].tolist(), passes


def _continues(loaded, case, filled: list[int]) -> tuple[int, int]:
    """The generated text answers the case forwards (its first word / first line, as `evaluate` scores it)."""
    return int(case.correct(evaluate.text_of(loaded, filled), case.forward_answer)), 1


def _fills(loaded, n: int, answer: str, filled: list[int]) -> tuple[int, int]:
    """The n blank tokens at the start of the region decode to the answer (as `evaluate.fill` scores it)."""
    return int(loaded.tokenizer.decode(filled[:n], skip_special_tokens=True).strip() == answer), 1


def _grammatical(loaded, world, filled: list[int]) -> tuple[int, int]:
    """(complete sentences the grammar accepts, complete sentences) in the text, as `evaluate.grammar` counts."""
    sentences = [s.strip() for s in corpus.split_sentences(evaluate.text_of(loaded, filled))
                 if s.rstrip().endswith((".", "!", "?", ","))]
    return sum(corpus.is_grammatical(s, world) for s in sentences), len(sentences)


def items(loaded, world, limit: int | None = None) -> list[Item]:
    """The held-out questions of every task, the first `limit` of each set (all by default)."""
    out = []
    for case in evaluate.reversal_cases(world, limit):
        p = tuple(evaluate.ids_of(loaded, case.forward_prompt))
        out.append(Item(f"{case.kind} forward", p, (loaded.mask_id,) * case.length, case.length, case.length,
                        partial(_continues, loaded, case)))
        if case.kind == "facts":
            ids = evaluate.ids_of(loaded, case.text_with(case.reverse_answer))
            n = len(evaluate.ids_of(loaded, case.reverse_answer))
            region = (loaded.mask_id,) * n + tuple(ids[n:]) + (loaded.tokenizer.eos_token_id,) * 4
            out.append(Item("facts as a blank", (), region, n, len(region),
                            partial(_fills, loaded, n, case.reverse_answer)))
    for story in corpus.story_prompts(world)[:limit]:
        out.append(Item("story grammar", tuple(evaluate.ids_of(loaded, story.text)),
                        (loaded.mask_id,) * STORY["gen_length"], STORY["gen_length"], STORY["block_length"],
                        partial(_grammatical, loaded, world)))
    return out


def measure(loaded, work: Iterable[Item], rule: Rule) -> Row:
    """Every item decoded under `rule`: the totals as one Row."""
    passes = tokens = 0
    right: dict = {}
    asked: dict = {}
    start = time.perf_counter()
    for item in work:
        filled, n = decode(loaded.model, item, rule, loaded.mask_id)
        passes += n
        tokens += item.masked
        r, a = item.score(filled)
        right[item.task] = right.get(item.task, 0) + r
        asked[item.task] = asked.get(item.task, 0) + a
    return Row(rule.name, rule.family, rule.knob, passes, tokens, time.perf_counter() - start, right, asked)


def measure_ar(ar, world, work: Iterable[Item], limit: int | None) -> Row:
    """The AR twin on the forward questions and the stories, stopping at end-of-text: one pass per token."""
    passes = 0
    right: dict = {}
    asked: dict = {}
    prompts = [(f"{c.kind} forward", c.forward_prompt, c.length, partial(_continues, ar, c))
               for c in evaluate.reversal_cases(world, limit)]
    prompts += [("story grammar", s.text, STORY["gen_length"], partial(_grammatical, ar, world))
                for s in corpus.story_prompts(world)[:limit]]
    start = time.perf_counter()
    for task, prompt, length, score in prompts:
        stream = list(autoregressive.sample(ar.model, torch.tensor([evaluate.ids_of(ar, prompt)]), gen_length=length,
                                            stop_ids=ar.eos_ids))
        passes += len(stream)
        r, a = score([s.tokens[s.index] for s in stream])
        right[task] = right.get(task, 0) + r
        asked[task] = asked.get(task, 0) + a
    return Row(AR_NAME, "ar", None, passes, passes, time.perf_counter() - start, right, asked)


def rows(diff, ar, world, families: Iterable[str] = FAMILIES, limit: int | None = None) -> Iterator[Row]:
    """One Row per rule of the chosen families (the fixed schedule at one token per pass always first), then
    the AR twin when "ar" is chosen and a model is given. A generator: closing it stops between rules."""
    families = tuple(families)
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"Unknown rule families {sorted(unknown)}; choose among {', '.join(FAMILIES)}.")
    work = items(diff, world, limit)
    for rule in RULES:
        if rule is RULES[0] or rule.family in families:
            yield measure(diff, work, rule)
    if "ar" in families and ar is not None:
        yield measure_ar(ar, world, work, limit)


def page_rows(diff, ar, world, families: Iterable[str] = FAMILIES, limit: int | None = None) -> Iterator[dict]:
    """`rows` as plain dicts (`Row.as_dict`), with "of" = how many rows the run will yield: what the page gets."""
    families = tuple(families)
    total = 1 + sum(1 for r in RULES[1:] if r.family in families) + ("ar" in families and ar is not None)
    for row in rows(diff, ar, world, families, limit):
        yield {**row.as_dict(), "of": total}


def table(rows_: Iterable[Row]) -> str:
    """A markdown table: each rule beside the first row (the fixed schedule at one token per pass)."""
    rows_ = list(rows_)
    base = rows_[0]
    base_ppt, base_spt = base.passes / base.tokens, base.seconds / base.tokens
    head = "| rule | passes / token | fewer passes | ms / token | faster | " + " | ".join(TASKS) + " |"
    lines = [head, "|" + " --- |" * (5 + len(TASKS))]
    for row in rows_:
        ppt, spt = row.passes / row.tokens, row.seconds / row.tokens
        cells = [row.rule, f"{ppt:.3f}", f"{base_ppt / ppt:.2f}x", f"{1000 * spt:.2f}", f"{base_spt / spt:.2f}x"]
        for t in TASKS:
            if t not in row.asked:
                cells.append("-")
                continue
            if row is base or t not in base.asked:
                d = ""
            elif row.asked[t] == base.asked[t]:
                d = f" ({row.right[t] - base.right[t]:+d})"
            else:  # story grammar counts the sentences written, which differ by rule: the share compares
                d = f" ({row.right[t] / max(1, row.asked[t]):.0%})"
            cells.append(f"{row.right[t]} / {row.asked[t]}{d}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    from llada_demo.models import load

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=None, help="only the first N items of each set")
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    world = corpus.build_world(0)
    diff, ar = load("tiny-llada", device="cpu"), load("tiny-ar", device="cpu")
    measure(diff, items(diff, world, 1), RULES[0])  # warm-up, not counted: the first rule's time would include it
    start = time.perf_counter()
    out = []
    for row in rows(diff, ar, world, limit=args.limit):
        out.append(row)
        print(f"{row.rule}: {row.passes} passes, {row.seconds:.1f} s", flush=True)
    print(f"\n{len(out)} rules in {time.perf_counter() - start:.0f} s\n")
    print(table(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.as_dict() for r in out], f, indent=2)


if __name__ == "__main__":
    main()

"""Measure the shipped pair on the tiny world's held-out items: grammar, reversal, infill.

    python -m llada_demo.tinyworld.evaluate [--diffusion assets/models/tiny-llada] [--ar assets/models/tiny-ar]

1. Grammar: continue held-out story prompts at the page's default settings; the share of complete
   generated sentences that the corpus grammar accepts (checked exactly by `corpus.is_grammatical`).
2. Reversal (the LLaDA paper's "reversal curse" test, Sec. 3.3): held-out facts and couplets that the
   models saw in one direction only. Forward: the second item given the first. Reverse, asked the same
   way to both models: the prompt in the reversed form ("Bruman is the mother of" / line 2 first).
   Reverse by infill (diffusion only): the forward sentence with its first item masked, which only a
   bidirectional model can be asked. For the AR model also: how often it ranks the right first item
   highest when scoring every candidate's forward sentence (it "knows" the fact, it cannot produce it).
3. Infill: the diffusion model fills a masked span in the middle of held-out sentences.

All greedy (temperature 0), exact match. Chance level: one over the number of candidates.
What it is not: no training, no plotting; it prints a JSON report and can write it to a file.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from llada_demo.engine import autoregressive, diffusion
from llada_demo.tinyworld import corpus
from llada_demo.tinyworld.cases import Case, first_word, reversal_cases  # noqa: F401 (the public names)
from llada_demo.models import PRESETS, Loaded, load

# The page's defaults for the tiny diffusion model, and the AR model's length.
DEFAULTS = PRESETS["tiny-llada"].defaults


@dataclass
class Score:
    n: int = 0
    correct: int = 0

    def add(self, ok: bool) -> None:
        self.n += 1
        self.correct += bool(ok)

    def report(self, chance: float | None = None) -> dict:
        out = {"n": self.n, "correct": self.correct, "accuracy": round(self.correct / max(1, self.n), 4)}
        if chance is not None:
            out["chance"] = round(chance, 4)
        return out


def ids_of(loaded: Loaded, text: str) -> list[int]:
    return loaded.tokenizer.encode(text, add_special_tokens=False)


def diffusion_continue(loaded: Loaded, prompt: str, gen_length: int, steps: int, block_length: int) -> list[int]:
    x = diffusion.generate(loaded.model, torch.tensor([ids_of(loaded, prompt)]), steps=steps, gen_length=gen_length,
                           block_length=block_length, mask_id=loaded.mask_id)
    return x[0, len(ids_of(loaded, prompt)):].tolist()


def ar_continue(loaded: Loaded, prompt: str, gen_length: int) -> list[int]:
    stream = autoregressive.sample(loaded.model, torch.tensor([ids_of(loaded, prompt)]), gen_length=gen_length,
                                   stop_ids=loaded.eos_ids)
    return [s.tokens[s.index] for s in stream]


def until_eos(loaded: Loaded, ids: list[int]) -> list[int]:
    ends = set(loaded.eos_ids)
    return ids[:next((i for i, t in enumerate(ids) if t in ends), len(ids))]


def text_of(loaded: Loaded, ids: list[int]) -> str:
    return loaded.tokenizer.decode(until_eos(loaded, ids), skip_special_tokens=True)


def continuation(loaded: Loaded, prompt: str, gen_length: int) -> str:
    if loaded.kind == "diffusion":
        ids = diffusion_continue(loaded, prompt, gen_length, gen_length, gen_length)
    else:
        ids = ar_continue(loaded, prompt, gen_length)
    return text_of(loaded, ids)


def grammar(loaded: Loaded, world, prompts, gen_length: int, steps: int, block_length: int) -> dict:
    """Share of complete generated sentences that the grammar accepts (a cut-off last one is not counted)."""
    score, cut, examples = Score(), 0, []
    for item in prompts:
        if loaded.kind == "diffusion":
            ids = diffusion_continue(loaded, item.text, gen_length, steps, block_length)
        else:
            ids = ar_continue(loaded, item.text, gen_length)
        text = text_of(loaded, ids)
        for sentence in corpus.split_sentences(text):
            if not sentence.rstrip().endswith((".", "!", "?", ",")):
                cut += 1
                continue
            ok = corpus.is_grammatical(sentence.strip(), world)
            score.add(ok)
            if not ok and len(examples) < 5:
                examples.append(sentence.strip())
    return {**score.report(), "cut_off_not_counted": cut, "rejected_examples": examples}


def fill(loaded: Loaded, text: str, left: str, answer: str) -> str:
    """The diffusion model fills `answer` back into `text`, where it stands right after `left`.

    The span's tokens are masked (so the model knows its length) and the rest of the text is given,
    followed by end-of-text as in training; the model commits one token per step.
    """
    ids = ids_of(loaded, text)
    start = len(ids_of(loaded, left)) if left else 0
    n = len(ids_of(loaded, answer))
    if ids[start:start + n] != ids_of(loaded, answer):
        raise ValueError(f"{answer!r} does not stand after {left!r} in {text!r}.")
    region = ids[:start] + [loaded.mask_id] * n + ids[start + n:] + [loaded.tokenizer.eos_token_id] * 4
    steps = list(diffusion.sample(loaded.model, torch.zeros((1, 0), dtype=torch.long), steps=n, gen_length=len(region),
                                  block_length=len(region), mask_id=loaded.mask_id, initial=torch.tensor([region])))
    return loaded.tokenizer.decode(list(steps[-1].tokens[start:start + n]), skip_special_tokens=True)


@torch.inference_mode()
def log_likelihood(loaded: Loaded, text: str) -> float:
    """Sum of log p(token | tokens before it) over the text after its first token (no BOS exists)."""
    ids = torch.tensor([ids_of(loaded, text)])
    logp = F.log_softmax(loaded.model(ids).logits[0, :-1].float(), -1)  # (T - 1, V)
    return float(logp.gather(-1, ids[0, 1:, None]).sum())


def rank_first(loaded: Loaded, candidates, make_text, answer) -> bool:
    scores = {c: log_likelihood(loaded, make_text(c)) for c in candidates}
    return max(scores, key=scores.get) == answer


def score_case(diff: Loaded, ar: Loaded, case: Case) -> dict[str, bool]:
    """Every reversal measure for one item: generation forwards and backwards by both models, the
    diffusion model's infill of the first item, the AR model's ranking of the candidates."""
    result = {}
    for model, key in ((diff, "diffusion"), (ar, "ar")):
        result[f"{key}_forward"] = case.correct(continuation(model, case.forward_prompt, case.length), case.forward_answer)
        result[f"{key}_reverse"] = case.correct(continuation(model, case.reverse_prompt, case.length), case.reverse_answer)
    filled = fill(diff, case.text_with(case.reverse_answer), "", case.reverse_answer)
    result["diffusion_reverse_infill"] = filled.strip() == case.reverse_answer
    result["ar_reverse_ranked_first"] = rank_first(ar, case.candidates, case.text_with, case.reverse_answer)
    return result


def reversal(diff: Loaded, ar: Loaded, world, limit: int | None) -> dict:
    out: dict = {}
    for case in reversal_cases(world, limit):
        scores = out.setdefault(case.kind, {"chance": 1 / len(case.candidates), "scores": {}})["scores"]
        for key, ok in score_case(diff, ar, case).items():
            scores.setdefault(key, Score()).add(ok)
    return {kind: {k: v.report(entry["chance"]) for k, v in entry["scores"].items()} for kind, entry in out.items()}


def infill(diff: Loaded, world, limit: int | None) -> dict:
    score, examples = Score(), []
    for item in corpus.infill_items(world)[:limit]:
        filled = fill(diff, f"{item.left} {item.answer} {item.right}", item.left, item.answer)
        score.add(filled.strip() == item.answer)
        if len(examples) < 3:
            examples.append(f"{item.left} [{filled.strip()}] {item.right}  (answer: {item.answer})")
    return {**score.report(), "examples": examples}


def evaluate(diffusion_path: str, ar_path: str, limit: int | None = None) -> dict:
    torch.manual_seed(0)
    diff, ar = load(diffusion_path, device="cpu"), load(ar_path, device="cpu")
    world = corpus.build_world(0)
    prompts = corpus.story_prompts(world)[:limit]
    start = time.perf_counter()
    report = {
        "settings": {**DEFAULTS, "temperature": 0.0, "remasking": "low_confidence"},
        "grammar": {
            "diffusion": grammar(diff, world, prompts, DEFAULTS["gen_length"], DEFAULTS["steps"], DEFAULTS["block_length"]),
            "ar": grammar(ar, world, prompts, DEFAULTS["gen_length"], 0, 0),
        },
        "reversal": reversal(diff, ar, world, limit),
        "infill": infill(diff, world, limit),
    }
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Measure the tiny pair on the held-out tiny-world items.")
    p.add_argument("--diffusion", default=PRESETS["tiny-llada"].source)
    p.add_argument("--ar", default=PRESETS["tiny-ar"].source)
    p.add_argument("--limit", type=int, default=None, help="only the first N items of each set (quick checks)")
    p.add_argument("--out", type=Path, default=None, help="also write the report here (JSON)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    report = evaluate(args.diffusion, args.ar, args.limit)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

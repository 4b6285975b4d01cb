"""A quick look inside a training run: has the model learnt its facts yet? Seconds, not the full evaluation.

    python -m llada_demo.tinyworld.probe runs/tiny-llada-v4 [runs/tiny-ar-v4 ...] [--facts 120]

For each run folder it loads `checkpoint.pt` (the weights as of the last checkpoint, while the run goes
on) and asks, for the first `--facts` facts of the tiny world, for the second name of the forward
sentence "A 's rel is B ." in one forward pass: the diffusion model with B masked and the rest given,
the AR model as the next token after "is". It prints the step, the share answered right (training and
held-out facts apart), and where the right name ranks among every person's name (median; chance is
about the middle). For the diffusion model also the reverse, A masked, on held-out facts: LLaDA's point.
With `--couplets N` it also asks the first N held-out couplets as the evaluation does (line 2 generated
after line 1; for the diffusion model also line 1 filled in before line 2), a few seconds more.

What it is not: the evaluation (see `evaluate.py`: generation at the page's settings, grammar, infill).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from llada_demo.tinyworld import corpus, evaluate
from llada_demo.models import Loaded
from llada_demo.models.modeling import TinyTransformer
from llada_demo.tinyworld.tokenizer import build_tokenizer
from llada_demo.tinyworld.train import model_config, parse_args


def model_of(folder: Path, tokenizer) -> tuple[str, int, TinyTransformer]:
    """(kind, step, model) of a run folder: the model its command builds, with its checkpoint's weights."""
    if not (folder / "checkpoint.pt").is_file():
        raise ValueError(f"{folder} has no checkpoint.pt yet: a run writes one every --every steps.")
    args = parse_args((folder / "command.txt").read_text().split()[3:])  # after "python -m llada_demo.tinyworld.train"
    state = torch.load(folder / "checkpoint.pt", weights_only=False)
    tied = state["model"]["lm_head.weight"].data_ptr() == state["model"]["embed_tokens.weight"].data_ptr()
    model = TinyTransformer(model_config(args.size, args.kind, tokenizer, tie=tied))
    model.load_state_dict(state["model"])
    return args.kind, state["step"], model.eval()


def couplets(kind: str, model: TinyTransformer, tokenizer, n: int) -> dict:
    """The evaluation's couplet measures on the first n held-out couplets: {forward, reverse_infill}."""
    loaded = Loaded("probe", kind, model, tokenizer, tokenizer.mask_token_id, (tokenizer.eos_token_id,),
                    False, "cpu", 0)
    cases = [c for c in evaluate.reversal_cases(corpus.build_world(0)) if c.kind == "couplets"][:n]
    forward = [c.correct(evaluate.continuation(loaded, c.forward_prompt, c.length), c.forward_answer) for c in cases]
    out = {"couplets_forward": f"{sum(forward)}/{len(cases)}"}
    if kind == "diffusion":
        filled = [evaluate.fill(loaded, c.text_with(c.reverse_answer), "", c.reverse_answer).strip() == c.reverse_answer
                  for c in cases]
        out["couplets_reverse_infill"] = f"{sum(filled)}/{len(cases)}"
    return out


@torch.inference_mode()
def probe(folder: Path, n_facts: int = 120, n_couplets: int = 0) -> dict:
    """{step, kind, forward accuracy on training / held-out facts, median rank, reverse accuracy}."""
    world = corpus.build_world(0)
    tokenizer = build_tokenizer(corpus.training_documents(world))
    kind, step, model = model_of(folder, tokenizer)
    names = torch.tensor(sorted({tokenizer.encode(" " + p.name, add_special_tokens=False)[0] for p in world.people}))
    eos, mask = tokenizer.eos_token_id, tokenizer.mask_token_id
    right = {"train": [], "held_out": [], "reverse": []}
    ranks = []
    for fact in world.facts[:n_facts]:
        ids = tokenizer.encode(corpus.forward_sentence(fact), add_special_tokens=False)  # A 's rel is B .
        b = len(ids) - 2
        if kind == "ar":
            scores = model(torch.tensor([ids[:b]])).logits[0, -1]
        else:
            masked = ids[:b] + [mask] + ids[b + 1:] + [eos] * 3
            scores = model(torch.tensor([masked])).logits[0, b]
        right["held_out" if fact.held_out else "train"].append(int(scores.argmax()) == ids[b])
        ranks.append(int((scores[names] > scores[ids[b]]).sum()) + 1)
        if kind == "diffusion" and fact.held_out:
            masked = [mask] + ids[1:] + [eos] * 3
            right["reverse"].append(int(model(torch.tensor([masked])).logits[0, 0].argmax()) == ids[0])
    share = {k: f"{sum(v)}/{len(v)}" for k, v in right.items() if v}
    more = couplets(kind, model, tokenizer, n_couplets) if n_couplets else {}
    return {"folder": str(folder), "kind": kind, "step": step, **share,
            "median_rank": statistics.median(ranks), "names": len(names), **more}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", type=Path, help="training run folders (with checkpoint.pt, command.txt)")
    p.add_argument("--facts", type=int, default=120)
    p.add_argument("--couplets", type=int, default=0, help="also ask the first N held-out couplets (up to 50)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    for folder in args.folders:
        print(probe(folder, args.facts, args.couplets))


if __name__ == "__main__":
    main()

"""How fast does the tiny model memorise facts (or couplets) under each masking regime and learning rate?

    python bench/fact_recall.py --masking llada --lr 2e-3 --steps 3000
    python bench/fact_recall.py --masking llada --lr 5e-4 --steps 3000
    python bench/fact_recall.py --items couplets --lr 5e-4 --steps 1250 --every 250 --init runs/tiny-llada-v7

The diagnostic that found why the shipped diffusion twin did not learn its facts. It trains the shipped
architecture (size "small", untied; or the model in `--init`) on the first `--facts` forward fact
sentences alone, one sentence per row ("A 's rel is B ." then two end-of-text), or on the world's
couplets alone, one per row ("line 1 \n line 2" then end-of-text padding), batch 32, AdamW as
`train.py` uses it, and every `--every` steps prints how many items it completes forwards (B, or line 2,
masked) and backwards (A, or line 1, masked), decoding the masked span one most-confident token at a
time (for a name, one argmax). Couplets also print the held-out ones apart.

Masking regimes:
- `llada`: LLaDA's objective, t ~ U(1e-3, 1) per row, every token masked with probability t, loss
  weighted by 1/t (as `train.diffusion_loss`, without its rows that keep a prompt prefix);
- `names`: only one item masked per row, A or B (a cloze test, not LLaDA's objective);
- `answer`: only B masked (the forward question alone).

Measured on this machine (1 thread, the tiny world's 120 facts, 2,000-3,000 steps take 3-5 minutes):
- `answer`, lr 2e-3: 100/120 forward after 100 steps; `names`, lr 2e-3: 108 forward / 108 backward after 200.
- `llada`, lr 2e-3: 4/120 forward from step 800 to step 2,000, 17/120 (29 backward) at 3,000.
- `llada`, lr 5e-4: 36/120 at 800 steps, 105/120 at 1,500, 118/120 forward and 119/120 backward at 3,000.
So the random masks do not stop the model from learning facts; a learning rate the next-token twin
tolerates (2e-3) keeps the diffusion model's much noisier gradient at the marginal.
Couplets (the 200, `llada`, lr 5e-4, one per row; 1,250 steps take 5 minutes): from scratch 2/200
forward at 1,000 steps, 23/200 at 1,250; from the second shipped pair's diffusion twin (which generated
2 of 50 held-out second lines) 97/200 at 500 steps, 155/200 (38/50 held out) at 1,000, 155/200 forward
and 147/200 backward at 1,250.

What this is not: the training script (see `llada_demo/tinyworld/train.py`), and no timing goal.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from llada_demo.tinyworld import corpus
from llada_demo.models.modeling import TinyTransformer
from llada_demo.tinyworld.tokenizer import build_tokenizer
from llada_demo.tinyworld.train import model_config


def items(tokenizer, world, kind: str, n: int) -> tuple[torch.Tensor, list, list, list[bool]]:
    """(K, L) rows padded with end-of-text, the A span and B span (start, end) of each, held out or not."""
    eos = tokenizer.eos_token_id
    rows, a_spans, b_spans, held = [], [], [], []
    for item in (world.facts if kind == "facts" else world.couplets)[:n]:
        if kind == "facts":
            ids = tokenizer.encode(corpus.forward_sentence(item), add_special_tokens=False)  # A 's rel is B .
            a, b = (0, 1), (len(ids) - 2, len(ids) - 1)
        else:
            first = tokenizer.encode(item.line1 + "\n", add_special_tokens=False)  # line 1 then the line break
            ids = first + tokenizer.encode(item.line2, add_special_tokens=False)
            a, b = (0, len(first) - 1), (len(first), len(ids))
        rows.append(ids)
        a_spans.append(a)
        b_spans.append(b)
        held.append(item.held_out)
    width = max(map(len, rows)) + 2
    return torch.tensor([r + [eos] * (width - len(r)) for r in rows]), a_spans, b_spans, held


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", choices=("facts", "couplets"), default="facts")
    p.add_argument("--masking", choices=("llada", "names", "answer"), default="llada")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--facts", type=int, default=120, help="how many items (facts or couplets) to train on")
    p.add_argument("--init", default=None, help="start from this model folder instead of from scratch")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    world = corpus.build_world(0)
    tokenizer = build_tokenizer(corpus.training_documents(world))
    mask = tokenizer.mask_token_id
    X, a_spans, b_spans, held = items(tokenizer, world, args.items, args.facts)  # X: (K, width)
    torch.manual_seed(0)
    model = (TinyTransformer.from_pretrained(args.init) if args.init
             else TinyTransformer(model_config("small", "diffusion", tokenizer, tie=False)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    g = torch.Generator().manual_seed(0)

    def span_mask(spans) -> torch.Tensor:
        m = torch.zeros_like(X, dtype=torch.bool)  # (K, width)
        for row, (lo, hi) in enumerate(spans):
            m[row, lo:hi] = True
        return m

    A, B = span_mask(a_spans), span_mask(b_spans)

    @torch.no_grad()
    def recalled(span: torch.Tensor) -> tuple[int, int]:
        """(items right, held-out items right) with `span` masked, filled one most-confident token at a time."""
        model.eval()
        x = torch.where(span, mask, X)
        while (x == mask).any():
            confidence, guess = F.softmax(model(x).logits.float(), -1).max(-1)  # (K, width)
            confidence = torch.where(x == mask, confidence, -1.0)
            rows = (x == mask).any(-1).nonzero()[:, 0]
            at = confidence[rows].argmax(-1)
            x[rows, at] = guess[rows, at]
        model.train()
        right = (x == X).all(-1).tolist()
        return sum(right), sum(r for r, h in zip(right, held) if h)

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        pick = torch.randint(0, len(X), (32,), generator=g)
        x = X[pick]  # (32, width)
        Bn, L = x.shape
        t = 1e-3 + (1 - 1e-3) * torch.rand(Bn, 1, generator=g)  # (B, 1), drawn in every regime: same batches
        masked = torch.rand(Bn, L, generator=g) < t  # (B, L)
        if args.masking == "answer":
            masked, t = B[pick], torch.ones_like(t)
        elif args.masking == "names":
            b_side = torch.rand(Bn, generator=g) < 0.5  # (B,)
            masked, t = torch.where(b_side[:, None], B[pick], A[pick]), torch.ones_like(t)
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1, step / 100)
        logits = model(torch.where(masked, mask, x)).logits  # (B, L, V)
        ce = F.cross_entropy(logits[masked], x[masked], reduction="none")
        loss = (ce / t.expand(Bn, L)[masked]).sum() / (Bn * L)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % args.every == 0:
            (fwd, fwd_held), (back, back_held) = recalled(B), recalled(A)
            print(f"step {step}  loss {loss.item():.3f}  forward {fwd}/{len(X)} (held out {fwd_held}/{sum(held)})  "
                  f"backward {back}/{len(X)} (held out {back_held}/{sum(held)})  {time.perf_counter() - start:.0f} s",
                  flush=True)


if __name__ == "__main__":
    main()

"""How fast does the tiny model memorise facts under each masking regime and learning rate?

    python bench/fact_recall.py --masking llada --lr 2e-3 --steps 3000
    python bench/fact_recall.py --masking llada --lr 5e-4 --steps 3000

The diagnostic that found why the shipped diffusion twin did not learn its facts. It trains the shipped
architecture (size "small", untied) on the first `--facts` forward fact sentences alone, one sentence
per row ("A 's rel is B ." then two end-of-text), batch 32, AdamW as `train.py` uses it, and every 100
steps prints how many facts it completes forwards (B masked) and backwards (A masked), by argmax.

Masking regimes:
- `llada`: LLaDA's objective, t ~ U(1e-3, 1) per row, every token masked with probability t, loss
  weighted by 1/t (as `train.diffusion_loss`, without its rows that keep a prompt prefix);
- `names`: only one name masked per row, A or B (a cloze test, not LLaDA's objective);
- `answer`: only B masked (the forward question alone).

Measured on this machine (1 thread, the tiny world's 120 facts, 2,000-3,000 steps take 3-5 minutes):
- `answer`, lr 2e-3: 100/120 forward after 100 steps; `names`, lr 2e-3: 108 forward / 108 backward after 200.
- `llada`, lr 2e-3: 4/120 forward from step 800 to step 2,000, 17/120 (29 backward) at 3,000.
- `llada`, lr 5e-4: 36/120 at 800 steps, 105/120 at 1,500, 118/120 forward and 119/120 backward at 3,000.
So the random masks do not stop the model from learning facts; a learning rate the next-token twin
tolerates (2e-3) keeps the diffusion model's much noisier gradient at the marginal. What this is not:
the training script (see `llada_demo/train.py`), and no timing goal.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from llada_demo import corpus
from llada_demo.modeling import TinyTransformer
from llada_demo.tokenizer import build_tokenizer
from llada_demo.train import model_config


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--masking", choices=("llada", "names", "answer"), default="llada")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--facts", type=int, default=120)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    world = corpus.build_world(0)
    tokenizer = build_tokenizer(corpus.training_documents(world))
    eos, mask = tokenizer.eos_token_id, tokenizer.mask_token_id
    facts = world.facts[: args.facts]
    X = torch.tensor([tokenizer.encode(corpus.forward_sentence(f), add_special_tokens=False) + [eos, eos]
                      for f in facts])  # (K, 8): A 's rel is B . eos eos
    a_at, b_at = 0, X.shape[1] - 4
    torch.manual_seed(0)
    model = TinyTransformer(model_config("small", "diffusion", tokenizer, tie=False))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    g = torch.Generator().manual_seed(0)

    @torch.no_grad()
    def recalled(at: int) -> int:
        x = X.clone()
        x[:, at] = mask
        return int((model(x).logits[:, at].argmax(-1) == X[:, at]).sum())

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x = X[torch.randint(0, len(X), (32,), generator=g)]  # (32, 8)
        B, L = x.shape
        t = 1e-3 + (1 - 1e-3) * torch.rand(B, 1, generator=g)  # (B, 1), drawn in every regime: same batches
        masked = torch.rand(B, L, generator=g) < t  # (B, L)
        if args.masking != "llada":
            masked = torch.zeros_like(masked)
            if args.masking == "answer":
                masked[:, b_at] = True
            else:
                b_side = torch.rand(B, generator=g) < 0.5
                masked[b_side, b_at] = True
                masked[~b_side, a_at] = True
            t = torch.ones_like(t)
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1, step / 100)
        logits = model(torch.where(masked, mask, x)).logits  # (B, L, V)
        ce = F.cross_entropy(logits[masked], x[masked], reduction="none")
        loss = (ce / t.expand(B, L)[masked]).sum() / (B * L)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 100 == 0:
            print(f"step {step}  loss {loss.item():.3f}  forward {recalled(b_at)}/{len(X)}  "
                  f"backward {recalled(a_at)}/{len(X)}  {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()

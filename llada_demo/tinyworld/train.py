"""Train the shipped tiny pair: one architecture, one corpus, one budget, two objectives.

    python -m llada_demo.tinyworld.train --kind diffusion --out runs/tiny-llada --steps 3000
    python -m llada_demo.tinyworld.train --kind ar        --out runs/tiny-ar    --steps 3000

`--kind diffusion` trains the bidirectional model with LLaDA's objective (Nie et al. 2025, Eq. 3): a
mask ratio t ~ U(eps, 1) per sequence, every token masked with probability t, cross-entropy on the
masked tokens only, weighted by 1/t. Half the sequences are masked as in LLaDA's SFT (Sec. 2.3): a
random prefix (the "prompt") is kept and only the rest may be masked, which is the situation at
generation time; with `--sft-prompt first-line` a couplet row keeps its first line instead, the
question its second line answers (a random prefix ends there once in about 20 rows, so a model asked
for line 2 on an empty canvas had rarely trained on exactly that). `--kind ar` trains the causal twin
on the next token. Both see the same documents in the same order (one seed), padded with end-of-text
as LLaDA pads its SFT answers, so the diffusion model learns to end a text by filling the rest of the
canvas with end-of-text.

The run checkpoints every `--every` steps and resumes from `OUT/checkpoint.pt` when started again
with the same command (only `--steps`, `--stop-at`, `--every` and `--threads` may change; anything
else is refused, since it would splice two runs together); at the end it writes a Hugging Face folder
(config, safetensors, tokenizer), `losses.csv` and `loss.png`. What it is not: no evaluation (see `evaluate.py`).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from llada_demo.tinyworld import corpus
from llada_demo.models.modeling import TinyConfig, TinyTransformer
from llada_demo.tinyworld.tokenizer import build_tokenizer

SIZES = {
    # name: (hidden, intermediate, layers, heads)
    "small": (256, 704, 4, 4),
    "smoke": (32, 64, 2, 2),
}
EPS = 1e-3  # floor on the mask ratio, as LLaDA's training code uses


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=("diffusion", "ar"), required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", choices=tuple(SIZES), default="small")
    p.add_argument("--steps", type=int, default=3000, help="optimizer steps")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=64, help="longest training canvas (tokens)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--every", type=int, default=200, help="checkpoint every N steps")
    p.add_argument("--stop-at", type=int, default=0,
                   help="end the run at this step while the learning-rate schedule still spans --steps (a phase cut "
                        "short; it writes the model folder as a finished run does)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--corpus-seed", type=int, default=0)
    p.add_argument("--limit-docs", type=int, default=0, help="use only the first N documents (smoke tests)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--t-floor", type=float, default=EPS,
                   help="floor of the mask ratio t (LLaDA: 1e-3); a higher floor caps the 1/t weights, which with "
                        "small batches and gradient clipping let a few nearly unmasked rows drown the rest")
    p.add_argument("--untie", action="store_true",
                   help="an output layer of its own, not tied to the input embeddings (from scratch, or from --init "
                        "with a copy of its embeddings)")
    p.add_argument("--pack", choices=("facts", "couplets"), nargs="*", default=None,
                   help="fill each fact or couplet row with further random facts (or couplets) of the same kind up to "
                        "--seq-len, instead of padding one short document with end-of-text; alone: both kinds, "
                        "or name the kinds to pack")
    p.add_argument("--couplet-join", choices=("newline", "eos"), default="newline",
                   help="what stands between two packed couplets: a line break (as the first shipped phases ran) or "
                        "end-of-text, the documents' boundary")
    p.add_argument("--sft-prompt", choices=("prefix", "first-line"), default="prefix",
                   help="what the half of the rows masked as in SFT keeps unmasked: a random prefix, or in a couplet "
                        "row its first line (the question its second line answers; other rows keep a random prefix)")
    p.add_argument("--init", type=Path, default=None,
                   help="start from the weights of a finished run (a second phase) instead of from scratch")
    p.add_argument("--focus", type=float, default=0.0,
                   help="train on the fact and couplet documents plus this share of stories (e.g. 0.25); "
                        "0 = every document")
    p.add_argument("--only", choices=("stories", "facts", "couplets"), nargs="+", default=None,
                   help="train on the documents of these kinds alone (a phase that catches up on them: the "
                        "couplets, ~10 arbitrary words to recall each, are learnt far more slowly in the mix)")
    args = p.parse_args(argv)
    args.command = "python -m llada_demo.tinyworld.train " + " ".join(sys.argv[1:] if argv is None else argv)
    return args


STORY, FACT, COUPLET = 0, 1, 2
KINDS = {"stories": STORY, "facts": FACT, "couplets": COUPLET}  # as --only and --pack name them


def categories(world, documents: list[str]) -> list[int]:
    """STORY, FACT (a fact sentence or a list of them) or COUPLET for each document."""
    fact_sentences = {corpus.forward_sentence(f) for f in world.facts} | {corpus.reverse_sentence(f) for f in world.facts}
    return [COUPLET if "\n" in d else FACT if corpus.split_sentences(d)[0] in fact_sentences else STORY
            for d in documents]


class Rows:
    """Training rows drawn from the documents with one generator, so both kinds see the same rows.

    A row is a document, end-of-text, then end-of-text padding (LLaDA pads its SFT answers so). With
    `pack`, a fact or couplet row goes on with further random documents of its kind while they fit: a
    fact is ~8 tokens, so padding one alone would spend seven eighths of the row on end-of-text, and a
    model learns an association only after seeing it many times (the masked-diffusion model sees a
    given direction, one item masked and the other not, in about a sixth of them).

    Facts are joined by a space (each is a whole sentence, as in the fact lists). Couplets are joined by
    a line break (the first phases) or by end-of-text, the documents' boundary (`couplet_join="eos"`): a
    line break is also what joins the two lines of one couplet, so a line 1 then stood before a random
    other couplet's line about as often as before its own line 2 (the reversed copies end with it).
    Packed either way, a couplet is followed by more text, and the diffusion model learns that: asked
    for line 2 on a 24-token canvas it commits a memorised couplet in the tail first, which fixes where
    line 2 must end. A diffusion twin that completed 47 of 50 held-out second lines when told their
    length generated 8 of them on 24 tokens (30 on 12). So the last phase packs facts only: a couplet row
    is one couplet, then end-of-text padding, as LLaDA pads its SFT answers.
    """

    def __init__(self, documents: list[str], kinds: list[int], tokenizer, seq_len: int, pack: frozenset[int],
                 couplet_join: str = "newline"):
        self.ids = [tokenizer.encode(d, add_special_tokens=False)[: seq_len - 1] for d in documents]
        self.kinds, self.seq_len, self.pack = kinds, seq_len, pack
        self.eos = tokenizer.eos_token_id
        [self.line_break] = tokenizer.encode("a\na", add_special_tokens=False)[1:-1]  # one token
        self.joins = {FACT: [], COUPLET: [self.eos] if couplet_join == "eos" else [self.line_break]}
        self.by_kind = {k: [i for i, c in enumerate(kinds) if c == k] for k in (FACT, COUPLET)}

    def row(self, i: int, g: torch.Generator) -> list[int]:
        ids, kind = list(self.ids[i]), self.kinds[i]
        if kind not in self.pack:
            return ids
        pool, join = self.by_kind[kind], self.joins[kind]
        while True:
            more = self.ids[pool[int(torch.randint(len(pool), (1,), generator=g))]]
            if len(ids) + len(join) + len(more) > self.seq_len - 1:
                return ids
            ids += join + more

    def batch(self, batch: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, width) ids and (B,) content lengths (tokens up to and including the last document's
        end-of-text; the rest is padding)."""
        rows = [self.row(int(i), g) for i in torch.randint(0, len(self.ids), (batch,), generator=g)]
        longest = max(len(r) for r in rows) + 1
        # A random canvas length per batch, so the model sees the lengths the page asks for.
        width = int(torch.randint(longest, self.seq_len + 1, (1,), generator=g))
        x = torch.tensor([r + [self.eos] * (width - len(r)) for r in rows], dtype=torch.long)
        return x, torch.tensor([len(r) + 1 for r in rows])


def packed_kinds(pack: list[str] | None) -> frozenset[int]:
    """The kinds whose rows `--pack` fills up: none without it, both fact and couplet rows when given alone."""
    if pack is None:
        return frozenset()
    return frozenset(KINDS[k] for k in pack or ("facts", "couplets"))


def diffusion_loss(model, x: torch.Tensor, lengths: torch.Tensor, mask_id: int, g: torch.Generator,
                   t_floor: float = EPS, line_break: int | None = None) -> torch.Tensor:
    """LLaDA's masked-diffusion loss on a batch x (B, L); half the rows keep a random prompt prefix.

    With `line_break` (its token id), a row holding one keeps everything up to and including its first
    line break as the prompt instead: a couplet's first line, the question its second line answers, as
    LLaDA's SFT keeps the whole user turn and masks only the answer (Sec. 2.3). The random draws are
    the same either way.
    """
    B, L = x.shape
    t = t_floor + (1 - t_floor) * torch.rand(B, 1, generator=g)  # (B, 1) mask ratio per sequence
    is_masked = torch.rand(B, L, generator=g) < t  # (B, L)
    sft = torch.rand(B, 1, generator=g) < 0.5  # (B, 1) rows masked as in SFT
    prompt_len = (torch.rand(B, 1, generator=g) * (lengths[:, None] - 1)).long()  # (B, 1) keep 0..len-2 tokens
    if line_break is not None:
        breaks = x == line_break  # (B, L)
        first_line = breaks.int().argmax(1, keepdim=True) + 1  # (B, 1) tokens up to the first line break
        prompt_len = torch.where(breaks.any(1, keepdim=True), first_line, prompt_len)
    keep = sft & (torch.arange(L)[None] < prompt_len)  # (B, L)
    is_masked &= ~keep
    noisy = torch.where(is_masked, mask_id, x)
    logits = model(noisy).logits  # (B, L, V)
    ce = F.cross_entropy(logits[is_masked].float(), x[is_masked], reduction="none")  # (M,)
    weights = (1.0 / t).expand(B, L)[is_masked]  # (M,)
    # Normalised by the tokens that could be masked (all but the kept prompt), as in Eq. 3 / Eq. 5.
    return (ce * weights).sum() / (~keep).sum()


def ar_loss(model, x: torch.Tensor) -> torch.Tensor:
    return model(x, labels=x).loss


def lr_at(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def focused(world, documents: list[str], stories_share: float, seed: int) -> list[str]:
    """The fact and couplet documents, plus stories making up `stories_share` of the result.

    Training on these is how the pair memorises the facts and couplets that the reversal test asks
    about, while the stories teach (and keep) the grammar.
    """
    kinds = categories(world, documents)
    focus = [d for d, k in zip(documents, kinds) if k != STORY]
    stories = [d for d, k in zip(documents, kinds) if k == STORY]
    k = min(len(stories), round(len(focus) * stories_share / (1 - stories_share)))
    return focus + random.Random(seed).sample(stories, k)


def untied(model: TinyTransformer) -> TinyTransformer:
    """The same model with the output layer no longer sharing the input embeddings.

    With tied embeddings the masked-diffusion model collapses rare tokens (the invented names) onto nearly
    one vector: it predicts them with about the same probability at a masked slot, which pulls their shared
    output rows together, and so their inputs too; it then cannot tell the names apart. LLaDA-8B does not
    tie its embeddings either.
    """
    config = model.config
    config.tie_word_embeddings = False
    fresh = TinyTransformer(config)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["lm_head.weight"] = model.embed_tokens.weight.detach().clone()
    fresh.load_state_dict(state)
    return fresh


def model_config(size: str, kind: str, tokenizer, tie: bool) -> TinyConfig:
    """The config of a `size` model of `kind` ("diffusion" or "ar") over `tokenizer`'s vocabulary."""
    hidden, inter, layers, heads = SIZES[size]
    return TinyConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                      num_attention_heads=heads, max_position_embeddings=256, causal=kind == "ar",
                      bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                      mask_token_id=tokenizer.mask_token_id, tie_word_embeddings=tie)


def build(args):
    """The documents, their kinds, the tokenizer and the model to train."""
    world = corpus.build_world(args.corpus_seed)
    documents = corpus.training_documents(world)
    if args.focus:
        documents = focused(world, documents, args.focus, args.seed)
    if args.only:
        wanted = {KINDS[kind] for kind in args.only}
        documents = [d for d, k in zip(documents, categories(world, documents)) if k in wanted]
    if args.limit_docs:
        documents = documents[: args.limit_docs]
    tokenizer = build_tokenizer(corpus.training_documents(world))  # the full corpus: both models share it
    torch.manual_seed(args.seed)  # the same initial weights for both kinds
    model = (TinyTransformer.from_pretrained(args.init) if args.init
             else TinyTransformer(model_config(args.size, args.kind, tokenizer, tie=not args.untie)))
    if args.untie and model.config.tie_word_embeddings:
        model = untied(model)
    if model.config.causal != (args.kind == "ar"):
        raise ValueError(f"--init {args.init} holds a {'causal' if model.config.causal else 'bidirectional'} model; "
                         f"it cannot continue as --kind {args.kind}.")
    return documents, categories(world, documents), tokenizer, model


# Options a run may be resumed with changed: how long it goes and how it reports. Any other change
# (data, model, seed, learning rate) would silently splice two different runs together.
RESUMABLE = frozenset({"steps", "stop_at", "every", "threads", "out", "command"})


def recipe(args) -> dict[str, str]:
    """The options that define a run, as saved in its checkpoint."""
    return {k: str(v) for k, v in sorted(vars(args).items()) if k not in RESUMABLE}


def train(args) -> Path:
    torch.set_num_threads(args.threads)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    documents, kinds, tokenizer, model = build(args)
    data = Rows(documents, kinds, tokenizer, args.seq_len, packed_kinds(args.pack), args.couplet_join)
    line_break = data.line_break if args.sft_prompt == "first-line" else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    data_g = torch.Generator().manual_seed(args.seed)  # batches: identical for both kinds
    mask_g = torch.Generator().manual_seed(args.seed + 1)  # mask ratios and masks
    step, history, seconds = 0, [], 0.0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        now = recipe(args)
        changed = {k: v for k, v in state.get("recipe", now).items() if now.get(k) != v}
        if changed:
            was = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in changed.items())
            raise ValueError(f"{checkpoint} belongs to another run (started with {was}); "
                             "resume with the options it was started with, or give a new --out.")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        data_g.set_state(state["data_g"])
        mask_g.set_state(state["mask_g"])
        step, history, seconds = state["step"], state["history"], state["seconds"]
        print(f"resuming from step {step}", file=sys.stderr)
    (out / "command.txt").write_text(args.command + "\n")
    model.train()
    from tqdm import tqdm
    end = min(args.stop_at or args.steps, args.steps)
    bar = tqdm(total=end, initial=step, desc=f"train {args.kind}", mininterval=5)
    while step < end:
        start = time.perf_counter()
        x, lengths = data.batch(args.batch, data_g)  # (B, width), (B,)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args)
        if args.kind == "diffusion":
            loss = diffusion_loss(model, x, lengths, tokenizer.mask_token_id, mask_g, args.t_floor, line_break)
        else:
            loss = ar_loss(model, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        seconds += time.perf_counter() - start
        history.append((step, loss.item()))  # .item(): float() on a tensor that needs grad warns
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1][1]:.3f}")
        if step % args.every == 0 or step == end:
            state = dict(model=model.state_dict(), optimizer=optimizer.state_dict(), data_g=data_g.get_state(),
                         mask_g=mask_g.get_state(), step=step, history=history, seconds=seconds, recipe=recipe(args))
            torch.save(state, out / "checkpoint.tmp")
            os.replace(out / "checkpoint.tmp", checkpoint)
    bar.close()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_losses(out, history)
    summary = dict(kind=args.kind, steps=step, train_seconds=round(seconds), threads=args.threads,
                   parameters=sum(p.numel() for p in model.parameters()), documents=len(documents),
                   tokens_seen=step * args.batch * args.seq_len, final_loss=smoothed(history),
                   command=args.command)
    if args.init and (args.init / "training.json").is_file():
        summary["previous_phase"] = json.loads((args.init / "training.json").read_text())
    (out / "training.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return out


def smoothed(history, window: int = 100) -> float:
    tail = [loss for _, loss in history[-window:]]
    return round(sum(tail) / max(1, len(tail)), 4)


def write_losses(out: Path, history) -> None:
    with open(out / "losses.csv", "w", newline="") as f:
        csv.writer(f).writerows([("step", "loss"), *history])
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot is a convenience; the CSV is the record
        return
    steps = [s for s, _ in history]
    losses = [l for _, l in history]
    window = max(1, len(losses) // 50)
    smooth = [sum(losses[max(0, i - window):i + 1]) / len(losses[max(0, i - window):i + 1]) for i in range(len(losses))]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, losses, alpha=0.25, label="loss")
    ax.plot(steps, smooth, label=f"mean of {window}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats)")
    ax.set_title(out.name)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png")
    plt.close(fig)


if __name__ == "__main__":
    train(parse_args())

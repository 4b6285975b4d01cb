"""LLaDA's training objective on one sentence, shown: hide tokens, guess them all in one pass, score.

Pre-training (Nie et al. 2025, arXiv 2502.09992, Sec. 2.2, Eq. 3) draws a mask ratio t ~ U(0, 1), hides
each token independently with probability t, and trains the model to recover every hidden token at once:

    L(θ) = − E_{t, x0, xt} [ (1 / t) · Σ_i 1[x_t^i = M] · log p_θ(x_0^i | x_t) ] / L

(the sum over hidden tokens, weighted by 1/t, divided by the length; an upper bound of the negative
log-likelihood per token). SFT (Sec. 2.3, Eq. 5) keeps the prompt visible and hides only the answer,
normalising by the answer's length. `masked_guesses` does one such draw for a sentence and returns the
model's guess, its probability, the top-5 and the cross-entropy at every hidden position, the weighted
loss, and the autoregressive twin's loss on the same tokens; `expected_loss` averages the weighted loss
over draws at several t, which is what training averages.

What it is not: no training, no optimiser, no Gradio. It runs the loaded models as the samplers do
(`model(input_ids).logits`), with a private generator, so the page's draws never touch global RNG state.
Its result is a plain frozen record with Python values, so the page reads it without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from llada_demo.engine.instrument import rounded
from llada_demo.engine.text import display_texts

TOP_K = 5


@dataclass(frozen=True)
class MaskedGuesses:
    """One mask draw over a sentence and what the model made of it; per-position tuples of length L.

    ids:          the sentence's token ids (prompt then answer).
    is_prompt:    True where the token belongs to the prompt (kept visible in SFT mode).
    is_masked:    True where the draw hid the token.
    guess:        the model's top guess at each hidden position; -1 elsewhere.
    probability:  the model's probability of its guess; None where not hidden.
    target_probability: the model's probability of the true token; None where not hidden.
    loss:         cross-entropy (nats) of the true token at each hidden position; None elsewhere.
    top_ids, top_probs: the top-5 candidates at hidden positions; empty elsewhere.
    t:            the mask ratio of the draw.
    sft:          whether the prompt was kept visible.
    weighted_loss: Σ loss / t / (number of positions that could be hidden): LLaDA's Eq. 3 (Eq. 5 in SFT).
    ar_loss:      the autoregressive twin's mean next-token cross-entropy over the same positions that
                  could be hidden (None without a twin, or where the first token has no left context).
    token_text:   display text of every id the record uses.
    """

    ids: tuple[int, ...]
    is_prompt: tuple[bool, ...]
    is_masked: tuple[bool, ...]
    guess: tuple[int, ...]
    probability: tuple[Optional[float], ...]
    target_probability: tuple[Optional[float], ...]
    loss: tuple[Optional[float], ...]
    top_ids: tuple[tuple[int, ...], ...]
    top_probs: tuple[tuple[float, ...], ...]
    t: float
    sft: bool
    weighted_loss: float
    ar_loss: Optional[float]
    token_text: dict[int, str]


def check_ratio(t: float) -> float:
    """The mask ratio as a float in (0, 1]; anything else is refused with a sentence."""
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 1:
        raise ValueError(f"The mask ratio t must be a number above 0 and at most 1, got {t!r}; "
                         "move the slider between 0.05 and 1.")
    return float(t)


def sentence_ids(tokenizer, prompt: str, answer: str) -> tuple[list[int], list[bool]]:
    """Token ids of prompt + answer, and which of them belong to the prompt."""
    if not (prompt + answer).strip():
        raise ValueError("The sentence is empty; type or pick a sentence to hide tokens in.")
    if not answer.strip():
        raise ValueError("The answer is empty; the SFT view hides only the answer, so give one after the prompt.")
    head = tokenizer.encode(prompt, add_special_tokens=False) if prompt.strip() else []
    tail = tokenizer.encode(answer, add_special_tokens=False)
    return head + tail, [True] * len(head) + [False] * len(tail)


def _draw(length: int, maskable: torch.Tensor, t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, L) bool: each maskable token hidden independently with probability t (N,); at least one hidden,
    as a draw that hides nothing teaches nothing (the page would show an empty loss)."""
    u = torch.rand((t.shape[0], length), generator=generator)  # (N, L)
    hidden = (u < t[:, None]) & maskable[None]
    # Rows that hid nothing hide their maskable position with the smallest draw instead.
    empty = ~hidden.any(1)  # (N,)
    if empty.any():
        first = torch.where(maskable[None], u, torch.inf).argmin(1)  # (N,)
        hidden[empty, first[empty]] = True
    return hidden


@torch.inference_mode()
def _weighted_losses(model, ids: torch.Tensor, hidden: torch.Tensor, t: torch.Tensor, maskable: torch.Tensor,
                     mask_id: int) -> torch.Tensor:
    """Per-row weighted loss (N,): Σ cross-entropy over hidden tokens / t / maskable length."""
    noisy = torch.where(hidden, mask_id, ids[None])  # (N, L)
    logits = model(noisy.to(_device(model))).logits.float().cpu()  # (N, L, V)
    target = ids[None].expand_as(noisy)  # (N, L)
    ce = F.cross_entropy(logits.transpose(1, 2), target, reduction="none") * hidden  # (N, L)
    return ce.sum(1) / t / maskable.sum()


def _device(model) -> torch.device:
    return next(model.parameters()).device


def masked_guesses(diffusion, prompt: str, answer: str, *, t: float, seed: int = 0, sft: bool = False,
                   ar=None) -> MaskedGuesses:
    """One draw of LLaDA's training mask over prompt + answer, and the model's guesses at every hidden
    position in one forward pass. `diffusion` and `ar` are `models.Loaded` (the AR twin is optional)."""
    t = check_ratio(t)
    ids_list, prompt_flags = sentence_ids(diffusion.tokenizer, prompt, answer)
    ids = torch.tensor(ids_list)  # (L,)
    is_prompt = torch.tensor(prompt_flags)  # (L,)
    maskable = ~is_prompt if sft else torch.ones_like(is_prompt)  # (L,)
    generator = torch.Generator().manual_seed(int(seed))
    ratio = torch.tensor([t])
    hidden = _draw(len(ids_list), maskable, ratio, generator)  # (1, L)
    noisy = torch.where(hidden, diffusion.mask_id, ids[None])  # (1, L)
    with torch.inference_mode():
        logits = diffusion.model(noisy.to(_device(diffusion.model))).logits[0].float().cpu()  # (L, V)
    log_probs = logits.log_softmax(-1)  # (L, V)
    probs = log_probs.exp()
    rows = hidden[0]  # (L,)
    ce = -log_probs.gather(-1, ids[:, None])[:, 0]  # (L,)
    top_p, top_i = probs.topk(min(TOP_K, probs.shape[-1]), dim=-1)  # (L, k)
    guess = top_i[:, 0]
    weighted = float((ce * rows).sum() / t / maskable.sum())
    ar_loss = _ar_loss(ar, ids, maskable) if ar is not None else None
    where = rows.tolist()
    probability = rounded(top_p[:, 0])
    target_p = rounded(ce.neg().exp())
    losses = rounded(ce)
    used = set(ids_list) | set(top_i[rows].flatten().tolist())
    return MaskedGuesses(
        ids=tuple(ids_list), is_prompt=tuple(prompt_flags), is_masked=tuple(where),
        guess=tuple(g if w else -1 for g, w in zip(guess.tolist(), where)),
        probability=tuple(p if w else None for p, w in zip(probability, where)),
        target_probability=tuple(p if w else None for p, w in zip(target_p, where)),
        loss=tuple(c if w else None for c, w in zip(losses, where)),
        top_ids=tuple(tuple(i) if w else () for i, w in zip(top_i.tolist(), where)),
        top_probs=tuple(tuple(p) if w else () for p, w in zip(rounded(top_p), where)),
        t=t, sft=sft, weighted_loss=round(weighted, 4), ar_loss=None if ar_loss is None else round(ar_loss, 4),
        token_text=display_texts(diffusion.tokenizer, used | {diffusion.mask_id}))


@torch.inference_mode()
def _ar_loss(ar, ids: torch.Tensor, maskable: torch.Tensor) -> float | None:
    """The AR twin's mean next-token cross-entropy over the maskable positions it can predict (all but
    the first token, which has no left context)."""
    logits = ar.model(ids[None].to(_device(ar.model))).logits[0, :-1].float().cpu()  # (L - 1, V)
    ce = F.cross_entropy(logits, ids[1:], reduction="none")  # (L - 1,) predicting tokens 1..L-1
    scored = maskable[1:]
    return float(ce[scored].mean()) if scored.any() else None


def expected_loss(diffusion, prompt: str, answer: str, *, ratios: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
                  samples: int = 4, seed: int = 0, sft: bool = False) -> list[tuple[float, float]]:
    """(t, mean weighted loss over `samples` draws) for each t: the curve the training objective averages
    over t ~ U(0, 1). All draws go through the model in one batched forward pass."""
    ratios = tuple(check_ratio(t) for t in ratios)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 64:
        raise ValueError(f"Use 1 to 64 samples per mask ratio, got {samples!r}.")
    ids_list, prompt_flags = sentence_ids(diffusion.tokenizer, prompt, answer)
    ids = torch.tensor(ids_list)
    maskable = ~torch.tensor(prompt_flags) if sft else torch.ones(len(ids_list), dtype=torch.bool)
    t = torch.tensor(ratios).repeat_interleave(samples)  # (N,)
    generator = torch.Generator().manual_seed(int(seed))
    hidden = _draw(len(ids_list), maskable, t, generator)  # (N, L)
    weighted = _weighted_losses(diffusion.model, ids, hidden, t, maskable, diffusion.mask_id)
    means = weighted.view(len(ratios), samples).mean(1).tolist()
    return [(r, round(m, 4)) for r, m in zip(ratios, means)]

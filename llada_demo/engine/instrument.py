"""Turn one forward pass's probabilities into the plain numbers a `Step` carries.

Shared by both samplers so that the diffusion and the autoregressive panes show the same quantities
computed the same way. It never draws random numbers (the samplers' RNG streams must match the
official code) and returns plain Python values, rounded so exported traces stay small.
"""

from __future__ import annotations

import torch

DIGITS = 4


def rounded(values: torch.Tensor) -> list:
    """Python floats rounded to DIGITS decimals; float64 division gives the shortest JSON text."""
    scale = 10.0 ** DIGITS
    return values.double().mul(scale).round().div(scale).tolist()


def describe(probs: torch.Tensor, guesses: torch.Tensor, rows: torch.Tensor, k: int):
    """Probability of each guess, and top-k candidates and entropy at the selected positions.

    probs:   (L, V) the model's distribution at each generated position.
    guesses: (L,)   the token guessed at each position.
    rows:    (L,)   bool, the positions that want candidates and entropy (those masked before the step).
    Returns (probability, top_ids, top_probs, entropy) as tuples of length L; top-k and entropy are
    empty / None where `rows` is False.
    """
    probability = rounded(probs.gather(-1, guesses[:, None])[:, 0])  # (L,)
    where = rows.nonzero()[:, 0].tolist()
    selected = probs[rows]  # (M, V)
    top_p, top_i = selected.topk(min(k, selected.shape[-1]), dim=-1)  # (M, k)
    # (M,) nats; the clamp makes 0 * log 0 count as 0 (torch.special.entr does too, at twice the cost).
    entropy = -(selected * selected.clamp_min(1e-30).log()).sum(-1, dtype=torch.float32)
    top_ids: list = [()] * probs.shape[0]
    top_probs: list = [()] * probs.shape[0]
    entropies: list = [None] * probs.shape[0]
    for pos, ids, ps, h in zip(where, top_i.tolist(), rounded(top_p), rounded(entropy)):
        top_ids[pos], top_probs[pos], entropies[pos] = tuple(ids), tuple(ps), h
    return tuple(probability), tuple(top_ids), tuple(top_probs), tuple(entropies)

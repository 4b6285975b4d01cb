"""Decoding rules of the reverse process: which guesses are sure (scores) and how many to commit per pass.

Small pure functions on tensors, in the spirit of a diffusers scheduler's `step()` beside its pipeline's
loop: `diffusion.reverse_process` is the one loop and calls them. Taking committed tokens back (ReMDM)
lives in `revoke.py`.

Scores (higher = surer; `remasking=` names them, as LLaDA's code does):
- `low_confidence`: the probability of the guess (LLaDA, Nie et al. 2025, Appendix B.2);
- `random`: a uniform draw (LLaDA's `random` remasking);
- `margin`: top-1 minus top-2 probability (Dream's `topk_margin`, Ye et al. 2025, `sample_tokens` with
  `margin_confidence=True`);
- `entropy`: negative entropy, sum p log(p + 1e-10) (Dream's `entropy`, `neg_entropy=True`).

How many to commit in one pass:
- `commit_top_k`: LLaDA's fixed schedule, k per row from `schedule.num_transfer_tokens`;
- `commit_above_threshold`: Fast-dLLM's parallel decoding (Wu et al. 2025, arXiv 2505.22618, `llada/generate.py`
  `get_transfer_index` with `threshold`): the surest position and every other one scoring at least tau;
- `commit_entropy_bound`: the EB-sampler (Ben-Hamu et al. 2025, arXiv 2505.24857): positions in order of
  score, the longest prefix whose sum(entropy) - max(entropy) <= gamma, an upper bound on the mutual
  information between the tokens committed together (at least one).

Every commit function takes `confidence` (B, N): the score where a position may be committed (masked and
inside the current block) and -inf elsewhere; N may be the whole canvas, prompt included, so that ties
break as in the official code's top-k over the canvas. It returns `to_commit` (B, N) bool.

What it is not: no loop, no model, no settings checks (`schedule.check_settings` holds them).
"""

from __future__ import annotations

import torch

SCORES = ("low_confidence", "random", "margin", "entropy")
DREAM_EPSILON = 1e-10  # Dream's `sample_tokens` adds it inside the log of its negative entropy


def low_confidence(probs: torch.Tensor, guesses: torch.Tensor) -> torch.Tensor:
    """The probability of each guess: (B, L, V), (B, L) -> (B, L)."""
    return probs.gather(-1, guesses[..., None])[..., 0]


def margin(probs: torch.Tensor) -> torch.Tensor:
    """Top-1 minus top-2 probability (Dream's `topk_margin`): (B, L, V) -> (B, L).

    A position where two tokens are about equally likely is unsure even when both are likely.
    """
    top2 = probs.topk(2, dim=-1).values  # (B, L, 2)
    return top2[..., 0] - top2[..., 1]


def negative_entropy(probs: torch.Tensor) -> torch.Tensor:
    """sum_v p log(p + 1e-10), at most 0 (Dream's `entropy` score): (B, L, V) -> (B, L)."""
    return (probs * torch.log(probs + DREAM_EPSILON)).sum(-1)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy in nats, -sum_v p log p, with 0 log 0 = 0 (the EB-sampler's quantity): (B, L, V) -> (B, L)."""
    return -(probs * probs.clamp_min(torch.finfo(probs.dtype).tiny).log()).sum(-1)


def random_scores(batch: int, total: int, device, generator: torch.Generator | None) -> torch.Tensor:
    """LLaDA's `random` remasking: one uniform draw (B, P + L) over the whole canvas, from `generator` or,
    without one, from the global RNG exactly as the official code draws it."""
    if generator is None:
        return torch.rand((batch, total), device=device)
    return torch.rand((batch, total), device=device, generator=generator)


def score(remasking: str, probs: torch.Tensor | None, guesses: torch.Tensor) -> torch.Tensor:
    """The score (B, L) of a rule computed from probabilities; `random` is drawn by the loop, which owns the RNG."""
    if remasking == "low_confidence":
        return low_confidence(probs, guesses)
    if remasking == "margin":
        return margin(probs)
    if remasking == "entropy":
        return negative_entropy(probs)
    raise ValueError(f"The score {remasking!r} is not computed from probabilities; choose one of {', '.join(SCORES)}.")


def commit_top_k(confidence: torch.Tensor, k: list[int]) -> torch.Tensor:
    """LLaDA's rule: the k[row] highest-scoring positions of each row (B, N) -> (B, N) bool."""
    to_commit = torch.zeros(confidence.shape, dtype=torch.bool, device=confidence.device)
    for row, n in enumerate(k):
        if n:
            to_commit[row, confidence[row].topk(n).indices] = True
    return to_commit


def commit_above_threshold(confidence: torch.Tensor, threshold: float) -> torch.Tensor:
    """Fast-dLLM's rule: the surest position and every other one whose score is at least `threshold`.

    Committing the surest position even when it is below tau guarantees progress; with tau > 1 (no
    probability reaches it) exactly one token is committed per pass. A row with nothing eligible commits
    nothing. (B, N) -> (B, N) bool.
    """
    eligible = confidence > -torch.inf  # (B, N)
    to_commit = eligible & (confidence >= threshold)
    for row in range(confidence.shape[0]):
        if eligible[row].any():
            # topk, not argmax: the official code takes the first of its top-k, so ties break alike.
            to_commit[row, confidence[row].topk(1).indices] = True
    return to_commit


def commit_entropy_bound(confidence: torch.Tensor, entropies: torch.Tensor, entropy_bound: float) -> torch.Tensor:
    """The EB-sampler's rule: order the eligible positions by score (surest first) and commit the longest
    prefix whose sum of entropies minus its largest entropy is at most `entropy_bound` (gamma).

    With the `entropy` score the order is by ascending entropy, exactly as transformers'
    `EntropyBoundSampler.accept_canvas` sorts; the first position always passes (its sum minus max is 0),
    so every pass commits at least one token. (B, N), (B, N), float -> (B, N) bool.
    """
    eligible = confidence > -torch.inf  # (B, N)
    to_commit = torch.zeros(confidence.shape, dtype=torch.bool, device=confidence.device)
    for row in range(confidence.shape[0]):
        where = eligible[row].nonzero()[:, 0]  # (M,)
        if len(where) == 0:
            continue
        order = confidence[row, where].argsort(descending=True, stable=True)  # (M,)
        h = entropies[row, where[order]]  # (M,) entropies, surest first
        keep = h.cumsum(0) - h.cummax(0).values <= entropy_bound  # (M,) a prefix: the left side never decreases
        to_commit[row, where[order[keep]]] = True
    return to_commit

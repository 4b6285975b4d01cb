"""The rules of LLaDA's reverse process that are pure arithmetic: settings checks, how many tokens to
commit at each step, where the blocks lie, and the Gumbel perturbation used at temperature > 0.

Everything here follows the official LLaDA sampler (Nie et al. 2025, arXiv 2502.09992, Appendix B.2
and the authors' `generate.py`). The loop that runs these rules lives in `diffusion.py`; this module
knows nothing about models or tokenizers.
"""

from __future__ import annotations

import math

import torch

from llada_demo.engine.limits import REMASKING, check_schedule, shown
from llada_demo.engine.revoke import MAX_REVISIONS


def check_settings(*, steps: int, gen_length: int, block_length: int, temperature: float = 0.0,
                   cfg_scale: float = 0.0, remasking: str = "low_confidence", threshold: float | None = None,
                   entropy_bound: float | None = None, remdm_number: int | None = None,
                   max_revisions: int = MAX_REVISIONS) -> None:
    """Raise ValueError, with a sentence saying what to change, if the settings cannot be sampled.

    threshold, entropy_bound, remdm_number and max_revisions pick the decoding rule (see
    `diffusion.generate`); at most one of the first three may be set.
    """
    check_schedule(steps=steps, gen_length=gen_length, block_length=block_length)
    for name, value in (("temperature", temperature), ("cfg_scale", cfg_scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"{name} must be a number, got {value!r}.")
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, got {value}.")
    if remasking not in REMASKING:
        raise ValueError(f"Unknown remasking strategy {shown(remasking)}; choose one of {', '.join(REMASKING)}.")
    _check_rule(remasking=remasking, block_length=block_length, threshold=threshold, entropy_bound=entropy_bound,
                remdm_number=remdm_number, max_revisions=max_revisions)


def _check_rule(*, remasking, block_length, threshold, entropy_bound, remdm_number, max_revisions) -> None:
    for name, value, example in (("threshold", threshold, "0.9, as Fast-dLLM uses"),
                                 ("entropy_bound", entropy_bound, "0.1 to 1")):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a number, got {shown(value)}; try {example}.")
        if value <= 0:
            raise ValueError(f"{name} must be above 0, got {value}; try {example}, or leave it unset for "
                             "LLaDA's fixed schedule.")
    if remdm_number is not None and (isinstance(remdm_number, bool) or not isinstance(remdm_number, int)
                                     or not 1 <= remdm_number <= block_length):
        raise ValueError(f"remdm_number (tokens remasked per ReMDM pass) must be a whole number from 1 to the "
                         f"block length ({block_length}), got {shown(remdm_number)}.")
    if isinstance(max_revisions, bool) or not isinstance(max_revisions, int) or max_revisions < 1:
        raise ValueError(f"max_revisions (how often one position may be remasked) must be a whole number of at "
                         f"least 1, got {shown(max_revisions)}.")
    chosen = [name for name, value in (("threshold", threshold), ("entropy_bound", entropy_bound),
                                       ("remdm_number", remdm_number)) if value is not None]
    if len(chosen) > 1:
        raise ValueError(f"Choose one decoding rule: {' and '.join(chosen)} cannot be combined (ReMDM runs on "
                         "LLaDA's fixed schedule; the threshold and the entropy bound each set how many to commit).")
    if threshold is not None and remasking == "entropy":
        raise ValueError("A threshold compares scores with a probability, but the entropy score (negative entropy) is "
                         "never above 0; use low_confidence or margin with a threshold, or an entropy_bound.")


def block_spans(gen_length: int, block_length: int) -> list[tuple[int, int]]:
    """[start, end) of each block, in positions of the generated region, filled left to right."""
    return [(start, start + block_length) for start in range(0, gen_length, block_length)]


def num_transfer_tokens(masked: int, steps: int) -> list[int]:
    """How many tokens to commit at each of `steps` steps so that `masked` tokens are all committed.

    LLaDA's linear schedule (Appendix B.2; `get_num_transfer_tokens` in the authors' code): each step
    commits `masked // steps`, and the remainder goes one each to the first steps.
    """
    base, remainder = divmod(masked, steps)
    return [base + (1 if i < remainder else 0) for i in range(steps)]


def add_gumbel_noise(logits: torch.Tensor, temperature: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Perturb logits so that their argmax is a sample at `temperature` (Gumbel-max).

    As the paper's code does, in float64: `exp(logits) / (-log u) ** temperature` with u ~ U(0, 1),
    since low precision Gumbel noise degrades generation quality (Zheng et al. 2024). At temperature 0
    the logits come back unchanged and no random number is drawn. Without a `generator` the global RNG
    is drawn with `torch.rand_like`, exactly as the official sampler does; with one, the same stream
    comes from that generator (so concurrent runs do not share state). Apple's MPS has no float64, so
    there the noise is float32 (the only place a device changes the arithmetic).
    """
    if temperature == 0:
        return logits
    precision = torch.float32 if logits.device.type == "mps" else torch.float64
    logits = logits.to(precision)
    if generator is None:
        noise = torch.rand_like(logits, dtype=precision)
    else:
        noise = torch.rand(logits.shape, dtype=precision, device=logits.device, generator=generator)
    return logits.exp() / (-torch.log(noise)) ** temperature

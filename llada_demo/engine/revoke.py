"""Taking committed tokens back: ReMDM's remasking sampler, in the form its authors ran on LLaDA.

ReMDM (Wang, Schiff, Sahoo and Kuleshov 2025, "Remasking Discrete Diffusion Models with Inference-Time
Scaling", arXiv 2503.00307) lets the reverse process send an already decoded token back to [MASK], so a
token decoded early, before its neighbours existed, can be guessed again once they do. Two of its
components are used here, as in the authors' LLaDA code (github.com/guanghanwang/ReMDM-LLaDA,
`eval_llada.py`, `llada_remdm_sample`, the paper's Table 3):
- the loop schedule (ReMDM-loop, Sec. 4.2): decode as usual until late in the block (7/8 of its steps),
  then hold the number of masks constant for as many passes as the block has steps: every pass
  remasks `remdm_number` committed tokens and commits as many, then finish the block as usual;
- the confidence schedule (ReMDM-conf): the tokens remasked are the committed ones whose probability
  when they were decoded was lowest (psi in the paper), deterministically lowest-first as in that code.
A remasked position is masked when the model next runs, so the model re-scores it with its neighbours
in view, and the surest masked positions, the remasked ones among them, are committed again.

Two guards the authors' code does not have, so that a run always ends with no [MASK]: a position can be
remasked at most `max_revisions` times, and the loop phase ends early when no committed token may be
remasked any more; the loop never runs more passes than the block has steps (the pass cap).

What it is not: the loop (`diffusion.reverse_process`), nor scores or commit counts (`rules.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

LOOP_START = (7, 8)  # the loop begins after 7/8 of the block's steps, as `remask_thres` in the authors' code
MAX_REVISIONS = 2    # default bound on how often one position may be remasked (the authors' code has none)


@dataclass(frozen=True)
class Phase:
    """One pass of a block's plan: commit `schedule[step]` tokens, or (step None) run a loop pass."""

    step: int | None

    @property
    def is_loop(self) -> bool:
        return self.step is None


def block_plan(steps_per_block: int, remdm_number: int | None) -> list[Phase]:
    """The passes of one block: LLaDA's steps, with ReMDM's loop of `steps_per_block` passes inserted after
    7/8 of them when `remdm_number` is set (so a block takes 2 * steps_per_block passes, as in the
    authors' code); without it, LLaDA's steps alone."""
    plan = [Phase(i) for i in range(steps_per_block)]
    if remdm_number is None:
        return plan
    on = steps_per_block * LOOP_START[0] // LOOP_START[1]
    return plan[:on] + [Phase(None)] * steps_per_block + plan[on:]


def remask_lowest(decoded: torch.Tensor, revocable: torch.Tensor, remdm_number: int) -> torch.Tensor:
    """The up to `remdm_number` revocable positions of each row with the lowest decode probability.

    decoded:   (B, L) the probability each committed token had when it was decoded (psi).
    revocable: (B, L) bool, committed in this block by this run and remasked fewer than the allowed times.
    Returns (B, L) bool, the positions to send back to [MASK].
    """
    psi = torch.where(revocable, decoded, torch.inf)  # (B, L)
    to_remask = torch.zeros(decoded.shape, dtype=torch.bool, device=decoded.device)
    for row in range(decoded.shape[0]):
        n = min(remdm_number, int(revocable[row].sum()))
        if n:
            to_remask[row, psi[row].topk(n, largest=False).indices] = True
    return to_remask

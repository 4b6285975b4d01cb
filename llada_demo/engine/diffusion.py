"""LLaDA's reverse process (Nie et al. 2025, arXiv 2502.09992, Sec. 2.4 and Appendix B), as a stream.

The canvas is the prompt followed by `gen_length` mask tokens, split into blocks filled left to right.
At every step one forward pass guesses every position; the most confident guesses inside the current
block are committed, as many as the schedule says, and every other guess goes back to [MASK].

`reverse_process` is the one implementation of the algorithm: a batched generator of internal tensors.
`generate` drains it and returns token ids, exactly as the authors' `generate.py` does (same RNG draws,
in the same order, so a seed gives the same tokens), except that [MASK] is never committed: a position
whose draw is [MASK] is picked after every other one and then gets its best other token (`draw`,
`ranked_last`). In every run (and every row of a batch) where the official code commits no [MASK], the
tokens are equal; tests/test_exactness.py checks it on a model that gives [MASK] real probability.
`sample` runs it for one sequence and turns every forward pass into a frozen `Step` for the page; what it measures for
the page never touches the RNG.

What it is not: it knows nothing about tokenizers, chat templates or rendering; `model` is anything
called as `model(input_ids, attention_mask=...)` that returns an object with `.logits`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F

from llada_demo.engine.instrument import Scratch, pass_on_host
from llada_demo.engine import rules
from llada_demo.engine.cache import BlockwiseLogits, check_cache
from llada_demo.engine.revoke import MAX_REVISIONS, block_plan, remask_lowest
from llada_demo.engine.rules import commit_above_threshold, commit_entropy_bound, commit_top_k, random_scores
from llada_demo.engine.schedule import add_gumbel_noise, block_spans, check_settings, num_transfer_tokens
from llada_demo.engine.step import Step


@dataclass(frozen=True)
class Pass:
    """One forward pass of the reverse process, as tensors (internal to the samplers and benches)."""

    block: int
    x: torch.Tensor           # (B, P + L) the canvas after this step's commits
    guesses: torch.Tensor     # (B, L) the guess at every generated position
    score: torch.Tensor       # (B, L) the score used to pick commits; -inf where not eligible
    probs: torch.Tensor | None  # (B, L, V) softmax of the unperturbed logits, when computed
    logits: torch.Tensor      # (B, L, V) the unperturbed (guided) logits of the generated positions
    was_masked: torch.Tensor  # (B, L) bool, masked when the forward pass ran (remasked positions included)
    to_commit: torch.Tensor   # (B, L) bool, committed in this step
    remasked: torch.Tensor    # (B, L) bool, committed before this step and sent back to [MASK] in it


def model_logits(model, x: torch.Tensor, attention_mask: torch.Tensor | None, is_given: torch.Tensor,
                 cfg_scale: float, mask_id: int) -> torch.Tensor:
    """Logits (B, P + L, V) for the canvas, with classifier-free guidance when cfg_scale > 0.

    CFG as in the paper (Appendix B.3, after Nie et al. 2024): a second, unconditional row in which
    every given token (the prompt) is replaced by the mask token, and
    `uncond + (cfg_scale + 1) * (cond - uncond)`. Both rows go through one forward pass.
    """
    if cfg_scale == 0:
        return model(x, attention_mask=attention_mask).logits
    un_x = x.masked_fill(is_given, mask_id)  # (B, P + L)
    both_mask = None if attention_mask is None else torch.cat([attention_mask, attention_mask])
    logits, un_logits = model(torch.cat([x, un_x]), attention_mask=both_mask).logits.chunk(2)
    return un_logits + (cfg_scale + 1) * (logits - un_logits)


def draw(perturbed: torch.Tensor, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The guess at each position (B, L), never [MASK], and where the official draw was [MASK] (B, L) bool.

    perturbed: (B, L, V) the (Gumbel-perturbed) logits; the official guess is their argmax. [MASK] is never
    a training target, so a trained model gives it little probability, but it can still win the draw (an
    odd prompt, a Gumbel draw at temperature > 0), and committing it leaves a hole that the block's
    schedule, counted when the block began, never fills. So where the argmax is [MASK] the guess is the
    argmax without it. Only those rare rows are copied (`perturbed` may be the model's logits themselves at
    temperature 0, which must not change); ties break as argmax does, to the lowest id.
    """
    guesses = perturbed.argmax(-1)  # (B, L)
    drew_mask = guesses == mask_id  # (B, L)
    if drew_mask.any():
        again = perturbed[drew_mask]  # (H, V) a copy
        again[:, mask_id] = -torch.inf
        guesses[drew_mask] = again.argmax(-1)
    return guesses, drew_mask


def ranked_last(score: torch.Tensor, drew_mask: torch.Tensor) -> torch.Tensor:
    """The scores (B, L) the commit rules pick from: a position whose draw was [MASK] goes after every other
    eligible one (the model's own sample says it is not ready), yet stays eligible (above -inf).

    This is what keeps the official tokens wherever the official run commits no [MASK]: a position it
    drew [MASK] at and did not commit is outranked by the ones it did commit, so lowering it changes no
    pick; only where the official rule picks it (and commits [MASK]) does ours pick another position, or,
    when too few are left (the block's last pass), this one with its best token other than [MASK].
    """
    return torch.where(drew_mask & score.isfinite(), torch.finfo(score.dtype).min, score)


@torch.inference_mode()
def reverse_process(model, x: torch.Tensor, attention_mask: torch.Tensor | None, *, prompt_length: int,
                    steps: int, block_length: int, temperature: float, cfg_scale: float, remasking: str,
                    mask_id: int, generator: torch.Generator | None = None, keep_probs: bool = False,
                    threshold: float | None = None, entropy_bound: float | None = None,
                    remdm_number: int | None = None, max_revisions: int = MAX_REVISIONS,
                    cache: str | None = None) -> Iterator[Pass]:
    """Run the reverse process on canvas x (B, P + L), yielding one `Pass` per forward pass.

    x is modified in place and is also what each Pass holds; settings are assumed checked. The decoding
    rule is picked by the keywords (see `generate`); the loop is the same for all of them. cache ("prefix"
    or "dual", `cache.py`) changes only how a pass's logits are computed.
    """
    B, total = x.shape
    P = prompt_length
    gen_length = total - P
    num_blocks = gen_length // block_length
    steps_per_block = steps // num_blocks
    adaptive = threshold is not None or entropy_bound is not None  # the block runs until it is full
    need_probs = keep_probs or remasking != "random" or entropy_bound is not None or remdm_number is not None
    is_given = x != mask_id  # (B, P + L) the prompt (and any given text): hidden in the CFG row
    positions = torch.arange(gen_length, device=x.device)  # (L,)
    revisions = torch.zeros((B, gen_length), dtype=torch.long, device=x.device)  # times each position was remasked
    cached = None if cache is None else BlockwiseLogits(model, cache)
    for block, (start, end) in enumerate(block_spans(gen_length, block_length)):
        masked_in_block = (x[:, P + start:P + end] == mask_id).sum(1).tolist()
        schedule = [num_transfer_tokens(m, steps_per_block) for m in masked_in_block]  # per row
        plan = block_plan(steps_per_block, remdm_number)
        # ReMDM's psi: the probability each token of this block had when it was decoded; inf where nothing
        # was decoded by this run in this block (given text and earlier blocks are never remasked).
        decoded = torch.full((B, gen_length), torch.inf, device=x.device)
        i, fresh = 0, True  # fresh: the block's first forward pass (the cache is refreshed there)
        while i < len(plan):
            if adaptive and not (x[:, P + start:P + end] == mask_id).any():
                break  # Fast-dLLM: the block ends when it is full; `steps` only caps its passes
            remasked = torch.zeros((B, gen_length), dtype=torch.bool, device=x.device)
            if plan[i].is_loop:
                revocable = decoded.isfinite() & (revisions < max_revisions)
                remasked = remask_lowest(decoded, revocable, remdm_number)  # (B, L)
                if not remasked.any():  # nothing may be remasked any more: the loop phase ends here
                    i = next(j for j in range(i, len(plan)) if not plan[j].is_loop)
                    continue
                x[:, P:] = x[:, P:].masked_fill(remasked, mask_id)
                revisions += remasked
                decoded = decoded.masked_fill(remasked, torch.inf)
            is_masked = x[:, P:] == mask_id  # (B, L)
            if cached is None:
                logits = model_logits(model, x, attention_mask, is_given, cfg_scale, mask_id)  # (B, P + L, V)
            else:
                logits = cached(x, attention_mask, P + start, P + end, fresh)  # (B, P + L, V)
            fresh = False
            # The Gumbel draw covers the whole canvas, as in the official code, so the RNG stream matches.
            guesses, drew_mask = draw(add_gumbel_noise(logits, temperature, generator)[:, P:], mask_id)  # (B, L)
            # Scores and the page's numbers come from the model's own distribution, [MASK] included, as in the
            # official code (a softmax without [MASK] would rank positions differently).
            probs = F.softmax(logits[:, P:], dim=-1) if need_probs else None  # (B, L, V)
            if remasking == "random":  # one uniform draw over the canvas, after the Gumbel draw
                score = random_scores(B, total, x.device, generator)[:, P:]  # (B, L)
            else:
                score = rules.score(remasking, probs, guesses)  # (B, L)
            eligible = is_masked & (positions < end)  # earlier blocks are already full
            score = torch.where(eligible, score, -torch.inf)  # (B, L)
            # Rules pick over the full canvas (prompt at -inf), as the official code does, so ties break alike.
            confidence = torch.full((B, total), -torch.inf, dtype=score.dtype, device=x.device)
            confidence[:, P:] = ranked_last(score, drew_mask)
            if adaptive and i == steps_per_block - 1:
                to_commit = eligible  # the pass cap: the block's last allowed pass fills it
            elif threshold is not None:
                to_commit = commit_above_threshold(confidence, threshold)[:, P:]
            elif entropy_bound is not None:
                entropies = torch.zeros((B, total), dtype=probs.dtype, device=x.device)
                entropies[:, P:] = rules.entropy(probs)
                to_commit = commit_entropy_bound(confidence, entropies, entropy_bound)[:, P:]
            elif plan[i].is_loop:  # ReMDM-loop holds the number of masks: commit as many as were remasked
                to_commit = commit_top_k(confidence, remasked.sum(1).tolist())[:, P:]
            else:
                to_commit = commit_top_k(confidence, [s[plan[i].step] for s in schedule])[:, P:]  # (B, L)
            x[:, P:] = torch.where(to_commit, guesses, x[:, P:])
            if remdm_number is not None:
                decoded = torch.where(to_commit, rules.low_confidence(probs, guesses), decoded)
            yield Pass(block, x, guesses, score, probs, logits[:, P:], is_masked, to_commit, remasked)
            i += 1


def _checked_canvas(model, prompt: torch.Tensor, *, steps, gen_length, block_length, temperature,
                    cfg_scale, remasking, mask_id, cache=None, **rule) -> torch.Tensor:
    """Validate the settings and build the canvas (B, P + L): the prompt, then gen_length masks."""
    check_settings(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                   cfg_scale=cfg_scale, remasking=remasking, **rule)
    check_cache(model, cache, cfg_scale)
    if prompt.dim() != 2:
        raise ValueError(f"The prompt ids must have shape (batch, length), got {tuple(prompt.shape)}.")
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if limit is not None and prompt.shape[1] + gen_length > limit:
        raise ValueError(f"The prompt ({prompt.shape[1]} tokens) plus the generation length ({gen_length}) exceeds "
                         f"the model's context of {limit} tokens; shorten the prompt or the length.")
    x = torch.full((prompt.shape[0], prompt.shape[1] + gen_length), mask_id, dtype=torch.long, device=prompt.device)
    x[:, :prompt.shape[1]] = prompt
    return x


def generate(model, prompt: torch.Tensor, *, steps: int = 128, gen_length: int = 128, block_length: int = 128,
             temperature: float = 0.0, cfg_scale: float = 0.0, remasking: str = "low_confidence",
             mask_id: int = 126336, attention_mask: torch.Tensor | None = None,
             generator: torch.Generator | None = None, threshold: float | None = None,
             entropy_bound: float | None = None, remdm_number: int | None = None,
             max_revisions: int = MAX_REVISIONS, cache: str | None = None) -> torch.LongTensor:
    """Token ids (B, P + gen_length) for a batch of (left-padded) prompts (B, P): LLaDA's `generate`.

    The decoding rule (`rules.py`, `revoke.py`):
    - remasking: the score that says which guesses are sure: "low_confidence" (LLaDA's default), "random",
      "margin" or "entropy" (Dream's `topk_margin` / `entropy`).
    - By default LLaDA's fixed schedule commits `steps / num_blocks` tokens' worth per block, evenly.
    - threshold=tau (Fast-dLLM): each pass commits the surest masked position of the block and every other
      one scoring at least tau, until the block is full. `steps` is then a cap: a block gets at most
      `steps / num_blocks` passes and its last one commits whatever is left (with steps == gen_length the
      cap never binds, and this is Fast-dLLM's `generate(..., threshold=tau)`).
    - entropy_bound=gamma (EB-sampler): each pass commits, in order of score, the longest run of the block's
      masked positions whose entropies sum to at most gamma plus the largest of them; `steps` caps as above.
    - remdm_number=n (ReMDM): on the fixed schedule, after 7/8 of each block's steps, `steps / num_blocks`
      extra passes each remask the n least sure tokens committed in the block (each position at most
      `max_revisions` times) and commit n again; a run takes up to 2 * steps passes.
    cache: None, or Fast-dLLM's approximate "prefix" or "dual" cache (`cache.py`; the project's own
    bidirectional model, without CFG); it changes how logits are computed, not the rule.
    """
    rule = dict(threshold=threshold, entropy_bound=entropy_bound, remdm_number=remdm_number, max_revisions=max_revisions)
    x = _checked_canvas(model, prompt, steps=steps, gen_length=gen_length, block_length=block_length,
                        temperature=temperature, cfg_scale=cfg_scale, remasking=remasking, mask_id=mask_id,
                        cache=cache, **rule)
    if attention_mask is not None:
        # The generated positions are always attended to.
        attention_mask = torch.cat([attention_mask, torch.ones_like(x[:, prompt.shape[1]:])], dim=-1)
    for _ in reverse_process(model, x, attention_mask, prompt_length=prompt.shape[1], steps=steps,
                             block_length=block_length, temperature=temperature, cfg_scale=cfg_scale,
                             remasking=remasking, mask_id=mask_id, generator=generator, cache=cache, **rule):
        pass
    return x


def sample(model, prompt_ids: torch.Tensor, *, steps: int, gen_length: int, block_length: int,
           temperature: float = 0.0, cfg_scale: float = 0.0, remasking: str = "low_confidence",
           mask_id: int, initial: torch.Tensor | None = None, top_k: int = 5,
           generator: torch.Generator | None = None, threshold: float | None = None,
           entropy_bound: float | None = None, remdm_number: int | None = None,
           max_revisions: int = MAX_REVISIONS, cache: str | None = None) -> Iterator[Step]:
    """Yield one `Step` per forward pass for one prompt (1, P).

    initial: optional (1, gen_length) starting content of the generated region, mask_id where the model
    should write (infill); by default the region is all masks, as in LLaDA.
    The decoding rule's keywords and `cache` are `generate`'s; `Step.remasked` lists the positions ReMDM took back.
    Settings are checked before anything runs: a bad one raises ValueError at the call, not later.
    """
    if prompt_ids.dim() != 2 or prompt_ids.shape[0] != 1:
        raise ValueError(f"sample takes one prompt of shape (1, length), got {tuple(prompt_ids.shape)}; use generate for batches.")
    rule = dict(threshold=threshold, entropy_bound=entropy_bound, remdm_number=remdm_number, max_revisions=max_revisions)
    x = _checked_canvas(model, prompt_ids, steps=steps, gen_length=gen_length, block_length=block_length,
                        temperature=temperature, cfg_scale=cfg_scale, remasking=remasking, mask_id=mask_id,
                        cache=cache, **rule)
    if initial is not None:
        if tuple(initial.shape) != (1, gen_length):
            raise ValueError(f"The initial region must have shape (1, {gen_length}), got {tuple(initial.shape)}.")
        x[:, prompt_ids.shape[1]:] = initial.to(x.device)
    passes = reverse_process(model, x, None, prompt_length=prompt_ids.shape[1], steps=steps,
                             block_length=block_length, temperature=temperature, cfg_scale=cfg_scale,
                             remasking=remasking, mask_id=mask_id, generator=generator, keep_probs=True,
                             cache=cache, **rule)
    return _steps(passes, top_k)


def _steps(passes: Iterator[Pass], top_k: int) -> Iterator[Step]:
    """One Step per Pass: the page's numbers computed on the device, then copied to the host once."""
    start, scratch = time.perf_counter(), Scratch()
    for index, p in enumerate(passes):
        fields = pass_on_host(p.probs, p.guesses, p.was_masked, top_k, p.logits, scratch, x=p.x,
                              committed=p.to_commit, remasked=p.remasked, score=p.score)
        yield Step(index=index, block=p.block, nfe=index + 1, elapsed=time.perf_counter() - start, **fields)

"""Fast-dLLM's block-wise approximate KV cache (Wu et al. 2025, arXiv 2505.22618, Sec. 3.2; its repository's
`llada/generate.py`, `generate_with_prefix_cache` and `generate_with_dual_cache`), as a way of computing a
pass's logits for the one loop in `diffusion.reverse_process`.

A block's first pass runs the model on the whole canvas and keeps every layer's keys and values. The
block's later passes feed the model only part of the canvas and reuse the kept keys and values for the rest:
- "prefix": the block and everything after it are fed; the prompt and the finished blocks come from the
  cache (they no longer change, but their keys and values were computed when the block was still masked);
- "dual": only the block is fed; the prefix and the masked blocks after it (the suffix) come from the cache.
When the block is finished the next block's first pass refreshes the cache. Masked diffusion attends both
ways, so a kept key is stale as soon as any token changes: this is an approximation, and the tokens may
differ from the uncached run (bench/bench_cache.py measures how often, and the speed).

The loop still needs logits for the whole canvas (its Gumbel draw spans the canvas, as the official code's
does, and the page shows a guess at every position): positions a pass does not feed keep the logits of
the block's first pass. They are never committed in that block (the prefix is full; the suffix lies
outside the block), so the commits only ever use fresh logits.

What it is not: no model code (`models/modeling.py` holds the keys and values and runs the span), no loop.
"""

from __future__ import annotations

import torch

MODES = ("prefix", "dual")


def check_cache(model, cache: str | None, cfg_scale: float) -> None:
    """Raise ValueError, with a sentence saying what to change, if this model cannot run this cache."""
    if cache is None:
        return
    if cache not in MODES:
        raise ValueError(f"Unknown cache {cache!r}; choose None (no cache), 'prefix' or 'dual'.")
    if not getattr(model, "supports_block_cache", False):
        raise ValueError(f"The {cache} cache needs a model that can keep and reuse its keys and values (the project's "
                         "own bidirectional TinyTransformer, such as the shipped tiny-llada); run this model with "
                         "cache=None.")
    if cfg_scale > 0:
        raise ValueError("The cache does not combine with classifier-free guidance (its unconditional row would need "
                         "a cache of its own); set cfg_scale=0 or cache=None.")


class BlockwiseLogits:
    """The logits (B, N, V) of each pass of the reverse process, computed with the block-wise cache.

    Called once per forward pass with the canvas and the current block's span [start, end) on the canvas;
    `fresh=True` on the block's first pass (the whole canvas runs and its keys and values are kept).
    """

    def __init__(self, model, mode: str):
        self.model, self.mode = model, mode
        self.kept = None
        self.logits: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor, attention_mask: torch.Tensor | None, start: int, end: int,
                 fresh: bool) -> torch.Tensor:
        if fresh or self.kept is None:
            out = self.model(x, attention_mask=attention_mask, keep_kv=True)
            self.kept, self.logits = out.past_key_values, out.logits  # (B, N, V)
            return self.logits
        if self.mode == "prefix":
            end = x.shape[1]  # the block and everything after it
        span_logits = self.model(x[:, start:end], attention_mask=attention_mask, block_cache=self.kept,
                                 span=(start, end)).logits  # (B, end - start, V)
        # In place, like the canvas x itself: the previous pass's record has been read by now.
        self.logits[:, start:end] = span_logits
        return self.logits

"""The autoregressive twin: left-to-right decoding of any causal LM, as the same stream of `Step`s.

One forward pass per token, with a KV cache (the prompt is encoded once, then one token a pass).
Greedy at temperature 0, which equals transformers' own greedy `generate`; at temperature T > 0 a
draw from softmax(logits / T), seeded by the global RNG or by `generator`. The page shows the diffusion
and AR streams side by side, so a Step here has the same fields: the one position written this pass is
"committed", the positions to its right are still "masked" (`mask_id`, -1 by default, as an AR model
has no mask token).

What it is not: no tokenizer or chat template handling, no batching.
"""

from __future__ import annotations

import time
from typing import Iterable, Iterator

import torch
import torch.nn.functional as F

from llada_demo.engine.instrument import describe
from llada_demo.engine.step import Step


def sample(model, prompt_ids: torch.Tensor, *, gen_length: int, temperature: float = 0.0,
           stop_ids: Iterable[int] = (), mask_id: int = -1, top_k: int = 5, use_cache: bool = True,
           generator: torch.Generator | None = None) -> Iterator[Step]:
    """Yield one Step per generated token for one prompt (1, P); stop early after a token in stop_ids.

    Settings are checked at the call: a bad one raises ValueError before anything runs.
    """
    if isinstance(gen_length, bool) or not isinstance(gen_length, int) or gen_length <= 0:
        raise ValueError(f"gen_length must be a whole number of at least 1, got {gen_length!r}.")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature >= 0:
        raise ValueError(f"temperature must be a number, 0 or more, got {temperature!r}.")
    if prompt_ids.dim() != 2 or prompt_ids.shape[0] != 1 or prompt_ids.shape[1] == 0:
        raise ValueError(f"An autoregressive model needs one non-empty prompt of shape (1, length), got {tuple(prompt_ids.shape)}.")
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if limit is not None and prompt_ids.shape[1] + gen_length > limit:
        raise ValueError(f"The prompt ({prompt_ids.shape[1]} tokens) plus the generation length ({gen_length}) exceeds "
                         f"the model's context of {limit} tokens; shorten the prompt or the length.")
    return _steps(model, prompt_ids, gen_length, float(temperature), frozenset(stop_ids), mask_id, top_k,
                  use_cache, generator)


@torch.inference_mode()
def next_token_logits(model, prompt_ids: torch.Tensor, gen_length: int, use_cache: bool,
                      choose) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (logits (V,), chosen token (1,)) per forward pass; `choose(logits)` picks the token."""
    ids = prompt_ids  # (1, P + i)
    feed, cache = prompt_ids, None
    for _ in range(gen_length):
        if use_cache:
            out = model(feed, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
        else:
            out = model(ids, use_cache=False)
        logits = out.logits[0, -1]  # (V,)
        token = choose(logits)  # (1,)
        ids = torch.cat([ids, token[None]], dim=1)
        feed = token[None]  # (1, 1): with a cache only the new token is fed
        yield logits, token


def _steps(model, prompt_ids, gen_length, temperature, stop_ids, mask_id, top_k, use_cache, generator):
    def choose(logits: torch.Tensor) -> torch.Tensor:
        if temperature == 0:
            return logits.argmax(-1, keepdim=True)
        return torch.multinomial(F.softmax(logits.float() / temperature, dim=-1), 1, generator=generator)

    start = time.perf_counter()
    tokens = [mask_id] * gen_length
    passes = next_token_logits(model, prompt_ids, gen_length, use_cache, choose)
    for i, (logits, token) in enumerate(passes):
        probs = F.softmax(logits.float(), dim=-1)[None]  # (1, V) unperturbed, as the diffusion side shows
        probability, top_ids, top_probs, entropy = describe(probs, token, torch.ones(1, dtype=torch.bool), top_k)
        tokens[i] = int(token)
        empty = (None,) * gen_length
        yield Step(
            index=i,
            block=0,
            tokens=tuple(tokens),
            committed=(i,),
            proposals=tuple(tokens),
            confidence=_at(empty, i, probability[0]),
            probability=_at(empty, i, probability[0]),
            top_ids=_at(((),) * gen_length, i, top_ids[0]),
            top_probs=_at(((),) * gen_length, i, top_probs[0]),
            entropy=_at(empty, i, entropy[0]),
            nfe=i + 1,
            elapsed=time.perf_counter() - start,
        )
        if tokens[i] in stop_ids:
            return


def _at(values: tuple, i: int, value) -> tuple:
    return values[:i] + (value,) + values[i + 1:]

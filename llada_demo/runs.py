"""Run a loaded model on a prompt and stream the run as a growing `Trace`.

The bridge between the page and the samplers: it turns the prompt into ids, seeds a private RNG (so
concurrent visitors never share random state), drives `diffusion.sample` or `autoregressive.sample`,
and after each forward pass yields the Trace so far, with the text of every token it shows. Settings
are checked before the first forward pass; a bad one raises ValueError with a sentence.

What it is not: no HTML, no Gradio.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import torch

from llada_demo import autoregressive, diffusion
from llada_demo.models import Loaded
from llada_demo.step import Step, Trace
from llada_demo.text import display_texts, prompt_ids


def _grow(trace: Trace, step: Step, tokenizer) -> Trace:
    ids = set(step.tokens) | set(step.proposals) | {i for row in step.top_ids for i in row}
    missing = {i for i in ids if i not in trace.token_text}
    token_text = {**trace.token_text, **display_texts(tokenizer, missing)} if missing else trace.token_text
    return dataclasses.replace(trace, steps=trace.steps + (step,), token_text=token_text)


def _stream(trace: Trace, steps: Iterator[Step], tokenizer) -> Iterator[Trace]:
    for step in steps:
        trace = _grow(trace, step, tokenizer)
        yield trace


def denoise(loaded: Loaded, prompt: str, *, steps: int, gen_length: int, block_length: int,
            temperature: float = 0.0, cfg_scale: float = 0.0, remasking: str = "low_confidence",
            seed: int = 0) -> Iterator[Trace]:
    """The diffusion model's reverse process on `prompt`, one Trace per forward pass."""
    ids = prompt_ids(loaded.tokenizer, prompt, loaded.chat)
    device = next(loaded.model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    stream = diffusion.sample(loaded.model, torch.tensor([ids], device=device), steps=steps, gen_length=gen_length,
                              block_length=block_length, temperature=temperature, cfg_scale=cfg_scale,
                              remasking=remasking, mask_id=loaded.mask_id, generator=generator)
    settings = dict(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                    cfg_scale=cfg_scale, remasking=remasking, seed=int(seed))
    trace = Trace(sampler="diffusion", prompt=prompt, settings=settings, mask_id=loaded.mask_id,
                  special_ids={"eos": loaded.eos_ids}, model=loaded.name,
                  token_text=display_texts(loaded.tokenizer, [loaded.mask_id, *loaded.eos_ids]))
    return _stream(trace, stream, loaded.tokenizer)


def continue_left_to_right(loaded: Loaded, prompt: str, *, gen_length: int, temperature: float = 0.0,
                           seed: int = 0, stop_at_eos: bool = False) -> Iterator[Trace]:
    """The autoregressive model on `prompt`, one Trace per generated token."""
    ids = prompt_ids(loaded.tokenizer, prompt, loaded.chat)
    device = next(loaded.model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    mask_id = -1
    stream = autoregressive.sample(loaded.model, torch.tensor([ids], device=device), gen_length=gen_length,
                                   temperature=temperature, stop_ids=loaded.eos_ids if stop_at_eos else (),
                                   mask_id=mask_id, generator=generator)
    settings = dict(steps=gen_length, gen_length=gen_length, block_length=gen_length, temperature=temperature,
                    seed=int(seed))
    trace = Trace(sampler="autoregressive", prompt=prompt, settings=settings, mask_id=mask_id,
                  special_ids={"eos": loaded.eos_ids}, model=loaded.name,
                  token_text=display_texts(loaded.tokenizer, loaded.eos_ids))
    return _stream(trace, stream, loaded.tokenizer)

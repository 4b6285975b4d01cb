"""LLaDA 2 (LLaDA2.0 / LLaDA2.1) through diffusers' own `LLaDA2Pipeline`, one `Step` per forward pass.

LLaDA 2 decodes in blocks: a block of `block_length` masks after the prompt is refined for up to `steps`
forward passes, each committing the guesses whose probability passes `threshold` (at least as many as
the even schedule asks); LLaDA 2.1 then keeps refining and *edits* committed tokens that the model now
re-predicts as another token with probability above `editing_threshold`. That rule is diffusers'
`BlockRefinementScheduler` (0.42.1), run by `LLaDA2Pipeline`'s loop; this module writes neither again.
It drives the pipeline and records what its `callback_on_step_end` hands out (`block_x`,
`transfer_index`, `editing_transfer_index`, `sampled_tokens`, `sampled_probs`, `active_block`): newly
committed positions go to `Step.committed`, an edited position to both `committed` and `remasked`.

The pipeline's loop is closed (it calls back, it does not yield), so `sample` runs it in a worker thread
that feeds a bounded queue the generator pulls from: closing the generator (Stop, a visitor leaving) makes
the next callback raise, so the worker ends within one forward pass; a fault in the worker is re-raised
in the consumer.

One adapter, `BlockCausal`: the pipeline passes the model a 2D attention mask, which LLaDA 2's hub code
turns (through transformers' `_prepare_4d_causal_attention_mask_for_sdpa`) into no mask at all (every
position sees every other, earlier blocks the current one too) or, when the window ends in padding, a
*causal* mask. The model was trained with, and its own `generate` passes, a 4D block-causal mask (each
block sees itself and the blocks before it); `BlockCausal` hands it that mask, with the pipeline's padding
kept, and `use_cache=False` (its cache code is transformers 4's).

What it is not: no tokenization or chat template (`runs.py` passes prompt ids), no loading.
"""

from __future__ import annotations

import time
from typing import Iterator

import torch

from llada_demo.engine import worker
from llada_demo.engine.instrument import describe, rounded
from llada_demo.engine.step import Step

MODEL_TYPE = "llada2_moe"
TENSORS = ["block_x", "transfer_index", "editing_transfer_index", "sampled_tokens", "sampled_probs", "active_block"]


def serves(model) -> bool:
    """Whether `model` is LLaDA 2's (its config's model_type), so that runs go through this module."""
    return getattr(getattr(model, "config", None), "model_type", "") == MODEL_TYPE


class BlockCausal(torch.nn.Module):
    """LLaDA 2's model called as its own `generate` calls it: a block-causal 4D mask, no cache.

    Also keeps the logits of the last forward pass (B, L, V), so the steps can show top-k and entropy.
    """

    def __init__(self, model, block_length: int):
        super().__init__()
        self.model = model
        self.block_length = block_length
        self.last_logits: torch.Tensor | None = None

    @property
    def config(self):
        return self.model.config

    @property
    def device(self) -> torch.device:  # the pipeline puts its canvas where its modules' `.device` says
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    def forward(self, input_ids, attention_mask=None, position_ids=None, **kwargs):
        B, L = input_ids.shape
        block = torch.arange(L, device=input_ids.device) // self.block_length  # (L,)
        sees = block[:, None] >= block[None, :]  # (L, L) a query sees its own block and those before
        sees = sees[None, None].expand(B, 1, L, L)  # (B, 1, L, L)
        if attention_mask is not None:  # the pipeline's padding: keys that are not real context
            sees = sees & attention_mask[:, None, None, :].bool()
        dtype = next(self.model.parameters()).dtype
        mask = torch.zeros(sees.shape, dtype=dtype, device=input_ids.device)
        mask.masked_fill_(~sees, torch.finfo(dtype).min)  # additive, as the model's own generate builds it
        out = self.model(input_ids, attention_mask=mask, position_ids=position_ids, use_cache=False)
        self.last_logits = out.logits
        return out


def check_settings(*, steps: int, gen_length: int, block_length: int, temperature: float, threshold: float,
                   editing_threshold: float | None, max_post_steps: int) -> None:
    """ValueError with a sentence for settings the pipeline would refuse or misread."""
    for name, value in (("steps", steps), ("gen_length", gen_length), ("block_length", block_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}.")
    if not 0 <= temperature:
        raise ValueError(f"The temperature must be 0 or more, got {temperature}.")
    if not 0 <= threshold <= 1:
        raise ValueError(f"The threshold is a probability: choose one from 0 to 1, not {threshold}.")
    if editing_threshold is not None and not 0 <= editing_threshold <= 1:
        raise ValueError(f"The editing threshold is a probability from 0 to 1 (0 turns editing off), "
                         f"not {editing_threshold}.")
    if isinstance(max_post_steps, bool) or not isinstance(max_post_steps, int) or max_post_steps < 0:
        raise ValueError(f"max_post_steps must be a whole number of at least 0, got {max_post_steps!r}.")


def max_passes(prompt_length: int, *, steps: int, gen_length: int, block_length: int,
               editing_threshold: float | None, max_post_steps: int) -> int:
    """The most forward passes a run can take: `steps` per block, plus the editing passes after a block fills.

    The pipeline runs blocks from the one holding the prompt's end to the one holding the last generated
    position; a block's post-fill editing passes stop after `max_post_steps + 1`.
    """
    blocks = (prompt_length + gen_length + block_length - 1) // block_length - prompt_length // block_length
    editing = editing_threshold is not None and editing_threshold > 0
    return blocks * (steps + (max_post_steps + 1 if editing else 0))


def pipeline(model, block_length: int):
    """diffusers' LLaDA2Pipeline over `model` (wrapped in `BlockCausal`), with its progress bars off."""
    from diffusers import BlockRefinementScheduler, LLaDA2Pipeline
    pipe = LLaDA2Pipeline(model=BlockCausal(model, block_length), scheduler=BlockRefinementScheduler(
        block_length=block_length), tokenizer=None)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def sample(model, prompt_ids: torch.Tensor, *, steps: int, gen_length: int, block_length: int,
           temperature: float = 0.0, threshold: float = 0.95, editing_threshold: float | None = None,
           max_post_steps: int = 16, eos_early_stop: bool = True, mask_id: int, eos_id: int | None = None,
           top_k: int = 5, generator: torch.Generator | None = None) -> Iterator[Step]:
    """Yield one `Step` per forward pass of diffusers' LLaDA2Pipeline on one prompt (1, P).

    steps: refinement steps per block (the pipeline's `num_inference_steps`); editing_threshold: None or 0
    turns LLaDA 2.1's editing off. Settings are checked here, before the worker starts.
    """
    check_settings(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                   threshold=threshold, editing_threshold=editing_threshold, max_post_steps=max_post_steps)
    if prompt_ids.dim() != 2 or prompt_ids.shape[0] != 1:
        raise ValueError(f"sample takes one prompt of shape (1, length), got {tuple(prompt_ids.shape)}.")
    pipe = pipeline(model, block_length)
    call = dict(input_ids=prompt_ids, gen_length=gen_length, block_length=block_length, num_inference_steps=steps,
                temperature=temperature, sampling_method="auto", threshold=threshold,
                editing_threshold=editing_threshold or None, max_post_steps=max_post_steps,
                eos_early_stop=eos_early_stop, eos_token_id=eos_id, mask_token_id=mask_id, generator=generator,
                output_type="seq")
    editing = bool(editing_threshold and editing_threshold > 0)
    recorder = _Recorder(pipe.model, prompt_ids.shape[1], gen_length, block_length, mask_id, top_k, editing)
    return _run(pipe, call, recorder)


def _run(pipe, call: dict, recorder: "_Recorder") -> Iterator[Step]:
    """The pipeline in a worker thread feeding a bounded queue (engine/worker.py), one Step per callback."""

    def work(emit) -> None:
        def on_step_end(_pipe, _step, _timestep, tensors):
            emit(recorder.step(tensors))
            return {}

        pipe(**call, callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=TENSORS)

    return worker.stream(work, "llada2-pipeline")


class _Recorder:
    """Turns the pipeline's per-step tensors into `Step`s over the generated region (positions 0..L-1)."""

    def __init__(self, wrapped: BlockCausal, P: int, gen_length: int, block_length: int, mask_id: int, top_k: int,
                 editing: bool):
        self.wrapped, self.P, self.L, self.block_length = wrapped, P, gen_length, block_length
        self.mask_id, self.top_k, self.editing = mask_id, top_k, editing
        self.tokens = [mask_id] * gen_length
        self.index = 0
        self.start = time.perf_counter()

    def step(self, t: dict) -> Step:
        P, L, n = self.P, self.L, self.block_length
        end = t["block_x"].shape[1]  # the pipeline's window ends with the current block
        start = end - n
        # Block positions j -> generated positions start + j - P; keep those inside [0, L).
        lo, hi = max(start, P), min(end, P + L)
        rows = slice(lo - start, hi - start)
        where = list(range(lo - P, hi - P))
        tokens = t["block_x"][0, lo:hi].tolist()
        guesses = t["sampled_tokens"][0, rows]  # (n',)
        eligible = t["active_block"][0, rows]  # (n',) masked when the step began
        edited = t["editing_transfer_index"][0, rows]
        changed = t["transfer_index"][0, rows] | edited
        confidence = rounded(t["sampled_probs"][0, rows].float())
        logits = self.wrapped.last_logits[0, -n:][rows].float()  # (n', V) this pass's logits for the block
        probability, top_ids, top_probs, entropy = describe(logits.softmax(-1), guesses, eligible, self.top_k,
                                                            logits)

        self.tokens[lo - P:hi - P] = tokens

        def full(values, fill) -> tuple:  # block values placed in the generated region, `fill` elsewhere
            return tuple([fill] * (lo - P) + list(values) + [fill] * (L - (hi - P)))

        # The scheduler scores masked positions for commits and, with editing on, committed ones for edits.
        ok = [True] * len(where) if self.editing else eligible.tolist()
        step = Step(
            index=self.index,
            block=start // n - P // n,
            tokens=tuple(self.tokens),
            committed=tuple(p for p, c in zip(where, changed.tolist()) if c),
            # Outside the block the model guessed nothing in this pass: the position's own token stands there.
            proposals=tuple(self.tokens[:lo - P]) + tuple(guesses.tolist()) + tuple(self.tokens[hi - P:]),
            confidence=full([c if e else None for c, e in zip(confidence, ok)], None),
            probability=full(probability, None),
            top_ids=full(top_ids, ()),
            top_probs=full(top_probs, ()),
            entropy=full(entropy, None),
            nfe=self.index + 1,
            elapsed=time.perf_counter() - self.start,
            remasked=tuple(p for p, e in zip(where, edited.tolist()) if e),
        )
        self.index += 1
        return step


# The decoding settings each generation ships with: LLaDA2.0's own `generate` (threshold 0.95, no editing)
# and LLaDA2.1's (threshold 0.7, editing above 0.5: diffusers' LLaDA2Pipeline defaults, written for 2.1).
RULES = {"2.0": dict(threshold=0.95, editing_threshold=None), "2.1": dict(threshold=0.7, editing_threshold=0.5)}


def rules_for(name: str) -> dict:
    """The shipped threshold and editing threshold of a LLaDA 2 checkpoint, by its preset name or hub id."""
    return RULES["2.1"] if "2.1" in name else RULES["2.0"]


def traced(loaded, prompt: str, ids: list[int], generator: torch.Generator, *, steps: int, gen_length: int,
           block_length: int, temperature: float, cfg_scale: float, remasking: str, seed: int,
           threshold: float | None = None, editing_threshold: float | None = None):
    """(the empty Trace, the Step stream) of a LLaDA 2 run, for `runs.denoise` to stream.

    `steps` is per block here (LLaDA 2's and the pipeline's meaning); the trace's `steps` setting is the
    most forward passes the run may take, so that an exported trace checks out.
    """
    from llada_demo.engine.step import Trace
    from llada_demo.engine.text import display_texts
    if cfg_scale:
        raise ValueError("LLaDA 2 runs through diffusers' LLaDA2Pipeline, which has no classifier-free guidance; "
                         "set CFG to 0.")
    if remasking != "low_confidence":
        raise ValueError("LLaDA 2 commits by confidence with a threshold (its own rule); choose low_confidence "
                         "remasking.")
    rule = rules_for(f"{loaded.name} {loaded.source}")
    threshold = rule["threshold"] if threshold is None else threshold
    editing_threshold = rule["editing_threshold"] if editing_threshold is None else editing_threshold
    eos = loaded.tokenizer.eos_token_id
    device = next(loaded.model.parameters()).device
    stream = sample(loaded.model, torch.tensor([ids], device=device), steps=steps, gen_length=gen_length,
                    block_length=block_length, temperature=temperature, threshold=threshold,
                    editing_threshold=editing_threshold, mask_id=loaded.mask_id,
                    eos_id=eos if isinstance(eos, int) else None, generator=generator)
    passes = max_passes(len(ids), steps=steps, gen_length=gen_length, block_length=block_length,
                        editing_threshold=editing_threshold, max_post_steps=16)
    settings = dict(steps=passes, steps_per_block=steps, gen_length=gen_length, block_length=block_length,
                    temperature=temperature, threshold=threshold, editing_threshold=editing_threshold,
                    seed=int(seed), sampler="diffusers LLaDA2Pipeline")
    trace = Trace(sampler="diffusion", prompt=prompt, settings=settings, mask_id=loaded.mask_id,
                  special_ids={"eos": loaded.eos_ids}, model=loaded.name,
                  token_text=display_texts(loaded.tokenizer, [loaded.mask_id, *loaded.eos_ids]))
    return trace, stream

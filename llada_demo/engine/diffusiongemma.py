"""DiffusionGemma's run as a `Step` stream, driven by diffusers' own `DiffusionGemmaPipeline`.

DiffusionGemma (transformers' `DiffusionGemmaForBlockDiffusion`) diffuses by *uniform noise*, not masking:
each block's canvas (`config.canvas_length` tokens) starts as random tokens; every denoising step one decoder
pass samples a token at every position, a rule accepts some positions and every other position is renoised
to a fresh random token. Acceptance is recomputed each step, so a token accepted at one step can be renoised
at the next. When the block is done, its canvas is committed: the encoder writes it to the KV cache the next
block's decoder reads.

Which loop, and why diffusers'. Two libraries run this model: transformers' `generate` and diffusers 0.42's
`DiffusionGemmaPipeline`. The pipeline's hooks are public and give a `Step` everything exactly:
`callback_on_step_end` hands over the canvas after each step and the decoder's logits, and the scheduler is
a swappable module whose `step` output names the accepted positions (`EntropyBoundScheduler.accepted_index`,
`BlockRefinementScheduler.transfer_index`); a recording subclass keeps that output (`_recording`), so the
accepted and renoised positions are the rule's own, not guessed from token equality. Its RNG is a
`torch.Generator` passed in, so a run is reproducible under its seed while other visitors' runs draw from
their own; transformers' `generate` draws its canvas and samples from the process-wide RNG and records only
through a private hook (`_prepare_sampler`). The pipeline's default dynamic cache is used (with a static
cache transformers binds its compiled sampler to the first call; see issue 16).

The rules ("decoding rule" on the page): `entropy_bound`, the released checkpoint's sampler (diffusers'
`EntropyBoundScheduler`, Ben-Hamu et al. 2025, arXiv 2505.24857: accept the lowest-entropy positions while
the sum of their entropies minus the largest stays within the bound, under a temperature annealed linearly
from t_max to t_min), and `block_refinement` (`BlockRefinementScheduler` in its uniform mode: commit the
most probable positions on an even quota per step, or any above `threshold`; a commit is never renoised).
diffusers' third, `DiscreteDDIMScheduler`, accepts nothing (it is ancestral), so it has no place here.

Per step: `accepted` the positions the rule accepted, `noise` the positions renoised (random tokens),
`committed` those accepted now and not at the step before, `remasked` those accepted before and renoised now;
probabilities, top-k and entropy are of the distribution the scheduler sampled from (its `pred_logits`:
temperature-shaped for the entropy bound). After each block, one more Step shows the canvas the pipeline
committed (no decoder pass): where the loop ended with positions still noise, diffusers commits that noise
unless adaptive stopping replaced the canvas by the argmax (transformers' `generate` commits the argmax).

What it is not: no loading (models/diffusiongemma.py), no chat template of its own (the pipeline applies
the processor's).
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Iterator

import torch

from llada_demo.engine import limits, worker
from llada_demo.engine.instrument import describe, rounded
from llada_demo.engine.step import Step

MODEL_TYPE = "diffusion_gemma"
RULES = ("entropy_bound", "block_refinement")
# transformers' DiffusionGemmaGenerationConfig._get_default_generation_params (the checkpoint's sampler).
DEFAULTS = dict(steps=48, entropy_bound=0.1, t_max=0.8, t_min=0.4, stability_threshold=1, confidence_threshold=0.005)
NOT_DRAWN = -1  # a position of a block not started yet: no token drawn there (the trace's mask id)
MAX_STEPS = 512


def serves(model) -> bool:
    """Whether `model` is a DiffusionGemma (its config's model_type), so that runs go through this module."""
    return getattr(getattr(model, "config", None), "model_type", "") == MODEL_TYPE


def check_settings(*, steps: int, gen_length: int, rule: str = "entropy_bound", entropy_bound: float = 0.1,
                   t_max: float = 0.8, t_min: float = 0.4, threshold: float = 0.95, stability_threshold: int = 1,
                   confidence_threshold: float | None = 0.005) -> None:
    """ValueError with a sentence for settings the pipeline or its schedulers would refuse or misread."""
    limits.whole(steps, "number of denoising steps", 1, MAX_STEPS)
    limits.whole(gen_length, "generation length", 1, 4096)
    limits.choice(rule, "decoding rule for DiffusionGemma", RULES)
    if limits.number(entropy_bound, "entropy bound", 0.0, 1000.0) <= 0:
        raise ValueError("The entropy bound must be above 0 (it is how much joint entropy a step may accept); "
                         "try 0.1, the checkpoint's own.")
    t_max = limits.number(t_max, "first step's temperature (t_max)", 0.0, limits.MAX_TEMPERATURE)
    t_min = limits.number(t_min, "last step's temperature (t_min)", 0.0, limits.MAX_TEMPERATURE)
    if not 0 < t_min < t_max:
        raise ValueError(f"The temperature falls from t_max to t_min, so choose 0 < t_min < t_max "
                         f"(got t_max {t_max:g}, t_min {t_min:g}); the checkpoint uses 0.8 and 0.4.")
    limits.number(threshold, "commit threshold", 0.0, 1.0)
    limits.whole(stability_threshold, "stability threshold (steps)", 0, MAX_STEPS)
    if confidence_threshold is not None:
        limits.number(confidence_threshold, "confidence threshold (mean entropy, nats)", 0.0, 100.0)


def _recording(cls):
    """`cls` (a diffusers scheduler) whose `step` also keeps what went in and its output, as `last`.

    `functools.wraps` keeps the parent's signature visible: the pipeline passes a scheduler only the
    keyword arguments its `step` signature names (the generator among them).
    """

    class Recording(cls):
        last: tuple | None = None

        @functools.wraps(cls.step)
        def step(self, model_output, timestep, sample, **kwargs):
            out = super().step(model_output, timestep, sample, **kwargs)
            self.last = (sample, out)
            return out

    Recording.__name__ = Recording.__qualname__ = cls.__name__
    return Recording


def scheduler(rule: str, *, steps: int, entropy_bound: float = 0.1, t_max: float = 0.8, t_min: float = 0.4,
              threshold: float = 0.95):
    """The diffusers scheduler of `rule`, recording each step's output."""
    from diffusers import BlockRefinementScheduler, EntropyBoundScheduler
    if rule == "entropy_bound":
        return _recording(EntropyBoundScheduler)(entropy_bound=entropy_bound, t_max=t_max, t_min=t_min,
                                                 num_inference_steps=steps)
    return _recording(BlockRefinementScheduler)(num_inference_steps=steps, threshold=threshold)


def pipeline(model, processor, sched):
    """diffusers' DiffusionGemmaPipeline over `model`, with its progress bars off."""
    from diffusers import DiffusionGemmaPipeline
    pipe = DiffusionGemmaPipeline(model=model, scheduler=sched, processor=processor)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def canvases(model, gen_length: int) -> int:
    """Blocks the pipeline runs for `gen_length` tokens: it rounds up to whole canvases."""
    return -(-gen_length // model.config.canvas_length)


def sample(model, processor, messages: list[dict], *, steps: int = 48, gen_length: int, rule: str = "entropy_bound",
           entropy_bound: float = 0.1, t_max: float = 0.8, t_min: float = 0.4, threshold: float = 0.95,
           temperature: float = 0.0, stability_threshold: int = 1, confidence_threshold: float | None = 0.005,
           eos_early_stop: bool = True, eos_id: int | None = None, top_k: int = 5,
           generator: torch.Generator | None = None) -> Iterator[Step]:
    """Yield one `Step` per denoising step of diffusers' DiffusionGemmaPipeline, and one per committed block.

    messages: the conversation the pipeline puts through the processor's chat template. steps: the most
    denoising steps per block (adaptive stopping may end a block sooner; `confidence_threshold` None or 0
    turns it off). temperature: block_refinement's sampling temperature (the entropy bound anneals its own).
    The generated region is `canvases(model, gen_length)` whole canvases. Settings are checked here.
    """
    check_settings(steps=steps, gen_length=gen_length, rule=rule, entropy_bound=entropy_bound, t_max=t_max,
                   t_min=t_min, threshold=threshold, stability_threshold=stability_threshold,
                   confidence_threshold=confidence_threshold)
    limits.number(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE)
    sched = scheduler(rule, steps=steps, entropy_bound=entropy_bound, t_max=t_max, t_min=t_min, threshold=threshold)
    pipe = pipeline(model, processor, sched)
    call = dict(messages=messages, gen_length=gen_length, num_inference_steps=steps, temperature=temperature,
                stability_threshold=stability_threshold, confidence_threshold=confidence_threshold or None,
                eos_early_stop=eos_early_stop, eos_token_id=eos_id, generator=generator, output_type="seq")
    recorder = _Recorder(sched, model.config.canvas_length, canvases(model, gen_length), top_k)

    def work(emit) -> None:
        me = threading.get_ident()  # the hook sits on the shared model: other runs' passes are not this run's

        def on_step_end(_pipe, _step, step_idx, tensors):
            emit(recorder.step(step_idx, tensors["canvas"]))
            return {}

        def on_encode(_module, _args, kwargs):  # the encoder reads the prompt, then each committed canvas
            if threading.get_ident() != me:
                return
            if recorder.encoded:
                emit(recorder.commit(kwargs["input_ids"]))
            recorder.encoded += 1

        hook = model.model.encoder.register_forward_pre_hook(on_encode, with_kwargs=True)
        try:
            out = pipe(**call, callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=["canvas"])
        finally:
            hook.remove()
        n = recorder.canvas_length
        emit(recorder.commit(out.sequences[:, recorder.block * n:(recorder.block + 1) * n]))

    return worker.stream(work, "diffusiongemma-pipeline")


class _Recorder:
    """Turns the pipeline's per-step tensors and the recording scheduler's output into `Step`s."""

    def __init__(self, sched, canvas_length: int, blocks: int, top_k: int):
        self.sched, self.canvas_length, self.top_k = sched, canvas_length, top_k
        self.tokens = [NOT_DRAWN] * (canvas_length * blocks)
        self.block = 0  # the block being denoised
        self.encoded = 0  # encoder passes seen: the prompt's, then one per committed block
        self.accepted: set[int] = set()  # positions (generated region) accepted at the step before
        self.index = 0
        self.nfe = 0
        self.start = time.perf_counter()

    def _accepted_mask(self, out, step_idx: int) -> torch.Tensor:
        """(n,) bool: the positions the rule holds accepted after this step, from its own output."""
        if hasattr(out, "accepted_index"):  # EntropyBoundScheduler: recomputed every step
            return out.accepted_index[0]
        # BlockRefinementScheduler (uniform mode): commits accumulate within a block and are never renoised.
        before = torch.zeros_like(out.transfer_index[0])
        if step_idx > 0:
            lo = self.block * self.canvas_length
            for p in self.accepted:
                before[p - lo] = True
        return before | out.transfer_index[0]

    def step(self, step_idx, canvas: torch.Tensor) -> Step:
        n, lo = self.canvas_length, self.block * self.canvas_length
        where = range(lo, lo + n)
        _, out = self.sched.last
        accepted = self._accepted_mask(out, int(step_idx)).tolist()
        now = {p for p, a in zip(where, accepted) if a}
        before = self.accepted if int(step_idx) > 0 else set()
        self.tokens[lo:lo + n] = canvas[0].tolist()
        guesses = out.sampled_tokens[0]  # (n,) the denoiser's draw at every position
        logits = out.pred_logits[0].float()  # (n, V)
        probs = logits.softmax(-1)  # (n, V) the distribution the rule scored
        probability, top_ids, top_probs, entropy = describe(probs, guesses, torch.ones(n, dtype=torch.bool),
                                                            self.top_k, logits)
        L = len(self.tokens)

        def full(values, fill) -> tuple:
            return tuple([fill] * lo + list(values) + [fill] * (L - lo - n))

        self.nfe += 1
        step = Step(
            index=self.index, block=self.block, tokens=tuple(self.tokens),
            committed=tuple(sorted(now - before)),
            proposals=tuple(self.tokens[:lo]) + tuple(guesses.tolist()) + tuple(self.tokens[lo + n:]),
            confidence=full(rounded(out.sampled_probs[0].float()), None),
            probability=full(probability, None), top_ids=full(top_ids, ()), top_probs=full(top_probs, ()),
            entropy=full(entropy, None), nfe=self.nfe, elapsed=time.perf_counter() - self.start,
            remasked=tuple(sorted(before - now)), accepted=tuple(sorted(now)),
            noise=tuple(p for p in where if p not in now),
        )
        self.accepted = now
        self.index += 1
        return step

    def commit(self, block_ids: torch.Tensor) -> Step:
        """The Step that shows the canvas the pipeline committed for the current block (1, n)."""
        n, lo = self.canvas_length, self.block * self.canvas_length
        self.tokens[lo:lo + n] = block_ids[0].tolist()
        L = len(self.tokens)
        step = Step(
            index=self.index, block=self.block, tokens=tuple(self.tokens), committed=tuple(range(lo, lo + n)),
            proposals=tuple(self.tokens), confidence=(None,) * L, nfe=self.nfe,
            elapsed=time.perf_counter() - self.start,
        )
        self.block += 1
        self.accepted = set()
        self.index += 1
        return step


def traced(loaded, prompt: str, history: tuple[tuple[str, str], ...], generator: torch.Generator, *, steps: int,
           gen_length: int, temperature: float = 0.0, cfg_scale: float = 0.0, remasking: str = "low_confidence",
           seed: int = 0, threshold: float | None = None, entropy_bound: float | None = None,
           remdm_number: int | None = None, rule: str | None = None, t_max: float = DEFAULTS["t_max"],
           t_min: float = DEFAULTS["t_min"], stability_threshold: int = DEFAULTS["stability_threshold"],
           confidence_threshold: float | None = DEFAULTS["confidence_threshold"]):
    """(the empty Trace, the Step stream) of a DiffusionGemma run, for `runs.denoise` to stream.

    `steps` is the most denoising steps per block; the block is the model's canvas (the page's block length
    does not apply). The trace's `steps` setting is the most Steps the run may yield (per block: the
    denoising steps and the commit), its `gen_length` the whole canvases generated, so an exported trace
    checks out; its mask id is NOT_DRAWN, which marks the positions of blocks not started yet.
    rule: one of RULES; None picks it from the knob given (a threshold alone: block refinement).
    """
    from llada_demo.engine.step import Trace
    from llada_demo.engine.text import display_texts
    if cfg_scale:
        raise ValueError("DiffusionGemma runs through diffusers' DiffusionGemmaPipeline, which has no "
                         "classifier-free guidance; set CFG to 0.")
    if remdm_number is not None:
        raise ValueError("DiffusionGemma renoises by its own rule; ReMDM does not apply, so leave it unset.")
    if remasking != "low_confidence":
        raise ValueError("DiffusionGemma has no masks to choose among; keep the remasking score at low_confidence "
                         "and pick its decoding rule (entropy_bound or block_refinement) instead.")
    if rule is None:  # from the knob given: a threshold alone (LLaDA's rule controls) is diffusers' block
        # refinement, which commits what is at least that sure; else the checkpoint's entropy bound.
        rule = "block_refinement" if threshold is not None and entropy_bound is None else "entropy_bound"
    entropy_bound = DEFAULTS["entropy_bound"] if entropy_bound is None else entropy_bound
    threshold = 0.95 if threshold is None else threshold
    messages = [m for user, reply in history for m in ({"role": "user", "content": user},
                                                        {"role": "assistant", "content": reply})]
    messages.append({"role": "user", "content": prompt})
    eos = loaded.tokenizer.eos_token_id
    stream = sample(loaded.model, loaded.tokenizer, messages, steps=steps, gen_length=gen_length, rule=rule,
                    entropy_bound=entropy_bound, t_max=t_max, t_min=t_min, threshold=threshold,
                    temperature=temperature, stability_threshold=stability_threshold,
                    confidence_threshold=confidence_threshold, eos_id=eos if isinstance(eos, int) else None,
                    generator=generator)
    blocks, n = canvases(loaded.model, gen_length), loaded.model.config.canvas_length
    rule_settings = dict(entropy_bound=entropy_bound, t_max=t_max, t_min=t_min) if rule == "entropy_bound" \
        else dict(threshold=threshold, temperature=temperature)
    settings = dict(steps=blocks * (steps + 1), steps_per_block=steps, gen_length=blocks * n, block_length=n,
                    rule=rule, **rule_settings, stability_threshold=stability_threshold,
                    confidence_threshold=confidence_threshold, seed=int(seed), noise="uniform",
                    sampler="diffusers DiffusionGemmaPipeline")
    trace = Trace(sampler="diffusion", prompt=prompt, settings=settings, mask_id=NOT_DRAWN,
                  special_ids={"eos": loaded.eos_ids}, model=loaded.name,
                  token_text=display_texts(loaded.tokenizer, loaded.eos_ids))
    return trace, stream

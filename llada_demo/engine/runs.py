"""Run a loaded model on a prompt and stream the run as a growing `Trace`.

The bridge between the page and the samplers: it turns the prompt into ids, seeds a private RNG (so
concurrent visitors never share random state), drives `diffusion.sample` or `autoregressive.sample`,
and after each forward pass yields the Trace so far, with the text of every token it shows. Settings
are checked before the first forward pass; a bad one raises ValueError with a sentence. A run that
breaks off later (the model raises, runs out of memory, or returns NaN scores) raises `RunFailed` with
a sentence, and the traceback goes to the server's log only.

What it is not: no HTML, no Gradio.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import re
from typing import TYPE_CHECKING, Iterator

import torch

from llada_demo.engine import autoregressive, diffusion, diffusiongemma, llada2
from llada_demo.engine.limits import RunFailed
from llada_demo.engine.revoke import MAX_REVISIONS
from llada_demo.engine.step import Step, Trace
from llada_demo.engine.text import display_texts, prompt_ids

if TYPE_CHECKING:  # the engine never imports models at run time; a Loaded is passed in
    from llada_demo.models import Loaded


def _grow(trace: Trace, step: Step, tokenizer) -> Trace:
    ids = set(step.tokens) | set(step.proposals) | {i for row in step.top_ids for i in row}
    missing = {i for i in ids if i not in trace.token_text}
    token_text = {**trace.token_text, **display_texts(tokenizer, missing)} if missing else trace.token_text
    return dataclasses.replace(trace, steps=trace.steps + (step,), token_text=token_text)


log = logging.getLogger(__name__)


def _not_a_number(step: Step) -> bool:
    """True when the model's scores in this step were NaN (or infinite, which softmax turns into NaN)."""
    return any(p is not None and not math.isfinite(p) for p in step.probability)


def _stream(trace: Trace, steps: Iterator[Step], tokenizer) -> Iterator[Trace]:
    """The growing Trace per step; a model fault mid-run ends the stream with `RunFailed`.

    Closing the stream (a visitor pressed Stop or left) closes the sampler, so the run ends within a step.
    """
    done = 0
    try:
        for step in steps:
            if _not_a_number(step):
                raise RunFailed(f"The model returned NaN scores at step {done + 1}, so the run stopped there; "
                                "its weights or numeric precision are broken, so tell the operator.")
            trace = _grow(trace, step, tokenizer)
            done += 1
            yield trace
    except RunFailed:
        raise
    except torch.OutOfMemoryError:
        log.warning("out of memory at step %d of a %s run", done + 1, trace.model)
        _free_memory()
        raise RunFailed(f"The model ran out of memory at step {done + 1}; try a shorter generation length, no CFG, "
                        "or try again when fewer people are using the demo.") from None
    except Exception as err:  # noqa: BLE001 - any model failure ends this run only, with a sentence
        log.exception("a %s run failed at step %d", trace.model, done + 1)
        raise RunFailed(f"The model failed at step {done + 1} ({type(err).__name__}), so this run stopped; "
                        "run it again or try other settings.") from None
    finally:
        close = getattr(steps, "close", None)
        if close is not None:
            close()


def _free_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _within(ids: list[int], max_tokens: int | None, what: str) -> list[int]:
    """`ids`, or ValueError when they are longer than the operator's limit."""
    if max_tokens is not None and len(ids) > max_tokens:
        raise ValueError(f"The {what} is {len(ids):,} tokens long; the limit is {max_tokens:,} tokens, so shorten it.")
    return ids


def _checked_prompt_ids(loaded: Loaded, prompt: str, max_prompt_tokens: int | None,
                        history: tuple[tuple[str, str], ...] = ()) -> list[int]:
    ids = prompt_ids(loaded.tokenizer, prompt, loaded.chat, history if loaded.chat else ())
    return _within(ids, max_prompt_tokens, "prompt")


def denoise(loaded: Loaded, prompt: str, *, steps: int, gen_length: int, block_length: int,
            temperature: float = 0.0, cfg_scale: float = 0.0, remasking: str = "low_confidence",
            seed: int = 0, max_prompt_tokens: int | None = None,
            history: tuple[tuple[str, str], ...] = (), threshold: float | None = None,
            entropy_bound: float | None = None, remdm_number: int | None = None,
            max_revisions: int = MAX_REVISIONS, uniform: dict | None = None) -> Iterator[Trace]:
    """The diffusion model's reverse process on `prompt`, one Trace per forward pass.

    history: earlier (user, reply) turns of a conversation, for instruct models (see `chat.py`).
    threshold, entropy_bound, remdm_number, max_revisions: the decoding rule (see `diffusion.generate`);
    the trace's settings record the ones that are set. uniform: DiffusionGemma's own settings (rule, t_max,
    t_min, stability_threshold, confidence_threshold; see `diffusiongemma.traced`).
    """
    ids = _checked_prompt_ids(loaded, prompt, max_prompt_tokens, history)
    device = next(loaded.model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    if diffusiongemma.serves(loaded.model):  # uniform noise: diffusers' DiffusionGemmaPipeline (engine/diffusiongemma.py)
        trace, stream = diffusiongemma.traced(loaded, prompt, history if loaded.chat else (), generator, steps=steps,
                                              gen_length=gen_length, temperature=temperature, cfg_scale=cfg_scale,
                                              remasking=remasking, seed=seed, threshold=threshold,
                                              entropy_bound=entropy_bound, remdm_number=remdm_number,
                                              **(uniform or {}))
        return _stream(trace, stream, loaded.tokenizer)
    if uniform:
        raise ValueError("Those settings (rule, t_max, t_min, stopping thresholds) are DiffusionGemma's; the loaded "
                         "model masks tokens, so leave them unset.")
    if llada2.serves(loaded.model):  # LLaDA 2: diffusers' own LLaDA2Pipeline, `steps` per block (engine/llada2.py)
        if entropy_bound is not None or remdm_number is not None:
            raise ValueError("LLaDA 2 runs diffusers' own pipeline, which has a threshold but no entropy bound or "
                             "ReMDM; leave entropy_bound and remdm_number unset for this model.")
        trace, stream = llada2.traced(loaded, prompt, ids, generator, steps=steps, gen_length=gen_length,
                                      block_length=block_length, temperature=temperature, cfg_scale=cfg_scale,
                                      remasking=remasking, seed=seed, threshold=threshold)
        return _stream(trace, stream, loaded.tokenizer)
    rule = dict(threshold=threshold, entropy_bound=entropy_bound, remdm_number=remdm_number, max_revisions=max_revisions)
    stream = diffusion.sample(loaded.model, torch.tensor([ids], device=device), steps=steps, gen_length=gen_length,
                              block_length=block_length, temperature=temperature, cfg_scale=cfg_scale,
                              remasking=remasking, mask_id=loaded.mask_id, generator=generator, **rule)
    settings = dict(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                    cfg_scale=cfg_scale, remasking=remasking, seed=int(seed),
                    **{k: v for k, v in rule.items() if v is not None and (k != "max_revisions" or remdm_number)})
    trace = Trace(sampler="diffusion", prompt=prompt, settings=settings, mask_id=loaded.mask_id,
                  special_ids={"eos": loaded.eos_ids}, model=loaded.name,
                  token_text=display_texts(loaded.tokenizer, [loaded.mask_id, *loaded.eos_ids]))
    return _stream(trace, stream, loaded.tokenizer)


def continue_left_to_right(loaded: Loaded, prompt: str, *, gen_length: int, temperature: float = 0.0,
                           seed: int = 0, stop_at_eos: bool = False,
                           max_prompt_tokens: int | None = None) -> Iterator[Trace]:
    """The autoregressive model on `prompt`, one Trace per generated token."""
    ids = _checked_prompt_ids(loaded, prompt, max_prompt_tokens)
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


def lockstep(diffusion_run: Iterator[Trace], ar_run: Iterator[Trace]) -> Iterator[tuple[Trace, Trace]]:
    """Both runs advanced one forward pass each per frame; a finished run holds its last frame."""
    last_d = last_a = None
    for d_trace, a_trace in itertools.zip_longest(diffusion_run, ar_run):
        last_d = d_trace or last_d
        last_a = a_trace or last_a
        yield last_d, last_a


def compare(diffusion_model: Loaded, ar_model: Loaded, prompt: str, *, steps: int, gen_length: int,
            block_length: int, temperature: float = 0.0, cfg_scale: float = 0.0, remasking: str = "low_confidence",
            seed: int = 0, max_prompt_tokens: int | None = None, **rule) -> Iterator[tuple[Trace, Trace]]:
    """The same prompt through both models, in lockstep by forward pass (one frame = one pass of each).

    rule: the diffusion side's decoding rule (`denoise`'s threshold, entropy_bound, remdm_number)."""
    d = denoise(diffusion_model, prompt, steps=steps, gen_length=gen_length, block_length=block_length,
                temperature=temperature, cfg_scale=cfg_scale, remasking=remasking, seed=seed,
                max_prompt_tokens=max_prompt_tokens, **rule)
    # The AR side stops at end-of-text, as a real AR decoder does: writing on would overstate its passes.
    a = continue_left_to_right(ar_model, prompt, gen_length=gen_length, temperature=temperature, seed=seed,
                               stop_at_eos=True, max_prompt_tokens=max_prompt_tokens)
    return lockstep(d, a)


def compare_strategies(loaded: Loaded, prompt: str, rule_a: dict, rule_b: dict, *, steps: int, gen_length: int,
                       block_length: int, temperature: float = 0.0, seed: int = 0,
                       max_prompt_tokens: int | None = None) -> Iterator[tuple[Trace, Trace]]:
    """The same prompt through the same model under two decoding rules, in lockstep by forward pass.

    rule_a, rule_b: `denoise`'s rule keywords for each side (remasking, threshold, entropy_bound, remdm_number).
    Both are checked before the first pass: a bad one raises ValueError with its sentence. DiffusionGemma
    has two rules (its entropy bound; a threshold, run as diffusers' block refinement) and no fixed schedule.
    """
    if diffusiongemma.serves(loaded.model) and any(
            rule.get("threshold") is None and rule.get("entropy_bound") is None for rule in (rule_a, rule_b)):
        raise ValueError("DiffusionGemma has no fixed schedule: compare its entropy bound with a threshold "
                         "(diffusers' block refinement), or two bounds.")
    a, b = (denoise(loaded, prompt, steps=steps, gen_length=gen_length, block_length=block_length,
                    temperature=temperature, seed=seed, max_prompt_tokens=max_prompt_tokens, **rule)
            for rule in (rule_a, rule_b))
    return lockstep(a, b)


def compare_models(first: Loaded, second: Loaded, prompt: str, *, steps: int, gen_length: int, block_length: int,
                   temperature: float = 0.0, seed: int = 0,
                   max_prompt_tokens: int | None = None) -> Iterator[tuple[Trace, Trace]]:
    """The same prompt through two diffusion models, in lockstep by forward pass: LLaDA's masking beside
    DiffusionGemma's uniform noise, say. Each model runs its own sampler with its own defaults (`denoise`):
    for a block-diffusion model with a canvas of its own, `steps` caps the denoising steps per block and
    `block_length` is its canvas. Both are checked before the first pass."""
    a, b = (denoise(model, prompt, steps=steps, gen_length=gen_length, block_length=block_length,
                    temperature=temperature, seed=seed, max_prompt_tokens=max_prompt_tokens)
            for model in (first, second))
    return lockstep(a, b)


BLANK = re.compile(r"_{3,}|\[MASK\]")


def infill(loaded: Loaded, text: str, *, steps: int | None = None, temperature: float = 0.0,
           remasking: str = "low_confidence", seed: int = 0, max_prompt_tokens: int | None = None) -> Iterator[Trace]:
    """Fill the blanks of `text` (each `___` or `[MASK]` is one token) with the diffusion model.

    The whole text is the canvas: the given words stay, the blanks start masked and the model fills
    them in `steps` forward passes (default: one token per pass).
    """
    if not text.strip():
        raise ValueError("The text is empty; write a sentence with ___ where the model should fill in a word.")
    mask_token = loaded.tokenizer.convert_ids_to_tokens(loaded.mask_id)
    # A space before each mask token, none after: punctuation after a blank stays attached ("___." -> mask, ".").
    ids = _within(loaded.tokenizer.encode(BLANK.sub(f" {mask_token}", text).strip(), add_special_tokens=False),
                  max_prompt_tokens, "text")
    blanks = sum(1 for i in ids if i == loaded.mask_id)
    if blanks == 0:
        raise ValueError("The text has no blank; write ___ (or [MASK]) where the model should fill in a word.")
    steps = blanks if steps is None else int(steps)
    if not 1 <= steps <= blanks:
        raise ValueError(f"Use between 1 and {blanks} steps for {blanks} blanks.")
    device = next(loaded.model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    stream = diffusion.sample(loaded.model, torch.zeros((1, 0), dtype=torch.long, device=device), steps=steps,
                              gen_length=len(ids), block_length=len(ids), temperature=temperature,
                              remasking=remasking, mask_id=loaded.mask_id, initial=torch.tensor([ids]),
                              generator=generator)
    settings = dict(steps=steps, gen_length=len(ids), block_length=len(ids), temperature=temperature,
                    remasking=remasking, seed=int(seed), blanks=blanks)
    trace = Trace(sampler="diffusion", prompt=text, settings=settings, mask_id=loaded.mask_id,
                  special_ids={"eos": loaded.eos_ids}, model=loaded.name,
                  token_text=display_texts(loaded.tokenizer, [loaded.mask_id, *loaded.eos_ids, *ids]))
    return _stream(trace, stream, loaded.tokenizer)


def ask_case(diffusion_model: Loaded, ar_model: Loaded, case, direction: str) -> Iterator[tuple[Trace, Trace | None]]:
    """One held-out reversal item (see `evaluate.Case`) put to both models, live.

    "forwards" / "backwards": the same prompt to both models, in lockstep. "infill": the forward text
    with its first item blank (one blank per token of the answer), which only the diffusion model can
    be asked.
    """
    if direction == "infill":
        n = len(diffusion_model.tokenizer.encode(case.reverse_answer, add_special_tokens=False))
        for trace in infill(diffusion_model, case.template.replace("{}", " ".join(["___"] * n), 1)):
            yield trace, None
        return
    prompt = case.forward_prompt if direction == "forwards" else case.reverse_prompt
    yield from compare(diffusion_model, ar_model, prompt, steps=case.length, gen_length=case.length,
                       block_length=case.length)


def _widened(step: Step, before: list[int], after: list[int], block0: int, *, index: int, nfe: int,
             elapsed: float) -> Step:
    """A Step of a sampler run on part of the canvas, as a Step of the whole canvas: the given text before
    and after it as tokens and guesses, nothing measured there (None / no candidates)."""
    o = len(before)
    pad = lambda values, fill: (fill,) * o + tuple(values) + (fill,) * len(after) if values else ()  # noqa: E731
    return dataclasses.replace(
        step, index=index, block=block0 + step.block, tokens=tuple(before) + step.tokens + tuple(after),
        committed=tuple(p + o for p in step.committed), remasked=tuple(p + o for p in step.remasked),
        proposals=tuple(before) + step.proposals + tuple(after) if step.proposals else (),
        confidence=pad(step.confidence, None), probability=pad(step.probability, None),
        top_ids=pad(step.top_ids, ()), top_probs=pad(step.top_probs, ()), entropy=pad(step.entropy, None),
        nfe=nfe, elapsed=elapsed)


def edited_canvas(trace: Trace, line: tuple[Step, ...], step_index: int, edits, vocab_size: int) -> list[int]:
    """The canvas after `line[step_index]` with `edits` applied ((position, token) pairs; the mask id
    remasks). ValueError with a sentence for a step, position or token that is not there."""
    if not 0 <= step_index < len(line):
        raise ValueError(f"Pick a step from 1 to {len(line)} to continue from.")
    canvas = list(line[step_index].tokens)
    if not edits:
        raise ValueError("Force a candidate, type a token or remask a position first; then continue.")
    for position, token in edits:
        if not 0 <= position < len(canvas):
            raise ValueError(f"Position {position} is outside the canvas (0 to {len(canvas) - 1}); pick a chip on it.")
        if token != trace.mask_id and not 0 <= token < vocab_size:
            raise ValueError(f"Token id {token} is not in the model's vocabulary of {vocab_size}; pick a candidate.")
        canvas[position] = token
    return canvas


def continue_from(loaded: Loaded, trace: Trace, step_index: int, edits, *, parent: int = -1,
                  seed: int | None = None, max_prompt_tokens: int | None = None) -> Iterator[Trace]:
    """A branch of a diffusion run (issue 17 §2): the canvas after step `step_index` of line `parent`
    (-1: the main run; see `Trace.line`) with `edits` ((position, token id) pairs; the mask id remasks)
    applied, then sampled on with the run's settings. Yields the Trace with the growing branch appended.

    The remaining schedule is LLaDA's (Appendix B.2) from that canvas: the first block that holds a mask
    gets the passes its block had left at that step (at least one, at most one per mask), then every later
    block its `steps / num_blocks`. Blocks before it are full and join the prompt, so no pass is spent
    on them; the same `initial=` canvas the engine takes for infill carries the rest.
    Not for LLaDA 2 (diffusers' pipeline takes no starting canvas) or a conversation's history.
    """
    from llada_demo.engine.step import Branch, Edit
    if trace.sampler != "diffusion" or llada2.serves(loaded.model):
        raise ValueError("Only a diffusion run of this demo's sampler can be continued by hand; run one first.")
    if not -1 <= parent < len(trace.branches):
        raise ValueError(f"There is no branch {parent + 1} to continue; pick one from the list.")
    line = trace.line(parent)
    vocab = int(getattr(loaded.model.config, "vocab_size", 0) or len(loaded.tokenizer))
    edits = tuple((int(p), int(t)) for p, t in edits)
    canvas = edited_canvas(trace, line, step_index, edits, vocab)
    s = trace.settings
    gen_length, block_length, steps = int(s["gen_length"]), int(s["block_length"]), int(s["steps"])
    num_blocks = gen_length // block_length
    per_block = steps // num_blocks
    rule = {k: s[k] for k in ("threshold", "entropy_bound", "remdm_number", "max_revisions") if s.get(k) is not None}
    prompt = _checked_prompt_ids(loaded, trace.prompt, max_prompt_tokens)
    device = next(loaded.model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(s.get("seed", 0) if seed is None else seed))
    at = line[step_index]
    before = set(i for i, t in enumerate(at.tokens) if t != trace.mask_id)
    shown = Step(index=0, block=at.block, tokens=tuple(canvas), committed=tuple(p for p, t in edits if t != trace.mask_id),
                 proposals=(), confidence=(), remasked=tuple(p for p, _ in edits if p in before), nfe=at.nfe,
                 elapsed=at.elapsed)
    branch = Branch(parent=parent, at_step=step_index, edits=tuple(Edit(p, t) for p, t in edits), steps=(shown,))
    trace = dataclasses.replace(trace, branches=trace.branches + (branch,))
    trace = _with_texts(trace, shown, loaded.tokenizer)  # a typed token's text
    yield trace
    masked = [i for i, t in enumerate(canvas) if t == trace.mask_id]
    if not masked:
        return
    first = masked[0] // block_length
    spent = sum(1 for step in line[:step_index + 1] if step.block == first)
    left = per_block - spent if per_block - spent >= 1 else per_block
    in_first = sum(1 for i in masked if i // block_length == first)
    # Each phase samples from its first block to the end of the canvas, so the model sees the later masked
    # blocks as in the run itself; the first phase gives its block `left` passes and stops once it is full.
    phases = [(first, max(1, min(left, in_first)), first + 1 < num_blocks)]  # (block, passes per block, stop)
    if first + 1 < num_blocks:
        phases.append((first + 1, per_block, False))
    nfe, elapsed = at.nfe, at.elapsed
    for start_block, passes, stop_when_full in phases:
        lo = start_block * block_length
        context = torch.tensor([prompt + canvas[:lo]], device=device)  # (1, P + lo): full blocks join the prompt
        stream = diffusion.sample(loaded.model, context, steps=passes * (num_blocks - start_block),
                                  gen_length=gen_length - lo, block_length=block_length,
                                  temperature=float(s.get("temperature", 0.0)), cfg_scale=float(s.get("cfg_scale", 0.0)),
                                  remasking=s.get("remasking", "low_confidence"), mask_id=trace.mask_id,
                                  initial=torch.tensor([canvas[lo:]]), generator=generator, **rule)
        base = elapsed
        for step in stream:
            nfe += 1
            wide = _widened(step, canvas[:lo], [], start_block, index=len(branch.steps), nfe=nfe,
                            elapsed=base + step.elapsed)
            canvas[lo:] = step.tokens
            branch = dataclasses.replace(branch, steps=branch.steps + (wide,))
            elapsed = wide.elapsed
            trace = _with_texts(dataclasses.replace(trace, branches=trace.branches[:-1] + (branch,)), wide,
                                loaded.tokenizer)
            yield trace
            if stop_when_full and trace.mask_id not in canvas[lo:lo + block_length]:
                stream.close()  # its block is full: the next phase gives later blocks their own schedule
                break


def _with_texts(trace: Trace, step: Step, tokenizer) -> Trace:
    """The trace with the text of every id `step` shows (as `_grow` does for the main run's steps)."""
    ids = set(step.tokens) | set(step.proposals) | {i for row in step.top_ids for i in row}
    missing = [i for i in ids if i not in trace.token_text]
    return dataclasses.replace(trace, token_text={**trace.token_text, **display_texts(tokenizer, missing)}) if missing else trace

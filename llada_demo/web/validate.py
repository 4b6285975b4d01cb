"""Gradio 6's input validation for the page's model events: a bad input is told on the input itself.

Each function here is an event's `validator=` (gradio/blocks.py `set_event_trigger`): Gradio calls it
with the same raw inputs as the event's function before anything is queued (queueing.py `push`), and
when any `gr.validate(False, message)` comes back it paints each message on its input and never runs
the event, so the outputs keep what they showed. The checks are the ones the views apply (they stay
there for API callers): the same `limits` functions with the same names and sentences, and LLaDA's
schedule rule from `limits.check_blocks` / `limits.check_steps`, so no rule has a second copy.

What it is not: no views, no model, no layout (tabs/*.py pass these as `validator=`).
"""

from __future__ import annotations

from typing import Callable

import gradio as gr

from llada_demo.engine import limits
from llada_demo.engine.limits import Limits
from llada_demo.web import views

PICK_FIRST = "Pick a fact or a couplet first."


def verdict(check: Callable[[], object]) -> dict:
    """gr.validate for one input: valid unless `check()` raises ValueError (its sentence is the message)."""
    try:
        check()
    except ValueError as err:
        return gr.validate(False, str(err))
    return gr.validate(True, "")


def run_settings(limits_: Limits, prompt, gen_length, steps, block_length, temperature=0.0, seed=0,
                 empty: str = views.EMPTY_PROMPT, schedule: bool = True) -> list[dict]:
    """Verdicts for (prompt, gen_length, steps, block_length, temperature, seed), as `views.checked_run`
    checks them; the schedule rule speaks on the block length (blocks that do not tile the length) or on
    the steps (not the same number per block, or more than the tokens), once both are whole numbers.
    schedule: False for a model that does not follow LLaDA's schedule (DiffusionGemma: its block is its
    own canvas and its steps are per block; engine/diffusiongemma.check_settings checks them)."""
    length = lambda: limits.whole(gen_length, "generation length", 1, limits_.max_gen_length)  # noqa: E731
    count = lambda: limits.whole(steps, "number of steps", 1, limits_.max_steps)  # noqa: E731
    block = lambda: limits.whole(block_length, "block length", 1, limits_.max_gen_length)  # noqa: E731
    whole = all(verdict(c)["is_valid"] for c in (length, count, block))
    tiles = lambda: limits.check_blocks(gen_length=int(gen_length), block_length=int(block_length))  # noqa: E731
    # The steps rule counts blocks, so it speaks only once the blocks tile (a block longer than the
    # length makes zero blocks); until then the block length carries the one message.
    whole = whole and schedule
    tiled = whole and verdict(tiles)["is_valid"]
    return [verdict(lambda: limits.text(prompt, "prompt", limits_.max_prompt_chars, empty)),
            verdict(length),
            verdict(lambda: (count(), tiled and limits.check_steps(steps=int(steps), gen_length=int(gen_length),
                                                                   block_length=int(block_length)))),
            verdict(lambda: (block(), whole and tiles())),
            verdict(lambda: limits.number(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE)),
            verdict(lambda: limits.seed(seed))]


def denoise(limits_: Limits, prompt, gen_length, steps, block_length, remasking, temperature, cfg_scale, seed,
            *rest, schedule: bool = True) -> list[dict]:
    """The Denoise tab's Run/Enter (inputs as in tabs/denoise.py; later inputs are left to the view)."""
    p, g, s, b, t, sd = run_settings(limits_, prompt, gen_length, steps, block_length, temperature, seed,
                                     schedule=schedule)
    cfg = verdict(lambda: limits.number(cfg_scale, "CFG scale", 0.0, limits.MAX_CFG_SCALE))
    return [p, g, s, b, gr.validate(True, ""), t, cfg, sd, *[gr.validate(True, "")] * len(rest)]


def chat(limits_: Limits, conversation, *inputs, schedule: bool = True) -> list[dict]:
    """The Denoise tab with an instruct model: the conversation first, then the Denoise inputs."""
    return [gr.validate(True, ""), *denoise(limits_, *inputs, schedule=schedule)]


def compare(limits_: Limits, prompt, gen_length, steps, block_length, temperature, seed, *rest,
            schedule: bool = True) -> list[dict]:
    """The comparison tab's Run both (inputs as in tabs/compare.py; later inputs are left to the view)."""
    return [*run_settings(limits_, prompt, gen_length, steps, block_length, temperature, seed, schedule=schedule),
            *[gr.validate(True, "")] * len(rest)]


def infill(limits_: Limits, text, temperature, seed, show_guesses) -> list[dict]:
    return [verdict(lambda: limits.text(text, "text", limits_.max_prompt_chars, views.EMPTY_INFILL)),
            verdict(lambda: limits.number(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE)),
            verdict(lambda: limits.seed(seed)), gr.validate(True, "")]


def training(limits_: Limits, text, t, seed, sft) -> list[dict]:
    """The Training tab's Draw, as `views.checked_training` checks it."""
    return [verdict(lambda: limits.text(text, "sentence", limits_.max_prompt_chars, views.EMPTY_SENTENCE)),
            verdict(lambda: limits.number(t, "mask ratio t", *views.MASK_RATIO)),
            verdict(lambda: limits.seed(seed)), gr.validate(True, "")]


def reversal_pick(index) -> list[dict]:
    """The Reversal tab's ask buttons: an item must be picked (the dropdown can be cleared)."""
    return [gr.validate(index is not None, PICK_FIRST if index is None else "")]


def trace_file(max_bytes: int, path, show_guesses) -> list[dict]:
    """The Denoise tab's trace upload: a file `views.read_trace` can read (size, UTF-8, schema)."""
    return [verdict(lambda: path and views.read_trace(path, max_bytes)), gr.validate(True, "")]

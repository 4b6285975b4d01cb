"""What a visitor may ask of the app, set by the operator, and the checks that hold every input to it.

`Limits` is one frozen record (flags and LLADA_DEMO_* variables in app.py fill it): the longest
generation, the most steps, the largest prompt and upload, the queue's size and how many runs of a
model may go at once. The check functions turn a raw value from the page or the API (any JSON value:
a string where a number belongs, a float, None, a lone surrogate) into a plain Python value or raise
ValueError with one sentence saying what to change. `RunFailed` is how a run that broke off midway
(the model raised, ran out of memory, returned NaN) reaches the page: one sentence, no traceback.

`check_schedule` is LLaDA's rule for how steps, length and blocks fit together (block length dividing
the length, steps per block); it lives here, torch-free, so the sampler (`schedule.check_settings`) and
the page's input validation (`web/validate.py`) apply the one rule.

What it is not: no torch, no Gradio, no model code.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, fields

# The page's own ranges: an API caller gets no more than the sliders offer.
MAX_TEMPERATURE = 2.0
MAX_CFG_SCALE = 4.0
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes at most a signed 64-bit value
REMASKING = ("low_confidence", "random", "margin", "entropy")  # the scores of engine/rules.py (rules.SCORES)
ALLOWED_CONTROLS = "\t\n\r"


class RunFailed(RuntimeError):
    """A run that broke off after it started (the model raised, ran out of memory, returned NaN); its
    message is one sentence for the page."""


@dataclass(frozen=True)
class Limits:
    """Operator limits, with defaults safe for a public Space on the tiny pair.

    max_gen_length:    longest generated region (tokens).
    max_steps:         most forward passes a run may ask for.
    max_prompt_chars:  longest prompt or infill text, in characters (checked before tokenizing).
    max_prompt_tokens: longest prompt in tokens (the model's context is checked as well).
    max_upload_bytes:  largest trace file a visitor may load (Gradio refuses larger uploads too).
    queue_size:        most requests waiting in Gradio's queue; more are turned away at once.
    concurrency:       runs of a model at once (None: 2 for the tiny pair, 1 for anything larger).
    """

    max_gen_length: int = 192
    max_steps: int = 192
    max_prompt_chars: int = 2_000
    max_prompt_tokens: int = 512
    max_upload_bytes: int = 10_000_000
    queue_size: int = 32
    concurrency: int | None = None

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name == "concurrency":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"The limit {f.name} must be a whole number of at least 1, got {value!r}.")

    def runs_at_once(self, model_name: str) -> int:
        """How many runs of `model_name` may go at once: the operator's number, else 2 for the tiny pair."""
        if self.concurrency is not None:
            return self.concurrency
        return 2 if model_name in ("tiny-llada", "tiny-ar", "random-tiny") else 1


def from_args(args) -> Limits:
    """Limits from parsed flags (attributes named as the fields; missing ones keep their defaults)."""
    return Limits(**{f.name: getattr(args, f.name) for f in fields(Limits) if getattr(args, f.name, None) is not None})


def shown(value, width: int = 40) -> str:
    """A value as a message may quote it: repr (so control characters show as escapes), cut short."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def whole(value, name: str, low: int, high: int) -> int:
    """A whole number in [low, high]; an integral float (16.0, as a slider may send) counts."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"The {name} must be a whole number from {low} to {high}, got {shown(value)}.")
    if not low <= value <= high:
        raise ValueError(f"The {name} must be from {low} to {high}, got {shown(value)}; "
                         f"use {'at most ' + str(high) if value > high else 'at least ' + str(low)}.")
    return value


def number(value, name: str, low: float, high: float) -> float:
    """A finite number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"The {name} must be a number from {low:g} to {high:g}, got {shown(value)}.")
    if not low <= value <= high:
        raise ValueError(f"The {name} must be from {low:g} to {high:g}, got {value:.4g}.")
    return float(value)


def seed(value) -> int:
    """The seed: a whole number from 0 to 2**63 - 1; an empty box (None) means 0."""
    return 0 if value is None else whole(value, "seed", 0, MAX_SEED)


def flag(value, name: str) -> bool:
    """A checkbox: true or false (None, as an API caller may leave it, is false)."""
    if value is None:
        return False
    if not isinstance(value, bool) and value not in (0, 1):
        raise ValueError(f"The {name} setting must be true or false, got {shown(value)}.")
    return bool(value)


def choice(value, name: str, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"The {name} must be one of {', '.join(options)}, got {shown(value)}.")
    return value


def text(value, name: str, max_chars: int, empty: str) -> str:
    """Text a visitor typed: a string, not too long, valid Unicode, no control characters but tab and
    newline, not blank (`empty` is the sentence for a blank one)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"The {name} must be text, got {type(value).__name__} {shown(value)}.")
    if len(value) > max_chars:
        raise ValueError(f"The {name} is {len(value):,} characters long; the limit is {max_chars:,}, so shorten it.")
    for i, ch in enumerate(value):
        if "\ud800" <= ch <= "\udfff":
            raise ValueError(f"The {name} is not valid Unicode text (a lone surrogate at character {i + 1}); "
                             "paste it again as plain text.")
        if unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROLS:
            raise ValueError(f"The {name} holds a control character (U+{ord(ch):04X}) at character {i + 1}; "
                             "remove it.")
    if not value.strip():
        raise ValueError(empty)
    return value


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of n that is <= limit (a suggestion for a block length that fits)."""
    return max(d for d in range(1, min(n, max(limit, 1)) + 1) if n % d == 0)


def check_schedule(*, steps: int, gen_length: int, block_length: int) -> None:
    """Raise ValueError with a sentence unless the steps and blocks fit the length as LLaDA's sampler needs:
    the blocks tile the generated region and every block gets the same whole number of steps, at most one
    step per token (the authors' generate.py asserts the first two: arXiv 2502.09992, Appendix B.2)."""
    for name, value in (("steps", steps), ("gen_length", gen_length), ("block_length", block_length)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}.")
        if value <= 0:
            raise ValueError(f"{name} must be at least 1, got {value}.")
    check_blocks(gen_length=gen_length, block_length=block_length)
    check_steps(steps=steps, gen_length=gen_length, block_length=block_length)


def check_blocks(*, gen_length: int, block_length: int) -> None:
    """The blocks tile the generated region (positive whole numbers, as `check_schedule` checks first)."""
    if gen_length % block_length != 0:
        raise ValueError(f"The block length ({block_length}) must divide the generation length ({gen_length}); "
                         f"try {largest_divisor_at_most(gen_length, block_length)}.")


def check_steps(*, steps: int, gen_length: int, block_length: int) -> None:
    """Every block gets the same whole number of steps, at most one per token (blocks that tile, as
    `check_blocks` checks first)."""
    num_blocks = gen_length // block_length
    if steps % num_blocks != 0:
        raise ValueError(f"The steps ({steps}) must be a multiple of the number of blocks ({num_blocks}); "
                         f"try {max(num_blocks, steps - steps % num_blocks)}.")
    if steps > gen_length:
        raise ValueError(f"More steps ({steps}) than generated tokens ({gen_length}) would leave steps with "
                         f"nothing to commit; use at most {gen_length} steps.")

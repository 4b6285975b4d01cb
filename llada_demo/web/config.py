"""What the page says about the models and offers by default: a plain record app.py fills in.

What it is not: no layout (ui.py and tabs/), no model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageConfig:
    """What the page says about the models and what it offers by default."""

    title: str = "llada-demo: watch a diffusion language model write"
    model_note: str = ""
    about: str = ""  # the "How it works" tab's model paragraph (markdown)
    examples: tuple[str, ...] = ()
    infill_examples: tuple[str, ...] = ()
    training_examples: tuple[str, ...] = ()  # whole sentences for the Training tab (a story, facts, a couplet)
    prompt: str = ""  # the Denoise prompt a first visit finds, ready to Run
    gen_length: int = 48
    steps: int = 48
    block_length: int = 48
    max_length: int = 192
    chat: bool = False  # an instruct model: the Denoise tab keeps a conversation (see chat.py)
    uniform_noise: bool = False  # a uniform-noise model (DiffusionGemma): the Denoise tab shows its settings
    versus: tuple[str, ...] = ()  # two diffusion models side by side (app.py --versus): their headings

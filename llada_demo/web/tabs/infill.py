"""The Infill tab: a text with blanks anywhere, filled by the diffusion model.

What it is not: no views (views.py), no model.
"""

from __future__ import annotations

import functools

import gradio as gr

from llada_demo.web import validate, views
from llada_demo.web.config import PageConfig
from llada_demo.web.render import canvas_html
from llada_demo.web.tabs.widgets import text_and_buttons


def build(backend: views.Backend, config: PageConfig):
    gr.Markdown("Write a text with blanks anywhere: each `___` (or `[MASK]`) is one token. The diffusion model fills "
                "them all, seeing the words on **both** sides of each blank. An autoregressive model cannot do this "
                "directly: it only continues from the left, so it never sees the words after a blank.")
    text, run, stop = text_and_buttons("Text with blanks", "infill", "Fill in",
                                        config.infill_examples[0] if config.infill_examples else "")
    if config.infill_examples:
        gr.Examples(list(config.infill_examples), inputs=[text], label="Examples")
    with gr.Row():
        temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature")
        seed = gr.Number(value=0, precision=0, label="Seed")
        show_guesses = gr.Checkbox(value=True, label="Show guesses under masks")
    canvas = gr.HTML(canvas_html(views.empty(), -1), elem_id="infill-canvas")
    status = gr.Markdown("", elem_id="infill-status")
    event = run.click(functools.partial(views.infill_frames, backend), [text, temperature, seed, show_guesses],
                      [canvas, status], api_name="infill", concurrency_id="model", preprocess=False,
                      validator=functools.partial(validate.infill, backend.limits))
    stop.click(None, None, None, cancels=[event])

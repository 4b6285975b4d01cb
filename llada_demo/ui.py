"""The page: layout and event wiring only (Gradio 6).

`build_demo(denoise, ...)` lays out the Denoise tab and wires its events to plain functions: the model
function `denoise` is passed in (it yields a growing `Trace` per forward pass, see `runs.py`), and every
view comes from the torch-free `render` module. Tests call `run_frames` and `scrub` without a browser.

What it is not: no model code, no loading, no HTML building beyond the page skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import gradio as gr

from llada_demo.render import CSS, canvas_html, status_text
from llada_demo.schedule import REMASKING, check_settings
from llada_demo.step import Trace

Denoise = Callable[..., Iterator[Trace]]


@dataclass(frozen=True)
class PageConfig:
    """What the page says about the model and what it offers by default."""

    title: str = "llada-demo: watch a diffusion language model write"
    model_note: str = ""
    examples: tuple[str, ...] = ()
    gen_length: int = 48
    steps: int = 48
    block_length: int = 48
    max_length: int = 256
    extra_css: str = field(default="", repr=False)


def empty_trace() -> Trace:
    return Trace(sampler="diffusion", prompt="", settings={}, mask_id=-1)


def run_frames(denoise: Denoise, prompt: str, gen_length, steps, block_length, remasking, temperature, cfg_scale,
               seed, show_guesses) -> Iterator[tuple[str, str, dict, Trace]]:
    """One (canvas, status, slider update, trace) per forward pass; a bad setting raises gr.Error first."""
    try:
        settings = dict(gen_length=int(gen_length), steps=int(steps), block_length=int(block_length),
                        temperature=float(temperature), cfg_scale=float(cfg_scale), remasking=str(remasking))
        check_settings(**settings)
        stream = denoise(prompt, seed=int(seed or 0), **settings)
        for trace in stream:
            i = len(trace.steps) - 1
            yield (canvas_html(trace, i, show_guesses=bool(show_guesses)), status_text(trace, i),
                   gr.update(maximum=len(trace.steps), value=len(trace.steps)), trace)
    except ValueError as err:  # the one sentence the user needs; never a traceback
        raise gr.Error(str(err), print_exception=False) from None


def scrub(trace: Trace, value, show_guesses) -> tuple[str, str]:
    """The canvas and status after `value` steps of a finished (or running) run; 0 = blank canvas."""
    if trace is None or not trace.steps:
        return canvas_html(empty_trace(), -1), "Run the model first, then scrub through its steps."
    i = int(value) - 1
    return canvas_html(trace, i, show_guesses=bool(show_guesses)), status_text(trace, i)


def build_demo(denoise: Denoise, config: PageConfig = PageConfig()) -> gr.Blocks:
    with gr.Blocks(title=config.title) as demo:
        gr.Markdown(f"# {config.title}\n{config.model_note}")
        trace = gr.State(None)
        with gr.Tab("Denoise"):
            with gr.Row(equal_height=True):
                prompt = gr.Textbox(label="Prompt", elem_id="prompt", lines=2, scale=5,
                                    placeholder="Type the start of a text and press Enter or Run")
                with gr.Column(scale=1, min_width=120):
                    run = gr.Button("Run", variant="primary", elem_id="run")
                    stop = gr.Button("Stop", variant="stop", elem_id="stop")
            if config.examples:
                gr.Examples(list(config.examples), inputs=[prompt], label="Example prompts")
            with gr.Accordion("Settings", open=False):
                with gr.Row():
                    gen_length = gr.Slider(8, config.max_length, value=config.gen_length, step=1, label="Generation length (gen_length)", elem_id="gen-length")
                    steps = gr.Slider(1, config.max_length, value=config.steps, step=1, label="Steps (forward passes)", elem_id="steps")
                    block_length = gr.Slider(1, config.max_length, value=config.block_length, step=1, label="Block length", elem_id="block-length")
                with gr.Row():
                    remasking = gr.Radio(list(REMASKING), value="low_confidence", label="Remasking")
                    temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature")
                    cfg_scale = gr.Slider(0, 4, value=0.0, step=0.1, label="CFG scale")
                    seed = gr.Number(value=0, precision=0, label="Seed")
                    show_guesses = gr.Checkbox(value=True, label="Show guesses under masks")
            canvas = gr.HTML(canvas_html(empty_trace(), -1), elem_id="canvas")
            status = gr.Markdown("Ready.", elem_id="status")
            slider = gr.Slider(0, 1, value=0, step=1, label="Step (drag to replay the run)", elem_id="step-slider")

        inputs = [prompt, gen_length, steps, block_length, remasking, temperature, cfg_scale, seed, show_guesses]

        def frames(*args):
            yield from run_frames(denoise, *args)

        run_event = run.click(frames, inputs, [canvas, status, slider, trace], api_name="denoise")
        submit_event = prompt.submit(frames, inputs, [canvas, status, slider, trace], api_name=False)
        stop.click(None, None, None, cancels=[run_event, submit_event])
        slider.input(scrub, [trace, slider, show_guesses], [canvas, status], api_name="scrub",
                     show_progress="hidden")
    return demo

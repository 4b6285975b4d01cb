"""The comparison tab: the same prompt through the diffusion and the autoregressive model, pass by pass, or
through the diffusion model under two decoding rules (A and B: each side its score, rule and knob), or
through two diffusion models (LLaDA's masking beside DiffusionGemma's uniform noise, when both are loaded).

What it is not: no views (views.py), no model.
"""

from __future__ import annotations

import functools

import gradio as gr

from llada_demo.web import validate, views
from llada_demo.web.config import PageConfig
from llada_demo.engine.limits import REMASKING
from llada_demo.web.render import canvas_html
from llada_demo.web.tabs.decoding import rule_controls
from llada_demo.web.tabs.widgets import text_and_buttons

HEADERS = {views.COMPARE_MODES[0]: ("#### Diffusion (LLaDA-style)", "#### Autoregressive (left to right)"),
           views.COMPARE_MODES[1]: ("#### Diffusion, rule A", "#### Diffusion, rule B"),
           views.COMPARE_MODES[2]: ("#### First diffusion model", "#### Second diffusion model")}


UNIFORM_RULES = {"a": "entropy bound γ (EB-sampler)", "b": "threshold τ (Fast-dLLM)"}


INTRO = ("The same prompt through both models, **one forward pass of each per frame**. The autoregressive "
         "model writes strictly left to right, one token per pass; the diffusion model commits wherever it is "
         "sure, several tokens per pass when it has fewer steps than tokens.")
INTRO_DIFFUSION = ("The same prompt through both sides, **one forward pass of each per frame**: one model under two "
                   "decoding rules, or two diffusion models. A masked model fills `[MASK]` chips and keeps what it "
                   "commits; a uniform-noise model starts from random tokens and accepts, renoises and accepts "
                   "again until its block is committed.")


def headers(config: PageConfig) -> dict:
    """The panes' headings per mode; two diffusion models are named (and their kind of noise said)."""
    if not config.versus:
        return HEADERS
    return {**HEADERS, views.COMPARE_MODES[2]: tuple(f"#### {name}" for name in config.versus)}


def offered(backend: views.Backend) -> list[str]:
    """The comparisons this page can run, in COMPARE_MODES order."""
    have = (backend.compare, backend.compare_strategies, backend.versus)
    return [m for m, function in zip(views.COMPARE_MODES, have) if function is not None]


def rules_shown(mode: str, side: str) -> bool:
    """Rule A sets the diffusion side against the AR model and the first of two strategies; rule B only the
    second strategy. Two models each run their own sampler's rule, so neither is shown."""
    return mode == views.COMPARE_MODES[1] or (side == "a" and mode == views.COMPARE_MODES[0])


def build(backend: views.Backend, config: PageConfig):
    gr.Markdown(INTRO if backend.compare else INTRO_DIFFUSION)
    prompt, run, stop = text_and_buttons("Prompt", "compare", "Run both", config.prompt)
    with gr.Row():
        gen_length = gr.Slider(4, config.max_length, value=config.gen_length, step=1, label="Generation length")
        steps = gr.Slider(1, config.max_length, value=max(1, config.steps // 2), step=1, label="Diffusion steps")
        block_length = gr.Slider(1, config.max_length, value=config.block_length, step=1, label="Diffusion block length")
        temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature")
        seed = gr.Number(value=0, precision=0, label="Seed")
    modes, titles = offered(backend), headers(config)
    mode = gr.Radio(modes, value=modes[0], label="Compare", elem_id="compare-mode")
    sides = []
    for side in ("a", "b"):
        with gr.Group(visible=rules_shown(modes[0], side)) as group:
            score = gr.Radio(list(REMASKING), value="low_confidence", label=f"Rule {side.upper()}: score",
                             elem_id=f"compare-{side}-remasking")
            # DiffusionGemma has no fixed schedule: its two rules are offered from the start.
            first = (UNIFORM_RULES[side] if config.uniform_noise else views.FIXED_RULE)
            rule, knobs = rule_controls(f"compare-{side}", f"Rule {side.upper()}: decoding rule", first)
        sides.append((group, [score, rule, *knobs]))
    with gr.Row():
        with gr.Column():
            left = gr.Markdown(titles[modes[0]][0])
            d_canvas = gr.HTML(canvas_html(views.empty(gen_length=config.gen_length), -1), elem_id="compare-diffusion")
            d_status = gr.Markdown("", elem_id="compare-diffusion-status")
        with gr.Column():
            right = gr.Markdown(titles[modes[0]][1])
            a_canvas = gr.HTML(canvas_html(views.empty("autoregressive", config.gen_length), -1), elem_id="compare-ar")
            a_status = gr.Markdown("", elem_id="compare-ar-status")
    chart = gr.Plot(label="Tokens finalised against forward passes", elem_id="compare-chart")
    event = run.click(functools.partial(views.compare_frames, backend),
                      [prompt, gen_length, steps, block_length, temperature, seed, mode, *sides[0][1],
                       *sides[1][1]],
                      [d_canvas, d_status, a_canvas, a_status, chart], api_name="compare", concurrency_id="model",
                      preprocess=False, validator=functools.partial(validate.compare, backend.limits,
                                                                    schedule=not config.uniform_noise))
    stop.click(None, None, None, cancels=[event])
    mode.change(lambda m: (*titles[m], gr.update(visible=rules_shown(m, "a")), gr.update(visible=rules_shown(m, "b"))),
                mode, [left, right, sides[0][0], sides[1][0]], api_name=False, queue=False)

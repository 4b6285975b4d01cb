"""The Reversal tab: held-out facts and couplets asked forwards, backwards and as a blank, and the test set.

What it is not: no views (views.py), no model.
"""

from __future__ import annotations

import functools

import gradio as gr

from llada_demo.web import validate, views
from llada_demo.web.render import canvas_html


def build(reversal: views.Reversal):
    fact = next((c for c in reversal.cases if c.kind == "facts"), None)
    example = (f" (\"{fact.forward_prompt} {fact.forward_answer}.\" but never "
               f"\"{fact.reverse_prompt} {fact.reverse_answer}.\")" if fact else "")
    gr.Markdown("The LLaDA paper's claim, shown live. Both models read these facts and couplets during training "
                f"**in one direction only**{example}. "
                "Asked forwards, both answer. Asked backwards, a left-to-right model fails (the *reversal curse*), "
                "although it can still tell the right sentence when shown it. A diffusion model learned to fill "
                "holes anywhere, so it can also recover the first item from the second.")
    labels = [(views.case_label(c), i) for i, c in enumerate(reversal.cases)]
    with gr.Row(equal_height=True):
        pick = gr.Dropdown(labels, value=0, label="A held-out fact or couplet", scale=4, elem_id="reversal-pick")
        forwards = gr.Button("Ask forwards", elem_id="ask-forwards")
        backwards = gr.Button("Ask backwards", variant="primary", elem_id="ask-backwards")
        infill = gr.Button("Backwards as a blank (diffusion)", elem_id="ask-infill")
    verdict = gr.Markdown("", elem_id="reversal-verdict")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Diffusion")
            d_canvas = gr.HTML(canvas_html(views.empty(), -1), elem_id="reversal-diffusion")
        with gr.Column():
            gr.Markdown("#### Autoregressive")
            a_canvas = gr.HTML(canvas_html(views.empty(), -1), elem_id="reversal-ar")
    for button, direction in ((forwards, "forwards"), (backwards, "backwards"), (infill, "infill")):
        button.click(functools.partial(views.ask_frames, reversal, direction=direction), [pick],
                     [d_canvas, a_canvas, verdict], api_name=f"ask_{direction}", concurrency_id="model",
                     preprocess=False, validator=validate.reversal_pick)
    gr.Markdown("#### The whole held-out test set")
    with gr.Row(equal_height=True):
        most = reversal.most_per_kind
        limit = gr.Slider(min(5, most), most, value=min(20, most), step=5, label="Items of each kind (facts, couplets)", scale=3,
                          elem_id="test-set-size")
        run_all = gr.Button("Run the test set", variant="primary", elem_id="run-test-set")
        stop = gr.Button("Stop", variant="stop")
    progress = gr.Markdown("Below: the figures measured on the full held-out set when the models were shipped.")
    rows, chart = views.measured_views(reversal.measured)
    table = gr.Dataframe(rows, headers=["kind", "model and method", "N", "forward", "reverse", "chance"],
                         interactive=False, elem_id="reversal-table")
    bars = gr.Plot(chart, label="Forward and reverse accuracy", elem_id="reversal-chart")
    event = run_all.click(functools.partial(views.test_set_frames, reversal), [limit], [table, bars, progress],
                          api_name="reversal_test_set", concurrency_id="model", preprocess=False)
    stop.click(None, None, None, cancels=[event])

"""The Speed vs quality tab: each decoding rule at several knob values on the tiny world's held-out sets, live,
plotted as accuracy against forward passes per generated token (the frontier), with a CSV of the table.

What it is not: no views (web/frontier.py), no model (backend.frontier runs tinyworld/strategies.py).
"""

from __future__ import annotations

import functools

import gradio as gr

from llada_demo.web import frontier, views


def build(backend: views.Backend):
    gr.Markdown("How much does decoding faster cost? Each rule below decodes the tiny world's **held-out** "
                "questions greedily: facts forwards (\"Zox's mother is …\") and as a blank (\"___'s mother is "
                "Linin.\"), couplets (line 2 from line 1) and story continuations (the share of complete sentences "
                "the world's grammar accepts). Each point is one rule at one knob value: how many forward passes it "
                "spent per generated token (left is faster) against how many it got right (up is better). The "
                "fixed schedule at one token per pass is always measured first, as the reference; the "
                "autoregressive twin spends exactly one pass per token. A few items per set answer in well under a "
                "minute; the README's table comes from `python -m llada_demo.tinyworld.strategies` on all of them.")
    with gr.Row(equal_height=True):
        families = gr.CheckboxGroup(list(frontier.FAMILIES), value=list(frontier.DEFAULT_FAMILIES),
                                    label="Rules to measure", elem_id="frontier-rules", scale=4)
        items = gr.Slider(1, frontier.MAX_ITEMS, value=2, step=1, label="Items per set", elem_id="frontier-items",
                          scale=2)
        with gr.Column(scale=1, min_width=140):
            run = gr.Button("Measure", variant="primary", elem_id="frontier-run")
            stop = gr.Button("Stop", variant="stop", elem_id="frontier-stop")
    progress = gr.HTML(frontier.progress_html(0, 1), elem_id="frontier-progress")
    task = gr.Radio([frontier.MEAN, *frontier.TASKS], value=frontier.MEAN, label="Accuracy on",
                    elem_id="frontier-task")
    chart = gr.Plot(frontier.frontier_figure([]), label="Speed vs quality", elem_id="frontier-chart")
    table = gr.Dataframe([], headers=frontier.TABLE_HEADERS, interactive=False, elem_id="frontier-table")
    csv_file = gr.File(label="The table as CSV", interactive=False, elem_id="frontier-csv")
    rows = gr.State([])
    event = run.click(functools.partial(frontier.frontier_frames, backend), [families, items, task],
                      [progress, chart, table, csv_file, rows], api_name="speed_vs_quality", concurrency_id="model",
                      preprocess=False)
    stop.click(None, None, None, cancels=[event])
    task.change(frontier.redraw, [rows, task], [chart], api_name=False)

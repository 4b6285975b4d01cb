"""Controls more than one tab lays out the same way.

What it is not: no events, no views.
"""

from __future__ import annotations

import gradio as gr


def text_and_buttons(label: str, prefix: str, run_label: str, value: str):
    """A text box with Run and Stop beside it (elem_ids PREFIX-text, PREFIX-run, PREFIX-stop)."""
    with gr.Row(equal_height=True):
        text = gr.Textbox(label=label, elem_id=f"{prefix}-text", lines=2, scale=5, value=value)
        with gr.Column(scale=1, min_width=140):
            run = gr.Button(run_label, variant="primary", elem_id=f"{prefix}-run")
            stop = gr.Button("Stop", variant="stop", elem_id=f"{prefix}-stop")
    return text, run, stop

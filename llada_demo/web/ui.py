"""The page: the tabs of ../shared/UX.md put together (Gradio 6).

`build_demo(backend, config)` lays out one `gr.Tab` per module of `tabs/`; each wires its controls to plain
functions in `views.py`; the model functions come in through `backend` (see `views.Backend`). Nothing
here computes a view or touches a model.
"""

from __future__ import annotations

import functools
from typing import Callable

import gradio as gr

from llada_demo.web import views
from llada_demo.web.config import PageConfig
from llada_demo.web.tabs import compare, denoise, how, infill, training
from llada_demo.web.tabs import reversal as reversal_tab
from llada_demo.web.tabs import frontier as frontier_tab

__all__ = ["PageConfig", "build_demo"]


def build_demo(backend: views.Backend, config: PageConfig = PageConfig(), reversal: views.Reversal | None = None,
               live_note: Callable[[], tuple[str, str, bool]] | None = None) -> gr.Blocks:
    """The whole page; the Reversal tab appears when its functions are given (the tiny world's pair).

    live_note: while the models load behind the served page (app.py), () -> (header note, "Running now"
    paragraph, ready); the page asks it on every visit and every second until ready.
    """
    with gr.Blocks(title=config.title) as demo:
        header = gr.Markdown(f"# {config.title}\n{config.model_note}", elem_id="model-note")
        with gr.Tab("Denoise", elem_id="tab-denoise"):
            denoise.build(backend, config)
        if backend.compare is not None or backend.compare_strategies is not None or backend.versus is not None:
            with gr.Tab("Diffusion vs autoregressive" if backend.compare else "Compare", elem_id="tab-compare"):
                compare.build(backend, config)
        if reversal is not None:
            with gr.Tab("Reversal", elem_id="tab-reversal"):
                reversal_tab.build(reversal)
        if backend.infill is not None:
            with gr.Tab("Infill", elem_id="tab-infill"):
                infill.build(backend, config)
        if backend.objective is not None:
            with gr.Tab("Training", elem_id="tab-training"):
                training.build(backend, config)
        if backend.frontier is not None:
            with gr.Tab("Speed vs quality", elem_id="tab-frontier"):
                frontier_tab.build(backend)
        with gr.Tab("How it works", elem_id="tab-how"):
            gr.Markdown(how.HOW_IT_WORKS + "\n" + config.about)
            running = gr.Markdown("", elem_id="running-now")
        if live_note is not None:
            timer = gr.Timer(1.0)
            refresh = functools.partial(views.loading_views, config.title, live_note)
            for event in (demo.load, timer.tick):
                event(refresh, None, [header, running, timer], api_name=False, show_progress="hidden",
                      queue=False)
    return demo

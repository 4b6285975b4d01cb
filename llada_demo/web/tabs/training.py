"""The Training tab: LLaDA's training objective on one sentence, one mask draw at a time.

A sentence (a tiny-world example or typed), the mask ratio t, a seed and the SFT switch; "Draw" hides
tokens as pre-training (or SFT) does and shows the model's guess at every hidden position, the losses
beside the autoregressive twin's, and the expected loss against t.

What it is not: no views (views.training_views, training_view.py), no model.
"""

from __future__ import annotations

import functools

import gradio as gr

from llada_demo.web import training_view, validate, views
from llada_demo.web.config import PageConfig


def build(backend: views.Backend, config: PageConfig):
    gr.Markdown("How the model was **trained**, shown on one sentence. Pre-training draws a mask ratio *t*, hides "
                "each token independently with probability *t*, and asks the model to guess **every** hidden token "
                "at once, in one forward pass; the loss counts only the hidden tokens, weighted by 1/*t* "
                "(LLaDA, Eq. 3). Supervised fine-tuning (the **SFT** switch) keeps the prompt visible and hides "
                "only the answer (Eq. 5).")
    examples = list(config.training_examples)
    with gr.Row(equal_height=True):
        text = gr.Textbox(label="Sentence", value=examples[0] if examples else "", lines=2, scale=5,
                          elem_id="training-text", placeholder="Type a sentence, or pick an example below")
        with gr.Column(scale=1, min_width=140):
            draw = gr.Button("Draw", variant="primary", elem_id="training-draw")
    if examples:
        gr.Examples(examples, inputs=[text], label="Sentences from the tiny world (a story, facts, a couplet)")
    with gr.Row():
        t = gr.Slider(*views.MASK_RATIO, value=0.5, step=0.05, label="Mask ratio t (chance each token is hidden)",
                      elem_id="training-t")
        seed = gr.Number(value=0, precision=0, label="Seed (which tokens the draw hides)", elem_id="training-seed")
        sft = gr.Checkbox(value=False, label="SFT: keep the prompt visible, hide only the answer",
                          elem_id="training-sft")
    gr.Markdown(training_view.SPLIT_RULE, elem_id="training-split-rule")
    chips = gr.HTML("", elem_id="training-chips")
    summary = gr.Markdown("Press **Draw** to hide tokens and see what the model guesses.", elem_id="training-summary")
    curve = gr.Plot(label="Expected loss against the mask ratio t (the mean of several draws at each t)", elem_id="training-curve")
    gr.on([draw.click, text.submit], functools.partial(views.training_views, backend), [text, t, seed, sft],
          [chips, summary, curve], api_name="training_draw", concurrency_id="model", preprocess=False,
          validator=functools.partial(validate.training, backend.limits))

"""The decoding-rule control the Denoise and Compare tabs share: the rule, and its one knob shown only where
it applies (threshold τ for Fast-dLLM, entropy bound γ for the EB-sampler, tokens per loop pass for ReMDM).

What it is not: no views (views.decoding_rule checks the values), no model.
"""

from __future__ import annotations

import gradio as gr

from llada_demo.web import views

KEYS = ("threshold", "entropy_bound", "remdm_number")  # the knobs, in the order the views take them


def rule_controls(prefix: str, label: str = "Decoding rule", value: str = views.FIXED_RULE):
    """(rule radio, [threshold, entropy_bound, remdm_number]) in one row; a knob is visible only under its
    rule (the radio's .change toggles `visible`). elem_ids: PREFIX-rule, PREFIX-threshold, ... ('' = none).
    value: the rule picked at first (LLaDA's fixed schedule unless the model has none)."""
    p = f"{prefix}-" if prefix else ""
    shown = views.DECODING_RULES[value]
    with gr.Row():
        rule = gr.Radio(list(views.DECODING_RULES), value=value, label=label, elem_id=f"{p}rule")
        low, high = views.KNOB_RANGES["threshold"]
        threshold = gr.Slider(low, high, value=0.9, step=0.05, label="Threshold τ: commit every guess at least this sure",
                              visible=shown == "threshold", elem_id=f"{p}threshold")
        entropy_bound = gr.Slider(0.01, 5.0, value=0.5, step=0.01, visible=shown == "entropy_bound",
                                  elem_id=f"{p}entropy-bound",
                                  label="Entropy bound γ: commit while the summed entropy minus the largest stays below")
        remdm_number = gr.Slider(1, 8, value=1, step=1, visible=shown == "remdm_number", elem_id=f"{p}remdm-number",
                                 label="ReMDM: committed tokens remasked per loop pass")
    knobs = [threshold, entropy_bound, remdm_number]
    rule.change(lambda r: [gr.update(visible=views.DECODING_RULES.get(r) == k) for k in KEYS], rule, knobs,
                api_name=False,
                queue=False)
    return rule, knobs

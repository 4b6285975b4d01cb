"""The Denoise tab's DiffusionGemma settings: an accordion of its own, shown when the model diffuses by uniform noise.

DiffusionGemma (engine/diffusiongemma.py) runs diffusers' `DiffusionGemmaPipeline`, whose knobs are not LLaDA's:
the decoding rule (the checkpoint's entropy bound, or block refinement), the entropy bound, the temperature
schedule's ends (t_max on the first step, t_min on the last) and adaptive stopping (a block ends once its argmax
has been stable for `stability` steps and its mean entropy is below `confidence`; 0 turns stopping off). The
defaults are transformers' own (`DiffusionGemmaGenerationConfig`: bound 0.1, t 0.8 -> 0.4, 1 step, 0.005 nats).
`frames` hands them to the model as `runs.denoise`'s `entropy_bound` and `uniform` settings; the engine checks
them and answers a bad one with a sentence. "Steps" on the page are the most denoising steps per block.

What it is not: no model, no checks of its own (engine/diffusiongemma.check_settings), no other tab's controls.
"""

from __future__ import annotations

import dataclasses
import functools

import gradio as gr

from llada_demo.web import chat, views

RULES = ("entropy_bound", "block_refinement")  # engine/diffusiongemma.RULES (the web side imports no torch)
DEFAULTS = dict(entropy_bound=0.1, t_max=0.8, t_min=0.4, stability_threshold=1, confidence_threshold=0.005)
KEYS = ("rule", *DEFAULTS)


def controls() -> list:
    """The accordion's inputs, in KEYS order (elem_ids uniform-rule, uniform-entropy-bound, ...)."""
    with gr.Accordion("DiffusionGemma: rule, temperature, stopping", open=False, elem_id="uniform-settings"):
        with gr.Row():
            rule = gr.Radio(list(RULES), value="entropy_bound", label="Decoding rule (diffusers' scheduler)",
                            elem_id="uniform-rule")
            bound = gr.Slider(0.01, 20.0, value=DEFAULTS["entropy_bound"], step=0.01, elem_id="uniform-entropy-bound",
                              label="Entropy bound: accept while the summed entropy minus the largest stays below")
        with gr.Row():
            t_max = gr.Slider(0.05, 2.0, value=DEFAULTS["t_max"], step=0.05, label="Temperature at the first step",
                              elem_id="uniform-t-max")
            t_min = gr.Slider(0.05, 2.0, value=DEFAULTS["t_min"], step=0.05, label="Temperature at the last step",
                              elem_id="uniform-t-min")
            stability = gr.Slider(0, 8, value=DEFAULTS["stability_threshold"], step=1, elem_id="uniform-stability",
                                  label="Stop a block once its argmax is stable for this many steps…")
            confidence = gr.Number(value=DEFAULTS["confidence_threshold"], elem_id="uniform-confidence",
                                   label="…and its mean entropy is below (nats; 0 = never stop early)")
    return [rule, bound, t_max, t_min, stability, confidence]


def _with_settings(denoise, settings: dict):
    """`denoise` with the accordion's settings: its entropy bound is DiffusionGemma's own (it replaces the LLaDA
    decoding rule's knob), the rest go in `uniform`."""
    uniform = {k: v for k, v in settings.items() if k != "entropy_bound"}
    if not uniform["confidence_threshold"]:
        uniform["confidence_threshold"] = None  # 0 or an empty box: every block runs all its steps

    def run(prompt, **kwargs):
        kwargs.pop("entropy_bound", None)
        return denoise(prompt, entropy_bound=settings["entropy_bound"], uniform=uniform, **kwargs)
    return run


def frames(backend: views.Backend, chat_mode: bool, *args):
    """The Denoise tab's frames (`views.paced_frames` over `views.denoise_frames` or `chat.chat_frames`, the
    tab's own composition) with the accordion's settings, which come last in `args`."""
    *rest, rule, bound, t_max, t_min, stability, confidence = args
    settings = dict(rule=rule, entropy_bound=bound, t_max=t_max, t_min=t_min, stability_threshold=stability,
                    confidence_threshold=confidence)
    if isinstance(stability, float) and stability.is_integer():  # a slider may send 1.0
        settings["stability_threshold"] = int(stability)
    configured = dataclasses.replace(backend, denoise=_with_settings(backend.denoise, settings))
    inner = functools.partial(chat.chat_frames if chat_mode else views.denoise_frames, configured)
    yield from views.paced_frames(inner, *rest)

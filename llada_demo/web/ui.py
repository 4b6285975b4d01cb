"""The page: layout and event wiring only (Gradio 6).

`build_demo(backend, config)` lays out the tabs of ../shared/UX.md and wires each control to a plain
function in `views.py`; the model functions come in through `backend` (see `views.Backend`). Nothing
here computes a view or touches a model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from llada_demo.web import chat, views
from llada_demo.web.render import canvas_html
from llada_demo.engine.limits import REMASKING


@dataclass(frozen=True)
class PageConfig:
    """What the page says about the models and what it offers by default."""

    title: str = "llada-demo: watch a diffusion language model write"
    model_note: str = ""
    about: str = ""  # the "How it works" tab's model paragraph (markdown)
    examples: tuple[str, ...] = ()
    infill_examples: tuple[str, ...] = ()
    gen_length: int = 48
    steps: int = 48
    block_length: int = 48
    max_length: int = 192
    chat: bool = False  # an instruct model: the Denoise tab keeps a conversation (see chat.py)


HOW_IT_WORKS = """
### What you are watching

A **diffusion language model** such as LLaDA (Nie et al. 2025) does not write left to right. Its answer
starts as a row of `[MASK]` tokens. At every **step** the model looks at the whole canvas at once (its
attention has no causal mask) and guesses a token for *every* masked position. The guesses it is most
sure of are **committed**; all the others are **remasked** and guessed again at the next step, now with
more of the text visible. With as many steps as tokens, one token is committed per forward pass; with
fewer steps, several at once, which is faster but riskier.

**One step:** forward pass over the canvas → a guess and a probability at every masked position → keep the
*k* most confident (k from the schedule) → remask the rest.

**Training.** Pre-training hides a random fraction *t* of the tokens of a text, with *t* drawn uniformly
between 0 and 1, and teaches the model to recover them (the loss counts only hidden tokens, weighted by
1/*t*). Fine-tuning hides only the answer, never the prompt. Because it learns to fill holes anywhere,
the same model can fill blanks in the middle of a text (the Infill tab) and can answer "backwards"
questions where left-to-right models fail (the Reversal tab).

**Blocks.** With a block length shorter than the generation length, the canvas is filled block by block,
left to right, and the model only commits inside the current block (semi-autoregressive decoding). A
block length of 1 with one step per token is exactly left-to-right decoding.

**Remasking.** *low_confidence* keeps the guesses with the highest probability; *random* keeps random ones
(the paper's baseline). **Temperature** > 0 samples the guesses instead of taking the most likely one.
**CFG** (classifier-free guidance) runs a second copy with the prompt masked out and pushes the answer away
from what the model would write without the prompt.

**Reading the canvas.** Grey dashed chips are still masked (the faint italic word is the model's current
guess, which may still change); a ringed chip was committed in the step shown; filled chips are coloured by
how sure the model was when it committed them (dark = unsure, yellow = sure); ∎ marks end-of-text. Hover or
focus a chip for its top-5 candidates.
"""


def _denoise_tab(backend: views.Backend, config: PageConfig):
    trace = gr.State(None)
    if config.chat:
        talk = gr.Chatbot(label="Conversation (each reply is written on the canvas below)", elem_id="conversation",
                          height=260)
        new = gr.Button("New conversation", elem_id="new-conversation", size="sm")
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(label="Message" if config.chat else "Prompt", elem_id="prompt", lines=2, scale=5,
                            placeholder="Type a message, then press Enter or Run" if config.chat
                            else "Type the start of a text, then press Enter or Run")
        with gr.Column(scale=1, min_width=140):
            run = gr.Button("Run", variant="primary", elem_id="run")
            stop = gr.Button("Stop", variant="stop", elem_id="stop")
    if config.examples:
        gr.Examples(list(config.examples), inputs=[prompt], label="Example prompts from the tiny world")
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            gen_length = gr.Slider(4, config.max_length, value=config.gen_length, step=1,
                                   label="Generation length (gen_length)", elem_id="gen-length")
            steps = gr.Slider(1, config.max_length, value=config.steps, step=1, label="Steps (forward passes)",
                              elem_id="steps")
            block_length = gr.Slider(1, config.max_length, value=config.block_length, step=1, label="Block length",
                                     elem_id="block-length")
        with gr.Row():
            remasking = gr.Radio(list(REMASKING), value="low_confidence", label="Remasking")
            temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature")
            cfg_scale = gr.Slider(0, 4, value=0.0, step=0.1, label="CFG scale")
            seed = gr.Number(value=0, precision=0, label="Seed")
        with gr.Row():
            show_guesses = gr.Checkbox(value=True, label="Show guesses under masks")
            speed = gr.Slider(1, 30, value=8, step=1, label="Playback speed (steps per second)")
    canvas = gr.HTML(canvas_html(views.empty(gen_length=config.gen_length), -1), elem_id="canvas")
    status = gr.Markdown("Ready.", elem_id="status")
    with gr.Row(equal_height=True):
        slider = gr.Slider(0, 1, value=0, step=1, label="Step (drag to replay the run)", elem_id="step-slider", scale=6)
        play = gr.Button("Play", elem_id="play", scale=1, min_width=90)
        pause = gr.Button("Pause", elem_id="pause", scale=1, min_width=90)
    with gr.Row():
        heatmap = gr.Plot(label="Confidence of the guess at each position and step", elem_id="heatmap")
        order = gr.Plot(label="Decode order", elem_id="decode-order")
    with gr.Row():
        masks = gr.Plot(label="Masks left", elem_id="masks-left")
        entropy = gr.Plot(label="Mean entropy", elem_id="entropy")
    with gr.Accordion("Export and import", open=False):
        with gr.Row():
            as_json = gr.Button("Export JSON")
            as_html = gr.Button("Export HTML replay")
            as_gif = gr.Button("Export GIF")
        exported = gr.File(label="Exported file", elem_id="exported", interactive=False)
        imported = gr.File(label="Load a JSON trace to replay it (no model needed)", file_types=[".json"],
                           elem_id="import")

    # The model events take raw inputs (preprocess=False): views check every value against the operator's
    # limits and answer a bad one with a sentence, where Gradio's own checks would hide it behind an error.
    frames = functools.partial(views.denoise_frames, backend)
    inputs = [prompt, gen_length, steps, block_length, remasking, temperature, cfg_scale, seed, show_guesses]
    outputs = [canvas, status, slider, trace, heatmap, order, masks, entropy]
    if config.chat:  # the message joins the conversation; the canvas animates the reply
        frames = functools.partial(chat.chat_frames, backend)
        inputs, outputs = [talk, *inputs], [*outputs, talk]
        new.click(lambda: ([], ""), None, [talk, prompt], api_name="new_conversation")
    run_event = run.click(frames, inputs, outputs, api_name="denoise", concurrency_id="model", preprocess=False)
    submit_event = prompt.submit(frames, inputs, outputs, api_name=False, concurrency_id="model", preprocess=False)
    if config.chat:
        for event in (run_event, submit_event):
            event.success(lambda: "", None, prompt, api_name=False)
    stop.click(None, None, None, cancels=[run_event, submit_event])
    slider.input(views.scrub, [trace, slider, show_guesses], [canvas, status], api_name="scrub", show_progress="hidden")
    play_event = play.click(views.play, [trace, slider, speed, show_guesses], [canvas, status, slider], api_name="play",
                            show_progress="hidden")
    pause.click(None, None, None, cancels=[play_event])
    for button, kind in ((as_json, "json"), (as_html, "html"), (as_gif, "gif")):
        button.click(functools.partial(views.export_file, kind=kind), [trace], [exported], api_name=f"export_{kind}")
    imported.upload(functools.partial(views.load_trace, max_bytes=backend.limits.max_upload_bytes),
                    [imported, show_guesses], outputs, api_name="load_trace")


def _text_and_buttons(label: str, prefix: str, run_label: str, value: str):
    """A text box with Run and Stop beside it (elem_ids PREFIX-text, PREFIX-run, PREFIX-stop)."""
    with gr.Row(equal_height=True):
        text = gr.Textbox(label=label, elem_id=f"{prefix}-text", lines=2, scale=5, value=value)
        with gr.Column(scale=1, min_width=140):
            run = gr.Button(run_label, variant="primary", elem_id=f"{prefix}-run")
            stop = gr.Button("Stop", variant="stop", elem_id=f"{prefix}-stop")
    return text, run, stop


def _compare_tab(backend: views.Backend, config: PageConfig):
    gr.Markdown("The same prompt through both models, **one forward pass of each per frame**. The autoregressive "
                "model writes strictly left to right, one token per pass; the diffusion model commits wherever it is "
                "sure, several tokens per pass when it has fewer steps than tokens.")
    prompt, run, stop = _text_and_buttons("Prompt", "compare", "Run both", config.examples[0] if config.examples else "")
    with gr.Row():
        gen_length = gr.Slider(4, config.max_length, value=config.gen_length, step=1, label="Generation length")
        steps = gr.Slider(1, config.max_length, value=max(1, config.steps // 2), step=1, label="Diffusion steps")
        block_length = gr.Slider(1, config.max_length, value=config.block_length, step=1, label="Diffusion block length")
        temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature")
        seed = gr.Number(value=0, precision=0, label="Seed")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Diffusion (LLaDA-style)")
            d_canvas = gr.HTML(canvas_html(views.empty(gen_length=config.gen_length), -1), elem_id="compare-diffusion")
            d_status = gr.Markdown("", elem_id="compare-diffusion-status")
        with gr.Column():
            gr.Markdown("#### Autoregressive (left to right)")
            a_canvas = gr.HTML(canvas_html(views.empty("autoregressive", config.gen_length), -1), elem_id="compare-ar")
            a_status = gr.Markdown("", elem_id="compare-ar-status")
    chart = gr.Plot(label="Tokens finalised against forward passes", elem_id="compare-chart")
    event = run.click(functools.partial(views.compare_frames, backend),
                      [prompt, gen_length, steps, block_length, temperature, seed],
                      [d_canvas, d_status, a_canvas, a_status, chart], api_name="compare", concurrency_id="model",
                      preprocess=False)
    stop.click(None, None, None, cancels=[event])


def _infill_tab(backend: views.Backend, config: PageConfig):
    gr.Markdown("Write a text with blanks anywhere: each `___` (or `[MASK]`) is one token. The diffusion model fills "
                "them all, seeing the words on **both** sides of each blank. An autoregressive model cannot do this "
                "directly: it only continues from the left, so it never sees the words after a blank.")
    text, run, stop = _text_and_buttons("Text with blanks", "infill", "Fill in",
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
                      [canvas, status], api_name="infill", concurrency_id="model", preprocess=False)
    stop.click(None, None, None, cancels=[event])


def _reversal_tab(reversal: views.Reversal):
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
                     preprocess=False)
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


def build_demo(backend: views.Backend, config: PageConfig = PageConfig(), reversal: views.Reversal | None = None,
               live_note: Callable[[], tuple[str, str, bool]] | None = None) -> gr.Blocks:
    """The whole page; the Reversal tab appears when its functions are given (the tiny world's pair).

    live_note: while the models load behind the served page (app.py), () -> (header note, "Running now"
    paragraph, ready); the page asks it on every visit and every second until ready.
    """
    with gr.Blocks(title=config.title) as demo:
        header = gr.Markdown(f"# {config.title}\n{config.model_note}", elem_id="model-note")
        with gr.Tab("Denoise", elem_id="tab-denoise"):
            _denoise_tab(backend, config)
        if backend.compare is not None:
            with gr.Tab("Diffusion vs autoregressive", elem_id="tab-compare"):
                _compare_tab(backend, config)
        if reversal is not None:
            with gr.Tab("Reversal", elem_id="tab-reversal"):
                _reversal_tab(reversal)
        if backend.infill is not None:
            with gr.Tab("Infill", elem_id="tab-infill"):
                _infill_tab(backend, config)
        with gr.Tab("How it works", elem_id="tab-how"):
            gr.Markdown(HOW_IT_WORKS + "\n" + config.about)
            running = gr.Markdown("", elem_id="running-now")
        if live_note is not None:
            timer = gr.Timer(1.0)
            refresh = functools.partial(views.loading_views, config.title, live_note)
            for event in (demo.load, timer.tick):
                event(refresh, None, [header, running, timer], api_name=False, show_progress="hidden",
                      queue=False)
    return demo

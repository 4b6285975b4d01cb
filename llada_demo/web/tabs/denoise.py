"""The Denoise tab: a prompt, the settings, the canvas, its replay, the four plots, export and import.

What it is not: no views (views.py, chat.py), no model.
"""

from __future__ import annotations

import functools

import gradio as gr

from llada_demo.engine.limits import REMASKING
from llada_demo.web import branches, chat, present, validate, views
from llada_demo.web.config import PageConfig
from llada_demo.web.render import canvas_html
from llada_demo.web.tabs import uniform
from llada_demo.web.tabs.decoding import rule_controls


def build(backend: views.Backend, config: PageConfig):
    trace = gr.State(None)
    if config.chat:
        talk = gr.Chatbot(label="Conversation (each reply is written on the canvas below)", elem_id="conversation",
                          height=260)
        new = gr.Button("New conversation", elem_id="new-conversation", size="sm")
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(label="Message" if config.chat else "Prompt", elem_id="prompt", lines=2, scale=5,
                            value="" if config.chat else config.prompt,
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
            steps = gr.Slider(1, config.max_length, value=config.steps, step=1, elem_id="steps",
                              label="Most denoising steps per block" if config.uniform_noise
                              else "Steps (forward passes)")
            # DiffusionGemma's block is its own canvas (the page's block length does not apply): hidden.
            block_length = gr.Slider(1, config.max_length, value=config.block_length, step=1, label="Block length",
                                     elem_id="block-length", visible=not config.uniform_noise)
        with gr.Row():
            # LLaDA's score and rules have no meaning without masks: DiffusionGemma's come in its accordion.
            remasking = gr.Radio(list(REMASKING), value="low_confidence", label="Remasking",
                                 visible=not config.uniform_noise)
            temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature")
            cfg_scale = gr.Slider(0, 4, value=0.0, step=0.1, label="CFG scale")
            seed = gr.Number(value=0, precision=0, label="Seed")
        with gr.Column(visible=not config.uniform_noise):
            rule, knobs = rule_controls("")
        with gr.Row():
            show_guesses = gr.Checkbox(value=True, label="Show guesses under masks", visible=not config.uniform_noise)
            speed = gr.Slider(1, 30, value=8, step=1, label="Playback speed (steps per second)")
            pace = gr.Slider(0, 30, value=0, step=1, label="Live run pace (steps per second; 0 = as fast as the model)",
                             elem_id="pace")
    uniform_inputs = uniform.controls() if config.uniform_noise else []  # DiffusionGemma's own settings
    canvas = gr.HTML(canvas_html(views.empty(gen_length=config.gen_length), -1), elem_id="canvas")
    status = gr.Markdown("Ready.", elem_id="status")
    with gr.Row(equal_height=True):
        slider = gr.Slider(0, 1, value=0, step=1, label="Step (drag to replay the run)", elem_id="step-slider", scale=6)
        play = gr.Button("Play", elem_id="play", scale=1, min_width=90)
        pause = gr.Button("Pause", elem_id="pause", scale=1, min_width=90)
    with gr.Row(equal_height=True):  # the projector view hides all but its own switch (class ld-chrome)
        gr.Markdown(present.HELP, elem_id="keys-help", elem_classes="ld-chrome")
        projector = gr.Checkbox(value=False, label="Projector view", elem_id="projector", scale=0, min_width=160)
        copy_link = gr.Button("Copy link to this run", elem_id="copy-link", size="sm", scale=0, min_width=180,
                              elem_classes="ld-chrome")
        link = gr.Textbox(label="Link to this run", elem_id="run-link", interactive=False, max_lines=1, scale=3,
                          elem_classes="ld-chrome")
    branch = gr.State(branches.MAIN)  # the line shown: -1 the main run, else a branch (Trace.branches)
    edits = gr.State([])  # [(position, token id)] waiting for "Continue from here"
    # Steering edits a canvas of masks; a model without them (DiffusionGemma) or a page without the
    # function does not offer it.
    with gr.Accordion("Steer this run by hand", open=False, elem_id="steer", visible=backend.steer is not None):
        with gr.Row(equal_height=True):
            position = gr.Number(label="Position (click a chip)", precision=0, elem_id="steer-pos", minimum=0,
                                 scale=1)
            candidate = gr.Dropdown([], label="Candidate (the chip's top 5)", elem_id="steer-candidate", scale=2)
            typed = gr.Textbox(label="…or type a token", elem_id="steer-typed", max_lines=1, scale=2)
        with gr.Row():
            force = gr.Button("Force", elem_id="steer-force", size="sm")
            remask = gr.Button("Remask", elem_id="steer-remask", size="sm")
            go = gr.Button("Continue from here", variant="primary", elem_id="steer-continue", size="sm")
        pending = gr.Markdown(branches.pending_text(None, []), elem_id="steer-edits")
        lines = gr.Radio(branches.choices(None), value=branches.MAIN, label="Branches of this run (pick one to show it)",
                         elem_id="branch-list")
        with gr.Row():
            side_a = gr.Dropdown(branches.choices(None), value=branches.MAIN, label="Compare", elem_id="compare-a")
            side_b = gr.Dropdown(branches.choices(None), value=branches.MAIN, label="with", elem_id="compare-b")
        sides = gr.HTML(branches.side_by_side(None, None, None), elem_id="branch-sides")
    with gr.Row():
        heatmap = gr.Plot(label="Entropy at each position and step" if config.uniform_noise
                          else "Confidence of the guess at each position and step", elem_id="heatmap")
        order = gr.Plot(label="Decode order", elem_id="decode-order")
    with gr.Row():
        masks = gr.Plot(label="Positions not accepted" if config.uniform_noise else "Masks left", elem_id="masks-left")
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
    inputs = [prompt, gen_length, steps, block_length, remasking, temperature, cfg_scale, seed, show_guesses, rule,
              *knobs]
    linked = [prompt, gen_length, steps, block_length, remasking, temperature, cfg_scale, seed]  # present.LINK_KEYS
    outputs = [canvas, status, slider, trace, heatmap, order, masks, entropy]
    if config.chat:  # the message joins the conversation; the canvas animates the reply
        frames = functools.partial(chat.chat_frames, backend)
        inputs, outputs = [talk, *inputs], [*outputs, talk]
        new.click(lambda: ([], ""), None, [talk, prompt], api_name="new_conversation")
    frames, inputs = functools.partial(views.paced_frames, frames), [*inputs, pace]  # pace last: see paced_frames
    if config.uniform_noise:  # the accordion's settings come after the pace (tabs/uniform.py)
        frames, inputs = functools.partial(uniform.frames, backend, config.chat), [*inputs, *uniform_inputs]
    check = functools.partial(validate.chat if config.chat else validate.denoise, backend.limits,
                              schedule=not config.uniform_noise)  # DiffusionGemma's block is its canvas
    run_event = run.click(frames, inputs, outputs, api_name="denoise", concurrency_id="model", preprocess=False,
                          validator=check)
    submit_event = prompt.submit(frames, inputs, outputs, api_name=False, concurrency_id="model", preprocess=False,
                                 validator=check)
    if config.chat:
        for event in (run_event, submit_event):
            event.success(lambda: "", None, prompt, api_name=False)
    stop.click(None, None, None, cancels=[run_event, submit_event])
    slider.input(branches.scrub, [trace, branch, slider, show_guesses], [canvas, status], api_name="scrub",
                 show_progress="hidden")
    play_event = play.click(branches.play, [trace, branch, slider, speed, show_guesses], [canvas, status, slider],
                            api_name="play", show_progress="hidden")
    pause.click(None, None, None, cancels=[play_event])
    projector.change(None, [projector], None, js=present.PROJECTOR_JS)
    # Steering (issue 17 §2): a new run or a loaded trace shows its main run and lists its branches.
    listed = lambda t: (branches.MAIN, *[gr.update(choices=branches.choices(t), value=branches.MAIN)] * 3)  # noqa: E731
    for event in (run_event, submit_event):
        event.then(listed, [trace], [branch, lines, side_a, side_b], api_name=False, show_progress="hidden")
    position.change(branches.candidates, [trace, branch, slider, position], [candidate], api_name=False,
                    show_progress="hidden")
    force.click(functools.partial(branches.add_edit, remask=False), [trace, edits, position, candidate, typed],
                [edits, pending], api_name=False)
    remask.click(lambda t, e, p: branches.add_edit(t, e, p, None, "", remask=True), [trace, edits, position],
                 [edits, pending], api_name=False)
    steer_event = go.click(functools.partial(branches.steer_frames, backend.steer),
                           [trace, branch, slider, edits, show_guesses],
                           [canvas, status, slider, trace, lines, branch, edits, pending], api_name="steer",
                           concurrency_id="model")
    steer_event.then(lambda t: [gr.update(choices=branches.choices(t))] * 2, [trace], [side_a, side_b],
                     api_name=False, show_progress="hidden")
    stop.click(None, None, None, cancels=[steer_event])
    plots = [heatmap, order, masks, entropy]
    lines.input(lambda k: k, [lines], [branch], api_name=False).then(
        branches.show_line, [trace, branch, show_guesses], [canvas, status, slider], api_name=False).then(
        branches.line_figures, [trace, branch], plots, api_name=False, show_progress="hidden")
    steer_event.then(branches.line_figures, [trace, branch], plots, api_name=False, show_progress="hidden")
    for pick in (side_a, side_b):
        pick.change(branches.side_by_side, [trace, side_a, side_b], [sides], api_name=False, show_progress="hidden")
    copy_link.click(None, linked, [link], js=present.LINK_JS)
    defaults = {key: control.value for key, control in zip(present.LINK_KEYS, linked)}  # as the page first shows

    def from_link(request: gr.Request):  # a link's settings fill the controls (present.settings_from_query)
        query = dict(request.query_params) if request is not None else {}
        if not any(k in query for k in present.LINK_KEYS):
            return [gr.skip()] * len(linked)
        settings = present.settings_from_query(query, defaults, tuple(REMASKING))
        return [settings[k] for k in present.LINK_KEYS]

    if not config.chat:
        gr.context.Context.root_block.load(from_link, None, linked, api_name=False, show_progress="hidden",
                                           queue=False)
    for button, kind in ((as_json, "json"), (as_html, "html"), (as_gif, "gif")):
        button.click(functools.partial(branches.export_line, kind=kind), [trace, branch], [exported],
                     api_name=f"export_{kind}")
    loaded = imported.upload(functools.partial(views.load_trace, max_bytes=backend.limits.max_upload_bytes),
                             [imported, show_guesses], outputs, api_name="load_trace",
                             validator=functools.partial(validate.trace_file, backend.limits.max_upload_bytes))
    # A loaded trace brings its branches (Trace.branches): list them, as after a run.
    loaded.success(listed, [trace], [branch, lines, side_a, side_b], api_name=False, show_progress="hidden")

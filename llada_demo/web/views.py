"""What each control on the page does, as plain functions: inputs in, frames out.

Every function here is called by `ui.py`'s event wiring and by the tests, without a browser. They are
torch-free: the model work arrives as iterators of `Trace`s from the backend's functions (see
`runs.py`), and every view comes from `render`, `plots` and `export`. Every input is checked against
the operator's `Limits` before a model runs (see `limits.py`); a ValueError from those checks or the
backend, and a `RunFailed` from a run that broke off, become `gr.Error` with the same one sentence,
never a traceback.

What it is not: no layout (see `ui.py`), no model code.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from html import escape
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import gradio as gr

from llada_demo.web import export, plots, render, training_view
from llada_demo.engine import limits
from llada_demo.engine.limits import REMASKING, Limits, RunFailed
from llada_demo.web.render import canvas_html, status_text
from llada_demo.engine.step import Trace

PLOT_EVERY_S = 1.5  # redraw the plots at most this often while a run streams: they cost ~0.25 s a redraw
# Between redraws a stream yields the figures it last drew (None before the first), not gr.skip(): Gradio
# sends only what changed between two yields, so an unchanged figure costs no bandwidth, whereas a
# skip on a Plot (a property update) left four Plot copies per run alive inside Gradio 6.31: +57 MB
# over 288 runs that never came back (found with bench/load_test.py --apart).
MAX_TRACE_BYTES = Limits.max_upload_bytes
EXPORTS = Path(tempfile.gettempdir()) / "llada-demo-exports"  # every file the app writes lies under here
EXPORT_KEEP_S = 3600  # exports older than this are removed when someone exports again
EMPTY_PROMPT = "The prompt is empty; type a few words for the model to continue."
EMPTY_INFILL = "The text is empty; write a sentence with ___ where the model should fill in a word."
EMPTY_SENTENCE = "The sentence is empty; pick an example or type a sentence to hide tokens in."
MASK_RATIO = (0.05, 1.0)  # the Training tab's slider: t = 0 would hide nothing (and Eq. 3 divides by t)
# The Settings' decoding rules (label -> the keyword of `diffusion.generate` its knob sets; None: LLaDA's
# fixed schedule) and the knobs' ranges on the page (tau above 1 would commit one token per pass, as fixed).
FIXED_RULE = "fixed schedule"
DECODING_RULES = {FIXED_RULE: None, "threshold τ (Fast-dLLM)": "threshold",
                  "entropy bound γ (EB-sampler)": "entropy_bound", "ReMDM remasking": "remdm_number"}
KNOB_RANGES = {"threshold": (0.05, 1.0), "entropy_bound": (0.001, 10.0)}
COMPARE_MODES = ("diffusion vs autoregressive", "two diffusion strategies", "two diffusion models")
DEFAULT_SIDE = ("low_confidence", FIXED_RULE, 0.9, 0.5, 1)  # a comparison side no one set: LLaDA's own


@dataclass(frozen=True)
class Backend:
    """The model functions the page calls; each yields Traces (None where that model is absent)."""

    denoise: Callable[..., Iterator[Trace]]
    compare: Callable[..., Iterator[tuple[Trace, Trace]]] | None = None
    infill: Callable[..., Iterator[Trace]] | None = None
    limits: Limits = Limits()
    # (families=, limit=) -> one dict per decoding rule measured on the tiny world: tinyworld/strategies.page_rows
    frontier: Callable[..., Iterator[dict]] | None = None
    # (prompt, rule_a, rule_b, steps=, ...) -> both diffusion runs in lockstep: engine/runs.compare_strategies
    compare_strategies: Callable[..., Iterator[tuple[Trace, Trace]]] | None = None
    # (prompt, answer, t=, seed=, sft=) -> (objective.MaskedGuesses, [(t, expected loss)]): engine/lesson.draw
    objective: Callable[..., tuple] | None = None
    # (trace, step index, [(position, token id)], parent=) -> Traces with a growing branch: runs.continue_from
    steer: Callable[..., Iterator[Trace]] | None = None
    # (prompt, steps=, ...) -> two diffusion models (masking and uniform noise, say) in lockstep: runs.compare_models
    versus: Callable[..., Iterator[tuple[Trace, Trace]]] | None = None


def loading_views(title: str, note: Callable[[], tuple[str, str, bool]]) -> tuple:
    """The header, the "Running now" paragraph, and the timer that asks again (stopped once the models are
    ready), while the models load behind the served page (see app.py's `Loading`)."""
    text, about, ready = note()
    return f"# {title}\n{text}", about, gr.Timer(active=not ready)


def error(err: ValueError) -> gr.Error:
    return gr.Error(str(err), print_exception=False)


def checked_run(limits_: Limits, prompt, gen_length, steps, block_length, temperature, seed) -> dict:
    """The settings every run shares, checked against the limits: plain values, or ValueError."""
    return dict(prompt=limits.text(prompt, "prompt", limits_.max_prompt_chars, EMPTY_PROMPT),
                gen_length=limits.whole(gen_length, "generation length", 1, limits_.max_gen_length),
                steps=limits.whole(steps, "number of steps", 1, limits_.max_steps),
                block_length=limits.whole(block_length, "block length", 1, limits_.max_gen_length),
                temperature=limits.number(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE),
                seed=limits.seed(seed))


def empty(sampler: str = "diffusion", gen_length: int = 0) -> Trace:
    return Trace(sampler=sampler, prompt="", settings={"gen_length": gen_length}, mask_id=-1)


def figures(trace: Trace, upto: int | None = None) -> tuple:
    return (plots.confidence_heatmap(trace, upto), plots.decode_order(trace, upto), plots.masks_left(trace, upto),
            plots.entropy_per_step(trace, upto))


def finished(trace: Trace) -> bool:
    """The run's last frame: as many steps as it was given (an AR run may stop earlier at end-of-text)."""
    if trace.settings.get("noise") == "uniform":  # DiffusionGemma: `steps` is its most; it may stop earlier,
        return len(trace.steps) >= int(trace.settings.get("steps", 0))  # and the frames then plot once more
    if trace.steps and render.stopped_at(trace, trace.steps[-1]) < len(trace.steps[-1].tokens):
        return True
    adaptive = any(trace.settings.get(k) is not None for k in ("threshold", "entropy_bound", "remdm_number"))
    if adaptive:  # a threshold, an entropy bound or ReMDM ends when no mask is left, not after `steps` passes
        return bool(trace.steps) and trace.mask_id not in trace.steps[-1].tokens
    return len(trace.steps) >= int(trace.settings.get("steps", 0))


def decoding_rule(limits_: Limits, rule, threshold=None, entropy_bound=None, remdm_number=None) -> dict:
    """The keywords of the picked decoding rule (`diffusion.generate`'s), its knob checked; the other knobs,
    hidden on the page, are ignored. ValueError with a sentence for a bad rule or knob."""
    rule = limits.choice(rule, "decoding rule", tuple(DECODING_RULES))
    key = DECODING_RULES[rule]
    if key == "threshold":
        return {"threshold": limits.number(threshold, "threshold τ", *KNOB_RANGES["threshold"])}
    if key == "entropy_bound":
        return {"entropy_bound": limits.number(entropy_bound, "entropy bound γ", *KNOB_RANGES["entropy_bound"])}
    if key == "remdm_number":
        return {"remdm_number": limits.whole(remdm_number, "number of tokens ReMDM remasks per loop pass", 1,
                                             limits_.max_gen_length)}
    return {}


def denoise_frames(backend: Backend, prompt, gen_length, steps, block_length, remasking, temperature, cfg_scale,
                   seed, show_guesses, rule=FIXED_RULE, threshold=0.9, entropy_bound=0.5,
                   remdm_number=1) -> Iterator[tuple]:
    """(canvas, status, slider, trace, 4 figures) per forward pass; figures every PLOT_EVERY_S and at the end.

    rule and its knob (threshold, entropy_bound, remdm_number): see `decoding_rule`."""
    try:
        s = checked_run(backend.limits, prompt, gen_length, steps, block_length, temperature, seed)
        cfg_scale = limits.number(cfg_scale, "CFG scale", 0.0, limits.MAX_CFG_SCALE)
        remasking = limits.choice(remasking, "remasking strategy", REMASKING)
        show_guesses = limits.flag(show_guesses, "show guesses")
        s.update(decoding_rule(backend.limits, rule, threshold, entropy_bound, remdm_number))
        stream = backend.denoise(s.pop("prompt"), cfg_scale=cfg_scale, remasking=remasking, **s)
        last_plot = time.perf_counter()  # not on the first frame: it must reach the page at once
        plotted, plotted_for, trace = (None,) * 4, None, None
        for trace in stream:
            now = time.perf_counter()
            if now - last_plot >= PLOT_EVERY_S or finished(trace):
                plotted, plotted_for, last_plot = figures(trace), trace, now
            yield frame(trace, show_guesses, plotted)
        if trace is not None and plotted_for is not trace:
            # A run that ended before `finished` could tell (DiffusionGemma's adaptive stop, a fault's last
            # frame): the last frame once more, with plots of the whole run.
            yield frame(trace, show_guesses, figures(trace))
    except (ValueError, RunFailed) as err:
        raise error(err) from None


def frame(trace: Trace, show_guesses, plotted: tuple) -> tuple:
    """The Denoise tab's outputs for a trace's last step: canvas, status, slider, trace, plots."""
    n = len(trace.steps)
    return (canvas_html(trace, n - 1, show_guesses=bool(show_guesses)), status_text(trace, n - 1),
            gr.update(maximum=n, value=n), trace, *plotted)


def paced_frames(frames: Callable[..., Iterator[tuple]], *args) -> Iterator[tuple]:
    """`frames(*args[:-1])`, at most `args[-1]` frames per second (0: as fast as the model), for a class to
    follow. The pace comes last so that the tab's validator, which reads the inputs in order, is unchanged.

    The pause is on the server, between two forward passes: Gradio sends every yield at once, so a
    client-side delay would need a queue of frames in the browser. The cost is the model's slot, held
    while the run waits (on a shared page, leave it at 0).
    """
    *args, pace = args
    try:
        pace = limits.number(pace, "live run pace", 0.0, 60.0)
    except ValueError as err:
        raise error(err) from None
    delay, last = (1.0 / pace if pace else 0.0), None
    for frame in frames(*args):
        if delay and last is not None:
            time.sleep(max(0.0, delay - (time.perf_counter() - last)))
        last = time.perf_counter()
        yield frame


def scrub(trace: Trace | None, value, show_guesses) -> tuple[str, str]:
    """Canvas and status after `value` steps (0 = the blank canvas), from the recorded run."""
    if trace is None or not trace.steps:
        return canvas_html(empty(), -1), "Run the model first, then scrub through its steps."
    try:
        i = limits.whole(value, "step", 0, len(trace.steps)) - 1
    except ValueError as err:
        raise error(err) from None
    return canvas_html(trace, i, show_guesses=bool(show_guesses)), status_text(trace, i)


def play(trace: Trace | None, value, speed, show_guesses) -> Iterator[tuple]:
    """Replay the recorded run from the slider's position at `speed` steps per second (no model runs)."""
    if trace is None or not trace.steps:
        raise gr.Error("Run the model (or load a trace) first, then press Play.", print_exception=False)
    n = len(trace.steps)
    try:
        start = limits.whole(value, "step", 0, n)
        delay = 1.0 / limits.number(speed, "playback speed", 0.5, 60)
    except ValueError as err:
        raise error(err) from None
    start = start if start < n else 0
    for k in range(start, n + 1):
        yield (canvas_html(trace, k - 1, show_guesses=bool(show_guesses)), status_text(trace, k - 1), k)
        time.sleep(delay)


def export_file(trace: Trace | None, kind: str) -> str:
    """Write the run as JSON, a self-contained HTML replay or a GIF; return the file's path."""
    if trace is None or not trace.steps:
        raise gr.Error("Run the model first; there is nothing to export yet.", print_exception=False)
    folder = export_folder()
    writer = {"json": export.write_json, "html": export.write_html, "gif": export.write_gif}[kind]
    try:
        return str(writer(trace, folder))
    except ValueError as err:
        raise error(err) from None


def export_folder(root: Path = EXPORTS, keep_s: float = EXPORT_KEEP_S) -> Path:
    """A fresh folder for one export, under the app's one export folder; older exports are removed, so
    many visitors cannot fill the disk (Gradio serves its own copy of each file)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if old.is_dir() and not old.is_symlink() and now - old.stat().st_mtime > keep_s:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another worker removed it first
            continue
    return Path(tempfile.mkdtemp(prefix="run-", dir=root))


def load_trace(path: str | None, show_guesses, max_bytes: int = MAX_TRACE_BYTES) -> tuple:
    """Load an exported JSON trace and show its last step: a replay with no model.

    The file is refused unless it is at most `max_bytes`, UTF-8, and matches the trace's schema.
    """
    if not path:
        return (gr.skip(),) * 8
    try:
        show_guesses = limits.flag(show_guesses, "show guesses")
        trace = read_trace(path, max_bytes)
    except ValueError as err:
        raise error(err) from None
    n = len(trace.steps)
    return (canvas_html(trace, n - 1, show_guesses=bool(show_guesses)), status_text(trace, n - 1),
            gr.update(maximum=max(1, n), value=n), trace, *figures(trace))


def read_trace(path: str, max_bytes: int = MAX_TRACE_BYTES) -> Trace:
    """The trace in an uploaded file, or ValueError with a sentence: at most `max_bytes`, UTF-8, the schema."""
    file = Path(path)
    if file.stat().st_size > max_bytes:
        raise ValueError(f"That file is larger than {max_bytes / 1e6:g} MB; load a trace exported by the demo.")
    try:
        return Trace.from_json(file.read_text(encoding="utf-8", errors="strict"), max_chars=max_bytes)
    except UnicodeDecodeError:
        raise ValueError("That file is not UTF-8 text; load a trace exported by the demo.") from None


def side_rule(limits_: Limits, remasking, rule, threshold, entropy_bound, remdm_number) -> dict:
    """One comparison side's decoding rule as `runs.denoise` keywords (the score and the rule's knob), checked."""
    return dict(remasking=limits.choice(remasking, "remasking strategy", REMASKING),
                **decoding_rule(limits_, rule, threshold, entropy_bound, remdm_number))


def rule_name(rule: dict) -> str:
    """A side's rule in a few words for the chart's legend: 'threshold 0.9, low_confidence'."""
    knob = next((f"{k.replace('_', ' ')} {v:g}" for k, v in rule.items() if k != "remasking"), "fixed schedule")
    return f"{knob}, {rule['remasking']}"


def compare_frames(backend: Backend, prompt, gen_length, steps, block_length, temperature, seed,
                   mode=COMPARE_MODES[0], *rules) -> Iterator[tuple]:
    """Both panes per frame, one forward pass of each side, and the tokens-per-pass chart.

    mode: diffusion vs autoregressive (the diffusion side under rule A), two diffusion strategies (A and
    B, same model and prompt), or two diffusion models (each under its own sampler's rule). rules: for A
    then B, (remasking, rule, threshold, entropy_bound, remdm_number); missing ones are LLaDA's fixed
    schedule with low_confidence."""
    try:
        mode = limits.choice(mode, "comparison", COMPARE_MODES)
        if len(rules) not in (0, 5, 10):
            raise ValueError("Give each side's rule as (remasking, rule, threshold, entropy_bound, remdm_number).")
        sides = (*rules, *DEFAULT_SIDE, *DEFAULT_SIDE)
        rule_a, rule_b = side_rule(backend.limits, *sides[:5]), side_rule(backend.limits, *sides[5:10])
        s = checked_run(backend.limits, prompt, gen_length, steps, block_length, temperature, seed)
        if mode == COMPARE_MODES[0]:
            if backend.compare is None:
                raise ValueError("No autoregressive model is loaded, so there is nothing to compare with; "
                                 "compare two diffusion strategies instead.")
            stream, names = backend.compare(s.pop("prompt"), **s, **rule_a), ("diffusion", "autoregressive")
        elif mode == COMPARE_MODES[1]:
            if backend.compare_strategies is None:
                raise ValueError("This page cannot run two strategies side by side.")
            stream = backend.compare_strategies(s.pop("prompt"), rule_a, rule_b, **s)
            names = (f"A: {rule_name(rule_a)}", f"B: {rule_name(rule_b)}")
        else:
            if backend.versus is None:
                raise ValueError("Only one diffusion model is loaded; the operator starts the app with --versus "
                                 "to put a second one beside it.")
            stream, names = backend.versus(s.pop("prompt"), **s), None  # named after the models, below
        last_plot = time.perf_counter()  # not on the first frame: it must reach the page at once
        chart, charted, pair = None, None, None
        for pair in stream:
            names = names or (pair[0].model, pair[1].model)
            now = time.perf_counter()
            if now - last_plot >= PLOT_EVERY_S or (finished(pair[0]) and finished(pair[1])):
                chart, charted, last_plot = plots.tokens_vs_passes(*pair, names), pair, now
            yield (*panes(*pair), chart)
        if pair is not None and charted is not pair:  # ended before `finished` could tell: chart the whole run
            yield (*panes(*pair), plots.tokens_vs_passes(*pair, names))
    except (ValueError, RunFailed) as err:
        raise error(err) from None


def panes(d: Trace, a: Trace) -> tuple:
    """The comparison's two canvases and statuses at each side's last step."""
    return (canvas_html(d, len(d.steps) - 1), status_text(d, len(d.steps) - 1),
            canvas_html(a, len(a.steps) - 1), status_text(a, len(a.steps) - 1))


def infill_frames(backend: Backend, text, temperature, seed, show_guesses) -> Iterator[tuple]:
    if backend.infill is None:
        raise gr.Error("No diffusion model is loaded.", print_exception=False)
    try:
        text = limits.text(text, "text", backend.limits.max_prompt_chars, EMPTY_INFILL)
        temperature = limits.number(temperature, "temperature", 0.0, limits.MAX_TEMPERATURE)
        seed, show_guesses = limits.seed(seed), limits.flag(show_guesses, "show guesses")
        for trace in backend.infill(text, temperature=temperature, seed=seed):
            n = len(trace.steps)
            yield canvas_html(trace, n - 1, show_guesses=show_guesses), status_text(trace, n - 1)
    except (ValueError, RunFailed) as err:
        raise error(err) from None


def checked_training(limits_: Limits, text, t, seed, sft) -> dict:
    """The Training tab's inputs, checked against the limits: plain values, or ValueError."""
    return dict(text=limits.text(text, "sentence", limits_.max_prompt_chars, EMPTY_SENTENCE),
                t=limits.number(t, "mask ratio t", *MASK_RATIO), seed=limits.seed(seed), sft=limits.flag(sft, "SFT"))


def training_views(backend: Backend, text, t, seed, sft) -> tuple:
    """(the masked sentence as chips, its losses in words, expected loss against t) for one mask draw."""
    if backend.objective is None:
        raise gr.Error("No diffusion model is loaded.", print_exception=False)
    try:
        s = checked_training(backend.limits, text, t, seed, sft)
        prompt, answer = training_view.split(s.pop("text"))
        record, curve = backend.objective(prompt, answer, **s)
    except (ValueError, RunFailed) as err:
        raise error(err) from None
    return (training_view.masked_html(record), training_view.summary_text(record),
            training_view.loss_curve(curve, record.ar_loss))


@dataclass(frozen=True)
class Reversal:
    """The reversal experiment's model functions, for the tiny world's held-out items.

    cases: the items (each with forward/reverse prompts and answers, see `evaluate.Case`).
    ask(case, direction) yields (diffusion Trace, AR Trace) pairs; direction is "forwards",
    "backwards" or "infill" (the forward sentence with its first item blank; diffusion only).
    score(case) -> {measure: bool} for one item. measured: the shipped report, shown before any run.
    """

    cases: tuple
    ask: Callable[..., Iterator[tuple[Trace, Trace | None]]]
    score: Callable[..., dict]
    measured: dict | None = None

    @property
    def most_per_kind(self) -> int:
        """The largest number of items of one kind (facts or couplets): a test set runs up to that many of each."""
        return max(sum(c.kind == kind for c in self.cases) for kind in ("facts", "couplets")) or 1


# The paper's reversal poem completion (arXiv 2502.09992, Table 3): forward / reversal, in percent.
PAPER_REVERSAL = (("GPT-4o", 0.827, 0.343), ("Qwen2.5-7B-Instruct", 0.759, 0.380), ("LLaDA-8B-Instruct", 0.518, 0.456))
MEASURES = (("Diffusion: generate", "diffusion_forward", "diffusion_reverse"),
            ("Diffusion: fill the blank", "diffusion_forward", "diffusion_reverse_infill"),
            ("Autoregressive: generate", "ar_forward", "ar_reverse"),
            ("Autoregressive: rank candidates", "ar_forward", "ar_reverse_ranked_first"))


def case_label(case) -> str:
    return f"{case.kind[:-1]}: {case.text_with(case.reverse_answer)}".replace("\n", " / ")


def ask_frames(reversal: Reversal, index, direction) -> Iterator[tuple]:
    """Both models answering one held-out item live; the last frame says who got it right."""
    if index is None:
        raise gr.Error("Pick a fact or a couplet first.", print_exception=False)
    try:
        case = reversal.cases[limits.whole(index, "item number", 0, len(reversal.cases) - 1)]
    except ValueError as err:
        raise error(err) from None
    answer = case.forward_answer if direction == "forwards" else case.reverse_answer
    question = {"forwards": case.forward_prompt, "backwards": case.reverse_prompt,
                "infill": case.template.replace("{}", "___")}[direction]
    d = a = None
    try:
        for d, a in reversal.ask(case, direction):
            yield (canvas_html(d, len(d.steps) - 1), canvas_html(a, len(a.steps) - 1) if a else canvas_html(empty(), -1),
                   f"**Question:** `{question.strip()}` · expected answer: **{answer}**")
    except (ValueError, RunFailed) as err:
        raise error(err) from None
    verdicts = []
    for name, trace in (("Diffusion", d), ("Autoregressive", a)):
        if trace is not None:
            said = answer_of(trace, direction, case)
            # In words, not ✅/❌: those need a colour-emoji font, which many machines lack (a box then).
            verdicts.append(f"{name}: “{escape(said.strip())}” ({'right' if case.correct(said, answer) else 'wrong'})")
    yield (gr.skip(), gr.skip(), f"**Question:** `{question.strip()}` · expected: **{answer}** · " + " · ".join(verdicts))


def answer_of(trace: Trace, direction: str, case) -> str:
    """The text the model wrote for the question: the generated region up to end-of-text."""
    eos = set(trace.special_ids.get("eos", ()))
    last = trace.steps[-1]
    ids = list(last.tokens)
    if direction == "infill":
        ids = [t for t, given in zip(ids, _given(trace)) if not given]
    text = []
    for i in ids:
        if i in eos:
            break
        text.append(trace.token_text.get(i, ""))
    return "".join(text).strip()


def _given(trace: Trace) -> list[bool]:
    written = {p for s in trace.steps for p in s.committed}
    return [p not in written for p in range(len(trace.steps[-1].tokens))]


def test_set_frames(reversal: Reversal, limit) -> Iterator[tuple]:
    """Score the held-out items one by one; the table and the chart fill in as it goes."""
    try:
        limit = limits.whole(limit, "number of items", 1, reversal.most_per_kind)
    except ValueError as err:
        raise error(err) from None
    cases = [c for kind in ("facts", "couplets") for c in [c for c in reversal.cases if c.kind == kind][:limit]]
    totals: dict = {}
    for done, case in enumerate(cases, 1):
        try:
            scored = reversal.score(case)
        except Exception as err:  # noqa: BLE001 - a model fault ends this test-set run only, with a sentence
            logging.getLogger(__name__).exception("scoring held-out item %d failed", done)
            raise error(RunFailed(f"Scoring item {done} of {len(cases)} failed ({type(err).__name__}), so the test "
                                  "set stopped there; run it again.")) from None
        for key, ok in scored.items():
            n, right = totals.get((case.kind, key), (0, 0))
            totals[(case.kind, key)] = (n + 1, right + ok)
        if done % 5 == 0 or done == len(cases):
            yield (*score_views(totals, {c.kind: 1 / len(c.candidates) for c in cases}),
                   f"Scored {done} / {len(cases)} items.")


def score_views(totals: dict, chance: dict) -> tuple:
    """(table rows, bar chart) from {(kind, measure): (n, correct)}."""
    rows, bars = [], []
    for kind in ("facts", "couplets"):
        for label, fwd, rev in MEASURES:
            if (kind, rev) not in totals:
                continue
            (nf, cf), (nr, cr) = totals[(kind, fwd)], totals[(kind, rev)]
            rows.append([kind, label, nr, f"{cf / nf:.0%}", f"{cr / nr:.0%}", f"{chance[kind]:.1%}"])
            bars.append((f"{label} ({kind})", cf / nf, cr / nr))
    mean_chance = sum(chance.values()) / max(1, len(chance))
    return rows, plots.reversal_bars(bars, mean_chance, list(PAPER_REVERSAL))


def measured_views(report: dict | None) -> tuple:
    """The shipped evaluation's table and chart, shown before anyone runs the test set."""
    if not report:
        return [], None
    totals, chance = {}, {}
    for kind, measures in report["reversal"].items():
        for key, entry in measures.items():
            totals[(kind, key)] = (entry["n"], entry["correct"])
            chance[kind] = entry["chance"]
    return score_views(totals, chance)

"""The branches of a run on the page (issue 17 §2), as plain functions: which line is shown, the picked
chip's candidates, the list of branches, and two branches side by side.

A branch is made by `runs.continue_from` (engine) and kept in `Trace.branches`; here a branch is only
read. What it is not: no model, no layout (tabs/denoise.py wires these).
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Callable, Iterator

import gradio as gr

from llada_demo.engine import limits
from llada_demo.engine.limits import RunFailed
from llada_demo.engine.step import Trace
from llada_demo.web import views
from llada_demo.web.render import canvas_html, status_text

MAIN = -1  # the main run's line


def shown(trace: Trace, branch) -> Trace:
    """The trace a viewer replays for `branch`: that line's steps (the main run for -1 or a stale index)."""
    k = int(branch) if branch is not None else MAIN
    if not -1 <= k < len(trace.branches) or k == MAIN:
        return trace
    line = trace.line(k)
    return dataclasses.replace(trace, steps=line, settings={**trace.settings, "steps": len(line)})


def scrub(trace: Trace | None, branch, value, show_guesses) -> tuple[str, str]:
    return views.scrub(shown(trace, branch) if trace is not None else None, value, show_guesses)


def play(trace: Trace | None, branch, value, speed, show_guesses) -> Iterator[tuple]:
    yield from views.play(shown(trace, branch) if trace is not None else None, value, speed, show_guesses)


def label(trace: Trace, k: int) -> str:
    """How the list names line k: where it left its parent and what was edited."""
    if k == MAIN:
        return "main run"
    b = trace.branches[k]
    text = lambda i: "[MASK]" if i == trace.mask_id else trace.token_text.get(i, f"#{i}")  # noqa: E731
    edits = ", ".join(f"remask {e.position}" if e.token == trace.mask_id else f"{e.position}→{text(e.token)!r}"
                      for e in b.edits)
    parent = "main run" if b.parent == MAIN else f"branch {b.parent + 1}"
    return f"branch {k + 1}: {parent} at step {b.at_step + 1}, {edits}"


def choices(trace: Trace | None) -> list[tuple[str, int]]:
    """(label, line index) for every line of the run, the main run first."""
    if trace is None or not trace.steps:
        return [("main run", MAIN)]
    return [(label(trace, k), k) for k in range(-1, len(trace.branches))]


def candidates(trace: Trace | None, branch, value, position) -> dict:
    """The picked chip's top-5 at the step shown (or, where it was not masked then, at the step it was
    committed in that line) as dropdown choices of (text and probability, token id)."""
    if trace is None or not trace.steps or position is None:
        return gr.update(choices=[], value=None)
    steps = shown(trace, branch).steps
    pos = int(position)
    upto = max(0, min(int(value or 0), len(steps)))
    rows = [s for s in steps[:max(upto, 1)] if s.top_ids and pos < len(s.top_ids) and s.top_ids[pos]]
    if not rows:
        return gr.update(choices=[], value=None)
    step = rows[-1]
    options = [(f"{trace.token_text.get(i, f'#{i}')} ({p:.0%})", i) for i, p in zip(step.top_ids[pos], step.top_probs[pos])]
    return gr.update(choices=options, value=options[0][1])


def typed_id(trace: Trace, text: str) -> int:
    """A typed token: one whose display text (spaces aside) is `text` among the tokens this run has shown."""
    wanted = (text or "").strip()
    for i, t in sorted(trace.token_text.items()):
        if t.strip() == wanted and i != trace.mask_id and wanted:
            return i
    raise ValueError(f"No token shown in this run reads {wanted[:40]!r}; pick one of the chip's candidates instead.")


def add_edit(trace: Trace | None, edits: list | None, position, token, typed: str, remask: bool) -> tuple:
    """The pending edits with one more (position, token id): the candidate, else the typed token, or a remask."""
    if trace is None or not trace.steps:
        raise gr.Error("Run the model first, then pick a chip to steer.", print_exception=False)
    try:
        pos = limits.whole(position, "position", 0, len(trace.steps[0].tokens) - 1)
        if remask:
            tid = trace.mask_id
        elif typed and typed.strip():
            tid = typed_id(trace, typed)
        elif token is not None:
            tid = int(token)
        else:
            raise ValueError("Pick a candidate or type a token to force, or press Remask.")
    except ValueError as err:
        raise views.error(err) from None
    edits = [e for e in (edits or []) if e[0] != pos] + [(pos, tid)]
    return edits, pending_text(trace, edits)


def pending_text(trace: Trace | None, edits: list | None) -> str:
    if not edits:
        return "No edits yet: pick a chip (click it, or type its position), then Force or Remask."
    text = lambda i: "[MASK]" if i == trace.mask_id else trace.token_text.get(i, f"#{i}")  # noqa: E731
    return "Edits to apply: " + ", ".join(f"position {p} → {escape(text(t))}" for p, t in edits)


def steer_frames(steer: Callable[..., Iterator[Trace]] | None, trace: Trace | None, branch, value, edits,
                 show_guesses) -> Iterator[tuple]:
    """Continue from the step shown with the pending edits: (canvas, status, slider, trace, branch list,
    branch shown, pending edits, edits text) per pass of the new branch, which is then the one shown."""
    if steer is None:
        raise gr.Error("This model cannot be steered by hand.", print_exception=False)
    if trace is None or not trace.steps:
        raise gr.Error("Run the model first, then steer it.", print_exception=False)
    parent = int(branch) if branch is not None and -1 <= int(branch) < len(trace.branches) else MAIN
    try:
        at = limits.whole(value, "step", 1, len(shown(trace, parent).steps)) - 1
        for new in steer(trace, at, [tuple(e) for e in edits or []], parent=parent):
            k = len(new.branches) - 1
            line = shown(new, k)
            n = len(line.steps)
            yield (canvas_html(line, n - 1, show_guesses=bool(show_guesses)), status_text(line, n - 1),
                   gr.update(maximum=n, value=n), new, gr.update(choices=choices(new), value=k), k, [],
                   pending_text(new, []))
    except (ValueError, RunFailed) as err:
        raise views.error(err) from None


def show_line(trace: Trace | None, branch, show_guesses) -> tuple:
    """A line picked in the list, shown at its last step: (canvas, status, slider)."""
    if trace is None or not trace.steps:
        return canvas_html(views.empty(), -1), "Run the model first.", gr.update()
    line = shown(trace, branch)
    n = len(line.steps)
    return canvas_html(line, n - 1, show_guesses=bool(show_guesses)), status_text(line, n - 1), gr.update(maximum=n, value=n)


def line_figures(trace: Trace | None, branch) -> tuple:
    """The four plots of the line shown (a branch's plots run through its parent's steps up to the edit)."""
    if trace is None or not trace.steps:
        return (gr.skip(),) * 4
    return views.figures(shown(trace, branch))


def export_line(trace: Trace | None, branch, kind: str) -> str:
    """Export what is shown: the HTML replay and the GIF play the line on screen; the JSON keeps the whole
    run with every branch (loading it lists them again)."""
    if trace is not None and kind != "json":
        trace = dataclasses.replace(shown(trace, branch), branches=())
    return views.export_file(trace, kind)


def decode_order(steps) -> list[int]:
    """Positions in the order they were committed along a line (a position committed twice counts last)."""
    when: dict[int, int] = {}
    for s in steps:
        for p in s.committed:
            when[p] = s.index
    return sorted(when, key=lambda p: (when[p], p))


def side_by_side(trace: Trace | None, a, b) -> str:
    """Two lines' final texts, the tokens where they differ marked, and their decode orders (HTML)."""
    if trace is None or not trace.steps or a is None or b is None:
        return "<p>Run the model and make a branch; then pick two lines to compare.</p>"
    lines = [shown(trace, k) for k in (a, b)]
    finals = [line.steps[-1].tokens for line in lines]
    text = lambda i: "[MASK]" if i == trace.mask_id else trace.token_text.get(i, f"#{i}")  # noqa: E731
    cols = []
    for k, line, final, other in ((a, lines[0], finals[0], finals[1]), (b, lines[1], finals[1], finals[0])):
        chips = "".join(f'<span class="ld-chip{" ld-differs" if t != o else ""}" data-pos="{p}"'
                        f'{" data-differs=1" if t != o else ""}>{escape(text(t))}</span>'
                        for p, (t, o) in enumerate(zip(final, other)))
        order = " ".join(str(p) for p in decode_order(line.steps))
        name = escape(label(trace, int(k)))
        cols.append(f'<div class="ld-side"><h4>{name}</h4><div class="ld-canvas">{chips}</div>'
                    f'<p class="ld-order">decode order: {order}</p></div>')
    differ = sum(1 for x, y in zip(*finals) if x != y)
    return (f'<div class="ld-sides" data-differ="{differ}">{"".join(cols)}</div>'
            f"<p>{differ} of {len(finals[0])} positions differ (marked).</p>")


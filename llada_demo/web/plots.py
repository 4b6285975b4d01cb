"""The page's plotly figures, as pure functions of a `Trace` (or of score rows): one call, one Figure.

They are drawn again after every forward pass while a run streams, and again when the replay slider
moves, so each takes `upto` (the last step index to show), builds its arrays from plain lists, and
hands plotly the one big grid as numpy arrays (plotly checks nested lists cell by cell). Every figure
is meant to be read on a projector: fonts of 15 px and up, the cividis scale for sequential data (as
on the canvas), and two-series charts in blue and orange that also differ by marker symbol or dash.
Token text in hover labels is escaped, since plotly renders a subset of HTML there.

What it is not: no torch, no Gradio, no model. It does not decide when to redraw; `ui.py` does. It
imports only `step` and `render`, not `schedule` (which imports torch), so the one piece of schedule
arithmetic the plots need is `scheduled_masks_left` below; a test checks it against `schedule`.
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from llada_demo.web.render import CIVIDIS, EOS_SYMBOL, acceptances, colour, commits, token_label, uniform_noise

REMASK_RED = "#c92a2a"  # the canvas's remasked chips use the same red
from llada_demo.engine.step import Step, Trace

BLUE, ORANGE, GREY = "#3b5bdb", "#d9480f", "#868e96"
CIVIDIS_SCALE = [[x, f"rgb{rgb}"] for x, rgb in CIVIDIS]
HEIGHT = 320
FONT = 15


def scheduled_masks_left(gen_length: int, steps: int, block_length: int,
                         masked_per_block: Optional[Sequence[int]] = None) -> list[int]:
    """Masks left after each of `steps` steps under LLaDA's linear schedule (Appendix B.2).

    The blocks are filled left to right with `steps // num_blocks` steps each; a block starting with
    m masks commits `m // steps_per_block` per step, plus one in each of its first
    `m % steps_per_block` steps (the authors' `get_num_transfer_tokens`). By default every position
    starts masked; `masked_per_block` gives the masks each block starts with (infill leaves fewer).
    """
    block_length = block_length or gen_length
    num_blocks = max(1, gen_length // block_length)
    per_block = max(1, steps // num_blocks)
    masked = list(masked_per_block) if masked_per_block is not None else [block_length] * num_blocks
    left, out = sum(masked), []
    for m in masked:
        base, remainder = divmod(m, per_block)
        for i in range(per_block):
            left -= base + (1 if i < remainder else 0)
            out.append(left)
    return out


# --- the four views of one run ---------------------------------------------------------------------

def confidence_heatmap(trace: Trace, upto: Optional[int] = None) -> go.Figure:
    """Position x step: the probability of the model's current guess at every still-masked position,
    with a marker where each token was committed."""
    steps, length, total = _shown(trace, upto)
    if uniform_noise(trace):
        return _entropy_heatmap(trace, steps, length, total)
    layout = _layout("How sure the model is of each guess", "step", "position", f"heatmap:{length}:{total}",
                     x_range=[0.5, total + 0.5], y_reversed=True)  # position 0 at the top, as text reads
    layout["shapes"] = _block_lines(trace, length, axis="y")
    if not steps:
        return _empty(layout)
    label = _labeller(trace, {i for s in steps for i in s.proposals} | {i for s in steps for i in s.tokens})
    mask, none_row = trace.mask_id, (None,) * length
    z_cols, text_cols, xs, ys, hover = [], [], [], [], []
    remask_x, remask_y = [], []
    for s in steps:
        for pos in s.remasked:
            remask_x.append(s.index + 1)
            remask_y.append(pos)
        done = set(s.committed)
        # "Masked when the step began": still masked after it, or committed by it.
        z_cols.append([p if (t == mask or i in done) else None
                       for i, (t, p) in enumerate(zip(s.tokens, s.probability or none_row))])
        text_cols.append([label[g] for g in s.proposals])
        for pos in s.committed:
            xs.append(s.index + 1)
            ys.append(pos)
            hover.append(label[s.tokens[pos]])
    # Rows are positions. numpy arrays, because plotly checks a nested list cell by cell (twice over);
    # None becomes NaN, which plotly draws as a gap. Text as objects: plotly would convert it anyway.
    z = np.array(z_cols, dtype=float).T
    text = np.array(text_cols, dtype=object).T
    heatmap = dict(
        type="heatmap", z=z, x0=1, dx=1, y0=0, dy=1, text=text, colorscale=CIVIDIS_SCALE, zmin=0, zmax=1,
        hoverongaps=False, name="guess",
        colorbar=dict(title=dict(text="probability of the guess", side="right"), tickformat=".0%", thickness=14),
        hovertemplate="step %{x} · position %{y}<br>guess <b>%{text}</b> · p = %{z:.1%}<extra></extra>")
    marks = dict(
        type="scatter", x=xs, y=ys, mode="markers", text=hover, name="committed", showlegend=False,
        marker=dict(symbol="square", size=max(4, min(10, 320 // max(length, 1))), color="#000",
                    line=dict(color="#fff", width=1)),
        hovertemplate="step %{x} · position %{y}<br>committed <b>%{text}</b><extra></extra>")
    data = [heatmap, marks]
    if remask_x:  # a decoding rule took committed tokens back (or a uniform-noise model renoised them)
        data.append(_remask_marks(remask_x, remask_y, length, "step %{x} · position %{y}<br>remasked"))
    return go.Figure(data=data, layout=layout)


def _entropy_heatmap(trace: Trace, steps: tuple[Step, ...], length: int, total: int) -> go.Figure:
    """A uniform-noise run (DiffusionGemma): position x step, the entropy of the distribution its rule scored at
    every position of the block (the entropy bound accepts the lowest), a square where a position was accepted
    in the step and a red cross where an accepted token was renoised."""
    layout = _layout("How uncertain the model is at each position (entropy)", "step", "position",
                     f"entropy-map:{length}:{total}", x_range=[0.5, total + 0.5], y_reversed=True)
    layout["shapes"] = _block_lines(trace, length, axis="y")
    if not steps:
        return _empty(layout)
    label = _labeller(trace, {i for s in steps for i in s.proposals})
    none_row = (None,) * length
    z = np.array([s.entropy or none_row for s in steps], dtype=float).T  # (positions, steps); None -> a gap
    text = np.array([[label[g] for g in s.proposals] for s in steps], dtype=object).T
    most = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    heatmap = dict(
        type="heatmap", z=z, x0=1, dx=1, y0=0, dy=1, text=text, colorscale=CIVIDIS_SCALE, reversescale=True,
        zmin=0, zmax=max(most, 1e-6), hoverongaps=False, name="entropy",
        colorbar=dict(title=dict(text="entropy (nats)", side="right"), thickness=14),
        hovertemplate="step %{x} · position %{y}<br>drew <b>%{text}</b> · entropy %{z:.2f} nats<extra></extra>")
    accepted = [(s.index + 1, p) for s in steps if s.accepted for p in s.committed]
    marks = dict(
        type="scatter", x=[x for x, _ in accepted], y=[y for _, y in accepted], mode="markers", name="accepted",
        showlegend=False, marker=dict(symbol="square", size=max(4, min(10, 320 // max(length, 1))), color="#000",
                                      line=dict(color="#fff", width=1)),
        hovertemplate="step %{x} · position %{y}<br>accepted<extra></extra>")
    data = [heatmap, marks]
    renoised = [(s.index + 1, p) for s in steps for p in s.remasked]
    if renoised:
        data.append(_remask_marks([x for x, _ in renoised], [y for _, y in renoised], length,
                                  "step %{x} · position %{y}<br>renoised"))
    return go.Figure(data=data, layout=layout)


def _remask_marks(xs: list, ys: list, length: int, hover: str) -> dict:
    """Red crosses where a committed token was sent back to [MASK] (or renoised, or edited)."""
    return dict(type="scatter", x=xs, y=ys, mode="markers", name="remasked", showlegend=False,
                marker=dict(symbol="x-thin", size=max(5, min(12, 400 // max(length, 1))), color=REMASK_RED,
                            line=dict(color=REMASK_RED, width=2)),
                hovertemplate=hover + "<extra></extra>")


def decode_order(trace: Trace, upto: Optional[int] = None) -> go.Figure:
    """For each position, the step at which it was committed: a diagonal is left to right."""
    steps, length, total = _shown(trace, upto)
    uniform = uniform_noise(trace)  # then a position's step is its final acceptance (it may be renoised before)
    what = "finally accepted" if uniform else "committed"
    layout = _layout(f"Order of decoding: when each position was {what}", "position", f"step {what}",
                     f"order:{length}:{total}", x_range=[-0.5, length - 0.5], y_range=[0.5, total + 0.5])
    layout["shapes"] = _block_lines(trace, length, axis="x")
    if not steps:
        return _empty(layout)
    found = acceptances(steps, len(steps) - 1) if uniform else commits(steps, len(steps) - 1)
    last = steps[-1]  # the last step holds every token that is committed in the end
    label = _labeller(trace, set(last.tokens))
    positions = sorted(found)
    probs = [found[p].probability for p in positions]
    order = dict(
        type="scatter", x=positions, y=[found[p].step + 1 for p in positions], mode="markers", name="committed",
        text=[label[last.tokens[p]] for p in positions], customdata=probs,
        # Coloured like the canvas chips: by the probability the token was committed with.
        marker=dict(symbol="square", size=max(5, min(12, 480 // max(length, 1))),
                    color=[colour(p) if p is not None else GREY for p in probs], line=dict(color="#000", width=0.5)),
        hovertemplate=(f"position %{{x}} · <b>%{{text}}</b><br>{what} at step %{{y}} · p = %{{customdata:.1%}}"
                       "<extra></extra>"))
    data = [order]
    remasked = [(pos, s.index + 1) for s in steps for pos in s.remasked]
    if remasked:  # where a rule took a commit back: the position's square then moves to its later commit
        data.append(_remask_marks([p for p, _ in remasked], [k for _, k in remasked], length,
                                  "position %{x} · remasked at step %{y}"))
    return go.Figure(data=data, layout=layout)


def masks_left(trace: Trace, upto: Optional[int] = None) -> go.Figure:
    """Masks left after each step, against what the schedule expects."""
    steps, length, total = _shown(trace, upto)
    if uniform_noise(trace):
        return _not_accepted(trace, steps, length, total)
    # Both lines fall from top left to bottom right, so the legend fits in the empty top right corner.
    layout = _layout("Masks left after each step", "step", "masks left", f"masks:{length}:{total}",
                     x_range=[0.5, total + 0.5], legend=dict(x=0.99, xanchor="right", y=0.99, yanchor="top"))
    if not steps:
        return _empty(layout)
    block_length = int(trace.settings.get("block_length") or length)
    expected = scheduled_masks_left(length, total, block_length, _initial_masks(trace, steps[0], length, block_length))
    schedule = dict(
        type="scatter", x=list(range(1, len(expected) + 1)), y=expected, mode="lines", name="schedule",
        line=dict(color=ORANGE, dash="dash", width=2),
        hovertemplate="step %{x}: the schedule expects %{y} masks left<extra></extra>")
    run = dict(
        type="scatter", x=[s.index + 1 for s in steps], y=[s.tokens.count(trace.mask_id) for s in steps],
        mode="lines+markers", name="this run", line=dict(color=BLUE, width=3), marker=dict(symbol="circle", size=6),
        hovertemplate="step %{x}: %{y} masks left<extra></extra>")
    return go.Figure(data=[schedule, run], layout=layout)


def _not_accepted(trace: Trace, steps: tuple[Step, ...], length: int, total: int) -> go.Figure:
    """A uniform-noise run has no masks: the positions not accepted after each step (noise, or in a block not
    started yet). It can rise, when the rule renoises more than it accepts; its rule follows no fixed schedule."""
    layout = _layout("Positions not accepted after each step", "step", "positions not accepted",
                     f"not-accepted:{length}:{total}", x_range=[0.5, total + 0.5])
    if not steps:
        return _empty(layout)
    block_length = int(trace.settings.get("block_length") or length)
    left, finished = [], 0
    for s in steps:
        finished += 0 if (s.accepted or s.noise) else 1  # a commit Step: its block is done
        left.append(length - finished * block_length - len(s.accepted))
    run = dict(
        type="scatter", x=[s.index + 1 for s in steps], y=left, mode="lines+markers", name="this run",
        line=dict(color=BLUE, width=3), marker=dict(symbol="circle", size=6),
        hovertemplate="step %{x}: %{y} positions not accepted<extra></extra>")
    return go.Figure(data=[run], layout=layout)


def entropy_per_step(trace: Trace, upto: Optional[int] = None) -> go.Figure:
    """Mean entropy (nats) of the model's distribution over the positions masked when each step began."""
    steps, length, total = _shown(trace, upto)
    layout = _layout("Uncertainty per step (mean entropy of masked positions)", "step", "mean entropy (nats)",
                     f"entropy:{length}:{total}", x_range=[0.5, total + 0.5])
    layout["yaxis"]["rangemode"] = "tozero"  # a small wobble should not look like a big swing
    if not steps:
        return _empty(layout)
    if uniform_noise(trace):  # every position of the block is drawn afresh each step: the mean over all of them
        layout["title"]["text"] = "Uncertainty per step (mean entropy over the block)"
    line = dict(
        type="scatter", x=[s.index + 1 for s in steps], y=[_mean_entropy(s, trace.mask_id) for s in steps],
        mode="lines+markers", name="mean entropy", line=dict(color=BLUE, width=3), marker=dict(size=6),
        hovertemplate="step %{x}: %{y:.2f} nats<extra></extra>")
    return go.Figure(data=[line], layout=layout)


# --- comparisons -------------------------------------------------------------------------------------

def finalised(trace: Trace) -> Iterator[int]:
    """Tokens finalised before the first step (0), then after each step. Masked models: commits less the
    tokens a rule took back. Uniform noise: the committed blocks and what the rule holds accepted now; a
    block's commit step finalises the positions not yet accepted, not the whole block again."""
    yield 0
    done = blocks = 0
    uniform = uniform_noise(trace)
    for s in trace.steps:
        if not uniform:
            done += len(s.committed) - len(s.remasked)
        elif s.accepted or s.noise:  # a denoising step
            done = blocks + len(s.accepted)
        else:  # the block's commit
            blocks += len(s.committed)
            done = blocks
        yield done


def tokens_vs_passes(diffusion_trace: Optional[Trace], ar_trace: Optional[Trace],
                     names: tuple[str, str] = ("diffusion", "autoregressive")) -> go.Figure:
    """Tokens finalised so far against forward passes, for both runs, with y = x for reference.

    names: the two lines' labels (two diffusion strategies side by side name their rules). A token ReMDM
    took back is not finalised until it is committed again, so remasks are subtracted."""
    # The lines rise from the origin on or above y = x: the bottom right corner stays empty for the legend.
    layout = _layout("Tokens finalised per forward pass", "forward passes", "tokens finalised", "passes",
                     legend=dict(x=0.99, xanchor="right", y=0.03, yanchor="bottom"))
    lines, most = [], 0
    for trace, name, line_colour, dash, symbol in ((diffusion_trace, names[0], BLUE, "solid", "circle"),
                                                   (ar_trace, names[1], ORANGE, "dash", "square")):
        if trace is None or not trace.steps:
            continue
        x, y = [0], list(finalised(trace))  # both lines start at the origin: no pass, no token
        x.extend(s.nfe for s in trace.steps)
        most = max(most, x[-1], y[-1])
        lines.append(dict(
            type="scatter", x=x, y=y, mode="lines+markers", name=name, line=dict(color=line_colour, dash=dash, width=3),
            marker=dict(symbol=symbol, size=6), hovertemplate=f"{escape(name)}<br>%{{x}} passes: %{{y}} tokens<extra></extra>"))
    if not lines:
        return _empty(layout)
    lines.append(dict(type="scatter", x=[0, most], y=[0, most], mode="lines", name="one token per pass",
                      hoverinfo="skip", opacity=0.6, line=dict(color=GREY, dash="dot", width=1.5)))
    return go.Figure(data=lines, layout=layout)


def reversal_bars(rows: Iterable[tuple[str, float, float]], chance: float,
                  paper: Optional[Iterable[tuple[str, float, float]]] = None) -> go.Figure:
    """Forward and reverse accuracy per model, chance level dashed, and the paper's 8B figures beside."""
    # Four legend entries go in a row under the title; the long, tilted model names need the space below.
    layout = _layout("Reversal: completing forwards vs backwards", "", "accuracy", "reversal", y_range=[0, 1.1],
                     legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
    layout["yaxis"]["tickformat"] = ".0%"
    layout.update(barmode="group", bargap=0.25, height=HEIGHT + 260, margin=dict(l=70, r=80, t=100, b=200))
    groups = [(list(rows), "", 1.0, "")]
    if paper:
        # Named apart, so a paper model called like one of ours gets bars of its own.
        groups.append(([(n if "paper" in n.lower() else f"{n} (paper)", f, r) for n, f, r in paper],
                       " · LLaDA paper, 8B models", 0.5, "/"))
    bars = []
    for group, suffix, opacity, pattern in groups:
        names = [escape(n, quote=False) for n, _, _ in group]
        # The direction is in the text (→ / ←) and in the bar's place, not in its colour alone; one
        # offsetgroup per direction puts the paper's bars in the same two slots as ours.
        for which, values, arrow, bar_colour in (("forward", [f for _, f, _ in group], "→", BLUE),
                                                 ("reverse", [r for _, _, r in group], "←", ORANGE)):
            if names:
                bars.append(dict(
                    type="bar", x=names, y=values, name=which + suffix, offsetgroup=which,
                    # Lighter bars, not lighter text: the percentages stay readable at a distance.
                    marker=dict(color=bar_colour, opacity=opacity,
                                pattern=dict(shape=pattern, fgcolor="#fff", solidity=0.35)),
                    text=[f"{arrow} {v:.0%}" for v in values], textposition="outside",
                    hovertemplate=f"%{{x}}<br>{which}: %{{y:.1%}}<extra>{which + suffix}</extra>"))
    layout["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=chance, y1=chance,
                             line=dict(color="#000", dash="dash", width=2))]
    # Labelled in the right margin, clear of the bars.
    layout["annotations"] = [dict(text="chance", xref="paper", x=1.0, xanchor="left", yref="y", y=chance,
                                  yanchor="middle", showarrow=False, font=dict(size=FONT))]
    return go.Figure(data=bars, layout=layout)


# --- shared pieces ------------------------------------------------------------------------------------

def _shown(trace: Trace, upto: Optional[int]) -> tuple[tuple[Step, ...], int, int]:
    """The steps to draw (steps[0..upto], clamped), the generated length, and the run's total steps."""
    steps = trace.steps if upto is None else trace.steps[: max(0, upto + 1)]
    length = int(trace.settings.get("gen_length") or (len(trace.steps[0].tokens) if trace.steps else 0))
    total = max(int(trace.settings.get("steps") or 0), len(trace.steps), 1)
    return steps, length, total


def _layout(title: str, x_title: str, y_title: str, revision: str, *, x_range=None, y_range=None,
            y_reversed: bool = False, legend: Optional[dict] = None) -> dict:
    """The layout every figure shares, as a dict: plotly checks a Figure once, at construction."""
    yaxis = dict(title=dict(text=y_title), range=y_range)
    if y_reversed:
        yaxis["autorange"] = "reversed"
    return dict(
        template="plotly_white", height=HEIGHT, title=dict(text=title, font=dict(size=FONT + 3)),
        font=dict(size=FONT), margin=dict(l=70, r=20, t=50, b=55), hoverlabel=dict(font_size=FONT),
        legend=dict(bgcolor="rgba(255,255,255,0.85)", **(legend or {})),
        # A fixed frame (x_range) lets a live plot grow into it; the same uirevision while the run's
        # shape stays the same keeps the user's zoom across redraws.
        xaxis=dict(title=dict(text=x_title), range=x_range), yaxis=yaxis, uirevision=revision)


def _empty(layout: dict) -> go.Figure:
    for axis in (layout["xaxis"], layout["yaxis"]):
        axis.update(showticklabels=False, showgrid=False, zeroline=False)  # no numbers without data
    layout["annotations"] = [dict(text="no steps yet", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                                  font=dict(size=FONT + 1, color=GREY))]
    return go.Figure(layout=layout)


def _labeller(trace: Trace, ids: set[int]) -> dict[int, str]:
    """Token id -> its hover label, escaped once per id rather than once per cell."""
    eos = set(trace.special_ids.get("eos", ()))
    return {i: EOS_SYMBOL if i in eos else escape(token_label(trace.token_text.get(i, f"#{i}")), quote=False)
            for i in ids}


def _block_lines(trace: Trace, length: int, axis: str) -> list[dict]:
    """Dashed lines between LLaDA's semi-autoregressive blocks, when there is more than one."""
    block_length = int(trace.settings.get("block_length") or length or 1)
    lines = []
    for start in range(block_length, length, block_length):
        line = dict(type="line", line=dict(color=BLUE, dash="dash", width=1.5), layer="above")
        if axis == "x":
            line.update(xref="x", yref="paper", x0=start - 0.5, x1=start - 0.5, y0=0, y1=1)
        else:
            line.update(xref="paper", yref="y", y0=start - 0.5, y1=start - 0.5, x0=0, x1=1)
        lines.append(line)
    return lines


def _initial_masks(trace: Trace, first: Step, length: int, block_length: int) -> list[int]:
    """Masks each block starts with, read off the first step (a block's positions are only committed
    while it is the active block, so what was masked before step 0 is what each block starts with)."""
    done = set(first.committed)
    was_masked = [t == trace.mask_id or i in done for i, t in enumerate(first.tokens)]
    return [sum(was_masked[start:start + block_length]) for start in range(0, length, block_length or length)]


def _mean_entropy(step: Step, mask: int) -> Optional[float]:
    if step.accepted or step.noise:  # uniform noise: the entropy is given at every position of the block
        values = [h for h in step.entropy if h is not None]
        return sum(values) / len(values) if values else None
    done = set(step.committed)
    values = [h for i, (t, h) in enumerate(zip(step.tokens, step.entropy))
              if h is not None and (t == mask or i in done)]
    return sum(values) / len(values) if values else None

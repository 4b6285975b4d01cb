"""The Speed-vs-quality tab's views: the frontier plot, the progress bar, the table and its CSV.

The rows come from `backend.frontier` (app.py binds `tinyworld.strategies.page_rows`: one plain dict per
decoding rule, as `strategies.Row.as_dict` writes it, plus "of", how many rows the run will yield). Each
row is one point: forward passes per generated token along x (the cost; the AR twin sits at 1), the share
of held-out items answered right along y, one line per rule family through its knob values, so the upper
left is the frontier (fast and right).

What it is not: no torch, no model runs (the backend's generator does them), no layout (tabs/frontier.py).
"""

from __future__ import annotations

import csv
import io
import time
from html import escape
from typing import Iterable, Iterator

import gradio as gr
import plotly.graph_objects as go

from llada_demo.engine import limits
from llada_demo.engine.limits import RunFailed
from llada_demo.web import plots

TASKS = ("facts forward", "facts as a blank", "couplets forward", "story grammar")  # strategies.TASKS
MEAN = "mean over the tasks"
FAMILIES = {"fixed schedule (LLaDA)": "fixed", "margin / entropy scores": "score", "threshold τ (Fast-dLLM)": "threshold",
            "entropy bound γ (EB-sampler)": "entropy bound", "ReMDM remasking": "remdm", "AR twin": "ar"}
DEFAULT_FAMILIES = ("fixed schedule (LLaDA)", "threshold τ (Fast-dLLM)", "entropy bound γ (EB-sampler)", "AR twin")
MAX_ITEMS = 60  # items per set the page may ask for (the held-out facts number 60)
COLUMNS = ("rule", "family", "knob", "passes", "tokens", "seconds", "passes_per_token", "ms_per_token",
           *(f"{t}: {k}" for t in TASKS for k in ("right", "asked", "accuracy")))
STYLE = {"fixed": (plots.GREY, "square", "dash"), "score": ("#2b8a3e", "diamond", "dot"),
         "threshold": (plots.BLUE, "circle", "solid"), "entropy bound": (plots.ORANGE, "triangle-up", "solid"),
         "remdm": (plots.REMASK_RED, "x", "dot"), "ar": ("#000000", "star", "solid")}
NAMES = {v: k for k, v in FAMILIES.items()}


def accuracy(row: dict, task: str) -> float | None:
    """The row's share right on `task`, or the mean of its tasks' shares (those it was asked) for MEAN."""
    if task != MEAN:
        return row.get(f"{task}: accuracy")
    shares = [row[f"{t}: accuracy"] for t in TASKS if row.get(f"{t}: accuracy") is not None]
    return sum(shares) / len(shares) if shares else None


def frontier_figure(rows: Iterable[dict], task: str = MEAN) -> go.Figure:
    """Accuracy on `task` against forward passes per generated token: a line per family through its knobs."""
    rows = list(rows)
    fig = go.Figure(layout=plots._layout(f"Speed vs quality: {task}", "forward passes per generated token (log)",
                                         "share right", "frontier", y_range=[-0.02, 1.02]))
    fig.update_xaxes(type="log")
    for family in dict.fromkeys(r["family"] for r in rows):
        points = sorted(((r["passes_per_token"], accuracy(r, task), r["rule"]) for r in rows
                         if r["family"] == family and accuracy(r, task) is not None))
        if not points:
            continue
        colour, symbol, dash = STYLE.get(family, (plots.GREY, "circle", "solid"))
        x, y, names = zip(*points)
        fig.add_trace(go.Scatter(x=list(x), y=list(y), mode="lines+markers" if len(points) > 1 else "markers",
                                 name=NAMES.get(family, family), text=[escape(n) for n in names],
                                 hovertemplate="%{text}<br>%{x:.3f} passes / token<br>%{y:.0%} right<extra></extra>",
                                 marker=dict(symbol=symbol, size=12, color=colour), line=dict(color=colour, dash=dash)))
    return fig


def progress_html(done: int, total: int, last: str = "") -> str:
    """A progress bar with 'k of n rules' and the rule just measured (escaped)."""
    text = f"{done} of {total} rules measured" + (f"; last: {escape(last)}" if last else "")
    return (f'<div id="frontier-progress-bar"><progress value="{done}" max="{max(1, total)}" style="width:100%">'
            f"</progress><div>{text}</div></div>")


def table_rows(rows: Iterable[dict]) -> list[list]:
    """The table the page shows: rule, passes per token, ms per token, then right / asked per task."""
    out = []
    for r in rows:
        cells = [r["rule"], round(r["passes_per_token"], 3), round(r["ms_per_token"], 2)]
        cells += ["-" if r.get(f"{t}: asked") is None else f"{r[f'{t}: right']} / {r[f'{t}: asked']}" for t in TASKS]
        out.append(cells)
    return out


TABLE_HEADERS = ["rule", "passes / token", "ms / token", *TASKS]


def csv_text(rows: Iterable[dict]) -> str:
    """The rows as CSV, one line per rule, the columns of `COLUMNS` (empty where a task was not asked)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r.get(k) is None else r[k] for k in COLUMNS})
    return out.getvalue()


def write_csv(rows: list[dict]) -> str:
    """The CSV in a fresh export folder (views.export_folder cleans old ones); its path."""
    from llada_demo.web.views import export_folder

    path = export_folder() / "speed-vs-quality.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    return str(path)


def checked(families, items_per_set) -> tuple[tuple[str, ...], int]:
    """(family keys, items per set) from the page's inputs, or ValueError with a sentence."""
    if not isinstance(families, (list, tuple)) or not families:
        raise ValueError("Pick at least one decoding rule to measure.")
    keys = tuple(FAMILIES[limits.choice(f, "decoding rule", tuple(FAMILIES))] for f in families)
    return keys, limits.whole(items_per_set, "number of items per set", 1, MAX_ITEMS)


def frontier_frames(backend, families, items_per_set, task=MEAN) -> Iterator[tuple]:
    """(progress, figure, table, CSV file, rows) after each rule is measured; Stop closes the generator."""
    if getattr(backend, "frontier", None) is None:
        raise gr.Error("Speed vs quality needs the shipped tiny pair and its world.", print_exception=False)
    try:
        keys, n = checked(families, items_per_set)
        task = limits.choice(task, "task", (MEAN, *TASKS))
        stream = backend.frontier(families=keys, limit=n)
        rows: list[dict] = []
        yield progress_html(0, 1, "starting"), frontier_figure([], task), [], None, rows
        started = time.perf_counter()
        for row in stream:
            rows = [*rows, row]
            done = len(rows) == row["of"]
            yield (progress_html(len(rows), row["of"], row["rule"])
                   + (f"<div>Done in {time.perf_counter() - started:.1f} s.</div>" if done else ""),
                   frontier_figure(rows, task), table_rows(rows), write_csv(rows) if done else None, rows)
    except (ValueError, RunFailed) as err:
        raise gr.Error(str(err), print_exception=False) from None


def redraw(rows, task) -> go.Figure:
    """The plot again for another task, from the rows already measured (no model runs)."""
    try:
        task = limits.choice(task, "task", (MEAN, *TASKS))
    except ValueError as err:
        raise gr.Error(str(err), print_exception=False) from None
    return frontier_figure(rows or [], task)

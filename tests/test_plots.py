"""The plotly figures: built from hand-made Traces, checked on the data they carry."""

import math

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from llada_demo.engine import diffusion, schedule
from llada_demo.web import plots
from llada_demo.web.render import EOS_SYMBOL
from llada_demo.engine.step import Step, Trace
from tests.conftest import MASK_ID

M = 9  # the mask id of the hand-made traces
FIGURES = (plots.confidence_heatmap, plots.decode_order, plots.masks_left, plots.entropy_per_step)


def small_trace() -> Trace:
    """4 positions, 4 steps, 2 blocks of 2; commit order 1, 0 (block 0), then 3, 2 (block 1).

    Probabilities are given at every position (as the diffusion sampler gives them); entropy only where
    the position was masked when the step began, except one stray value that must be ignored.
    """
    steps = (
        Step(index=0, block=0, tokens=(M, 11, M, M), committed=(1,), proposals=(10, 11, 12, 13),
             confidence=(0.4, 0.9, None, None), probability=(0.4, 0.9, 0.3, 0.2),
             entropy=(1.0, 0.5, 2.0, 3.0), nfe=1),
        Step(index=1, block=0, tokens=(10, 11, M, M), committed=(0,), proposals=(10, 11, 12, 14),
             confidence=(0.8, None, None, None), probability=(0.8, 0.99, 0.35, 0.25),
             entropy=(0.7, None, 1.5, 2.5), nfe=2),
        Step(index=2, block=1, tokens=(10, 11, M, 14), committed=(3,), proposals=(10, 11, 12, 14),
             confidence=(None, None, 0.5, 0.6), probability=(1.0, 1.0, 0.5, 0.6),
             entropy=(9.9, None, 1.0, 2.0), nfe=3),
        Step(index=3, block=1, tokens=(10, 11, 12, 14), committed=(2,), proposals=(10, 11, 12, 14),
             confidence=(None, None, 0.7, None), probability=(1.0, 1.0, 0.7, 1.0),
             entropy=(None, None, 0.5, None), nfe=4),
    )
    text = {M: "<mask>", 10: " The", 11: " cat", 12: "<script>alert(1)</script>", 13: " a & b", 14: "<eos>"}
    return Trace(sampler="diffusion", prompt="p", settings=dict(steps=4, gen_length=4, block_length=2), mask_id=M,
                 steps=steps, token_text=text, special_ids={"eos": (14,)})


def ar_trace(gen_length: int = 3) -> Trace:
    """Left to right, one token per pass; the positions to the right are masked (-1), no probability there."""
    steps, tokens = [], [-1] * gen_length
    for i in range(gen_length):
        tokens[i] = 20 + i
        only = lambda v: tuple(v if j == i else None for j in range(gen_length))  # noqa: E731
        steps.append(Step(index=i, block=0, tokens=tuple(tokens), committed=(i,), proposals=tuple(tokens),
                          confidence=only(0.5), probability=only(0.5 + 0.1 * i), entropy=only(1.0 + i), nfe=i + 1))
    return Trace(sampler="autoregressive", prompt="p", mask_id=-1, steps=tuple(steps),
                 settings=dict(steps=gen_length, gen_length=gen_length, block_length=gen_length),
                 token_text={20 + i: f"w{i}" for i in range(gen_length)})


def nan_to_none(rows):
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in rows]


# --- the confidence heatmap -------------------------------------------------------------------------

def test_heatmap_shows_the_guess_probability_only_where_the_position_was_masked():
    heat, marks = plots.confidence_heatmap(small_trace()).data
    assert nan_to_none(heat.z) == [[0.4, 0.8, None, None],   # position 0, committed at step 2
                                   [0.9, None, None, None],  # position 1, committed at step 1
                                   [0.3, 0.35, 0.5, 0.7],
                                   [0.2, 0.25, 0.6, None]]
    assert (heat.x0, heat.dx, heat.y0, heat.dy) == (1, 1, 0, 1)  # x is the 1-based step, y the position
    assert (heat.zmin, heat.zmax) == (0, 1) and heat.colorbar.title.text == "probability of the guess"
    assert heat.hoverongaps is False
    # The commit markers sit at (step committed, position).
    assert list(zip(marks.x, marks.y)) == [(1, 1), (2, 0), (3, 3), (4, 2)]


def test_heatmap_hover_names_guesses_and_commits_and_escapes_markup():
    heat, marks = plots.confidence_heatmap(small_trace()).data
    assert heat.text[0][0] == "The" and heat.text[3][0] == "a &amp; b" and heat.text[3][1] == EOS_SYMBOL
    assert heat.text[2][0] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "%{text}" in heat.hovertemplate and "%{z:.1%}" in heat.hovertemplate
    assert list(marks.text) == ["cat", "The", EOS_SYMBOL, "&lt;script&gt;alert(1)&lt;/script&gt;"]
    assert "committed" in marks.hovertemplate and "%{text}" in marks.hovertemplate
    assert not any("<script>" in str(t) for row in heat.text for t in row)


def test_heatmap_of_an_autoregressive_trace_is_its_diagonal():
    heat, marks = plots.confidence_heatmap(ar_trace()).data
    assert nan_to_none(heat.z) == [[0.5, None, None], [None, 0.6, None], [None, None, 0.7]]
    assert list(zip(marks.x, marks.y)) == [(1, 0), (2, 1), (3, 2)]


def test_heatmap_grows_with_upto_in_a_fixed_frame():
    trace = small_trace()
    fig = plots.confidence_heatmap(trace, upto=1)
    heat, marks = fig.data
    assert nan_to_none(heat.z) == [[0.4, 0.8], [0.9, None], [0.3, 0.35], [0.2, 0.25]]
    assert list(zip(marks.x, marks.y)) == [(1, 1), (2, 0)]
    assert tuple(fig.layout.xaxis.range) == (0.5, 4.5)  # the whole run's steps, so the frame never moves
    assert fig.layout.yaxis.autorange == "reversed"  # position 0 at the top
    assert fig.layout.uirevision == plots.confidence_heatmap(trace).layout.uirevision


def test_heatmap_marks_block_boundaries():
    shapes = plots.confidence_heatmap(small_trace()).layout.shapes
    assert [(s.y0, s.y1) for s in shapes] == [(1.5, 1.5)]
    assert plots.confidence_heatmap(ar_trace()).layout.shapes == ()


# --- decode order, masks left, entropy ---------------------------------------------------------------

def test_decode_order_is_the_commit_step_of_each_position():
    fig = plots.decode_order(small_trace())
    (order,) = fig.data
    assert list(order.x) == [0, 1, 2, 3] and list(order.y) == [2, 1, 4, 3]
    assert list(order.text) == ["The", "cat", "&lt;script&gt;alert(1)&lt;/script&gt;", EOS_SYMBOL]
    assert list(order.customdata) == [0.8, 0.9, 0.7, 0.6]  # committed with these probabilities
    # One dashed line between the two blocks of two.
    assert [(s.x0, s.x1, s.yref) for s in fig.layout.shapes] == [(1.5, 1.5, "paper")]


def test_decode_order_of_left_to_right_is_the_diagonal_and_grows_with_upto():
    (order,) = plots.decode_order(ar_trace(5)).data
    assert list(order.x) == [0, 1, 2, 3, 4] and list(order.y) == [1, 2, 3, 4, 5]
    (order,) = plots.decode_order(small_trace(), upto=1).data
    assert list(order.x) == [0, 1] and list(order.y) == [2, 1]


def test_masks_left_follows_the_tokens_and_the_schedule():
    schedule_line, run = plots.masks_left(small_trace()).data
    assert list(run.x) == [1, 2, 3, 4] and list(run.y) == [3, 2, 1, 0]
    assert list(schedule_line.x) == [1, 2, 3, 4] and list(schedule_line.y) == [3, 2, 1, 0]
    assert schedule_line.line.dash == "dash" and run.line.dash != "dash"
    _, run = plots.masks_left(small_trace(), upto=1).data
    assert list(run.y) == [3, 2]


@pytest.mark.parametrize("gen_length,steps,block_length", [(4, 4, 2), (8, 4, 8), (10, 4, 5), (128, 64, 32),
                                                           (256, 256, 256), (7, 3, 7), (12, 6, 4)])
def test_scheduled_masks_left_equals_the_samplers_schedule(gen_length, steps, block_length):
    num_blocks = gen_length // block_length
    commits = [k for _ in range(num_blocks) for k in schedule.num_transfer_tokens(block_length, steps // num_blocks)]
    expected = [gen_length - sum(commits[:i + 1]) for i in range(len(commits))]
    assert plots.scheduled_masks_left(gen_length, steps, block_length) == expected
    assert len(expected) == steps and expected[-1] == 0


def test_scheduled_masks_left_counts_only_the_masks_each_block_starts_with():
    # Infill: block 0 starts with 3 masks, block 1 with 1; 2 steps per block.
    assert plots.scheduled_masks_left(8, 4, 4, masked_per_block=[3, 1]) == [2, 1, 0, 0]


@pytest.mark.parametrize("initial", [None, [5, MASK_ID, MASK_ID, 6, MASK_ID, MASK_ID, MASK_ID, 7]])
def test_masks_left_of_a_real_run_meets_its_schedule(diffusion_model, initial):
    torch.manual_seed(0)
    steps = tuple(diffusion.sample(diffusion_model, torch.tensor([[5, 6, 7]]), steps=4, gen_length=8, block_length=4,
                                   mask_id=MASK_ID, initial=None if initial is None else torch.tensor([initial])))
    trace = Trace(sampler="diffusion", prompt="p", settings=dict(steps=4, gen_length=8, block_length=4),
                  mask_id=MASK_ID, steps=steps)
    schedule_line, run = plots.masks_left(trace).data
    assert list(run.y) == list(schedule_line.y)
    assert run.y[-1] == 0


def test_entropy_is_the_mean_over_positions_masked_when_the_step_began():
    (line,) = plots.entropy_per_step(small_trace()).data
    assert list(line.x) == [1, 2, 3, 4]
    assert line.y == pytest.approx([(1.0 + 0.5 + 2.0 + 3.0) / 4, (0.7 + 1.5 + 2.5) / 3, (1.0 + 2.0) / 2, 0.5])
    (line,) = plots.entropy_per_step(ar_trace()).data
    assert list(line.y) == [1.0, 2.0, 3.0]


# --- every view of one run ---------------------------------------------------------------------------

@pytest.mark.parametrize("figure", FIGURES)
def test_a_trace_without_steps_gives_an_empty_titled_figure(figure):
    empty = Trace(sampler="diffusion", prompt="", settings={}, mask_id=M)
    for fig in (figure(empty), figure(small_trace(), upto=-1)):
        assert isinstance(fig, go.Figure) and fig.data == ()
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert fig.layout.annotations[0].text == "no steps yet"


@pytest.mark.parametrize("figure", FIGURES)
def test_upto_beyond_the_end_clamps_to_the_last_step(figure):
    trace = small_trace()
    assert figure(trace, upto=99).to_json() == figure(trace).to_json() == figure(trace, upto=3).to_json()


@pytest.mark.parametrize("figure", FIGURES + (lambda t: plots.tokens_vs_passes(t, ar_trace()),
                                              lambda t: plots.reversal_bars([("m", 0.5, 0.5)], 0.25)))
def test_every_figure_reads_on_a_projector(figure):
    layout = figure(small_trace()).layout
    assert layout.template == pio.templates["plotly_white"]
    assert layout.font.size >= 14 and layout.title.font.size >= 14 and layout.height <= 600
    assert layout.uirevision


# --- comparisons -------------------------------------------------------------------------------------

def test_tokens_vs_passes_counts_commits_per_pass_for_both_models():
    fast = Trace(sampler="diffusion", prompt="p", settings=dict(steps=2, gen_length=4, block_length=4), mask_id=M,
                 steps=(Step(index=0, block=0, tokens=(1, M, 3, M), committed=(0, 2), proposals=(1, 2, 3, 4),
                             confidence=(None,) * 4, nfe=1),
                        Step(index=1, block=0, tokens=(1, 2, 3, 4), committed=(1, 3), proposals=(1, 2, 3, 4),
                             confidence=(None,) * 4, nfe=2)))
    diff, ar, reference = plots.tokens_vs_passes(fast, ar_trace(3)).data
    assert (diff.name, list(diff.x), list(diff.y)) == ("diffusion", [0, 1, 2], [0, 2, 4])
    assert (ar.name, list(ar.x), list(ar.y)) == ("autoregressive", [0, 1, 2, 3], [0, 1, 2, 3])
    assert list(reference.x) == list(reference.y) == [0, 4] and reference.name == "one token per pass"
    # Two series that differ by more than colour.
    assert diff.line.dash != ar.line.dash and diff.marker.symbol != ar.marker.symbol


def test_tokens_vs_passes_with_one_side_or_none_running():
    (ar, reference) = plots.tokens_vs_passes(None, ar_trace(2)).data
    assert ar.name == "autoregressive" and list(reference.x) == [0, 2]
    empty = Trace(sampler="diffusion", prompt="", settings={}, mask_id=M)
    fig = plots.tokens_vs_passes(empty, None)
    assert fig.data == () and fig.layout.title.text


def test_reversal_bars_show_accuracies_chance_and_the_papers_figures():
    rows = [("tiny LLaDA", 0.9, 0.85), ("tiny <AR>", 0.95, 0.05)]
    paper = [("LLaDA 8B", 0.51, 0.45), ("Qwen2.5 7B", 0.38, 0.01)]
    fig = plots.reversal_bars(rows, 0.25, paper=paper)
    forward, reverse, paper_forward, paper_reverse = fig.data
    assert list(forward.x) == ["tiny LLaDA", "tiny &lt;AR&gt;"] and list(forward.y) == [0.9, 0.95]
    assert forward.name == "forward" and reverse.name == "reverse" and list(reverse.y) == [0.85, 0.05]
    assert list(paper_forward.x) == ["LLaDA 8B (paper)", "Qwen2.5 7B (paper)"]
    assert list(paper_forward.y) == [0.51, 0.38] and list(paper_reverse.y) == [0.45, 0.01]
    assert "paper" in paper_forward.name and "8B" in paper_forward.name
    # The paper's bars are told apart by a hatch and lightness; forward and reverse share their slots.
    assert paper_forward.marker.pattern.shape == "/" and not forward.marker.pattern.shape
    assert paper_forward.marker.opacity < forward.marker.opacity
    assert forward.offsetgroup == paper_forward.offsetgroup != reverse.offsetgroup == paper_reverse.offsetgroup
    (chance,) = fig.layout.shapes
    assert chance.y0 == chance.y1 == 0.25 and chance.line.dash == "dash"
    assert fig.layout.annotations[0].text == "chance" and fig.layout.annotations[0].y == 0.25
    assert fig.layout.yaxis.tickformat == ".0%" and fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] >= 1
    assert fig.layout.barmode == "group"


def test_reversal_bars_without_the_paper():
    fig = plots.reversal_bars([("tiny LLaDA", 0.9, 0.85)], 0.5)
    assert [t.name for t in fig.data] == ["forward", "reverse"]
    assert fig.layout.shapes[0].y0 == 0.5

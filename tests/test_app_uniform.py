"""The app with DiffusionGemma, as an operator starts it: `app.models` / `app.build` with the diffusiongemma
preset (a tiny random stand-in in a hub-shaped cache, offline) alone, and beside the shipped tiny LLaDA with
`--versus`. The page follows the model: the Denoise tab shows DiffusionGemma's own settings, what needs
[MASK] (infill, the training objective, steering) is not offered, the comparison puts the model under its
two rules or masking and uniform noise side by side, and a run that stops early still ends with its plots
drawn."""

import functools
import re

import pytest

import app
from llada_demo.engine.limits import Limits, from_args
from llada_demo.web import validate, views
from tests.standins import diffusiongemma as standin


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A hub cache holding the stand-in under the preset's id, read offline with the preset's memory lowered."""
    folder = tmp_path_factory.mktemp("hf")
    with standin.preset_in_cache(folder):
        yield str(folder)


def args_for(cache, *flags):
    return app.parse_args(["--cache-dir", cache, *flags])


@pytest.fixture(scope="module")
def alone(cache):
    return app.models(args_for(cache, "--model", "diffusiongemma", "--ar", "none"))


@pytest.fixture(scope="module")
def side_by_side(cache):
    return app.models(args_for(cache, "--model", "tiny-llada", "--ar", "tiny-ar", "--versus", "diffusiongemma"))


def component(demo, elem_id):
    return next((b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id), None)


def test_the_page_follows_a_uniform_noise_model(cache, alone):
    b = alone.backend
    assert alone.uniform_noise and b.denoise is not None
    assert (b.infill, b.objective, b.steer, b.versus, b.compare) == (None,) * 5
    demo = app.build(args_for(cache, "--model", "diffusiongemma", "--ar", "none"), from_args(app.parse_args([])))
    assert component(demo, "uniform-settings") is not None  # DiffusionGemma's rule, temperatures, stopping
    assert not component(demo, "steer").visible
    assert component(demo, "masks-left").label == "Positions not accepted"  # no masks to count
    assert not component(demo, "block-length").visible  # its block is its own canvas
    # Nor does LLaDA's schedule rule refuse its settings: 48 steps per block on a 32-token run is fine.
    for block in (32, 192):  # as LLaDA's: more steps than tokens; a block longer than the run
        assert all(v["is_valid"] for v in validate.denoise(Limits(), "w1", 32, 48, block, "low_confidence", 0.0,
                                                           0.0, 0, schedule=False))
        assert not all(v["is_valid"] for v in validate.denoise(Limits(), "w1", 32, 48, block, "low_confidence",
                                                               0.0, 0.0, 0))
    assert component(demo, "heatmap").label.startswith("Entropy")
    # LLaDA's decoding rule sits in a hidden column (the accordion has DiffusionGemma's own rule).
    hidden, block = False, component(demo, "rule")
    while block is not None and not hidden:
        hidden, block = block.visible is False, getattr(block, "parent", None)
    assert hidden
    for gone in ("tab-infill", "tab-training"):
        assert component(demo, gone) is None, gone
    assert [c[0] for c in component(demo, "compare-mode").choices] == [views.COMPARE_MODES[1]]
    # Its two rules are picked from the start (it has no fixed schedule), each with its knob shown.
    assert component(demo, "compare-a-rule").value.startswith("entropy bound") and component(demo, "compare-a-entropy-bound").visible
    assert component(demo, "compare-b-rule").value.startswith("threshold") and component(demo, "compare-b-threshold").visible


def test_the_same_uniform_model_under_its_two_rules(alone):
    """The comparison's two strategies on DiffusionGemma: its entropy bound beside a threshold, which runs
    as diffusers' BlockRefinementScheduler (a committed token is never renoised there)."""
    frames = list(views.compare_frames(alone.backend, "w1 w2", 16, 8, 16, 0.0, 0, views.COMPARE_MODES[1],
                                       "low_confidence", "entropy bound γ (EB-sampler)", 0.9, 0.1, 1,
                                       "low_confidence", "threshold τ (Fast-dLLM)", 0.9, 0.1, 1))
    bounded, refined = frames[-1][-1].data[0].name, frames[-1][-1].data[1].name
    assert bounded.startswith("A: entropy bound 0.1") and refined.startswith("B: threshold 0.9")
    a, b = alone.backend.compare_strategies("w1 w2", dict(remasking="low_confidence", entropy_bound=0.1),
                                            dict(remasking="low_confidence", threshold=0.9), steps=8,
                                            gen_length=16, block_length=16).__next__()
    assert (a.settings["rule"], b.settings["rule"]) == ("entropy_bound", "block_refinement")
    with pytest.raises(Exception, match="no fixed schedule"):
        list(views.compare_frames(alone.backend, "w1 w2", 16, 8, 16, 0.0, 0, views.COMPARE_MODES[1]))


def test_a_masked_model_keeps_everything_and_no_uniform_settings(side_by_side, cache):
    b = side_by_side.backend
    assert not side_by_side.uniform_noise
    assert None not in (b.infill, b.objective, b.compare_strategies, b.steer, b.compare, b.versus)
    demo = app.build(args_for(cache, "--model", "tiny-llada", "--ar", "tiny-ar", "--versus", "diffusiongemma"),
                     from_args(app.parse_args([])))
    assert component(demo, "uniform-settings") is None and component(demo, "steer").visible
    mode = component(demo, "compare-mode")
    assert [c[0] for c in mode.choices] == list(views.COMPARE_MODES)
    assert "Beside it in the comparison: **diffusiongemma** (uniform noise)" in side_by_side.note


def test_masking_and_uniform_noise_side_by_side(side_by_side):
    frames = list(views.compare_frames(side_by_side.backend, "Kilm lived near the", 16, 16, 16, 0.0, 0,
                                       views.COMPARE_MODES[2]))
    masked, uniform = side_by_side.backend.versus("Kilm lived near the", steps=16, gen_length=16, block_length=16)\
        .__iter__().__next__()
    assert masked.model == "tiny-llada" and uniform.model == "diffusiongemma"
    left, _, right, right_status, chart = frames[-1]
    assert 'data-state="masked"' not in left  # LLaDA filled its canvas
    seen = {state for frame in frames for state in re.findall(r'data-state="([a-z-]+)"', frame[2])}
    assert {"noise", "accepted-new"} <= seen  # DiffusionGemma's states on the right, not masks
    assert "positions not accepted 0" in right_status and "masked" not in seen
    lines = {line.name: line for line in chart.data}
    assert {"tiny-llada", "diffusiongemma"} <= set(lines)
    # Each line ends at the tokens generated: a block's commit finalises what was not yet accepted, no more.
    assert lines["tiny-llada"].y[-1] == 16 and lines["diffusiongemma"].y[-1] == 16
    assert all(a <= b for a, b in zip(lines["tiny-llada"].y, lines["tiny-llada"].y[1:]))


def test_the_comparison_refuses_two_models_when_one_is_loaded(alone):
    with pytest.raises(Exception, match="--versus"):
        list(views.compare_frames(views.Backend(denoise=alone.backend.denoise), "w1", 16, 16, 16, 0.0, 0,
                                  views.COMPARE_MODES[2]))


def test_a_run_that_stops_early_still_ends_with_its_plots(alone):
    """DiffusionGemma stops a block when its argmax is stable and sure (diffusers' pipeline), so no frame can
    know it is the last: the plots are drawn on the throttle and once more after the stream ends, never on
    every frame of the last block."""
    # Any mean entropy counts as sure: the block ends once its argmax holds for one step.
    eager = functools.partial(alone.backend.denoise, uniform=dict(confidence_threshold=100.0, stability_threshold=1))
    # Seed 1 found by search (seeds 0-5): its four 16-token canvases end after 27 of their 36 most steps.
    frames = list(views.denoise_frames(views.Backend(denoise=eager), "w1 w2 w3", 64, 8, 16, "low_confidence",
                                       0.0, 0.0, 1, True))
    trace = frames[-1][3]
    assert len(trace.steps) < trace.settings["steps"]  # it stopped before its most steps
    plotted = [n for n, f in enumerate(frames) if f[4] is not None]
    assert plotted[-1] == len(frames) - 1 and len(plotted) <= 2  # the run is shorter than two PLOT_EVERY_S
    heatmap = frames[-1][4]
    assert len(heatmap.data[0].z[0]) == len(trace.steps)  # the whole run: one column per step

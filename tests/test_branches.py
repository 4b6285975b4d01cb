"""Steering a run by hand (issue 17 §2): `runs.continue_from` branches a diffusion run from an edited canvas,
and the trace keeps every branch through JSON.

The reference is the main run itself: forcing the token a position already holds changes nothing, so at
temperature 0 with one token per pass the continuation must repeat the run's remaining steps exactly
(across blocks too: the full blocks that join the prompt sit where they sat on the canvas).
"""

import json

import numpy as np
import pytest

from llada_demo.engine import runs
from llada_demo.engine.step import Trace
from llada_demo.models import DIFFUSION, Loaded
from tests.conftest import MASK_ID
from tests.test_disconnect import Words


@pytest.fixture(scope="module")
def loaded(diffusion_model):
    return Loaded(name="tiny", kind=DIFFUSION, model=diffusion_model, tokenizer=Words(), mask_id=MASK_ID,
                  eos_ids=(1,), chat=False, device="cpu", parameters=0)


def run(loaded, **settings) -> Trace:
    settings = dict(dict(steps=16, gen_length=16, block_length=16), **settings)
    *_, trace = runs.denoise(loaded, "w a b c", **settings)
    return trace


def branch(loaded, trace, at, edits, **kw) -> Trace:
    *_, last = runs.continue_from(loaded, trace, at, edits, **kw)
    return last


@pytest.mark.parametrize("block_length,at", [(16, 5), (8, 3), (8, 11)])
def test_a_no_op_edit_repeats_the_rest_of_the_run(loaded, block_length, at):
    trace = run(loaded, block_length=block_length)
    held = next(p for p, t in enumerate(trace.steps[at].tokens) if t != MASK_ID)
    out = branch(loaded, trace, at, [(held, trace.steps[at].tokens[held])])
    line = out.line(0)
    assert [s.tokens for s in line[at + 2:]] == [s.tokens for s in trace.steps[at + 1:]]
    assert [s.committed for s in line[at + 2:]] == [s.committed for s in trace.steps[at + 1:]]
    assert [s.index for s in line] == list(range(len(line)))
    assert line[-1].nfe == trace.steps[-1].nfe  # no pass spent on full blocks


def test_a_forced_token_stays_and_the_branch_ends_with_no_mask(loaded):
    trace = run(loaded)
    at = 3
    pos = next(p for p, t in enumerate(trace.steps[at].tokens) if t == MASK_ID)
    forced = next(i for i in range(4, 64) if i != trace.steps[-1].tokens[pos])  # not what the run wrote there
    out = branch(loaded, trace, at, [(pos, forced)])
    b = out.branches[0]
    assert b.parent == -1 and b.at_step == at and b.steps[0].committed == (pos,)
    assert all(s.tokens[pos] == forced for s in b.steps)
    assert MASK_ID not in b.steps[-1].tokens
    assert out.steps == trace.steps  # the main run is untouched
    # One-token-per-pass schedule: the masks left after the edit, one per pass.
    assert len(b.steps) - 1 == trace.steps[at].tokens.count(MASK_ID) - 1


def test_a_remasked_token_is_written_again(loaded):
    trace = run(loaded)
    at = 10
    pos = trace.steps[2].committed[0]  # committed long before step 10
    out = branch(loaded, trace, at, [(pos, MASK_ID)])
    b = out.branches[0]
    assert b.steps[0].tokens[pos] == MASK_ID and b.steps[0].remasked == (pos,)
    assert b.steps[-1].tokens[pos] != MASK_ID and MASK_ID not in b.steps[-1].tokens
    assert any(pos in s.committed for s in b.steps[1:])


def test_same_seed_same_branch(loaded):
    trace = run(loaded, temperature=1.0, seed=5)
    pos = trace.steps[4].tokens.index(MASK_ID)
    a = branch(loaded, trace, 4, [(pos, 7)], seed=11)
    b = branch(loaded, trace, 4, [(pos, 7)], seed=11)
    c = branch(loaded, trace, 4, [(pos, 7)], seed=12)
    made = lambda t: [(s.tokens, s.committed, s.proposals) for s in t.branches[0].steps]  # noqa: E731 - not timing
    assert made(a) == made(b)
    assert a.branches[0].steps[-1].tokens != c.branches[0].steps[-1].tokens


def test_branches_of_branches_round_trip_through_json(loaded):
    trace = run(loaded, block_length=8)
    pos = trace.steps[5].tokens.index(MASK_ID)
    one = branch(loaded, trace, 5, [(pos, 9)])
    two = branch(loaded, one, 9, [(0, MASK_ID), (15, 8)], parent=0)
    assert [b.parent for b in two.branches] == [-1, 0]
    text = two.to_json()
    back = Trace.from_json(text)
    assert back == two
    assert back.line(1)[:10] == two.line(0)[:10] and back.line(1)[-1].tokens[15] == 8
    assert "branches" not in json.loads(trace.to_json())  # a trace without branches is written as before
    assert Trace.from_json(trace.to_json()) == trace


@pytest.mark.parametrize("spoil,fragment", [
    (lambda b: b.update(parent=1), "earlier branch"),
    (lambda b: b.update(at_step=999), "step it does not have"),
    (lambda b: b["edits"].append({"position": 99, "token": 4}), "inside the canvas"),
    (lambda b: b.update(steps=[]), "no steps"),
])
def test_a_spoiled_branch_is_refused_with_a_sentence(loaded, spoil, fragment):
    trace = run(loaded)
    data = json.loads(branch(loaded, trace, 2, [(trace.steps[2].tokens.index(MASK_ID), 5)]).to_json())
    spoil(data["branches"][0])
    with pytest.raises(ValueError, match=fragment):
        Trace.from_json(json.dumps(data))


def test_bad_edits_are_refused_before_any_pass(loaded):
    trace = run(loaded)
    with pytest.raises(ValueError, match="outside the canvas"):
        next(runs.continue_from(loaded, trace, 2, [(16, 5)]))
    with pytest.raises(ValueError, match="vocabulary"):
        next(runs.continue_from(loaded, trace, 2, [(0, 10_000)]))
    with pytest.raises(ValueError, match="Force a candidate"):
        next(runs.continue_from(loaded, trace, 2, []))
    with pytest.raises(ValueError, match="Pick a step"):
        next(runs.continue_from(loaded, trace, 16, [(0, 5)]))


def test_the_plots_and_the_replays_follow_the_line_shown(loaded, tmp_path, monkeypatch):
    """Pick a branch: its plots run through its own steps (its parent's up to the edit, then its own), the
    HTML replay and the GIF play that line, and the JSON keeps the whole run with every branch."""
    from llada_demo.web import branches, views
    monkeypatch.setattr(views, "EXPORTS", tmp_path)
    trace = run(loaded)
    pos = trace.steps[5].tokens.index(MASK_ID)
    trace = branch(loaded, trace, 5, [(pos, 9)])
    main, line = branches.line_figures(trace, -1), branches.line_figures(trace, 0)
    assert len(main[0].data[0].z[0]) == len(trace.steps)  # the heatmap's columns: one per step
    assert len(line[0].data[0].z[0]) == len(trace.line(0))
    # The two lines share the steps up to the edit, then part: so do their confidence heatmaps.
    same = lambda k: np.array_equal(np.asarray(main[0].data[0].z)[:, k], np.asarray(line[0].data[0].z)[:, k],  # noqa: E731
                                    equal_nan=True)  # a position not yet masked has no confidence: NaN
    assert same(4) and not same(6)
    replay = Trace.from_json(open(branches.export_line(trace, 0, "json")).read())
    assert replay == trace
    shown_html = open(branches.export_line(trace, 0, "html")).read()
    main_html = open(branches.export_line(trace, -1, "html")).read()
    assert shown_html != main_html

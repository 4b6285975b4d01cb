"""Diffusion vs autoregressive on the shipped pair: lockstep by forward pass, and the AR side stops at
end-of-text as a real AR decoder does (it used to write end-of-text chips to the end, overstating its
passes)."""

import pytest

from llada_demo.engine import runs
from llada_demo.models import load


@pytest.fixture(scope="module")
def pair():
    return load("tiny-llada"), load("tiny-ar")


def test_the_ar_side_stops_at_end_of_text(pair):
    diffusion, ar = pair
    # A held-out couplet's first line: both models learnt that its second line ends the row.
    frames = list(runs.compare(diffusion, ar, "The squirrel sang beside the plain coat,", steps=24, gen_length=24,
                               block_length=24))
    d_last, a_last = frames[-1]
    assert len(frames) == len(d_last.steps) == 24  # the diffusion side runs all its passes
    eos = set(ar.eos_ids)
    written = [t for t in a_last.steps[-1].tokens if t != a_last.mask_id]
    assert written and written[-1] in eos and not any(t in eos for t in written[:-1])
    assert a_last.steps[-1].nfe == len(written) < 24
    # After its last pass the AR pane holds its final frame while the diffusion side goes on.
    assert all(a is a_last for _, a in frames[len(a_last.steps) - 1:])

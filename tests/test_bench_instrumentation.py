"""bench/bench_instrumentation.py's order of the loops: no loop may always run after the same one (a loop's
time depends on what ran before it), so over a cycle of rounds each runs right after each other one once."""

from collections import Counter
from itertools import permutations

import pytest

from bench.bench_instrumentation import balanced_order


@pytest.mark.parametrize("k", [2, 4, 6])
def test_each_loop_runs_right_after_each_other_once_per_cycle(k):
    loops = "ABCDEF"[:k]
    rounds = [balanced_order(loops, n) for n in range(k)]
    assert all(sorted(order) == sorted(loops) for order in rounds)  # every loop once per round
    follows = Counter(pair for order in rounds for pair in zip(order, order[1:]))
    assert follows == Counter(permutations(loops, 2))  # each ordered pair once, within the rounds
    assert sorted(order[0] for order in rounds) == sorted(loops)  # each loop first once
    assert sorted(order[-1] for order in rounds) == sorted(loops)  # and last once

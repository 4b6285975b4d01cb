"""bench/bench_instrumentation.py's lockstep: the loops take turns pass by pass, no loop always runs after the
same one (a loop's time depends on what ran before it), and each loop's time is split as the bench reports it."""

from collections import Counter
from itertools import permutations

import pytest
import torch

from bench import bench_instrumentation as bench
from bench.bench_instrumentation import balanced_order, one_round
from llada_demo.engine import instrument
from llada_demo.models.modeling import TinyConfig, TinyTransformer


@pytest.mark.parametrize("k", [2, 4, 6])
def test_each_loop_runs_right_after_each_other_once_per_cycle(k):
    loops = "ABCDEF"[:k]
    turns = [balanced_order(loops, n) for n in range(k)]
    assert all(sorted(order) == sorted(loops) for order in turns)  # every loop once per turn
    follows = Counter(pair for order in turns for pair in zip(order, order[1:]))
    assert follows == Counter(permutations(loops, 2))  # each ordered pair once, within the turns
    assert sorted(order[0] for order in turns) == sorted(loops)  # each loop first once
    assert sorted(order[-1] for order in turns) == sorted(loops)  # and last once


def test_one_round_advances_every_loop_one_pass_per_turn_until_each_is_done():
    log = []

    def loop(name, passes):
        def run(model, prompt, mask_id):
            for i in range(passes):
                log.append((name, i))
                yield
        run.__name__ = name
        return run

    loops = (loop("A", 3), loop("B", 1), loop("C", 3), loop("D", 2))
    spent = one_round(None, None, None, 1, loops)
    turns = [log[0:4], log[4:7], log[7:9]]  # B is done after the first turn, D after the second
    assert [sorted(name for name, _ in turn) for turn in turns] == [list("ABCD"), list("ACD"), list("AC")]
    assert [name for name, _ in log[:4]] == [fn.__name__ for fn in balanced_order(loops, 1)]
    assert all(i == n for n, turn in enumerate(turns) for _, i in turn)  # each loop's passes in order
    assert all(parts["wall"] > 0 and parts["inside"] == parts["forward"] == 0 for parts in spent.values())


def test_one_round_splits_each_loops_time_and_leaves_the_compiled_loop_in_place():
    torch.manual_seed(0)
    config = TinyConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                        num_attention_heads=2, max_position_embeddings=160)
    model, compiled = TinyTransformer(config).eval(), instrument._compiled
    spent = one_round(model, torch.randint(3, 64, (1, 4)), 2, 0)
    assert instrument._compiled is compiled  # `eager` switched it off for its own turns only
    assert set(spent) == set(bench.LOOPS)
    for parts in spent.values():
        assert 0 < parts["forward"] < parts["inside"] < parts["wall"]
    # the instrumented loops build Steps outside the reverse process; the bare ones nothing
    outside = {fn: parts["wall"] - parts["inside"] for fn, parts in spent.items()}
    assert min(outside[bench.instrumented], outside[bench.eager]) > max(outside[bench.bare], outside[bench.bare_again])

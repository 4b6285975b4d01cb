"""What the page's instrumentation costs: `diffusion.sample` (a Step per forward pass, with top-5
candidates, entropy and probabilities) against a bare loop of the same forward passes and commits
(`diffusion.reverse_process`, drained, no Step built), on two shapes:

- the shipped pair's: the shipped diffusion model itself (assets/models/tiny-llada, 4 layers, 256 wide,
  608-token vocabulary);
- a wide vocabulary: a random 4-layer, 128-wide model with a 4,096-token vocabulary, where the work per
  pass over the vocabulary (softmax, top-k, entropy) weighs most against the network.

    OMP_NUM_THREADS=1 python bench/bench_instrumentation.py [--repeats 12]

Beside the bare loop, a second bare loop (`bare_again`, the same code) is timed as a control: its paired ratio
to the first is this run's noise floor, what the order of the loops and the machine make of no difference at
all. Two instrumented loops are timed: `instrumented`, as the page runs it (on the CPU the compiled loop of
engine/instrument_cpu.py, numba), and `eager`, the same with numba switched off (the torch code, as on a
machine without numba and, operation for operation, as on CUDA). Everything runs in this one process on one
torch thread, the four loops interleaved in a balanced order (each runs right after each other one equally
often; the rounds are rounded up to a multiple of four for it); it prints the median wall time and CPU time of
each, their ratios to the bare loop per shape (goal: at most 1.05 on both), and the median of each round's
own ratio (the runs of a round share the machine's load: the figure to compare). On a machine that other
work shares the ratios move by a few hundredths from run to run, and a loop's time depends on which loop
ran before it; so it also splits each paired ratio in two parts, as shares of the bare loop's time: the
instrumentation's own time (`sample` turning each forward pass into a Step, what the noise moves least) and
how much slower the reverse process itself ran between those Steps (the same forward passes and commits:
caches the Step building leaves cold could slow them, but a probe that put a spin, a 2 MB read or 2,000 new
tuples between the passes found no systematic slowdown, so this part is mostly the host's noise). Ratio ~
1 + own time + that slowdown.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llada_demo.engine import diffusion, instrument  # noqa: E402
from llada_demo.models.modeling import TinyConfig, TinyTransformer  # noqa: E402

SETTINGS = dict(steps=128, gen_length=128, block_length=32, temperature=0.0, cfg_scale=0.0,
                remasking="low_confidence")


OWN: dict = {}     # loop name -> [seconds per run spent between passes: turning each Pass into a Step]
INSIDE: dict = {}  # loop name -> [seconds per run spent inside the reverse process: forward passes, commits]
FORWARD: dict = {}  # loop name -> [seconds per run of those spent in the forward passes (`model_logits`)]


@contextlib.contextmanager
def timed_passes(name):
    """`diffusion.reverse_process`, wrapped for the duration to split each run's time in two: the time inside the
    reverse process (forward passes, scores, commits: the same work in every loop) and the time from handing a
    Pass over to being asked for the next one (the time `sample` spends building that pass's Step, the
    instrumentation's own cost). The first says how much the Step building slows the loop around it (caches
    it leaves cold), the second is what the machine's noise moves least. Of the first, the forward passes
    (`diffusion.model_logits`, the network) are timed apart from the rest (softmax, scores, commits). Every loop
    goes through the wrappers, so their few microseconds per pass fall on all of them alike."""
    original, network = diffusion.reverse_process, diffusion.model_logits
    forward = [0.0]

    def timed_network(*args, **kwargs):
        start = time.perf_counter()
        try:
            return network(*args, **kwargs)
        finally:
            forward[0] += time.perf_counter() - start

    def timed(*args, **kwargs):
        forward[0] = 0.0
        passes, inside, own = original(*args, **kwargs), 0.0, 0.0
        while True:
            asked = time.perf_counter()
            try:
                one = next(passes)
            except StopIteration:
                break
            handed = time.perf_counter()
            inside += handed - asked
            yield one
            own += time.perf_counter() - handed
        INSIDE.setdefault(name, []).append(inside)
        OWN.setdefault(name, []).append(own)
        FORWARD.setdefault(name, []).append(forward[0])

    diffusion.reverse_process, diffusion.model_logits = timed, timed_network
    try:
        yield
    finally:
        diffusion.reverse_process, diffusion.model_logits = original, network


def bare(model, prompt, mask_id, name="bare"):
    x = torch.cat([prompt, torch.full((1, SETTINGS["gen_length"]), mask_id)], dim=1)
    settings = {k: v for k, v in SETTINGS.items() if k != "gen_length"}
    with timed_passes(name):
        for _ in diffusion.reverse_process(model, x, None, prompt_length=prompt.shape[1], mask_id=mask_id,
                                           **settings):
            pass
    return x


def bare_again(model, prompt, mask_id):
    """`bare` once more, timed as a loop of its own: its ratio to `bare` is the bench's noise floor in this run
    (the same code twice, so any distance from 1 is the machine and the loops' order, not instrumentation)."""
    return bare(model, prompt, mask_id, name="bare_again")


def instrumented(model, prompt, mask_id, name="instrumented"):
    with timed_passes(name):
        return list(diffusion.sample(model, prompt, mask_id=mask_id, **SETTINGS))


def eager(model, prompt, mask_id):
    """`instrumented` with the compiled CPU loop switched off, as on a machine without numba (the torch code)."""
    kept, instrument._compiled = instrument._compiled, lambda device_type: None
    try:
        return instrumented(model, prompt, mask_id, name="eager")
    finally:
        instrument._compiled = kept


def shipped():
    from llada_demo.models import load
    loaded = load("tiny-llada", device="cpu")
    return "shipped pair (tiny-llada)", loaded.model, loaded.mask_id


def wide():
    torch.manual_seed(0)
    config = TinyConfig(vocab_size=4096, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
                        num_attention_heads=4, max_position_embeddings=256)
    return "wide vocabulary (random)", TinyTransformer(config).eval(), 2


LOOPS = (bare, bare_again, instrumented, eager)


def balanced_order(loops, n):
    """Round `n`'s order of `loops` (an even number of them), from a Williams square: over len(loops) rounds each
    loop runs directly after each other loop exactly once within the rounds, and first and last equally often.
    Row 0 is 0, 1, k-1, 2, k-2, ...; row n adds n to each index."""
    k = len(loops)
    first = [0] + [(j + 1) // 2 if j % 2 else k - j // 2 for j in range(1, k)]
    return [loops[(i + n) % k] for i in first]


def measure(model, mask_id, repeats):
    """{loop: ([wall s], [CPU s])} over `repeats` rounds, each running every loop once (`balanced_order`)."""
    prompt = torch.randint(3, model.config.vocab_size, (1, 12), generator=torch.Generator().manual_seed(0))
    instrument.prepare("cpu")
    for fn in LOOPS:  # warm-up
        fn(model, prompt, mask_id)
    times = {fn: ([], []) for fn in LOOPS}
    for n in range(repeats):
        # A loop's time depends on the loop that ran just before it (the caches and the allocator state it
        # left): a plain rotation would put each loop after the same one in three rounds of four (the bare loop
        # after the eager one, the instrumented after the control), hence the balanced orders.
        for fn in balanced_order(LOOPS, n):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(model, prompt, mask_id)
            times[fn][0].append(time.perf_counter() - start)
            times[fn][1].append(time.process_time() - start_cpu)
    return times


def report(fn, times, inside, own, forward) -> list[str]:
    """The lines for one instrumented loop against the bare one: medians, their ratio, the paired median;
    then the two parts of the paired ratio (the slower reverse process, the Steps' own time), each as a share
    of the bare loop's time, median of the rounds, and the first split into forward passes and the rest."""
    (b, b_cpu), (i, i_cpu) = times[bare], times[fn]
    med = statistics.median
    ratios = [med(x / y for y, x in zip(base, runs)) for base, runs in ((b, i), (b_cpu, i_cpu))]

    def slower(parts):  # median of the rounds' (this loop's - the bare loop's) / the bare loop's time
        return med((x - y) / t for x, y, t in zip(parts[fn], parts[bare], b))

    rest = {f: [x - y for x, y in zip(inside[f], forward[f])] for f in (fn, bare)}
    return [f"  {fn.__name__ + ':':13s} {med(i):.3f} s wall, {med(i_cpu):.3f} s CPU  ({med(i) / 128 * 1000:.2f} ms per step); "
            f"ratio to bare {med(i) / med(b):.3f} wall, {med(i_cpu) / med(b_cpu):.3f} CPU; "
            f"median of the paired ratios {ratios[0]:.3f} wall, {ratios[1]:.3f} CPU (goal <= 1.05)",
            f"  {'':13s} building the Steps: {med(own[fn]) / 128 * 1e6:.0f} us per step, "
            f"{med(o / x for o, x in zip(own[fn], b)):.1%} of the bare loop's time; its reverse process "
            f"(the same forward passes and commits) took {slower(inside):+.1%} of it more than the bare loop's "
            f"(forward passes {slower(forward):+.1%}, the rest {slower(rest):+.1%})"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=12, help="rounds (rounded up to a multiple of 4)")
    repeats = -(-parser.parse_args(argv).repeats // len(LOOPS)) * len(LOOPS)  # whole cycles of balanced orders
    torch.set_num_threads(1)
    print(f"gen_length 128, steps 128, block 32, greedy low_confidence; 1 torch thread; {repeats} interleaved "
          f"repeats (balanced order)")
    for build in (shipped, wide):
        name, model, mask_id = build()
        params = sum(p.numel() for p in model.parameters())
        times = measure(model, mask_id, repeats)
        c = model.config
        print(f"{name}: {c.num_hidden_layers} layers, {c.hidden_size} wide, vocab {c.vocab_size}, "
              f"{params / 1e6:.2f} M parameters")
        b, b_cpu = (statistics.median(t) for t in times[bare])
        print(f"  bare:         {b:.3f} s wall, {b_cpu:.3f} s CPU  ({b / 128 * 1000:.2f} ms per forward pass)")
        inside, own, forward = ({fn: parts.pop(fn.__name__)[1:] for fn in LOOPS}  # [1:]: no warm-up
                                for parts in (INSIDE, OWN, FORWARD))
        again = statistics.median(x / y for y, x in zip(times[bare][0], times[bare_again][0]))
        print(f"  bare again:   median of the paired ratios {again:.3f} wall (the same loop twice: this run's noise floor)")
        for fn in (instrumented, eager):
            print("\n".join(report(fn, times, inside, own, forward)))


if __name__ == "__main__":
    main()

"""What the page's instrumentation costs: `diffusion.sample` (a Step per forward pass, with top-5
candidates, entropy and probabilities) against a bare loop of the same forward passes and commits
(`diffusion.reverse_process`, drained, no Step built), on two shapes:

- the shipped pair's: the shipped diffusion model itself (assets/models/tiny-llada, 4 layers, 256 wide,
  608-token vocabulary);
- a wide vocabulary: a random 4-layer, 128-wide model with a 4,096-token vocabulary, where the work per
  pass over the vocabulary (softmax, top-k, entropy) weighs most against the network.

    OMP_NUM_THREADS=1 python bench/bench_instrumentation.py [--repeats 8]

Four loops run in each round: `bare`; `bare_again`, the same code, a control whose ratio to `bare` is this
run's noise floor; `instrumented`, as the page runs it (on the CPU the compiled loop of
engine/instrument_cpu.py, numba); and `eager`, the same with numba switched off (the torch code, as on a
machine without numba and, operation for operation, as on CUDA). They run in lockstep, one forward pass at
a time: each loop is a generator on its own canvas, and the four take turns pass by pass, in a balanced order
(each runs right after each other one equally often). The host this runs on is shared, and its speed drifts in
spells of seconds (a bare run of the wide shape once took 0.94-1.55 s within one minute); whole runs timed
back to back, as this bench once did, felt those spells as ±2 % on a ratio from run to run, while passes a
few milliseconds apart feel them alike. Everything runs in this one process on one torch thread.

Per loop and round it sums the time of the loop's passes (wall and CPU), and prints per shape the median over
the rounds of each loop's ratio to the bare loop of the same round (goal: at most 1.05 on both shapes). Each
ratio splits exactly in two parts, as shares of the bare loop's time: the instrumentation's own time (the
time a pass takes outside the reverse process, `sample` turning the Pass into a Step, beyond the bare loop's
few microseconds there) and how much longer the reverse process itself took (the same forward passes and
commits; of it, the forward passes apart).
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
DONE = object()  # what `one_round` gets from a loop that has run its last pass
PARTS = ("wall", "cpu", "inside", "forward")  # what `one_round` sums per loop: see `timed_parts`


def bare(model, prompt, mask_id):
    """The reverse process alone: one turn per forward pass, nothing built from its Pass (which lives until the
    next pass, as in `sample`)."""
    x = torch.cat([prompt, torch.full((1, SETTINGS["gen_length"]), mask_id)], dim=1)
    settings = {k: v for k, v in SETTINGS.items() if k != "gen_length"}
    for _ in diffusion.reverse_process(model, x, None, prompt_length=prompt.shape[1], mask_id=mask_id,
                                       **settings):
        yield


def bare_again(model, prompt, mask_id):
    """`bare` once more, a loop of its own: its ratio to `bare` is the bench's noise floor in this run (the
    same code twice, so any distance from 1 is the machine and the order, not instrumentation)."""
    yield from bare(model, prompt, mask_id)


def instrumented(model, prompt, mask_id):
    """The page's sampler: one Step per forward pass."""
    yield from kept(diffusion.sample(model, prompt, mask_id=mask_id, **SETTINGS))


def eager(model, prompt, mask_id):
    """`instrumented` with the compiled CPU loop switched off during each of its passes, as on a machine
    without numba (the torch code)."""
    yield from kept(torch_code(diffusion.sample(model, prompt, mask_id=mask_id, **SETTINGS)))


def kept(steps):
    """One turn per Step of `steps`, every Step kept until the run ends, as the page keeps them (freeing them
    is part of the run)."""
    every = []
    for step in steps:
        every.append(step)
        yield


def torch_code(steps):
    """`steps`, each produced with `instrument`'s compiled loop switched off (its torch code serves)."""
    while True:
        compiled, instrument._compiled = instrument._compiled, lambda device_type: None
        try:
            step = next(steps, None)
        finally:
            instrument._compiled = compiled
        if step is None:
            return
        yield step


LOOPS = (bare, bare_again, instrumented, eager)


def balanced_order(loops, n):
    """Turn `n`'s order of `loops` (an even number of them), from a Williams square: over len(loops) turns each
    loop runs directly after each other loop exactly once within the turns, and first and last equally often.
    Row 0 is 0, 1, k-1, 2, k-2, ...; row n adds n to each index."""
    k = len(loops)
    first = [0] + [(j + 1) // 2 if j % 2 else k - j // 2 for j in range(1, k)]
    return [loops[(i + n) % k] for i in first]


@contextlib.contextmanager
def timed_parts(spent, current):
    """For the duration, `diffusion.reverse_process` and `diffusion.model_logits` wrapped to add the time each
    of their calls takes to spent[current[0]]["inside"] and ["forward"]: the loop being advanced is the one
    whose reverse process runs. Every loop goes through the wrappers, so their few microseconds per pass fall
    on all of them alike."""
    original, network = diffusion.reverse_process, diffusion.model_logits

    def timed_network(*args, **kwargs):
        start = time.perf_counter()
        try:
            return network(*args, **kwargs)
        finally:
            spent[current[0]]["forward"] += time.perf_counter() - start

    def timed(*args, **kwargs):
        passes = original(*args, **kwargs)
        while True:
            start = time.perf_counter()
            try:
                one = next(passes, None)
            finally:
                spent[current[0]]["inside"] += time.perf_counter() - start
            if one is None:
                return
            yield one

    diffusion.reverse_process, diffusion.model_logits = timed, timed_network
    try:
        yield
    finally:
        diffusion.reverse_process, diffusion.model_logits = original, network


def one_round(model, prompt, mask_id, n, loops=LOOPS) -> dict:
    """{loop: {part: seconds}} for one run of each loop, the loops advanced in lockstep: at turn i each loop
    that is not done runs its next forward pass, in `balanced_order(loops, n + i)`. wall and cpu: the loop's
    turns in all (perf_counter, process_time); inside: of that, the time in the reverse process; forward: of
    that, in the forward passes."""
    spent = {fn: dict.fromkeys(PARTS, 0.0) for fn in loops}
    current = [None]
    with timed_parts(spent, current):
        running = {fn: iter(fn(model, prompt, mask_id)) for fn in loops}  # generators: nothing has run yet
        turn = n
        while running:
            for fn in balanced_order(loops, turn):
                if fn not in running:
                    continue
                current[0] = fn
                start, start_cpu = time.perf_counter(), time.process_time()
                done = next(running[fn], DONE) is DONE
                spent[fn]["wall"] += time.perf_counter() - start
                spent[fn]["cpu"] += time.process_time() - start_cpu
                if done:
                    del running[fn]
            turn += 1
    return spent


def measure(model, mask_id, repeats) -> list[dict]:
    """`one_round`'s sums for `repeats` rounds, after one round of warm-up."""
    prompt = torch.randint(3, model.config.vocab_size, (1, 12), generator=torch.Generator().manual_seed(0))
    instrument.prepare("cpu")
    one_round(model, prompt, mask_id, 0)  # warm-up: the allocator, the caches, the kernels
    return [one_round(model, prompt, mask_id, n) for n in range(repeats)]


def report(fn, rounds) -> list[str]:
    """The lines for one loop against the bare one: its median time, the median of the rounds' ratios (wall,
    CPU), and the ratio's two parts as shares of the bare loop's time (median of the rounds): the time outside
    the reverse process beyond the bare loop's (the Steps' own time) and the longer reverse process (of it,
    the forward passes)."""
    med = statistics.median

    def share(part):  # median over the rounds of (this loop's - the bare loop's) / the bare loop's wall time
        return med((r[fn][part] - r[bare][part]) / r[bare]["wall"] for r in rounds)

    def outside(r, f):
        return r[f]["wall"] - r[f]["inside"]

    wall, cpu = (med(r[fn][part] / r[bare][part] for r in rounds) for part in ("wall", "cpu"))
    own = med((outside(r, fn) - outside(r, bare)) / r[bare]["wall"] for r in rounds)
    per_pass = med((outside(r, fn) - outside(r, bare)) for r in rounds) / SETTINGS["steps"]
    seconds = med(r[fn]["wall"] for r in rounds)
    return [f"  {fn.__name__ + ':':13s} {seconds:.3f} s ({seconds / SETTINGS['steps'] * 1000:.2f} ms per pass); "
            f"median of the rounds' ratios to bare {wall:.3f} wall, {cpu:.3f} CPU (goal <= 1.05)",
            f"  {'':13s} its own time (building the Steps): {per_pass * 1e6:.0f} us per pass, {own:.1%} of the "
            f"bare loop's time; its reverse process took {share('inside'):+.1%} of it more "
            f"(forward passes {share('forward'):+.1%})"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=8, help="rounds (each runs every loop once)")
    repeats = parser.parse_args(argv).repeats
    torch.set_num_threads(1)
    print(f"gen_length 128, steps 128, block 32, greedy low_confidence; 1 torch thread; {repeats} rounds, "
          f"the four loops in lockstep (balanced order pass by pass)")
    for build in (shipped, wide):
        name, model, mask_id = build()
        params = sum(p.numel() for p in model.parameters())
        rounds = measure(model, mask_id, repeats)
        c = model.config
        print(f"{name}: {c.num_hidden_layers} layers, {c.hidden_size} wide, vocab {c.vocab_size}, "
              f"{params / 1e6:.2f} M parameters")
        seconds = statistics.median(r[bare]["wall"] for r in rounds)
        print(f"  bare:         {seconds:.3f} s ({seconds / SETTINGS['steps'] * 1000:.2f} ms per pass)")
        for fn in (bare_again, instrumented, eager):
            print("\n".join(report(fn, rounds)))


def shipped():
    from llada_demo.models import load
    loaded = load("tiny-llada", device="cpu")
    return "shipped pair (tiny-llada)", loaded.model, loaded.mask_id


def wide():
    torch.manual_seed(0)
    config = TinyConfig(vocab_size=4096, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
                        num_attention_heads=4, max_position_embeddings=256)
    return "wide vocabulary (random)", TinyTransformer(config).eval(), 2


if __name__ == "__main__":
    main()

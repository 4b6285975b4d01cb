"""What the page's instrumentation costs: `diffusion.sample` (a Step per forward pass, with top-5
candidates, entropy and probabilities) against a bare loop of the same forward passes and commits
(`diffusion.reverse_process`, drained, no Step built), on two shapes:

- the shipped pair's: the shipped diffusion model itself (assets/models/tiny-llada, 4 layers, 256 wide,
  608-token vocabulary);
- a wide vocabulary: a random 4-layer, 128-wide model with a 4,096-token vocabulary, where the work per
  pass over the vocabulary (softmax, top-k, entropy) weighs most against the network.

    OMP_NUM_THREADS=1 python bench/bench_instrumentation.py [--repeats 7]

Everything runs in this one process on one torch thread, the two loops interleaved in alternating order;
it prints the median wall time and CPU time of each, their ratios per shape (goal: at most 1.05 on both),
and the median of each repeat's own ratio (the two runs of a repeat share the machine's load). On a
machine that other work shares, the CPU-time ratio (this process's time on the CPU, one thread) is the
steadier; from run to run the ratios still move by a few hundredths here.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llada_demo.engine import diffusion  # noqa: E402
from llada_demo.models.modeling import TinyConfig, TinyTransformer  # noqa: E402

SETTINGS = dict(steps=128, gen_length=128, block_length=32, temperature=0.0, cfg_scale=0.0,
                remasking="low_confidence")


def bare(model, prompt, mask_id):
    x = torch.cat([prompt, torch.full((1, SETTINGS["gen_length"]), mask_id)], dim=1)
    settings = {k: v for k, v in SETTINGS.items() if k != "gen_length"}
    for _ in diffusion.reverse_process(model, x, None, prompt_length=prompt.shape[1], mask_id=mask_id, **settings):
        pass
    return x


def instrumented(model, prompt, mask_id):
    return list(diffusion.sample(model, prompt, mask_id=mask_id, **SETTINGS))


def shipped():
    from llada_demo.models import load
    loaded = load("tiny-llada", device="cpu")
    return "shipped pair (tiny-llada)", loaded.model, loaded.mask_id


def wide():
    torch.manual_seed(0)
    config = TinyConfig(vocab_size=4096, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
                        num_attention_heads=4, max_position_embeddings=256)
    return "wide vocabulary (random)", TinyTransformer(config).eval(), 2


def measure(model, mask_id, repeats):
    prompt = torch.randint(3, model.config.vocab_size, (1, 12), generator=torch.Generator().manual_seed(0))
    bare(model, prompt, mask_id), instrumented(model, prompt, mask_id)  # warm-up
    wall, cpu = {bare: [], instrumented: []}, {bare: [], instrumented: []}
    for n in range(repeats):
        # Each repeat runs both loops back to back, in alternating order, so that neither always runs
        # second (into the caches and the allocator state the other left).
        for fn in ((bare, instrumented) if n % 2 == 0 else (instrumented, bare)):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(model, prompt, mask_id)
            wall[fn].append(time.perf_counter() - start)
            cpu[fn].append(time.process_time() - start_cpu)
    # The median of the repeats' own ratios (a pair ran under the same load), beside the medians' ratio.
    paired = [statistics.median(i / b for b, i in zip(t[bare], t[instrumented])) for t in (wall, cpu)]
    return [(statistics.median(t[bare]), statistics.median(t[instrumented])) for t in (wall, cpu)], paired


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args(argv).repeats
    torch.set_num_threads(1)
    print(f"gen_length 128, steps 128, block 32, greedy low_confidence; 1 torch thread; {repeats} interleaved repeats (alternating order)")
    for build in (shipped, wide):
        name, model, mask_id = build()
        params = sum(p.numel() for p in model.parameters())
        ((b, i), (b_cpu, i_cpu)), (pair_wall, pair_cpu) = measure(model, mask_id, repeats)
        c = model.config
        print(f"{name}: {c.num_hidden_layers} layers, {c.hidden_size} wide, vocab {c.vocab_size}, "
              f"{params / 1e6:.2f} M parameters")
        print(f"  bare loop:    {b:.3f} s wall, {b_cpu:.3f} s CPU  ({b / 128 * 1000:.2f} ms per forward pass)")
        print(f"  instrumented: {i:.3f} s wall, {i_cpu:.3f} s CPU  ({i / 128 * 1000:.2f} ms per step)")
        print(f"  ratio instrumented / bare: {i / b:.3f} wall-clock, {i_cpu / b_cpu:.3f} CPU time (goal <= 1.05)")
        print(f"  median of the paired ratios: {pair_wall:.3f} wall-clock, {pair_cpu:.3f} CPU time")


if __name__ == "__main__":
    main()

"""What the page's instrumentation costs: `diffusion.sample` (a Step per forward pass, with top-5
candidates, entropy and probabilities) against a bare loop of the same forward passes and commits
(`diffusion.reverse_process`, drained, no Step built).

    OMP_NUM_THREADS=1 python bench/bench_instrumentation.py

Both run in this one process, interleaved, on a random model the size of the shipped one; it prints
the median wall time of each and their ratio (goal: at most 1.05).
"""

import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llada_demo.engine import diffusion  # noqa: E402
from llada_demo.models.modeling import TinyConfig, TinyTransformer  # noqa: E402
from llada_demo.tinyworld.train import SIZES  # noqa: E402

MASK_ID, VOCAB = 2, 1200
SETTINGS = dict(steps=128, gen_length=128, block_length=32, temperature=0.0, cfg_scale=0.0,
                remasking="low_confidence", mask_id=MASK_ID)


def bare(model, prompt):
    x = torch.cat([prompt, torch.full((1, SETTINGS["gen_length"]), MASK_ID)], dim=1)
    settings = {k: v for k, v in SETTINGS.items() if k != "gen_length"}
    for _ in diffusion.reverse_process(model, x, None, prompt_length=prompt.shape[1], **settings):
        pass
    return x


def instrumented(model, prompt):
    return list(diffusion.sample(model, prompt, **SETTINGS))


def main(repeats: int = 7):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    hidden, inter, layers, heads = SIZES["small"]
    model = TinyTransformer(TinyConfig(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=inter,
                                       num_hidden_layers=layers, num_attention_heads=heads)).eval()
    prompt = torch.randint(3, VOCAB, (1, 12))
    params = sum(p.numel() for p in model.parameters())
    bare(model, prompt), instrumented(model, prompt)  # warm-up
    times = {"bare": [], "instrumented": []}
    for _ in range(repeats):
        for name, fn in (("bare", bare), ("instrumented", instrumented)):
            start = time.perf_counter()
            fn(model, prompt)
            times[name].append(time.perf_counter() - start)
    b, i = statistics.median(times["bare"]), statistics.median(times["instrumented"])
    print(f"model: {params / 1e6:.2f} M parameters, vocab {VOCAB}; gen_length 128, steps 128, block 32; "
          f"1 torch thread; {repeats} interleaved repeats")
    print(f"bare loop:    {b:.3f} s  ({b / 128 * 1000:.2f} ms per forward pass)")
    print(f"instrumented: {i:.3f} s  ({i / 128 * 1000:.2f} ms per step)")
    print(f"ratio instrumented / bare: {i / b:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()

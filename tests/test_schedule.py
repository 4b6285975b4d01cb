"""The pure rules: commit counts per step, block spans, settings checks, Gumbel noise."""

import pytest
import torch

from llada_demo.engine.schedule import add_gumbel_noise, block_spans, check_settings, num_transfer_tokens


@pytest.mark.parametrize("masked,steps", [(32, 32), (32, 8), (32, 5), (7, 3), (1, 1), (128, 100), (5, 7)])
def test_transfer_counts_sum_to_masked_and_front_load_remainder(masked, steps):
    counts = num_transfer_tokens(masked, steps)
    assert len(counts) == steps and sum(counts) == masked
    assert max(counts) - min(counts) <= 1
    assert counts == sorted(counts, reverse=True)  # the remainder goes to the first steps


def test_transfer_counts_match_llada_examples():
    assert num_transfer_tokens(10, 4) == [3, 3, 2, 2]
    assert num_transfer_tokens(128, 128) == [1] * 128


def test_block_spans_tile_the_region():
    assert block_spans(12, 4) == [(0, 4), (4, 8), (8, 12)]
    assert block_spans(8, 8) == [(0, 8)]


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(steps=8, gen_length=10, block_length=4), "must divide"),
    (dict(steps=6, gen_length=16, block_length=4), "multiple of the number of blocks"),
    (dict(steps=0, gen_length=16, block_length=4), "steps must be at least 1"),
    (dict(steps=4, gen_length=-16, block_length=4), "gen_length must be at least 1"),
    (dict(steps=4, gen_length=16, block_length=0), "block_length must be at least 1"),
    (dict(steps=32, gen_length=16, block_length=16), "at most 16 steps"),
    (dict(steps=4, gen_length=16, block_length=16, temperature=-1.0), "temperature must be 0 or more"),
    (dict(steps=4, gen_length=16, block_length=16, cfg_scale=-0.5), "cfg_scale must be 0 or more"),
    (dict(steps=4, gen_length=16, block_length=16, remasking="top_p"), "Unknown remasking"),
    (dict(steps=4.5, gen_length=16, block_length=16), "whole number"),
    (dict(steps=4, gen_length=16, block_length=16, temperature=float("nan")), "must be a number"),
])
def test_bad_settings_raise_a_sentence(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        check_settings(**kwargs)


RULE = dict(steps=16, gen_length=16, block_length=8)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(threshold=0.0), "threshold must be above 0"),
    (dict(threshold=-0.5), "threshold must be above 0"),
    (dict(threshold=float("nan")), "threshold must be a number"),
    (dict(threshold="0.9"), "threshold must be a number"),
    (dict(entropy_bound=0), "entropy_bound must be above 0"),
    (dict(entropy_bound=-1.0), "entropy_bound must be above 0"),
    (dict(entropy_bound=float("inf")), "entropy_bound must be a number"),
    (dict(threshold=0.9, entropy_bound=0.5), "threshold and entropy_bound cannot be combined"),
    (dict(threshold=0.9, remdm_number=1), "threshold and remdm_number cannot be combined"),
    (dict(entropy_bound=0.5, remdm_number=1), "ReMDM runs on LLaDA's fixed schedule"),
    (dict(threshold=0.9, remasking="entropy"), "never above 0"),
    (dict(remdm_number=0), "remdm_number"),
    (dict(remdm_number=9), "from 1 to the block length"),
    (dict(remdm_number=1.0), "whole number"),
    (dict(remdm_number=1, max_revisions=0), "max_revisions"),
    (dict(remasking="confidence"), "choose one of low_confidence, random, margin, entropy"),
])
def test_bad_rule_settings_raise_a_sentence(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        check_settings(**RULE, **kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(threshold=0.9), dict(threshold=1.5), dict(threshold=0.5, remasking="margin"), dict(threshold=0.9, remasking="random"),
    dict(entropy_bound=0.1), dict(entropy_bound=2, remasking="entropy"), dict(remdm_number=1),
    dict(remdm_number=8, max_revisions=3, remasking="random"), dict(remasking="margin"), dict(remasking="entropy"),
])
def test_every_rule_setting_that_can_run_passes(kwargs):
    check_settings(**RULE, **kwargs)


def test_block_error_suggests_a_divisor():
    with pytest.raises(ValueError, match="try 5"):
        check_settings(steps=10, gen_length=10, block_length=6)


def test_gumbel_noise_is_identity_at_zero_and_draws_no_random_numbers():
    logits = torch.randn(2, 3, 5)
    state = torch.get_rng_state()
    assert add_gumbel_noise(logits, 0.0) is logits
    assert torch.equal(state, torch.get_rng_state())


def test_gumbel_noise_with_generator_equals_global_stream():
    logits = torch.randn(2, 3, 5)
    torch.manual_seed(7)
    a = add_gumbel_noise(logits, 0.7)
    b = add_gumbel_noise(logits, 0.7, torch.Generator().manual_seed(7))
    assert a.dtype == torch.float64 and torch.equal(a, b)


def test_gumbel_max_samples_follow_the_softmax():
    # The argmax of exp(logits) / (-log u) is a draw from softmax(logits) at temperature 1.
    logits = torch.tensor([[0.0, 1.0, 2.0]]).expand(20000, 3)
    torch.manual_seed(0)
    draws = add_gumbel_noise(logits, 1.0).argmax(-1)
    freq = torch.bincount(draws, minlength=3).double() / draws.numel()
    assert torch.allclose(freq, torch.softmax(logits[0].double(), -1), atol=0.015)

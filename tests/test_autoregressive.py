"""The AR twin: equals transformers' greedy generate, the KV-cache path equals the no-cache path,
seeded sampling is reproducible, and it stops at end-of-text when asked to."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from llada_demo.engine import autoregressive
from tests.conftest import VOCAB


def prompt(n=5, seed=0):
    return torch.randint(4, VOCAB, (1, n), generator=torch.Generator().manual_seed(seed))


def tokens(stream):
    return [s.tokens[s.committed[0]] for s in stream]


def llama():
    """A transformers model that is not ours: the sampler must work with any causal LM."""
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128)
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("which", ["ours", "llama"])
def test_greedy_equals_transformers_generate(ar_model, which):
    model = ar_model if which == "ours" else llama()
    p = prompt(6, seed=2)
    stream = list(autoregressive.sample(model, p, gen_length=20))
    expected = model.generate(p, max_new_tokens=20, min_new_tokens=20, do_sample=False, pad_token_id=0)[0, 6:]
    assert tokens(stream) == expected.tolist()


@pytest.mark.parametrize("which", ["ours", "llama"])
@pytest.mark.parametrize("temperature", [0.0, 1.3])
def test_kv_cache_path_equals_no_cache_path(ar_model, which, temperature):
    model = ar_model if which == "ours" else llama()
    runs = []
    for use_cache in (True, False):
        g = torch.Generator().manual_seed(3)
        runs.append(list(autoregressive.sample(model, prompt(), gen_length=16, temperature=temperature,
                                               use_cache=use_cache, generator=g)))
    assert tokens(runs[0]) == tokens(runs[1])
    cached, uncached = ([s.probability[s.index] for s in run] for run in runs)
    assert cached == pytest.approx(uncached, abs=2e-4)


def test_seeded_sampling_is_reproducible_and_varies_with_the_seed(ar_model):
    def run(seed):
        torch.manual_seed(seed)
        return tokens(autoregressive.sample(ar_model, prompt(), gen_length=24, temperature=1.5))
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_one_token_per_step_left_to_right(ar_model):
    stream = list(autoregressive.sample(ar_model, prompt(), gen_length=10, mask_id=-1))
    for i, step in enumerate(stream):
        assert step.index == i and step.committed == (i,) and step.nfe == i + 1
        assert step.tokens[i + 1:] == (-1,) * (10 - i - 1)
        assert -1 not in step.tokens[:i + 1]
        assert len(step.top_ids[i]) == 5 and step.top_ids[i][0] == step.tokens[i]
        assert [c is not None for c in step.confidence] == [p == i for p in range(10)]


def test_stops_after_end_of_text(ar_model):
    full = tokens(autoregressive.sample(ar_model, prompt(), gen_length=12))
    stop = full[4]
    stream = list(autoregressive.sample(ar_model, prompt(), gen_length=12, stop_ids=[stop]))
    assert tokens(stream) == full[:full.index(stop) + 1]


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(gen_length=0), "at least 1"),
    (dict(gen_length=8, temperature=-1), "temperature"),
    (dict(gen_length=500), "context of 128 tokens"),
])
def test_bad_settings_raise(ar_model, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        autoregressive.sample(ar_model, prompt(), **kwargs)


def test_empty_prompt_is_refused(ar_model):
    with pytest.raises(ValueError, match="non-empty prompt"):
        autoregressive.sample(ar_model, torch.zeros((1, 0), dtype=torch.long), gen_length=4)

"""Fast-dLLM's block-wise cache (engine/cache.py, models/modeling.py's BlockCache): what must hold exactly
(the kept keys and values reproduce the model; a block's first pass is the uncached pass; with nothing stale
the cache changes nothing), the reverse process's invariants under the approximation, and its refusals."""

import pytest
import torch

from llada_demo.engine import diffusion
from llada_demo.engine.schedule import block_spans
from llada_demo.models.modeling import TinyConfig, TinyTransformer
from tests.conftest import MASK_ID, VOCAB, tiny

MODES = ("prefix", "dual")


def one_layer(seed: int = 0) -> TinyTransformer:
    """A bidirectional model with one layer: its keys and values depend only on each token and its position,
    so keys kept from an earlier canvas are still right for every token that has not changed since."""
    torch.manual_seed(seed)
    config = TinyConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                        num_attention_heads=2, max_position_embeddings=128)
    model = TinyTransformer(config).eval()
    with torch.no_grad():
        model.embed_tokens.weight.mul_(10)
    return model


def prompt(n=5, seed=0, batch=1):
    return torch.randint(4, VOCAB, (batch, n), generator=torch.Generator().manual_seed(seed))


def settings(**kw):
    return dict(dict(steps=12, gen_length=24, block_length=8, mask_id=MASK_ID), **kw)


@pytest.mark.parametrize("span", [(10, 30), (10, 18), (0, 30), (29, 30)])
@pytest.mark.parametrize("padded", [False, True])
def test_kept_keys_and_values_reproduce_the_models_logits_on_any_span(span, padded):
    model = tiny(causal=False)
    x = torch.randint(4, VOCAB, (2, 30), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(x)
    if padded:
        mask[0, :4] = 0
    mask = mask if padded else None
    plain = model(x, attention_mask=mask).logits  # (2, 30, V)
    kept = model(x, attention_mask=mask, keep_kv=True)
    assert torch.equal(kept.logits, plain)  # keeping costs nothing to the pass itself
    start, end = span
    reused = model(x[:, start:end], attention_mask=mask, block_cache=kept.past_key_values, span=span).logits
    assert torch.allclose(reused, plain[:, start:end], atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", [dict(), dict(temperature=0.8), dict(remasking="random", temperature=1.0),
                                dict(threshold=0.5), dict(entropy_bound=1.0, remasking="entropy"),
                                dict(remdm_number=2), dict(steps=24, block_length=24)])
def test_every_block_starts_with_the_uncached_pass_and_every_position_is_committed_once(mode, kw):
    model = tiny(causal=False)
    s = settings(**kw)
    fed = []  # tokens fed to each forward pass
    handle = model.register_forward_pre_hook(lambda module, args: fed.append(args[0].shape[1]))
    stream = list(diffusion.sample(model, prompt(), cache=mode, generator=torch.Generator().manual_seed(3), **s))
    handle.remove()
    spans = block_spans(s["gen_length"], s["block_length"])
    # A block's first pass feeds the whole canvas; its others feed the block (dual) or the block onwards (prefix).
    N = 5 + s["gen_length"]
    fed_by_block = {}
    for step, n in zip(stream, fed):
        fed_by_block.setdefault(step.block, []).append(n)
    for block, ns in fed_by_block.items():
        start, end = spans[block]
        assert ns[0] == N and set(ns[1:]) <= {end - start if mode == "dual" else N - 5 - start}
    assert len(fed) == len(stream)
    previous, first_of_block = (MASK_ID,) * s["gen_length"], set()
    revisions = 0
    for step in stream:
        start, end = spans[step.block]
        before = [MASK_ID if p in step.remasked else t for p, t in enumerate(previous)]
        assert all(start <= p < end and before[p] == MASK_ID for p in step.committed)
        if step.block not in first_of_block:  # the block's first pass: the whole canvas, as without a cache
            first_of_block.add(step.block)
            canvas = torch.cat([prompt(), torch.tensor([previous])], dim=1)
            probs = model(canvas).logits[0, 5:].softmax(-1)  # (L, V)
            expected = probs.gather(-1, torch.tensor(step.proposals)[:, None])[:, 0]
            assert step.probability == pytest.approx(expected.tolist(), abs=1e-4)
        revisions += len(step.remasked)
        previous = step.tokens
    assert first_of_block == set(range(len(spans)))
    assert MASK_ID not in stream[-1].tokens
    assert sum(len(s.committed) for s in stream) == s["gen_length"] + revisions
    assert len(stream) <= (2 if "remdm_number" in kw else 1) * s["steps"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", [dict(), dict(temperature=0.7), dict(threshold=0.3), dict(remasking="margin")])
def test_with_nothing_stale_the_cache_changes_nothing(mode, kw):
    """A one-layer model (keys depend only on each token) and, separately, one block with no prompt (the span
    is the whole canvas): the cached run's tokens and commits are the uncached run's."""
    for model, p, s in ((one_layer(), prompt(), settings(**kw)),
                        (tiny(causal=False), prompt(0), settings(steps=16, gen_length=16, block_length=16, **kw))):
        runs = []
        for cache in (None, mode):
            runs.append([(st.tokens, st.committed, st.proposals) for st in
                         diffusion.sample(model, p, cache=cache, generator=torch.Generator().manual_seed(5), **s)])
        assert runs[0] == runs[1]


@pytest.mark.parametrize("mode", MODES)
def test_a_cached_run_is_deterministic_and_generate_returns_what_sample_streams(mode):
    model = tiny(causal=False, seed=2)
    s = settings(temperature=0.9, remasking="random")
    streams = [[st.tokens for st in diffusion.sample(model, prompt(), cache=mode,
                                                     generator=torch.Generator().manual_seed(7), **s)] for _ in range(2)]
    assert streams[0] == streams[1]
    out = diffusion.generate(model, prompt(), cache=mode, generator=torch.Generator().manual_seed(7), **s)
    assert tuple(out[0, 5:].tolist()) == streams[0][-1]


@pytest.mark.parametrize("mode", MODES)
def test_a_left_padded_row_decodes_as_it_does_alone(mode):
    model = one_layer(seed=1)
    p = prompt(6, seed=4, batch=2)
    p[0, :2] = 0
    mask = torch.ones_like(p)
    mask[0, :2] = 0
    batch = diffusion.generate(model, p, attention_mask=mask, cache=mode, **settings())
    alone = diffusion.generate(model, p[:1, 2:], cache=mode, **settings())
    assert torch.equal(batch[0, 6:], alone[0, 4:])


@pytest.mark.parametrize("model,kw,fragment", [
    (tiny(causal=True), dict(cache="prefix"), "bidirectional TinyTransformer"),
    (torch.nn.Identity(), dict(cache="dual"), "run this model with cache=None"),
    (tiny(causal=False), dict(cache="prefix", cfg_scale=1.0), "classifier-free guidance"),
    (tiny(causal=False), dict(cache="suffix"), "choose None"),
])
def test_a_cache_the_model_cannot_run_is_refused_before_any_pass(model, kw, fragment):
    calls = []
    handle = model.register_forward_pre_hook(lambda *a: calls.append(1))
    for run in (diffusion.sample, diffusion.generate):
        with pytest.raises(ValueError, match=fragment):
            run(model, prompt(), **settings(), **kw)
    handle.remove()
    assert calls == []

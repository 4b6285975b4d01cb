"""The page's numbers per pass (llada_demo/engine/instrument.py) against plain references: torch.topk for
the candidates, the float64 entropy -sum p log p, probs.gather for the guess's probability; and the
sampler's Steps against Steps built from those references on the same passes."""

import math

import pytest
import torch

from llada_demo.engine import diffusion
from llada_demo.engine.instrument import Measured, Scratch, class_count, measure, to_host, top_k


def float64_entropy(logits: torch.Tensor) -> torch.Tensor:
    """-sum p log p in float64; a ruled-out token (-inf) counts 0."""
    logp = logits.double().log_softmax(-1)
    return -(logp.exp() * logp).nan_to_num(0.0).sum(-1)


def random_logits(rows: int, vocab: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """Flat to peaked rows (scales 0.5 to 12), shifted by `shift` (logits of +-30 and more)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, vocab, generator=g) * torch.linspace(0.5, 12, rows)[:, None] + shift


def row_patterns(length: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    suffix = torch.arange(length) >= length // 3
    ragged = suffix.clone()
    ragged[length // 3:length // 2] = torch.rand(length // 2 - length // 3, generator=g) < 0.5
    ragged[length // 3] = True
    return {
        "all": torch.ones(length, dtype=torch.bool),
        "none": torch.zeros(length, dtype=torch.bool),
        "one": torch.arange(length) == length // 2,
        "suffix": suffix,  # a later block still masked: worked on in place
        "ragged": ragged,  # the current block partly committed, later ones masked: in place, some rows dropped
        "scattered": torch.rand(length, generator=g) < 0.3,  # copied
        "ends": (torch.arange(length) == 0) | (torch.arange(length) == length - 1),  # copied
    }


def check(m, probs, logits, rows, k, atol):
    reference = probs.topk(min(k, probs.shape[-1]), dim=-1)
    where = rows.nonzero()[:, 0]
    assert torch.equal(m.rows, where)
    assert torch.equal(m.top_probs, reference.values[where])
    assert torch.equal(m.top_ids, reference.indices[where])
    assert torch.equal(m.probability, probs.gather(-1, probs.argmax(-1)[:, None])[:, 0])
    assert m.entropy.shape == (len(where),) and not m.entropy.isnan().any()
    assert (m.entropy >= 0).all()
    truth = float64_entropy(logits)[where]
    assert (m.entropy.double() - truth).abs().max().item() <= atol if len(where) else True


@pytest.mark.parametrize("vocab", [7, 608, 1300, 4096, 5000, 32003])
@pytest.mark.parametrize("shift", [0.0, 30.0, -30.0])
def test_measure_is_the_plain_reference(vocab, shift):
    length = 24 if vocab > 10_000 else 40
    logits = random_logits(length, vocab, seed=vocab + int(shift), shift=shift)
    logits[:5, 3] = -torch.inf  # a token the model rules out
    logits[7, ::2] = -torch.inf  # half the vocabulary ruled out
    probs = logits.softmax(-1)
    guesses = probs.argmax(-1)
    scratch = Scratch()
    for name, rows in row_patterns(length, vocab).items():
        for given in (logits, None):  # with the logits, and from the probabilities alone
            m = measure(probs, guesses, rows, 5, given, scratch)
            check(m, probs, logits, rows, 5, atol=1e-5 if given is not None else 3e-5)


def test_measure_in_half_precision_reads_float32_copies():
    logits = random_logits(32, 4096, seed=3).bfloat16()
    probs = logits.softmax(-1)
    rows = torch.arange(32) >= 10
    m = measure(probs, probs.argmax(-1), rows, 5, logits)
    reference = probs.float().topk(5, dim=-1)
    assert torch.equal(m.top_probs, reference.values[rows]) and m.top_probs.dtype == torch.float32
    truth = float64_entropy(logits.float())[rows]
    assert (m.entropy.double() - truth).abs().max().item() < 1e-2  # bf16 probabilities: about 3 digits


def test_a_row_sure_of_one_token_has_no_entropy():
    logits = torch.full((3, 4096), -torch.inf)
    logits[:, 9] = 5.0
    logits[1, 10] = 5.0  # two tokens alike: log 2
    probs = logits.softmax(-1)
    m = measure(probs, probs.argmax(-1), torch.ones(3, dtype=torch.bool), 5, logits)
    assert m.entropy.tolist() == pytest.approx([0.0, math.log(2), 0.0], abs=1e-6)
    assert m.top_ids[:, 0].tolist() in ([9, 9, 9], [9, 10, 9])


@pytest.mark.parametrize("vocab", [5, 9, 64, 608, 1280, 1300, 4096, 4097, 5000, 32000, 126464])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_top_k_is_torch_topk(vocab, k):
    probs = random_logits(8, vocab, seed=vocab * k).softmax(-1)
    values, ids = top_k(probs, k)
    reference = probs.topk(min(k, vocab), dim=-1)
    assert torch.equal(values, reference.values) and torch.equal(ids, reference.indices)


def test_top_k_finds_the_best_in_the_last_entries_no_class_holds():
    vocab = 4096 + 37
    C = class_count(vocab, 5)
    assert vocab % C  # some entries lie past the last whole row of classes
    probs = torch.rand(4, vocab)
    probs[:, -3:] = 2.0 + torch.arange(3.0)  # the three best at the very end
    values, ids = top_k(probs, 5)
    reference = probs.topk(5, dim=-1)
    assert torch.equal(values, reference.values) and torch.equal(ids, reference.indices)


def test_to_host_rounds_as_float64_and_returns_ints():
    g = torch.Generator().manual_seed(0)
    floats = torch.randn(1000, generator=g) * 10
    floats[:3] = torch.tensor([torch.inf, -torch.inf, torch.nan])
    ids = torch.randint(0, 100, (4, 5), generator=g)
    flags = torch.rand(7, generator=g) < 0.5
    got_floats, got_ids, got_flags = to_host(floats, ids, flags)
    expected = floats.double().mul(1e4).round().div(1e4).tolist()
    assert got_floats[3:] == expected[3:]
    assert got_floats[0] == math.inf and got_floats[1] == -math.inf and math.isnan(got_floats[2])
    assert got_ids == ids.flatten().tolist() and got_flags == flags.long().tolist()
    assert all(type(i) is int for i in got_ids + got_flags)


def reference_measure(probs, guesses, rows, k, logits=None, scratch=None):
    """What `measure` computes, written plainly (torch.topk, float64 entropy), for the comparison below."""
    where = rows.nonzero()[:, 0]
    values, ids = probs.float().topk(min(k, probs.shape[-1]), dim=-1)
    entropy = float64_entropy(logits if logits is not None else probs.double().log())
    return Measured(probability=probs.gather(-1, guesses[:, None])[:, 0], rows=where, top_ids=ids[where],
                    top_probs=values[where], entropy=entropy[where].float(), positions=tuple(where.tolist()))


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_sample_steps_are_those_of_the_plain_reference(monkeypatch, temperature):
    """On the shipped pair's model, every field of every Step equals the one built from the reference
    numbers (entropy: within the rounding's last digit)."""
    from llada_demo.models import load

    loaded = load("tiny-llada", device="cpu")
    prompt = torch.randint(3, loaded.model.config.vocab_size, (1, 10), generator=torch.Generator().manual_seed(1))
    settings = dict(steps=32, gen_length=32, block_length=8, temperature=temperature, mask_id=loaded.mask_id)

    def run():
        return list(diffusion.sample(loaded.model, prompt, generator=torch.Generator().manual_seed(2), **settings))

    ours = run()
    monkeypatch.setattr(diffusion, "measure", reference_measure)
    theirs = run()
    assert len(ours) == len(theirs) == 32
    for a, b in zip(ours, theirs):
        assert (a.tokens, a.committed, a.proposals, a.confidence, a.probability, a.top_ids, a.top_probs) == \
            (b.tokens, b.committed, b.proposals, b.confidence, b.probability, b.top_ids, b.top_probs)
        assert [h is None for h in a.entropy] == [h is None for h in b.entropy]
        assert all(abs(h - r) <= 1.0001e-4 for h, r in zip(a.entropy, b.entropy) if h is not None)

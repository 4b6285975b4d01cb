"""The page's numbers per pass (llada_demo/engine/instrument.py, and its compiled CPU loop in
instrument_cpu.py) against plain references: torch.topk for the candidates, the float64 entropy
-sum p log p, probs.gather for the guess's probability; the two paths against each other; and the
sampler's Steps against Steps built from those references on the same passes."""

import math

import pytest
import torch

from llada_demo.engine import diffusion, instrument, instrument_cpu
from llada_demo.engine.instrument import Measured, Scratch, class_count, measure, to_host, top_k


def float64_entropy(logits: torch.Tensor) -> torch.Tensor:
    """-sum p log p in float64; a ruled-out token (-inf) counts 0."""
    logp = logits.double().log_softmax(-1)
    return -(logp.exp() * logp).nan_to_num(0.0).sum(-1)


def rounded_reference(values: torch.Tensor) -> list:
    """Floats as the Steps carry them: float64, times 10^4 rounded half to even, over 10^4 (torch's round)."""
    return values.double().mul(1e4).round().div(1e4).tolist()


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


def same_top_k(values, ids, probs, reference):
    """torch.topk's answer, ties aside: the same values; each id a distinct entry holding its value; the same
    id wherever that value is not tied in its row (torch.topk orders tied entries as its kernel happens to)."""
    assert torch.equal(values, reference.values)
    assert torch.equal(probs.gather(-1, ids), values)
    assert all(len(set(row)) == len(row) for row in ids.tolist())
    tied = (probs[:, None, :] == values[:, :, None]).sum(-1) > 1  # (M, k)
    assert torch.equal(ids[~tied], reference.indices[~tied])


def check(m, probs, logits, rows, k, atol):
    reference = probs.topk(min(k, probs.shape[-1]), dim=-1)
    where = rows.nonzero()[:, 0]
    assert torch.equal(m.rows, where)
    same_top_k(m.top_probs, m.top_ids, probs[where], torch.return_types.topk((reference.values[where],
                                                                               reference.indices[where])))
    assert torch.equal(m.probability, probs.gather(-1, probs.argmax(-1)[:, None])[:, 0])
    assert m.entropy.shape == (len(where),) and not m.entropy.isnan().any()
    assert (m.entropy >= 0).all()
    truth = float64_entropy(logits)[where]
    assert (m.entropy.double() - truth).abs().max().item() <= atol if len(where) else True


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "eager"])
@pytest.mark.parametrize("vocab", [7, 608, 1300, 4096, 5000, 32003])
@pytest.mark.parametrize("shift", [0.0, 30.0, -30.0])
def test_measure_is_the_plain_reference(vocab, shift, compiled):
    length = 24 if vocab > 10_000 else 40
    logits = random_logits(length, vocab, seed=vocab + int(shift), shift=shift)
    logits[:5, 3] = -torch.inf  # a token the model rules out
    logits[7, ::2] = -torch.inf  # half the vocabulary ruled out
    probs = logits.softmax(-1)
    guesses = probs.argmax(-1)
    scratch = Scratch()
    for name, rows in row_patterns(length, vocab).items():
        for given in (logits, None):  # with the logits, and from the probabilities alone
            m = measure(probs, guesses, rows, 5, given, scratch, compiled=compiled)
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


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "eager"])
def test_a_row_sure_of_one_token_has_no_entropy(compiled):
    logits = torch.full((3, 4096), -torch.inf)
    logits[:, 9] = 5.0
    logits[1, 10] = 5.0  # two tokens alike: log 2
    probs = logits.softmax(-1)
    m = measure(probs, probs.argmax(-1), torch.ones(3, dtype=torch.bool), 5, logits, compiled=compiled)
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


def test_the_compiled_loop_serves_float32_on_the_cpu_and_agrees_with_the_eager_code():
    """The sampler's case takes the compiled path (numba is a requirement); half precision, probabilities without
    logits and CUDA tensors do not. Where it serves, the two paths give the same numbers: the same float32
    candidate probabilities, the same ids (no ties in random logits), entropies within float32 rounding."""
    logits = random_logits(96, 126464 // 4, seed=5, shift=20.0)
    probs = logits.softmax(-1)
    assert instrument_cpu.serves(probs, logits)
    assert not instrument_cpu.serves(probs, None)
    assert not instrument_cpu.serves(probs.bfloat16(), logits.bfloat16())
    rows = row_patterns(96, 5)["ragged"]
    guesses = torch.randint(0, probs.shape[-1], (96,), generator=torch.Generator().manual_seed(5))
    fast, eager = (measure(probs, guesses, rows, 5, logits, compiled=c) for c in (True, False))
    assert torch.equal(fast.probability, eager.probability) and torch.equal(fast.rows, eager.rows)
    assert torch.equal(fast.top_probs, eager.top_probs) and torch.equal(fast.top_ids, eager.top_ids)
    assert fast.positions == eager.positions
    assert (fast.entropy.double() - eager.entropy.double()).abs().max().item() < 5e-6
    assert fast.top_ids.dtype == eager.top_ids.dtype and fast.entropy.dtype == eager.entropy.dtype


def random_pass(L: int, vocab: int, seed: int) -> dict:
    """One pass of the sampler for a batch of one, as `instrument.pass_on_host` takes it: a canvas with a
    prompt, masked rows in a ragged pattern, scores -inf where not eligible, a remasked position."""
    g = torch.Generator().manual_seed(seed)
    logits = random_logits(L, vocab, seed=seed, shift=10.0)[None]  # (1, L, V)
    logits[0, 2, :vocab // 2] = -torch.inf  # half the vocabulary ruled out at one row
    probs = logits.softmax(-1)
    rows = row_patterns(L, seed)["ragged"][None]
    score = torch.where(rows, torch.rand(1, L, generator=g), -torch.inf)
    committed = rows & (torch.rand(1, L, generator=g) < 0.2)
    remasked = torch.zeros(1, L, dtype=torch.bool)
    remasked[0, L // 2] = True
    x = torch.randint(0, vocab, (1, 7 + L), generator=g)
    return dict(probs=probs, guesses=probs.argmax(-1), rows=rows, k=5, logits=logits, x=x, committed=committed,
                remasked=remasked, score=score)


@pytest.mark.parametrize("vocab", [7, 608, 4096 + 37])
def test_a_pass_on_the_host_is_the_same_compiled_or_eager(monkeypatch, vocab):
    """`pass_on_host` in one compiled call (instrument_cpu) and as `measure` then `to_host`: the same Step
    fields, but for the entropy's last rounded digit; both against the plain references."""
    one = random_pass(40, vocab, seed=vocab)
    fast = instrument.pass_on_host(scratch=Scratch(), **one)
    monkeypatch.setattr(instrument_cpu, "serves", lambda *args: False)
    eager = instrument.pass_on_host(scratch=Scratch(), **one)
    assert set(fast) == set(eager) == {"tokens", "committed", "proposals", "confidence", "probability", "top_ids",
                                       "top_probs", "entropy", "remasked"}
    assert all(fast[key] == eager[key] for key in fast if key != "entropy")
    assert [h is None for h in fast["entropy"]] == [h is None for h in eager["entropy"]]
    assert all(abs(a - b) <= 1.0001e-4 for a, b in zip(fast["entropy"], eager["entropy"]) if a is not None)
    L, k = 40, min(5, vocab)
    positions = one["rows"][0].nonzero()[:, 0].tolist()
    assert fast["tokens"] == tuple(one["x"][0, -L:].tolist()) and fast["proposals"] == tuple(one["guesses"][0].tolist())
    assert fast["committed"] == tuple(one["committed"][0].nonzero()[:, 0].tolist()) and fast["remasked"] == (L // 2,)
    assert fast["confidence"] == tuple(c if c > -math.inf else None for c in rounded_reference(one["score"][0]))
    assert fast["confidence"].count(None) == L - len(positions)  # -inf exactly where not eligible
    assert fast["probability"] == tuple(rounded_reference(one["probs"][0].gather(-1, one["guesses"][0, :, None])[:, 0]))
    reference = one["probs"][0, positions].topk(k, dim=-1)
    assert [fast["top_probs"][i] for i in positions] == [tuple(r) for r in rounded_reference(reference.values)]
    assert all(len(fast["top_ids"][i]) == k for i in positions)
    assert all(fast["top_ids"][i] == fast["top_probs"][i] == () and fast["entropy"][i] is None
               for i in range(L) if i not in positions)
    truth = float64_entropy(one["logits"][0, positions])
    assert max(abs(fast["entropy"][i] - t) for i, t in zip(positions, truth.tolist())) <= 1.0001e-4 + 1e-5
    assert all(type(i) is int for key in ("tokens", "committed", "proposals", "remasked") for i in fast[key])
    assert all(type(i) is int for ids in fast["top_ids"] for i in ids)


def test_a_run_binds_its_compiled_pass_once_and_reads_every_pass_afresh():
    """One Scratch serves a run: the code is chosen (and the run's constants bound) at the first pass; a later
    pass, with the canvas written in place and new distributions, gives what a fresh Scratch gives."""
    one, two = random_pass(40, 608, seed=1), random_pass(40, 608, seed=2)
    scratch, canvas = Scratch(), one["x"]
    instrument.pass_on_host(scratch=scratch, **one)
    bound = scratch.compiled
    canvas.copy_(two["x"])  # the sampler writes its canvas in place
    second = instrument.pass_on_host(scratch=scratch, **{**two, "x": canvas})
    assert bound is not None and scratch.compiled is bound
    assert second == instrument.pass_on_host(scratch=Scratch(), **two)
    assert second["tokens"] == tuple(two["x"][0, -40:].tolist())


def test_the_torch_code_serves_where_numba_is_missing(monkeypatch):
    """Without numba (`instrument_cpu` cannot be imported) measure, pass_on_host and prepare keep to torch."""
    monkeypatch.setattr(instrument, "_numba_module", lambda: None)
    one = random_pass(24, 4096, seed=3)
    m = measure(one["probs"][0], one["guesses"][0], one["rows"][0], 5, one["logits"][0])
    check(m, one["probs"][0], one["logits"][0], one["rows"][0], 5, atol=1e-5)
    entropy = instrument.pass_on_host(scratch=Scratch(), **one)["entropy"]
    assert tuple(i for i, h in enumerate(entropy) if h is not None) == m.positions
    instrument.prepare("cpu")
    instrument.prepare("meta")  # off the CPU: nothing to ready


def test_to_host_packs_half_precision_on_the_device_path_alike():
    """bfloat16 has no numpy type: such tensors take the torch packing, with the same values."""
    values = torch.randn(50, generator=torch.Generator().manual_seed(1)).bfloat16()
    ids = torch.arange(6).view(2, 3)
    assert to_host(values, ids) == to_host(values.float(), ids)


def test_to_host_rounds_as_float64_and_returns_ints():
    g = torch.Generator().manual_seed(0)
    floats = torch.randn(1000, generator=g) * 10
    floats[:3] = torch.tensor([torch.inf, -torch.inf, torch.nan])
    ids = torch.randint(0, 100, (4, 5), generator=g)
    flags = torch.rand(7, generator=g) < 0.5
    got_floats, got_ids, got_flags = to_host(floats, ids, flags)
    expected = rounded_reference(floats)
    assert got_floats[3:] == expected[3:]
    assert got_floats[0] == math.inf and got_floats[1] == -math.inf and math.isnan(got_floats[2])
    assert got_ids == ids.flatten().tolist() and got_flags == flags.long().tolist()
    assert all(type(i) is int for i in got_ids + got_flags)


def reference_measure(probs, guesses, rows, k, logits=None, scratch=None, compiled=True):
    """What `measure` computes, written plainly (torch.topk, float64 entropy), for the comparison below
    (`compiled` is taken, as `measure` takes it, and changes nothing here)."""
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

    ours = run()  # the compiled CPU path (instrument_cpu), one call per pass
    monkeypatch.setattr(instrument_cpu, "serves", lambda *args: False)
    monkeypatch.setattr(instrument, "measure", reference_measure)
    theirs = run()
    assert len(ours) == len(theirs) == 32
    for a, b in zip(ours, theirs):
        assert (a.tokens, a.committed, a.proposals, a.confidence, a.probability, a.top_ids, a.top_probs) == \
            (b.tokens, b.committed, b.proposals, b.confidence, b.probability, b.top_ids, b.top_probs)
        assert [h is None for h in a.entropy] == [h is None for h in b.entropy]
        assert all(abs(h - r) <= 1.0001e-4 for h, r in zip(a.entropy, b.entropy) if h is not None)

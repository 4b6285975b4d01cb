"""The diffusion sampler: invariants over many settings, equivalence with an independent reference
of the official LLaDA sampler, determinism, and the Step stream's contents."""

import itertools

import pytest
import torch

from llada_demo.engine import diffusion
from llada_demo.engine.schedule import block_spans, num_transfer_tokens
from tests.conftest import MASK_ID, VOCAB, MaskLogitShift, tiny
from tests import reference_llada

GRID = [
    # (steps, gen_length, block_length, temperature, cfg_scale, remasking)
    (16, 16, 16, 0.0, 0.0, "low_confidence"),
    (8, 16, 16, 0.0, 0.0, "low_confidence"),
    (5, 16, 16, 0.0, 0.0, "low_confidence"),
    (8, 16, 4, 0.0, 0.0, "low_confidence"),
    (12, 24, 8, 0.7, 0.0, "low_confidence"),
    (16, 16, 16, 1.0, 0.0, "random"),
    (8, 16, 8, 0.0, 0.0, "random"),
    (8, 16, 8, 0.0, 1.5, "low_confidence"),
    (8, 16, 4, 0.5, 2.0, "random"),
    (16, 16, 1, 0.0, 0.0, "low_confidence"),
]


class CountingModel(torch.nn.Module):
    """Counts forward passes and the rows each holds."""

    def __init__(self, model):
        super().__init__()
        self.model, self.config, self.rows = model, model.config, []

    def forward(self, input_ids, attention_mask=None):
        self.rows.append(input_ids.shape[0])
        return self.model(input_ids, attention_mask=attention_mask)


def prompt(n=5, seed=0, batch=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, VOCAB, (batch, n), generator=g)


@pytest.mark.parametrize("steps,gen_length,block_length,temperature,cfg_scale,remasking", GRID)
def test_invariants(diffusion_model, steps, gen_length, block_length, temperature, cfg_scale, remasking):
    model = CountingModel(diffusion_model)
    torch.manual_seed(0)
    stream = list(diffusion.sample(model, prompt(), steps=steps, gen_length=gen_length, block_length=block_length,
                                   temperature=temperature, cfg_scale=cfg_scale, remasking=remasking, mask_id=MASK_ID))
    # One Step per forward pass; forward passes equal steps; CFG puts two rows in each pass.
    assert len(stream) == steps == len(model.rows)
    assert set(model.rows) == {2 if cfg_scale > 0 else 1}
    assert [s.nfe for s in stream] == list(range(1, steps + 1))
    # The final canvas has no masks.
    assert MASK_ID not in stream[-1].tokens
    spans = block_spans(gen_length, block_length)
    per_block = steps // len(spans)
    expected = [k for _ in spans for k in num_transfer_tokens(block_length, per_block)]
    previous = (MASK_ID,) * gen_length
    for step, k in zip(stream, expected):
        start, end = spans[step.block]
        # Commits per step follow the schedule, inside the current block, at positions that were masked.
        assert len(step.committed) == k
        assert all(start <= pos < end and previous[pos] == MASK_ID for pos in step.committed)
        # Committed tokens never change; everything not committed this step stays as it was.
        for pos in range(gen_length):
            if pos in step.committed:
                assert step.tokens[pos] == step.proposals[pos] != MASK_ID
            else:
                assert step.tokens[pos] == previous[pos]
        # Eligible = masked before the step and inside the block; only eligible positions have a score.
        eligible = [previous[p] == MASK_ID and start <= p < end for p in range(gen_length)]
        assert [c is not None for c in step.confidence] == eligible
        previous = step.tokens


@pytest.mark.parametrize("steps,gen_length,block_length,temperature,cfg_scale,remasking", GRID)
def test_generate_equals_reference_token_for_token(diffusion_model, steps, gen_length, block_length,
                                                   temperature, cfg_scale, remasking):
    p = prompt(6, seed=3, batch=2)
    kwargs = dict(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                  cfg_scale=cfg_scale, remasking=remasking, mask_id=MASK_ID)
    torch.manual_seed(11)
    ours = diffusion.generate(diffusion_model, p, **kwargs)
    ours_next_draw = torch.rand(3)
    torch.manual_seed(11)
    theirs = reference_llada.generate(diffusion_model, p, **kwargs)
    theirs_next_draw = torch.rand(3)
    assert torch.equal(ours, theirs)
    # The global RNG was drawn exactly as much as the reference draws it.
    assert torch.equal(ours_next_draw, theirs_next_draw)


def test_generate_with_left_padding_and_cfg_equals_reference(diffusion_model):
    p = prompt(6, seed=5, batch=2)
    p[0, :2] = 0  # left padding in row 0
    attention_mask = torch.ones_like(p)
    attention_mask[0, :2] = 0
    kwargs = dict(steps=8, gen_length=16, block_length=8, temperature=0.5, cfg_scale=1.0, mask_id=MASK_ID)
    torch.manual_seed(2)
    ours = diffusion.generate(diffusion_model, p, attention_mask=attention_mask, **kwargs)
    torch.manual_seed(2)
    theirs = reference_llada.generate(diffusion_model, p, attention_mask=attention_mask, **kwargs)
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("steps,gen_length,block_length,temperature,cfg_scale,remasking", GRID[::3])
def test_sample_streams_what_generate_returns(diffusion_model, steps, gen_length, block_length, temperature,
                                              cfg_scale, remasking):
    p = prompt(4, seed=9)
    kwargs = dict(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                  cfg_scale=cfg_scale, remasking=remasking, mask_id=MASK_ID)
    torch.manual_seed(5)
    final = list(diffusion.sample(diffusion_model, p, **kwargs))[-1]
    torch.manual_seed(5)
    assert final.tokens == tuple(diffusion.generate(diffusion_model, p, **kwargs)[0, 4:].tolist())


def test_same_seed_same_stream_and_generator_matches_global_seed(diffusion_model):
    kwargs = dict(steps=8, gen_length=16, block_length=8, temperature=0.8, remasking="random", mask_id=MASK_ID)
    runs = []
    for _ in range(2):
        torch.manual_seed(42)
        runs.append([(s.tokens, s.committed, s.confidence) for s in diffusion.sample(diffusion_model, prompt(), **kwargs)])
    with_generator = [(s.tokens, s.committed, s.confidence) for s in
                      diffusion.sample(diffusion_model, prompt(), generator=torch.Generator().manual_seed(42), **kwargs)]
    assert runs[0] == runs[1] == with_generator
    torch.manual_seed(43)
    assert [s.tokens for s in diffusion.sample(diffusion_model, prompt(), **kwargs)] != [t for t, _, _ in runs[0]]


def test_step_carries_candidates_entropy_and_probabilities(diffusion_model):
    torch.manual_seed(0)
    stream = list(diffusion.sample(diffusion_model, prompt(), steps=4, gen_length=8, block_length=8, mask_id=MASK_ID))
    first = stream[0]
    assert all(len(ids) == 5 and len(ps) == 5 for ids, ps in zip(first.top_ids, first.top_probs))
    for ids, ps, guess, prob, conf in zip(first.top_ids, first.top_probs, first.proposals, first.probability, first.confidence):
        assert list(ps) == sorted(ps, reverse=True) and 0 < sum(ps) <= 1.0001
        assert ids[0] == guess and prob == ps[0] == conf  # greedy: the guess is the top candidate
    assert all(h is not None and h > 0 for h in first.entropy)
    last = stream[-1]
    masked_before = {p for p, t in enumerate(stream[-2].tokens) if t == MASK_ID}
    assert {p for p, ids in enumerate(last.top_ids) if ids} == masked_before
    assert all(a.elapsed <= b.elapsed for a, b in itertools.pairwise(stream))


def test_infill_keeps_given_tokens_and_fills_the_blanks(diffusion_model):
    initial = torch.tensor([[10, 11, MASK_ID, MASK_ID, 12, MASK_ID, 13, 14]])
    stream = list(diffusion.sample(diffusion_model, prompt(3), steps=3, gen_length=8, block_length=8,
                                   mask_id=MASK_ID, initial=initial))
    final = stream[-1].tokens
    assert [final[i] for i in (0, 1, 4, 6, 7)] == [10, 11, 12, 13, 14]
    assert MASK_ID not in final
    assert sorted(p for s in stream for p in s.committed) == [2, 3, 5]


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(steps=8, gen_length=10, block_length=4), "must divide"),
    (dict(steps=3, gen_length=16, block_length=4), "multiple of the number of blocks"),
    (dict(steps=-1, gen_length=16, block_length=16), "at least 1"),
    (dict(steps=4, gen_length=16, block_length=16, remasking="best"), "Unknown remasking"),
    (dict(steps=4, gen_length=16, block_length=16, temperature=-0.1), "temperature"),
    (dict(steps=4, gen_length=200, block_length=200), "context of 128 tokens"),
])
def test_bad_settings_raise_before_any_forward_pass(diffusion_model, kwargs, fragment):
    model = CountingModel(diffusion_model)
    with pytest.raises(ValueError, match=fragment):
        diffusion.sample(model, prompt(), mask_id=MASK_ID, **kwargs)
    with pytest.raises(ValueError, match=fragment):
        diffusion.generate(model, prompt(), mask_id=MASK_ID, **kwargs)
    assert model.rows == []


def test_sample_rejects_a_batch(diffusion_model):
    with pytest.raises(ValueError, match="one prompt"):
        diffusion.sample(diffusion_model, prompt(batch=2), steps=4, gen_length=8, block_length=8, mask_id=MASK_ID)


@pytest.mark.parametrize("steps,gen_length,block_length,temperature,cfg_scale,remasking", GRID)
def test_the_mask_token_is_never_committed(steps, gen_length, block_length, temperature, cfg_scale, remasking):
    """Each position is committed exactly once and the answer has no holes, even when [MASK] is the model's
    top guess; the official sampler, which does not exclude it, leaves holes with the same model."""
    model = MaskLogitShift(tiny(causal=False), MASK_ID, 50.0)
    kwargs = dict(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                  cfg_scale=cfg_scale, remasking=remasking, mask_id=MASK_ID)
    torch.manual_seed(0)
    stream = list(diffusion.sample(model, prompt(), **kwargs))
    committed = sorted(pos for step in stream for pos in step.committed)
    assert committed == list(range(gen_length))
    assert MASK_ID not in stream[-1].tokens and MASK_ID not in stream[-1].proposals
    torch.manual_seed(0)
    assert MASK_ID in reference_llada.generate(model, prompt(), **kwargs)[0, 5:].tolist()


def test_the_shipped_model_fills_every_position_where_it_once_drew_the_mask():
    """The run CI found: at temperature 1 the shipped model's Gumbel draw picked [MASK] for a position,
    which then stayed masked to the end."""
    from llada_demo.engine import runs
    from llada_demo.models import load

    loaded = load("tiny-llada")
    steps = list(runs.denoise(loaded, "<b>owl</b> &amp;", gen_length=32, steps=14, block_length=16,
                              remasking="random", temperature=1.0, cfg_scale=0.0, seed=180))[-1].steps
    assert loaded.mask_id not in steps[-1].tokens
    assert sorted(pos for step in steps for pos in step.committed) == list(range(32))


# ---------------------------------------------------------------- decoding rules in the one loop (rules.py, revoke.py)

RULES = [
    dict(threshold=0.9), dict(threshold=0.3), dict(threshold=0.5, remasking="margin"),
    dict(threshold=0.9, remasking="random", temperature=0.8), dict(entropy_bound=0.5),
    dict(entropy_bound=2.0, remasking="entropy"), dict(entropy_bound=1.0, remasking="margin", temperature=0.5),
    dict(remasking="margin"), dict(remasking="entropy"), dict(remasking="entropy", temperature=0.7, cfg_scale=1.0),
]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("steps,gen_length,block_length", [(16, 16, 16), (16, 16, 4), (8, 16, 8)])
def test_every_rule_commits_each_position_once_inside_its_block(diffusion_model, rule, steps, gen_length, block_length):
    model = CountingModel(diffusion_model)
    torch.manual_seed(0)
    stream = list(diffusion.sample(model, prompt(), steps=steps, gen_length=gen_length, block_length=block_length,
                                   mask_id=MASK_ID, **rule))
    assert len(stream) == len(model.rows) <= steps  # `steps` caps the passes of an adaptive rule
    assert MASK_ID not in stream[-1].tokens
    assert sorted(p for s in stream for p in s.committed) == list(range(gen_length))  # each exactly once
    spans = block_spans(gen_length, block_length)
    previous = (MASK_ID,) * gen_length
    for step in stream:
        start, end = spans[step.block]
        assert step.committed and step.remasked == ()
        assert all(start <= p < end and previous[p] == MASK_ID for p in step.committed)
        assert all(step.tokens[p] == previous[p] for p in range(gen_length) if p not in step.committed)
        # Blocks are filled left to right: no pass is spent on a block that is already full.
        assert all(previous[p] == MASK_ID for p in range(start, end) if p in step.committed)
        previous = step.tokens
    assert [s.block for s in stream] == sorted(s.block for s in stream)


@pytest.mark.parametrize("gen_length,block_length,temperature,remasking,cfg_scale", [
    (16, 16, 0.0, "low_confidence", 0.0), (16, 4, 0.0, "low_confidence", 0.0), (24, 8, 0.9, "low_confidence", 0.0),
    (16, 8, 1.0, "random", 0.0), (16, 16, 0.0, "margin", 1.5), (16, 4, 0.6, "random", 1.0),
])
def test_a_threshold_above_one_is_the_fixed_schedule_at_one_token_per_step(diffusion_model, gen_length, block_length,
                                                                         temperature, remasking, cfg_scale):
    kwargs = dict(steps=gen_length, gen_length=gen_length, block_length=block_length, temperature=temperature,
                  remasking=remasking, cfg_scale=cfg_scale, mask_id=MASK_ID)
    streams = []
    for rule in ({}, {"threshold": 1.5}):
        torch.manual_seed(4)
        streams.append([(s.tokens, s.committed, s.proposals, s.confidence)
                        for s in diffusion.sample(diffusion_model, prompt(), **kwargs, **rule)])
    assert streams[0] == streams[1] and len(streams[0]) == gen_length
    p = prompt(6, seed=3, batch=2)
    outs = []
    for rule in ({}, {"threshold": 1.5}):
        torch.manual_seed(4)
        outs.append(diffusion.generate(diffusion_model, p, **kwargs, **rule))
    assert torch.equal(outs[0], outs[1])


def test_a_lower_threshold_takes_fewer_passes_and_the_cap_fills_the_block(diffusion_model):
    passes = {}
    for tau in (2.0, 0.9, 0.5, 0.1, 1e-6):
        passes[tau] = len(list(diffusion.sample(diffusion_model, prompt(), steps=16, gen_length=16, block_length=8,
                                                threshold=tau, mask_id=MASK_ID)))
    assert list(passes.values()) == sorted(passes.values(), reverse=True)
    assert passes[2.0] == 16 and passes[1e-6] == 2  # one token per pass; a whole block per pass
    # With steps < gen_length the cap binds: each block's last allowed pass commits all that is left.
    stream = list(diffusion.sample(diffusion_model, prompt(), steps=4, gen_length=16, block_length=8,
                                   threshold=2.0, mask_id=MASK_ID))
    assert [len(s.committed) for s in stream] == [1, 7, 1, 7]
    assert MASK_ID not in stream[-1].tokens


@pytest.mark.parametrize("rule", RULES[:7])
def test_sample_streams_what_generate_returns_under_every_rule(diffusion_model, rule):
    kwargs = dict(steps=16, gen_length=16, block_length=8, mask_id=MASK_ID, **rule)
    torch.manual_seed(5)
    final = list(diffusion.sample(diffusion_model, prompt(4, seed=9), **kwargs))[-1]
    torch.manual_seed(5)
    assert final.tokens == tuple(diffusion.generate(diffusion_model, prompt(4, seed=9), **kwargs)[0, 4:].tolist())


@pytest.mark.parametrize("steps,gen_length,block_length,remdm_number,max_revisions,temperature", [
    (16, 16, 16, 1, 2, 0.0), (16, 16, 4, 1, 1, 0.0), (8, 16, 8, 2, 2, 0.0), (16, 16, 16, 3, 5, 0.8),
    (24, 24, 8, 2, 1, 1.0),
])
def test_remdm_takes_back_commits_and_still_ends_with_no_mask(steps, gen_length, block_length, remdm_number,
                                                            max_revisions, temperature):
    model = CountingModel(MaskLogitShift(tiny(causal=False, seed=2), MASK_ID, -1e9))
    torch.manual_seed(1)
    stream = list(diffusion.sample(model, prompt(), steps=steps, gen_length=gen_length, block_length=block_length,
                                   temperature=temperature, remdm_number=remdm_number, max_revisions=max_revisions,
                                   mask_id=MASK_ID))
    assert len(stream) == len(model.rows) <= 2 * steps  # the pass cap: one loop of `steps` passes in all
    assert MASK_ID not in stream[-1].tokens
    spans = block_spans(gen_length, block_length)
    previous = (MASK_ID,) * gen_length
    revisions = [0] * gen_length
    for step in stream:
        start, end = spans[step.block]
        # Only tokens committed in the current block go back, and only as often as allowed.
        assert all(start <= p < end and previous[p] != MASK_ID for p in step.remasked)
        for p in step.remasked:
            revisions[p] += 1
        before = [MASK_ID if p in step.remasked else t for p, t in enumerate(previous)]
        assert all(before[p] == MASK_ID and start <= p < end for p in step.committed)
        assert all(step.tokens[p] == before[p] for p in range(gen_length) if p not in step.committed)
        assert [c is not None for c in step.confidence] == [t == MASK_ID and start <= p < end
                                                            for p, t in enumerate(before)]
        if step.remasked:  # ReMDM-loop holds the number of masks: as many commits as remasks
            assert len(step.committed) == len(step.remasked) <= remdm_number
        previous = step.tokens
    assert max(revisions) <= max_revisions and sum(revisions) > 0
    commits = sum(len(s.committed) for s in stream)
    assert commits == gen_length + sum(revisions)  # every position once, plus once per revision


def test_remdm_remasks_the_least_sure_commit_of_the_block(diffusion_model):
    torch.manual_seed(0)
    stream = list(diffusion.sample(diffusion_model, prompt(), steps=16, gen_length=16, block_length=16,
                                   remdm_number=1, max_revisions=3, mask_id=MASK_ID))
    assert len(stream) == 32
    # psi of every committed token: its probability in the pass that committed it.
    psi = {}
    for step in stream:
        if step.remasked:
            revocable = {p: v for p, (v, n) in psi.items() if n < 3}
            assert list(step.remasked) == [min(revocable, key=revocable.get)]
            psi.pop(step.remasked[0])
        for p in step.committed:
            n = sum(p in s.remasked for s in stream[:step.index + 1])
            psi[p] = (step.probability[p], n)
    assert stream[-1].remasked == () and MASK_ID not in stream[-1].tokens


@pytest.mark.parametrize("rule", [dict(threshold=0.9), dict(entropy_bound=0.5, remasking="entropy"),
                                  dict(remdm_number=1, max_revisions=1)])
def test_a_run_with_each_rule_records_it_and_its_trace_round_trips(rule):
    """runs.denoise passes the rule through, the trace's settings name it, and the exported trace loads
    again (a ReMDM run holds more passes than `steps`)."""
    from llada_demo.engine import runs
    from llada_demo.engine.step import Trace
    from llada_demo.models import load

    loaded = load("tiny-llada")
    trace = list(runs.denoise(loaded, "Zox's mother is", steps=16, gen_length=16, block_length=8, **rule))[-1]
    assert {k: trace.settings[k] for k in rule} == rule
    assert loaded.mask_id not in trace.steps[-1].tokens
    if "remdm_number" in rule:
        assert len(trace.steps) > 16 and any(s.remasked for s in trace.steps)
    else:
        assert len(trace.steps) < 16 and all(s.remasked == () for s in trace.steps)
    assert Trace.from_json(trace.to_json()) == trace


def test_a_llada_2_model_refuses_rules_its_pipeline_lacks(monkeypatch):
    from llada_demo.engine import llada2, runs
    from llada_demo.models import load

    loaded = load("tiny-llada")
    monkeypatch.setattr(llada2, "serves", lambda model: True)
    for rule in (dict(entropy_bound=0.5), dict(remdm_number=1)):
        with pytest.raises(ValueError, match="LLaDA 2 runs diffusers' own pipeline"):
            runs.denoise(loaded, "Zox's mother is", steps=16, gen_length=16, block_length=8, **rule)


# ---------------------------------------------------------------- the page's numbers (instrument.py)

@pytest.mark.parametrize("vocab", [608, 1300, 4096, 5000])
def test_top_k_is_torch_topk_and_entropy_is_the_float64_entropy(vocab):
    from llada_demo.engine.instrument import Scratch, measure, top_k

    g = torch.Generator().manual_seed(vocab)
    logits = torch.randn(40, vocab, generator=g) * torch.linspace(0.5, 12, 40)[:, None]  # flat to peaked rows
    logits[:5, 7] = -torch.inf  # a token the model rules out
    probs = logits.softmax(-1)
    values, ids = top_k(probs, 5)
    reference = probs.topk(5, dim=-1)
    assert torch.equal(values, reference.values) and torch.equal(ids, reference.indices)
    rows = torch.rand(40, generator=g) < 0.6
    truth = -(logits.double().softmax(-1) * logits.double().log_softmax(-1).clamp_min(-1e300)).nansum(-1)[rows]
    scratch = Scratch()
    for given in (logits, None):  # with the logits, and from the probabilities alone
        m = measure(probs, probs.argmax(-1), rows, 5, given, scratch)
        assert torch.equal(m.rows, rows.nonzero()[:, 0])
        assert torch.equal(m.top_ids, reference.indices[rows]) and torch.equal(m.top_probs, reference.values[rows])
        assert torch.allclose(m.entropy.double(), truth, atol=2e-6, rtol=0)
        assert torch.equal(m.probability, probs.gather(-1, probs.argmax(-1)[:, None])[:, 0])


def test_steps_carry_the_plain_values_of_one_transfer(diffusion_model):
    """Whole numbers come back as ints and scores as floats rounded to 4 decimals, as traces store them."""
    stream = list(diffusion.sample(diffusion_model, prompt(), steps=8, gen_length=16, block_length=8,
                                   temperature=0.5, mask_id=MASK_ID, generator=torch.Generator().manual_seed(1)))
    for step in stream:
        assert all(type(t) is int for t in step.tokens + step.proposals + step.committed)
        assert all(type(i) is int for ids in step.top_ids for i in ids)
        numbers = [c for c in step.confidence if c is not None] + list(step.probability) + \
                  [h for h in step.entropy if h is not None] + [p for ps in step.top_probs for p in ps]
        assert all(type(x) is float and x == round(x, 4) for x in numbers)

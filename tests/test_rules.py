"""The decoding rules (engine/rules.py, engine/revoke.py) against the code that defines them, and their invariants.

References, called for real:
- transformers' `EntropyBoundSampler.accept_canvas` (DiffusionGemma), for the entropy bound;
- Fast-dLLM's `get_transfer_index` (NVlabs/Fast-dLLM, llada/generate.py) for the threshold, and Dream's
  `sample_tokens` as Fast-dLLM vendors it (dream/model/generation_utils.py) for the margin and entropy
  scores. These run from a checkout of that repository outside the project (FAST_DLLM, default
  /tmp/Fast-dLLM) when there is one, and are checked against what they returned when recorded
  (tests/goldens/fast_dllm.json); without a checkout the recorded outputs stand in (tests/fast_dllm_reference.py).
"""

import math

import pytest
import torch
import torch.nn.functional as F

from llada_demo.engine import revoke, rules

from tests.fast_dllm_reference import functions_of, reference


def random_logits(*shape, seed=0, spread=4.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * spread


def random_eligible(shape, seed=0, share=0.6):
    g = torch.Generator().manual_seed(seed + 1000)
    eligible = torch.rand(shape, generator=g) < share
    eligible[:, 0] = True  # every row has at least one
    return eligible


# ---------------------------------------------------------------- scores

@pytest.mark.parametrize("seed", range(3))
def test_margin_and_entropy_equal_dreams_definitions(seed):
    logits = random_logits(20, 50, seed=seed)  # (N, V) as Dream calls it on the masked positions
    probs = F.softmax(logits, dim=-1)

    def dreams():
        dream = functions_of("dream/model/generation_utils.py", {"sample_tokens", "top_p_logits", "top_k_logits"})
        margin, x0 = dream["sample_tokens"](logits, margin_confidence=True)
        entropy, _ = dream["sample_tokens"](logits, neg_entropy=True)
        confidence, _ = dream["sample_tokens"](logits)
        return [margin.tolist(), x0.tolist(), entropy.tolist(), confidence.tolist()]

    want_margin, x0, want_entropy, want_confidence = map(torch.tensor, reference(f"dream/sample_tokens/{seed}", dreams))
    guesses = logits.argmax(-1)
    assert torch.equal(x0, guesses)
    torch.testing.assert_close(rules.margin(probs), want_margin)
    torch.testing.assert_close(rules.negative_entropy(probs), want_entropy)
    torch.testing.assert_close(rules.low_confidence(probs, guesses), want_confidence)


def test_scores_follow_their_definitions():
    V = 40
    logits = random_logits(3, 7, V, seed=4)  # (B, L, V)
    probs = F.softmax(logits, dim=-1)
    guesses = logits.argmax(-1)
    top = probs.sort(-1, descending=True).values
    torch.testing.assert_close(rules.margin(probs), top[..., 0] - top[..., 1])
    assert bool((rules.margin(probs) >= 0).all() and (rules.margin(probs) <= 1).all())
    assert torch.equal(rules.score("low_confidence", probs, guesses), probs.max(-1).values)
    # Entropy: 0 for a certain position, log V for a uniform one; the Dream score is its negative.
    one_hot = F.one_hot(torch.tensor([[2]]), V).float()
    uniform = torch.full((1, 1, V), 1 / V)
    assert rules.entropy(one_hot).item() == 0
    assert rules.entropy(uniform).item() == pytest.approx(math.log(V), rel=1e-6)
    assert rules.negative_entropy(uniform).item() == pytest.approx(-math.log(V), rel=1e-6)
    torch.testing.assert_close(rules.negative_entropy(probs), -rules.entropy(probs), atol=1e-6, rtol=0)
    expected = torch.distributions.Categorical(logits=logits).entropy()
    torch.testing.assert_close(rules.entropy(probs), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="choose one of"):
        rules.score("random", probs, guesses)


def test_random_scores_draw_like_the_official_code():
    torch.manual_seed(3)
    ours = rules.random_scores(2, 9, "cpu", None)
    torch.manual_seed(3)
    assert torch.equal(ours, torch.rand((2, 9)))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(rules.random_scores(2, 9, "cpu", g1), torch.rand((2, 9), generator=g2))


# ---------------------------------------------------------------- how many to commit

def confidences(B=2, N=16, V=30, seed=0):
    """Fast-dLLM's inputs and ours from the same logits: float64 probabilities of the argmax, -inf where
    the position is not masked (get_transfer_index computes its softmax in float64)."""
    logits = random_logits(B, N, V, seed=seed, spread=3.0)
    mask_index = random_eligible((B, N), seed=seed)
    p = F.softmax(logits.to(torch.float64), dim=-1)
    x0 = logits.argmax(-1)
    confidence = torch.where(mask_index, p.gather(-1, x0[..., None])[..., 0], -torch.inf)
    return logits, mask_index, confidence


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.5, 0.9, 1.5])
def test_threshold_equals_fast_dllm_get_transfer_index(seed, threshold):
    logits, mask_index, confidence = confidences(seed=seed)
    x = torch.where(mask_index, 3, 7)

    def fast_dllm():
        fast = functions_of("llada/generate.py", {"get_transfer_index", "add_gumbel_noise"})
        return fast["get_transfer_index"](logits, 0.0, "low_confidence", mask_index, x, None, threshold)[1].tolist()

    theirs = torch.tensor(reference(f"get_transfer_index/threshold/{seed}/{threshold}", fast_dllm))
    assert torch.equal(rules.commit_above_threshold(confidence, threshold), theirs)


@pytest.mark.parametrize("seed", range(4))
def test_top_k_equals_fast_dllm_without_threshold(seed):
    logits, mask_index, confidence = confidences(seed=seed)
    k = [int(min(3, mask_index[row].sum())) for row in range(2)]

    def fast_dllm():
        fast = functions_of("llada/generate.py", {"get_transfer_index", "add_gumbel_noise"})
        return fast["get_transfer_index"](logits, 0.0, "low_confidence", mask_index, mask_index.long(),
                                          torch.tensor(k), None)[1].tolist()

    theirs = torch.tensor(reference(f"get_transfer_index/top_k/{seed}", fast_dllm))
    assert torch.equal(rules.commit_top_k(confidence, k), theirs)


@pytest.mark.parametrize("seed", range(6))
def test_threshold_invariants(seed):
    _, eligible, confidence = confidences(B=3, seed=seed)
    top1 = rules.commit_top_k(confidence, [1, 1, 1])
    # Above every probability: one token per pass, the surest (the fixed schedule at one token per step).
    assert torch.equal(rules.commit_above_threshold(confidence, 1.01), top1)
    # Below every probability: everything eligible at once.
    assert torch.equal(rules.commit_above_threshold(confidence, 1e-9), eligible)
    previous = None
    for tau in (0.95, 0.8, 0.5, 0.2):
        chosen = rules.commit_above_threshold(confidence, tau)
        assert not (chosen & ~eligible).any() and (chosen & top1).sum() == 3
        assert bool(((confidence >= tau) & eligible <= chosen).all())  # every sure position is in
        assert bool(((chosen & ~top1) <= (confidence >= tau)).all())  # and nothing else but the surest
        if previous is not None:
            assert bool((previous <= chosen).all())  # a lower tau commits a superset
        previous = chosen
    nothing = torch.full((1, 5), -torch.inf)
    assert not rules.commit_above_threshold(nothing, 0.5).any()


def test_top_k_commits_k_eligible_positions():
    _, eligible, confidence = confidences(B=2, seed=9)
    k = [int(eligible[0].sum()), 2]
    chosen = rules.commit_top_k(confidence, k)
    assert chosen.sum(1).tolist() == k and not (chosen & ~eligible).any()
    assert torch.equal(chosen[0], eligible[0])
    assert not rules.commit_top_k(confidence, [0, 0]).any()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("gamma", [1e-3, 0.1, 0.5, 1.0, 3.0, 100.0])
def test_entropy_bound_equals_transformers_accept_canvas(seed, gamma):
    from transformers.models.diffusion_gemma.generation_diffusion_gemma import (EntropyBoundSampler,
                                                                                 EntropyBoundSamplerConfig)
    V, N = 40, 16
    logits = random_logits(1, N, V, seed=seed, spread=2.5)  # (1, N, V) the whole canvas
    eligible = random_eligible((1, N), seed=seed)
    probs = F.softmax(logits, dim=-1)
    ours = rules.commit_entropy_bound(torch.where(eligible, rules.negative_entropy(probs), -torch.inf),
                                      rules.entropy(probs), gamma)
    # transformers' sampler sees the logits of the masked positions alone, as a canvas of M tokens.
    where = eligible[0].nonzero()[:, 0]
    M = len(where)
    sampler = EntropyBoundSampler(EntropyBoundSamplerConfig(entropy_bound=float(gamma)), canvas_length=M,
                                  vocab_size=V, max_denoising_steps=M)
    current = torch.zeros((1, M), dtype=torch.long)
    denoised = logits[:, where].argmax(-1)
    accepted = sampler.accept_canvas(current, denoised, logits[:, where], cur_step=0)
    assert torch.equal(ours[0, where], sampler.accepted_token_mask[0])
    assert torch.equal(accepted, torch.where(ours[:, where], denoised, current))
    assert not (ours & ~eligible).any()


@pytest.mark.parametrize("remasking", ["low_confidence", "margin", "entropy"])
@pytest.mark.parametrize("gamma", [1e-4, 0.3, 2.0, 1e9])
def test_entropy_bound_invariants(remasking, gamma):
    logits = random_logits(3, 12, 30, seed=7, spread=2.0)
    eligible = random_eligible((3, 12), seed=7)
    probs = F.softmax(logits, dim=-1)
    confidence = torch.where(eligible, rules.score(remasking, probs, logits.argmax(-1)), -torch.inf)
    h = rules.entropy(probs)
    chosen = rules.commit_entropy_bound(confidence, h, gamma)
    assert not (chosen & ~eligible).any()
    for row in range(3):
        order = confidence[row].argsort(descending=True, stable=True)[: int(eligible[row].sum())]
        n = int(chosen[row].sum())
        assert n >= 1 and set(order[:n].tolist()) == set(chosen[row].nonzero()[:, 0].tolist())  # a prefix
        prefix = h[row, order[:n]]
        assert float(prefix.sum() - prefix.max()) <= gamma
        if n < len(order):  # the next one would break the bound
            longer = h[row, order[:n + 1]]
            assert float(longer.sum() - longer.max()) > gamma
    if gamma == 1e9:
        assert torch.equal(chosen, eligible)


# ---------------------------------------------------------------- ReMDM

def test_remdm_block_plan_matches_the_authors_loop():
    # Their LLaDA runs: steps == block_size == 32, remask_thres = int(32 / 8 * 7) = 28, 2 * steps passes.
    plan = revoke.block_plan(32, remdm_number=1)
    assert len(plan) == 64
    assert [p.step for p in plan[:28]] == list(range(28))
    assert all(p.is_loop for p in plan[28:60])
    assert [p.step for p in plan[60:]] == [28, 29, 30, 31]
    for steps in (1, 3, 8, 12):
        plan = revoke.block_plan(steps, remdm_number=2)
        assert sum(p.is_loop for p in plan) == steps
        assert [p.step for p in plan if not p.is_loop] == list(range(steps))  # every LLaDA step, in order
        assert sum(not p.is_loop for p in plan[:steps * 7 // 8]) == int(steps / 8 * 7)
    assert revoke.block_plan(5, None) == [revoke.Phase(i) for i in range(5)]


def test_remask_lowest_takes_the_least_sure_revocable_commits():
    decoded = torch.tensor([[0.9, 0.2, 0.5, 0.1, 0.7], [0.3, 0.4, 0.6, 0.8, 0.05]])
    revocable = torch.tensor([[True, True, True, False, True], [False, True, False, False, False]])
    chosen = revoke.remask_lowest(decoded, revocable, 2)
    # Row 0: 0.1 is not revocable (never committed, or remasked too often), so 0.2 and 0.5 go back.
    assert chosen[0].nonzero()[:, 0].tolist() == [1, 2]
    assert chosen[1].nonzero()[:, 0].tolist() == [1]  # only one may go back
    assert not (chosen & ~revocable).any()
    assert not revoke.remask_lowest(decoded, torch.zeros_like(revocable), 3).any()


# ---------------------------------------------------------------- the loop against Fast-dLLM's own generate

class OnDevice(torch.nn.Module):
    """Fast-dLLM's generate reads `model.device` and calls `model(x)`."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    @property
    def device(self):
        return next(self.model.parameters()).device

    def forward(self, x):
        return self.model(x)


def fast_dllm_generate(key: str, model, prompt: torch.Tensor, **settings) -> tuple[torch.Tensor, int]:
    """Fast-dLLM's `generate(model, prompt, **settings)`: (tokens, forward passes), recorded under `key`."""
    def run():
        generate = functions_of("llada/generate.py", {"generate", "get_transfer_index", "add_gumbel_noise",
                                                      "get_num_transfer_tokens"})["generate"]
        tokens, nfe = generate(OnDevice(model), prompt, **settings)
        return [tokens.tolist(), nfe]

    tokens, nfe = reference(key, run)
    return torch.tensor(tokens), nfe


@pytest.mark.parametrize("threshold", [0.3, 0.6, 0.9, 1.5, None])
@pytest.mark.parametrize("gen_length,block_length", [(16, 16), (16, 4), (24, 8)])
def test_threshold_run_equals_fast_dllm_generate(diffusion_model, threshold, gen_length, block_length):
    from llada_demo.engine import diffusion
    from tests.conftest import MASK_ID, VOCAB

    for seed in range(3):
        p = torch.randint(4, VOCAB, (1, 5), generator=torch.Generator().manual_seed(seed))
        counting = []
        model = lambda x, **kw: counting.append(1) or diffusion_model(x, **kw)  # noqa: E731
        ours = diffusion.generate(model, p, steps=gen_length, gen_length=gen_length, block_length=block_length,
                                  threshold=threshold, mask_id=MASK_ID)
        theirs, nfe = fast_dllm_generate(f"generate/random/{threshold}/{gen_length}/{block_length}/{seed}",
                                         diffusion_model, p, steps=gen_length, gen_length=gen_length,
                                         block_length=block_length, mask_id=MASK_ID, threshold=threshold)
        assert torch.equal(ours, theirs)
        assert len(counting) == nfe


def test_threshold_run_equals_fast_dllm_generate_on_the_shipped_model(world):
    """The shipped diffusion model on held-out prompts of the tiny world at tau = 0.9 (Fast-dLLM's default)."""
    from llada_demo.engine import diffusion
    from llada_demo.models import load
    from llada_demo.tinyworld import evaluate

    loaded = load("tiny-llada")
    cases = evaluate.reversal_cases(world, limit=6)
    for case in cases:
        p = torch.tensor([evaluate.ids_of(loaded, case.forward_prompt)])
        counting = []
        model = lambda x, **kw: counting.append(1) or loaded.model(x, **kw)  # noqa: E731
        ours = diffusion.generate(model, p, steps=case.length, gen_length=case.length, block_length=case.length,
                                  threshold=0.9, mask_id=loaded.mask_id)
        theirs, nfe = fast_dllm_generate(f"generate/shipped/{case.forward_prompt}", loaded.model, p,
                                         steps=case.length, gen_length=case.length, block_length=case.length,
                                         mask_id=loaded.mask_id, threshold=0.9)
        assert torch.equal(ours, theirs)
        assert len(counting) == nfe < case.length  # and it did decode in parallel somewhere

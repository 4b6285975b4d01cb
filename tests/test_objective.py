"""LLaDA's training objective on one sentence (engine/objective.py), on the shipped pair: the guesses at
every hidden position come from one forward pass, the weighted loss is Eq. 3 (Eq. 5 in SFT), the AR
twin's loss is transformers-style `labels=` loss, and draws are deterministic under a seed."""

import math

import pytest
import torch

from llada_demo.engine import objective
from llada_demo.models import load

PROMPT, ANSWER = "Zox's mother is", " Linin."


@pytest.fixture(scope="module")
def pair():
    return load("tiny-llada"), load("tiny-ar")


def test_a_draw_is_deterministic_and_consistent(pair):
    d, ar = pair
    a = objective.masked_guesses(d, PROMPT, ANSWER, t=0.5, seed=3, ar=ar)
    assert a == objective.masked_guesses(d, PROMPT, ANSWER, t=0.5, seed=3, ar=ar)
    hidden = [i for i, m in enumerate(a.is_masked) if m]
    assert hidden and all(a.loss[i] is not None and a.guess[i] >= 0 for i in hidden)
    assert all(a.loss[i] is None and a.guess[i] == -1 and a.top_ids[i] == () for i in range(len(a.ids)) if i not in hidden)
    for i in hidden:  # the loss is the cross-entropy of the true token, the guess is the top candidate
        assert math.isclose(math.exp(-a.loss[i]), a.target_probability[i], abs_tol=1e-4)
        assert a.top_ids[i][0] == a.guess[i] and a.top_probs[i][0] == a.probability[i]
    assert math.isclose(a.weighted_loss, sum(a.loss[i] for i in hidden) / 0.5 / len(a.ids), rel_tol=1e-3)


def test_the_guesses_match_a_separate_forward_pass(pair):
    d, _ = pair
    a = objective.masked_guesses(d, PROMPT, ANSWER, t=0.4, seed=1)
    noisy = torch.tensor([[d.mask_id if m else i for i, m in zip(a.ids, a.is_masked)]])
    with torch.no_grad():
        probs = d.model(noisy).logits[0].softmax(-1)
    for i, m in enumerate(a.is_masked):
        if m:
            assert a.guess[i] == int(probs[i].argmax())
            assert math.isclose(a.probability[i], float(probs[i].max()), abs_tol=1e-4)


def test_sft_hides_only_the_answer_and_normalises_by_it(pair):
    d, _ = pair
    for seed in range(10):
        a = objective.masked_guesses(d, PROMPT, ANSWER, t=1.0, seed=seed, sft=True)
        assert not any(m and p for m, p in zip(a.is_masked, a.is_prompt))
        assert all(m for m, p in zip(a.is_masked, a.is_prompt) if not p)  # t = 1 hides the whole answer
        answer_len = sum(not p for p in a.is_prompt)
        assert math.isclose(a.weighted_loss, sum(x for x in a.loss if x is not None) / answer_len, rel_tol=1e-3)


def test_the_trained_model_recovers_a_fact_it_learnt(pair):
    # With only the name hidden (SFT, t = 1), the shipped model answers the held-out fact it read.
    d, _ = pair
    a = objective.masked_guesses(d, PROMPT, " Linin", t=1.0, seed=0, sft=True)
    name = [i for i, p in enumerate(a.is_prompt) if not p]
    assert [a.token_text[a.guess[i]].strip() for i in name] == ["Linin"]


def test_the_ar_loss_is_the_labels_loss(pair):
    d, ar = pair
    a = objective.masked_guesses(d, PROMPT, ANSWER, t=0.5, seed=0, ar=ar)
    with torch.no_grad():
        reference = ar.model(torch.tensor([a.ids]), labels=torch.tensor([a.ids])).loss
    assert math.isclose(a.ar_loss, float(reference), abs_tol=1e-4)


def test_the_expected_loss_batches_the_same_draws(pair):
    d, _ = pair
    one = objective.masked_guesses(d, PROMPT, ANSWER, t=0.3, seed=5)
    assert objective.expected_loss(d, PROMPT, ANSWER, ratios=(0.3,), samples=1, seed=5) == [(0.3, one.weighted_loss)]
    curve = objective.expected_loss(d, PROMPT, ANSWER, samples=3)
    assert [t for t, _ in curve] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert all(math.isfinite(v) and v >= 0 for _, v in curve)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(t=0.0), "above 0"), (dict(t=1.5), "at most 1"), (dict(t="half"), "mask ratio"),
])
def test_bad_ratios_are_refused(pair, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        objective.masked_guesses(pair[0], PROMPT, ANSWER, **kwargs)


def test_an_empty_sentence_is_refused(pair):
    with pytest.raises(ValueError, match="empty"):
        objective.masked_guesses(pair[0], " ", "", t=0.5)

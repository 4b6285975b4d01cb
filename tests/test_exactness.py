"""The sampler is the official one wherever the official one leaves no hole (issue 15, section 2).

Ours leaves [MASK] out of the draw (the argmax of the perturbed logits) and nothing else: scores, the page's
probabilities and the RNG stream come from the model's own logits, as in LLaDA's `generate.py`
(tests/reference_llada.py). So on a model that gives [MASK] real probability, every row of every run in
which the official sampler commits no [MASK] must be token-identical, and where it does commit [MASK] ours
must commit none. The test model is what makes this visible: the fixture of tests/test_diffusion.py hides
[MASK] entirely, so a renormalised softmax there changes nothing.
"""

import functools
import importlib.util
import itertools
import os

import pytest
import torch

from llada_demo.engine import diffusion
from tests import reference_llada
from tests.conftest import MASK_ID, VOCAB, tiny


class MaskNearTheTop(torch.nn.Module):
    """A random model whose [MASK] logit sits between `low` and `high` nats from the best other token's,
    varying with the position, so [MASK] has real probability (p_mask = p_top * exp(offset)) that differs
    from position to position (a softmax renormalised without [MASK] then ranks positions differently);
    logits are sharpened 2x so that the top guess is a clear one. Negative offsets keep [MASK] below the top
    guess; `top_every`, when set, puts it +0.5 above the top at every `top_every`-th position, where it is
    the model's own argmax."""

    def __init__(self, low: float, high: float, top_every: int | None = None, seed: int = 0):
        super().__init__()
        self.model, self.low, self.high, self.top_every = tiny(causal=False, seed=seed), low, high, top_every
        self.config = self.model.config

    def forward(self, input_ids, attention_mask=None):
        out = self.model(input_ids, attention_mask=attention_mask)
        logits = out.logits * 2  # (B, N, V)
        others = logits.index_fill(-1, torch.tensor([MASK_ID]), -torch.inf)
        n = logits.shape[1]
        offset = self.low + (self.high - self.low) * (torch.arange(n) * 5 % 7) / 6  # (N,)
        if self.top_every:
            offset[self.top_every - 1::self.top_every] = 0.5
        out.logits = logits.index_copy(-1, torch.tensor([MASK_ID]), (others.amax(-1) + offset)[..., None])
        return out


MODELS = {"mask-near": dict(low=-1.5, high=-0.1), "mask-far": dict(low=-2.5, high=-0.8),
          "mask-top-every-7th": dict(low=-1.5, high=-0.1, top_every=7)}
SHAPES = [(16, 16, 16), (8, 16, 16), (8, 16, 4), (12, 24, 8), (16, 16, 1)]  # steps, gen_length, block_length
SETTINGS = list(itertools.product(SHAPES, (0.0, 0.5, 1.0), (0.0, 1.5), ("low_confidence", "random")))
PROMPT_LENGTH = 6


@functools.cache
def model(name: str) -> MaskNearTheTop:
    return MaskNearTheTop(**MODELS[name]).eval()


def kwargs(setting):
    (steps, gen_length, block_length), temperature, cfg_scale, remasking = setting
    return dict(steps=steps, gen_length=gen_length, block_length=block_length, temperature=temperature,
                cfg_scale=cfg_scale, remasking=remasking, mask_id=MASK_ID)


def prompts(batch: int = 2) -> torch.Tensor:
    return torch.randint(4, VOCAB, (batch, PROMPT_LENGTH), generator=torch.Generator().manual_seed(3))


@functools.cache
def runs(name: str, setting) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(official, ours) generated regions (B, L) from the same seed, and whether the global RNG ended alike."""
    out, draws, m, p = [], [], model(name), prompts()  # built before seeding: tiny() seeds the global RNG
    for generate in (reference_llada.generate, diffusion.generate):
        torch.manual_seed(11)
        out.append(generate(m, p, **kwargs(setting))[:, PROMPT_LENGTH:])
        draws.append(torch.rand(3))
    return out[0], out[1], torch.equal(*draws)


def label(setting) -> str:
    (steps, gen_length, block_length), temperature, cfg_scale, remasking = setting
    return f"{steps}-{gen_length}-{block_length}-T{temperature}-cfg{cfg_scale}-{remasking}"


@pytest.mark.parametrize("setting", SETTINGS, ids=label)
@pytest.mark.parametrize("name", MODELS)
def test_generate_is_the_official_sampler_wherever_it_commits_no_mask(name, setting):
    official, ours, same_rng = runs(name, setting)
    assert same_rng  # the global RNG is drawn exactly as much as the official code draws it
    assert not (ours == MASK_ID).any()
    for row in range(official.shape[0]):  # rows share the RNG stream but nothing else, so each row is a case
        if not (official[row] == MASK_ID).any():
            assert torch.equal(ours[row], official[row])


@pytest.mark.parametrize("setting", SETTINGS, ids=label)
def test_a_stream_ends_on_the_official_tokens_wherever_it_commits_no_mask(setting):
    """sample() for one prompt: its last Step holds the official tokens, or, where the official run commits
    [MASK], a full answer; the probabilities it shows (and ranks by) are the model's own."""
    p, m = prompts(batch=1), model("mask-near")
    torch.manual_seed(7)
    official = reference_llada.generate(m, p, **kwargs(setting))[0, PROMPT_LENGTH:]
    torch.manual_seed(7)
    stream = list(diffusion.sample(m, p, **kwargs(setting)))
    final = torch.tensor(stream[-1].tokens)
    assert MASK_ID not in stream[-1].tokens
    if not (official == MASK_ID).any():
        assert torch.equal(final, official)
    # The first pass's numbers are the model's own probabilities, not renormalised without [MASK].
    canvas = torch.cat([p, torch.full((1, len(official)), MASK_ID)], dim=1)
    logits = model("mask-near")(canvas).logits
    if setting[2] > 0:
        un_logits = model("mask-near")(canvas.masked_fill(canvas != MASK_ID, MASK_ID)).logits
        logits = un_logits + (setting[2] + 1) * (logits - un_logits)
    probs = logits[0, PROMPT_LENGTH:].softmax(-1)  # (L, V)
    first = stream[0]
    expected = probs.gather(-1, torch.tensor(first.proposals)[:, None])[:, 0]
    assert first.probability == pytest.approx(expected.tolist(), abs=1e-4)
    if setting[3] == "low_confidence":
        assert all(first.confidence[pos] == first.probability[pos] for pos in first.committed)


def test_the_grid_covers_every_kind_of_setting_and_both_outcomes():
    """The cases above are not vacuous: [MASK] has real probability without being the usual top guess, each
    kind of setting has rows where the official run is clean (which must match) and the grid also holds
    rows where the official run commits [MASK] (which ours must fill)."""
    canvas = torch.cat([prompts(), torch.full((2, 16), MASK_ID)], dim=1)
    canvas[:, PROMPT_LENGTH + 3:PROMPT_LENGTH + 9] = prompts()[:, :6]
    for name in ("mask-near", "mask-far"):
        probs = model(name)(canvas).logits.softmax(-1)  # (2, N, V)
        p_mask = probs[..., MASK_ID]
        assert 0.05 <= p_mask.median() <= 0.30
        assert not (probs.argmax(-1) == MASK_ID).any()
    clean, holes = [], 0
    for name, setting in itertools.product(MODELS, SETTINGS):
        official, _, _ = runs(name, setting)
        for row in official:
            if (row == MASK_ID).any():
                holes += 1
            else:
                clean.append(setting)
    assert holes > 0
    kinds = {"T = 0": lambda s: s[1] == 0, "T > 0": lambda s: s[1] > 0, "CFG": lambda s: s[2] > 0,
             "random": lambda s: s[3] == "random", "low_confidence": lambda s: s[3] == "low_confidence",
             "blocks": lambda s: s[0][2] < s[0][1], "T = 0 with CFG": lambda s: s[1] == 0 and s[2] > 0}
    assert all(any(kind(s) for s in clean) for kind in kinds.values())


OFFICIAL = os.environ.get("LLADA_DEMO_OFFICIAL_GENERATE")


@pytest.mark.skipif(not OFFICIAL, reason="set LLADA_DEMO_OFFICIAL_GENERATE to LLaDA's generate.py (ML-GSAI/LLaDA)")
def test_the_reference_is_the_official_file():
    """tests/reference_llada.py against the real generate.py of ML-GSAI/LLaDA (it cannot ship with the project):
    the same tokens in every row of the grid. Its CFG branch reads an attention mask it only defines when one is
    given, so it gets a mask of ones there (the whole prompt attended, as with none)."""
    spec = importlib.util.spec_from_file_location("official_llada_generate", OFFICIAL)
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    for name, setting in itertools.product(MODELS, SETTINGS):
        m, p = model(name), prompts()
        m.device = p.device  # the official code reads model.device
        torch.manual_seed(11)
        mask = {"attention_mask": torch.ones_like(p)} if setting[2] > 0 else {}
        theirs = official.generate(m, p, **mask, **kwargs(setting))[:, PROMPT_LENGTH:]
        assert torch.equal(theirs, runs(name, setting)[0]), (name, label(setting))

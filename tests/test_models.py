"""Loading: local folders round trip, the allowlist, remote code only when trusted, LLaDA's
transformers-4 hub code (a local stand-in of it) loads on transformers 5 (more in test_llada_hub_code.py)."""

import pytest
import torch
from tokenizers import Tokenizer, models as tk_models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from transformers.dynamic_module_utils import get_class_from_dynamic_module

from llada_demo.engine import diffusion
from llada_demo import models
from tests.conftest import MASK_ID, VOCAB, tiny
from tests.standins.families import remote_llada


def word_tokenizer(mask_token: str | None) -> PreTrainedTokenizerFast:
    vocab = {"<|pad|>": 0, "<|endoftext|>": 1, "<|eot_id|>": 2, "<|mdm_mask|>": MASK_ID}
    vocab.update({f"w{i}": i for i in range(4, VOCAB)})
    raw = Tokenizer(tk_models.WordLevel(vocab, unk_token="<|pad|>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    extra = {"mask_token": mask_token} if mask_token else {}
    return PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<|pad|>", eos_token="<|endoftext|>", **extra)


def tiny_folder(tmp_path, causal):
    folder = tmp_path / ("ar" if causal else "dm")
    tiny(causal).save_pretrained(folder)
    word_tokenizer("<|mdm_mask|>").save_pretrained(folder)
    return folder


def standin_folder(tmp_path):
    """A folder shaped like GSAI-ML/LLaDA-8B-Instruct: auto_map to remote code, mask id in the config only."""
    folder = tmp_path / "llada-standin"
    folder.mkdir()
    weights = remote_llada(folder, VOCAB, MASK_ID, eos_id=1)
    word_tokenizer(None).save_pretrained(folder)
    return folder, weights


@pytest.mark.parametrize("causal", [False, True])
def test_local_folder_round_trip(tmp_path, causal):
    loaded = models.load(str(tiny_folder(tmp_path, causal)), device="cpu")
    assert loaded.kind == (models.AUTOREGRESSIVE if causal else models.DIFFUSION)
    assert loaded.mask_id == MASK_ID and loaded.eos_ids == (1, 2)
    assert loaded.device == "cpu" and next(loaded.model.parameters()).dtype == torch.float32
    x = torch.randint(4, VOCAB, (1, 9))
    assert torch.equal(loaded.model(x).logits, tiny(causal)(x).logits)


def test_standin_fails_on_plain_transformers5(tmp_path):
    folder, _ = standin_folder(tmp_path)
    # The reason the patch exists: the stand-in, like LLaDA's hub code, does not load as it is (no post_init()).
    # Its own class, as AutoModel would import it in a fresh process (in this one an earlier LLaDA may have
    # registered "llada" with the Auto classes).
    cls = get_class_from_dynamic_module("modeling_standin.LLaDAModelLM", str(folder))
    with pytest.raises(AttributeError, match="all_tied_weights_keys"):
        cls.from_pretrained(str(folder))


def test_remote_code_needs_the_operators_trust(tmp_path):
    folder, _ = standin_folder(tmp_path)
    with pytest.raises(ValueError, match="trust-remote-code"):
        models.load(str(folder), device="cpu")


def test_llada_like_remote_code_loads_and_samples(tmp_path):
    folder, weights = standin_folder(tmp_path)
    loaded = models.load(str(folder), trust_remote_code=True, device="cpu")
    assert loaded.kind == models.DIFFUSION
    assert loaded.mask_id == MASK_ID  # from the config: the tokenizer names no mask token
    assert loaded.eos_ids == (1, 2)
    state = loaded.model.state_dict()
    assert all(torch.equal(state[name], w) for name, w in weights.items())  # weights loaded, not re-initialised
    stream = list(diffusion.sample(loaded.model, torch.tensor([[5, 6, 7]]), steps=4, gen_length=8,
                                   block_length=8, mask_id=loaded.mask_id))
    assert len(stream) == 4


def test_hub_ids_must_be_allowlisted(monkeypatch):
    with pytest.raises(ValueError, match="--allow someone/some-model"):
        models.resolve("someone/some-model")
    assert models.resolve("someone/some-model", allow=("someone/some-model",)).source == "someone/some-model"
    monkeypatch.setenv("LLADA_DEMO_ALLOW", "a/b, someone/some-model")
    assert models.resolve("someone/some-model").source == "someone/some-model"
    assert models.resolve("GSAI-ML/LLaDA-8B-Instruct").name == "llada-8b-instruct"
    assert models.resolve("llada-8b-instruct").remote_code


def test_a_model_that_cannot_fit_is_refused_with_numbers():
    huge = models.Preset("huge", "x/huge", models.DIFFUSION, memory_gb=10_000)
    with pytest.raises(ValueError, match=r"huge needs about 20000.0 GB but only [\d.]+ GB of free RAM"):
        models.check_fits(huge, "cpu")


def test_device_and_dtype():
    assert models.pick_device() in ("cuda", "mps", "cpu")
    assert models.pick_dtype("cpu") == torch.float32 and models.pick_dtype("cuda") == torch.bfloat16

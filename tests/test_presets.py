"""Every hub preset loads through `models.load` offline, from a Hugging Face cache holding a local stand-in
of its family (tests/standins/families.py), with the right kind, mask, end-of-turn ids and chat template;
the samplers run on it; a preset without weights offline is named with the command that fetches it."""

import dataclasses

import pytest
import torch

from llada_demo.engine import autoregressive, diffusion, diffusiongemma
from llada_demo import models
from llada_demo.engine.text import answer_text, prompt_ids
from tests.standins.families import FAMILIES, put_in_cache

HUB_PRESETS = [p for p in models.PRESETS.values() if models.is_hub_id(p.source)]


@pytest.fixture
def small_presets(monkeypatch):
    """The presets with stand-in sized memory needs (the real ones would be refused on this machine)."""
    for name, preset in models.PRESETS.items():
        monkeypatch.setitem(models.PRESETS, name, dataclasses.replace(preset, memory_gb=0.01))


def test_every_hub_preset_has_a_stand_in_family():
    assert {p.source for p in HUB_PRESETS} == set(FAMILIES)


@pytest.mark.parametrize("preset", HUB_PRESETS, ids=lambda p: p.name)
def test_preset_loads_offline_from_the_cache(tmp_path, small_presets, preset):
    snapshot = put_in_cache(tmp_path, preset.source, FAMILIES[preset.source])
    loaded = models.load(preset.name, device="cpu", cache_dir=str(tmp_path))
    tok = loaded.tokenizer
    assert loaded.kind == preset.kind and loaded.name == preset.name and loaded.chat == preset.chat
    if preset.kind == models.DIFFUSION:
        assert tok.convert_ids_to_tokens(loaded.mask_id) in models.MASK_TOKENS
    # The end of a reply: end-of-text and the family's end-of-turn token.
    ends = set(tok.convert_ids_to_tokens(list(loaded.eos_ids)))
    assert ends & {"<|eot_id|>", "<|im_end|>", "<|role_end|>", "[SEP]", "<turn|>"}, ends
    assert loaded.source == preset.source and snapshot.is_dir()

    ids = prompt_ids(tok, "w1 w2 w3", loaded.chat, history=(("w4", "w5 w6"),) if loaded.chat else ())
    if loaded.chat:  # the template wraps both turns and opens the assistant's
        text = tok.decode(ids)
        assert "w4" in text and "w5 w6" in text and text.rstrip().endswith(("assistant <|end_header_id|>",
                                                                            "assistant", "</role>", "assistant :",
                                                                            "<|turn> model"))
    x = torch.tensor([ids])
    if diffusiongemma.serves(loaded.model):  # uniform noise, through diffusers' pipeline and its chat template
        steps = list(diffusiongemma.sample(loaded.model, tok, [{"role": "user", "content": "w1 w2 w3"}], steps=4,
                                           gen_length=8))
        assert steps[-1].committed and diffusiongemma.NOT_DRAWN not in steps[-1].tokens[:8]
        steps = [dataclasses.replace(steps[-1], tokens=tuple(ids) + steps[-1].tokens)]  # as below: prompt first
    elif loaded.kind == models.DIFFUSION:
        steps = list(diffusion.sample(loaded.model, x, steps=4, gen_length=8, block_length=8, mask_id=loaded.mask_id))
        assert len(steps) == 4 and loaded.mask_id not in steps[-1].tokens
    else:
        steps = list(autoregressive.sample(loaded.model, x, gen_length=6, stop_ids=loaded.eos_ids))
        assert 1 <= len(steps) <= 6
    assert isinstance(answer_text(tok, steps[-1].tokens[len(ids):], loaded.mask_id or -1, loaded.eos_ids), str)


def test_a_preset_without_weights_offline_names_the_download_command(tmp_path, small_presets):
    with pytest.raises(ValueError, match=r"llada-8b-instruct .*python -m llada_demo.models.download llada-8b-instruct"):
        models.load("llada-8b-instruct", device="cpu", cache_dir=str(tmp_path))
    assert models.missing(models.PRESETS["tiny-llada"]) is None  # shipped in the repository


def test_default_pair_follows_the_gpu_memory():
    assert models.default_pair(None) == ("tiny-llada", "tiny-ar")  # no CUDA GPU
    assert models.default_pair(12.0) == ("tiny-llada", "tiny-ar")  # too small for LLaDA-8B
    assert models.default_pair(24.0) == ("llada-8b-instruct", "qwen2.5-0.5b-instruct")
    assert models.default_pair(80.0) == ("llada-8b-instruct", "qwen2.5-7b-instruct")


def test_real_sizes_are_refused_here_before_loading(tmp_path):
    """On this 24 GB CPU machine LLaDA-8B in float32 cannot fit: one sentence with the numbers, no loading."""
    import psutil
    if psutil.virtual_memory().available / 2**30 > 40:
        pytest.skip("a machine with room for 8B in float32")
    with pytest.raises(ValueError, match=r"llada-8b-instruct needs about 33.0 GB but only [\d.]+ GB of free RAM"):
        models.load("llada-8b-instruct", device="cpu", cache_dir=str(tmp_path))


def test_download_fetches_the_named_presets_into_the_cache(tmp_path, monkeypatch, capsys):
    """`python -m llada_demo.models.download` asks the hub client for each named preset's files, into the cache the
    app reads; afterwards the preset counts as downloaded and loads offline (hub replaced by the stand-ins)."""
    from llada_demo.models import download
    asked = []

    def fake_snapshot_download(repo_id, cache_dir=None, allow_patterns=None, **kwargs):
        if allow_patterns is not None:  # a fetch, not the check that the files are there
            asked.append((repo_id, tuple(allow_patterns)))
        return str(put_in_cache(tmp_path, repo_id, FAMILIES[repo_id]))

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    assert download.main(["modernbert-large-chat", "qwen2.5-0.5b-instruct", "tiny-llada", "--cache-dir",
                          str(tmp_path)]) == 0
    assert [repo for repo, _ in asked] == ["dllm-hub/ModernBERT-large-chat-v0.1", "Qwen/Qwen2.5-0.5B-Instruct"]
    assert all("*.safetensors" in patterns and "*.json" in patterns for _, patterns in asked)
    monkeypatch.undo()
    listing = download.listing(str(tmp_path))
    assert "modernbert-large-chat" in listing and "not downloaded" in listing  # the 8B ones
    assert [line for line in listing.splitlines() if line.startswith("qwen2.5-0.5b-instruct")][0].count(" downloaded")
    assert download.main(["no-such-preset"]) == 2
    assert "Unknown preset no-such-preset" in capsys.readouterr().err

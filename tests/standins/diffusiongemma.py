"""A tiny random DiffusionGemma, built from transformers' own classes, and its hub-shaped folder.

DiffusionGemma (google/diffusiongemma-26B-A4B-it) is native to transformers 5.23
(`transformers/models/diffusion_gemma/`): no remote code, so the stand-in is the real
`DiffusionGemmaForBlockDiffusion` at a tiny size: vocabulary 256, hidden 32, two decoder layers (one
sliding-window, one full attention, as the real model alternates them), a one-layer 16-wide vision tower,
4 experts of which 2 are active per token, and a 16-token canvas (the real one holds 256).
`global_head_dim` and the expert sizes are set because their defaults (512, the full model's) build a
large model. The tokenizer is a word-level one filling the 256 ids, with Gemma's first special tokens
(<pad> 0, <eos> 1, <bos> 2, <unk> 3, <mask> 4) and a chat template with Gemma 4's turn markers: a turn
opens with `<|turn>` and the role (`model` for the assistant) and closes with `<turn|>`, as transformers'
own `cli/serving/utils.py` parses Gemma 4's replies, laid out as public Gemma 4 prompt builders write it
(see TEMPLATE; the checkpoint's own template could not be fetched here).

What it is not: the real model (its answers are noise) or its processor (the images part is absent).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from tokenizers import Tokenizer, models as tk_models, pre_tokenizers
from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion, PreTrainedTokenizerFast

VOCAB = 256
CANVAS = 16
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<|turn>", "<turn|>", "user", "model", "system"]
# Gemma 4's layout: `<bos><|turn>user\n{content}<turn|>\n` per message and `<|turn>model\n` to open the
# reply, as several public copies of its prompt builders write it (the real template, with system turns,
# tools and a thinking channel, ships with the checkpoint, which could not be fetched here).
TEMPLATE = ("{{ bos_token }}{% for m in messages %}<|turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
            "{{ m['content'] }}<turn|>\n{% endfor %}{% if add_generation_prompt %}<|turn>model\n{% endif %}")


def config(canvas_length: int = CANVAS) -> DiffusionGemmaConfig:
    text = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                num_key_value_heads=1, head_dim=16, global_head_dim=16,
                layer_types=["sliding_attention", "full_attention"], sliding_window=8, num_experts=4,
                top_k_experts=2, moe_intermediate_size=16, max_position_embeddings=1024,
                pad_token_id=0, eos_token_id=1, bos_token_id=2)
    vision = dict(model_type="gemma4_vision", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=8)
    # The image token ids sit inside the tiny vocabulary (the real ones are above 255999).
    return DiffusionGemmaConfig(text_config=text, vision_config=vision, canvas_length=canvas_length,
                                boi_token_id=VOCAB - 3, eoi_token_id=VOCAB - 2, image_token_id=VOCAB - 1)


def model(seed: int = 0, canvas_length: int = CANVAS) -> DiffusionGemmaForBlockDiffusion:
    """The tiny model with random weights drawn under `seed`, in eval mode."""
    torch.manual_seed(seed)
    return DiffusionGemmaForBlockDiffusion(config(canvas_length)).eval()


def tokenizer() -> PreTrainedTokenizerFast:
    """Gemma's first special ids, the turn markers, then words w0, w1, ... up to the 256 ids of the model."""
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for n in range(VOCAB - len(vocab)):
        vocab[f"w{n}"] = len(vocab)
    raw = Tokenizer(tk_models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    raw.add_special_tokens(["<|turn>", "<turn|>"])  # special in Gemma 4 too: `<|turn>user` splits before them
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>",
                                  unk_token="<unk>", mask_token="<mask>")
    tok.chat_template = TEMPLATE
    return tok


@contextlib.contextmanager
def preset_in_cache(cache_dir: Path):
    """The diffusiongemma preset readable by its hub id from `cache_dir`, offline, with its memory lowered
    to fit this machine (its real ~52 GB would be refused): the stand-in put where the hub client looks."""
    import dataclasses

    import pytest

    from llada_demo import models
    from tests.standins.families import put_in_cache
    preset = models.PRESETS["diffusiongemma"]
    put_in_cache(Path(cache_dir), preset.source, diffusiongemma)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(models.PRESETS, "diffusiongemma", dataclasses.replace(preset, memory_gb=0.01))
        mp.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
        yield


def diffusiongemma(folder: Path) -> None:
    """The hub folder of google/diffusiongemma-26B-A4B-it, in miniature: config.json, weights, tokenizer."""
    model().save_pretrained(folder)
    tokenizer().save_pretrained(folder)

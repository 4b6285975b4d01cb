"""DiffusionGemma (google/diffusiongemma-26B-A4B-it, `model_type` "diffusion_gemma"): what loading it needs.

The model is native to transformers 5.23 (`transformers/models/diffusion_gemma/`), so it loads without remote
code, through its own class `DiffusionGemmaForBlockDiffusion` (a causal encoder and a bidirectional decoder with
tied weights, Gemma 4's mixture of experts and vision tower). The loader needs three things from here: the
class (no Auto class for masked or causal LMs maps it), the kind (its config names no mask token and no MaskedLM
architecture, yet it is a diffusion model), and leave to have no mask token (it diffuses by uniform noise).
Its tokenizer (AutoTokenizer: GemmaTokenizer) carries the chat template, and serves diffusers'
`DiffusionGemmaPipeline` as its processor for text (the pipeline asks only `apply_chat_template`); the
processor's image half is not loaded, as the page sends text only.

What it is not: no sampling (engine/diffusiongemma.py drives diffusers' pipeline), no presets (presets.py).
"""

from __future__ import annotations

MODEL_TYPE = "diffusion_gemma"


def is_diffusiongemma(config) -> bool:
    """Whether a config (or a model's config) is DiffusionGemma's."""
    return getattr(config, "model_type", "") == MODEL_TYPE


def model_class():
    """transformers' own class with the diffusion head and `generate`."""
    from transformers import DiffusionGemmaForBlockDiffusion
    return DiffusionGemmaForBlockDiffusion

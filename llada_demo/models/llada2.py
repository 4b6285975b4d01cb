"""LLaDA 2 (inclusionAI's LLaDA2.0 / LLaDA2.1, `model_type` "llada2_moe"): what its hub code needs to load here.

LLaDA 2's `modeling_llada2_moe.py` (read in two public vendored copies; see tests/standins/llada2) was
written for transformers 4 and fails on transformers 5 before its first forward pass, in two places the
loader can mend without touching the hub code:

1. it imports `is_torch_fx_available` from `transformers.utils.import_utils`, a name transformers 5
   removed (ImportError while the module loads): `make_loadable` puts back a function answering False,
   so the file skips its torch.fx wrapping, which only matters for symbolic tracing;
2. its rotary embedding asks `ROPE_INIT_FUNCTIONS["default"]`, an entry transformers 5 removed (each
   model now computes plain RoPE itself): the loader gives the hub module (only it) transformers 4's
   default rule back, as it does for LLaDA-MoE (loading.py, `_transformers5_compatible`).

A third fails at the first forward pass: with `config.use_cache` set (its default) the forward builds a
transformers-4 cache (`DynamicCache.from_legacy_cache`, gone in transformers 5); a diffusion model
re-reads the whole canvas every pass and never uses a cache, so `prepare` turns it off in the config.
A fourth fails silently: the rotary embedding computes its `inv_freq` buffer (not saved with the
weights) in `__init__`; transformers 5 builds the model on the meta device and recomputes such buffers
only in its own `_init_weights`, which the hub code overrides, so `inv_freq` is left as uninitialised
memory and the positions are garbled (different numbers on every load). The loader recomputes it after
loading with the rule the module's `__init__` used, as for every transformers-4 rotary embedding.
Its `AutoModel` is the bare transformer without the language-model head, so `model_reference` names
`AutoModelForCausalLM` (`LLaDA2MoeModelLM`).

What it is not: no sampling (engine/llada2.py drives diffusers' `LLaDA2Pipeline`), no presets (loading.py).
"""

from __future__ import annotations


MODEL_TYPE = "llada2_moe"


def is_llada2(config) -> bool:
    """Whether a config (or a model's config) is LLaDA 2's."""
    return getattr(config, "model_type", "") == MODEL_TYPE


def model_reference(auto_map: dict) -> str:
    """The hub class to load: the one with the language-model head (the AutoModel entry has none)."""
    if "AutoModelForCausalLM" not in auto_map:
        raise ValueError("This LLaDA 2 checkpoint names no AutoModelForCausalLM class in its auto_map, so its "
                         "language-model head cannot be loaded; use the checkpoint as published by inclusionAI.")
    return auto_map["AutoModelForCausalLM"]


def _is_torch_fx_available() -> bool:
    return False


def make_loadable() -> None:
    """Put back the transformers-4 name LLaDA 2's hub code imports; idempotent, adds and never replaces."""
    from transformers.utils import import_utils
    if not hasattr(import_utils, "is_torch_fx_available"):
        import_utils.is_torch_fx_available = _is_torch_fx_available


def prepare(config) -> None:
    """Ready LLaDA 2's hub code and `config` for loading on transformers 5 (see the module's docstring)."""
    make_loadable()
    config.use_cache = False

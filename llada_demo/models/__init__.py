"""Models: presets, loading, the project's own tiny architecture, downloading, ZeroGPU.

`llada_demo.models` is the public face of `presets.py` and `loading.py` (the only place that loads), so
callers write `from llada_demo.models import load, PRESETS`. The presets are plain data and come at once;
the loading names import `loading.py` (torch, transformers, and the tiny architecture, registered with
transformers' Auto classes so the shipped checkpoints load offline) when first asked for, so that the app
can lay out its page from the presets before any model library is imported.
"""

from importlib import import_module

from llada_demo.models.presets import (ASSETS, AUTOREGRESSIVE, DIFFUSION, PRESETS, SHIPPED, Preset,  # noqa: F401
                                       default_pair)

_FROM_LOADING = ("END_TOKENS", "MASK_TOKENS", "Loaded", "allowlist", "cached", "check_fits", "free_gpu_gb",
                 "is_hub_id", "load", "missing", "pick_device", "pick_dtype", "resolve", "special_ids")


def __getattr__(name: str):
    """The loading names, imported on first use (PEP 562)."""
    if name in _FROM_LOADING:
        return getattr(import_module("llada_demo.models.loading"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_FROM_LOADING])

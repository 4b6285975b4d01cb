"""Models: presets, loading, the project's own tiny architecture, downloading, ZeroGPU.

`llada_demo.models` is the public face of `loading.py` (the only place that loads), so callers write
`from llada_demo.models import load, PRESETS`. Importing it registers the tiny architecture
(`modeling.py`) with transformers' Auto classes, so the shipped checkpoints load offline.
"""

from llada_demo.models.loading import (ASSETS, AUTOREGRESSIVE, DIFFUSION, END_TOKENS, MASK_TOKENS, PRESETS,  # noqa: F401
                                       SHIPPED, Loaded, Preset, allowlist, cached, check_fits, default_pair,
                                       free_gpu_gb, is_hub_id, load, missing, pick_device, pick_dtype, resolve,
                                       special_ids)

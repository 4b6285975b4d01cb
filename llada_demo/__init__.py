"""llada-demo: see a masked diffusion language model (LLaDA) generate, step by step.

One sub-package per concern, so that the tree tells where a change belongs:

- `engine/`: the `Step` record and the samplers (LLaDA's reverse process, left-to-right decoding), the
  schedule and settings checks, instrumentation, and a run as a stream of `Trace`s. Imports torch; never `web`.
- `models/`: presets, loading (transformers' Auto classes, hub code made to work on transformers 5), the
  project's own tiny architecture, downloading, ZeroGPU.
- `web/`: the page: views, HTML rendering, plots, export, chat. Never imports torch (a test checks).
- `tinyworld/`: the generated corpus that trains the shipped pair, its tokenizer, training, evaluation.
- `publish.py`: `python -m llada_demo.publish`, the Space upload (huggingface_hub; no torch).

Importing this package imports nothing heavy; `llada_demo.models` registers the tiny architecture with
transformers' Auto classes when it is first imported.
"""

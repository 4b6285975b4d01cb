"""llada-demo: see a masked diffusion language model (LLaDA) generate, step by step.

Importing the package registers the project's own tiny architecture with transformers' Auto classes
(see `modeling.py`), so the shipped checkpoints load offline with `from_pretrained`.
"""

from llada_demo import modeling as _modeling  # noqa: F401  (registers the Auto classes)

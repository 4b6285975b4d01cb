"""The Training tab's one model call: a mask draw over a sentence and the expected-loss curve beside it.

It binds `objective.masked_guesses` (one draw at ratio t, the guesses at every hidden position in one
forward pass, the AR twin's loss on the same tokens) and `objective.expected_loss` (a few draws at each
t in one batched pass) to the loaded pair with the same prompt/answer split, SFT switch and seed, so
the chips and the curve describe the same sentence.

What it is not: no training, no HTML (web/training_view.py), no second model path: `diffusion` and `ar`
are the `models.Loaded` the rest of the page runs (app.py binds them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llada_demo.engine import objective

if TYPE_CHECKING:  # the engine never imports models at run time; a Loaded is passed in
    from llada_demo.models import Loaded

SAMPLES = 4  # draws per t on the curve: enough to show the trend, one batched pass of 40 rows
RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def draw(diffusion: "Loaded", ar: "Loaded | None", prompt: str, answer: str, *, t: float, seed: int = 0,
         sft: bool = False, samples: int = SAMPLES) -> tuple[objective.MaskedGuesses, list[tuple[float, float]]]:
    """(the draw at ratio t, [(t, mean weighted loss)] over RATIOS) for prompt + answer."""
    record = objective.masked_guesses(diffusion, prompt, answer, t=t, seed=seed, sft=sft, ar=ar)
    curve = objective.expected_loss(diffusion, prompt, answer, ratios=RATIOS, samples=samples, seed=seed, sft=sft)
    return record, curve

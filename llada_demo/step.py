"""The record that crosses from model code to everything else: one `Step` per forward pass, and a `Trace`.

A sampler (`diffusion.sample`, `autoregressive.sample`) yields frozen `Step` records; the page, the
replay slider, the plots, the exports, the tests and the benchmarks read only these. This module holds
plain Python values and imports no torch, so everything downstream of the sampler stays torch-free.

Positions are 0-based within the generated region (the prompt is not part of a `Step`). Per-position
fields are tuples of length `gen_length`; `None` marks "not meaningful at this position in this step"
(for example a confidence where a position was not eligible to be committed).

What it is not: it does not decode tokens (a `Trace` carries the text of the ids it uses, filled in by
whoever owns the tokenizer) and it does not render anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Step:
    """What one forward pass did to the generated region.

    index:       0-based step (forward pass) number.
    block:       0-based index of the block being filled (LLaDA's semi-autoregressive blocks).
    tokens:      token ids of the generated region after this step; the mask id where still masked.
    committed:   positions committed (unmasked) in this step.
    proposals:   the model's guess at every position in this step (argmax, after Gumbel noise when
                 temperature > 0); the guesses that were not committed are the ones "remasked".
    confidence:  the score used to pick commits (softmax probability for low-confidence remasking,
                 the uniform draw for random remasking); None where the position was not eligible.
    probability: the model's probability of its guess at every position (unperturbed softmax).
    top_ids, top_probs: the top-k candidates and their probabilities at positions that were masked
                 when the step began (k = 5 by default); empty tuples elsewhere.
    entropy:     entropy (nats) of the model's distribution at positions masked when the step began.
    nfe:         forward passes so far, this one included (a CFG pass counts once; it holds two rows).
    elapsed:     seconds since the sampler started, measured after this step.
    """

    index: int
    block: int
    tokens: tuple[int, ...]
    committed: tuple[int, ...]
    proposals: tuple[int, ...]
    confidence: tuple[Optional[float], ...]
    probability: tuple[Optional[float], ...] = ()
    top_ids: tuple[tuple[int, ...], ...] = ()
    top_probs: tuple[tuple[float, ...], ...] = ()
    entropy: tuple[Optional[float], ...] = ()
    nfe: int = 0
    elapsed: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Step":
        """Rebuild a Step from `asdict` output (lists become tuples again)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"A step has unknown fields {sorted(unknown)}; export the trace again with this version.")
        values = {k: _tupled(v) for k, v in data.items()}
        return cls(**values)


def _tupled(value: Any) -> Any:
    """Lists (also nested) to tuples, so a Step read from JSON equals the Step that was written."""
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value


@dataclass(frozen=True)
class Trace:
    """A whole run: what was asked, with which settings, and every Step, replayable without a model.

    sampler:     "diffusion" or "autoregressive".
    prompt:      the prompt text as the user gave it.
    settings:    the sampler's keyword settings (steps, gen_length, block_length, ...), plain values.
    mask_id:     the id that marks a masked position in `Step.tokens`.
    token_text:  display text of every token id that appears in the steps (id -> text).
    special_ids: role -> ids, e.g. {"eos": [1]}, so a viewer can show end-of-text as a symbol.
    model:       a short description of the model that ran.
    """

    sampler: str
    prompt: str
    settings: dict[str, Any]
    mask_id: int
    steps: tuple[Step, ...] = ()
    token_text: dict[int, str] = field(default_factory=dict)
    special_ids: dict[str, tuple[int, ...]] = field(default_factory=dict)
    model: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = FORMAT_VERSION
        data["token_text"] = {str(k): v for k, v in self.token_text.items()}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "Trace":
        """Parse a trace written by `to_json`; a malformed one raises ValueError saying what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"This file is not valid JSON ({err.msg} at line {err.lineno}); load a trace exported by the demo.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise ValueError(f"This is not a llada-demo trace of format {FORMAT_VERSION}; load a trace exported by the demo.")
        try:
            return cls(
                sampler=str(data["sampler"]),
                prompt=str(data["prompt"]),
                settings=dict(data["settings"]),
                mask_id=int(data["mask_id"]),
                steps=tuple(Step.from_dict(s) for s in data["steps"]),
                token_text={int(k): str(v) for k, v in data["token_text"].items()},
                special_ids={str(k): tuple(int(i) for i in v) for k, v in data["special_ids"].items()},
                model=str(data.get("model", "")),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"This trace is missing or mistypes a field ({err}); load a trace exported by the demo.") from None

    def ids_used(self) -> set[int]:
        """Every token id a viewer may need to show: tokens, guesses and candidates of all steps."""
        ids: set[int] = set()
        for step in self.steps:
            ids.update(step.tokens)
            ids.update(step.proposals)
            for row in step.top_ids:
                ids.update(row)
        return ids

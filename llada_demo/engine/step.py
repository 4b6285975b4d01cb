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
from dataclasses import asdict, dataclass, field, fields, replace
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
    remasked:    positions that held a committed token before this step and lost it in this step: sent
                 back to [MASK] by a revoking rule, renoised by a uniform-noise model, or edited to another
                 token (then they are also in `committed`). Empty for LLaDA's own schedule, which never
                 revisits a commit; absent in traces saved before the field existed.
    accepted:    uniform-noise models (DiffusionGemma, engine/diffusiongemma.py): every position the rule holds
                 accepted after this step; those also in `committed` were accepted in this step, the others
                 earlier. Empty for masked models and in traces saved before the field existed.
    noise:       uniform-noise models: positions holding a random token after this step (renoised; no mask
                 token exists). Those also in `remasked` were accepted at the step before. Empty otherwise.
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
    remasked: tuple[int, ...] = ()
    accepted: tuple[int, ...] = ()
    noise: tuple[int, ...] = ()

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
class Edit:
    """A hand edit of one canvas position before a branch continues (issue 17 §2): `token` is the forced
    token id, or the trace's mask id for a remask."""

    position: int
    token: int


@dataclass(frozen=True)
class Branch:
    """A continuation of the run from an edited canvas.

    parent:  the line it leaves: -1 for the main run, else an earlier branch's index in `Trace.branches`.
    at_step: the index (in the parent's line, see `Trace.line`) of the step whose canvas was edited.
    edits:   what was changed on that canvas.
    steps:   its own Steps, numbered from 0: the first shows the edited canvas (no forward pass), the
             rest are the sampler's passes from there.
    """

    parent: int
    at_step: int
    edits: tuple[Edit, ...]
    steps: tuple[Step, ...] = ()


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
    branches:    continuations from hand-edited canvases (see `Branch`); absent from traces saved before.
    """

    sampler: str
    prompt: str
    settings: dict[str, Any]
    mask_id: int
    steps: tuple[Step, ...] = ()
    token_text: dict[int, str] = field(default_factory=dict)
    special_ids: dict[str, tuple[int, ...]] = field(default_factory=dict)
    model: str = ""
    branches: tuple[Branch, ...] = ()

    def line(self, branch: int = -1) -> tuple[Step, ...]:
        """The steps a viewer replays for `branch` (-1: the main run): its parent's line up to the edited
        step, then the branch's own steps, numbered on."""
        if branch == -1:
            return self.steps
        b = self.branches[branch]
        head = self.line(b.parent)[:b.at_step + 1]
        return head + tuple(replace(s, index=len(head) + k) for k, s in enumerate(b.steps))

    def to_json(self) -> str:
        data = asdict(self)
        if not self.branches:  # a trace without branches is written exactly as before the field existed
            del data["branches"]
        data["format"] = FORMAT_VERSION
        data["token_text"] = {str(k): v for k, v in self.token_text.items()}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str, max_chars: int | None = None) -> "Trace":
        """Parse a trace written by `to_json`; a malformed one raises ValueError saying what is wrong.

        The text is checked against the trace's schema before anything is built from it (see
        `check_trace_data`), so a hostile file cannot make a viewer fail later; `max_chars` bounds its size.
        """
        if not isinstance(text, str):
            raise ValueError(f"A trace is JSON text, not {type(text).__name__}; load a trace exported by the demo.")
        if max_chars is not None and len(text) > max_chars:
            raise ValueError(f"This trace is {len(text):,} characters long; the limit is {max_chars:,}. "
                             "Load a shorter run exported by the demo.")
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as err:
            raise ValueError(f"This file is not valid JSON ({err.msg} at line {err.lineno}); load a trace exported by the demo.") from None
        except (ValueError, RecursionError) as err:  # NaN / Infinity, nesting too deep, a 5000-digit number
            reason = "nested too deeply" if isinstance(err, RecursionError) else str(err).rstrip(".")
            raise ValueError(f"This file is not a trace ({reason}); load a trace exported by the demo.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise ValueError(f"This is not a llada-demo trace of format {FORMAT_VERSION}; load a trace exported by the demo.")
        check_trace_data(data)
        return cls(
            sampler=data["sampler"],
            prompt=data["prompt"],
            settings=dict(data["settings"]),
            mask_id=data["mask_id"],
            steps=tuple(Step.from_dict(s) for s in data["steps"]),
            token_text={int(k): v for k, v in data["token_text"].items()},
            special_ids={k: tuple(v) for k, v in data["special_ids"].items()},
            model=data.get("model", ""),
            branches=tuple(Branch(parent=b["parent"], at_step=b["at_step"],
                                  edits=tuple(Edit(**e) for e in b["edits"]),
                                  steps=tuple(Step.from_dict(s) for s in b["steps"]))
                           for b in data.get("branches", ())),
        )

    def ids_used(self) -> set[int]:
        """Every token id a viewer may need to show: tokens, guesses and candidates of all steps."""
        ids: set[int] = set()
        for step in self.steps + tuple(s for b in self.branches for s in b.steps):
            ids.update(step.tokens)
            ids.update(step.proposals)
            for row in step.top_ids:
                ids.update(row)
        return ids


# ---------------------------------------------------------------- the schema of an imported trace

SAMPLERS = ("diffusion", "autoregressive")
MAX_ID = 2**31 - 1         # token ids: a vocabulary never holds more
MAX_POSITIONS = 4096       # generated positions in one run
MAX_STEPS = 4096           # forward passes in one run
MAX_TOP = 64               # candidates per position
MAX_TEXT = 100_000         # characters of the prompt, of the model's name, of a token's text
REQUIRED = {"sampler": str, "prompt": str, "settings": dict, "mask_id": int, "steps": list, "token_text": dict,
            "special_ids": dict}


def _no_constant(name: str):
    raise ValueError(f"it holds {name}, which a trace never does")


def _bad(what: str) -> ValueError:
    return ValueError(f"This trace is malformed: {what}; load a trace exported by the demo.")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and v == v and abs(v) != float("inf")


def _ids(values, what: str, low: int = -1) -> None:
    if not isinstance(values, list) or not all(_is_int(v) and low <= v <= MAX_ID for v in values):
        raise _bad(f"{what} must be a list of token ids from {low} to {MAX_ID}")


def _per_position(values, what: str, length: int, ok, none: bool = True) -> None:
    """A per-position field: a list of `length` items (or empty), each passing ok (or None, if `none`)."""
    if not isinstance(values, list) or not (len(values) == length or not values):
        raise _bad(f"{what} must list one value per generated position ({length})")
    if not all((none and v is None) or ok(v) for v in values):
        raise _bad(f"{what} holds a value of the wrong type")


def _text(value, what: str) -> None:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _bad(f"{what} must be text of at most {MAX_TEXT:,} characters")


def check_trace_data(data: dict) -> None:
    """Raise ValueError unless `data` (parsed JSON) has the shape `Trace.to_json` writes: the types, one
    value per position in every per-position field, ids in range, committed positions inside the canvas,
    steps numbered in order and settings that agree with the steps. A viewer can then render it safely.
    """
    for key, kind in REQUIRED.items():
        if key not in data:
            raise ValueError(f"This trace is missing or mistypes a field ({key!r}); load a trace exported by the demo.")
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise ValueError(f"This trace is missing or mistypes a field ({key!r} must be {kind.__name__}); "
                             "load a trace exported by the demo.")
    unknown = set(data) - {*REQUIRED, "format", "model", "branches"}
    if unknown:
        raise _bad(f"unknown fields {sorted(unknown)[:5]}")
    _text(data["prompt"], "the prompt")
    _text(data.get("model", ""), "the model's name")
    steps = data["steps"]
    if len(steps) > MAX_STEPS:
        raise _bad(f"it has {len(steps)} steps, more than {MAX_STEPS}")
    length = None
    known = {f.name for f in fields(Step)}
    for n, step in enumerate(steps):
        if not isinstance(step, dict):
            raise _bad(f"step {n + 1} is not an object")
        unknown = set(step) - known
        if unknown:
            raise ValueError(f"A step has unknown fields {sorted(unknown)[:5]}; export the trace again with this version.")
        missing = {"index", "block", "tokens", "committed", "proposals", "confidence"} - set(step)
        if missing:
            raise ValueError(f"This trace is missing or mistypes a field ({sorted(missing)[0]!r} of step {n + 1}); "
                             "load a trace exported by the demo.")
        if step["index"] != n or not _is_int(step["index"]):
            raise _bad(f"step {n + 1} has index {str(step['index'])[:20]}, not {n}")
        if not _is_int(step["block"]) or not 0 <= step["block"] < MAX_POSITIONS:
            raise _bad(f"step {n + 1} has no valid block number")
        for key in ("nfe",):
            if key in step and not (_is_int(step[key]) and 0 <= step[key] <= 2 * MAX_STEPS):
                raise _bad(f"step {n + 1}'s {key} must be a whole number")
        if "elapsed" in step and not (_is_number(step["elapsed"]) and step["elapsed"] >= 0):
            raise _bad(f"step {n + 1}'s elapsed time must be a number of seconds")
        _ids(step["tokens"], f"step {n + 1}'s tokens")
        length = len(step["tokens"]) if length is None else length
        if not 0 < length <= MAX_POSITIONS or len(step["tokens"]) != length:
            raise _bad(f"every step must hold the same number of positions (1 to {MAX_POSITIONS})")
        committed = step["committed"]
        remasked = step.get("remasked", [])
        if (not isinstance(remasked, list) or not all(_is_int(p) and 0 <= p < length for p in remasked)
                or len(set(remasked)) != len(remasked)):
            raise _bad("a step's remasked positions must be distinct positions inside the canvas")
        for key in ("accepted", "noise"):
            held = step.get(key, [])
            if not isinstance(held, list) or not all(_is_int(p) and 0 <= p < length for p in held) \
                    or len(set(held)) != len(held):
                raise _bad(f"step {n + 1}'s {key} positions must be distinct positions inside the canvas")
        if set(step.get("accepted", [])) & set(step.get("noise", [])):
            raise _bad(f"step {n + 1} holds a position both accepted and noise")
        if (not isinstance(committed, list) or not all(_is_int(p) and 0 <= p < length for p in committed)
                or len(set(committed)) != len(committed)):
            raise _bad(f"step {n + 1} commits positions outside the canvas")
        _ids(step["proposals"], f"step {n + 1}'s guesses")
        if len(step["proposals"]) not in (0, length):
            raise _bad(f"step {n + 1}'s guesses must list one value per generated position ({length})")
        _per_position(step["confidence"], f"step {n + 1}'s confidence", length, _is_number)
        probability = lambda v: _is_number(v) and 0 <= v <= 1  # noqa: E731
        _per_position(step.get("probability", []), f"step {n + 1}'s probabilities", length, probability)
        _per_position(step.get("entropy", []), f"step {n + 1}'s entropies", length, _is_number)
        top_ids, top_probs = step.get("top_ids", []), step.get("top_probs", [])
        _per_position(top_ids, f"step {n + 1}'s candidates", length,
                      lambda v: isinstance(v, list) and len(v) <= MAX_TOP and all(_is_int(i) and 0 <= i <= MAX_ID for i in v),
                      none=False)
        _per_position(top_probs, f"step {n + 1}'s candidate probabilities", length,
                      lambda v: isinstance(v, list) and len(v) <= MAX_TOP and all(probability(p) for p in v), none=False)
        if len(top_ids) != len(top_probs) or any(len(i) != len(p) for i, p in zip(top_ids, top_probs)):
            raise _bad(f"step {n + 1}'s candidates and their probabilities differ in number")
    _check_settings(data["settings"], length, len(steps))
    if not _is_int(data["mask_id"]) or not -1 <= data["mask_id"] <= MAX_ID:
        raise _bad(f"the mask id must be a token id from -1 to {MAX_ID}")
    for key, value in data["token_text"].items():
        if not (key.isascii() and key.isdigit() and int(key) <= MAX_ID):
            raise _bad(f"token_text has a key that is not a token id ({key[:20]!r})")
        _text(value, f"the text of token {key}")
    for key, value in data["special_ids"].items():
        _text(key, "a special token's role")
        _ids(value, f"the special ids of {key[:20]!r}", low=0)
    if data["sampler"] not in SAMPLERS:
        raise _bad(f"the sampler must be one of {', '.join(SAMPLERS)}")
    _check_branches(data, length)


def _check_branches(data: dict, length: int | None) -> None:
    """Each branch leaves an earlier line at one of its steps, edits positions inside the canvas, and its
    steps pass the same checks as the main run's (through `check_trace_data` on a trace of them)."""
    branches = data.get("branches", [])
    if not isinstance(branches, list) or len(branches) > MAX_STEPS:
        raise _bad("its branches must be a list")
    lines = []  # the length of each line: the main run's, then each branch's
    main = len(data["steps"])
    for n, b in enumerate(branches):
        if not isinstance(b, dict) or set(b) != {"parent", "at_step", "edits", "steps"}:
            raise _bad(f"branch {n + 1} must have parent, at_step, edits and steps")
        parent, at = b["parent"], b["at_step"]
        if not (_is_int(parent) and -1 <= parent < n):
            raise _bad(f"branch {n + 1} must leave the main run (-1) or an earlier branch")
        parent_length = main if parent == -1 else lines[parent]
        if not (_is_int(at) and 0 <= at < parent_length):
            raise _bad(f"branch {n + 1} leaves its parent at a step it does not have")
        edits = b["edits"]
        if not isinstance(edits, list) or not all(
                isinstance(e, dict) and set(e) == {"position", "token"} and _is_int(e["position"])
                and 0 <= e["position"] < (length or 0) and _is_int(e["token"]) and -1 <= e["token"] <= MAX_ID
                for e in edits):
            raise _bad(f"branch {n + 1}'s edits must each name a position inside the canvas and a token id")
        if not isinstance(b["steps"], list) or not b["steps"]:
            raise _bad(f"branch {n + 1} has no steps")
        check_trace_data({**{k: data[k] for k in REQUIRED}, "steps": b["steps"],
                          "settings": {**data["settings"], "steps": len(b["steps"])}})
        if len(b["steps"][0]["tokens"]) != length:
            raise _bad(f"branch {n + 1}'s steps must hold as many positions as the run's ({length})")
        lines.append(at + 1 + len(b["steps"]))


def _check_settings(settings: dict, length: int | None, steps: int) -> None:
    if len(settings) > 64 or not all(isinstance(k, str) and len(k) <= 64 for k in settings):
        raise _bad("its settings are not a short list of named values")
    for key, value in settings.items():
        if not (value is None or isinstance(value, (str, bool)) or _is_number(value)):
            raise _bad(f"the setting {key!r} is not a plain value")
        if isinstance(value, str) and len(value) > 200:
            raise _bad(f"the setting {key!r} is too long")
    for key in ("steps", "gen_length", "block_length"):
        if key in settings and not (_is_int(settings[key]) and 1 <= settings[key] <= max(MAX_STEPS, MAX_POSITIONS)):
            raise _bad(f"the setting {key} must be a whole number from 1 to {max(MAX_STEPS, MAX_POSITIONS)}")
    if length is not None and settings.get("gen_length", length) != length:
        raise _bad(f"its settings say gen_length {settings['gen_length']} but its steps hold {length} positions")
    loops = 2 if settings.get("remdm_number") else 1  # ReMDM adds a loop of `steps` passes (engine/revoke.py)
    if steps and settings.get("steps", steps) * loops < steps:
        raise _bad(f"its settings say {settings['steps']} steps but it holds {steps}")

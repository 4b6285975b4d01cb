"""Hugging Face ZeroGPU: hold a GPU only while a run streams, for a time that fits its settings.

On a ZeroGPU Space the `spaces` package is installed and a GPU is lent to a function decorated with
`spaces.GPU(duration=...)` for the length of each call. The backend's functions return lazy streams
(the forward passes happen while the page iterates them), so each is wrapped as a generator that runs
the whole stream inside the decorated call. The duration asked for grows with the forward passes the
settings imply (ZeroGPU queues long requests behind short ones, and cuts a call that overruns).
Without `spaces` (a laptop, a GPU server, Docker) `wrap` returns the functions unchanged.

What it is not: no device choice (see `models.pick_device`), no queue settings (see `app.launch`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

# Seconds to ask for: start-up plus a budget per forward pass of an 8B model at the page's lengths
# (LLaDA-8B in bf16 takes ~0.05-0.1 s per pass at 128 + prompt tokens on an H100-class slice).
BASE_S = 10.0
PER_PASS_S = 0.25
MAX_S = 120.0


def duration(*args, steps=None, gen_length=None, **kwargs) -> float:
    """Seconds for one run: its forward passes (steps; gen_length for an AR run or both in a comparison)."""
    passes = int(steps or 0) + int(gen_length or 0)
    return min(MAX_S, BASE_S + PER_PASS_S * max(passes, 1))


def available() -> bool:
    try:
        import spaces  # noqa: F401
    except ImportError:
        return False
    return True


def on_gpu(stream: Callable, gpu=None) -> Callable:
    """`stream` run whole inside a `spaces.GPU` call sized by `duration`."""
    if gpu is None:
        import spaces
        gpu = spaces.GPU

    @functools.wraps(stream)
    def run(*args, **kwargs):
        yield from stream(*args, **kwargs)

    return gpu(duration=duration)(run)


def call_on_gpu(function: Callable, gpu=None) -> Callable:
    """`function` (one answer, not a stream) run inside a `spaces.GPU` call of the base duration."""
    if gpu is None:
        import spaces
        gpu = spaces.GPU

    @functools.wraps(function)
    def run(*args, **kwargs):
        return function(*args, **kwargs)

    return gpu(duration=BASE_S)(run)


# The backend's model functions (web/views.Backend): streams of Traces or rows, and one plain call.
STREAMS = ("denoise", "compare", "infill", "steer", "frontier", "compare_strategies", "versus")
CALLS = ("objective",)


def wrap(backend, gpu=None):
    """The backend with every model function on a lent GPU when `spaces` is present (or `gpu` is given)."""
    if gpu is None and not available():
        return backend
    changes = {}
    for f in dataclasses.fields(backend):
        function = getattr(backend, f.name)
        if function is not None and f.name in STREAMS:
            changes[f.name] = on_gpu(function, gpu)
        elif function is not None and f.name in CALLS:
            changes[f.name] = call_on_gpu(function, gpu)
    return dataclasses.replace(backend, **changes)

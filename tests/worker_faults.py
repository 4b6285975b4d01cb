"""A fault inside a library's own loop (LLaDA 2's and DiffusionGemma's pipelines run in a worker thread,
engine/worker.py): what both samplers' tests check, written once. Not a test module."""

import threading
from typing import Callable, Iterator

import pytest
import torch

from llada_demo.engine.limits import RunFailed


def assert_a_fault_ends_the_run(module: torch.nn.Module, run: Callable[[], Iterator], worker: str) -> None:
    """The third forward call of `module` raises a CUDA error: the run must have yielded its first two
    steps, then end with the page's sentence, and leave no worker thread named `worker` alive."""
    calls = []

    def fail_on_third(*_):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

    hook = module.register_forward_hook(fail_on_third)
    try:
        traces = []
        with pytest.raises(RunFailed, match=r"The model failed at step 3 \(RuntimeError\), so this run stopped"):
            for trace in run():
                traces.append(trace)
        assert len(traces) == 2
        assert not any(t.name == worker and t.is_alive() for t in threading.enumerate())
    finally:
        hook.remove()

"""A library's closed loop turned into a generator: the loop runs in a worker thread, a bounded queue between.

diffusers' pipelines (LLaDA2Pipeline, DiffusionGemmaPipeline) call back once per step rather than yield, so
`stream(work)` runs `work(emit)` in a daemon thread and yields each item the loop hands to `emit`. The queue
holds `size` items, so the loop runs at most that far ahead of the page. Closing the generator (Stop, a
visitor leaving) sets a flag that makes the next `emit` raise `Stopped` inside the loop, so the worker ends
within one step and is joined; a fault in the worker is re-raised in the consumer.

What it is not: no model code, no `Step`s (engine/llada2.py and engine/diffusiongemma.py build those).
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator


class Stopped(Exception):
    """Raised by `emit` inside the worker's loop when the consumer has gone."""


def stream(work: Callable[[Callable[[object], None]], None], name: str, size: int = 2) -> Iterator:
    """Yield what `work(emit)` emits, from a worker thread (see the module's docstring)."""
    items: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    done = object()

    def put(item) -> None:
        while not stop.is_set():  # never block forever on a consumer that has gone
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def emit(item) -> None:
        if stop.is_set():
            raise Stopped
        put(item)
        if stop.is_set():
            raise Stopped

    def run() -> None:
        try:
            work(emit)
            put(done)
        except Stopped:
            pass
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(err)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()

"""A model that breaks mid-run: it raises, runs out of memory, or returns NaN logits.

Stand-ins wrap the shipped tiny model and break at their third forward pass. The run that meets one
ends with one sentence (on the page and through the API); runs of other visitors, at the same time and
afterwards, go on as normal.
"""

import dataclasses
import functools
import threading

import gradio as gr
import pytest
import torch
from gradio_client import Client

from llada_demo.engine import runs
from llada_demo.web import views
from llada_demo.engine.limits import RunFailed
from tests.conftest import free_port

FAULTS = {
    "raise": ("RuntimeError", "The model failed at step 3 (RuntimeError), so this run stopped"),
    "oom": ("OutOfMemoryError", "The model ran out of memory at step 3"),
    "nan": ("NaN", "The model returned NaN scores at step 3"),
    "inf": ("inf", "The model returned NaN scores at step 3"),
}


class Breaks(torch.nn.Module):
    """The wrapped model, until its `at`-th forward pass: then it raises, runs out of memory, or its
    logits turn NaN (or +inf at one token, which softmax turns into NaN)."""

    def __init__(self, model: torch.nn.Module, fault: str, at: int = 3):
        super().__init__()
        self.model, self.fault, self.at, self.calls, self.config = model, fault, at, 0, model.config

    def forward(self, input_ids, attention_mask=None, **kwargs):
        self.calls += 1
        out = self.model(input_ids, attention_mask=attention_mask, **kwargs)
        if self.calls >= self.at:
            if self.fault == "raise":
                raise RuntimeError("a stand-in model failed: CUDA error: device-side assert triggered")
            if self.fault == "oom":
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
            if self.fault == "nan":
                out.logits = torch.full_like(out.logits, float("nan"))
            if self.fault == "inf":
                out.logits[..., 5] = float("inf")
        return out


@pytest.fixture(scope="module")
def shipped():
    from llada_demo.models import load
    return load("tiny-llada")


def denoise(shipped, prompt, **settings):
    """The Denoise backend: a prompt that starts with a fault's name runs on a model that breaks so."""
    fault = prompt.split()[0]
    loaded = dataclasses.replace(shipped, model=Breaks(shipped.model, fault)) if fault in FAULTS else shipped
    return runs.denoise(loaded, prompt, **settings)


@pytest.fixture(scope="module")
def backend(shipped):
    return views.Backend(denoise=functools.partial(denoise, shipped))


SETTINGS = (16, 8, 16, "low_confidence", 0.0, 0.0, 0, True)


@pytest.mark.parametrize("fault", FAULTS)
def test_the_page_shows_what_broke_after_the_frames_it_had(backend, fault):
    frames = views.denoise_frames(backend, f"{fault} Kilm lived near the market.", *SETTINGS)
    shown = [next(frames), next(frames)]  # two good steps reach the page
    with pytest.raises(gr.Error) as info:
        next(frames)
    assert FAULTS[fault][1] in info.value.message and "Traceback" not in info.value.message
    assert all('data-step="' in canvas for canvas, *_ in shown)


def test_the_run_level_error_is_run_failed(shipped):
    with pytest.raises(RunFailed, match="NaN"):
        list(denoise(shipped, "nan Kilm lived.", steps=8, gen_length=8, block_length=8))


def test_a_good_run_after_faults_is_untouched(backend, shipped):
    for fault in FAULTS:
        with pytest.raises(gr.Error):
            list(views.denoise_frames(backend, f"{fault} Kilm lived.", *SETTINGS))
    *_, last = views.denoise_frames(backend, "Kilm lived near the market.", *SETTINGS)
    reference = list(runs.denoise(shipped, "Kilm lived near the market.", steps=8, gen_length=16, block_length=16))
    untimed = lambda steps: [dataclasses.replace(s, elapsed=0.0) for s in steps]  # noqa: E731
    assert untimed(last[3].steps) == untimed(reference[-1].steps)  # same tokens and probabilities as a fresh run


@pytest.fixture(scope="module")
def faulty_app(backend):
    from llada_demo.web.render import CSS
    from llada_demo.web.ui import build_demo

    demo = build_demo(backend)
    demo.queue(default_concurrency_limit=2, max_size=16)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, css=CSS, show_error=False, prevent_thread_lock=True,
                quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_through_the_api_a_fault_is_a_sentence_and_others_go_on(faulty_app):
    good = ("Kilm lived near the market.", 16, 16, 16, "low_confidence", 0.0, 0.0, 0, True)
    results, errors = {}, {}

    def visit(name, prompt):
        try:
            job = Client(faulty_app, verbose=False).submit(prompt, *good[1:], api_name="/denoise")
            results[name] = list(job)
            job.result(timeout=60)  # raises the run's error, if it had one
        except Exception as err:  # noqa: BLE001 - the point is what it says
            errors[name] = str(err)

    threads = [threading.Thread(target=visit, args=(f, f"{f} Kilm lived near the market.")) for f in FAULTS]
    threads += [threading.Thread(target=visit, args=(f"good{i}", good[0])) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for fault, (_, sentence) in FAULTS.items():
        assert sentence in errors[fault] and "verbose error reporting" not in errors[fault]
    for i in range(3):
        assert f"good{i}" not in errors and len(results[f"good{i}"]) == 16
        assert 'data-state="masked"' not in results[f"good{i}"][-1][0]


def test_a_fault_while_scoring_the_test_set_ends_it_with_a_sentence():
    from llada_demo.web import views
    from llada_demo.tinyworld.evaluate import Case

    case = Case("facts", "A's mother is", "B", "B is the mother of", "A", "{}'s mother is B.", ("A", "B"), 4)

    def broken(case):
        raise RuntimeError("CUDA error: device-side assert")

    reversal = views.Reversal(cases=(case,) * 3, ask=None, score=broken, measured=None)
    with pytest.raises(gr.Error, match=r"Scoring item 1 of 3 failed \(RuntimeError\)"):
        list(views.test_set_frames(reversal, 3))

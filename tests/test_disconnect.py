"""A visitor who closes the page (the stream's connection drops) or presses Stop frees the model: the
server stops calling it within a step or two. Counted on the server side, in forward passes."""

import functools
import time

import httpx
import pytest
import torch

from llada_demo.engine import runs
from llada_demo.web import ui, views
from llada_demo.models import DIFFUSION, Loaded
from tests.conftest import MASK_ID, VOCAB, free_port

STEP_S = 0.05  # each forward pass takes at least this long, so a run of 120 steps lasts ~6 s


class Counting(torch.nn.Module):
    """The tiny test model, slowed to STEP_S per forward pass, counting its passes."""

    def __init__(self, model):
        super().__init__()
        self.model, self.config, self.passes = model, model.config, 0

    def forward(self, *args, **kwargs):
        self.passes += 1
        time.sleep(STEP_S)
        return self.model(*args, **kwargs)


class Words:
    """A tokenizer for ids only: word i is "w{i}"."""

    def encode(self, text, add_special_tokens=False):
        return [4 + (sum(map(ord, w)) % (VOCAB - 4)) for w in text.split()]

    def decode(self, ids, **kwargs):
        return "".join(f" w{i}" for i in ids)


@pytest.fixture(scope="module")
def server(diffusion_model):
    model = Counting(diffusion_model)
    loaded = Loaded(name="counting", kind=DIFFUSION, model=model, tokenizer=Words(), mask_id=MASK_ID, eos_ids=(1,),
                    chat=False, device="cpu", parameters=0)
    demo = ui.build_demo(views.Backend(denoise=functools.partial(runs.denoise, loaded)))
    demo.queue(default_concurrency_limit=1)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}", model
    demo.close()


def passes_settle(model, within_s: float = 3.0) -> int:
    """The pass count once it has stopped growing (or after within_s)."""
    last, deadline = -1, time.monotonic() + within_s
    while time.monotonic() < deadline and model.passes != last:
        last = model.passes
        time.sleep(4 * STEP_S)
    return model.passes


def test_a_dropped_connection_stops_the_run(server):
    url, model = server
    from gradio_client import Client
    parameters = Client(url, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]["/denoise"]["parameters"]
    given = ["w1 w2 w3", 120, 120, 120, "low_confidence", 0.0, 0.0, 0, True]  # the later inputs at their defaults
    body = {"data": given + [p.get("parameter_default") for p in parameters[len(given):]]}
    event = httpx.post(f"{url}/gradio_api/call/denoise", json=body, timeout=10).json()["event_id"]
    start = model.passes
    with httpx.stream("GET", f"{url}/gradio_api/call/denoise/{event}", timeout=30) as stream:
        frames = 0
        for line in stream.iter_lines():
            frames += line.startswith("data:") and line != "data: null"
            if frames >= 3:
                break
        dropped_at = model.passes - start
    # The connection is closed here, mid-run, as when a visitor closes the tab.
    ran = passes_settle(model) - start
    print(f"passes when the connection dropped: {dropped_at}; in all: {ran} of 120")
    assert ran <= dropped_at + 2 < 120


def test_stop_frees_the_model_within_a_step(server):
    from gradio_client import Client
    url, model = server
    client = Client(url + "/", verbose=False)
    job = client.submit("w1 w2 w3", 120, 120, 120, "low_confidence", 0.0, 0.0, 0, True, api_name="/denoise")
    while len(job.outputs()) < 3:
        time.sleep(0.01)
    start_total = model.passes
    job.cancel()
    ran_after = passes_settle(model) - start_total
    print(f"passes after Stop: {ran_after}")
    assert ran_after <= 2

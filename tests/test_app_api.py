"""The app through its API, as a program (or a test) would use it: gradio_client against the real
app served in-process."""

import re
import time

import pytest
from gradio_client import Client

SETTINGS = dict(gen_length=16, steps=16, block_length=16, remasking="low_confidence", temperature=0.0,
                cfg_scale=0.0, seed=0, show_guesses=True)


def args(prompt="Kilm lived near the market with a lazy owl.", **overrides):
    s = {**SETTINGS, **overrides}
    return (prompt, s["gen_length"], s["steps"], s["block_length"], s["remasking"], s["temperature"],
            s["cfg_scale"], s["seed"], s["show_guesses"])


@pytest.fixture(scope="module")
def client(served_app):
    return Client(served_app, verbose=False)


def steps_shown(canvas: str) -> int:
    return int(re.search(r'data-step="(\d+)"', canvas).group(1))


def test_a_run_streams_one_frame_per_step_and_ends_with_no_masks(client):
    frames = list(client.submit(*args(steps=8), api_name="/denoise"))
    assert [steps_shown(canvas) for canvas, *_ in frames] == list(range(1, 9))
    canvas, status, _slider, *figures = frames[-1]
    assert len(figures) == 4 and all(f is not None for f in figures)  # the plots, complete at the end
    assert 'data-state="masked"' not in canvas
    assert canvas.count('data-state="committed"') + canvas.count('data-state="new"') == 16
    assert "Step 8 / 8" in status and "masks left 0" in status


def test_scrubbing_returns_earlier_frames(client):
    frames = list(client.submit(*args(), api_name="/denoise"))
    canvas, status = client.predict(5, True, api_name="/scrub")
    assert steps_shown(canvas) == 5 and "Step 5 / 16" in status
    assert canvas == frames[4][0]  # the same frame the live run showed
    blank, _ = client.predict(0, True, api_name="/scrub")
    assert steps_shown(blank) == 0 and blank.count('data-state="masked"') == 16


def test_same_seed_same_run(client):
    a = list(client.submit(*args(temperature=1.0, seed=7), api_name="/denoise"))[-1][0]
    b = list(client.submit(*args(temperature=1.0, seed=7), api_name="/denoise"))[-1][0]
    assert a == b


@pytest.mark.parametrize("overrides,fragment", [
    (dict(block_length=5), "must divide the generation length"),
    (dict(steps=13, block_length=8), "multiple of the number of blocks"),
])
def test_a_bad_setting_returns_one_clear_sentence(client, overrides, fragment):
    with pytest.raises(Exception, match=fragment) as info:
        client.submit(*args(**overrides), api_name="/denoise").result()
    assert "Traceback" not in str(info.value)


def test_an_empty_prompt_is_refused_with_a_sentence(client):
    with pytest.raises(Exception, match="The prompt is empty"):
        client.submit(*args(prompt="   "), api_name="/denoise").result()


def test_json_export_loads_back_and_replays_without_the_model(client):
    frames = list(client.submit(*args(steps=8), api_name="/denoise"))
    path = client.predict(api_name="/export_json")
    assert path.endswith(".json")
    from gradio_client import handle_file
    fresh = Client(client.src, verbose=False)  # a new visitor: no run of their own
    loaded = fresh.predict(handle_file(path), True, api_name="/load_trace")
    assert loaded[0] == frames[-1][0] and "Step 8 / 8" in loaded[1]
    canvas, status = fresh.predict(3, True, api_name="/scrub")
    assert steps_shown(canvas) == 3


@pytest.mark.parametrize("kind,suffix", [("html", ".html"), ("gif", ".gif")])
def test_html_and_gif_exports(client, kind, suffix):
    list(client.submit(*args(steps=4, gen_length=8, block_length=8), api_name="/denoise"))
    path = client.predict(api_name=f"/export_{kind}")
    assert path.endswith(suffix)


def test_export_before_any_run_is_a_clear_error(served_app):
    with pytest.raises(Exception, match="Run the model first"):
        Client(served_app, verbose=False).predict(api_name="/export_json")


def test_infill_fills_only_the_blanks(client):
    frames = list(client.submit("Kilm lived near the ___ with a lazy ___.", 0.0, 0, True, api_name="/infill"))
    canvas, status = frames[-1]
    assert len(frames) == 2 and 'data-state="masked"' not in canvas
    assert canvas.count('data-state="given"') == 8  # Kilm lived near the | with a lazy | .
    assert "Step 2 / 2" in status


def test_infill_without_a_blank_says_so(client):
    with pytest.raises(Exception, match="no blank"):
        client.submit("Kilm lived near the market.", 0.0, 0, True, api_name="/infill").result()


def test_infill_keeps_punctuation_after_a_blank(client):
    canvas, _ = list(client.submit("Kilm lived near the ___.", 0.0, 0, True, api_name="/infill"))[-1]
    assert "unk" not in canvas and canvas.count('data-state="given"') == 5  # Kilm lived near the | .


def test_stop_ends_a_run_within_a_step(client):
    job = client.submit(*args(gen_length=192, steps=192, block_length=192, cfg_scale=4.0), api_name="/denoise")
    while len(job.outputs()) < 3:
        time.sleep(0.01)
    job.cancel()
    stopped_at = len(job.outputs())
    deadline = time.time() + 3
    while not job.done() and time.time() < deadline:
        time.sleep(0.05)
    assert len(job.outputs()) <= stopped_at + 1 < 192

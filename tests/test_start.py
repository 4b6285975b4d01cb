"""A fast start: with the shipped pair the page is served before the models have loaded, says so, and a run
asked for meanwhile waits for them (app.py's `Loading`); a load that fails is told in one sentence.

The real app (app.py) is launched in-process with its loader replaced by one that waits on an Event, so
the test decides when loading ends; the models themselves are the real shipped pair.
"""

import subprocess
import sys
import threading
import time

import httpx
import pytest
from gradio_client import Client

from tests.conftest import free_port

PROMPT = "Kilm lived near the market with a lazy owl."
RUN = (PROMPT, 16, 8, 16, "low_confidence", 0.0, 0.0, 0, True)


def header(url: str) -> str:
    """The header's markdown as the page first renders it (the app's config)."""
    config = httpx.get(url + "config", timeout=30).json()
    return next(c["props"]["value"] for c in config["components"] if c.get("props", {}).get("elem_id") == "model-note")


@pytest.fixture
def slow_app(monkeypatch):
    """The app whose diffusion model loads only once `release` is set."""
    import app

    release, real = threading.Event(), app.load_diffusion

    def waits_then_loads(args):
        assert release.wait(120), "the test never released the loader"
        return real(args)

    monkeypatch.setattr(app, "load_diffusion", waits_then_loads)
    port = free_port()
    demo = app.launch(app.parse_args(["--port", str(port)]), prevent_thread_lock=True, quiet=True)
    yield demo, f"http://127.0.0.1:{port}/", release
    release.set()
    demo.close()


def test_the_page_is_served_saying_loading_and_a_run_asked_meanwhile_waits_then_works(slow_app):
    demo, url, release = slow_app
    assert httpx.get(url, timeout=30).status_code == 200
    assert not demo.loading.done.is_set()  # served while the model is still loading
    assert "Loading the models (**tiny-llada** and **tiny-ar**)" in header(url)
    text, about, ready = demo.loading.note()
    assert not ready and "Loading" in text and about == ""

    job = Client(url, verbose=False).submit(*RUN, api_name="/denoise")
    time.sleep(1.0)
    assert not job.done() and job.outputs() == []  # it waits for the model, it does not fail

    release.set()
    frames = list(job)
    assert len(frames) == 8 and "Step 8 / 8" in frames[-1][1] and "masks left 0" in frames[-1][1]
    assert demo.loading.done.is_set()
    text, about, ready = demo.loading.note()
    assert ready and "Diffusion model: **tiny-llada**" in text and "tiny-ar" in about

    from llada_demo.web import views
    shown, running, timer = views.loading_views("title", demo.loading.note)
    assert shown == f"# title\n{text}" and running == about and timer.active is False  # the timer stops

    # The other model events wait the same way and work once loaded.
    d, d_status, a, a_status, _chart = list(Client(url, verbose=False).submit(PROMPT, 8, 8, 8, 0.0, 0,
                                                                              api_name="/compare"))[-1]
    assert "Step 8 / 8" in d_status and 'data-state="masked"' not in d


def test_a_load_that_fails_refuses_runs_with_a_sentence(monkeypatch):
    import app

    def fails(args):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(app, "load_diffusion", fails)
    port = free_port()
    demo = app.launch(app.parse_args(["--port", str(port)]), prevent_thread_lock=True, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception, match="The model could not be loaded \\(RuntimeError: CUDA out of memory\\)") as info:
            Client(url, verbose=False).submit(*RUN, api_name="/denoise").result()
        assert "Traceback" not in str(info.value)
        text, _, ready = demo.loading.note()
        assert ready and "could not be loaded" in text  # the header says so too
    finally:
        demo.close()


def test_the_page_is_planned_without_importing_torch():
    """What the page needs before serving (settings, presets, the tiny world's items, the layout) is torch-free."""
    code = ("import sys, app; a = app.parse_args([]); names = app.shipped_plan(a); "
            "from llada_demo.tinyworld import cases, corpus; cases.reversal_cases(corpus.build_world(0)); "
            "import llada_demo.web.ui; print(names, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    names, torch_imported = out.stdout.rsplit(" ", 1)
    import app
    if app.no_gpu_here():
        assert names == "('tiny-llada', 'tiny-ar')"
    assert torch_imported.strip() == "False"


@pytest.mark.parametrize("flags,planned", [
    (["--model", "tiny-llada", "--ar", "none"], ("tiny-llada", "none")),
    (["--model", "tiny-llada", "--ar", "tiny-ar"], ("tiny-llada", "tiny-ar")),
    (["--model", "tiny-ar"], None),  # not the shipped diffusion model: loaded first, as before
    (["--model", "llada-8b-instruct", "--ar", "none"], None),
    (["--model", "tiny-llada", "--ar", "qwen2.5-0.5b-instruct"], ("tiny-llada", "tiny-ar")),
])
def test_only_the_shipped_pair_is_served_before_loading(flags, planned, monkeypatch):
    import app
    monkeypatch.setattr(app, "no_gpu_here", lambda: True)
    plan = app.shipped_plan(app.parse_args(flags))
    assert plan == planned
    if plan:  # what loading then gives: the same pair (load_ar puts the twin beside the tiny model)
        args = app.parse_args(flags)
        assert app.chosen(args)[0] == plan[0]


def test_a_person_sees_loading_then_the_model_and_runs(slow_app):
    """In Chromium: the header says Loading while the model loads and names it once ready (no reload); Run works."""
    import os
    import shutil
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed")
    demo, url, release = slow_app
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(url)
        note = page.locator("#model-note")
        sync_api.expect(note).to_contain_text("Loading the models", timeout=60_000)
        page.locator("#prompt textarea").fill(PROMPT)
        page.locator("#run").click()  # asked for while loading: it waits
        assert not demo.loading.done.is_set()
        release.set()
        sync_api.expect(note).to_contain_text("Diffusion model: tiny-llada", timeout=60_000)
        page.wait_for_selector('#canvas [data-step="48"]', timeout=120_000)  # the preset's default: 48 steps
        browser.close()

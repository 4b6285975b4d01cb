"""What every browser test shares: Debian's Chromium driven by Playwright, where screenshots go, and the
slider helper. The `chromium` fixture (conftest.py, one browser per test module) launches it from here.

Playwright's own browser download does not work on these machines, so the tests drive /usr/bin/chromium
(or $CHROMIUM) and are skipped where it is not installed. Not a test module: no tests here.
"""

import contextlib
import os
import shutil
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@contextlib.contextmanager
def launched():
    """A headless Chromium for the length of the block (screenshots folder made)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def opened(browser, url: str, width: int = 1280, height: int = 900):
    """A tab of `browser` at `url`, once the page's canvas is drawn; closed after the block."""
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(url)
        page.wait_for_selector("#canvas [data-step]")
        yield page
    finally:
        page.close()


@contextlib.contextmanager
def served(demo, css: str = ""):
    """A page built in the test (ui.build_demo), queued and served on a free port: its address."""
    from tests.conftest import free_port
    port = free_port()
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=css)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def fill_text(page, elem_id: str, text: str) -> None:
    """Type `text` into a Gradio textbox and wait until the page holds it (see `_fill_until_kept`)."""
    _fill_until_kept(page, page.locator(f"#{elem_id} textarea"), text)


def set_slider(page, elem_id: str, value: int) -> None:
    """Type `value` into a Gradio slider's number box and wait until the page holds it."""
    _fill_until_kept(page, page.locator(f"#{elem_id} input[type=number]"), str(value), enter=True)


def _fill_until_kept(page, box, value: str, enter: bool = False) -> None:
    """Fill `box` (pressing Enter after, for a slider's number box) until it holds `value` and keeps it.

    An input filled while its tab or accordion is still being drawn is reset to its default when the render
    ends (a slider's box in an accordion that still opens; on CI, the Infill tab's example back after
    `fill("")`): fill again.
    """
    box.wait_for(state="visible")
    for _ in range(5):
        box.fill(value)
        if enter:
            box.press("Enter")
        try:
            expect(box).to_have_value(value, timeout=1000)
            page.wait_for_timeout(200)  # the reset comes when the render ends: check that the value stays
            expect(box).to_have_value(value, timeout=100)
            return
        except AssertionError:
            continue
    expect(box).to_have_value(value)

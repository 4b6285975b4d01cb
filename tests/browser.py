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


def set_slider(page, elem_id: str, value: int) -> None:
    """Type `value` into a Gradio slider's number box and wait until the page holds it."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.wait_for(state="visible")
    for _ in range(5):  # a box filled while its accordion still opens is reset when it renders: fill again
        box.fill(str(value))
        box.press("Enter")
        try:
            expect(box).to_have_value(str(value), timeout=1000)
            return
        except AssertionError:
            continue
    expect(box).to_have_value(str(value))

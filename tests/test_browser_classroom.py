"""The classroom in Chromium: the Training tab, bad input told on the input, and a first visit that works.

Served as in tests/test_browser.py (the real app.py on the shipped pair); each test opens its own page at
desktop (1280×800) or phone (390×844) width. Screenshots go to test-artifacts/ (classroom-*.png).
"""

import re

import pytest

from tests.browser import ARTIFACTS, expect, fill_text, needs_chromium, set_slider

pytestmark = needs_chromium
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
# A sentence of words as the canvas shows them: a capitalised word, more words, a full stop.
SENTENCE = re.compile(r"[A-Z][a-z']+(?:,? [A-Za-z']+)+[.!?]")


@pytest.fixture(scope="module")
def browser(chromium, served_app):
    """The module's Chromium (conftest.py), once the app is served."""
    return chromium


def open_page(browser, served_app, width: str):
    w, h = WIDTHS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto(served_app)
    page.wait_for_selector("#canvas [data-step]")
    return page


def open_tab(page, name: str) -> None:
    """Click a tab; on a narrow screen Gradio puts the tabs that do not fit behind "More tabs"."""
    tab = page.get_by_role("tab", name=name)
    if not tab.count() or not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        tab = page.locator(".overflow-dropdown").get_by_text(name, exact=True)
    tab.click()


def canvas_words(page, selector: str = "#canvas") -> str:
    """The canvas's tokens as text (chips joined with spaces; end-of-text runs left out)."""
    return page.evaluate(f"""() => Array.from(document.querySelectorAll('{selector} .ld-tokens > .ld-chip'))
        .map(c => c.childNodes[0] && c.childNodes[0].nodeType === 3 ? c.childNodes[0].textContent : '')
        .join(' ').replace(/ ([.,!?'])/g, '$1').replace(/ (s) /g, '$1 ')""")


def test_the_first_default_run_writes_sentences(browser, served_app):
    page = open_page(browser, served_app, "desktop")
    prompt = page.locator("#prompt textarea").input_value()
    assert prompt.strip(), "a first visit finds a prompt ready to Run"
    page.locator("#run").click()
    page.wait_for_function("""() => { const c = document.querySelector('#canvas [data-step]');
        return c && c.dataset.step !== '0' && c.dataset.step === c.dataset.total; }""", timeout=60_000)
    text = canvas_words(page)
    written = text[len(prompt):] if text.startswith(prompt) else text
    assert len(SENTENCE.findall(written)) >= 2, text
    page.screenshot(path=str(ARTIFACTS / "classroom-first-run.png"), full_page=True)
    run = page.locator("#canvas .ld-eos-run")
    if run.count():  # the end-of-text tail is one "∎ × n" chip that opens on hover
        assert re.fullmatch(r"∎ × \d+", run.locator(".ld-eos-count").inner_text().strip())
        run.focus()  # as hover does (a hover would chase the chips as they open)
        page.locator("#canvas").screenshot(path=str(ARTIFACTS / "classroom-first-run-eos-open.png"))
    page.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_training_tab_draws(browser, served_app, width):
    page = open_page(browser, served_app, width)
    open_tab(page, "Training")
    page.locator("#training-draw").click()
    page.locator("#training-curve .js-plotly-plot").wait_for(timeout=30_000)
    hidden = page.locator("#training-chips [data-state=hidden]")
    assert hidden.count() >= 1
    assert "nats per token" in page.locator("#training-summary").inner_text()
    assert "autoregressive twin" in page.locator("#training-summary").inner_text()
    hidden.first.hover()
    card = hidden.first.locator(".ld-card")
    assert card.is_visible() and "top candidates" in card.inner_text() and "cross-entropy" in card.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"classroom-training-{width}.png"), full_page=True)
    # SFT on a couplet: the first line stays visible; only the second line is hidden.
    page.locator("#tab-training").get_by_text("The squirrel sneezed beside the spotted field").first.click()
    page.locator("#training-sft input").check()
    set_slider(page, "training-t", 1)
    page.locator("#training-draw").click()
    page.wait_for_function("() => document.querySelector('#training-summary').innerText.includes(\"the answer's tokens\")",
                           timeout=30_000)
    prompt = page.locator("#training-chips .ld-prompt").count()
    positions = [int(p) for p in page.locator("#training-chips [data-state=hidden]").evaluate_all(
        "cs => cs.map(c => c.dataset.pos)")]
    assert prompt >= 3 and positions and min(positions) == prompt  # t = 1: all of the answer, none of the prompt
    page.screenshot(path=str(ARTIFACTS / f"classroom-training-sft-{width}.png"), full_page=True)
    page.close()


def told_on(page, elem_id: str, text: str) -> None:
    """The message appears on the input itself."""
    expect(page.locator(f"#{elem_id}")).to_contain_text(text, timeout=10_000)


def unchanged(page, outputs: dict) -> None:
    for selector, before in outputs.items():
        assert page.locator(selector).inner_html() == before, f"{selector} changed"
    assert page.get_by_text("Error", exact=True).count() == 0


def snapshot(page, *selectors) -> dict:
    return {s: page.locator(s).inner_html() for s in selectors}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_bad_input_is_told_on_the_input(browser, served_app, width, tmp_path):
    page = open_page(browser, served_app, width)
    # Denoise: an empty prompt.
    outputs = snapshot(page, "#canvas", "#status", "#heatmap")
    page.locator("#prompt textarea").fill("")
    page.locator("#run").click()
    told_on(page, "prompt", "The prompt is empty")
    unchanged(page, outputs)
    page.screenshot(path=str(ARTIFACTS / f"classroom-invalid-prompt-{width}.png"))
    # Denoise: a block length that does not divide the length.
    page.locator("#prompt textarea").fill("Kilm lived near the market with a lazy owl.")
    page.get_by_role("button", name="Settings ▼").click()
    set_slider(page, "block-length", 10)
    page.locator("#run").click()
    told_on(page, "block-length", "must divide the generation length")
    unchanged(page, outputs)
    page.locator("#block-length").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"classroom-invalid-block-{width}.png"))
    # Denoise: a file that is not a trace.
    page.get_by_role("button", name="Export and import ▼").click()
    bad = tmp_path / "notes.json"
    bad.write_text("these are notes, not a trace")
    page.locator("#import input[type=file]").set_input_files(str(bad))
    told_on(page, "import", "not valid JSON")
    unchanged(page, outputs)
    page.locator("#import").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"classroom-invalid-file-{width}.png"))
    # Every other tab with a text input: an empty one.
    for tab, text_id, button, shown, message in (
            ("Diffusion vs autoregressive", "compare-text", "compare-run", ("#compare-diffusion", "#compare-ar"),
             "The prompt is empty"),
            ("Infill", "infill-text", "infill-run", ("#infill-canvas", "#infill-status"), "The text is empty"),
            ("Training", "training-text", "training-draw", ("#training-chips", "#training-summary"),
             "The sentence is empty")):
        open_tab(page, tab)
        fill_text(page, text_id, "")
        outputs = snapshot(page, *shown)
        page.locator(f"#{button}").click()
        told_on(page, text_id, message)
        unchanged(page, outputs)
        page.screenshot(path=str(ARTIFACTS / f"classroom-invalid-{tab.split()[0].lower()}-{width}.png"))
    page.close()

"""A teacher's page in Chromium (issue 17 §3): the replay's keys, the projector view, the link to a run.

Same served app and Chromium as tests/test_browser.py; waits on the canvas's data-step attribute.
Screenshots go to test-artifacts/ (present-*.png) for a person to look at.
"""

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser import ARTIFACTS, needs_chromium, playwright, set_slider

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser(chromium):
    """The module's Chromium (conftest.py)."""
    return chromium


@pytest.fixture(scope="module")
def page(browser, served_app):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served_app)
    page.wait_for_selector("#canvas [data-step]")
    page.locator("#prompt textarea").fill("Kilm lived near the market with a lazy owl.")
    page.locator("#run").click()
    page.wait_for_selector('#canvas [data-step="48"]', timeout=60_000)
    yield page
    page.close()


def shown_step(page) -> int:
    return int(page.locator("#canvas [data-step]").get_attribute("data-step"))


def test_keys_step_the_replay(page):
    page.locator("#keys-help").click()  # focus on the page, not in a text box
    page.keyboard.press("Home")
    page.wait_for_selector('#canvas [data-step="0"]')
    for expected in (1, 2, 3):
        page.keyboard.press("ArrowRight")
        page.wait_for_selector(f'#canvas [data-step="{expected}"]')
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector('#canvas [data-step="2"]')
    assert "Step 2 / 48" in page.locator("#status").inner_text()
    page.keyboard.press("End")
    page.wait_for_selector('#canvas [data-step="48"]')
    page.keyboard.press("Home")
    page.wait_for_selector('#canvas [data-step="0"]')
    page.keyboard.press(" ")  # plays from the start: the canvas moves on by itself
    page.wait_for_function("() => Number(document.querySelector('#canvas [data-step]').dataset.step) >= 3")
    page.keyboard.press(" ")  # pauses: the canvas stays where it is
    page.wait_for_timeout(300)  # the pause's cancel reaching the server
    held = shown_step(page)
    page.wait_for_timeout(800)  # at 8 steps per second the replay would have moved on ~6 steps
    assert shown_step(page) == held < 48


def test_keys_do_nothing_while_typing(page):
    page.keyboard.press("End")
    page.wait_for_selector('#canvas [data-step="48"]')
    page.locator("#prompt textarea").click()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(500)
    assert shown_step(page) == 48


def test_projector_view_enlarges_the_canvas(page):
    chip = page.locator('#canvas [data-pos="0"]')
    before = chip.evaluate("c => parseFloat(getComputedStyle(c).fontSize)")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.locator("#projector input").check()
    page.wait_for_function("() => document.body.classList.contains('ld-projector')")
    after = chip.evaluate("c => parseFloat(getComputedStyle(c).fontSize)")
    assert after >= 1.5 * before
    assert not page.locator("#model-note").is_visible()
    page.screenshot(path=str(ARTIFACTS / "present-projector-1280x720.png"))
    page.locator("#projector input").uncheck()
    page.wait_for_function("() => !document.body.classList.contains('ld-projector')")
    assert chip.evaluate("c => parseFloat(getComputedStyle(c).fontSize)") == before
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "present-desktop.png"), full_page=True)


def test_a_link_reopens_the_run(page, browser):
    page.get_by_role("button", name="Settings ▼").click()
    set_slider(page, "steps", 24)
    page.locator("#prompt textarea").fill("Stalar had a cream ring.")
    page.locator("#copy-link").click()
    box = page.locator("#run-link textarea, #run-link input").first
    page.wait_for_function("() => { const b = document.querySelector('#run-link textarea, #run-link input');"
                           " return b && b.value.includes('prompt='); }")
    link = box.input_value()
    query = parse_qs(urlparse(link).query)
    assert query["prompt"] == ["Stalar had a cream ring."] and query["steps"] == ["24"]
    other = browser.new_page(viewport={"width": 1280, "height": 900})
    other.goto(link)
    other.wait_for_function("() => { const t = document.querySelector('#prompt textarea');"
                            " return t && t.value === 'Stalar had a cream ring.'; }", timeout=30_000)
    other.get_by_role("button", name="Settings ▼").click()
    assert other.locator("#steps input[type=number]").input_value() == "24"
    other.locator("#run").click()
    other.wait_for_selector('#canvas [data-total="24"][data-step="24"]', timeout=60_000)
    assert other.locator('#canvas [data-state="masked"]').count() == 0
    other.screenshot(path=str(ARTIFACTS / "present-linked.png"), full_page=True)
    other.close()


def test_steer_a_chip_into_a_branch(page):
    """Issue 17 §2: pick a masked chip at step 20, force its second candidate, continue; the branch keeps
    it, the list shows two lines, and side by side the differing tokens are marked."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.keyboard.press("End")
    for attempt in range(3):  # a scrub sent while End's replay frame is still arriving can be overtaken by it
        set_slider(page, "step-slider", 20)
        try:
            page.wait_for_selector('#canvas [data-step="20"]', timeout=10_000)
            break
        except playwright.Error:
            if attempt == 2:
                raise
    page.locator("#steer").get_by_text("Steer this run by hand").click()
    chip = page.locator('#canvas [data-state="masked"]').first
    pos = chip.get_attribute("data-pos")
    chip.click()
    expect = playwright.expect
    expect(page.locator("#steer-pos input")).to_have_value(pos)
    page.locator("#steer-candidate input").click()
    options = page.locator("li.item")  # Gradio's dropdown list
    options.nth(1).wait_for()
    forced = options.nth(1).inner_text().split("\n")[-1].rsplit(" (", 1)[0].strip()
    options.nth(1).click()
    page.locator("#steer-force").click()
    expect(page.locator("#steer-edits")).to_contain_text(f"position {pos}")
    page.locator("#steer-continue").click()
    expect(page.locator("#branch-list label")).to_have_count(2, timeout=60_000)
    page.wait_for_function("() => !document.querySelector('#canvas [data-state=\"masked\"]')", timeout=60_000)
    assert page.locator(f'#canvas [data-pos="{pos}"]').first.inner_text().split("\n")[0].strip() == forced
    page.screenshot(path=str(ARTIFACTS / "steer-branch.png"), full_page=True)
    page.locator("#compare-b input").click()
    page.locator("li.item").nth(1).click()  # branch 1 beside the main run
    page.wait_for_selector("#branch-sides .ld-sides")
    assert int(page.locator("#branch-sides .ld-sides").get_attribute("data-differ")) >= 1
    assert page.locator("#branch-sides .ld-differs").count() >= 2  # marked in both columns
    page.locator("#branch-sides").screenshot(path=str(ARTIFACTS / "steer-side-by-side.png"))


def test_a_loaded_trace_lists_its_branches(browser, served_app, tmp_path):
    """A saved run with a branch, loaded into a fresh page: the branch list shows both lines at once (it was
    left at "main run" until the next run)."""
    from llada_demo import models
    from llada_demo.engine import runs
    loaded = models.load("tiny-llada", device="cpu")
    trace = list(runs.denoise(loaded, "Kilm lived near the", steps=16, gen_length=16, block_length=16))[-1]
    at = 7
    pos = trace.steps[at].tokens.index(trace.mask_id)  # still masked after step 8, so it has candidates
    trace = list(runs.continue_from(loaded, trace, at, [(pos, trace.steps[at].top_ids[pos][1])]))[-1]
    saved = tmp_path / "branched.json"
    saved.write_text(trace.to_json())
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served_app)
    page.wait_for_selector("#canvas [data-step]")
    page.locator("#steer").get_by_text("Steer this run by hand").click()
    expect = playwright.expect
    expect(page.locator("#branch-list label")).to_have_count(1)
    page.get_by_role("button", name="Export and import ▼").click()
    page.locator("#import input[type=file]").set_input_files(str(saved))
    expect(page.locator("#branch-list label")).to_have_count(2, timeout=30_000)
    page.close()

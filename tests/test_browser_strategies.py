"""Decoding strategies as a person sees them: the real app in Debian's Chromium, driven by Playwright.

A threshold run shows fewer forward passes; a ReMDM run shows a chip committed, then remasked, then
committed again (found on the shipped pair by a script over the example prompts: after "The squirrel
sneezed beside the spotted field," with 16 tokens, 16 steps, one block, position 7 is committed at step 10,
remasked at step 15 and committed again, as " shield", at step 32, the last); two strategies run side by side; the Speed vs quality tab measures a tiny
configuration. Waits on what the page shows, never on fixed sleeps. Screenshots go to test-artifacts/.
"""

import re

import pytest

from tests.browser import ARTIFACTS, expect, needs_chromium, opened, set_slider

pytestmark = needs_chromium

REMDM_PROMPT, REMDM_POS = "The squirrel sneezed beside the spotted field,", 7


@pytest.fixture(scope="module")
def page(chromium, served_app):
    with opened(chromium, served_app, height=1000) as page:
        yield page


def passes(status: str) -> int:
    return int(re.search(r"forward passes (\d+)", status).group(1))


def open_settings(page):
    if not page.locator("#rule").is_visible():
        page.get_by_text("Settings", exact=True).first.click()
    page.locator("#rule").wait_for(state="visible")


def run_and_wait(page, prompt: str, rule_words: str):
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#run").click()
    page.wait_for_function(f"""() => {{
        const s = document.querySelector('#status').innerText;
        return s.includes({rule_words!r}) && s.includes('masks left 0');
    }}""", timeout=120_000)
    return page.locator("#status").inner_text()


def test_threshold_shows_fewer_passes_and_its_knob_only_under_it(page):
    open_settings(page)
    expect(page.locator("#threshold")).to_be_hidden()
    page.locator("#rule").get_by_text("threshold τ (Fast-dLLM)").click()
    expect(page.locator("#threshold")).to_be_visible()
    expect(page.locator("#entropy-bound")).to_be_hidden()
    expect(page.locator("#remdm-number")).to_be_hidden()
    status = run_and_wait(page, "Kilm lived near the market with a lazy owl.", "threshold τ 0.9")
    steps = int(page.locator("#steps input[type=number]").input_value())
    assert passes(status) < steps  # the same 48 tokens in fewer forward passes
    per_pass = float(re.search(r"([\d.]+) tokens per pass", status).group(1))
    assert per_pass == pytest.approx(int(page.locator("#gen-length input[type=number]").input_value())
                                     / passes(status), abs=0.01)
    page.screenshot(path=str(ARTIFACTS / "strategies-threshold.png"), full_page=True)


def chip_state(page, pos: int) -> str:
    return page.locator(f'#canvas [data-pos="{pos}"]').get_attribute("data-state")


def test_remdm_chip_is_committed_remasked_and_committed_again(page):
    open_settings(page)
    page.locator("#rule").get_by_text("ReMDM remasking").click()
    expect(page.locator("#remdm-number")).to_be_visible()
    expect(page.locator("#threshold")).to_be_hidden()
    for elem_id in ("gen-length", "block-length", "steps"):
        set_slider(page, elem_id, 16)
    set_slider(page, "remdm-number", 1)
    status = run_and_wait(page, REMDM_PROMPT, "ReMDM remasking 1")
    assert passes(status) == 32  # the loop's passes on top of the 16 steps
    seen = {}
    for step in (10, 11, 14, 15, 20, 32):
        set_slider(page, "step-slider", step)
        page.wait_for_selector(f'#canvas [data-step="{step}"]')
        seen[step] = chip_state(page, REMDM_POS)
    assert seen[10] == "new" and seen[11] == seen[14] == "committed"
    assert seen[15] == seen[20] == "remasked"
    assert seen[32] == "new"  # committed again
    chip = page.locator(f'#canvas [data-pos="{REMDM_POS}"]')
    expect(chip).to_be_visible()
    assert "shield" in chip.inner_text()
    page.screenshot(path=str(ARTIFACTS / "strategies-remdm.png"), full_page=True)
    page.locator("#rule").get_by_text("fixed schedule").click()  # leave the page as the other tests expect it
    for elem_id in ("gen-length", "steps"):
        set_slider(page, elem_id, 48)


def test_two_strategies_side_by_side(page):
    page.get_by_role("tab", name="Diffusion vs autoregressive").click()
    page.locator("#compare-mode").get_by_text("two diffusion strategies").click()
    page.locator("#compare-b-rule").get_by_text("threshold τ (Fast-dLLM)").click()
    expect(page.locator("#compare-b-threshold")).to_be_visible()
    page.locator("#compare-run").click()
    page.wait_for_function("""() => {
        const a = document.querySelector('#compare-diffusion-status').innerText;
        const b = document.querySelector('#compare-ar-status').innerText;
        return a.includes('masks left 0') && b.includes('threshold τ 0.9') && b.includes('masks left 0');
    }""", timeout=120_000)
    a, b = page.locator("#compare-diffusion-status").inner_text(), page.locator("#compare-ar-status").inner_text()
    assert passes(b) < passes(a)
    assert page.locator('#compare-ar [data-state="masked"]').count() == 0
    page.locator("#compare-chart .js-plotly-plot").wait_for()
    expect(page.locator("#compare-chart")).to_contain_text("B: threshold 0.9")
    page.screenshot(path=str(ARTIFACTS / "strategies-compare.png"), full_page=True)


def test_speed_vs_quality_measures_a_tiny_configuration(page):
    page.get_by_role("tab", name="Speed vs quality").click()
    rules = page.locator("#frontier-rules")
    for label in ("threshold τ (Fast-dLLM)", "entropy bound γ (EB-sampler)", "fixed schedule (LLaDA)"):
        box = rules.get_by_label(label)
        if box.is_checked():
            box.uncheck()
    set_slider(page, "frontier-items", 1)
    page.locator("#frontier-run").click()
    # The fixed schedule at one token per pass (always measured) and the AR twin.
    expect(page.locator("#frontier-progress")).to_contain_text("2 of 2 rules measured", timeout=120_000)
    expect(page.locator("#frontier-progress")).to_contain_text("Done in")
    page.locator("#frontier-chart .js-plotly-plot").wait_for()
    expect(page.locator("#frontier-chart")).to_contain_text("AR twin")
    expect(page.locator("#frontier-table")).to_contain_text("AR twin (one pass per token)")
    link = page.locator("#frontier-csv a").first
    link.wait_for()
    assert ".csv" in (link.get_attribute("href") or "")
    page.screenshot(path=str(ARTIFACTS / "strategies-frontier.png"), full_page=True)

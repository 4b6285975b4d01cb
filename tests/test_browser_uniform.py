"""What a person sees of a uniform-noise model: the page built in-process around a tiny random DiffusionGemma
(tests/standins/diffusiongemma.py, through diffusers' DiffusionGemmaPipeline), in Debian's Chromium.

A chip goes noise -> accepted -> renoised -> accepted while the run streams, and the replay slider shows the
same states at the same steps; the legend, the status and the plots speak of acceptance, not masks; the
DiffusionGemma accordion switches the rule and refuses a bad temperature schedule with a sentence; the How it
works tab draws one step of masking and one of uniform noise. Screenshots go to test-artifacts/.
"""

import functools

import pytest

from llada_demo.engine import runs
from llada_demo.models import DIFFUSION, Loaded
from llada_demo.web import render, ui, views
from tests.browser import ARTIFACTS, expect, needs_chromium, opened, served
from tests.standins import diffusiongemma as standin

pytestmark = needs_chromium

# Found by search (a script running runs.denoise with these settings for seeds 0-5 and reading
# render.uniform_state at every position): with the page's default seed 0, position 0 is noise at step 1,
# accepted at step 6, renoised at step 7 and accepted again at step 16 of the 17 (16 denoising steps and
# the block's commit) on the 16-token canvas.
SEED, POSITION, STATES = 0, 0, {1: "noise", 6: "accepted-new", 7: "renoised", 16: "accepted-new"}
WANT = ["noise", "accepted-new", "renoised", "accepted-new"]

# Records the state of one chip in every frame the canvas shows.
WATCH = """(pos) => {
  window.__states = [];
  const seen = () => { const c = document.querySelector(`#canvas [data-pos="${pos}"]`);
                       if (c) window.__states.push(c.dataset.state); };
  new MutationObserver(seen).observe(document.querySelector('#canvas'), {subtree: true, childList: true});
}"""


def in_order(seen: list[str], want: list[str]) -> bool:
    """Whether `want` occurs in `seen` in this order (other states may come between)."""
    it = iter(seen)
    return all(any(s == w for s in it) for w in want)


@pytest.fixture(scope="module")
def page(chromium):
    loaded = Loaded(name="tiny-diffusiongemma", kind=DIFFUSION, model=standin.model(), tokenizer=standin.tokenizer(),
                    mask_id=4, eos_ids=(1, 6), chat=False, device="cpu", parameters=0)
    config = ui.PageConfig(gen_length=16, steps=16, block_length=16, max_length=64, prompt="w1 w2 w3",
                           uniform_noise=True)
    demo = ui.build_demo(views.Backend(denoise=functools.partial(runs.denoise, loaded)), config)
    with served(demo, render.CSS) as url, opened(chromium, url) as page:
        yield page


def test_a_chip_goes_noise_accepted_renoised_accepted(page):
    page.evaluate(WATCH, POSITION)
    page.locator("#run").click()
    page.wait_for_selector('#canvas [data-step="17"]', timeout=60_000)
    seen = page.evaluate("window.__states")
    assert in_order(seen, WANT), seen
    assert page.locator('#canvas [data-state="new"]').count() == 16  # the last frame: the block committed
    status = page.locator("#status").inner_text()
    assert "positions not accepted 0" in status and "masks left" not in status
    for plot in ("heatmap", "decode-order", "masks-left"):
        page.locator(f"#{plot} .js-plotly-plot").wait_for(timeout=30_000)
    assert "entropy" in page.locator("#heatmap").inner_text()
    assert "Positions not accepted" in page.locator("#masks-left").inner_text()
    assert "finally accepted" in page.locator("#decode-order").inner_text()
    page.screenshot(path=str(ARTIFACTS / "uniform-done.png"), full_page=True)


def test_the_replay_shows_each_state_at_its_step(page):
    box = page.locator("#step-slider input[type=number]")
    for step, state in STATES.items():
        box.fill(str(step))
        box.press("Enter")
        page.wait_for_selector(f'#canvas [data-step="{step}"]', timeout=10_000)
        chip = page.locator(f'#canvas [data-pos="{POSITION}"]')
        expect(chip).to_have_attribute("data-state", state)
        if state == "renoised":
            page.screenshot(path=str(ARTIFACTS / "uniform-renoised.png"))
            chip.hover()
            assert "renoised at step 7" in chip.locator(".ld-card").inner_text()
            # Every other chip of the block is noise or accepted: no mask chip in a drawn block.
            states = {page.locator(f'#canvas [data-pos="{p}"]').get_attribute("data-state") for p in range(16)}
            assert states <= {"noise", "renoised", "accepted", "accepted-new"}
    legend = page.locator("#canvas .ld-legend").inner_text()
    assert "renoised" in legend and "accepted this step" in legend and "masked" not in legend


def test_the_accordion_switches_to_block_refinement(page):
    """DiffusionGemma's own settings: block refinement commits on a quota and never renoises a commit."""
    page.locator("#uniform-settings").get_by_text("DiffusionGemma: rule, temperature, stopping").click()
    page.locator("#uniform-rule").get_by_text("block_refinement").click()
    page.evaluate(WATCH, POSITION)
    page.locator("#run").click()
    page.wait_for_selector('#canvas [data-step="17"]', timeout=60_000)
    assert "renoised" not in page.evaluate("window.__states")
    assert "threshold τ 0.95" in page.locator("#status").inner_text()
    page.locator("#uniform-rule").get_by_text("entropy_bound").click()  # back to the checkpoint's rule
    box = page.locator("#uniform-t-min input[type=number]")
    box.fill("0.9")  # above t_max: the run is refused with the engine's sentence
    box.press("Enter")
    page.locator("#run").click()
    expect(page.get_by_text("choose 0 < t_min < t_max").first).to_be_visible(timeout=20_000)


def test_how_it_works_draws_one_step_of_each(page):
    page.get_by_role("tab", name="How it works").click()
    how = page.locator("#tab-how")
    expect(how.locator(".ld-renoised").first).to_be_visible()
    assert how.locator(".ld-masked").count() >= 2 and how.locator(".ld-accepted-new").count() == 1
    assert "DiffusionGemma" in how.inner_text()
    page.screenshot(path=str(ARTIFACTS / "uniform-how.png"), full_page=True)


@pytest.fixture(scope="module")
def versus_page(chromium):
    """The shipped tiny LLaDA beside the tiny DiffusionGemma, as app.py --versus lays them out."""
    from llada_demo import models
    llada = models.load("tiny-llada", device="cpu")
    gemma = Loaded(name="tiny-diffusiongemma", kind=DIFFUSION, model=standin.model(), tokenizer=standin.tokenizer(),
                   mask_id=4, eos_ids=(1, 6), chat=False, device="cpu", parameters=0)
    backend = views.Backend(denoise=functools.partial(runs.denoise, llada),
                            versus=functools.partial(runs.compare_models, llada, gemma))
    config = ui.PageConfig(gen_length=16, steps=16, block_length=16, max_length=64, prompt="Kilm lived near the",
                           versus=("tiny-llada (masking)", "tiny-diffusiongemma (uniform noise)"))
    with served(ui.build_demo(backend, config), render.CSS) as url, opened(chromium, url, height=1000) as page:
        yield page


def test_masking_and_uniform_noise_side_by_side(versus_page):
    """The comparison tab with two diffusion models: one pass of each per frame; the left pane fills masks,
    the right shows noise being accepted; both end full, and the chart names both models."""
    page = versus_page
    page.get_by_role("tab", name="Compare").click()
    expect(page.locator("#compare-mode")).to_contain_text("two diffusion models")
    expect(page.get_by_text("tiny-diffusiongemma (uniform noise)")).to_be_visible()
    page.evaluate("""() => { window.__right = [];
      new MutationObserver(() => document.querySelectorAll('#compare-ar [data-state]').forEach(
        c => window.__right.push(c.dataset.state))).observe(document.querySelector('#compare-ar'),
        {subtree: true, childList: true}); }""")
    page.get_by_role("button", name="Run both").click()
    # The tab's steps start at half the page's 16: 8 passes for LLaDA, 8 denoising steps and the commit for
    # DiffusionGemma's one block.
    page.wait_for_selector('#compare-ar [data-step="9"]', timeout=60_000)
    page.wait_for_selector('#compare-diffusion [data-step="8"]', timeout=60_000)
    right = set(page.evaluate("window.__right"))
    assert {"noise", "accepted-new", "renoised"} <= right  # (the empty pane before the run shows masks)
    assert page.locator('#compare-diffusion [data-state="masked"]').count() == 0
    assert "positions not accepted 0" in page.locator("#compare-ar-status").inner_text()
    page.locator("#compare-chart .js-plotly-plot").wait_for(timeout=30_000)
    legend = page.eval_on_selector_all("#compare-chart .legendtext", "els => els.map(e => e.textContent)")
    assert {"tiny-llada", "tiny-diffusiongemma"} <= set(legend)
    page.screenshot(path=str(ARTIFACTS / "compare-masking-vs-uniform.png"), full_page=True)

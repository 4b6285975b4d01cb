"""Hostile strings in the real browser: typed into the prompt and the infill text, and inside an imported
trace's token text and prompt. They must show as text; no script runs, no dialog opens, no element
the payload describes appears. The exported HTML replay of that trace is opened and checked the same way.
"""

import json
from pathlib import Path

import pytest

from tests.browser import fill_text, needs_chromium

pytestmark = needs_chromium

# Each payload sets window.__pwned if it ever runs.
PAYLOADS = ("<script>window.__pwned = 1</script>", "<img src=x onerror=\"window.__pwned = 2\">",
            "<a href=\"javascript:window.__pwned = 3\">click me</a>", "\"><svg onload=\"window.__pwned = 4\">",
            "<iframe srcdoc=\"<script>parent.__pwned = 5</script>\"></iframe>", "javascript:alert(6)",
            "</span></div><script>alert(7)</script>", "<style>body{display:none}</style>")
HOSTILE_TAGS = "script:not([type]), img, svg, iframe, a[href^='javascript'], style"


def hostile_trace(path: Path) -> Path:
    """A well-formed trace whose token texts and prompt are the payloads."""
    tokens = list(range(10, 10 + len(PAYLOADS)))
    n = len(tokens)
    step = dict(index=0, block=0, tokens=tokens, committed=list(range(n)), proposals=tokens,
                confidence=[0.9] * n, probability=[0.9] * n, top_ids=[tokens[:3]] * n, top_probs=[[0.5, 0.3, 0.2]] * n,
                entropy=[1.0] * n, nfe=1, elapsed=0.1)
    data = dict(format=1, sampler="diffusion", prompt=" ".join(PAYLOADS), settings=dict(steps=1, gen_length=n,
                block_length=n), mask_id=2, steps=[step], token_text={str(t): p for t, p in zip(tokens, PAYLOADS)},
                special_ids={"eos": [1]}, model="<img src=x onerror=alert(8)>")
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def browser_page(chromium, served_app):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(served_app)
    page.wait_for_selector("#canvas [data-step]")
    page.evaluate("window.__pwned = 0")
    yield page, dialogs
    page.close()


def assert_nothing_ran(page, dialogs, where: str) -> None:
    assert page.evaluate("window.__pwned") == 0
    assert dialogs == []
    assert page.locator(f"{where} :is({HOSTILE_TAGS})").count() == 0


def test_hostile_prompt_and_infill_text_stay_text(browser_page):
    page, dialogs = browser_page
    page.locator("#prompt textarea").fill(" ".join(PAYLOADS))
    page.locator("#run").click()
    page.wait_for_selector('#canvas [data-step="48"]', timeout=60_000)
    assert_nothing_ran(page, dialogs, "#canvas")
    page.get_by_role("tab", name="Infill").click()
    fill_text(page, "infill-text", PAYLOADS[1] + " lived near the ___ " + PAYLOADS[0])
    page.locator("#infill-run").click()
    page.wait_for_selector('#infill-canvas [data-step="1"]', timeout=30_000)
    assert_nothing_ran(page, dialogs, "#infill-canvas")
    page.get_by_role("tab", name="Denoise").click()


def test_an_imported_hostile_trace_renders_its_tokens_as_text(browser_page, tmp_path):
    page, dialogs = browser_page
    page.get_by_role("button", name="Export and import ▼").click()
    page.locator("#import input[type=file]").set_input_files(str(hostile_trace(tmp_path / "evil <img>.json")))
    page.wait_for_function(f"() => document.querySelectorAll('#canvas [data-pos]').length === {len(PAYLOADS)}",
                           timeout=30_000)
    for pos in range(len(PAYLOADS)):  # hover every chip: its card holds the payloads once more
        page.locator(f'#canvas [data-pos="{pos}"]').hover()
    text = page.locator("#canvas .ld-tokens").inner_text()
    for payload in PAYLOADS:
        assert payload.strip() in text  # shown as the characters themselves
    assert_nothing_ran(page, dialogs, "#canvas")
    assert "evil <img>" in page.locator("#import").inner_text()  # the file name, shown as text
    assert page.evaluate("document.querySelectorAll('[onerror], [onload], #import img, #import iframe').length") == 0


def test_the_exported_replay_of_that_trace_runs_nothing(browser_page, tmp_path):
    from llada_demo.web import export
    from llada_demo.engine.step import Trace

    trace = Trace.from_json(hostile_trace(tmp_path / "t.json").read_text())
    replay = export.write_html(trace, tmp_path)
    assert replay.parent == tmp_path  # the file name comes from a slug of the prompt, never a path
    page, dialogs = browser_page
    other = page.context.browser.new_page()
    other.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    other.goto(replay.as_uri())
    other.wait_for_selector(".ld-canvas")
    assert other.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert other.locator(f".ld-canvas :is({HOSTILE_TAGS})").count() == 0
    other.close()


def test_exports_are_written_under_the_apps_temporary_folder(served_app):
    from gradio_client import Client

    from llada_demo.web import views
    client = Client(served_app, verbose=False)
    list(client.submit("../../../etc/passwd " + PAYLOADS[0], 8, 8, 8, "low_confidence", 0.0, 0.0, 0, True,
                       api_name="/denoise"))
    before = {p for p in views.EXPORTS.rglob("*")}
    path = client.predict(api_name="/export_json")
    written = {p for p in views.EXPORTS.rglob("*")} - before
    assert written and all(p.resolve().is_relative_to(views.EXPORTS.resolve()) for p in written)
    assert Path(path).name in {p.name for p in written}

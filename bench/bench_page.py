"""How fast the page is with the shipped pair on the CPU, measured in one run.

    OMP_NUM_THREADS=1 python bench/bench_page.py

1. Click to first frame: the app is served in-process; Debian's Chromium clicks Run and a
   MutationObserver notes when the canvas first shows step 1 (median of 5 runs).
2. Keeping up: at gen_length 128 and 128 steps, how many distinct steps the browser displayed.
3. Server render cost per frame: `canvas_html` + `status_text` for every step of a 128-step run, and
   the four plots (drawn at most every 0.5 s during a run), against the sampler's own time per step.
4. Payload per frame: bytes of one frame's canvas against what resending the whole history would cost.
"""

import os
import shutil
import socket
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

import app  # noqa: E402
from llada_demo.engine import runs  # noqa: E402
from llada_demo.web import views  # noqa: E402
from llada_demo.models import load  # noqa: E402
from llada_demo.web.render import canvas_html, status_text  # noqa: E402

PROMPT = "Kilm lived near the market with a lazy owl."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_side():
    torch.set_num_threads(1)
    loaded = load("tiny-llada", device="cpu")
    start = time.perf_counter()
    trace = None
    for trace in runs.denoise(loaded, PROMPT, steps=128, gen_length=128, block_length=32):
        pass
    sampler_s = (time.perf_counter() - start) / 128
    render = []
    sizes = []
    for i in range(128):
        t = time.perf_counter()
        html = canvas_html(trace, i)
        status_text(trace, i)
        render.append(time.perf_counter() - t)
        sizes.append(len(html.encode()))
    t = time.perf_counter()
    views.figures(trace)
    plots_s = time.perf_counter() - t
    print(f"sampler (incl. Trace building): {sampler_s * 1000:.1f} ms per step at gen_length 128")
    print(f"render per frame: mean {statistics.mean(render) * 1000:.2f} ms, max {max(render) * 1000:.2f} ms "
          f"(goal < 5 ms); the four plots: {plots_s * 1000:.0f} ms, drawn at most every {views.PLOT_EVERY_S} s")
    print(f"payload per frame: mean {statistics.mean(sizes) / 1000:.1f} kB, max {max(sizes) / 1000:.1f} kB; resending "
          f"the whole history at the last step would be {sum(sizes) / 1000:.0f} kB ({sum(sizes) / max(sizes):.0f}x)")


def browser_side():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    port = free_port()
    demo = app.launch(app.parse_args(["--port", str(port)]), prevent_thread_lock=True, quiet=True)
    watch = """() => { window.__first = null; window.__steps = new Set();
      new MutationObserver(() => { const c = document.querySelector('#canvas [data-step]');
        if (!c) return; const s = Number(c.dataset.step); window.__steps.add(s);
        if (s >= 1 && window.__first === null) window.__first = performance.now(); })
      .observe(document.querySelector('#canvas'), {subtree: true, childList: true, attributes: true}); }"""
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#canvas [data-step]")
            page.locator("#prompt textarea").fill(PROMPT)
            firsts = []
            for _ in range(5):
                # Back to the blank canvas first (the replay slider at 0), so the new run's first frame shows.
                box = page.locator("#step-slider input[type=number]")
                box.fill("0")
                box.press("Enter")
                page.wait_for_selector('#canvas [data-step="0"]')
                page.evaluate(watch)
                clicked = page.evaluate("() => { document.querySelector('#run').click(); return performance.now(); }")
                page.wait_for_selector('#canvas [data-step="48"]', timeout=60_000)
                firsts.append(page.evaluate("window.__first") - clicked)
            print(f"click to first frame: median {statistics.median(firsts):.0f} ms over 5 runs "
                  f"(min {min(firsts):.0f}, max {max(firsts):.0f}; goal < 500 ms)")
            page.get_by_role("button", name="Settings ▼").click()
            for elem_id in ("gen-length", "steps", "block-length"):
                box = page.locator(f"#{elem_id} input[type=number]")
                box.fill("128" if elem_id != "block-length" else "32")
                box.press("Enter")
            page.evaluate(watch)
            page.locator("#run").click()
            page.wait_for_selector('#canvas [data-total="128"][data-step="128"]', timeout=120_000)
            shown = page.evaluate("window.__steps.size")
            print(f"keeping up at gen_length 128, 128 steps: the browser displayed {shown} of 128 steps")
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    server_side()
    browser_side()

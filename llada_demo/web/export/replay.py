"""The HTML export: one offline document (no network, no CDN; works from file://) that replays a run with
Play / Pause, a step slider, a speed selector and the arrow keys. Every frame is the page's own canvas
(`render.canvas_html`) and status line (`render.status_text`), precomputed here.

What it is not: it does not redraw the canvas (render.py does); no GIF (gif.py).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from llada_demo.engine.step import Trace
from llada_demo.web import render
from llada_demo.web.export.files import check, target


PAGE_CSS = """
body { margin: 0; padding: 24px 32px; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #111827; background: #fff; }
.ld-head h1 { font-size: 1.3rem; margin: 0 0 8px; }
.ld-head p { margin: 4px 0; }
.ld-prompt { white-space: pre-wrap; font-size: 1.1rem; }
.ld-meta { color: #4b5563; font-size: .9rem; }
.ld-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin: 16px 0 8px; }
.ld-controls button { font-size: 1rem; padding: 4px 16px; min-width: 6em; }
.ld-controls input[type=range] { flex: 1 1 240px; }
.ld-status { font-variant-numeric: tabular-nums; color: #374151; margin-bottom: 8px; }
.ld-help { color: #6b7280; font-size: .85rem; margin-top: 16px; }
"""

# No user text in here: frames come from the JSON element, and the canvas HTML in them was escaped by
# render.canvas_html, so assigning it to innerHTML shows token text as characters.
PAGE_JS = """
(function () {
  "use strict";
  var frames = JSON.parse(document.getElementById("ld-frames").textContent);
  var view = document.getElementById("ld-view"), status = document.getElementById("ld-status");
  var slider = document.getElementById("ld-slider"), counter = document.getElementById("ld-counter");
  var play = document.getElementById("ld-play"), speed = document.getElementById("ld-speed");
  var BASE_MS = 250, timer = null, at = frames.length - 1;
  function show(i) {
    at = Math.max(0, Math.min(frames.length - 1, i));
    view.innerHTML = frames[at].canvas;
    status.textContent = frames[at].status;
    slider.value = String(at + 1);
    counter.textContent = (at + 1) + " / " + frames.length;
  }
  function stop() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    play.textContent = "Play"; play.setAttribute("aria-pressed", "false");
  }
  function tick() {
    if (at >= frames.length - 1) { stop(); return; }
    show(at + 1);
    timer = setTimeout(tick, BASE_MS / Number(speed.value));
  }
  function start() {
    if (at >= frames.length - 1) { show(0); }
    play.textContent = "Pause"; play.setAttribute("aria-pressed", "true");
    timer = setTimeout(tick, BASE_MS / Number(speed.value));
  }
  play.addEventListener("click", function () { if (timer === null) { start(); } else { stop(); } });
  slider.addEventListener("input", function () { stop(); show(Number(slider.value) - 1); });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    // The slider and the speed list handle their own keys; a focused button clicks on Space itself.
    if (e.altKey || e.ctrlKey || e.metaKey || t === slider || (t && t.tagName === "SELECT")) { return; }
    if (e.key === "ArrowRight") { stop(); show(at + 1); }
    else if (e.key === "ArrowLeft") { stop(); show(at - 1); }
    else if (e.key === "Home") { stop(); show(0); }
    else if (e.key === "End") { stop(); show(frames.length - 1); }
    else if (e.key === " " && !(t && t.tagName === "BUTTON")) { play.click(); }
    else { return; }
    e.preventDefault();
  });
  show(at);
})();
"""

SPEEDS = (("0.25", "¼×"), ("0.5", "½×"), ("1", "1×"), ("2", "2×"), ("4", "4×"))


def script_json(value) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` can appear, so nothing in the data
    can close the element or open a comment; JSON.parse reads the \\u escapes back as the characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def frames_data(trace: Trace) -> list[dict[str, str]]:
    """The canvas HTML and the status line after every step, as the page shows them (without the hover
    cards, which would make a long run's file four times larger)."""
    return [{"canvas": render.canvas_html(trace, i, cards=False), "status": render.status_text(trace, i)}
            for i in range(len(trace.steps))]


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def replay_html(trace: Trace) -> str:
    """One self-contained HTML document that replays the run offline (no URLs; the page's CSS inline)."""
    check(trace)
    frames = frames_data(trace)
    n = len(frames)
    settings = " · ".join(f"{k} = {v}" for k, v in trace.settings.items())
    meta = " · ".join(part for part in (trace.sampler, trace.model, settings) if part)
    options = "".join(f'<option value="{v}"{" selected" if v == "1" else ""}>{label}</option>' for v, label in SPEEDS)
    # Without JavaScript (some previewers) the page still shows the result: the last frame is inline.
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(_one_line("LLaDA replay: " + trace.prompt, 90))}</title>
<style>{render.CSS}{PAGE_CSS}</style>
</head>
<body>
<header class="ld-head">
<h1>LLaDA replay</h1>
<p class="ld-prompt"><b>Prompt:</b> {escape(trace.prompt)}</p>
<p class="ld-meta">{escape(meta)}</p>
</header>
<div class="ld-controls" role="group" aria-label="Replay">
<button id="ld-play" type="button" aria-pressed="false">Play</button>
<input id="ld-slider" type="range" min="1" max="{n}" value="{n}" step="1" aria-label="Step">
<span id="ld-counter">{n} / {n}</span>
<label>Speed <select id="ld-speed">{options}</select></label>
</div>
<div id="ld-status" class="ld-status">{escape(frames[-1]["status"])}</div>
<div id="ld-view">{frames[-1]["canvas"]}</div>
<p class="ld-help">Space: play / pause · ← →: one step · Home / End: first / last step · hover a chip for its card</p>
<script type="application/json" id="ld-frames">{script_json(frames)}</script>
<script>{PAGE_JS}</script>
</body>
</html>
"""


def write_html(trace: Trace, folder) -> Path:
    """Write `replay_html(trace)` into `folder`; return the path."""
    html = replay_html(trace)
    path = target(trace, folder, ".html")
    path.write_text(html, encoding="utf-8")
    return path

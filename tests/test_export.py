"""Exports: JSON that round-trips, an offline HTML replay that hostile token text cannot break out of,
and an animated GIF whose frames, size and chip colours follow the run. Traces are built by hand."""

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from llada_demo.web import export, render
from llada_demo.web.export import gif  # noqa: F401  (export.gif: the GIF module's colours and helpers)
from llada_demo.engine.step import Step, Trace

MASK, EOS, NL = 3, 1, 2
HOSTILE_SCRIPT = "</script><script>alert(1)</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
WORDS = {10: " The", 11: " cat", 12: " sat", 13: " on", 14: " the", 15: " mat", 16: HOSTILE_SCRIPT,
         17: HOSTILE_IMG, 18: " &amp;", 19: " rose", NL: "\n", EOS: "<|eot_id|>", MASK: "<|mdm_mask|>"}


def make_trace(final, *, steps=None, block_length=None, prompt='Say "hi" <b>', probs=None) -> Trace:
    """A diffusion-like run that commits `final`'s positions in a fixed order, a few per step.

    probs: position -> probability it is committed with (default 0.9).
    """
    length = len(final)
    steps = steps or length
    block_length = block_length or length
    probs = probs or {}
    # Commit order: block by block, inside a block every other position first (not left to right).
    order = [p for b in range(0, length, block_length)
             for p in list(range(b, min(b + block_length, length)))[::2] + list(range(b + 1, min(b + block_length, length)))[::2]]
    per_step = [order[round(i * length / steps): round((i + 1) * length / steps)] for i in range(steps)]
    tokens = [MASK] * length
    out = []
    for i, batch in enumerate(per_step):
        was_masked = [t == MASK for t in tokens]
        for p in batch:
            tokens[p] = final[p]
        guesses = tuple(final[p] if was_masked[p] else tokens[p] for p in range(length))
        probability = tuple(probs.get(p, 0.9) for p in range(length))
        out.append(Step(
            index=i, block=(batch[0] if batch else 0) // block_length, tokens=tuple(tokens), committed=tuple(batch),
            proposals=guesses, confidence=tuple(probability[p] if was_masked[p] else None for p in range(length)),
            probability=probability,
            top_ids=tuple((final[p], 10, 11, 16, 17) if was_masked[p] else () for p in range(length)),
            top_probs=tuple((0.5, 0.2, 0.1, 0.1, 0.05) if was_masked[p] else () for p in range(length)),
            entropy=tuple(1.0 if was_masked[p] else None for p in range(length)),
            nfe=i + 1, elapsed=0.01 * (i + 1)))
    return Trace(sampler="diffusion", prompt=prompt, mask_id=MASK, steps=tuple(out), token_text=dict(WORDS),
                 settings={"steps": steps, "gen_length": length, "block_length": block_length, "temperature": 0.0},
                 special_ids={"eos": (EOS,)}, model="hand-built <test> model")


def hostile_trace(**kwargs) -> Trace:
    final = [10, 11, 16, 12, NL, 13, 17, 14, 15, 18, EOS, EOS]
    return make_trace(final, **kwargs)


def long_trace(steps: int, length: int, block_length: int) -> Trace:
    final = [10 + (i * 7) % 10 for i in range(length - 8)] + [EOS] * 8
    final[length // 3] = NL
    probs = {p: 0.25 + 0.75 * ((p * 37) % 100) / 100 for p in range(length)}  # spread over the colour scale
    return make_trace(final, steps=steps, block_length=block_length, prompt="Write a short poem about a cat.",
                      probs=probs)


def frames_json(html: str) -> str:
    found = re.findall(r'<script type="application/json" id="ld-frames">(.*?)</script>', html, re.S)
    assert len(found) == 1
    return found[0]


# ---------------------------------------------------------------- JSON

def test_json_export_round_trips(tmp_path):
    trace = hostile_trace()
    path = export.write_json(trace, tmp_path)
    assert path.parent == tmp_path and path.suffix == ".json"
    assert Trace.from_json(path.read_text(encoding="utf-8")) == trace


@pytest.mark.parametrize("prompt,model,stem", [
    ("../../etc/passwd", "", "etc-passwd"),
    ("C:\\Windows\\system32 \x00 evil", "", "c-windows-system32-evil"),
    ("Überraschung! Café ☕ " * 5, "", None),
    ("", "", "llada-run"),
    ("☕☕", "LLaDA-8B-Instruct", "llada-8b-instruct"),
    ("/" * 300, "...", "llada-run"),
])
def test_file_names_are_safe_slugs_inside_the_folder(tmp_path, prompt, model, stem):
    trace = make_trace([10, 11], prompt=prompt)
    trace = dataclasses.replace(trace, model=model)
    for write in (export.write_json, export.write_html, export.write_gif):
        path = write(trace, tmp_path)
        assert path.parent == tmp_path and path.resolve().parent == tmp_path.resolve() and path.exists()
        assert re.fullmatch(r"[a-z0-9-]{1,40}", path.stem), path.name
        if stem:
            assert path.stem == stem


def test_a_missing_folder_raises_a_sentence(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        export.write_json(hostile_trace(), tmp_path / "nope")


@pytest.mark.parametrize("call", [export.write_json, export.write_html, export.write_gif])
def test_an_empty_trace_raises_a_sentence(tmp_path, call):
    empty = Trace(sampler="diffusion", prompt="x", settings={}, mask_id=MASK)
    with pytest.raises(ValueError, match="no steps to export"):
        call(empty, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("call", [export.replay_html, export.gif_frames, export.layout])
def test_bad_traces_raise_a_sentence(call):
    with pytest.raises(ValueError, match="no steps"):
        call(Trace(sampler="diffusion", prompt="x", settings={}, mask_id=MASK))
    with pytest.raises(ValueError, match="Trace"):
        call("not a trace")
    trace = hostile_trace()
    with pytest.raises(ValueError, match="gen_length"):
        call(dataclasses.replace(trace, settings={**trace.settings, "gen_length": 99}))


# ---------------------------------------------------------------- HTML

def test_html_is_offline_and_hostile_text_cannot_close_a_script():
    trace = hostile_trace()
    html = export.replay_html(trace)
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:)?//""", html, re.I)
    assert "http:" not in html and "https:" not in html and "@import" not in html and "url(" not in html
    # One closing tag per script element: the hostile token text closes nothing.
    assert len(re.findall(r"<script\b", html, re.I)) == len(re.findall(r"</script", html, re.I)) == 2
    # Raw hostile strings nowhere; their escaped forms in the inline (last) frame, the prompt and title.
    for raw in (HOSTILE_SCRIPT, HOSTILE_IMG, "<script>alert", "<img", 'Say "hi" <b>', "<test>"):
        assert raw not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Say &quot;hi&quot; &lt;b&gt;" in html
    assert re.search(r"<title>[^<]*Say &quot;hi&quot; &lt;b&gt;[^<]*</title>", html)
    # The JSON text holds no < > & at all, so it cannot end the element or open a comment in it.
    assert not set("<>&") & set(frames_json(html))


def test_embedded_frames_parse_back_and_equal_the_page_canvas():
    trace = hostile_trace(steps=5)
    frames = json.loads(frames_json(export.replay_html(trace)))
    assert len(frames) == len(trace.steps) == 5
    for i, frame in enumerate(frames):
        assert frame == {"canvas": render.canvas_html(trace, i, cards=False), "status": render.status_text(trace, i)}
    assert "&lt;img src=x onerror=alert(1)&gt;" in frames[-1]["canvas"]


def test_html_has_the_replay_controls():
    html = export.replay_html(hostile_trace())
    for element in ('id="ld-play"', 'id="ld-slider"', 'id="ld-speed"', 'id="ld-view"', 'id="ld-status"', "keydown",
                    f'max="{len(hostile_trace().steps)}"'):
        assert element in html
    assert render.CSS.strip() in html


def test_script_json_escapes_what_could_end_a_script():
    text = export.script_json({"a": "</script><!-- & -->", "b": "\u2028"})
    assert not set("<>&") & set(text)
    assert json.loads(text) == {"a": "</script><!-- & -->", "b": "\u2028"}


# ---------------------------------------------------------------- layout

@pytest.mark.parametrize("width", [320, 640, 960])
def test_layout_wraps_within_the_width_without_overlaps(width):
    trace = long_trace(steps=16, length=64, block_length=16)
    boxes = export.layout(trace, width)
    m = export.metrics(width)
    assert [b.pos for b in boxes] == list(range(64))
    for b in boxes:
        assert m.margin <= b.x0 < b.x1 <= width - m.margin and b.y1 - b.y0 == m.chip_h
    for a in boxes:
        for b in boxes:
            if a is not b:
                assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0, (a, b)
    # Reading order: left to right on a line, lines going down.
    for a, b in zip(boxes, boxes[1:]):
        assert (b.y0 == a.y0 and b.x0 > a.x0) or b.y0 > a.y0
    assert len({b.y0 for b in boxes}) > 1  # 64 chips do not fit on one line
    assert sum(b.block_start for b in boxes) == 3
    font = export.gif._font(m.font)
    assert all(font.getlength(b.label) <= b.x1 - b.x0 - 2 * m.pad_x for b in boxes)  # no label is cut
    assert not any(b.label.endswith("…") for b in boxes)


def test_newline_breaks_the_line_and_shows_a_symbol():
    trace = hostile_trace()
    boxes = export.layout(trace, 960)
    nl = boxes[4]
    assert nl.label == render.NEWLINE_SYMBOL and nl.line_break
    assert boxes[5].y0 > nl.y0 and boxes[5].x0 == export.metrics(960).margin
    assert all(b.y0 == boxes[0].y0 for b in boxes[:5])  # the rest of the first line fits on it
    assert boxes[-1].label == render.EOS_SYMBOL
    assert boxes[2].label == render.token_label(HOSTILE_SCRIPT)


def test_a_huge_token_is_cut_to_the_width():
    trace = make_trace([10, 11, 12])
    trace = dataclasses.replace(trace, token_text={**trace.token_text, 11: "x" * 500})
    boxes = export.layout(trace, 400)
    assert boxes[1].label.endswith("…") and boxes[1].x1 <= 400 - export.metrics(400).margin


def test_frame_indices_keep_first_and_last():
    assert export.frame_indices(5) == [0, 1, 2, 3, 4]
    picked = export.frame_indices(1000, 120)
    assert len(picked) == 120 and picked[0] == 0 and picked[-1] == 999 and picked == sorted(set(picked))


# ---------------------------------------------------------------- GIF

def pixel(image: Image.Image, box) -> tuple[int, int, int]:
    """A pixel of the chip's fill: inside the outline, left of where the label's ink starts."""
    return image.convert("RGB").getpixel((box.x0 + 6, (box.y0 + box.y1) // 2))


def close(a, b, tol=24) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_gif_opens_with_one_frame_per_step_and_the_expected_size(tmp_path):
    trace = hostile_trace(steps=6)
    path = export.write_gif(trace, tmp_path, ms_per_frame=100)
    boxes = export.layout(trace, 960)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 6 and gif.is_animated
        assert gif.size[0] == 960 and gif.size[1] > boxes[-1].y1
        assert gif.size == export.gif_frames(trace)[0].size
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
        assert durations == [100] * 5 + [export.gif.FINAL_HOLD_MS]


def test_long_runs_are_subsampled(tmp_path):
    trace = long_trace(steps=150, length=150, block_length=150)
    frames = export.gif_frames(trace, width=480)
    assert len(frames) == export.MAX_FRAMES
    with Image.open(export.write_gif(trace, tmp_path)) as gif:
        assert gif.n_frames == export.MAX_FRAMES


def test_gif_chips_differ_by_state():
    # Position 0 is committed in step 0 with p = 0.95; position 1 still masked until a later step.
    trace = make_trace([10, 11, 12, 13, 14, 15], steps=3, probs={0: 0.95, 2: 0.1})
    boxes = export.layout(trace, 960)
    frames = export.gif_frames(trace, 960)
    first, last = frames[0].convert("RGB"), frames[-1].convert("RGB")
    assert trace.steps[0].tokens[1] == MASK and 0 in trace.steps[0].committed
    high, masked, low = pixel(first, boxes[0]), pixel(first, boxes[1]), pixel(last, boxes[2])
    assert high != masked
    assert close(high, export.gif._hex(render.colour(0.95))) and close(masked, export.gif.MASK_FILL)
    assert close(low, export.gif._hex(render.colour(0.1)))
    # Committed in this step: the thick orange ring; in an earlier one: no ring.
    ring = lambda image, box: image.getpixel((box.x0 + 1, (box.y0 + box.y1) // 2))  # noqa: E731
    assert close(ring(first, boxes[0]), export.gif.NEW_EDGE) and not close(ring(last, boxes[0]), export.gif.NEW_EDGE)
    assert close(ring(last, boxes[-1]), export.gif.NEW_EDGE)


def test_gif_rejects_bad_speed_and_width(tmp_path):
    with pytest.raises(ValueError, match="ms per frame"):
        export.write_gif(hostile_trace(), tmp_path, ms_per_frame=5)
    with pytest.raises(ValueError, match="width"):
        export.gif_frames(hostile_trace(), width=50)


def test_written_gif_replays_the_frames_exactly(tmp_path):
    # The file stores only changed pixels per frame; composited, every frame must equal the drawn one.
    trace = long_trace(steps=12, length=40, block_length=20)
    frames = export.gif_frames(trace, width=640)
    with Image.open(export.write_gif(trace, tmp_path, width=640)) as gif:
        assert gif.n_frames == len(frames) == 12
        for k, frame in enumerate(frames):
            gif.seek(k)
            assert ImageChops.difference(gif.convert("RGB"), frame.convert("RGB")).getbbox() is None, k


def test_html_replays_offline_in_a_browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed")
    trace = hostile_trace(steps=6)
    path = export.write_html(trace, tmp_path)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        requests, dialogs, errors = [], [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        step = lambda: page.get_attribute("#ld-view [data-step]", "data-step")  # noqa: E731
        assert step() == "6" and page.text_content("#ld-counter") == "6 / 6"
        page.keyboard.press("Home")
        assert step() == "1" and page.input_value("#ld-slider") == "1"
        page.keyboard.press("ArrowRight")
        assert step() == "2" and page.text_content("#ld-status") == render.status_text(trace, 1)
        page.select_option("#ld-speed", "4")
        page.click("#ld-play")
        page.wait_for_function("document.querySelector('#ld-view [data-step]').dataset.step === '6'", timeout=10_000)
        page.wait_for_function("document.querySelector('#ld-play').textContent === 'Play'", timeout=10_000)
        # The hostile token shows as characters in the canvas, and nothing ran.
        assert HOSTILE_SCRIPT in page.text_content("#ld-view") and page.locator("#ld-view img").count() == 0
        browser.close()
    assert dialogs == [] and errors == []
    assert all(url.startswith("file://") for url in requests), requests

"""Instruct models: the conversation box sends earlier turns through the chat template and appends each
reply; ZeroGPU wrapping runs whole streams inside a lent-GPU call; a preset that cannot load gives way to
the shipped tiny pair with a notice."""

from html import escape

import pytest

from llada_demo.web import chat, views
from llada_demo import models
from llada_demo.engine import runs
from llada_demo.models import zerogpu
from llada_demo.engine.step import Trace
from tests.standins.families import FAMILIES, put_in_cache

SETTINGS = (8, 4, 8, "low_confidence", 0.0, 0.0, 0, True)  # gen_length, steps, block, remasking, T, cfg, seed, guesses


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    """A ModernBERT-chat stand-in loaded through the preset path (an instruct diffusion model)."""
    cache = tmp_path_factory.mktemp("hub")
    preset = models.PRESETS["modernbert-large-chat"]
    put_in_cache(cache, preset.source, FAMILIES[preset.source])
    return models.load(preset.name, device="cpu", cache_dir=str(cache))


def test_turns_read_the_chatbot_value_in_its_shapes():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "text", "text": "yo"}]},
                {"role": "user", "content": "unanswered"}]
    assert chat.turns(messages) == (("hi", "yo"),)
    assert chat.turns(None) == () and chat.turns([]) == ()
    assert chat.turns(["junk", {"role": "system"}]) == ()
    with pytest.raises(ValueError, match="list of messages"):
        chat.turns("not a conversation")


def test_reply_text_stops_at_end_of_turn_and_skips_masks():
    from llada_demo.engine.step import Step
    step = Step(index=0, block=0, tokens=(5, 9, 6, 2, 7), committed=(), proposals=(), confidence=())
    trace = Trace(sampler="diffusion", prompt="p", settings={}, mask_id=9, special_ids={"eos": (2,)},
                  token_text={5: " Hello", 6: " there", 7: " after"}, steps=(step,))
    assert chat.reply_text(trace) == "Hello there"


def test_a_conversation_goes_through_the_template_turn_by_turn(chat_model):
    seen = []

    def spying(prompt, **kwargs):
        seen.append((prompt, kwargs.get("history")))
        return runs.denoise(chat_model, prompt, **kwargs)

    backend = views.Backend(denoise=spying)
    frames = list(chat.chat_frames(backend, [], "w1 <b>w2</b>", *SETTINGS))
    canvas_frames, last = frames[:-1], frames[-1]
    assert len(canvas_frames) == 4  # one per forward pass, as without a conversation
    assert all(f[-1][-1]["content"] == chat.WRITING for f in canvas_frames)
    talk = last[-1]
    trace = canvas_frames[-1][3]
    assert [m["role"] for m in talk] == ["user", "assistant"]
    assert talk[0]["content"] == escape("w1 <b>w2</b>")  # shown as text, never as HTML
    assert talk[1]["content"] == escape(chat.reply_text(trace))
    # The canvas keeps the finished run: the last frame again (no gr.skip(), which Gradio keeps copies of).
    assert last[:2] == canvas_frames[-1][:2] and last[3] is trace

    second = list(chat.chat_frames(backend, talk, "w3", *SETTINGS))[-1][-1]
    assert [m["role"] for m in second] == ["user", "assistant"] * 2
    # The model read the first turn unescaped, through the chat template.
    assert seen[1] == ("w3", (("w1 <b>w2</b>", chat.reply_text(trace)),))
    ids = runs.prompt_ids(chat_model.tokenizer, "w3", True, seen[1][1])
    text = chat_model.tokenizer.decode(ids)
    assert text.index("w1") < text.index("w3") and text.startswith("[CLS]")


def test_zerogpu_runs_each_stream_inside_a_gpu_call_sized_by_its_settings():
    calls = []

    def fake_gpu(duration):
        def decorate(fn):
            def lent(*args, **kwargs):
                calls.append(duration(*args, **kwargs))
                yield from fn(*args, **kwargs)
            return lent
        return decorate

    def stream(prompt, *, steps, gen_length, **kwargs):
        yield from range(steps)

    backend = zerogpu.wrap(views.Backend(denoise=stream, infill=stream), gpu=fake_gpu)
    assert list(backend.denoise("p", steps=128, gen_length=128)) == list(range(128))
    assert list(backend.infill("p", steps=4, gen_length=4)) == list(range(4))
    assert calls == [min(zerogpu.MAX_S, zerogpu.BASE_S + zerogpu.PER_PASS_S * 256), zerogpu.BASE_S + zerogpu.PER_PASS_S * 8]
    assert backend.compare is None
    assert zerogpu.wrap(views.Backend(denoise=stream)).denoise is stream or zerogpu.available()


def test_a_preset_that_cannot_load_gives_way_to_the_shipped_pair(tmp_path):
    import app
    args = app.parse_args(["--model", "llada-8b-instruct", "--ar", "qwen2.5-7b-instruct", "--cache-dir", str(tmp_path)])
    loaded, notice = app.load_diffusion(args)
    assert loaded.name == "tiny-llada"
    assert notice.startswith("llada-8b-instruct could not be loaded") and "shipped tiny pair" in notice
    ar, ar_notice = app.load_ar(args, loaded.name)
    assert ar.name == "tiny-ar" and ar_notice == ""  # the twin, for a fair comparison
    assert app.chosen(app.parse_args([])) == models.default_pair(models.free_gpu_gb())


@pytest.fixture(scope="module")
def chat_app(tmp_path_factory):
    """app.py served on an instruct preset (a stand-in in a hub-shaped cache): its address."""
    import app
    from tests.conftest import free_port

    cache = tmp_path_factory.mktemp("hf")
    preset = models.PRESETS["modernbert-large-chat"]
    put_in_cache(cache, preset.source, FAMILIES[preset.source])
    port = free_port()
    demo = app.launch(app.parse_args(["--model", preset.name, "--ar", "none", "--cache-dir", str(cache),
                                      "--port", str(port)]), prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_the_served_page_keeps_a_conversation_for_an_instruct_preset(chat_app):
    """The app started on an instruct preset shows the conversation box; through the API a message streams
    the canvas and comes back in the conversation, and the next turn builds on it."""
    from gradio_client import Client

    client = Client(chat_app, verbose=False)
    first = list(client.submit([], "w1 w2", 8, 4, 8, "low_confidence", 0.0, 0.0, 0, True, api_name="/denoise"))
    talk = first[-1][-1]
    assert [m["role"] for m in talk] == ["user", "assistant"] and len(first) == 5  # 4 passes + the reply
    assert 'data-step="4"' in first[-2][0]
    second = list(client.submit(talk, "w3", 8, 4, 8, "low_confidence", 0.0, 0.0, 0, True, api_name="/denoise"))
    assert [m["role"] for m in second[-1][-1]] == ["user", "assistant"] * 2
    assert client.predict(api_name="/new_conversation")[0] in ([], None)


def test_a_person_sees_the_conversation_and_the_reply_on_the_canvas(chat_app, chromium):
    """In the browser: the conversation box above the message; each message animates the canvas, then its
    reply joins the conversation and the message box empties (screenshot in test-artifacts/)."""
    from tests.browser import ARTIFACTS, playwright

    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(chat_app)
        page.wait_for_selector("#conversation")
        for i, message in enumerate(("w1 w2 w3", "w4 <script>window.__hacked=1</script>"), 1):
            page.locator("#prompt textarea").fill(message)
            page.locator("#run").click()
            page.wait_for_selector('#canvas [data-step="64"]', timeout=60_000)
            bubbles = page.locator("#conversation .message-row")
            playwright.expect(bubbles).to_have_count(2 * i, timeout=30_000)
            playwright.expect(page.locator("#prompt textarea")).to_have_value("", timeout=10_000)
        assert "<script>" in page.locator("#conversation").inner_text()  # shown as text
        assert page.evaluate("window.__hacked === undefined")
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
        page.locator("#new-conversation").click()
        playwright.expect(page.locator("#conversation .message-row")).to_have_count(0, timeout=10_000)
    finally:
        page.close()


def test_zerogpu_lends_a_gpu_to_every_model_function_of_the_backend():
    import dataclasses

    lent = []

    def fake_gpu(duration):
        def decorate(fn):
            def call(*args, **kwargs):
                lent.append(fn.__name__)
                return fn(*args, **kwargs)
            return call
        return decorate

    def stream(*args, **kwargs):
        yield "frame"

    def objective(*args, **kwargs):
        return "draw"

    # Every callable field but the limits is a model function; a new one must be listed in zerogpu.
    names = [f.name for f in dataclasses.fields(views.Backend) if f.name != "limits"]
    assert sorted(names) == sorted(zerogpu.STREAMS + zerogpu.CALLS)
    functions = {name: objective if name in zerogpu.CALLS else stream for name in names}
    backend = zerogpu.wrap(views.Backend(**functions), gpu=fake_gpu)
    for name in names:
        result = getattr(backend, name)("p", steps=4, gen_length=4)
        assert (result if name in zerogpu.CALLS else list(result)) == ("draw" if name in zerogpu.CALLS else ["frame"])
    assert sorted(lent) == sorted(functions[name].__name__ for name in names)

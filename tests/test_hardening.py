"""Bad input, from the page's functions and through the real app's API: every one gets a sentence.

Three layers: the checks in `limits.py` and the trace schema in `step.py` (many generated cases with
hypothesis), the views on the shipped model (what the page shows), and the served app through
`gradio_client` and raw HTTP (a 4xx-class error carrying the sentence, never a traceback, and the
server still answers a good request afterwards). Each hypothesis test counts its cases in CASES; the
module's last test prints the totals (run with -s to see them).
"""

import collections
import json
import math
import re

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llada_demo.engine import limits
from llada_demo.web import validate, views
from llada_demo.engine.limits import Limits
from llada_demo.engine.step import Trace

CASES: collections.Counter = collections.Counter()
OPAQUE = "has not enabled verbose error reporting"  # Gradio's words when an unexpected exception escaped
GOOD = ("Kilm lived near the market with a lazy owl.", 16, 8, 16, "low_confidence", 0.0, 0.0, 3, True)


# ---------------------------------------------------------------- the checks in limits.py

@pytest.mark.parametrize("value,fragment", [
    (0, "from 1 to 192, got 0; use at least 1"), (-5, "use at least 1"), (10**9, "use at most 192"),
    ("16", "whole number"), (None, "whole number"), (16.5, "whole number"), (float("nan"), "whole number"),
    (float("inf"), "whole number"), (True, "whole number"), ([16], "whole number"), ({"a": 1}, "whole number"),
])
def test_a_bad_whole_number_is_one_sentence(value, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        limits.whole(value, "generation length", 1, 192)
    assert str(info.value).startswith("The generation length") and str(info.value).count(".") <= 2


def test_integral_floats_pass_as_ints():
    assert limits.whole(16.0, "x", 1, 20) == 16 and type(limits.whole(16.0, "x", 1, 20)) is int
    assert limits.seed(None) == 0 and limits.seed(2**63 - 1) == 2**63 - 1
    with pytest.raises(ValueError, match="seed"):
        limits.seed(2**64)
    with pytest.raises(ValueError, match="seed"):
        limits.seed(-1)


@pytest.mark.parametrize("text,fragment", [
    ("", "empty"), ("   \n\t ", "empty"), (None, "empty"), (42, "must be text"), ("a\x00b", "U+0000"),
    ("bell\x07", "U+0007"), ("esc \x1b[31m", "U+001B"), ("c1 \x85", "U+0085"), ("half \ud800 pair", "lone surrogate"),
    ("x" * 2001, "2,001 characters long; the limit is 2,000"), ("x" * 1_000_000, "1,000,000 characters"),
])
def test_bad_text_is_one_sentence(text, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        limits.text(text, "prompt", 2000, "The prompt is empty; type a few words.")


def test_tabs_newlines_and_any_script_are_fine():
    for ok in ("line one\nline two\ttab\r\n", "汉字 and émoji 🦉", "<script>alert(1)</script>"):
        assert limits.text(ok, "prompt", 2000, "empty") == ok


def test_limits_refuse_nonsense_from_the_operator():
    with pytest.raises(ValueError, match="max_steps"):
        Limits(max_steps=0)
    with pytest.raises(ValueError, match="queue_size"):
        Limits(queue_size="many")
    assert Limits().runs_at_once("tiny-llada") == 2 and Limits().runs_at_once("llada-8b-instruct") == 1
    assert Limits(concurrency=4).runs_at_once("llada-8b-instruct") == 4


def test_flags_and_environment_set_the_limits(monkeypatch):
    import app
    from llada_demo.engine.limits import from_args
    monkeypatch.setenv("LLADA_DEMO_MAX_STEPS", "64")
    monkeypatch.setenv("LLADA_DEMO_CONCURRENCY", "1")
    got = from_args(app.parse_args(["--max-gen-length", "32", "--queue-size", "4"]))
    assert got == Limits(max_gen_length=32, max_steps=64, queue_size=4, concurrency=1)
    monkeypatch.setenv("LLADA_DEMO_QUEUE_SIZE", "lots")
    with pytest.raises(SystemExit):  # argparse says which variable is wrong and exits
        app.parse_args([])


JUNK = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=400, deadline=None)
@given(value=JUNK)
def test_any_value_is_a_whole_number_or_a_sentence(value):
    CASES["limits: whole/number/seed/flag"] += 1
    for check in (lambda v: limits.whole(v, "x", 1, 192), lambda v: limits.number(v, "x", 0.0, 2.0),
                  limits.seed, lambda v: limits.flag(v, "x")):
        try:
            got = check(value)
        except ValueError as err:
            assert str(err).endswith(".") and len(str(err)) < 200
        else:
            assert isinstance(got, (int, float, bool)) and (not isinstance(got, float) or math.isfinite(got))


# ---------------------------------------------------------------- the trace schema

def a_real_trace() -> Trace:
    """A small run of the shipped model, as the page records it."""
    from llada_demo.engine import runs
    from llada_demo.models import load
    loaded = load("tiny-llada")
    trace = None
    for trace in runs.denoise(loaded, "Kilm lived near the market.", steps=4, gen_length=8, block_length=8,
                              temperature=1.0, seed=1):
        pass
    return trace


@pytest.fixture(scope="module")
def real_trace_json():
    return a_real_trace().to_json()


def edited(text: str, edit) -> str:
    data = json.loads(text)
    edit(data)
    return json.dumps(data)


@pytest.mark.parametrize("edit,fragment", [
    (lambda d: d["steps"][1].__setitem__("tokens", d["steps"][1]["tokens"][:-1]), "same number of positions"),
    (lambda d: d["steps"][1].__setitem__("committed", [99]), "outside the canvas"),
    (lambda d: d["steps"][1].__setitem__("committed", [0, 0]), "outside the canvas"),
    (lambda d: d["steps"][0].__setitem__("tokens", [2**40] * 8), "token ids"),
    (lambda d: d["steps"][0].__setitem__("tokens", ["<script>"] * 8), "token ids"),
    (lambda d: d["steps"][0].__setitem__("probability", [2.0] * 8), "wrong type"),
    (lambda d: d["steps"][0].__setitem__("confidence", [0.5] * 3), "one value per generated position"),
    (lambda d: d["steps"][0].__setitem__("top_ids", [[1, 2]] * 8), "differ in number"),
    (lambda d: d["steps"][2].__setitem__("index", 7), "index"),
    (lambda d: d.__setitem__("token_text", {"../../etc": "x"}), "not a token id"),
    (lambda d: d.__setitem__("token_text", {"5": ["<b>"]}), "must be text"),
    (lambda d: d.__setitem__("settings", {"gen_length": 9}), "gen_length 9"),
    (lambda d: d.__setitem__("settings", {"block_length": 0}), "block_length"),
    (lambda d: d.__setitem__("settings", {"x": {"nested": 1}}), "plain value"),
    (lambda d: d.__setitem__("sampler", "<img src=x>"), "sampler"),
    (lambda d: d.__setitem__("mask_id", "2"), "mask_id"),
    (lambda d: d.__setitem__("prompt", None), "prompt"),
    (lambda d: d.__setitem__("__proto__", {}), "unknown fields"),
    (lambda d: d.__setitem__("steps", [1, 2]), "not an object"),
])
def test_a_hostile_trace_is_refused_with_a_sentence(real_trace_json, edit, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        Trace.from_json(edited(real_trace_json, edit))
    assert "load a trace exported by the demo" in str(info.value) or "export the trace again" in str(info.value)


@pytest.mark.parametrize("text,fragment", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"), ('{"format": 1, "x": NaN}', "NaN"),
    ('{"format": 1, "x": ' + "9" * 5000 + "}", "not a trace"), ("", "not valid JSON"), ("\ufeff{}", "not valid JSON"),
])
def test_json_that_is_not_a_trace_is_refused(text, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        Trace.from_json(text)


def test_the_size_limit_comes_first(real_trace_json):
    with pytest.raises(ValueError, match="the limit is 100"):
        Trace.from_json(real_trace_json, max_chars=100)
    assert Trace.from_json(real_trace_json, max_chars=len(real_trace_json)).to_json() == real_trace_json


def mutations(draw_value):
    """A path into the trace's JSON and a junk value to put there."""
    return st.tuples(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=4), draw_value)


def mutate(data, path, value):
    """Replace the item that `path` (indices into keys/items, modulo their number) leads to with `value`."""
    node = data
    for depth, k in enumerate(path):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            return
        key = keys[k % len(keys)]
        if depth == len(path) - 1 or not isinstance(node[key], (dict, list)):
            node[key] = value
            return
        node = node[key]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=mutations(JUNK | st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", -1,
                                                 0, 2**31, [], {}, [[]], 1e308])),
       more=st.lists(mutations(JUNK), max_size=3))
def test_a_mutated_trace_loads_and_renders_or_is_refused(real_trace_json, change, more):
    """Whatever is changed, from_json answers with a Trace the page can render, or a ValueError."""
    CASES["trace schema: mutated traces"] += 1
    data = json.loads(real_trace_json)
    for path, value in [change, *more]:
        mutate(data, path, value)
    try:
        text = json.dumps(data)
    except ValueError:  # NaN in the junk: not JSON that a file could hold
        return
    try:
        trace = Trace.from_json(text)
    except ValueError as err:
        assert str(err).endswith(".") and "Traceback" not in str(err)
        return
    CASES["trace schema: mutated traces accepted"] += 1
    from llada_demo.web.render import canvas_html, status_text
    for i in range(-1, len(trace.steps)):
        html = canvas_html(trace, i)
        status_text(trace, i)
        assert "<script" not in html and "<img" not in html


# ---------------------------------------------------------------- the views, on the shipped model

@pytest.fixture(scope="module")
def backend():
    import functools

    from llada_demo.engine import runs
    from llada_demo.models import load
    loaded = load("tiny-llada")
    small = Limits(max_prompt_tokens=100)
    return views.Backend(denoise=functools.partial(runs.denoise, loaded, max_prompt_tokens=small.max_prompt_tokens),
                         infill=functools.partial(runs.infill, loaded, max_prompt_tokens=small.max_prompt_tokens),
                         limits=small)


def first_frame(backend, *args):
    frames = views.denoise_frames(backend, *args)
    try:
        return next(frames)
    finally:
        frames.close()


def with_(**changes):
    names = ("prompt", "gen_length", "steps", "block_length", "remasking", "temperature", "cfg_scale", "seed",
             "show_guesses")
    values = dict(zip(names, GOOD))
    values.update(changes)
    return tuple(values[n] for n in names)


BAD = [  # (changes, what the sentence says)
    (dict(gen_length=0), "generation length must be from 1 to 192, got 0"),
    (dict(gen_length=-16), "use at least 1"),
    (dict(gen_length=10**12), "use at most 192"),
    (dict(gen_length="sixteen"), "generation length must be a whole number"),
    (dict(steps=None), "number of steps must be a whole number"),
    (dict(steps=0), "number of steps must be from 1"),
    (dict(steps=17), "More steps (17) than generated tokens (16)"),
    (dict(block_length=5), "must divide the generation length"),
    (dict(block_length=0), "block length must be from 1"),
    (dict(temperature=-1), "temperature must be from 0 to 2"),
    (dict(temperature="hot"), "temperature must be a number"),
    (dict(temperature=1e308), "temperature must be from 0 to 2"),
    (dict(cfg_scale=100), "CFG scale must be from 0 to 4"),
    (dict(remasking="<script>"), "remasking strategy must be one of low_confidence, random"),
    (dict(seed=-3), "seed must be from 0"),
    (dict(seed="abc"), "seed must be a whole number"),
    (dict(show_guesses="yes"), "show guesses setting must be true or false"),
    (dict(prompt=""), "The prompt is empty"),
    (dict(prompt=" \n\t "), "The prompt is empty"),
    (dict(prompt=None), "The prompt is empty"),
    (dict(prompt="Kilm\x00lived"), "control character (U+0000)"),
    (dict(prompt="Kilm \ud83d lived"), "lone surrogate"),
    (dict(prompt="owl " * 250_000), "1,000,000 characters long; the limit is 2,000"),
    (dict(prompt="owl " * 150), "150 tokens long; the limit is 100 tokens"),
    (dict(prompt="owl " * 80, gen_length=192, steps=192, block_length=192), "exceeds the model's context of 256"),
]


@pytest.mark.parametrize("changes,fragment", BAD, ids=[str(sorted(c))[:40] for c, _ in BAD])
def test_the_page_shows_one_sentence_for_each_bad_setting(backend, changes, fragment):
    with pytest.raises(gr.Error) as info:
        first_frame(backend, *with_(**changes))
    assert fragment in info.value.message and "Traceback" not in info.value.message
    assert info.value.message.count(". ") <= 1 and len(info.value.message) < 300


def test_a_good_setting_still_runs(backend):
    canvas, status, *_ = first_frame(backend, *GOOD)
    assert 'data-step="1"' in canvas and "Step 1 / 8" in status


@pytest.mark.parametrize("text,fragment", [
    ("", "The text is empty"), ("no blanks here", "no blank"), ("a ___ \x7f", "U+007F"),
    ("___ " * 600, "2,400 characters long"), ("___ " * 150, "150 tokens long; the limit is 100"),
])
def test_infill_shows_one_sentence(backend, text, fragment):
    with pytest.raises(gr.Error, match=re.escape(fragment)):
        next(views.infill_frames(backend, text, 0.0, 0, True))


# Powers of two often make a valid run (the block length divides the length), so some cases run the model.
SETTING = st.one_of(st.sampled_from([1, 2, 4, 8, 16, 32, 64]), st.integers(min_value=-4, max_value=260), JUNK)


NAMES = ("prompt", "gen_length", "steps", "block_length", "remasking", "temperature", "cfg_scale", "seed",
         "show_guesses")


@st.composite
def valid_settings(draw):
    gen_length = draw(st.sampled_from([4, 8, 16, 32]))
    block_length = draw(st.sampled_from([d for d in (1, 2, 4, 8, 16, 32) if gen_length % d == 0]))
    blocks = gen_length // block_length
    steps = blocks * draw(st.integers(min_value=1, max_value=block_length))
    return dict(prompt=draw(st.sampled_from(["Kilm lived near the", "Stalar had a cream ring.", "<b>owl</b> &amp;"])),
                gen_length=gen_length, steps=steps, block_length=block_length,
                remasking=draw(st.sampled_from(["low_confidence", "random"])),
                temperature=draw(st.floats(min_value=0, max_value=2)), cfg_scale=draw(st.floats(min_value=0, max_value=4)),
                seed=draw(st.integers(min_value=0, max_value=2**63 - 1)), show_guesses=draw(st.booleans()))


@st.composite
def settings_cases(draw):
    """A valid run, or one with one to three of its settings replaced by junk or an out-of-range value."""
    values = draw(valid_settings())
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True)):
        values[name] = draw(st.one_of(SETTING, st.text(max_size=30), st.floats()))
    return tuple(values[n] for n in NAMES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=settings_cases())
def test_any_settings_run_or_get_a_sentence(backend, case):
    """Generated settings through the Denoise view on the shipped model: a first frame, or gr.Error."""
    CASES["views: generated denoise settings"] += 1
    try:
        canvas, status, *_ = first_frame(backend, *case)
    except gr.Error as err:
        assert err.message.endswith(".") and "Traceback" not in err.message and len(err.message) < 300
        return
    CASES["views: generated denoise settings that ran"] += 1
    assert 'data-step="1"' in canvas


@settings(max_examples=400, deadline=None)
@given(case=settings_cases())
def test_the_validator_answers_any_settings(case):
    """Gradio's validator= runs before the queue and must never raise: an exception there reaches an API
    caller as a bare 400 ("integer modulo by zero" was one, for a block longer than the length)."""
    verdicts = validate.denoise(Limits(), *case)
    assert len(verdicts) == len(case)
    for v in verdicts:
        assert v["is_valid"] or (v["message"].endswith(".") and "Traceback" not in v["message"])


# ---------------------------------------------------------------- through the API of the served app

@pytest.fixture(scope="module")
def client(served_app):
    return Client(served_app, verbose=False)


API_BAD = [(c, f) for c, f in BAD if "surrogate" not in f and "150 tokens" not in f] + [
    (dict(prompt="owl " * 600), "2,400 characters long; the limit is 2,000"),
]


@pytest.mark.parametrize("changes,fragment", API_BAD, ids=[str(sorted(c))[:40] for c, _ in API_BAD])
def test_the_api_answers_each_bad_setting_with_the_sentence(client, changes, fragment):
    with pytest.raises(Exception) as info:
        client.submit(*with_(**changes), api_name="/denoise").result(timeout=60)
    message = str(info.value)
    assert fragment in message and OPAQUE not in message and "Traceback" not in message


@pytest.mark.parametrize("api,args,fragment", [
    ("/compare", ("", 16, 8, 16, 0.0, 0), "The prompt is empty"),
    ("/compare", ("Kilm", 16, 8, 16, "x", 0), "temperature must be a number"),
    ("/infill", ("Kilm lived near the ___.", 0.0, -1, True), "seed must be from 0"),
    ("/infill", (None, 0.0, 0, True), "The text is empty"),
    ("/ask_forwards", (10**6,), "item number must be from 0"),
    ("/ask_backwards", ("first",), "item number must be a whole number"),
    ("/reversal_test_set", (0,), "number of items must be from 1"),
    ("/scrub", (1, True), None),
])
def test_the_other_model_endpoints_answer_with_a_sentence(client, api, args, fragment):
    if fragment is None:  # scrub before any run (a new visitor): a hint, not an error
        canvas, status = Client(client.src, verbose=False).predict(*args, api_name=api)
        assert "Run the model first" in status
        return
    with pytest.raises(Exception) as info:
        client.submit(*args, api_name=api).result(timeout=60)
    assert fragment in str(info.value) and OPAQUE not in str(info.value)


def raw_call(base: str, api: str, body: bytes) -> tuple[int, str]:
    """POST a hand-made body to Gradio's HTTP API and read the event stream: (status, text)."""
    with httpx.Client(base_url=base, timeout=60) as http:
        posted = http.post(f"gradio_api/call{api}", content=body, headers={"Content-Type": "application/json"})
        if posted.status_code != 200:
            return posted.status_code, posted.text
        event = posted.json()["event_id"]
        return 200, http.get(f"gradio_api/call{api}/{event}").text


@pytest.mark.parametrize("body,fragment", [
    # A lone surrogate, written as a JSON escape: gradio_client cannot even send one.
    (b'{"data": ["Kilm \\ud800 lived", 16, 8, 16, "low_confidence", 0, 0, 0, true]}', "lone surrogate"),
    (b'{"data": ["Kilm lived", NaN, 8, 16, "low_confidence", 0, 0, 0, true]}', None),
    (b'{"data": ["Kilm \xff\xfe lived", 16, 8, 16, "low_confidence", 0, 0, 0, true]}', None),  # invalid UTF-8
    (b'{"data": ["Kilm lived"]}', None),  # too few inputs
    (b'{"data": "Kilm"}', None),
    (b'not json at all', None),
])
def test_hostile_http_bodies_get_an_error_not_a_crash(served_app, client, body, fragment):
    if body.endswith(b"true]}"):  # the page's later inputs (decoding rule, knobs, pace) at their defaults
        parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/denoise"]["parameters"]
        rest = [p.get("parameter_default") for p in parameters[len(GOOD):]]
        body = body[:-2] + b"".join(b", " + json.dumps(v).encode() for v in rest) + b"]}"
    status, text = raw_call(served_app, "/denoise", body)
    if status == 200:  # accepted into the queue: the event stream must end in an error event
        assert "event: error" in text and "Traceback" not in text
        if fragment:
            assert fragment in text
    else:
        assert 400 <= status < 500 and "Traceback" not in text


def test_the_server_still_answers_after_all_that(client):
    frames = list(client.submit(*GOOD, api_name="/denoise"))
    assert len(frames) == 8 and 'data-state="masked"' not in frames[-1][0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=settings_cases())
def test_generated_requests_through_the_api(client, case):
    """Generated settings through gradio_client: the run finishes, or the error is our sentence."""
    CASES["API: generated denoise requests"] += 1
    try:
        json.dumps(case, allow_nan=False)
        if any("\ud800" <= c <= "\udfff" for c in json.dumps(case, ensure_ascii=False)):
            raise ValueError  # gradio_client cannot send a lone surrogate (the raw HTTP test above does)
    except ValueError:
        return
    try:
        job = client.submit(*case, api_name="/denoise")
        # result() first: it raises the run's error, if any. Iterating the job instead never ends when
        # Gradio's validator= refuses the inputs (gradio_client 2.7's Job.__next__ waits for a FINISHED
        # status that its validation-error path does not set), which hung CI for its whole 90 minutes.
        job.result(timeout=120)
        frames = job.outputs()
    except Exception as err:  # noqa: BLE001 - the point is what the error says
        assert OPAQUE not in str(err) and "Traceback" not in str(err)
        assert str(err).rstrip().endswith(".")
    else:
        CASES["API: generated denoise requests that ran"] += 1
        assert 'data-state="masked"' not in frames[-1][0]


def test_zz_report_the_cases(client):
    """Runs last in this module: the server answers a good request after every case above; print the counts."""
    frames = list(client.submit(*GOOD, api_name="/denoise"))
    assert len(frames) == 8
    print("\nhardening cases:", dict(CASES), "total generated:",
          sum(v for k, v in CASES.items() if not k.endswith(("ran", "accepted"))))

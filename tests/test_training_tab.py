"""The Training tab's view on the shipped pair, the prompt/answer split, and the page's input validation.

The view is checked against engine/objective called directly on the same loaded models (the tab adds no
second model path); the validators against the views' and the sampler's own checks (same sentences).
"""

import functools
import re

import gradio as gr
import pytest

import app
from llada_demo.engine import objective, schedule
from llada_demo.engine.lesson import RATIOS
from llada_demo.engine.limits import Limits
from llada_demo.tinyworld.corpus import example_prompts
from llada_demo.web import training_view, validate, views


@pytest.fixture(scope="module")
def shipped():
    return app.models(app.parse_args([]))


@pytest.fixture(scope="module")
def config(shipped, world):
    return app.page_config(shipped.loaded.name, Limits(), "", "", False, world)


def hidden_positions(html):
    return [int(p) for p in re.findall(r'data-state="hidden" data-right="\w+" data-pos="(\d+)"', html)]


@pytest.mark.parametrize("sft", [False, True])
def test_the_tab_shows_the_objective_of_the_loaded_pair(shipped, config, sft):
    for text in config.training_examples:
        html, summary, figure = views.training_views(shipped.backend, text, 0.5, 3, sft)
        prompt, answer = training_view.split(text)
        direct = objective.masked_guesses(shipped.loaded, prompt, answer, t=0.5, seed=3, sft=sft, ar=shipped.ar)
        assert hidden_positions(html) == [i for i, m in enumerate(direct.is_masked) if m]
        assert f"{direct.weighted_loss:.3f} nats per token" in summary and f"{direct.ar_loss:.3f}" in summary
        assert list(figure.data[0].x) == list(RATIOS)
        assert list(figure.data[0].y) == [v for _, v in objective.expected_loss(
            shipped.loaded, prompt, answer, ratios=RATIOS, samples=4, seed=3, sft=sft)]
        if sft:  # only the answer is hidden
            assert all(not direct.is_prompt[i] for i in hidden_positions(html))


def test_a_draw_is_fixed_by_its_seed(shipped, config):
    text = config.training_examples[0]
    first = views.training_views(shipped.backend, text, 0.5, 1, False)[0]
    assert views.training_views(shipped.backend, text, 0.5, 1, False)[0] == first
    others = {tuple(hidden_positions(views.training_views(shipped.backend, text, 0.5, s, False)[0])) for s in range(2, 6)}
    assert others - {tuple(hidden_positions(first))}


def test_the_split_keeps_the_tokens_of_the_whole_text(shipped, config, world):
    tokenizer = shipped.loaded.tokenizer
    for text in (*config.training_examples, *example_prompts(world)):
        prompt, answer = training_view.split(text)
        assert (prompt + answer).strip() == text.strip() and answer.strip()
        ids = tokenizer.encode(text.strip(), add_special_tokens=False)
        assert tokenizer.encode(prompt, add_special_tokens=False) + tokenizer.encode(answer, add_special_tokens=False) == ids


@pytest.mark.parametrize("text, prompt, answer", [
    ("Mira's teacher is | Tobin.", "Mira's teacher is", " Tobin."),
    ("The owl sang,\nand the cat ran.", "The owl sang,\n", "and the cat ran."),
    ("Kilm lived near the market. He waved. Then he went home.", "Kilm lived near the market. He waved.",
     " Then he went home."),
    ("Mira's teacher is Tobin.", "Mira's teacher is", " Tobin."),
    ("Hello", "", "Hello"),
])
def test_the_split_rule(text, prompt, answer):
    assert training_view.split(text) == (prompt, answer)


def test_the_page_opens_on_a_story_start_and_offers_a_couplet(config, world):
    assert config.prompt == example_prompts(world)[0] and config.prompt.count(".") >= 1
    assert any("\n" in t for t in config.training_examples)


def message(function, *args):
    """The sentence a view answers with (gr.Error), or None when it accepts the inputs."""
    try:
        out = function(*args)
        next(out) if hasattr(out, "__next__") else None
    except gr.Error as err:
        return err.message
    return None


def refused(verdicts):
    return [(i, v["message"]) for i, v in enumerate(verdicts) if not v["is_valid"]]


DENOISE_OK = ["Kilm lived near the market.", 48, 48, 16, "low_confidence", 0.0, 0.0, 0, True]


@pytest.mark.parametrize("index, value", [(0, ""), (0, "   "), (1, 500), (2, 0), (3, 10), (3, 0), (2, 47), (5, 9.0),
                                          (6, -1.0), (7, -3), (1, "many")])
def test_denoise_validation_says_what_the_view_says(shipped, index, value):
    inputs = list(DENOISE_OK)
    inputs[index] = value
    said = refused(validate.denoise(Limits(), *inputs))
    assert len(said) == 1 and said[0][1] == message(views.denoise_frames, shipped.backend, *inputs)
    assert said[0][0] == index  # 47 steps over 3 blocks of 16: told on the steps


def test_the_block_rule_is_the_samplers(shipped):
    """The message on the block length is the sampler's own (schedule.check_settings)."""
    with pytest.raises(ValueError) as err:
        schedule.check_settings(steps=48, gen_length=48, block_length=10)
    assert refused(validate.denoise(Limits(), *DENOISE_OK[:3], 10, *DENOISE_OK[4:])) == [(3, str(err.value))]


def test_good_inputs_pass_everywhere(config):
    limits = Limits()
    assert not refused(validate.denoise(limits, *DENOISE_OK, "extra input a later control adds"))
    assert not refused(validate.chat(limits, [], *DENOISE_OK))
    assert not refused(validate.compare(limits, "A prompt", 48, 24, 16, 0.0, 0))
    assert not refused(validate.infill(limits, "Kilm ___ near the market.", 0.0, 0, True))
    assert not refused(validate.training(limits, config.training_examples[0], 0.5, 0, False))
    assert not refused(validate.reversal_pick(0))


def test_other_tabs_refuse_as_their_views_do(shipped):
    assert refused(validate.infill(Limits(), "", 0.0, 0, True)) == [
        (0, message(views.infill_frames, shipped.backend, "", 0.0, 0, True))]
    assert refused(validate.training(Limits(), " ", 0.5, 0, False)) == [
        (0, message(views.training_views, shipped.backend, " ", 0.5, 0, False))]
    assert refused(validate.training(Limits(), "A cat.", 0.0, 0, False)) == [
        (1, message(views.training_views, shipped.backend, "A cat.", 0.0, 0, False))]
    assert refused(validate.compare(Limits(), "A prompt", 48, 24, 20, 0.0, 0)) == [
        (3, message(views.compare_frames, shipped.backend, "A prompt", 48, 24, 20, 0.0, 0))]
    assert refused(validate.reversal_pick(None)) == [(0, validate.PICK_FIRST)]


@pytest.mark.parametrize("content", [b"not json", b"\xff\xfe binary", b'{"format": "something else"}'])
def test_an_unloadable_trace_is_refused_with_the_views_sentence(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    said = refused(validate.trace_file(Limits().max_upload_bytes, str(path), True))
    assert said == [(0, message(views.load_trace, str(path), True))]
    big = refused(validate.trace_file(4, str(path), True))
    assert big == [(0, message(functools.partial(views.load_trace, max_bytes=4), str(path), True))]


def test_an_exported_trace_passes(shipped, tmp_path):
    *_, last = views.denoise_frames(shipped.backend, *DENOISE_OK)
    path = views.export_file(last[3], "json")
    assert not refused(validate.trace_file(Limits().max_upload_bytes, path, True))

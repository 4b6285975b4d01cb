"""The pure views: states and hooks on the canvas, escaping of every token, whitespace and
end-of-text made visible, blocks, the status line."""

import re

from llada_demo.web.render import EOS_SYMBOL, NEWLINE_SYMBOL, canvas_html, colour, status_text, token_label
from llada_demo.engine.step import Step, Trace

MASK = 2
HOSTILE = {5: "<script>alert(1)</script>", 6: '<img src=x onerror="alert(1)">', 7: "\n", 8: " cat", 1: "<|endoftext|>",
           9: "javascript:alert(1)"}


def step(index, tokens, committed, block=0, probability=None):
    n = len(tokens)
    return Step(index=index, block=block, tokens=tuple(tokens), committed=tuple(committed),
                proposals=tuple(t if t != MASK else 5 for t in tokens),
                confidence=(None,) * n, probability=tuple(probability or [0.9] * n),
                top_ids=tuple((5, 6) if t == MASK or p in committed else () for p, t in enumerate(tokens)),
                top_probs=tuple((0.6, 0.3) if t == MASK or p in committed else () for p, t in enumerate(tokens)),
                entropy=(None,) * n, nfe=index + 1, elapsed=0.1 * (index + 1))


def trace(block_length=4):
    steps = (step(0, [5, MASK, MASK, MASK], [0]), step(1, [5, 6, MASK, MASK], [1]),
             step(2, [5, 6, 7, MASK], [2], block=0), step(3, [5, 6, 7, 1], [3], probability=[0.9, 0.9, 0.9, 0.2]))
    return Trace(sampler="diffusion", prompt="p", settings={"steps": 4, "gen_length": 4, "block_length": block_length},
                 mask_id=MASK, steps=steps, token_text=HOSTILE, special_ids={"eos": (1,)})


def states(html):
    return re.findall(r'data-state="(\w+)" data-pos="(\d+)"', html)


def test_states_and_hooks():
    html = canvas_html(trace(), 1)
    assert states(html) == [("committed", "0"), ("new", "1"), ("masked", "2"), ("masked", "3")]
    assert 'data-step="2" data-total="4"' in html
    blank = canvas_html(trace(), -1)
    assert [s for s, _ in states(blank)] == ["masked"] * 4 and 'data-step="0"' in blank


def test_every_token_is_escaped():
    html = canvas_html(trace(), 3)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=" in html


def test_whitespace_and_end_of_text_are_visible():
    html = canvas_html(trace(), 3)
    assert NEWLINE_SYMBOL in html and 'class="ld-br"' in html  # the newline shows and breaks the line
    assert EOS_SYMBOL in html and "ld-eos" in html
    assert token_label(" cat") == "cat" and token_label("  ") == "␣␣" and token_label("\n") == NEWLINE_SYMBOL


def test_guesses_under_masks_can_be_hidden():
    assert "ld-guess" in canvas_html(trace(), 0, show_guesses=True)
    assert "ld-guess" not in canvas_html(trace(), 0, show_guesses=False)


def test_committed_colour_follows_the_probability_it_was_committed_with():
    html = canvas_html(trace(), 3)
    chip = re.search(r'data-pos="3"[^>]*style="background:(#[0-9a-f]{6})', html).group(1)
    assert chip == colour(0.2) != colour(0.9)


def test_hover_card_names_the_commit_step_and_candidates():
    html = canvas_html(trace(), 3)
    card = re.search(r'data-pos="1".*?<span class="ld-card"[^>]*>(.*?)</span></span>', html).group(1)
    assert "committed at step 2" in card and "top candidates at step 2" in card and "60.0%" in card


def test_blocks_are_marked_when_shorter_than_the_length():
    assert canvas_html(trace(block_length=2), 0).count('class="ld-sep"') == 1
    assert 'class="ld-sep"' not in canvas_html(trace(block_length=4), 0)
    assert "ld-active" in canvas_html(trace(block_length=2), 0)


def test_status_line():
    assert status_text(trace(), 1) == ("Step 2 / 4 · block 1 / 1 · masks left 2 · forward passes 2 · 1.00 tokens per pass"
                                       " · 0.20 s · 10.0 tokens/s")


def test_cividis_scale_ends():
    assert colour(0) == "#00204d" and colour(1) == "#ffea46" and colour(2) == colour(1)

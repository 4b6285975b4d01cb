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


def test_an_autoregressive_run_ends_at_its_end_of_text():
    # The AR side stops at end-of-text (runs.compare): what comes after is never written, so it is not drawn
    # as masks still to come, and the status says why the run ended early.
    steps = (step(0, [5, MASK, MASK, MASK, MASK, MASK], [0]), step(1, [5, 1, MASK, MASK, MASK, MASK], [1]))
    ar = Trace(sampler="autoregressive", prompt="p", settings={"steps": 6, "gen_length": 6, "block_length": 6},
               mask_id=MASK, steps=steps, token_text=HOSTILE, special_ids={"eos": (1,)})
    assert states(canvas_html(ar, 0)) == [("new", "0")] + [("masked", str(p)) for p in range(1, 6)]
    html = canvas_html(ar, 1)
    assert states(html) == [("committed", "0"), ("new", "1")] and "stopped at end-of-text" in html
    assert "stopped at end-of-text" in status_text(ar, 1) and "masks left" not in status_text(ar, 1)
    assert "masks left 5" in status_text(ar, 0)


def test_a_trailing_run_of_end_of_text_is_one_chip_that_opens():
    tokens = [5, 6, 1, 1, 1, 1, 1]
    steps = (step(0, tokens, range(7)),)
    run = Trace(sampler="diffusion", prompt="p", settings={"steps": 1, "gen_length": 7, "block_length": 7},
                mask_id=MASK, steps=steps, token_text=HOSTILE, special_ids={"eos": (1,)})
    html = canvas_html(run, 0)
    assert f"{EOS_SYMBOL} &times; 5" in html
    # Every chip is still there (replay, cards and tests read them), inside the run that opens on hover.
    assert len(states(html)) == 7
    head, tail = html.split('class="ld-eos-chips"')
    assert [p for _, p in states(head)] == ["0", "1"] and [p for _, p in states(tail)] == ["2", "3", "4", "5", "6"]
    # Three end-of-text tokens are drawn as they are.
    short = Trace(sampler="diffusion", prompt="p", settings={"steps": 1, "gen_length": 5, "block_length": 5},
                  mask_id=MASK, steps=(step(0, [5, 6, 1, 1, 1], range(5)),), token_text=HOSTILE,
                  special_ids={"eos": (1,)})
    assert "&times;" not in canvas_html(short, 0)

"""The Training view's pure pieces: hidden tokens as chips with the guess, right/wrong and the true
token's probability; escaping; the losses in words; the expected-loss figure."""

import re

from llada_demo.engine.objective import MaskedGuesses
from llada_demo.web import training_view


def record(sft=False):
    # ids 10..13: "<b>" is hidden and guessed right, "owl" hidden and guessed wrong ("cat").
    return MaskedGuesses(
        ids=(10, 11, 12, 13), is_prompt=(True, True, False, False), is_masked=(False, True, False, True),
        guess=(-1, 11, -1, 14), probability=(None, 0.9, None, 0.6), target_probability=(None, 0.9, None, 0.25),
        loss=(None, 0.1054, None, 1.3863), top_ids=((), (11, 14), (), (14, 13)), top_probs=((), (0.9, 0.05), (), (0.6, 0.25)),
        t=0.5, sft=sft, weighted_loss=1.4917, ar_loss=0.75,
        token_text={10: "The", 11: "<b>", 12: " is", 13: " owl", 14: " cat"})


def test_hidden_tokens_show_the_guess_marked_and_escaped():
    html = training_view.masked_html(record())
    assert re.findall(r'data-state="(\w+)" data-right="(\w+)" data-pos="(\d)"', html) == [
        ("hidden", "true", "1"), ("hidden", "false", "3")]
    assert "&lt;b&gt;" in html and "<b><b>" not in html
    assert "✗" in html and "✓" in html and "cross-entropy 1.39 nats" in html
    assert html.count('data-state="visible"') == 2


def test_sft_marks_the_prompt():
    assert html_count(training_view.masked_html(record(sft=True)), "ld-prompt") == 1  # "The" (the other prompt token is hidden)


def html_count(html, cls):
    return len(re.findall(rf'class="[^"]*\b{cls}\b', html))


def test_summary_gives_the_losses_and_counts():
    text = training_view.summary_text(record())
    assert "2 of 4 hidden, 1 guessed right" in text and "1.492 nats per token" in text and "0.750" in text
    assert "the answer's tokens" in training_view.summary_text(record(sft=True))


def test_loss_curve_has_the_draws_and_the_ar_line():
    fig = training_view.loss_curve([(0.1, 2.0), (0.5, 1.5), (1.0, 1.2)], ar_loss=0.8)
    assert [d.name for d in fig.data] == ["LLaDA loss (Eq. 3), mean of draws", "AR twin"]
    assert list(fig.data[0].y) == [2.0, 1.5, 1.2] and list(fig.data[1].y) == [0.8, 0.8]

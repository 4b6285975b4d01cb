"""The Training view's pure pieces: one mask draw over a sentence as HTML, its losses in words, and the
expected loss against the mask ratio t as a figure.

It reads the plain record `engine.objective.MaskedGuesses` by its attributes (never importing the engine
module, which imports torch). Every token text is escaped here before it becomes HTML. `split` is the
page's rule for which part of a sentence is the prompt (kept visible under the SFT switch) and which the
answer. What it is not: no model, no Gradio (the Training tab's wiring is in `tabs/training.py`, its
event function in `views.py`).
"""

from __future__ import annotations

from html import escape

import plotly.graph_objects as go

from llada_demo.web.plots import BLUE, FONT, GREY, HEIGHT, ORANGE
from llada_demo.web.render import colour, ink, token_label


SPLIT_RULE = ("**Prompt and answer** (for the SFT switch): a `|` you type marks where the prompt ends; without "
              "one, a text of two lines (a couplet) keeps its first line as the prompt, as the shipped model's "
              "fine-tuning did; a text of several sentences keeps all but the last; one sentence keeps all but its "
              "last word.")


def split(text: str) -> tuple[str, str]:
    """(prompt, answer) of a sentence by SPLIT_RULE: the first `|`, else the first line break, else the last
    sentence, else the last word. The answer keeps its leading space, so prompt + answer is the text
    (without the `|`)."""
    if "|" in text:
        prompt, answer = text.split("|", 1)
        return prompt.rstrip(" "), " " + answer.lstrip(" ") if prompt.strip() else answer.lstrip(" ")
    body = text.strip()
    if "\n" in body:
        first, rest = body.split("\n", 1)
        return first + "\n", rest
    ends = [i + 1 for i, ch in enumerate(body[:-1]) if ch in ".!?" and body[i + 1] == " "]
    if ends:
        return body[:ends[-1]], body[ends[-1]:]
    if " " in body:
        head, last = body.rsplit(" ", 1)
        return head, " " + last
    return "", body


def masked_html(record) -> str:
    """The sentence with the draw's hidden tokens as mask chips, each showing the model's guess, marked
    right (✓) or wrong (✗), coloured by the probability the model gave the true token, with a card
    holding the top-5 and the cross-entropy. Visible tokens are plain; in SFT the prompt is underlined."""
    text_of = lambda i: token_label(record.token_text.get(i, f"#{i}"))  # noqa: E731
    chips = []
    for pos, token in enumerate(record.ids):
        prompt_class = " ld-prompt" if record.sft and record.is_prompt[pos] else ""
        if not record.is_masked[pos]:
            chips.append(f'<span class="ld-chip ld-given ld-visible{prompt_class}" data-state="visible" '
                         f'data-pos="{pos}">{escape(text_of(token))}</span>')
            continue
        guess, p_true = record.guess[pos], record.target_probability[pos]
        right = guess == token
        rows = "".join(f"<tr><td>{escape(text_of(i))}</td><td>{p:.1%}</td></tr>"
                       for i, p in zip(record.top_ids[pos], record.top_probs[pos]))
        card = (f'<span class="ld-card" role="tooltip">position {pos} · hidden · true token '
                f"<b>{escape(text_of(token))}</b>, p = {p_true:.1%} · cross-entropy {record.loss[pos]:.2f} nats"
                f"<table><tr><th>the model's top candidates</th><th></th></tr>{rows}</table></span>")
        mark = "✓" if right else "✗"
        chips.append(f'<span class="ld-chip ld-hidden" data-state="hidden" data-right="{str(right).lower()}" '
                     f'data-pos="{pos}" tabindex="0" style="background:{colour(p_true)};color:{ink(p_true)}">'
                     f'{escape(text_of(guess))} <span class="ld-mark">{mark}</span>{card}</span>')
    legend = ('<div class="ld-legend">hidden tokens show the model\'s guess (✓ right, ✗ wrong), coloured by the '
              'probability it gave the true token '
              f'<span class="ld-scale" style="background:linear-gradient(to right, {colour(0)}, {colour(0.5)}, {colour(1)})">'
              '</span> 0% → 100%</div>')
    # The sentence itself first: the chips show the model's guesses, so a wrong one hides the true word.
    original = "".join(record.token_text.get(i, "") for i in record.ids).strip().replace("\n", " / ")
    sentence = (f'<div class="ld-sentence">the sentence: <q>{escape(original)}</q> · hidden below: '
                f'{sum(record.is_masked)} tokens, each showing what the model guessed there</div>')
    return (f'<div class="ld-canvas ld-training">{sentence}<div class="ld-tokens">{"".join(chips)}</div>'
            f'{legend}</div>')


def summary_text(record) -> str:
    """The draw's losses in one paragraph: what was hidden, how many guesses were right, Eq. 3's loss
    next to the AR twin's."""
    hidden = [i for i, m in enumerate(record.is_masked) if m]
    right = sum(1 for i in hidden if record.guess[i] == record.ids[i])
    maskable = sum(1 for p in record.is_prompt if not p) if record.sft else len(record.ids)
    what = "the answer's tokens" if record.sft else "the tokens"
    text = (f"t = {record.t:.2f}: each of {what} hidden with probability {record.t:.2f}; {len(hidden)} of {maskable} "
            f"hidden, {right} guessed right in one forward pass. LLaDA's loss for this draw (sum of the "
            f"cross-entropies {sum(record.loss[i] for i in hidden):.2f} nats × 1/t ÷ {maskable} tokens): "
            f"**{record.weighted_loss:.3f} nats per token**.")
    if record.ar_loss is not None:
        text += (f" The autoregressive twin, predicting the same tokens left to right: **{record.ar_loss:.3f} "
                 "nats per token**.")
    return text


def loss_curve(points: list[tuple[float, float]], ar_loss: float | None = None) -> go.Figure:
    """Mean weighted loss of several draws at each t: the curve LLaDA's training objective averages over
    t ~ U(0, 1); the AR twin's loss on the same tokens as a line for scale."""
    data = [dict(type="scatter", x=[t for t, _ in points], y=[v for _, v in points], mode="lines+markers",
                 name="LLaDA loss (Eq. 3), mean of draws", line=dict(color=BLUE, width=3),
                 hovertemplate="t = %{x:.2f}<br>loss %{y:.3f} nats/token<extra></extra>")]
    if ar_loss is not None:
        data.append(dict(type="scatter", x=[0, 1], y=[ar_loss, ar_loss], mode="lines", name="AR twin",
                         line=dict(color=ORANGE, dash="dash", width=2),
                         hovertemplate="AR twin %{y:.3f} nats/token<extra></extra>"))
    layout = dict(template="plotly_white", height=HEIGHT, font=dict(size=FONT),
                  title=dict(text="Expected loss against the mask ratio t", font=dict(size=FONT + 3), y=0.97,
                             yanchor="top"),
                  xaxis=dict(title=dict(text="mask ratio t"), range=[0, 1.02]),
                  yaxis=dict(title=dict(text="nats per token"), rangemode="tozero"),
                  margin=dict(l=70, r=20, t=95, b=55),
                  # In a row under the title: a legend inside the plot squeezed it to a sliver on a phone.
                  legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"),
                  annotations=[dict(text="training averages this curve over t ~ U(0, 1)", showarrow=False,
                                    xref="paper", yref="paper", x=0.99, y=0.02, xanchor="right",
                                    font=dict(size=FONT - 2, color=GREY))])
    return go.Figure(data=data, layout=layout)


CSS = """
.ld-training .ld-visible { color: inherit; }
.ld-training .ld-prompt { text-decoration: underline dotted; }
.ld-hidden { border: 2px dashed #1f2937; }
.ld-hidden[data-right="false"] { border-style: solid; border-color: #c92a2a; }
.ld-mark { font-size: .9em; font-weight: bold; }
.ld-hidden[data-right="false"] .ld-mark { color: #ff8787; }
.ld-sentence { margin-bottom: .5em; font-size: 1rem; }
"""

"""Pure views of a run: the token canvas as HTML and the status line, from a `Trace` and a step index.

No torch, no Gradio: the same functions serve the live page, the replay slider, the HTML export and
the tests. Every piece of token text is escaped here before it becomes HTML, so a model that writes
`<script>` shows those characters.

The canvas: one chip per generated position, in reading order. Its `data-state` is `masked`, `new`
(committed in the step shown), `committed`, `remasked` (a committed token that a decoding rule sent back
to [MASK], or a uniform-noise model renoised, and that is not committed again yet) or `given` (text the
user gave around infill blanks). A uniform-noise model (DiffusionGemma) has no masks: its current block's
chips are `noise` (a random token, drawn faint and scrambled), `renoised` (accepted at the step before, noise
now), `accepted-new` (accepted in the step shown) or `accepted` (accepted earlier, still held; the rule may
renoise it), and a block is `new` then `committed` once the pipeline commits it; positions of blocks not
started yet are `masked` (no token drawn there yet).
States differ by shape as well as colour (masked chips are dashed grey,
remasked ones dashed red with a ↺ mark, new ones ringed; a token edited in place is ringed and marked ✎),
and committed chips are coloured by the probability they were committed with, on one continuous
colour-blind-safe scale (cividis). Hover or focus a chip for its card.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from llada_demo.engine.step import Step, Trace

# cividis (Nuñez et al. 2018), sampled: readable by people with colour-vision deficiency.
CIVIDIS = ((0.0, (0, 32, 77)), (0.25, (65, 77, 107)), (0.5, (124, 123, 120)), (0.75, (188, 175, 111)),
           (1.0, (255, 234, 70)))
EOS_SYMBOL, NEWLINE_SYMBOL, SPACE_SYMBOL = "∎", "↵", "␣"
REMASK_SYMBOL, EDIT_SYMBOL = "↺", "✎"


def colour(p: float) -> str:
    """The cividis colour of a probability in [0, 1], as #rrggbb."""
    p = min(1.0, max(0.0, p))
    for (x0, c0), (x1, c1) in zip(CIVIDIS, CIVIDIS[1:]):
        if p <= x1:
            f = (p - x0) / (x1 - x0)
            return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(c0, c1))
    return "#ffea46"


def ink(p: float) -> str:
    """Text colour that stays readable on colour(p)."""
    return "#000" if p >= 0.55 else "#fff"


@dataclass(frozen=True)
class Commit:
    step: int
    probability: float | None


def commits(steps: tuple[Step, ...], upto: int) -> dict[int, Commit]:
    """Position -> when and with what probability its current token was committed, over steps[0..upto].

    A position a rule remasked is dropped until it is committed again; an edited one (remasked and
    committed in the same step) holds its latest commit.
    """
    found: dict[int, Commit] = {}
    for step in steps[: upto + 1]:
        for pos in step.remasked:
            found.pop(pos, None)
        for pos in step.committed:
            prob = step.probability[pos] if step.probability else None
            found[pos] = Commit(step.index, prob)
    return found


@dataclass(frozen=True)
class Loss:
    """A committed token a rule took back: at which step, and which token it was."""

    step: int
    token: int


def losses(steps: tuple[Step, ...], upto: int) -> dict[int, Loss]:
    """Position -> its latest remasking (or edit) over steps[0..upto], for positions remasked at least once.

    The lost token is read from the step before the remasking, the last canvas that still held it.
    """
    found: dict[int, Loss] = {}
    for n, step in enumerate(steps[: upto + 1]):
        for pos in step.remasked:
            before = steps[n - 1].tokens[pos] if n else -1
            found[pos] = Loss(step.index, before)
    return found


def uniform_noise(trace: Trace) -> bool:
    """Whether the run diffuses by uniform noise (DiffusionGemma): its steps name accepted and noise positions."""
    return trace.settings.get("noise") == "uniform" or any(s.accepted or s.noise for s in trace.steps)


def uniform_state(step: Step, pos: int, noise: set, accepted: set) -> str | None:
    """The chip state of a position of a uniform-noise step's block, or None outside it (see the docstring)."""
    if pos in noise:
        return "renoised" if pos in step.remasked else "noise"
    if pos in accepted:
        return "accepted-new" if pos in step.committed else "accepted"
    return None


def acceptances(steps: tuple[Step, ...], upto: int) -> dict[int, Commit]:
    """Position -> the step and probability of its last acceptance over steps[0..upto] (uniform-noise runs):
    what a committed block's chips are coloured by, since the commit itself draws nothing."""
    found: dict[int, Commit] = {}
    for step in steps[: upto + 1]:
        for pos in step.committed:
            if pos in step.accepted:
                found[pos] = Commit(step.index, step.probability[pos] if step.probability else None)
    return found


def _uniform_card(step: Step, pos: int, state: str, text_of, held: Commit | None, lost: Loss | None) -> str:
    """The hover card of a chip of a uniform-noise block: what it holds, and the model's candidates there."""
    token = escape(token_label(text_of(step.tokens[pos])))
    if state == "noise":
        head = f"position {pos} · noise: a random token ({token}), not accepted"
    elif state == "renoised":
        head = f"position {pos} · renoised at step {step.index + 1}: noise again ({token})"
        if lost is not None and lost.token >= 0:
            head += f", it held {escape(token_label(text_of(lost.token)))}"
    else:
        when = "in this step" if state == "accepted-new" else f"at step {held.step + 1}" if held else "earlier"
        head = f"<b>{token}</b> · position {pos} · accepted {when}"
        if step.probability and step.probability[pos] is not None:
            head += f" (p = {step.probability[pos]:.1%})"
    if step.proposals and state in ("noise", "renoised") and step.probability and step.probability[pos] is not None:
        head += f" · the model drew {escape(token_label(text_of(step.proposals[pos])))} ({step.probability[pos]:.1%})"
    if step.entropy and step.entropy[pos] is not None:
        head += f" · entropy {step.entropy[pos]:.2f} nats"
    ids = step.top_ids[pos] if step.top_ids else ()
    probs = step.top_probs[pos] if step.top_probs else ()
    rows = "".join(f"<tr><td>{escape(token_label(text_of(i)))}</td><td>{p:.1%}</td></tr>" for i, p in zip(ids, probs))
    table = (f"<table><tr><th>top candidates at step {step.index + 1}</th><th></th></tr>{rows}</table>"
             if rows else "")
    return f'<span class="ld-card" role="tooltip">{head}{table}</span>'


def token_label(text: str) -> str:
    """What a chip shows for a token's text: visible symbols for whitespace, outer spaces trimmed."""
    if text == "":
        return "∅"
    if "\n" in text:
        return text.strip(" ").replace("\n", NEWLINE_SYMBOL) or NEWLINE_SYMBOL
    stripped = text.strip(" ")
    return stripped if stripped else SPACE_SYMBOL * len(text)


def _card(trace: Trace, step: Step, pos: int, commit: Commit | None, text_of, loss: Loss | None = None) -> str:
    """The hover card: the token, when and how surely it was committed, and the top candidates
    (at the step it was committed, or at the step shown while it is still masked)."""
    source = trace.steps[commit.step] if commit is not None else step
    ids = source.top_ids[pos] if source.top_ids else ()
    probs = source.top_probs[pos] if source.top_probs else ()
    rows = "".join(f"<tr><td>{escape(token_label(text_of(i)))}</td><td>{p:.1%}</td></tr>" for i, p in zip(ids, probs))
    if commit is not None:
        head = (f"<b>{escape(token_label(text_of(step.tokens[pos])))}</b> · position {pos} · committed at step "
                f"{commit.step + 1}" + (f" with p = {commit.probability:.1%}" if commit.probability is not None else ""))
    else:
        head = f"position {pos} · still masked"
        if loss is not None:
            head = f"position {pos} · remasked at step {loss.step + 1}"
            if loss.token >= 0 and loss.token != trace.mask_id:
                head += f" (it held {escape(token_label(text_of(loss.token)))})"
        if step.proposals and step.proposals[pos] >= 0 and step.probability and step.probability[pos] is not None:
            head += f" · guess {escape(token_label(text_of(step.proposals[pos])))} ({step.probability[pos]:.1%})"
    if commit is not None and loss is not None and loss.step == commit.step and loss.token not in (-1, trace.mask_id):
        head += f" · edited (it held {escape(token_label(text_of(loss.token)))})"
    table = (f"<table><tr><th>top candidates at step {source.index + 1}</th><th></th></tr>{rows}</table>"
             if rows else "")
    return f'<span class="ld-card" role="tooltip">{head}{table}</span>'


def canvas_html(trace: Trace, index: int, *, show_guesses: bool = True, cards: bool = True) -> str:
    """The canvas after step `index` of the trace (or the blank canvas before any step when index < 0).

    cards=False leaves out the hover cards (three quarters of the HTML), for exported replays.
    """
    steps = trace.steps
    total = int(trace.settings.get("steps", len(steps)))
    gen_length = int(trace.settings.get("gen_length", len(steps[0].tokens) if steps else 0))
    block_length = int(trace.settings.get("block_length", gen_length) or gen_length)
    eos = set(trace.special_ids.get("eos", ()))
    text_of = lambda i: trace.token_text.get(i, f"#{i}")  # noqa: E731
    if index < 0 or not steps:
        step, done, lost = None, {}, {}
    else:
        index = min(index, len(steps) - 1)
        step, done, lost = steps[index], commits(steps, index), losses(steps, index)
    new = set(step.committed) if step else set()
    active = step.block if step else 0
    uniform = uniform_noise(trace)
    noise, accepted = (set(step.noise), set(step.accepted)) if step else (set(), set())
    held = acceptances(steps, index) if uniform and step else {}
    chips = []  # (position, html) in reading order; separators and line breaks carry their position too
    end = stopped_at(trace, step)
    for pos in range(end):
        if pos and pos % block_length == 0:
            chips.append((pos, '<span class="ld-sep" aria-hidden="true"></span>'))
        token = step.tokens[pos] if step else trace.mask_id
        block_class = " ld-active" if block_length < gen_length and pos // block_length == active else ""
        state = uniform_state(step, pos, noise, accepted) if uniform and step else None
        if state is not None:  # a uniform-noise block: noise, renoised or accepted (no masks, no commits yet)
            commit, extra = None, ""
            label = EOS_SYMBOL if token in eos else token_label(text_of(token))
            if state.startswith("accepted"):
                p = step.probability[pos] if step.probability and step.probability[pos] is not None else 1.0
                style = f' style="background:{colour(p)};color:{ink(p)}"'
                body = escape(label)
            else:
                style, body = "", f'<span class="ld-scramble">{escape(label)}</span>'
            card = _uniform_card(step, pos, state, text_of, held.get(pos), lost.get(pos)) if cards else ""
            chips.append((pos, f'<span class="ld-chip ld-{state}{block_class}" data-state="{state}" data-pos="{pos}" '
                               f'tabindex="0"{style}>{body}{card}</span>'))
            continue
        if pos in done and token != trace.mask_id:
            commit = done[pos]
            if commit.probability is None and pos in held:  # a committed uniform-noise block: its last acceptance
                commit = held[pos]
            p = commit.probability if commit.probability is not None else 1.0
            state = "new" if pos in new else "committed"
            label = EOS_SYMBOL if token in eos else token_label(text_of(token))
            extra = " ld-eos" if token in eos else ""
            if pos in new and pos in step.remasked:  # edited in place: a committed token replaced by another
                extra += " ld-edited"
            style = f' style="background:{colour(p)};color:{ink(p)}"'
        elif token != trace.mask_id and token >= 0:  # given text around the blanks (infill)
            commit, state, extra, style = None, "given", "", ""
            label = EOS_SYMBOL if token in eos else token_label(text_of(token))
        else:
            commit, extra, style = None, "", ""
            state = "remasked" if pos in lost else "masked"  # a mask that once held a committed token
            label = ""
            if show_guesses and step and step.proposals and step.proposals[pos] >= 0:
                guess = step.proposals[pos]
                label = EOS_SYMBOL if guess in eos else token_label(text_of(guess))
            label = f'<span class="ld-guess">{escape(label)}</span>' if label else "&nbsp;"
        body = escape(label) if state not in ("masked", "remasked") else label
        card = _card(trace, step, pos, commit, text_of, lost.get(pos)) if cards and step and state != "given" else ""
        chips.append((pos, f'<span class="ld-chip ld-{state}{block_class}{extra}" data-state="{state}" data-pos="{pos}" '
                           f'tabindex="0"{style}>{body}{card}</span>'))
        if state not in ("masked", "remasked") and "\n" in text_of(token):
            chips.append((pos, '<span class="ld-br"></span>'))
    tokens = "".join(html for _, html in chips)
    run = eos_run(trace, step, done) if step else None
    if run is not None:  # a trailing run of end-of-text chips shows as one "∎ × n" chip that opens on hover/focus
        head = "".join(html for pos, html in chips if pos < run)
        tail = "".join(html for pos, html in chips if pos >= run)
        n = end - run
        tokens = (f'{head}<span class="ld-eos-run" tabindex="0" title="{n} end-of-text tokens: hover to show them">'
                  f'<span class="ld-chip ld-committed ld-eos ld-eos-count" style="background:#f3f4f6;color:#111827" aria-hidden="true">{EOS_SYMBOL} &times; {n}</span>'
                  f'<span class="ld-eos-chips">{tail}</span></span>')
    if end < gen_length:
        tokens += '<span class="ld-stopped">stopped at end-of-text</span>'
    shown = step.index + 1 if step else 0
    return (f'<div class="ld-canvas" data-step="{shown}" data-total="{total}">'
            f'<div class="ld-tokens">{tokens}</div>{legend_html(uniform)}</div>')


EOS_RUN = 4  # trailing end-of-text chips, from this many on, are drawn as one "∎ × n" chip


def stopped_at(trace: Trace, step: Step | None) -> int:
    """Where the canvas ends: after the end-of-text an autoregressive run stopped at, else gen_length.

    An AR decoder stops there (runs.compare), so the positions after it are never written; drawing them
    as masks would say they are still to come."""
    length = len(step.tokens) if step else int(trace.settings.get("gen_length", 0))
    if step is None or trace.sampler != "autoregressive":
        return length
    eos = set(trace.special_ids.get("eos", ()))
    return next((pos + 1 for pos, t in enumerate(step.tokens) if t in eos), length)


def eos_run(trace: Trace, step: Step, done: dict) -> int | None:
    """The first position of the canvas's trailing run of committed end-of-text tokens, if it is long.

    A short answer in a long canvas ends in dozens of ∎ chips; one chip that says how many keeps the text
    in view (issue 17: the first run should show words, not a row of end-of-text)."""
    eos = set(trace.special_ids.get("eos", ()))
    start = len(step.tokens)
    while start > 0 and step.tokens[start - 1] in eos and (start - 1) in done:
        start -= 1
    return start if len(step.tokens) - start >= EOS_RUN else None


def legend_html(uniform: bool = False) -> str:
    stops = ", ".join(f"{colour(x / 10)} {x * 10}%" for x in range(11))
    if uniform:  # a uniform-noise model (DiffusionGemma): no masks, tokens accepted and renoised
        scrambled = '<span class="ld-scramble">ab</span>'
        return (f'<div class="ld-legend"><span class="ld-chip ld-noise">{scrambled}</span> noise (a random token) '
                f'<span class="ld-chip ld-renoised">{scrambled}</span> renoised (accepted before, noise now) '
                '<span class="ld-chip ld-accepted-new" style="background:#ffea46;color:#000">new</span> accepted this '
                'step <span class="ld-chip ld-accepted" style="background:#bcaf6f;color:#000">old</span> accepted '
                'earlier <span class="ld-chip ld-committed" style="background:#ffea46;color:#000">ok</span> block committed '
                '<span class="ld-chip ld-masked">&nbsp;</span> block not started'
                f'<span class="ld-scale" style="background:linear-gradient(to right, {stops})"></span>'
                '<span class="ld-scale-labels"><span>0%</span><span>model probability when accepted</span>'
                '<span>100%</span></span></div>')
    # Legend chips carry classes, not data-state: data-state marks the canvas's token chips only.
    return ('<div class="ld-legend"><span class="ld-chip ld-masked">&nbsp;</span> masked '
            '<span class="ld-chip ld-remasked">&nbsp;</span> remasked (was committed) '
            '<span class="ld-chip ld-new" style="background:#ffea46;color:#000">new</span> committed this step '
            f'<span class="ld-scale" style="background:linear-gradient(to right, {stops})"></span>'
            '<span class="ld-scale-labels"><span>0%</span><span>model probability when committed</span><span>100%</span></span>'
            f' <span class="ld-chip ld-committed ld-eos" style="background:#ffea46;color:#000">{EOS_SYMBOL}</span> end of text'
            '</div>')


ADAPTIVE = (("threshold", "threshold τ"), ("entropy_bound", "entropy bound γ"), ("remdm_number", "ReMDM remasking"))


def status_text(trace: Trace, index: int) -> str:
    """Step i / N · block b / B · masks left · forward passes · tokens per pass · time · tokens/s."""
    if not trace.steps or index < 0:
        return "Ready."
    step = trace.steps[min(index, len(trace.steps) - 1)]
    total = int(trace.settings.get("steps", len(trace.steps)))
    gen_length = len(step.tokens)
    block_length = int(trace.settings.get("block_length", gen_length) or gen_length)
    blocks = max(1, gen_length // block_length)
    end = stopped_at(trace, step)
    masks = sum(1 for t in step.tokens[:end] if t == trace.mask_id)
    # Written by the model (not given text), net of what ReMDM took back: a token committed, remasked and
    # committed again counts once, so tokens per pass is what the rule really gained per forward pass.
    done = sum(len(s.committed) - len(s.remasked) for s in trace.steps[: step.index + 1])
    rate = done / step.elapsed if step.elapsed > 0 else 0.0
    left = "stopped at end-of-text" if end < gen_length else f"masks left {masks}"
    if uniform_noise(trace):  # no masks: what is left is the positions not accepted (noise or not drawn yet)
        finished = {s.block for s in trace.steps[: step.index + 1] if not (s.accepted or s.noise)}
        done = len(finished) * block_length + len(step.accepted)
        rate = done / step.elapsed if step.elapsed > 0 else 0.0
        left = f"positions not accepted {gen_length - done}"
    # A threshold or an entropy bound ends a block when it is full, ReMDM adds loop passes: `steps` is not
    # the number of passes then, so the status names the rule instead of "i / steps".
    rule = next((f"{name} {trace.settings[key]:g}" for key, name in ADAPTIVE if trace.settings.get(key) is not None),
                None)
    count = f"Step {step.index + 1}" + (f" ({rule})" if rule else f" / {total}")
    return (f"{count} · block {step.block + 1} / {blocks} · {left} · "
            f"forward passes {step.nfe} · {done / max(1, step.nfe):.2f} tokens per pass · "
            f"{step.elapsed:.2f} s · {rate:.1f} tokens/s")


CSS = """
.ld-canvas { font-size: 1.25rem; line-height: 1.4; }
.ld-tokens { display: flex; flex-wrap: wrap; gap: 6px 4px; align-items: center; padding: 8px 0; }
.ld-chip { position: relative; display: inline-block; min-width: 2.2em; padding: 2px 6px; border-radius: 6px;
  border: 2px solid transparent; text-align: center; white-space: pre; cursor: default; }
.ld-masked { background: #e5e7eb; color: #6b7280; border: 2px dashed #9ca3af; }
.ld-new { border: 3px solid #d9480f; box-shadow: 0 0 0 3px #ffd8a8; animation: ld-pop .6s ease-out; }
.ld-committed { border: 2px solid rgba(0,0,0,.15); }
.ld-remasked { background: #fff0f0; color: #862e2e; border: 2px dashed #c92a2a; }
.ld-remasked::after { content: "↺"; position: absolute; top: -0.55em; right: -0.35em; font-size: .75rem;
  color: #c92a2a; background: #fff; border-radius: 50%; line-height: 1; }
.ld-edited::after { content: "✎"; position: absolute; top: -0.55em; right: -0.35em; font-size: .75rem;
  color: #d9480f; background: #fff; border-radius: 50%; line-height: 1; }
.ld-eos-run { display: inline-flex; flex-wrap: wrap; gap: 6px 4px; }
.ld-eos-run .ld-eos-chips { display: none; }
.ld-eos-run:hover .ld-eos-chips, .ld-eos-run:focus-within .ld-eos-chips { display: contents; }
.ld-eos-run:hover .ld-eos-count, .ld-eos-run:focus-within .ld-eos-count { display: none; }
.ld-stopped { align-self: center; font-size: .85rem; color: #6b7280; font-style: italic; padding: 0 6px; }
.ld-given { background: transparent; border: 2px solid transparent; color: inherit; min-width: 0; padding: 2px 2px; }
.ld-masked.ld-active { border-color: #3b5bdb; }
.ld-noise { background: #f8f9fa; color: #adb5bd; border: 2px dotted #ced4da; }
.ld-renoised { background: #fff5f5; color: #e03131; border: 2px dotted #c92a2a; }
.ld-renoised::after { content: "↺"; position: absolute; top: -0.55em; right: -0.35em; font-size: .75rem;
  color: #c92a2a; background: #fff; border-radius: 50%; line-height: 1; }
.ld-scramble { display: inline-block; opacity: .6; filter: blur(.6px); transform: skewX(-14deg) rotate(-3deg); }
.ld-accepted-new { border: 3px solid #d9480f; box-shadow: 0 0 0 3px #ffd8a8; animation: ld-pop .6s ease-out; }
.ld-accepted { border: 2px dashed rgba(0,0,0,.45); }
.ld-chip.ld-eos { opacity: .55; }
.ld-guess { font-style: italic; opacity: .75; }
.ld-sep { width: 3px; align-self: stretch; background: #3b5bdb; margin: 0 6px; border-radius: 2px; }
.ld-br { flex-basis: 100%; height: 0; }
.ld-card { display: none; position: absolute; z-index: 20; left: 0; top: 110%; min-width: 14em; padding: 8px 10px;
  background: #111827; color: #f9fafb; border-radius: 8px; font-size: .85rem; text-align: left; white-space: normal;
  font-style: normal; box-shadow: 0 4px 16px rgba(0,0,0,.3); }
.ld-card table { width: 100%; margin-top: 4px; border-collapse: collapse; }
.ld-card td, .ld-card th { padding: 1px 4px; font-weight: normal; white-space: pre; color: inherit;
  background: transparent; border: none; font-size: .85rem; }
.ld-card td:last-child { text-align: right; }
.ld-chip:hover .ld-card, .ld-chip:focus .ld-card { display: block; }
.ld-chip:hover, .ld-chip:focus { z-index: 30; }
.ld-card b { color: inherit; }
.ld-card, .ld-card * { color: #f9fafb !important; }  /* over the host page's table and prose colours */
.ld-legend { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; font-size: .9rem; margin-top: 8px; }
.ld-legend .ld-chip { min-width: 1.5em; font-size: .8rem; }
.ld-scale { display: inline-block; width: 180px; height: 14px; border-radius: 3px; margin-left: 10px; }
.ld-scale-labels { display: inline-flex; gap: 6px; font-size: .8rem; }
@keyframes ld-pop { from { transform: scale(1.25); } to { transform: scale(1); } }
"""

"""The conversation box of instruct models: each message is one reverse process on the canvas.

With an instruct model (LLaDA-8B-Instruct, LLaDA-MoE, a ModernBERT chat model) the Denoise tab keeps a
conversation. A message is sent with the earlier turns through the model's chat template (`text.py`),
the canvas animates the reply being unmasked exactly as for a single prompt, and when the run ends the
reply, read off the last step up to the end-of-turn token, joins the conversation. The conversation is
the Chatbot's own value (a list of {"role", "content"} messages), so each visitor has their own.

What it is not: no model code (the backend's `denoise` takes `history=`), no layout (see `ui.py`).
"""

from __future__ import annotations

import dataclasses
import functools
from html import escape, unescape
from typing import Iterator

from llada_demo.web import views
from llada_demo.engine.step import Trace

WRITING = "…"  # the reply's placeholder while the canvas is still being unmasked


def content_text(content) -> str:
    """A Chatbot message's text (Gradio may hand back a string or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", content.get("value", "")))
    if isinstance(content, (list, tuple)):
        return "".join(content_text(part) for part in content)
    return ""


def turns(messages) -> tuple[tuple[str, str], ...]:
    """(user, assistant) pairs from the Chatbot's messages; an unanswered user turn is dropped."""
    if messages is not None and not isinstance(messages, (list, tuple)):
        raise ValueError("The conversation must be a list of messages; press New conversation to start again.")
    pairs, user = [], None
    for message in messages or ():
        if not isinstance(message, dict):
            continue
        role, text = message.get("role"), content_text(message.get("content"))
        if role == "user":
            user = text
        elif role == "assistant" and user is not None:
            pairs.append((user, text))
            user = None
    return tuple(pairs)


def reply_text(trace: Trace) -> str:
    """The reply on the last step: the token texts up to the first end-of-text/turn, masks left out."""
    if not trace.steps:
        return ""
    ends = set(trace.special_ids.get("eos", ()))
    words = []
    for token in trace.steps[-1].tokens:
        if token in ends:
            break
        if token != trace.mask_id:
            words.append(trace.token_text.get(token, ""))
    return "".join(words).strip()


def conversation(messages, message: str, reply: str) -> list[dict]:
    """The messages with this turn appended; texts escaped, as the Chatbot renders markdown and HTML."""
    shown = [{"role": m.get("role"), "content": content_text(m.get("content"))} for m in messages or ()
             if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
    return shown + [{"role": "user", "content": escape(message)}, {"role": "assistant", "content": reply}]


def chat_frames(backend: views.Backend, messages, message, *settings) -> Iterator[tuple]:
    """The Denoise tab's frames for one message (see `views.denoise_frames`), plus the conversation.

    settings: the Denoise tab's inputs after the prompt, passed on unchanged. Earlier turns go to the
    model through its chat template; the conversation shows the reply once the run has ended.
    """
    # The conversation as the model reads it: the texts shown were escaped for display.
    try:
        history = tuple((unescape(u), unescape(a)) for u, a in turns(messages))
    except ValueError as err:
        raise views.error(err) from None
    replying = dataclasses.replace(backend, denoise=functools.partial(backend.denoise, history=history))
    frame = None
    for frame in views.denoise_frames(replying, message, *settings):
        yield (*frame, conversation(messages, str(message), WRITING))
    if frame is not None:
        # The last frame again, now with the reply: unchanged values cost nothing (Gradio sends what changed),
        # and no gr.skip() on the plots (see views.PLOT_EVERY_S).
        yield (*frame, conversation(messages, str(message), escape(reply_text(frame[3]))))

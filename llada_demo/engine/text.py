"""Between words and ids: prompts to ids (chat template or plain text) and ids to display text.

The samplers see only ids; the page and the traces see only text. This module is the one place that
crosses, through a Hugging Face tokenizer. What it is not: no rendering (see `render.py`), no loading.
"""

from __future__ import annotations

from typing import Iterable


def prompt_ids(tokenizer, prompt: str, chat: bool, history: tuple[tuple[str, str], ...] = ()) -> list[int]:
    """Token ids of the prompt: with the model's chat template for instruct models, else plain text.

    history: earlier (user, assistant) turns of a conversation, for instruct models.
    """
    if not prompt.strip():
        raise ValueError("The prompt is empty; type a few words for the model to continue.")
    if chat:
        messages = [m for user, reply in history for m in ({"role": "user", "content": user},
                                                             {"role": "assistant", "content": reply})]
        messages.append({"role": "user", "content": prompt})
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
    return tokenizer.encode(prompt, add_special_tokens=False)


def display_texts(tokenizer, ids: Iterable[int]) -> dict[int, str]:
    """id -> the text that token contributes (leading space included), for every non-negative id.

    Each token is decoded after a reference token and the reference's text cut off: decoded alone, a
    SentencePiece-style "▁word" loses its space (the decoder drops a leading one), and joined texts
    then run together ("Linin.Vasa'sneighbour").
    """
    ref = tokenizer.encode("a", add_special_tokens=False)
    lead = tokenizer.decode(ref, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    texts = {}
    for i in {i for i in ids if i >= 0}:
        both = tokenizer.decode(ref + [i], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        texts[i] = (both[len(lead):] if both.startswith(lead) else
                    tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False))
    return texts


def answer_text(tokenizer, tokens: Iterable[int], mask_id: int, eos_ids: Iterable[int]) -> str:
    """The generated text: up to the first end-of-text, masks left out."""
    ends = set(eos_ids)
    kept = []
    for i in tokens:
        if i in ends:
            break
        if i != mask_id and i >= 0:
            kept.append(i)
    return tokenizer.decode(kept, skip_special_tokens=True, clean_up_tokenization_spaces=False)

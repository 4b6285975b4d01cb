"""A grammar that recognises exactly the tiny world's sentence templates (over the same word classes), used
to score how grammatical a model's generations are.

What it is not: a general English grammar (a good English sentence outside the templates is "ungrammatical"
here), or a check of meaning (it does not know who is whose mother).
"""

from __future__ import annotations

import functools
import re

from llada_demo.tinyworld.lexicon import ALL_TEMPLATES, slot_class, split_words, word_classes
from llada_demo.tinyworld.world import World, build_world


# ---------------------------------------------------------------------------
# Grammar
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _template_patterns(names: tuple[str, ...]) -> re.Pattern:
    """All templates compiled into one regex over space-joined tokens.

    Each slot becomes an alternation of its class's phrases and each literal
    token matches itself, so the regex accepts exactly the token sequences
    some template can produce.
    """
    classes = word_classes(names)

    def slot(tok: str) -> str:
        cls = slot_class(tok)
        if cls is None:
            return re.escape(tok)
        phrases = sorted(classes[cls], key=len, reverse=True)
        return "(?:" + "|".join(re.escape(p) for p in phrases) + ")"

    templates = ["(?:" + " ".join(slot(t) for t in tpl.split()) + ")"
                 for tpl in ALL_TEMPLATES]
    return re.compile("|".join(templates))


@functools.lru_cache(maxsize=1)
def _default_world() -> World:
    return build_world(0)


def is_grammatical(sentence: str, world: World | None = None) -> bool:
    """True iff ``sentence`` is one the generator of ``world`` (default: seed 0)
    can produce: its tokens match one of the templates (same word classes),
    articles agree ("a cat", "an owl"), no word is immediately repeated and no
    person is named twice.  Couplet lines count as sentences.  Whitespace is
    not checked (tokens are compared).  Cross-sentence consistency (pronouns,
    who is whose teacher) is not checked.
    """
    names = (world or _default_world()).names
    tokens = split_words(sentence.strip())
    if not tokens or "\n" in tokens:
        return False
    lower = [t.lower() for t in tokens]
    if any(x == y for x, y in zip(lower, lower[1:])):
        return False
    named = [t for t in tokens if t in names]
    if len(named) != len(set(named)):
        return False
    for art, nxt in zip(lower, lower[1:]):
        if art in ("a", "an") and art != ("an" if nxt[0] in "aeiou" else "a"):
            return False
    return _template_patterns(names).fullmatch(" ".join(tokens)) is not None

"""The "tiny world" corpus that the demo's two small models are trained on.

What it is
----------
A deterministic, self-contained generator of simple English text about an
invented world: about a hundred people with invented names, a fixed gender
each, and directed relations between them (mother, teacher, friend, ...).
Everything comes from fixed word lists plus ``random.Random`` streams derived
from one integer seed, so ``build_world(0)`` is the same on every machine.

It produces three kinds of training documents:

* short stories (3-6 sentences) with one hero, one friend, one object, one
  animal and a few places, referred to consistently (pronouns follow the
  hero's gender);
* facts, forward ("Mira's teacher is Tobin.") and reverse
  ("Tobin is the teacher of Mira."), alone or as lists of 2-4 facts;
* two-line rhyming couplets.

and the evaluation items that go with them: held-out facts (trained only in
forward form: the reversal-curse experiment of the LLaDA paper), held-out
couplets (trained only in forward order), story prompts and infill items taken
from stories that are not in the training documents.

It also contains a grammar, ``is_grammatical``, that recognises exactly the
sentence templates used by the generator (over the same word classes), used to
score how grammatical a model's generations are.

Where it lives
--------------
The words and templates are in ``lexicon.py``, the world (people, facts, couplets) in ``world.py``, the
stories in ``stories.py``, the evaluation items in ``heldout.py`` and the grammar in ``grammar.py``; this
module mixes the training documents, writes the corpus, and re-exports those modules' names, so
``corpus.build_world`` and the like keep working.

What it is not
--------------
Not a natural-language corpus, not a general English grammar (a perfectly good
English sentence outside the templates is "ungrammatical" here), and not a
check of meaning: the grammar does not know who is whose mother or whether a
pronoun refers to the right character.  No torch, no third-party imports.

Text conventions (shared with ``llada_demo.tinyworld.tokenizer`` and the grammar)
-----------------------------------------------------------------------
* Every word is ASCII letters only; there are no digits, no hyphens and no
  contractions ("did not", never "didn't").
* Words are separated by exactly one space.
* ``,`` ``.`` and the possessive ``'s`` attach to the word before them with no
  space: ``"One day, Mira went to the market."``, ``"Mira's teacher is Tobin."``.
  They are separate tokens for the tokenizer and for the grammar.
* Sentences inside one document are separated by exactly one space.
* A couplet is two lines joined by a single ``"\\n"`` with no space on either
  side; line 1 ends with ``","`` and line 2 with ``"."``.  Line 2 starts with a
  lower-case word ("and", "then").
* Documents have no leading or trailing whitespace.
* ``InfillItem``: the full sentence is exactly ``f"{left} {answer} {right}"``
  (the answer is 1-3 words; ``right`` starts with a word, never punctuation).
"""

from __future__ import annotations

import argparse
import functools
import json
import random

from llada_demo.tinyworld.lexicon import (  # noqa: F401  (re-exported: corpus.X callers)
    ADJECTIVES, ALL_TEMPLATES, ANIMALS, ANIMAL_ADJECTIVES, ANIMAL_VERBS, AT_VERBS, BASE_VERBS, COLOURS,
    COUPLET_LINE1, COUPLET_LINE2, FACT_FORWARD, FACT_REVERSE, FEELINGS, GO_VERBS, NO_SPACE_BEFORE, OBJECTS,
    PAST_VERBS, PLACES, PREPOSITIONS, RELATIONS, RHYMES, RHYME_GROUPS, SOCIAL_VERBS, STORY_ENDINGS,
    STORY_MIDDLES, STORY_OPENERS, TIMES, TOGETHER_VERBS, fill, render, slot_class, split_sentences, split_words,
    word_classes,
)
from llada_demo.tinyworld.world import (  # noqa: F401  (re-exported: corpus.X callers)
    Couplet, ENGLISH_LOOKALIKES, FACTS_PER_RELATION, Fact, N_COUPLETS, N_HELD_OUT_COUPLETS, N_HELD_OUT_FACTS,
    N_PEOPLE, Person, World, build_world, forward_sentence, reverse_sentence, stream_rng,
)
from llada_demo.tinyworld.stories import (  # noqa: F401  (re-exported: corpus.X callers)
    FUNCTION_WORDS, N_HELD_OUT_STORIES, N_TRAINING_STORIES, held_out_stories, infill_sentence, infill_spans,
    reserved_sentences, write_story,
)
from llada_demo.tinyworld.heldout import (  # noqa: F401  (re-exported: corpus.X callers)
    CoupletItem, FactItem, InfillItem, StoryPrompt, example_prompts, held_out_couplets, held_out_facts,
    infill_items, story_prompts,
)
from llada_demo.tinyworld.grammar import (  # noqa: F401  (re-exported: corpus.X callers)
    is_grammatical,
)

# ---------------------------------------------------------------------------
# Training documents
# ---------------------------------------------------------------------------

FACT_SINGLE_REPEATS = 4   # each fact sentence this many times on its own ...
FACT_LIST_REPEATS = 4     # ... and this many times inside fact lists
COUPLET_REPEATS = 4


def _fact_documents(world: World, rng: random.Random) -> list[str]:
    sentences = [forward_sentence(f) for f in world.facts]
    sentences += [reverse_sentence(f) for f in world.facts if not f.held_out]
    docs = sentences * FACT_SINGLE_REPEATS
    for _ in range(FACT_LIST_REPEATS):
        order = rng.sample(sentences, len(sentences))
        while order:
            k = rng.randint(2, 4)
            docs.append(" ".join(order[:k]))
            order = order[k:]
    return docs


def _couplet_documents(world: World) -> list[str]:
    docs = []
    for c in world.couplets:
        docs += [c.text] * COUPLET_REPEATS
        if not c.held_out:
            docs += [f"{c.line2}\n{c.line1}"] * COUPLET_REPEATS
    return docs


def _story_documents(world: World, rng: random.Random) -> list[str]:
    reserved = reserved_sentences(world)
    docs: list[str] = []
    while len(docs) < N_TRAINING_STORIES:
        story = write_story(world, rng)
        if not reserved.intersection(story):
            docs.append(" ".join(story))
    return docs


@functools.lru_cache(maxsize=4)
def _training_documents(world: World) -> tuple[str, ...]:
    rng = stream_rng(world.seed, "training documents")
    docs = _story_documents(world, rng) + _fact_documents(world, rng) + _couplet_documents(world)
    rng.shuffle(docs)
    return tuple(docs)


def training_documents(world: World) -> list[str]:
    """Every training document (story, fact or fact list, couplet), shuffled.

    Held-out facts appear only in forward form, held-out couplets only in
    forward order; every other fact appears in both forms and every other
    couplet in both orders ("line2\\nline1" as well).  No story prompt or
    infill sentence appears.
    """
    return list(_training_documents(world))
# ---------------------------------------------------------------------------
# Writing the corpus
# ---------------------------------------------------------------------------

def write_corpus(path: str, seed: int = 0) -> list[str]:
    """Write the training documents, one JSON string per line; return them."""
    docs = training_documents(build_world(seed))
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc) + "\n")
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output .jsonl file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    docs = write_corpus(args.out, args.seed)
    world = build_world(args.seed)
    lengths = [len(split_words(d)) for d in docs]
    vocab = {t for d in docs for t in split_words(d)}
    print(f"documents:          {len(docs)}")
    print(f"word-level tokens:  {sum(lengths)} (mean {sum(lengths) / len(docs):.1f}, max {max(lengths)})")
    print(f"vocabulary:         {len(vocab)} distinct tokens "
          f"({len({t for t in vocab if t.isalpha()})} words)")
    print(f"people / facts:     {len(world.people)} / {len(world.facts)}")
    print(f"held-out facts:     {len(held_out_facts(world))}")
    print(f"held-out couplets:  {len(held_out_couplets(world))} of {len(world.couplets)}")
    print(f"story prompts:      {len(story_prompts(world))}")
    print(f"infill items:       {len(infill_items(world))}")


if __name__ == "__main__":
    main()

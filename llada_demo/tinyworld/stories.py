"""The tiny world's short stories (3-6 sentences about one hero, a friend, an object, an animal and a few
places), the held-out ones, and the infill sentences cut from them.

What it is not: no training mix (corpus.py), no evaluation records (heldout.py).
"""

from __future__ import annotations

import functools
import random

from llada_demo.tinyworld.lexicon import (
    ADJECTIVES, ANIMALS, ANIMAL_ADJECTIVES, ANIMAL_VERBS, AT_VERBS, BASE_VERBS, COLOURS, FEELINGS, GO_VERBS,
    OBJECTS, PAST_VERBS, PLACES, SOCIAL_VERBS, STORY_ENDINGS, STORY_MIDDLES, STORY_OPENERS, TIMES,
    TOGETHER_VERBS, fill, split_words,
)
from llada_demo.tinyworld.world import World, stream_rng


# ---------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------

def write_story(world: World, rng: random.Random) -> list[str]:
    """One story as a list of 3-6 sentences about one hero, one friend, one
    object, one animal and a few places."""
    hero, friend = rng.sample(world.people, 2)
    she = hero.gender == "f"
    obj, colour, animal = rng.choice(OBJECTS), rng.choice(COLOURS), rng.choice(ANIMALS)
    place, place2 = rng.sample(PLACES, 2)

    def subj(capital: bool = True) -> str:  # the hero, by name or pronoun
        if rng.random() < 0.35:
            return hero.name
        pronoun = "she" if she else "he"
        return pronoun.capitalize() if capital else pronoun

    common = dict(NAME=hero.name, NAME2=friend.name, PLACE=place, OBJECT=obj,
                  COLOUR=colour, ANIMAL=animal)
    opener = rng.choice(tuple(STORY_OPENERS))
    sentences = [fill(STORY_OPENERS[opener], TIME=rng.choice(TIMES),
                      GO=rng.choice(GO_VERBS), MOOD=rng.choice(ANIMAL_ADJECTIVES), **common)]
    animal_known = opener == "lived"
    n_more = rng.randint(2, 5)
    for key in rng.sample(tuple(STORY_MIDDLES), len(STORY_MIDDLES)):
        if len(sentences) > n_more:
            break
        if key in ("animal", "looked") and not animal_known:
            continue
        animal_known = animal_known or key == "saw"
        values = dict(common, SUBJ=subj(), GO=rng.choice(GO_VERBS),
                      PAST=rng.choice(PAST_VERBS), ADJ=rng.choice(ADJECTIVES),
                      MOOD=rng.choice(ANIMAL_ADJECTIVES),
                      FEELING=rng.choice(FEELINGS), AVERB=rng.choice(ANIMAL_VERBS),
                      SOCIAL=rng.choice(SOCIAL_VERBS), OBJ="her" if she else "him",
                      POSS="Her" if she else "His", TOGETHER=rng.choice(TOGETHER_VERBS),
                      AT=rng.choice(AT_VERBS), BASE=rng.choice(BASE_VERBS))
        if key == "go":
            values["PLACE"] = place2
        sentences.append(fill(STORY_MIDDLES[key], **values))
    if rng.random() < 0.6:
        ending = STORY_ENDINGS[rng.choice(tuple(STORY_ENDINGS))]
        if len(sentences) == 6:
            sentences.pop()  # at most 6 sentences in all
        sentences.append(fill(ending, subj=subj(capital=False), FEELING=rng.choice(FEELINGS),
                              GO=rng.choice(GO_VERBS), PLACE=place2))
    return sentences


N_HELD_OUT_STORIES = 400  # first half: story prompts, second half: infill
N_TRAINING_STORIES = 32000


@functools.lru_cache(maxsize=4)
def held_out_stories(world: World) -> tuple[tuple[str, ...], ...]:
    rng = stream_rng(world.seed, "held-out stories")
    return tuple(tuple(write_story(world, rng)) for _ in range(N_HELD_OUT_STORIES))


FUNCTION_WORDS = frozenset("the a an to and of in at near with was very did not by is".split())


def infill_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, length) of every 1-3 word span that is not the first token, is
    followed by a word and holds at least one content word."""
    is_word = [t.isalpha() for t in tokens]
    return [(i, n) for n in (1, 2, 3) for i in range(1, len(tokens) - n)
            if all(is_word[i:i + n + 1])
            and not FUNCTION_WORDS.issuperset(t.lower() for t in tokens[i:i + n])]


def infill_sentence(story: tuple[str, ...]) -> str:
    """The story's longest sentence (the most distinctive one)."""
    return max(story, key=lambda s: (len(split_words(s)), s))


def reserved_sentences(world: World) -> set[str]:
    """Sentences that must never occur in training: the first sentence of each
    story prompt and each infill sentence."""
    stories = held_out_stories(world)
    half = N_HELD_OUT_STORIES // 2
    return ({s[0] for s in stories[:half]} | {infill_sentence(s) for s in stories[half:]})

"""The evaluation items that go with the tiny world: held-out facts (trained only forwards: the reversal
curse of the LLaDA paper), held-out couplets (trained only in order), story prompts and infill items from
stories that are not in the training documents, and the page's example prompts.

What it is not: no scoring (evaluate.py), no training documents (corpus.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from llada_demo.tinyworld.lexicon import render, split_words
from llada_demo.tinyworld.stories import N_HELD_OUT_STORIES, held_out_stories, infill_sentence, infill_spans
from llada_demo.tinyworld.world import World, forward_sentence, reverse_sentence, stream_rng


# ---------------------------------------------------------------------------
# Evaluation items
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FactItem:
    a: str
    relation: str
    b: str
    forward_prompt: str     # "Mira's teacher is"
    forward_answer: str     # "Tobin"
    reverse_prompt: str     # "Tobin is the teacher of"
    reverse_answer: str     # "Mira"
    masked_template: str    # "{}'s teacher is Tobin."
    candidates: tuple[str, ...]  # every person's name


@dataclass(frozen=True)
class CoupletItem:
    line1: str
    line2: str
    candidates: tuple[str, ...]  # line 1 of every held-out couplet


@dataclass(frozen=True)
class StoryPrompt:
    text: str


@dataclass(frozen=True)
class InfillItem:
    left: str    # the sentence is f"{left} {answer} {right}"
    answer: str  # 1-3 words
    right: str


def held_out_facts(world: World) -> list[FactItem]:
    """Facts trained only as "A's R is B."; ask "B is the R of" -> A."""
    items = []
    for f in world.facts:
        if f.held_out:
            forward = forward_sentence(f)
            reverse = reverse_sentence(f)
            items.append(FactItem(
                a=f.a, relation=f.relation, b=f.b,
                forward_prompt=forward.rsplit(" ", 1)[0], forward_answer=f.b,
                reverse_prompt=reverse.rsplit(" ", 1)[0], reverse_answer=f.a,
                masked_template="{}" + forward[len(f.a):], candidates=world.names))
    return items


def held_out_couplets(world: World) -> list[CoupletItem]:
    """Couplets trained only in forward order; ask for line 1 given line 2."""
    held = [c for c in world.couplets if c.held_out]
    candidates = tuple(c.line1 for c in held)
    return [CoupletItem(c.line1, c.line2, candidates) for c in held]


def story_prompts(world: World) -> list[StoryPrompt]:
    """First one or two sentences of held-out stories (alternating)."""
    stories = held_out_stories(world)[:N_HELD_OUT_STORIES // 2]
    return [StoryPrompt(" ".join(s[:1 + i % 2])) for i, s in enumerate(stories)]


def infill_items(world: World) -> list[InfillItem]:
    """One held-out sentence per held-out story with a 1-3 word span to fill.

    The span never includes the first token, contains at least one content
    word and is always followed by a word, so ``f"{left} {answer} {right}"``
    is the sentence.
    """
    rng = stream_rng(world.seed, "infill")
    items = []
    for story in held_out_stories(world)[N_HELD_OUT_STORIES // 2:]:
        tokens = split_words(infill_sentence(story))
        i, n = rng.choice(infill_spans(tokens))
        items.append(InfillItem(render(tokens[:i]), render(tokens[i:i + n]),
                                render(tokens[i + n:])))
    return items


def example_prompts(world: World) -> list[str]:
    """A few prompts for the web page: story starts, fact questions (forward
    and reverse, held-out and not) and couplet starts."""
    stories = story_prompts(world)
    held = held_out_facts(world)
    trained_both = next(f for f in world.facts if not f.held_out)
    couplets = [c for c in world.couplets if not c.held_out]
    return [
        stories[0].text, stories[1].text, stories[2].text,
        held[0].forward_prompt, held[0].reverse_prompt,
        reverse_sentence(trained_both).rsplit(" ", 1)[0],
        couplets[0].line1 + "\n", held_out_couplets(world)[0].line1 + "\n",
    ]

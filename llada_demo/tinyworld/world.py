"""The tiny world itself: its invented people, the relations between them (facts) and its couplets,
built from one integer seed; and a fact as a sentence, forwards and reversed.

What it is not: no stories (stories.py), no training documents (corpus.py), no evaluation items (heldout.py).
"""

from __future__ import annotations

from dataclasses import dataclass
import random

from llada_demo.tinyworld.lexicon import (
    ADJECTIVES, ANIMALS, ANIMAL_ADJECTIVES, ANIMAL_VERBS, COLOURS, COUPLET_LINE1, COUPLET_LINE2, FACT_FORWARD,
    FACT_REVERSE, GO_VERBS, OBJECTS, PAST_VERBS, PREPOSITIONS, RELATIONS, RHYME_GROUPS, fill, word_classes,
)


# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    name: str
    gender: str  # "f" or "m"


@dataclass(frozen=True)
class Fact:
    """``b`` is ``a``'s ``relation``: "{a}'s {relation} is {b}."."""
    a: str
    relation: str
    b: str
    held_out: bool  # True: only the forward form is in the training documents


@dataclass(frozen=True)
class Couplet:
    line1: str  # ends with ","
    line2: str  # ends with "."
    held_out: bool  # True: never in reverse order in the training documents

    @property
    def text(self) -> str:
        return f"{self.line1}\n{self.line2}"


@dataclass(frozen=True)
class World:
    """People (fixed names and genders), facts between them and couplets.

    Stories are not stored: ``training_documents`` and the item functions
    generate them from ``seed``.
    """
    seed: int
    people: tuple[Person, ...]
    facts: tuple[Fact, ...]
    couplets: tuple[Couplet, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.people)

    def gender(self, name: str) -> str:
        return next(p.gender for p in self.people if p.name == name)


N_PEOPLE = 100
# Sized to what the tiny masked-diffusion model memorises in about an hour on one CPU thread: it learns a
# fact only after a few hundred views (bench/fact_recall.py), several times more than its next-token twin
# needs, so the world keeps 120 facts (8 relations x 15) and 200 couplets rather than 480 and 700.
FACTS_PER_RELATION = 15
N_HELD_OUT_FACTS = 60
N_COUPLETS = 200
N_HELD_OUT_COUPLETS = 50


def stream_rng(seed: int, stream: str) -> random.Random:
    """An independent, reproducible random stream per part of the corpus."""
    return random.Random(f"{seed}:{stream}")


# Real English words that the name shapes below can spell; never used as names.
ENGLISH_LOOKALIKES = frozenset("""
    ball bell bill boll bull dell dill doll dull fall fell fill full gall gill
    gull hall hell hill hull jill kill lull mall mill moll null pall pill poll
    pull rill roll sell sill still stall tell till toll tall wall well will
    brill drill frill grill krill spill trill troll shall shell inn finn penn
    helm palm balm film holm box fox mix six wax tax fix lax max rex sex tux
    lux pox vex hex flax flex nix fax sax sox lox jinx
    soda sofa tuna lava menu data polo solo memo hero tofu tutu kilo diva mama
    papa dodo judo sumo halo lima puma toga pita saga gala nana dada tuba luna
    hula mojo dojo bolo nova mona tina gaga kudo java tuna vino
    robin lemon melon salon wagon baron tenor motor rumor humor tumor manor
    minor donor vapor solar polar lunar sonar radar molar valor human satin
    bison mason felon talon demon lumen semen banal renal penal tonal mural
    rural moral viral sisal divan sedan libel rebel label pedal medal metal
    total rival modal nasal fatal natal tidal vital basil nadir tapir lemur
    femur sober tutor mover lover rover diver liver river fever lever never
    sever timer later hater water miner diner loser laser
""".split())


def _invent_names(rng: random.Random, n: int) -> list[str]:
    """Pronounceable invented one-token names like "Mira", "Tobin", "Pell"."""
    onsets = "b d f g h j k l m n p r s t v w z br dr fl gr kr pr tr st sh".split()
    inner = "b d l m n r s t v k".split()
    vowels, final_vowels = "aeiou", "aiou"
    taken = ENGLISH_LOOKALIKES | {w.lower() for cls in word_classes(()).values()
                                  for p in cls for w in p.split()}
    names: list[str] = []
    while len(names) < n:
        shape = rng.choice(("CVCV", "CVCVC", "CVCC"))
        name = rng.choice(onsets) + rng.choice(vowels)
        if shape == "CVCC":
            name += rng.choice(("ll", "nn", "lm", "x"))
        else:
            name += rng.choice(inner) + rng.choice(final_vowels)
            if shape == "CVCVC":
                name += rng.choice("nlr")
        name = name.capitalize()
        if 3 <= len(name) <= 6 and name.lower() not in taken and name not in names:
            names.append(name)
    return names


def _relation_facts(rng: random.Random, people: list[Person]) -> list[tuple[str, str, str]]:
    """Per relation, a partial one-to-one map A -> B (so B -> A is unique too),
    without self-loops or two-cycles; mothers are female, fathers male."""
    facts: list[tuple[str, str, str]] = []
    for rel in RELATIONS:
        wanted = {"mother": "f", "father": "m"}.get(rel)
        pool = [p.name for p in people if wanted in (None, p.gender)]
        rng.shuffle(pool)
        subjects = rng.sample([p.name for p in people], FACTS_PER_RELATION)
        pairs: set[tuple[str, str]] = set()
        for a in subjects:
            b = next((b for b in pool if b != a and (b, a) not in pairs), None)
            if b is not None:
                pool.remove(b)
                pairs.add((a, b))
                facts.append((a, rel, b))
    return facts


def _couplet_line(rng: random.Random, template: str, rhyme: str, names) -> str:
    return fill(template, RHYME=rhyme, ANIMAL=rng.choice(ANIMALS),
                AVERB=rng.choice(ANIMAL_VERBS), PREP=rng.choice(PREPOSITIONS),
                ADJ=rng.choice(ADJECTIVES), MOOD=rng.choice(ANIMAL_ADJECTIVES),
                GO=rng.choice(GO_VERBS),
                NAME=rng.choice(names), PAST=rng.choice(PAST_VERBS),
                COLOUR=rng.choice(COLOURS), OBJECT=rng.choice(OBJECTS))


def _couplets(rng: random.Random, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Rhyming couplets with every line 1 unique and every line 2 unique."""
    seen: set[str] = set()
    couplets: list[tuple[str, str]] = []
    while len(couplets) < N_COUPLETS:
        w1, w2 = rng.sample(rng.choice(RHYME_GROUPS), 2)
        line1 = _couplet_line(rng, rng.choice(COUPLET_LINE1), w1, names)
        line2 = _couplet_line(rng, rng.choice(COUPLET_LINE2), w2, names)
        if line1 not in seen and line2 not in seen:
            seen.update((line1, line2))
            couplets.append((line1, line2))
    return couplets


def build_world(seed: int = 0) -> World:
    """The people, their relations and the couplets, all fixed by ``seed``."""
    rng = stream_rng(seed, "world")
    names = _invent_names(rng, N_PEOPLE)
    genders = ["f", "m"] * (N_PEOPLE // 2) + ["f"] * (N_PEOPLE % 2)
    rng.shuffle(genders)
    people = [Person(n, g) for n, g in zip(names, genders)]
    raw_facts = _relation_facts(rng, people)
    held = set(rng.sample(range(len(raw_facts)), N_HELD_OUT_FACTS))
    facts = tuple(Fact(a, r, b, i in held) for i, (a, r, b) in enumerate(raw_facts))
    raw_couplets = _couplets(rng, tuple(names))
    held_c = set(rng.sample(range(len(raw_couplets)), N_HELD_OUT_COUPLETS))
    couplets = tuple(Couplet(l1, l2, i in held_c) for i, (l1, l2) in enumerate(raw_couplets))
    return World(seed, tuple(people), facts, couplets)


def forward_sentence(fact: Fact) -> str:
    return fill(FACT_FORWARD, NAME=fact.a, REL=fact.relation, NAME2=fact.b)


def reverse_sentence(fact: Fact) -> str:
    return fill(FACT_REVERSE, NAME=fact.a, REL=fact.relation, NAME2=fact.b)

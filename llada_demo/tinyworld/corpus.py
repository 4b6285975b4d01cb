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
import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Word lists (fixed; the seed only decides names, genders, relations and
# which combinations are written down).
# ---------------------------------------------------------------------------

TIMES = ("One day", "One morning", "One evening", "Last week", "On Sunday",
         "After lunch", "Early one morning", "Long ago")
GO_VERBS = ("went", "walked", "ran", "hurried", "wandered", "rode", "raced",
            "skipped", "drove")
PLACES = ("market", "river", "forest", "garden", "school", "library", "bakery",
          "harbour", "meadow", "village", "castle", "station", "kitchen",
          "farm", "beach", "bridge", "park", "mountain", "valley", "orchard",
          "workshop", "museum", "square", "tower", "field", "barn", "cottage",
          "island", "shop", "pier", "temple", "inn", "stable", "lighthouse",
          "playground", "pond", "attic", "cellar", "chapel", "desert",
          "greenhouse", "hospital", "jungle", "palace", "quarry", "theatre",
          "windmill", "zoo")
OBJECTS = ("cup", "box", "lamp", "book", "key", "basket", "kite", "ball",
           "hat", "coat", "bag", "ring", "shoe", "map", "clock", "bell", "drum",
           "boat", "brush", "candle", "blanket", "bowl", "chair", "spoon",
           "jar", "letter", "pencil", "scarf", "bucket", "rope", "ladder",
           "mirror", "umbrella", "apple", "shell", "stone", "feather",
           "whistle", "bottle", "wagon", "sock", "pillow", "kettle", "glove",
           "comb", "flute", "coin", "quilt", "stool", "sack", "hammer",
           "teapot", "violin", "trumpet", "puzzle", "marble", "ribbon",
           "button", "envelope", "lantern", "jacket", "necklace", "towel",
           "saucer", "shovel", "paintbrush", "notebook", "crayon", "helmet",
           "banana", "pear", "carrot", "onion", "plum", "peach", "sandwich")
ANIMALS = ("cat", "dog", "bird", "fox", "rabbit", "horse", "goat", "duck",
           "owl", "mouse", "frog", "sheep", "cow", "pig", "deer", "bear",
           "crow", "hen", "toad", "squirrel", "badger", "otter", "goose",
           "lamb", "pony", "kitten", "puppy", "snail", "beetle", "turtle",
           "hedgehog", "donkey", "parrot", "robin", "swan", "wolf", "lizard",
           "moth", "butterfly", "camel", "elephant", "lion", "monkey",
           "penguin", "seal", "whale", "hamster", "mole")
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "brown", "grey",
           "orange", "purple", "pink", "golden", "silver", "violet", "cream",
           "scarlet")
ADJECTIVES = ("old", "new", "small", "big", "little", "tall", "soft", "round",
              "heavy", "shiny", "broken", "clean", "dusty", "warm", "cold",
              "quiet", "bright", "tiny", "lovely", "strange", "wooden",
              "muddy", "empty", "fancy", "plain", "smooth", "rough", "dark",
              "narrow", "wide", "ancient", "famous", "secret", "sunny",
              "windy", "crooked", "striped", "spotted")
ANIMAL_ADJECTIVES = ("small", "big", "little", "old", "young", "sleepy",
                     "funny", "gentle", "noisy", "clever", "lazy", "brave",
                     "friendly", "fluffy", "shy", "quick", "hungry", "grumpy",
                     "playful", "curious", "wild", "tame", "fat", "skinny")
FEELINGS = ("happy", "sad", "tired", "hungry", "proud", "scared", "angry",
            "excited", "calm", "glad", "surprised", "worried", "curious",
            "lonely", "cheerful", "busy", "sleepy", "nervous", "thirsty",
            "cross", "jolly", "grateful")
PAST_VERBS = ("found", "lost", "cleaned", "painted", "carried", "dropped",
              "fixed", "opened", "washed", "hid", "held", "bought", "sold",
              "broke", "shared", "kept", "wrapped", "moved", "filled",
              "polished")
BASE_VERBS = ("find", "clean", "paint", "fix", "open", "carry", "wash", "hide",
              "keep", "sell", "share", "wrap", "fill", "move", "hold", "buy",
              "polish", "mend")
ANIMAL_VERBS = ("slept", "jumped", "hid", "sang", "danced", "played", "waited",
                "rested", "yawned", "sneezed")
SOCIAL_VERBS = ("thanked", "helped", "hugged", "called", "visited", "followed",
                "greeted", "missed")
TOGETHER_VERBS = ("played", "sat", "worked", "read", "sang", "danced", "talked",
                  "laughed")
AT_VERBS = ("looked", "smiled", "waved", "pointed", "laughed", "stared")
PREPOSITIONS = ("beside", "beneath", "behind", "near", "upon", "along",
                "across")
RELATIONS = ("mother", "father", "teacher", "doctor", "friend", "neighbour",
             "coach", "boss")
# Nouns that rhyme within a group; a couplet ends its two lines with two
# different words of one group.
RHYME_GROUPS = (
    ("door", "floor", "shore", "store"), ("hill", "mill", "sill"),
    ("tree", "sea", "bee", "key"), ("light", "night", "kite"),
    ("moon", "spoon", "dune"), ("lake", "cake", "rake"),
    ("bay", "hay", "tray", "clay"), ("stone", "bone", "throne", "cone"),
    ("bell", "well", "shell"), ("rain", "lane", "train", "chain", "plain"),
    ("star", "jar", "car"), ("road", "toad"), ("boat", "coat", "goat"),
    ("sun", "bun"), ("bed", "shed", "sled"), ("hat", "mat", "cat", "rat"),
    ("king", "ring", "swing", "string"), ("cave", "wave"),
    ("house", "mouse"), ("hall", "wall", "ball", "stall"),
    ("gate", "plate", "slate"), ("log", "fog", "dog", "frog", "bog"),
    ("pen", "den", "hen"), ("nest", "chest"), ("sand", "land", "band"),
    ("pole", "hole", "bowl", "coal"), ("hedge", "ledge"),
    ("pail", "trail", "snail", "sail"), ("brook", "nook", "book", "hook"),
    ("peak", "creek", "beak"), ("cloud", "crowd"),
    ("flower", "tower", "shower"), ("garden", "warden"), ("bridge", "fridge"),
    ("street", "wheat", "seat"), ("rock", "dock", "sock", "clock"),
    ("field", "shield"), ("mountain", "fountain"), ("pot", "knot", "cot"),
    ("pie", "sky", "fly"), ("lamb", "jam", "dam"),
)
RHYMES = tuple(w for group in RHYME_GROUPS for w in group)

# ---------------------------------------------------------------------------
# Templates.  A template is a space-separated sequence of literal tokens and
# slots "<CLASS>" (a trailing digit tells two slots of one class apart:
# "<NAME2>").  The generator fills slots with members of the class; the
# grammar accepts a sentence iff its tokens match some template.  The slots
# "<a>" / "<A>" are the indefinite article, "a"/"an" chosen by the next word.
# ---------------------------------------------------------------------------

STORY_OPENERS = {
    "went": "<TIME> , <NAME> <GO> to the <PLACE> .",
    "lived": "<NAME> lived near the <PLACE> with <a> <MOOD> <ANIMAL> .",
    "had": "<NAME> had <a> <COLOUR> <OBJECT> .",
    "pair": "<NAME> and <NAME2> were at the <PLACE> .",
}
STORY_MIDDLES = {
    "go": "<SUBJ> <GO> to the <PLACE> .",
    "did": "<SUBJ> <PAST> the <OBJECT> .",
    "saw": "<SUBJ> saw <a> <MOOD> <ANIMAL> near the <PLACE> .",
    "gave": "<SUBJ> gave the <OBJECT> to <NAME2> .",
    "felt": "<SUBJ> was very <FEELING> .",
    "animal": "The <ANIMAL> <AVERB> .",
    "social": "<NAME2> <SOCIAL> <OBJ> .",
    "colour": "<POSS> <OBJECT> was <COLOUR> .",
    "together": "<SUBJ> and <NAME2> <TOGETHER> in the <PLACE> .",
    "looked": "<SUBJ> <AT> at the <ANIMAL> .",
    "wanted": "<SUBJ> wanted to <BASE> the <OBJECT> .",
    "didnot": "<SUBJ> did not <BASE> the <OBJECT> .",
    "object": "The <OBJECT> was <ADJ> and <COLOUR> .",
}
STORY_ENDINGS = {
    "home": "Then <subj> went home .",
    "end": "At the end of the day , <subj> was <FEELING> .",
    "night": "That night , <subj> slept well .",
    "back": "After that , <subj> <GO> back to the <PLACE> .",
}
FACT_FORWARD = "<NAME> 's <REL> is <NAME2> ."
FACT_REVERSE = "<NAME2> is the <REL> of <NAME> ."
COUPLET_LINE1 = (
    "The <ANIMAL> <AVERB> <PREP> the <ADJ> <RHYME> ,",
    "<A> <MOOD> <ANIMAL> <GO> <PREP> the <RHYME> ,",
    "<NAME> <PAST> <a> <COLOUR> <OBJECT> <PREP> the <RHYME> ,",
    "I saw <a> <COLOUR> <ANIMAL> <PREP> the <RHYME> ,",
)
COUPLET_LINE2 = (
    "and <AVERB> <PREP> the <COLOUR> <RHYME> .",
    "then <GO> <PREP> the <ADJ> <RHYME> .",
    "and found <a> <ADJ> <OBJECT> by the <RHYME> .",
    "and sang a song about the <RHYME> .",
)
ALL_TEMPLATES = (tuple(STORY_OPENERS.values()) + tuple(STORY_MIDDLES.values())
                 + tuple(STORY_ENDINGS.values()) + (FACT_FORWARD, FACT_REVERSE)
                 + COUPLET_LINE1 + COUPLET_LINE2)

NO_SPACE_BEFORE = frozenset({",", ".", "!", "?", "'s"})


def word_classes(names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Every slot class, as a tuple of phrases (multi-word phrases allowed)."""
    return {
        "TIME": TIMES, "GO": GO_VERBS, "PLACE": PLACES, "OBJECT": OBJECTS,
        "ANIMAL": ANIMALS, "COLOUR": COLOURS, "ADJ": ADJECTIVES,
        "MOOD": ANIMAL_ADJECTIVES,
        "FEELING": FEELINGS, "PAST": PAST_VERBS, "BASE": BASE_VERBS,
        "AVERB": ANIMAL_VERBS, "SOCIAL": SOCIAL_VERBS,
        "TOGETHER": TOGETHER_VERBS, "AT": AT_VERBS, "PREP": PREPOSITIONS,
        "REL": RELATIONS, "RHYME": RHYMES, "NAME": names,
        "SUBJ": names + ("He", "She"), "subj": names + ("he", "she"),
        "OBJ": names + ("him", "her"), "POSS": ("His", "Her"),
        "a": ("a", "an"), "A": ("A", "An"),
    }


# ---------------------------------------------------------------------------
# Text <-> tokens
# ---------------------------------------------------------------------------

def split_words(text: str) -> list[str]:
    """Word-level tokens of ``text``: words, "'s", punctuation, newlines."""
    return re.findall(r"'s|[A-Za-z]+|\n|[^\sA-Za-z]", text)


def render(tokens: list[str]) -> str:
    """Join tokens with the corpus spacing conventions (see module docstring)."""
    text = ""
    for tok in tokens:
        if not text or text.endswith("\n") or tok == "\n" or tok in NO_SPACE_BEFORE:
            text += tok
        else:
            text += " " + tok
    return text


def split_sentences(text: str) -> list[str]:
    """Split text into sentences on ". ", "! ", "? " and newlines.

    Final punctuation stays with its sentence; pieces are stripped and empty
    pieces dropped.  A trailing fragment without punctuation is kept (so a
    cut-off sentence is returned, and then rejected by the grammar).
    """
    pieces = re.split(r"(?<=[.!?]) +|\n", text)
    return [p.strip() for p in pieces if p.strip()]


def _article(next_word: str, capital: bool) -> str:
    word = "an" if next_word[0].lower() in "aeiou" else "a"
    return word.capitalize() if capital else word


def _slot_class(token: str) -> str | None:
    """"<NAME2>" -> "NAME"; a literal token -> None."""
    if token.startswith("<") and token.endswith(">"):
        return token[1:-1].rstrip("0123456789")
    return None


def fill(template: str, **values: str) -> str:
    """Fill a template's slots (keyed by slot name, e.g. NAME2=...) and render.

    Articles ("<a>", "<A>") are chosen from the following word.
    """
    tokens: list[str] = []
    for tok in template.split():
        if _slot_class(tok) in ("a", "A"):
            tokens.append(tok)
        elif _slot_class(tok) is not None:
            tokens.extend(values[tok[1:-1]].split())
        else:
            tokens.append(tok)
    for i, tok in enumerate(tokens):
        if tok in ("<a>", "<A>"):
            tokens[i] = _article(tokens[i + 1], capital=tok == "<A>")
    return render(tokens)


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


def _rng(seed: int, stream: str) -> random.Random:
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
    rng = _rng(seed, "world")
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


# ---------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------

def _story(world: World, rng: random.Random) -> list[str]:
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
def _held_out_stories(world: World) -> tuple[tuple[str, ...], ...]:
    rng = _rng(world.seed, "held-out stories")
    return tuple(tuple(_story(world, rng)) for _ in range(N_HELD_OUT_STORIES))


FUNCTION_WORDS = frozenset("the a an to and of in at near with was very did not by is".split())


def _infill_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, length) of every 1-3 word span that is not the first token, is
    followed by a word and holds at least one content word."""
    is_word = [t.isalpha() for t in tokens]
    return [(i, n) for n in (1, 2, 3) for i in range(1, len(tokens) - n)
            if all(is_word[i:i + n + 1])
            and not FUNCTION_WORDS.issuperset(t.lower() for t in tokens[i:i + n])]


def _infill_sentence(story: tuple[str, ...]) -> str:
    """The story's longest sentence (the most distinctive one)."""
    return max(story, key=lambda s: (len(split_words(s)), s))


def _reserved_sentences(world: World) -> set[str]:
    """Sentences that must never occur in training: the first sentence of each
    story prompt and each infill sentence."""
    stories = _held_out_stories(world)
    half = N_HELD_OUT_STORIES // 2
    return ({s[0] for s in stories[:half]} | {_infill_sentence(s) for s in stories[half:]})


# ---------------------------------------------------------------------------
# Training documents
# ---------------------------------------------------------------------------

FACT_SINGLE_REPEATS = 4   # each fact sentence this many times on its own ...
FACT_LIST_REPEATS = 4     # ... and this many times inside fact lists
COUPLET_REPEATS = 4


def forward_sentence(fact: Fact) -> str:
    return fill(FACT_FORWARD, NAME=fact.a, REL=fact.relation, NAME2=fact.b)


def reverse_sentence(fact: Fact) -> str:
    return fill(FACT_REVERSE, NAME=fact.a, REL=fact.relation, NAME2=fact.b)


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
    reserved = _reserved_sentences(world)
    docs: list[str] = []
    while len(docs) < N_TRAINING_STORIES:
        story = _story(world, rng)
        if not reserved.intersection(story):
            docs.append(" ".join(story))
    return docs


@functools.lru_cache(maxsize=4)
def _training_documents(world: World) -> tuple[str, ...]:
    rng = _rng(world.seed, "training documents")
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
    stories = _held_out_stories(world)[:N_HELD_OUT_STORIES // 2]
    return [StoryPrompt(" ".join(s[:1 + i % 2])) for i, s in enumerate(stories)]


def infill_items(world: World) -> list[InfillItem]:
    """One held-out sentence per held-out story with a 1-3 word span to fill.

    The span never includes the first token, contains at least one content
    word and is always followed by a word, so ``f"{left} {answer} {right}"``
    is the sentence.
    """
    rng = _rng(world.seed, "infill")
    items = []
    for story in _held_out_stories(world)[N_HELD_OUT_STORIES // 2:]:
        tokens = split_words(_infill_sentence(story))
        i, n = rng.choice(_infill_spans(tokens))
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
        cls = _slot_class(tok)
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

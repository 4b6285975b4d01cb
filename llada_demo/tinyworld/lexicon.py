"""The tiny world's words and sentence templates, and how its text splits into tokens and joins back.

Fixed word lists (the seed decides only names, genders, relations and which combinations are written),
the templates every generated sentence comes from, and the text conventions of corpus.py's docstring.

What it is not: no world (world.py), no documents (corpus.py), no randomness.
"""

from __future__ import annotations

import re



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


def slot_class(token: str) -> str | None:
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
        if slot_class(tok) in ("a", "A"):
            tokens.append(tok)
        elif slot_class(tok) is not None:
            tokens.extend(values[tok[1:-1]].split())
        else:
            tokens.append(tok)
    for i, tok in enumerate(tokens):
        if tok in ("<a>", "<A>"):
            tokens[i] = _article(tokens[i + 1], capital=tok == "<A>")
    return render(tokens)

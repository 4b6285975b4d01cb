"""The tiny-world corpus: determinism, grammar, held-out splits, sizes."""

import json
import random
from collections import Counter

import pytest

from llada_demo.tinyworld import corpus
from llada_demo.tinyworld.corpus import (
    CoupletItem,
    FactItem,
    InfillItem,
    StoryPrompt,
    build_world,
    example_prompts,
    held_out_couplets,
    held_out_facts,
    infill_items,
    is_grammatical,
    split_sentences,
    split_words,
    story_prompts,
)


@pytest.fixture(scope="module")
def joined(docs):
    """All documents in one string, for fast substring checks."""
    return "\x00".join(docs)


@pytest.fixture(scope="module")
def sentences(docs):
    return Counter(s for d in docs for s in split_sentences(d))


# --- determinism ---------------------------------------------------------

def test_same_seed_same_world_and_items(world, docs):
    again = build_world(0)
    assert again == world
    assert corpus._training_documents.__wrapped__(again) == tuple(docs)  # not the cache
    assert held_out_facts(again) == held_out_facts(world)
    assert infill_items(again) == infill_items(world)
    assert story_prompts(again) == story_prompts(world)


def test_other_seed_other_world(world):
    other = build_world(1)
    assert other.names != world.names
    assert other.facts != world.facts


# --- the world -----------------------------------------------------------

def test_people(world):
    assert 60 <= len(world.people) <= 120
    assert len(set(world.names)) == len(world.names)
    for name in world.names:
        assert name[0].isupper() and name.isalpha() and split_words(name) == [name]
    assert {p.gender for p in world.people} == {"f", "m"}


def test_relations_are_one_to_one_and_gendered(world):
    keys_ab = Counter((f.a, f.relation) for f in world.facts)
    keys_rb = Counter((f.relation, f.b) for f in world.facts)
    assert max(keys_ab.values()) == 1 and max(keys_rb.values()) == 1
    for f in world.facts:
        assert f.a != f.b
        if f.relation == "mother":
            assert world.gender(f.b) == "f"
        if f.relation == "father":
            assert world.gender(f.b) == "m"


# --- training documents --------------------------------------------------

def test_corpus_size(docs):
    assert 30_000 <= len(docs) <= 80_000
    lengths = [len(split_words(d)) for d in docs]
    assert max(lengths) <= 60
    assert all(d == d.strip() and d for d in docs)


def test_vocabulary_size(docs):
    vocab = {t for d in docs for t in split_words(d)}
    print(f"vocabulary: {len(vocab)} distinct tokens")
    assert 500 <= len(vocab) <= 1500


def test_every_training_sentence_is_grammatical(world, sentences):
    bad = [s for s in sentences if not is_grammatical(s, world)]
    assert bad == []


def test_story_pronouns_match_gender(world, docs):
    genders = dict((p.name, p.gender) for p in world.people)
    checked = 0
    for doc in docs[:3000]:
        first = split_words(split_sentences(doc)[0])
        if "\n" in doc or "'s" in first or "is" in first:
            continue  # couplet or fact
        hero = next(t for t in first if t in genders)
        words = set(split_words(doc))
        wrong = {"She", "she", "her", "Her"} if genders[hero] == "m" else {"He", "he", "him", "His"}
        assert not words & wrong, doc
        checked += 1
    assert checked > 1000


# --- grammar -------------------------------------------------------------

def test_grammar_accepts_templates(world):
    a, b = world.names[:2]
    for s in [f"{a}'s teacher is {b}.", f"{b} is the teacher of {a}.",
              f"One day, {a} went to the market.", f"{a} had an orange cup.",
              "She saw a shy owl near the bridge.", "Then he went home.",
              "The cat slept beside the old door,", "and sang a song about the floor."]:
        assert is_grammatical(s, world), s


def test_grammar_rejects_shuffled_sentences(world, sentences):
    rng = random.Random(0)
    rejected = total = 0
    for s in rng.sample(sorted(sentences), 500):
        words = split_words(s)
        shuffled = words[:-1]
        rng.shuffle(shuffled)
        if shuffled == words[:-1]:
            continue
        total += 1
        rejected += not is_grammatical(corpus.render(shuffled + words[-1:]), world)
    assert rejected / total > 0.97


def test_grammar_rejects_truncated_sentences(world, sentences):
    rng = random.Random(1)
    for s in rng.sample(sorted(sentences), 300):
        words = split_words(s)
        for cut in range(1, len(words)):
            assert not is_grammatical(corpus.render(words[:cut]), world), words[:cut]


def test_grammar_rejects_wrong_forms_and_salad(world):
    a, b = world.names[:2]
    for s in [f"{a}'s teacher are {b}.", f"{a} are the teacher of {b}.",
              f"{a} go to the market.", "She walk to the park.",
              "He wanted to found the cup.", "She did not cleaned the cup.",
              f"{a} had a orange cup.", f"{a} had an red cup.",
              "She saw the the owl near the bridge.", f"{a} and {a} were at the park.",
              "cup the went She market to.", "", "Then he went home", "then he went home.",
              f"{a}'s teacher is {b}.\nand sang a song about the floor."]:
        assert not is_grammatical(s, world), s


def test_split_sentences():
    text = "Mira went home. She slept!  Was it? yes\nand sang,\nthe end"
    assert split_sentences(text) == ["Mira went home.", "She slept!", "Was it?", "yes",
                                     "and sang,", "the end"]


# --- held-out facts ------------------------------------------------------

def test_held_out_facts(world, joined):
    items = held_out_facts(world)
    assert 50 <= len(items) <= 300
    assert all(isinstance(i, FactItem) for i in items)
    for it in items:
        forward = f"{it.forward_prompt} {it.forward_answer}."
        assert forward == it.masked_template.format(it.a)
        assert it.forward_prompt == f"{it.a}'s {it.relation} is" and it.forward_answer == it.b
        assert it.reverse_prompt == f"{it.b} is the {it.relation} of" and it.reverse_answer == it.a
        assert joined.count(forward) >= 4
        assert f"{it.reverse_prompt} {it.reverse_answer}." not in joined
        assert it.candidates == world.names and it.a in it.candidates
    # the reverse question has exactly one right answer in the whole world
    for it in items:
        assert [f.a for f in world.facts if f.relation == it.relation and f.b == it.b] == [it.a]


def test_other_facts_in_both_forms(world, joined):
    others = [f for f in world.facts if not f.held_out]
    assert len(others) >= 50
    for f in others:
        assert joined.count(corpus.forward_sentence(f)) >= 4
        assert joined.count(corpus.reverse_sentence(f)) >= 4


# --- held-out couplets ---------------------------------------------------

def test_held_out_couplets(world, joined):
    items = held_out_couplets(world)
    assert 40 <= len(items) <= 200
    assert all(isinstance(i, CoupletItem) for i in items)
    all_line1 = [c.line1 for c in world.couplets]
    all_line2 = [c.line2 for c in world.couplets]
    assert len(set(all_line1)) == len(all_line1) and len(set(all_line2)) == len(all_line2)
    assert set(all_line1).isdisjoint(all_line2)
    for it in items:
        assert it.line1.endswith(",") and it.line2.endswith(".")
        assert joined.count(f"{it.line1}\n{it.line2}") >= 4
        assert f"{it.line2}\n{it.line1}" not in joined
        assert it.line1 in it.candidates
    assert len(set(items[0].candidates)) == len(items)


def test_couplets_rhyme(world):
    group_of = {w: i for i, g in enumerate(corpus.RHYME_GROUPS) for w in g}
    for c in world.couplets:
        w1, w2 = split_words(c.line1)[-2], split_words(c.line2)[-2]
        assert w1 != w2 and group_of[w1] == group_of[w2]


# --- story prompts and infill --------------------------------------------

def test_story_prompts(world, joined):
    prompts = story_prompts(world)
    assert 150 <= len(prompts) <= 300
    assert all(isinstance(p, StoryPrompt) for p in prompts)
    assert len({p.text for p in prompts}) == len(prompts)
    for p in prompts:
        sents = split_sentences(p.text)
        assert 1 <= len(sents) <= 2 and all(is_grammatical(s, world) for s in sents)
        assert p.text not in joined


def test_infill_items(world, joined):
    items = infill_items(world)
    assert 50 <= len(items) <= 300
    assert all(isinstance(i, InfillItem) for i in items)
    for it in items:
        sentence = f"{it.left} {it.answer} {it.right}"
        assert is_grammatical(sentence, world), sentence
        assert 1 <= len(it.answer.split()) <= 3 and it.answer.replace(" ", "").isalpha()
        assert it.left and it.right and it.right[0].isalpha()
        assert sentence not in joined


def test_example_prompts(world):
    prompts = example_prompts(world)
    assert 6 <= len(prompts) <= 10 and all(isinstance(p, str) and p for p in prompts)
    assert any(p.endswith("\n") for p in prompts)
    assert any(p.endswith(" is") for p in prompts) and any(p.endswith(" of") for p in prompts)


def test_write_corpus(tmp_path, docs, monkeypatch):
    monkeypatch.setattr(corpus, "training_documents", lambda world: docs[:50])
    path = tmp_path / "corpus.jsonl"
    corpus.write_corpus(str(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == docs[:50]

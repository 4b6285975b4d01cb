"""The word-level tokenizer: special ids, splitting, exact round trips, save/load."""

import random

import pytest
from transformers import AutoTokenizer

from llada_demo.tinyworld.corpus import held_out_facts, infill_items, split_words
from llada_demo.tinyworld.tokenizer import SPACE, build_tokenizer, display_text


@pytest.fixture(scope="module")
def tok(docs):
    return build_tokenizer(docs)


@pytest.fixture(scope="module")
def sample(docs):
    return random.Random(0).sample(docs, 3000)


def test_special_tokens(tok):
    assert tok.convert_ids_to_tokens([0, 1, 2, 3]) == ["<|pad|>", "<|endoftext|>", "<|mask|>", "<|unk|>"]
    assert (tok.pad_token_id, tok.eos_token_id, tok.mask_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.bos_token_id is None
    assert tok.encode("One day, the cat slept.") == tok.encode("One day, the cat slept.", add_special_tokens=False)
    assert tok("The cat.")["input_ids"][-1] != tok.eos_token_id
    assert tok.convert_ids_to_tokens(tok.encode("<|mask|>'s teacher is")) == ["<|mask|>", "'s", "▁teacher", "▁is"]


def test_vocabulary_is_the_corpus_tokens(tok, docs):
    words = {t for d in docs for t in split_words(d)}
    assert len(tok) == 4 + len(words)  # one token per distinct word or mark
    print(f"tokenizer vocabulary: {len(tok)}")


def test_word_level_splitting(tok, world):
    a, b = world.names[:2]
    text = f"{a}'s teacher is {b}.\nand slept, then sang."
    assert tok.convert_ids_to_tokens(tok.encode(text)) == [
        f"▁{a}", "'s", "▁teacher", "▁is", f"▁{b}", ".", "\n", "▁and", "▁slept", ",", "▁then", "▁sang", "."]
    assert tok.unk_token_id not in tok.encode(text)


def test_round_trip_exact(tok, sample):
    for doc in sample:
        ids = tok.encode(doc)
        assert tok.unk_token_id not in ids
        assert len(ids) == len(split_words(doc))
        assert tok.decode(ids) == doc


def test_display_text_rebuilds_documents(tok, sample):
    assert display_text(f"{SPACE}cat") == " cat"
    assert display_text("\n") == "\n" and display_text("'s") == "'s" and display_text(",") == ","
    for doc in sample[:500]:
        shown = "".join(display_text(t) for t in tok.convert_ids_to_tokens(tok.encode(doc)))
        assert shown.lstrip(" ").replace("\n ", "\n") == doc


def test_fragments_encode_like_the_whole(tok, world):
    """Prompt + answer encoded separately give the same ids as the full sentence."""
    for it in held_out_facts(world)[:50]:
        whole = tok.encode(f"{it.reverse_prompt} {it.reverse_answer}.")
        assert tok.encode(it.reverse_prompt) + tok.encode(f"{it.reverse_answer}.") == whole
    for it in infill_items(world)[:50]:
        whole = tok.encode(f"{it.left} {it.answer} {it.right}")
        assert tok.encode(it.left) + tok.encode(it.answer) + tok.encode(it.right) == whole


def test_sloppy_prompts_have_no_unknown_tokens(tok, world):
    a = world.names[0]
    for text in [f"{a}'s teacher is ", f"  {a}  went home.", "The cat sat,\n", "The cat sat,\n and slept."]:
        assert tok.unk_token_id not in tok.encode(text), text


def test_save_and_load(tok, sample, tmp_path):
    tok.save_pretrained(tmp_path)
    assert (tmp_path / "tokenizer.json").exists()
    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    assert (loaded.pad_token_id, loaded.eos_token_id, loaded.mask_token_id, loaded.unk_token_id) == (0, 1, 2, 3)
    assert loaded.get_vocab() == tok.get_vocab()
    for doc in sample[:1000]:
        ids = loaded.encode(doc)
        assert ids == tok.encode(doc)
        assert loaded.decode(ids) == doc


def test_display_texts_join_into_the_decoded_text(tok, tmp_path):
    """Each token's display text keeps its leading space (decoded alone, "▁Linin" would lose it and an
    answer read "Linin.Vasa'sneighbour"), for the word-level tokenizer and byte-level and WordPiece-like ones."""
    from tests.standins import families
    from llada_demo.engine.text import display_texts
    text = "Zox's mother is Linin.\nThe cat slept, then sang."
    families.qwen(tmp_path / "qwen")
    families.modernbert_chat(tmp_path / "bert")
    for tokenizer in (tok, AutoTokenizer.from_pretrained(tmp_path / "qwen"), AutoTokenizer.from_pretrained(tmp_path / "bert")):
        ids = tokenizer.encode(text, add_special_tokens=False)
        shown = display_texts(tokenizer, ids)
        # (a decoder drops the leading space of a whole text and, in the word-level one, of a line; a token
        # shown alone keeps its own)
        joined = "".join(shown[i] for i in ids).lstrip(" ").replace("\n ", "\n")
        assert joined == tokenizer.decode(ids, clean_up_tokenization_spaces=False), tokenizer.name_or_path
    assert display_texts(tok, [tok.mask_token_id, tok.eos_token_id]) == {2: "<|mask|>", 1: "<|endoftext|>"}

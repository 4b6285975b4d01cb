"""Word-level tokenizer for the tiny-world corpus (see ``llada_demo.tinyworld.corpus``).

One token per word, per punctuation mark, per possessive "'s" and per
newline; the vocabulary is exactly the tokens seen in the texts it is built
from, after four special tokens:

====  =================
id    token
====  =================
0     ``<|pad|>``
1     ``<|endoftext|>``
2     ``<|mask|>``
3     ``<|unk|>``
====  =================

Spaces live inside the tokens, SentencePiece style: a word preceded by a space
is stored as ``"▁word"``.  The first word of a text, and the first word after
a newline, also get the ``"▁"`` (so a word has one token wherever it stands,
and encoding a fragment such as an infill answer gives the same tokens as in
the full sentence).  Punctuation and "'s" attach to the previous word and
carry no "▁"::

    "Mira's teacher is Tobin."  ->  ▁Mira 's ▁teacher ▁is ▁Tobin .
    "door,\\nand slept."         ->  ▁door , \\n ▁and ▁slept .

``decode`` turns "▁" back into spaces, drops the space at the very start and
right after each newline, and so restores every corpus text exactly:
``tok.decode(tok.encode(text)) == text``.  Encoding adds no special tokens
(no BOS/EOS); append ``tok.eos_token_id`` yourself where needed.

To show tokens one at a time, take the raw token from
``tok.convert_ids_to_tokens(ids)`` and pass it to ``display_text``: a leading
"▁" becomes a space ("▁cat" -> " cat"), everything else is shown as is
("'s", ",", "\\n", "<|mask|>").  Concatenating ``display_text`` of all tokens
gives the decoded text except for the leading space of the first word of a
text and of a line (strip it when a line starts).

Fragments: a text is encoded as if it followed a space, so a prompt and its
answer can be encoded separately when they meet at a space ("Tobin is the
teacher of" + "Mira."), but not when the second part starts with punctuation
(``encode(".")`` is ``["▁."]``, an unknown token).  Special tokens written in
the text ("<|mask|>") are recognised; spaces next to them are dropped, so
``decode`` writes "is<|mask|>" for "is <|mask|>".  Spaces at the end of a line
or text and runs of spaces are normalised away (corpus texts have none).

Pre-tokenisation (the same pieces the corpus grammar sees):
``'s``, runs of ASCII letters/digits (with their "▁"), any other single
non-space character (with its "▁" if a space precedes it), and ``\\n``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, EOS, MASK, UNK = "<|pad|>", "<|endoftext|>", "<|mask|>", "<|unk|>"
SPECIAL_TOKENS = (PAD, EOS, MASK, UNK)  # ids 0, 1, 2, 3
SPACE = "▁"  # U+2581, marks "a space stands before this word"

# A newline followed by something else gets a space after it, so the next word
# is "▁word" like everywhere else (the decoder removes that space again); then
# spaces at the end of a line or text are dropped and runs of spaces become
# one, so a prompt typed as "Mira's teacher is " still has no unknown token.
# (Corpus texts have neither, so they round-trip exactly.)
_NORMALIZER = normalizers.Sequence([
    normalizers.Replace(Regex(r"\n(?=[^\n])"), "\n "),
    normalizers.Replace(Regex(r" +(?=\n|\z)| (?= )"), ""),
])
_PIECES = Regex(r"'s|▁?[A-Za-z0-9]+|▁?[^\sA-Za-z0-9▁]|\n|▁")


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence([
        # spaces -> "▁", and a "▁" before the first word of the input
        # (only the first section: not after a special token like <|mask|>)
        pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="first", split=False),
        pre_tokenizers.Split(_PIECES, behavior="isolated"),
    ])


def _decoder() -> decoders.Decoder:
    return decoders.Sequence([
        decoders.Replace(SPACE, " "),
        decoders.Fuse(),
        decoders.Replace("\n ", "\n"),
        decoders.Strip(" ", 1, 0),
    ])


def pieces(text: str) -> list[str]:
    """The raw tokens ``text`` is split into (before the vocabulary lookup)."""
    normalized = _NORMALIZER.normalize_str(text)
    return [p for p, _ in _pre_tokenizer().pre_tokenize_str(normalized)]


def build_tokenizer(texts: Iterable[str]) -> PreTrainedTokenizerFast:
    """A word-level fast tokenizer whose vocabulary is every token in ``texts``.

    Ids: the special tokens 0-3, then the tokens by falling frequency (ties
    alphabetical), so the result depends only on the texts.
    """
    counts: Counter[str] = Counter()
    splitter = _pre_tokenizer()
    for text in texts:
        normalized = _NORMALIZER.normalize_str(text)
        counts.update(p for p, _ in splitter.pre_tokenize_str(normalized))
    for special in SPECIAL_TOKENS:
        counts.pop(special, None)
    ordered = sorted(counts, key=lambda t: (-counts[t], t))
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + tuple(ordered))}

    backend = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    backend.normalizer = _NORMALIZER
    backend.pre_tokenizer = splitter
    backend.decoder = _decoder()
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD, eos_token=EOS, mask_token=MASK, unk_token=UNK,
        clean_up_tokenization_spaces=False,
    )


def display_text(token: str) -> str:
    """The text one raw token contributes: "▁cat" -> " cat", "\\n" -> "\\n",
    "'s" -> "'s", "<|mask|>" -> "<|mask|>"."""
    return token.replace(SPACE, " ")

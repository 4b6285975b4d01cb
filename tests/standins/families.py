"""Local stand-ins for every hub preset, placed in a Hugging Face cache folder as the hub would put them.

Each stand-in mimics its family's config (model type, architecture or remote code, special ids) and
tokenizer (special tokens, chat template), at a few thousand parameters, so that the presets load
offline through the same `models.load` path as the real weights. What they are not: the real models
(their answers are noise).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models as tk_models, pre_tokenizers, trainers
from transformers import (LlamaConfig, LlamaForCausalLM, ModernBertConfig, ModernBertForMaskedLM,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

REMOTE = Path(__file__).parent / "llada_remote"
WORDS = 48  # ordinary words w0..w47 after the special tokens

# Chat templates in each family's shape (turn markers and end-of-turn tokens as in the real ones).
LLAMA3_TEMPLATE = ("{{ bos_token }}{% for m in messages %}<|start_header_id|> {{ m['role'] }} <|end_header_id|> "
                   "{{ m['content'] }} <|eot_id|> {% endfor %}{% if add_generation_prompt %}"
                   "<|start_header_id|> assistant <|end_header_id|> {% endif %}")
QWEN_TEMPLATE = ("{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}")
LLADA_MOE_TEMPLATE = ("{% for m in messages %}<role> {{ m['role'] | upper }} </role> {{ m['content'] }} <|role_end|> "
                      "{% endfor %}{% if add_generation_prompt %}<role> ASSISTANT </role> {% endif %}")
BERT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {{ eos_token }} "
                 "{% endfor %}{% if add_generation_prompt %}assistant : {% endif %}")


def tokenizer(specials: list[str], template: str | None, **named: str) -> PreTrainedTokenizerFast:
    """A word-level tokenizer: the special tokens first, then the words, the role names, and template words."""
    vocab = {t: i for i, t in enumerate(specials)}
    for word in [f"w{i}" for i in range(WORDS)] + ["user", "assistant", "system", "USER", "ASSISTANT", "SYSTEM",
                                                   ":", "<role>", "</role>"]:
        vocab.setdefault(word, len(vocab))
    raw = Tokenizer(tk_models.WordLevel(vocab, unk_token=specials[0]))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, **named)
    if template:
        tok.chat_template = template
    return tok


def byte_level_tokenizer(specials: list[str], template: str, **named: str) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer like Qwen's (its tokenizer class rebuilds one from the vocabulary and merges)."""
    raw = Tokenizer(tk_models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator([" ".join(f"w{i}" for i in range(WORDS)) + " user assistant system"] * 4, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, **named)
    tok.chat_template = template
    return tok


def put_in_cache(cache_dir: Path, repo_id: str, build) -> Path:
    """Write a stand-in where the hub client looks for `repo_id` in `cache_dir` (a snapshot and refs/main)."""
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    build(snapshot)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def remote_llada(folder: Path, vocab: int, mask_id: int, eos_id: int) -> dict[str, torch.Tensor]:
    """LLaDA's hub layout: config with auto_map to its own (transformers-4 style) code, and the weights,
    which it returns. As in LLaDA's config.json the mask id is written in the config (126336 there)."""
    for name in ("configuration_standin.py", "modeling_standin.py"):
        shutil.copy(REMOTE / name, folder / name)
    config = {"model_type": "llada_standin", "architectures": ["StandinLLaDAModelLM"], "vocab_size": vocab,
              "d_model": 32, "mask_token_id": mask_id, "eos_token_id": eos_id,
              "auto_map": {"AutoConfig": "configuration_standin.StandinLLaDAConfig",
                           "AutoModel": "modeling_standin.StandinLLaDAModelLM",
                           "AutoModelForCausalLM": "modeling_standin.StandinLLaDAModelLM"}}
    (folder / "config.json").write_text(json.dumps(config))
    g = torch.Generator().manual_seed(0)
    weights = {"wte.weight": torch.randn(vocab, 32, generator=g),
               "attn.in_proj_weight": torch.randn(96, 32, generator=g) * 0.1, "attn.in_proj_bias": torch.zeros(96),
               "attn.out_proj.weight": torch.randn(32, 32, generator=g) * 0.1, "attn.out_proj.bias": torch.zeros(32),
               "ff_out.weight": torch.randn(vocab, 32, generator=g)}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return weights


def llada(folder: Path, *, mask: str = "<|mdm_mask|>", end_of_turn: str = "<|eot_id|>",
          template: str = LLAMA3_TEMPLATE) -> None:
    """LLaDA-8B / LLaDA-1.5 / LLaDA-MoE shape: remote code (transformers-4 style), mask id from the tokenizer."""
    specials = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", end_of_turn, "<|start_header_id|>",
                "<|end_header_id|>", mask]
    tok = tokenizer(specials, template, pad_token="<|pad|>", bos_token="<|startoftext|>", eos_token="<|endoftext|>")
    remote_llada(folder, len(tok), tok.convert_tokens_to_ids(mask), tok.convert_tokens_to_ids("<|endoftext|>"))
    tok.save_pretrained(folder)


def llada_moe(folder: Path) -> None:
    llada(folder, mask="<|mask|>", end_of_turn="<|role_end|>", template=LLADA_MOE_TEMPLATE)


def modernbert_chat(folder: Path) -> None:
    """A ModernBertForMaskedLM (a native transformers class) with BERT's [CLS]/[SEP]/[MASK] and a chat template."""
    tok = tokenizer(["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"], BERT_TEMPLATE, unk_token="[UNK]",
                    pad_token="[PAD]", bos_token="[CLS]", eos_token="[SEP]", mask_token="[MASK]",
                    cls_token="[CLS]", sep_token="[SEP]")
    torch.manual_seed(0)
    config = ModernBertConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, max_position_embeddings=256, pad_token_id=1, bos_token_id=2,
                              eos_token_id=3, cls_token_id=2, sep_token_id=3, global_attn_every_n_layers=1)
    ModernBertForMaskedLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)


def qwen(folder: Path) -> None:
    tok = byte_level_tokenizer(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], QWEN_TEMPLATE,
                               pad_token="<|endoftext|>", eos_token="<|im_end|>")
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         eos_token_id=[2, 0], bos_token_id=0, tie_word_embeddings=True)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)


def llama3(folder: Path) -> None:
    tok = tokenizer(["<|end_of_text|>", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                     "<|end_header_id|>"], LLAMA3_TEMPLATE, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         bos_token_id=1, eos_token_id=[0, 2])
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)


# Every hub preset's family: what the stand-in in its place is built by.
FAMILIES = {
    "GSAI-ML/LLaDA-8B-Instruct": llada,
    "GSAI-ML/LLaDA-8B-Base": llada,
    "GSAI-ML/LLaDA-1.5": llada,
    "inclusionAI/LLaDA-MoE-7B-A1B-Instruct": llada_moe,
    "dllm-hub/ModernBERT-large-chat-v0.1": modernbert_chat,
    "Qwen/Qwen2.5-0.5B-Instruct": qwen,
    "Qwen/Qwen2.5-7B-Instruct": qwen,
    "meta-llama/Meta-Llama-3-8B-Instruct": llama3,
}


def _llada2(folder: Path) -> None:
    from tests.standins.llada2 import llada2  # LLaDA 2's stand-in lives in its own folder
    llada2(folder)


FAMILIES.update({"inclusionAI/LLaDA2.0-mini": _llada2, "inclusionAI/LLaDA2.1-mini": _llada2})

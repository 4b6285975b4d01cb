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
REMOTE_MOE = Path(__file__).parent / "llada_moe_remote"
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
    building = repo / "snapshots" / "building"
    building.mkdir(parents=True, exist_ok=True)
    build(building)
    # The commit names the content, as on the hub: transformers keeps a hub repo's code per commit (in
    # HF_MODULES_CACHE, outside cache_dir), so a changed stand-in under an old commit would run stale code.
    content = hashlib.sha1(repo_id.encode())
    for file in sorted(building.rglob("*")):
        if file.is_file():
            content.update(file.name.encode() + file.read_bytes())
    commit = content.hexdigest()
    snapshot = repo / "snapshots" / commit
    if snapshot.exists():
        shutil.rmtree(snapshot)
    building.rename(snapshot)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def _random_weights(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Every tensor random (norm-like ones near 1), so that a weight left at its initial value is seen."""
    g = torch.Generator().manual_seed(0)
    return {name: (1 + 0.1 * torch.randn(shape, generator=g)) if name.endswith("norm.weight")
            else 0.2 * torch.randn(shape, generator=g) for name, shape in shapes.items()}


def _put_remote_code(folder: Path, remote: Path, config: dict, shapes: dict) -> dict[str, torch.Tensor]:
    for name in ("configuration_standin.py", "modeling_standin.py"):
        shutil.copy(remote / name, folder / name)
    (folder / "config.json").write_text(json.dumps(config))
    weights = _random_weights(shapes)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return weights


def remote_llada(folder: Path, vocab: int, mask_id: int, eos_id: int, d: int = 32,
                 layers: int = 1) -> dict[str, torch.Tensor]:
    """LLaDA's hub layout (GSAI-ML/LLaDA-8B-Instruct, -Base, LLaDA-1.5): its config.json's keys (LLaDA's own names,
    init_device "meta", weight_tying and use_cache false, the mask id in the config: 126336 there), auto_map to
    its transformers-4 code (the stand-in, llada_remote/), and its weight names; returns the weights."""
    config = {"model_type": "llada", "architectures": ["LLaDAModelLM"], "vocab_size": vocab, "embedding_size": vocab,
              "d_model": d, "n_heads": 2, "n_layers": layers, "mlp_hidden_size": 2 * d, "max_sequence_length": 128,
              "weight_tying": False, "init_device": "meta", "use_cache": False, "mask_token_id": mask_id,
              "eos_token_id": eos_id, "pad_token_id": eos_id, "torch_dtype": "bfloat16",
              "transformers_version": "4.46.2",
              "auto_map": {"AutoConfig": "configuration_standin.LLaDAConfig",
                           "AutoModel": "modeling_standin.LLaDAModelLM",
                           "AutoModelForCausalLM": "modeling_standin.LLaDAModelLM"}}
    shapes = {"model.transformer.wte.weight": (vocab, d), "model.transformer.ff_out.weight": (vocab, d)}
    for i in range(layers):
        block = f"model.transformer.blocks.{i}."
        shapes.update({block + "attn.in_proj_weight": (3 * d, d), block + "attn.in_proj_bias": (3 * d,),
                       block + "attn.out_proj.weight": (d, d), block + "attn.out_proj.bias": (d,),
                       block + "ff_proj.weight": (2 * d, d), block + "ff_proj.bias": (2 * d,),
                       block + "ff_out.weight": (d, 2 * d), block + "ff_out.bias": (d,)})
    return _put_remote_code(folder, REMOTE, config, shapes)


def remote_llada_moe(folder: Path, vocab: int, eos_id: int, d: int = 32, experts: int = 4) -> dict[str, torch.Tensor]:
    """LLaDA-MoE's hub layout (inclusionAI/LLaDA-MoE-7B-A1B-Instruct): model type "llada", class LLaDAMoEModelLM,
    auto_map to its transformers-4 code (the stand-in, llada_moe_remote/), half of each head rotated; returns the
    weights. The mask id is not in its config: the tokenizer names it."""
    config = {"model_type": "llada", "architectures": ["LLaDAMoEModelLM"], "vocab_size": vocab, "hidden_size": d,
              "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 128, "use_cache": False,
              "rope_theta": 50000, "partial_rotary_factor": 0.5, "rope_scaling": None, "num_experts": experts,
              "num_experts_per_tok": 2, "expert_intermediate_size": 16, "pad_token_id": 0, "eos_token_id": eos_id,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16", "transformers_version": "4.46.3",
              "auto_map": {"AutoConfig": "configuration_standin.LLaDAConfig",
                           "AutoModel": "modeling_standin.LLaDAMoEModelLM",
                           "AutoModelForCausalLM": "modeling_standin.LLaDAMoEModelLM"}}
    layer = "model.layers.0."
    shapes = {"model.embed_tokens.weight": (vocab, d), "model.norm.weight": (d,), "model.norm.bias": (d,),
              "lm_head.weight": (vocab, d), layer + "qkv.weight": (3 * d, d), layer + "o_proj.weight": (d, d),
              layer + "gate.weight": (experts, d)}
    for e in range(experts):
        shapes.update({f"{layer}experts.{e}.0.weight": (16, d), f"{layer}experts.{e}.0.bias": (16,),
                       f"{layer}experts.{e}.2.weight": (d, 16), f"{layer}experts.{e}.2.bias": (d,)})
    return _put_remote_code(folder, REMOTE_MOE, config, shapes)


def _llada_tokenizer(mask: str, end_of_turn: str, template: str) -> PreTrainedTokenizerFast:
    specials = ["<|pad|>", "<|startoftext|>", "<|endoftext|>", end_of_turn, "<|start_header_id|>",
                "<|end_header_id|>", mask]
    return tokenizer(specials, template, pad_token="<|pad|>", bos_token="<|startoftext|>", eos_token="<|endoftext|>")


def llada(folder: Path) -> None:
    """LLaDA-8B / LLaDA-1.5 shape: remote code (transformers-4 style), mask id in the config and the tokenizer."""
    tok = _llada_tokenizer("<|mdm_mask|>", "<|eot_id|>", LLAMA3_TEMPLATE)
    mask_id, eos_id = tok.convert_tokens_to_ids("<|mdm_mask|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    remote_llada(folder, len(tok), mask_id, eos_id)
    tok.save_pretrained(folder)


def llada_moe(folder: Path) -> None:
    """LLaDA-MoE shape: its own remote code, <|mask|> and <|role_end|> in the tokenizer, its role template."""
    tok = _llada_tokenizer("<|mask|>", "<|role_end|>", LLADA_MOE_TEMPLATE)
    remote_llada_moe(folder, len(tok), tok.convert_tokens_to_ids("<|endoftext|>"))
    tok.save_pretrained(folder)


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


def _diffusiongemma(folder: Path) -> None:
    from tests.standins.diffusiongemma import diffusiongemma  # transformers' own class at a tiny size
    diffusiongemma(folder)


FAMILIES["google/diffusiongemma-26B-A4B-it"] = _diffusiongemma

"""LLaDA 2's hub layout as a local stand-in: config.json with auto_map to the hub code's file names, the
stand-in code (modeling_llada2_moe.py lists the real traits it keeps), tiny random weights and a tokenizer
with LLaDA 2's special tokens and a chat template in its family's shape."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).parent
# The auto_map as LLaDA 2's config.json writes it (the file names of its hub code).
AUTO_MAP = {"AutoConfig": "configuration_llada2_moe.LLaDA2MoeConfig",
            "AutoModel": "modeling_llada2_moe.LLaDA2MoeModel",
            "AutoModelForCausalLM": "modeling_llada2_moe.LLaDA2MoeModelLM"}
# LLaDA2.0-mini's config.json (model shape only), as quoted in public loaders' tests; used for its size.
MINI = dict(vocab_size=157184, hidden_size=2048, intermediate_size=5120, num_hidden_layers=20, num_attention_heads=16,
            num_key_value_heads=4, head_dim=128, moe_intermediate_size=512, num_experts=256, num_experts_per_tok=8,
            num_shared_experts=1, first_k_dense_replace=1, n_group=8, topk_group=4, use_qkv_bias=False,
            tie_word_embeddings=False, max_position_embeddings=32768, partial_rotary_factor=0.5, rope_theta=600000)
TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            moe_intermediate_size=16, num_experts=4, num_experts_per_tok=2, num_shared_experts=1,
            first_k_dense_replace=1, n_group=2, topk_group=1, max_position_embeddings=512)


def classes():
    """The stand-in's (config class, model class), imported as a package beside this file (needs the shims)."""
    from llada_demo.models.llada2 import make_loadable
    make_loadable()
    name = "tests.standins.llada2.modeling_llada2_moe"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "modeling_llada2_moe.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    module = sys.modules[name]
    from llada_demo.models.loading import give_default_rope
    give_default_rope(module)  # as the loader does for the hub module (its rotary embedding asks for "default")
    return module.LLaDA2MoeConfig, module.LLaDA2MoeModelLM


def _drop_stale_modules() -> None:
    """Remove older copies of this stand-in's code from transformers' dynamic-module cache (hub ids only).

    For a hub id, transformers copies the code once per commit hash and never compares it again, and
    `put_in_cache` names the commit after the repo id, so an edited stand-in would otherwise keep
    running its first version on a machine that ran the tests before. Only the two files are removed;
    transformers copies them again on the next load.
    """
    from transformers.utils import HF_MODULES_CACHE
    for name in ("configuration_llada2_moe.py", "modeling_llada2_moe.py"):
        current = (HERE / name).read_text()
        for cached in Path(HF_MODULES_CACHE).glob(f"transformers_modules/inclusionAI/*/*/{name}"):
            try:
                if cached.read_text() != current:
                    cached.unlink()
            except FileNotFoundError:  # another test process got there first
                pass


def llada2(folder: Path, seed: int = 0, **config_overrides) -> None:
    """LLaDA2.0-mini / LLaDA2.1-mini's layout in `folder`, at a few thousand parameters."""
    _drop_stale_modules()
    from tests.standins.families import LLADA_MOE_TEMPLATE, tokenizer
    tok = tokenizer(["<|endoftext|>", "<|role_end|>", "<|mask|>"], LLADA_MOE_TEMPLATE,
                    pad_token="<|endoftext|>", eos_token="<|endoftext|>", mask_token="<|mask|>")
    for name in ("configuration_llada2_moe.py", "modeling_llada2_moe.py"):
        shutil.copy(HERE / name, folder / name)
    config_class, model_class = classes()
    config = config_class(vocab_size=len(tok), pad_token_id=0, **{**TINY, **config_overrides})
    torch.manual_seed(seed)
    model = model_class(config)
    # Written by hand: transformers 5's save_pretrained reads `_tied_weights_keys` as a dict, and the hub
    # code's is a list (a trait kept here; loading is unaffected while tie_word_embeddings is False).
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    data = config.to_dict()
    data.update(auto_map=AUTO_MAP, architectures=["LLaDA2MoeModelLM"], model_type="llada2_moe")
    (folder / "config.json").write_text(json.dumps(data))
    tok.save_pretrained(folder)

"""LLaDA's and LLaDA-MoE's transformers-4 hub code loads and runs on transformers 5 through `models.load`.

Against the stand-ins of tests/standins/llada_remote and llada_moe_remote, which keep every trait of the real
files that loading, the samplers and the chat path touch (listed in their docstrings): first the failure each
trait causes on plain transformers 5 (the AttributeError on `use_cache` at the first forward pass, the KeyError
on RoPE's "default"), then the loader's mend, checked against independent references (a forward of the hub
class built by hand, transformers' own RoPE rules). `test_real_hub_code` runs the same checks on the real hub
files when LLADA_DEMO_REAL_HUB_CODE names a folder holding them (they cannot ship with the project).
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig
from transformers.dynamic_module_utils import get_class_from_dynamic_module
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from llada_demo import models
from llada_demo.engine import diffusion
from llada_demo.models import loading
from tests.standins import families


@pytest.fixture
def no_default_rope(monkeypatch):
    """transformers 5's table as it ships (another test may have added "default" to it globally)."""
    monkeypatch.delitem(ROPE_INIT_FUNCTIONS, "default", raising=False)


def build(tmp_path, family) -> Path:
    folder = tmp_path / family.__name__
    folder.mkdir()
    family(folder)
    return folder


def hub_config(folder: Path):
    """The config as transformers 5 builds it from the folder's own code (what AutoConfig does in a fresh
    process; in this one LLaDA's code has registered "llada", which AutoConfig would then prefer)."""
    reference = json.loads((folder / "config.json").read_text())["auto_map"]["AutoConfig"]
    return get_class_from_dynamic_module(reference, str(folder)).from_pretrained(str(folder))


def hub_class(folder: Path, config):
    """The hub's own model class, as transformers 5 would import it, untouched by the loader."""
    return get_class_from_dynamic_module(config.auto_map["AutoModel"], str(folder))


def logits(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(ids).logits


def check_loads_intact_and_samples(folder: Path) -> models.Loaded:
    """models.load → every saved tensor in place, logits equal to the hub class built by hand with the saved
    weights (use_cache set by hand where transformers 5 dropped it), the diffusion sampler runs to a full canvas."""
    loaded = models.load(str(folder), trust_remote_code=True, device="cpu")
    assert loaded.kind == models.DIFFUSION
    saved = load_file(str(folder / "model.safetensors"))
    state = loaded.model.state_dict()
    assert set(saved) <= set(state)
    for name, tensor in saved.items():
        assert torch.equal(state[name], tensor), name  # loaded, not re-initialised

    config = hub_config(folder)
    if not hasattr(config, "use_cache"):
        config.use_cache = json.loads((folder / "config.json").read_text()).get("use_cache", False)
    reference = hub_class(folder, config)(config)
    missing, unexpected = reference.load_state_dict(saved, strict=False)
    assert not unexpected and all(name not in saved for name in missing)
    ids = torch.tensor([[7, 8, 9, 10, 11, loaded.mask_id, loaded.mask_id]])
    torch.testing.assert_close(logits(loaded.model, ids), logits(reference.eval(), ids), rtol=0, atol=0)

    steps = list(diffusion.sample(loaded.model, torch.tensor([[7, 8, 9]]), steps=4, gen_length=8, block_length=8,
                                  mask_id=loaded.mask_id))
    assert len(steps) == 4 and loaded.mask_id not in steps[-1].tokens
    return loaded


# LLaDA-8B-Instruct / Base / 1.5 (one hub code)

def test_llada_config_drops_use_cache_on_transformers5_and_the_forward_fails(tmp_path):
    """The issue's failure, on the stand-in: plain transformers 5 builds LLaDAConfig without `use_cache`, and the
    first forward pass reads it; with the loader's class patches alone (post_init, tie_weights) it still fails."""
    folder = build(tmp_path, families.llada)
    config = hub_config(folder)
    assert "use_cache" not in vars(config)
    model = loading._transformers5_compatible(hub_class(folder, config))(config)
    with pytest.raises(AttributeError, match="use_cache"):
        model(torch.tensor([[7, 8, 9]]))


def test_llada_config_gets_use_cache_back_from_config_json_or_its_declared_default(tmp_path):
    folder = build(tmp_path, families.llada)
    assert loading._read_config(str(folder), True).use_cache is False  # config.json's value
    stored = json.loads((folder / "config.json").read_text())
    del stored["use_cache"]
    (folder / "config.json").write_text(json.dumps(stored))
    config = loading._read_config(str(folder), True)
    assert config.use_cache is False  # LLaDAConfig.__init__(use_cache=False, ...)
    assert not hasattr(config, "temperature")  # a generation parameter the class does not declare stays dropped


def test_llada_loads_intact_matches_its_own_forward_and_samples(tmp_path):
    loaded = check_loads_intact_and_samples(build(tmp_path, families.llada))
    assert loaded.model.config.use_cache is False and loaded.eos_ids
    assert loaded.tokenizer.convert_ids_to_tokens(loaded.mask_id) == "<|mdm_mask|>"


def test_llada_init_device_meta_is_overridden_and_device_map_auto_loads(tmp_path):
    """config.json says init_device "meta"; the hub class builds on the CPU anyway. device_map="auto" needs
    `_no_split_modules`: the names it gives match the loaded blocks, and an "auto" load gives the same logits."""
    folder = build(tmp_path, families.llada)
    loaded = models.load(str(folder), trust_remote_code=True, device="cpu")
    assert loaded.model.config.init_device == "meta"
    assert all(p.device.type == "cpu" for p in loaded.model.parameters())
    preset = models.resolve(str(folder), trust_remote_code=True)
    config = loading._read_config(str(folder), True)
    cls = loading._model_class(preset, config, models.DIFFUSION)
    blocks = {type(m).__name__ for m in loaded.model.modules()}
    assert set(cls._no_split_modules) & blocks
    spread = cls.from_pretrained(str(folder), config=config, dtype=torch.float32, device_map="auto").eval()
    ids = torch.tensor([[7, 8, 9, loaded.mask_id]])
    torch.testing.assert_close(logits(spread, ids), logits(loaded.model, ids), rtol=0, atol=0)


def test_an_earlier_trusted_llada_does_not_let_another_folder_skip_trust(tmp_path):
    """LLaDA's hub code registers "llada" with AutoConfig on import: a second folder must still ask for trust."""
    first, second = build(tmp_path, families.llada), tmp_path / "second"
    second.mkdir()
    families.llada(second)
    models.load(str(first), trust_remote_code=True, device="cpu")
    with pytest.raises(ValueError, match="trust-remote-code"):
        models.load(str(second), device="cpu")


# LLaDA-MoE

def test_llada_moe_after_llada_in_one_process_reads_its_own_config(tmp_path, no_default_rope):
    """Both hub codes name their model type "llada", and LLaDA's registers it with AutoConfig: a Space that
    switches from LLaDA-8B to LLaDA-MoE must still read LLaDA-MoE's config with LLaDA-MoE's class."""
    models.load(str(build(tmp_path, families.llada)), trust_remote_code=True, device="cpu")
    with pytest.raises(AttributeError, match="hidden_size"):  # what AutoConfig itself does now
        AutoConfig.from_pretrained(str(build(tmp_path, families.llada_moe)), trust_remote_code=True)
    loaded = models.load(str(tmp_path / "llada_moe"), trust_remote_code=True, device="cpu")
    assert type(loaded.model).__name__ == "LLaDAMoEModelLM" and loaded.model.config.num_experts == 4


def test_llada_moe_on_plain_transformers5_misses_rope_default_and_leaves_inv_freq_unset(tmp_path, no_default_rope,
                                                                                          monkeypatch):
    folder = build(tmp_path, families.llada_moe)
    config = hub_config(folder)
    cls = hub_class(folder, config)
    module = sys.modules[cls.__module__]
    monkeypatch.setattr(module, "ROPE_INIT_FUNCTIONS", ROPE_INIT_FUNCTIONS)  # as transformers 5 ships it
    with pytest.raises(KeyError, match="default"):
        cls(config)
    # Past that (the loader's table), transformers 5's meta-device loading leaves the rotary buffer unset.
    mended = {**ROPE_INIT_FUNCTIONS, "default": loading._default_rope_parameters}
    monkeypatch.setattr(module, "ROPE_INIT_FUNCTIONS", mended)
    # Uninitialised memory made visible: transformers 5 allocates missing tensors with torch.empty_like.
    empty_like = torch.empty_like
    monkeypatch.setattr(torch, "empty_like", lambda t, **kw: empty_like(t, **kw).fill_(float("nan")))
    plain = cls.from_pretrained(str(folder), config=config, dtype=torch.float32)
    monkeypatch.setattr(torch, "empty_like", empty_like)
    assert torch.isnan(plain.model.rotary_emb.inv_freq).all()  # nothing filled it: every logit would be wrong
    assert not any(torch.isnan(p).any() for p in plain.parameters())  # the weights did load
    expected, _ = loading._default_rope_parameters(config)
    loading._recompute_rope_buffers(plain)
    assert torch.equal(plain.model.rotary_emb.inv_freq, expected)


def test_llada_moe_loads_intact_matches_its_own_forward_and_samples(tmp_path, no_default_rope):
    loaded = check_loads_intact_and_samples(build(tmp_path, families.llada_moe))
    assert "default" not in ROPE_INIT_FUNCTIONS  # the rule went to the hub module only, not to transformers
    assert loaded.tokenizer.convert_ids_to_tokens(loaded.mask_id) == "<|mask|>"
    assert "<|role_end|>" in loaded.tokenizer.convert_ids_to_tokens(list(loaded.eos_ids))


@pytest.mark.parametrize("partial", [1.0, 0.5])
def test_default_rope_rule_equals_transformers_own(partial):
    """The rule given back to hub code equals the plain RoPE transformers 5 computes inside its models
    (StableLM's rotates a part of each head, as LLaDA-MoE may)."""
    from transformers import StableLmConfig
    from transformers.models.stablelm.modeling_stablelm import StableLmRotaryEmbedding
    config = StableLmConfig(hidden_size=64, num_attention_heads=4, partial_rotary_factor=partial, rope_theta=50000.0)
    expected, scaling = StableLmRotaryEmbedding.compute_default_rope_parameters(config)

    class HubConfig:  # what LLaDA-MoE's config holds
        hidden_size, num_attention_heads, rope_theta, partial_rotary_factor = 64, 4, 50000.0, partial

    inv_freq, attention_scaling = loading._default_rope_parameters(HubConfig(), "cpu")
    torch.testing.assert_close(inv_freq, expected)
    assert attention_scaling == scaling == 1.0


# The real hub files, where the operator has them

REAL = os.environ.get("LLADA_DEMO_REAL_HUB_CODE")


def real_folder(tmp_path, source: Path, code: tuple[str, ...], config: dict, family) -> Path:
    """A tiny random model around the real hub code: the stand-in's tokenizer and config sizes, the real files."""
    folder = build(tmp_path, family)
    for name in ("configuration_standin.py", "modeling_standin.py", "model.safetensors"):
        (folder / name).unlink()
    for name in code:
        shutil.copy(source / name, folder / name)
    (folder / "config.json").write_text(json.dumps(config))
    stored = hub_config(folder)
    stored.use_cache = config.get("use_cache", False)
    cls = loading._transformers5_compatible(hub_class(folder, stored))
    torch.manual_seed(0)
    state = cls(stored).state_dict()
    from safetensors.torch import save_file
    weights = families._random_weights({name: tuple(tensor.shape) for name, tensor in state.items()})
    save_file(weights, str(folder / "model.safetensors"))
    return folder


@pytest.mark.skipif(not REAL, reason="set LLADA_DEMO_REAL_HUB_CODE to a folder with llada/ and llada_moe/ hub files")
@pytest.mark.parametrize("family", ["llada", "llada_moe"])
def test_real_hub_code(tmp_path, family, no_default_rope):
    """LLADA_DEMO_REAL_HUB_CODE/llada: configuration_llada.py, modeling_llada.py (GSAI-ML/LLaDA-8B-Instruct);
    LLADA_DEMO_REAL_HUB_CODE/llada_moe: configuration_lladamoe.py, modeling_lladamoe.py (inclusionAI's)."""
    source = Path(REAL) / family
    if family == "llada":
        tok = families._llada_tokenizer("<|mdm_mask|>", "<|eot_id|>", families.LLAMA3_TEMPLATE)
        v = len(tok)
        config = {"model_type": "llada", "architectures": ["LLaDAModelLM"], "activation_type": "silu",
                  "block_type": "llama", "rope": True, "rope_theta": 500000.0, "alibi": False, "flash_attention": False,
                  "d_model": 32, "n_heads": 2, "n_kv_heads": 2, "n_layers": 2, "mlp_hidden_size": 64,
                  "mlp_ratio": 4, "vocab_size": v, "embedding_size": v, "max_sequence_length": 128,
                  "layer_norm_type": "rms", "rms_norm_eps": 1e-5, "include_bias": False, "include_qkv_bias": False,
                  "weight_tying": False, "init_device": "meta", "use_cache": False, "eos_token_id": 2,
                  "pad_token_id": 2, "mask_token_id": tok.convert_tokens_to_ids("<|mdm_mask|>"),
                  "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig",
                               "AutoModel": "modeling_llada.LLaDAModelLM",
                               "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM"}}
        folder = real_folder(tmp_path, source, ("configuration_llada.py", "modeling_llada.py"), config, families.llada)
    else:
        tok = families._llada_tokenizer("<|mask|>", "<|role_end|>", families.LLADA_MOE_TEMPLATE)
        config = {"model_type": "llada", "architectures": ["LLaDAMoEModelLM"], "vocab_size": len(tok),
                  "hidden_size": 32, "dense_intermediate_size": 64, "expert_intermediate_size": 16,
                  "shared_expert_intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                  "num_key_value_heads": 2, "max_position_embeddings": 128, "use_cache": False, "pad_token_id": 0,
                  "eos_token_id": 2, "rope_theta": 50000, "partial_rotary_factor": 0.5, "rope_scaling": None,
                  "num_experts_per_tok": 2, "num_experts": 4, "norm_topk_prob": True, "qk_layernorm": True,
                  "moe_layer_freq": [0, 1], "moe_router_enable_expert_bias": False,
                  "moe_router_score_function": "softmax", "routed_scaling_factor": 1, "router_num_group": 1,
                  "router_topk_group": 1,
                  "auto_map": {"AutoConfig": "configuration_lladamoe.LLaDAConfig",
                               "AutoModel": "modeling_lladamoe.LLaDAMoEModelLM",
                               "AutoModelForCausalLM": "modeling_lladamoe.LLaDAMoEModelLM"}}
        folder = real_folder(tmp_path, source, ("configuration_lladamoe.py", "modeling_lladamoe.py"), config,
                             families.llada_moe)
    check_loads_intact_and_samples(folder)

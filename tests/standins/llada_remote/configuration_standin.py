"""A stand-in for LLaDA's hub config (GSAI-ML/LLaDA-8B-Instruct, LLaDA-8B-Base and LLaDA-1.5 publish the same
`configuration_llada.py`), for tests only; written for this project, not a copy. The traits it keeps are listed
in modeling_standin.py's docstring (C1-C4 here).
"""

from dataclasses import dataclass
from typing import Optional

from transformers import AutoConfig, PretrainedConfig


@dataclass
class ModelConfig:
    """C1: the architecture lives in a plain dataclass (configuration_llada.py:129-337), whose fields the model
    reads back one by one from the PretrainedConfig. The real one has some sixty fields; these are the ones
    this tiny model needs, with the real defaults where it has them (weight_tying True, init_device None)."""

    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 1
    mlp_hidden_size: int = 64
    vocab_size: int = 64
    embedding_size: Optional[int] = None
    max_sequence_length: int = 128
    weight_tying: bool = True
    init_device: Optional[str] = None
    mask_token_id: Optional[int] = 50256


class LLaDAConfig(PretrainedConfig):
    model_type = "llada"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, use_cache: bool = False, **kwargs):
        # C2: every field (the dataclass defaults, overridden by config.json) AND use_cache reach the base
        # class as keyword arguments (configuration_llada.py:437-447); nothing is set on self first.
        fields_and_kwargs = dict(ModelConfig().__dict__)
        fields_and_kwargs.update(kwargs)
        fields_and_kwargs["use_cache"] = use_cache
        fields_and_kwargs.setdefault("architectures", ["LLaDAModelLM"])
        super().__init__(**fields_and_kwargs)

    # C3: the transformers names are read-only aliases of LLaDA's own (configuration_llada.py:449-459).
    @property
    def num_attention_heads(self):
        return self.n_heads

    @property
    def num_hidden_layers(self):
        return self.n_layers

    @property
    def hidden_size(self):
        return self.d_model


# C4: registered with AutoConfig at import, under the real model type (configuration_llada.py:463).
AutoConfig.register("llada", LLaDAConfig)

"""A stand-in for LLaDA's hub model code (`modeling_llada.py` of GSAI-ML/LLaDA-8B-Instruct, -Base and LLaDA-1.5),
for tests only: written for this project in its own words, a tiny bidirectional mask predictor with the real
file's interface. What it is not: LLaDA's architecture (no RoPE, no SwiGLU, one attention layer per block).

The real files were read in public vendored copies (the hub itself is out of reach here): configuration_llada.py
is byte-identical in seven repositories (md5 6ab24ec2; e.g. zhaoyMa/Saber@2f061e2, chunsanHong/UPO@8084c40,
radi-cho/reasoning-diffusion@ddc7b2a, a clone of the hub repository); modeling_llada.py was rebuilt from
radi-cho/reasoning-diffusion@ddc7b2a (LLaDA-8B-Instruct/modeling_llada.py) and ims-kdks/LLaDA@5dc3efd
(model/modeling_llada.py) by dropping each copy's own additions, and then equals a third, martian422/MaskGRPO
@b74ba3c, except for its commented-out prints. Line numbers below are of those files.

Traits the loader, the samplers and the chat path touch, and where each comes from:

C1-C4 (configuration_standin.py) the config: a dataclass of fields (configuration_llada.py:129-337);
   `LLaDAConfig.__init__(use_cache=False, **kwargs)` hands all of them AND `use_cache` to
   `PretrainedConfig.__init__` as keyword arguments (:437-447), which on transformers 5 drops `use_cache`
   (a generation parameter): the cause of the AttributeError at the first forward pass; hidden_size /
   num_attention_heads / num_hidden_layers are properties (:449-459); `AutoConfig.register("llada", ...)` (:463).
M1 the model class reads the fields back one by one from the config into the dataclass
   (`create_model_config_from_pretrained_config`, modeling_llada.py:1363-1373) and forces
   `init_device = "cpu"` (:1391); config.json says "meta" (the inner model, an nn.Module, builds its layers
   on `config.init_device`, :1059-1091).
M2 `LLaDAModelLM(PreTrainedModel)` with `base_model_prefix = "model"` and
   `_no_split_modules = ["LLaDABlock", "LLaDASequentialBlock", "LLaDALlamaBlock"]` (:1376-1383), read by
   `device_map="auto"`; the checkpoints use block_type "llama", so the blocks are `LLaDALlamaBlock`s.
M3 `__init__(config, model=None, init_params=False)` never calls `post_init()` (:1385-1394).
M4 weight names `model.transformer.wte.weight`, `model.transformer.blocks.{i}.*`, `model.transformer.ff_out.weight`
   (:1057-1091); with weight_tying false (as in every published config.json) ff_out is its own Linear.
M5 `forward(input_ids, inputs_embeds, attention_mask, attention_bias, past_key_values, labels, use_cache,
   output_attentions, output_hidden_states, return_dict, cache_position)` (:1396-1409); it reads
   `self.config.use_cache` when use_cache is None (:1410-1411) and `self.config.use_return_dict` (:1416),
   raises on output_attentions (:1413-1414), and the inner model asserts that no cache is asked for (:1206).
M6 it returns `CausalLMOutputWithPast(logits, past_key_values, hidden_states)`, or a tuple without return_dict
   (:1436-1444); `can_generate()` is True (:1446).
M7 `tie_weights(self)` takes no arguments (transformers 5 passes `missing_keys=`, `recompute_mapping=`) and
   ties by assigning the embedding module to ff_out (:1489-1491).
M8 get/set input and output embeddings through `model.transformer` (:1471-1487);
   `AutoModel.register(LLaDAConfig, LLaDAModelLM)` at import (:1494).
"""

from dataclasses import fields
from typing import NamedTuple, Optional

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_standin import LLaDAConfig, ModelConfig


class LLaDAOutput(NamedTuple):
    logits: torch.Tensor  # (B, L, V)
    attn_key_values: Optional[list]
    hidden_states: Optional[tuple]


class LLaDALlamaBlock(nn.Module):
    """One bidirectional block: attention then a feed-forward layer, each with a residual."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.attn = nn.MultiheadAttention(config.d_model, config.n_heads, batch_first=True, device=config.init_device)
        self.ff_proj = nn.Linear(config.d_model, config.mlp_hidden_size, device=config.init_device)
        self.ff_out = nn.Linear(config.mlp_hidden_size, config.d_model, device=config.init_device)

    def forward(self, x, key_padding_mask=None):  # x: (B, L, D)
        y, _ = self.attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False)
        x = x + y
        return x + self.ff_out(torch.tanh(self.ff_proj(x)))


class LLaDAModel(nn.Module):
    """The inner model: a plain nn.Module built from the dataclass config on `config.init_device` (M1, M4)."""

    def __init__(self, config: ModelConfig, init_params: bool = True):
        super().__init__()
        self.config = config
        vocab = config.embedding_size or config.vocab_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, config.d_model, device=config.init_device),
            blocks=nn.ModuleList(LLaDALlamaBlock(config) for _ in range(config.n_layers))))
        if not config.weight_tying:
            self.transformer.update({"ff_out": nn.Linear(config.d_model, vocab, bias=False, device=config.init_device)})

    def forward(self, input_ids, input_embeddings=None, attention_mask=None, attention_bias=None,
                past_key_values=None, use_cache=False, output_hidden_states=None) -> LLaDAOutput:
        assert past_key_values is None and not use_cache, "a masked diffusion model keeps no cache (M5)"
        x = self.transformer.wte(input_ids) if input_embeddings is None else input_embeddings  # (B, L, D)
        pad = None if attention_mask is None else ~attention_mask.bool()
        hidden = [x]
        for block in self.transformer.blocks:
            x = block(x, pad)
            hidden.append(x)
        if self.config.weight_tying:
            logits = nn.functional.linear(x, self.transformer.wte.weight)
        else:
            logits = self.transformer.ff_out(x)  # (B, L, V)
        return LLaDAOutput(logits, None, tuple(hidden) if output_hidden_states else None)


class LLaDAModelLM(PreTrainedModel):
    config_class = LLaDAConfig
    base_model_prefix = "model"
    _no_split_modules = ["LLaDABlock", "LLaDASequentialBlock", "LLaDALlamaBlock"]  # M2

    def __init__(self, config: LLaDAConfig, model: Optional[LLaDAModel] = None, init_params: bool = False):
        super().__init__(config)
        if model is None:
            model_config = ModelConfig(**{f.name: getattr(config, f.name) for f in fields(ModelConfig)})  # M1
            model_config.init_device = "cpu"
            model = LLaDAModel(model_config, init_params=init_params)
        self.model = model
        # M3: no self.post_init() here, as in the real file.

    def forward(self, input_ids=None, inputs_embeds=None, attention_mask=None, attention_bias=None,
                past_key_values=None, labels=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, cache_position=None):
        if use_cache is None:
            use_cache = self.config.use_cache  # M5: the attribute transformers 5 drops
        if output_attentions:
            raise ValueError("output_attentions is not supported by LLaDA")
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        out = self.model.forward(input_ids=input_ids, input_embeddings=inputs_embeds, attention_mask=attention_mask,
                                 attention_bias=attention_bias, past_key_values=past_key_values,
                                 use_cache=use_cache, output_hidden_states=output_hidden_states)
        if not return_dict:
            return (out.logits,) + tuple(out[1:])
        return CausalLMOutputWithPast(logits=out.logits, past_key_values=out.attn_key_values,
                                      hidden_states=out.hidden_states)  # M6

    def can_generate(self) -> bool:
        return True

    def get_input_embeddings(self):
        return self.model.transformer.wte

    def set_input_embeddings(self, value):
        self.model.transformer.wte = value

    def get_output_embeddings(self):
        return self.model.transformer.wte if self.config.weight_tying else self.model.transformer.ff_out

    def set_output_embeddings(self, value):
        self.model.transformer["wte" if self.config.weight_tying else "ff_out"] = value

    def tie_weights(self):  # M7: no keyword arguments
        if self.config.weight_tying:
            self.model.transformer.ff_out = self.model.transformer.wte


AutoModel.register(LLaDAConfig, LLaDAModelLM)  # M8

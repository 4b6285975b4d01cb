"""A stand-in for LLaDA-MoE's hub model code (inclusionAI/LLaDA-MoE-7B-A1B-Instruct, `modeling_lladamoe.py`), for
tests only: written for this project in its own words, a tiny bidirectional mixture of experts with the real
file's interface. What it is not: LLaDA-MoE's architecture (one attention layer, a naive top-k expert loop).

The real files were read in InfiniTensor/InfiniLM's vendored copies (modeling_lladamoe.py@0a7e522,
configuration_lladamoe.py@239f1d7), whose names match the hub's (`LLaDAConfig`, model type "llada", class
`LLaDAMoEModelLM`); ZHZisZZ/dllm-trainer@25bfd3c holds a copy renamed to `LLaDAMoEConfig` / "lladamoe" that also
honours attention masks (its README says to rewrite the hub config.json to match it). Line numbers are the
InfiniLM files'.

Traits the loader, the samplers and the chat path touch, and where each comes from:

E1 (configuration_standin.py) the config sets its fields, `use_cache` included, on self before calling
   `PretrainedConfig.__init__` (configuration_lladamoe.py:52-97), and calls transformers 4's
   `rope_config_validation(self)` (:89).
E2 the rotary embedding looks up `ROPE_INIT_FUNCTIONS[rope_type]` when the model is built, "default" when
   rope_scaling is None (modeling_lladamoe.py:175-185), an entry transformers 5 removed (KeyError), and calls it
   as `fn(config, device)` for (inv_freq, attention_scaling); only the first `cos.shape[-1]` dimensions of a
   head are rotated (partial_rotary_factor, :260). The module keeps `rope_init_fn`, `config`, `rope_kwargs`
   and `original_inv_freq` (:182-187), and `inv_freq` is a non-persistent buffer (:186).
E3 `LLaDAMoEPreTrainedModel` has `_no_split_modules = ["LLaDAMoEDecoderLayer"]` (:836) and its own
   `_init_weights`, which initialises Linear and Embedding weights only (:844-854): transformers 5, which fills
   non-persistent buffers through `_init_weights` after a meta-device build, leaves `inv_freq` unset; the model
   and the LM call `post_init()` (:925, :1072); `_tied_weights_keys = ["lm_head.weight"]` is a transformers-4
   list (:1060), with tie_word_embeddings false.
E4 weight names `model.embed_tokens`, `model.layers.{i}.*`, `model.norm`, `lm_head` (:916-920, :1066).
E5 `LLaDAMoEModelLM.forward(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, labels,
   use_cache, output_attentions, output_hidden_states, output_router_logits, return_dict, cache_position,
   num_logits_to_keep)` (:1094-1109) reads `self.config.output_attentions`, `output_router_logits`,
   `output_hidden_states` and `use_return_dict` (:1135-1142); the inner model asserts no cache (:948); the
   attention mask is thrown away, attention is always full (:404, :527, :630, :772).
E6 it returns `MoeCausalLMOutputWithPast` (:1178).
"""

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import MoeCausalLMOutputWithPast
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from .configuration_standin import LLaDAConfig


class LLaDAMoERotaryEmbedding(nn.Module):
    def __init__(self, config: LLaDAConfig, device=None):
        super().__init__()
        self.rope_type = "default" if config.rope_scaling is None else config.rope_scaling.get("rope_type")
        self.config, self.rope_kwargs = config, {}
        self.rope_init_fn = ROPE_INIT_FUNCTIONS[self.rope_type]  # E2
        inv_freq, self.attention_scaling = self.rope_init_fn(self.config, device, **self.rope_kwargs)
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (rotated / 2,), E3
        self.original_inv_freq = self.inv_freq

    def forward(self, x, position_ids):  # position_ids: (B, L)
        angles = position_ids[..., None].float() * self.inv_freq  # (B, L, rotated / 2)
        angles = torch.cat((angles, angles), dim=-1)
        return (angles.cos() * self.attention_scaling).to(x.dtype), (angles.sin() * self.attention_scaling).to(x.dtype)


def rotate(x, cos, sin):
    """Rotate the first cos.shape[-1] features of each head, leave the rest (E2)."""
    d = cos.shape[-1]
    head, rest = x[..., :d], x[..., d:]
    half = torch.cat((-head[..., d // 2:], head[..., :d // 2]), dim=-1)
    return torch.cat((head * cos + half * sin, rest), dim=-1)


class LLaDAMoEDecoderLayer(nn.Module):
    """Full (bidirectional) attention and a top-k mixture of expert MLPs, each with a residual."""

    def __init__(self, config: LLaDAConfig):
        super().__init__()
        self.heads, self.head_dim = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.gate = nn.Linear(config.hidden_size, config.num_experts, bias=False)
        width = config.expert_intermediate_size
        self.experts = nn.ModuleList(nn.Sequential(nn.Linear(config.hidden_size, width), nn.SiLU(),
                                                   nn.Linear(width, config.hidden_size))
                                     for _ in range(config.num_experts))
        self.top_k = config.num_experts_per_tok

    def forward(self, x, cos, sin):  # x: (B, L, D)
        B, L, D = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # each (B, H, L, d)
        q, k = rotate(q, cos[:, None], sin[:, None]), rotate(k, cos[:, None], sin[:, None])
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=False)  # E5: no mask at all
        x = x + self.o_proj(y.transpose(1, 2).reshape(B, L, D))
        router_logits = self.gate(x)  # (B, L, E)
        weights, chosen = router_logits.softmax(-1).topk(self.top_k, dim=-1)  # (B, L, k)
        mixed = torch.zeros_like(x)
        for slot in range(self.top_k):
            for e, expert in enumerate(self.experts):
                picked = (chosen[..., slot] == e)[..., None]  # (B, L, 1)
                mixed = mixed + picked * weights[..., slot, None] * expert(x)
        return x + mixed, router_logits


class LLaDAMoEPreTrainedModel(PreTrainedModel):
    config_class = LLaDAConfig
    base_model_prefix = "model"
    _no_split_modules = ["LLaDAMoEDecoderLayer"]  # E3

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=0.02)


class LLaDAMoEModel(LLaDAMoEPreTrainedModel):
    def __init__(self, config: LLaDAConfig):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(LLaDAMoEDecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = nn.LayerNorm(config.hidden_size)
        self.rotary_emb = LLaDAMoERotaryEmbedding(config)
        self.post_init()

    def forward(self, input_ids=None, inputs_embeds=None, use_cache=None, past_key_values=None,
                cache_position=None, output_hidden_states=None):
        assert not use_cache and past_key_values is None and cache_position is None, "no cache (E5)"
        x = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds  # (B, L, D)
        positions = torch.arange(x.shape[1], device=x.device)[None].expand(x.shape[0], -1)  # (B, L)
        cos, sin = self.rotary_emb(x, positions)
        hidden, routers = [x], []
        for layer in self.layers:
            x, router_logits = layer(x, cos, sin)
            hidden.append(x)
            routers.append(router_logits)
        return self.norm(x), tuple(hidden), tuple(routers)


class LLaDAMoEModelLM(LLaDAMoEPreTrainedModel):
    _tied_weights_keys = ["lm_head.weight"]  # E3: transformers 4's list form

    def __init__(self, config: LLaDAConfig):
        super().__init__(config)
        self.model = LLaDAMoEModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, value):
        self.lm_head = value

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, labels=None, use_cache=None, output_attentions=None, output_hidden_states=None,
                output_router_logits=None, return_dict=None, cache_position=None, num_logits_to_keep=0):
        assert labels is None and num_logits_to_keep == 0, "no loss in the forward pass"
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_router_logits = (output_router_logits if output_router_logits is not None
                                else self.config.output_router_logits)
        output_hidden_states = (output_hidden_states if output_hidden_states is not None
                                else self.config.output_hidden_states)
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict  # E5
        last, hidden, routers = self.model(input_ids=input_ids, inputs_embeds=inputs_embeds, use_cache=use_cache,
                                           past_key_values=past_key_values, cache_position=cache_position)
        logits = self.lm_head(last)  # (B, L, V)
        if not return_dict:
            return (logits,)
        return MoeCausalLMOutputWithPast(logits=logits, hidden_states=hidden if output_hidden_states else None,
                                         router_logits=routers if output_router_logits else None)  # E6

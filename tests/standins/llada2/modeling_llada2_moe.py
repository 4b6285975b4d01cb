"""A stand-in for LLaDA 2's hub code (`modeling_llada2_moe.py`, LLaDA2.0-mini / LLaDA2.1-mini), for tests only.

Written for this project from the traits of the real file, not copied from it. The real file read: two
public vendored copies (sajadn/Megatron-Bridge `modeling_llada2_moe.py`, and
yks23/Information-Gain-Sampler `dllm/dllm/pipelines/llada2/models/modeling_llada2_moe.py`, a later revision
with `ALL_ATTENTION_FUNCTIONS`); both share every trait below. What the loader, diffusers' `LLaDA2Pipeline`
and the demo touch, and where each comes from in the real file:

- Imports `is_torch_fx_available` from `transformers.utils.import_utils` at module level (both copies); that
  name is gone in transformers 5, so the file fails to import there (ImportError).
- `LLaDA2MoeRotaryEmbedding.__init__` takes `rope_type` from `config.rope_scaling` ("default" when None) and
  calls `ROPE_INIT_FUNCTIONS[rope_type]`; transformers 5 has no "default" entry (KeyError), and its config
  turns `rope_scaling=None` into `{"rope_type": "default", ...}`. Partial rotary: `partial_rotary_factor`
  of `head_dim` is rotated (`apply_rotary_pos_emb` rotates `cos.shape[-1]` dims, passes the rest).
- `LLaDA2MoeModel.forward` reads `config.use_cache` (True by default) and `config.use_return_dict`; with
  `use_cache` it builds a cache (the Megatron-Bridge copy calls `DynamicCache.from_legacy_cache` and
  `get_usable_length`, both gone in transformers 5): callers pass `use_cache=False`.
- The attention mask goes through `_prepare_4d_causal_attention_mask_for_sdpa` (sdpa) or
  `_prepare_4d_causal_attention_mask` (eager): a 4D additive mask passes through unchanged; a 2D mask of
  ones over a square window becomes *no mask* (the attention has `is_causal = False`, so fully
  bidirectional); a 2D mask with zeros becomes a *causal* mask with padding. The model's own `generate`
  passes a 4D block-causal mask (`tril(ones(blocks, blocks))` repeated over `block_length`, `.log()`, bf16).
- Attention: fused `query_key_value` (bias `use_qkv_bias`), RMS `query_layernorm` / `key_layernorm` on
  `head_dim`, grouped KV heads, output `dense` (bias `use_bias`).
- Layers below `first_k_dense_replace` have a dense gated MLP (`intermediate_size`); the others a sparse MoE
  block: `gate` (sigmoid scores + `expert_bias` buffer, grouped top-k over `n_group` / `topk_group`,
  `num_experts_per_tok` experts, weights normalised and scaled by `routed_scaling_factor`), `experts.N`
  gated MLPs of `moe_intermediate_size`, and `shared_experts` of `moe_intermediate_size * num_shared_experts`.
- `inv_freq` is a non-persistent buffer computed in `__init__` (also kept as `original_inv_freq`), and
  `LLaDA2MoePreTrainedModel._init_weights` initialises only `nn.Linear` and `nn.Embedding` (normal with
  `initializer_range`, zero bias / padding row), so transformers 5's own rotary re-initialisation never runs.
- `LLaDA2MoeModelLM(LLaDA2MoePreTrainedModel, GenerationMixin)`: `.model` (`word_embeddings`, `layers`,
  `norm`, `rotary_emb`) and `lm_head`; `_tied_weights_keys = ["lm_head.weight"]`,
  `tie_word_embeddings=False`; `_no_split_modules = ["LLaDA2MoeDecoderLayer"]`; both classes call
  `post_init()`. `forward(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, labels,
  use_cache, output_attentions, output_hidden_states, output_router_logits, return_dict, **kwargs)` returns
  `MoeCausalLMOutputWithPast` with `logits` cast to float32.

What it is not: the real model (random weights, a few thousand parameters), nor its `generate`.
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from transformers.activations import ACT2FN
from transformers.cache_utils import DynamicCache
from transformers.generation.utils import GenerationMixin
from transformers.modeling_attn_mask_utils import (_prepare_4d_causal_attention_mask,
                                                   _prepare_4d_causal_attention_mask_for_sdpa)
from transformers.modeling_outputs import MoeCausalLMOutputWithPast, MoeModelOutputWithPast
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.modeling_utils import PreTrainedModel
from transformers.utils.import_utils import is_torch_fx_available  # noqa: F401  (as the real file: gone in transformers 5)

from .configuration_llada2_moe import LLaDA2MoeConfig


class LLaDA2MoeRMSNorm(nn.Module):
    def __init__(self, size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.variance_epsilon = eps

    def forward(self, h):
        dtype = h.dtype
        h = h.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * h.to(dtype)


class LLaDA2MoeRotaryEmbedding(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        scaling = getattr(config, "rope_scaling", None)
        self.rope_type = scaling.get("rope_type", scaling.get("type")) if scaling is not None else "default"
        self.config = config
        self.max_seq_len_cached = self.original_max_seq_len = config.max_position_embeddings
        self.rope_init_fn = ROPE_INIT_FUNCTIONS[self.rope_type]
        inv_freq, self.attention_scaling = self.rope_init_fn(config, device)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.original_inv_freq = self.inv_freq

    @torch.no_grad()
    def forward(self, x, position_ids):
        freqs = (self.inv_freq[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * self.attention_scaling).to(x.dtype), (emb.sin() * self.attention_scaling).to(x.dtype)


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rotary(q, k, cos, sin):
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    d = cos.shape[-1]
    q = torch.cat([q[..., :d] * cos + _rotate_half(q[..., :d]) * sin, q[..., d:]], dim=-1)
    k = torch.cat([k[..., :d] * cos + _rotate_half(k[..., :d]) * sin, k[..., d:]], dim=-1)
    return q, k


class LLaDA2MoeMLP(nn.Module):
    def __init__(self, config, intermediate_size):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, config.hidden_size, bias=False)
        self.act_fn = ACT2FN[config.hidden_act]

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LLaDA2MoeGate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.weight = nn.Parameter(torch.empty((config.num_experts, config.hidden_size)))
        self.register_buffer("expert_bias", torch.zeros(config.num_experts))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, h):
        c = self.config
        h = h.reshape(-1, h.shape[-1])
        logits = F.linear(h.float(), self.weight.float())
        scores = torch.sigmoid(logits)
        routing = scores + self.expert_bias
        groups = routing.view(len(h), c.n_group, -1).topk(min(2, c.num_experts // c.n_group), dim=-1)[0].sum(-1)
        keep = torch.zeros_like(groups).scatter_(1, groups.topk(c.topk_group, dim=-1)[1], 1)
        keep = keep.unsqueeze(-1).expand(len(h), c.n_group, c.num_experts // c.n_group).reshape(len(h), -1)
        idx = routing.masked_fill(~keep.bool(), float("-inf")).topk(c.num_experts_per_tok, dim=-1)[1]
        weight = scores.gather(1, idx)
        if c.num_experts_per_tok > 1:
            weight = weight / (weight.sum(-1, keepdim=True) + 1e-20)
        return idx, weight * c.routed_scaling_factor, logits


class LLaDA2MoeSparseMoeBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.experts = nn.ModuleList([LLaDA2MoeMLP(config, config.moe_intermediate_size)
                                      for _ in range(config.num_experts)])
        self.gate = LLaDA2MoeGate(config)
        self.shared_experts = LLaDA2MoeMLP(config, config.moe_intermediate_size * config.num_shared_experts)

    def forward(self, h):
        b, n, d = h.shape
        idx, weight, router_logits = self.gate(h)
        flat = h.reshape(-1, d)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):  # every token through its chosen experts, weighted
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if len(rows):
                out.index_add_(0, rows, expert(flat[rows]) * weight[rows, slot, None].to(flat.dtype))
        return out.view(b, n, d) + self.shared_experts(h), router_logits


class LLaDA2MoeAttention(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        self.is_causal = False
        self.query_key_value = nn.Linear(config.hidden_size, (self.heads + 2 * self.kv_heads) * self.head_dim,
                                         bias=config.use_qkv_bias)
        self.query_layernorm = LLaDA2MoeRMSNorm(self.head_dim, eps=config.rms_norm_eps)
        self.key_layernorm = LLaDA2MoeRMSNorm(self.head_dim, eps=config.rms_norm_eps)
        self.dense = nn.Linear(self.heads * self.head_dim, config.hidden_size, bias=config.use_bias)

    def forward(self, h, attention_mask, position_embeddings):
        b, n, _ = h.shape
        qkv = self.query_key_value(h).view(b, n, self.heads + 2 * self.kv_heads, self.head_dim)
        q, k, v = qkv.split([self.heads, self.kv_heads, self.kv_heads], dim=-2)
        q, k, v = self.query_layernorm(q.transpose(1, 2)), self.key_layernorm(k.transpose(1, 2)), v.transpose(1, 2)
        q, k = _rotary(q, k, *position_embeddings)
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask,
                                             is_causal=self.is_causal and attention_mask is None and n > 1)
        return self.dense(out.transpose(1, 2).reshape(b, n, -1))


class LLaDA2MoeDecoderLayer(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.attention = LLaDA2MoeAttention(config, layer_idx)
        dense = config.num_experts is None or layer_idx < config.first_k_dense_replace
        self.mlp = LLaDA2MoeMLP(config, config.intermediate_size) if dense else LLaDA2MoeSparseMoeBlock(config)
        self.input_layernorm = LLaDA2MoeRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = LLaDA2MoeRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, h, attention_mask, position_embeddings):
        h = h + self.attention(self.input_layernorm(h), attention_mask, position_embeddings)
        out = self.mlp(self.post_attention_layernorm(h))
        return h + (out[0] if isinstance(out, tuple) else out)


class LLaDA2MoePreTrainedModel(PreTrainedModel):
    config_class = LLaDA2MoeConfig
    base_model_prefix = "model"
    _no_split_modules = ["LLaDA2MoeDecoderLayer"]
    _supports_sdpa = True

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()


class LLaDA2MoeModel(LLaDA2MoePreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.layers = nn.ModuleList([LLaDA2MoeDecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = LLaDA2MoeRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = LLaDA2MoeRotaryEmbedding(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, output_attentions=None, output_hidden_states=None,
                output_router_logits=None, return_dict=None, **kwargs):
        use_cache = use_cache if use_cache is not None else self.config.use_cache
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        b, n = input_ids.shape[:2]
        past = 0
        if use_cache:  # the Megatron-Bridge copy's transformers-4 cache calls, as written there
            past_key_values = DynamicCache.from_legacy_cache(past_key_values)
            past = past_key_values.get_usable_length(n)
        if position_ids is None:
            position_ids = torch.arange(past, past + n, device=input_ids.device).unsqueeze(0)
        h = self.word_embeddings(input_ids)
        if self.config._attn_implementation == "sdpa" and not output_attentions:
            mask = _prepare_4d_causal_attention_mask_for_sdpa(attention_mask, (b, n), h, past)
        else:
            mask = _prepare_4d_causal_attention_mask(attention_mask, (b, n), h, past)
        position_embeddings = self.rotary_emb(h, position_ids)
        for layer in self.layers:
            h = layer(h, mask, position_embeddings)
        h = self.norm(h)
        if not return_dict:
            return (h,)
        return MoeModelOutputWithPast(last_hidden_state=h)


class LLaDA2MoeModelLM(LLaDA2MoePreTrainedModel, GenerationMixin):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config):
        super().__init__(config)
        self.model = LLaDA2MoeModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.model.word_embeddings

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, attention_mask: Optional[torch.Tensor] = None, position_ids=None,
                past_key_values=None, inputs_embeds=None, labels=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, output_router_logits=None, return_dict=None, **kwargs):
        return_dict = return_dict if return_dict is not None else self.config.use_return_dict
        outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
                             output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                             output_router_logits=output_router_logits, return_dict=return_dict, **kwargs)
        logits = self.lm_head(outputs[0]).float()
        if not return_dict:
            return (logits,)
        return MoeCausalLMOutputWithPast(logits=logits)

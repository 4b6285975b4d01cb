"""The project's own small LLaMA-style transformer, bidirectional or causal by one config flag.

One architecture serves both shipped models so that they differ in one thing only, the LLaDA point:
`causal=False` is the mask predictor of a masked diffusion model (no causal mask, as in LLaDA, Nie et
al. 2025, Sec. 2.1), `causal=True` is an ordinary next-token model with a KV cache. Pre-norm blocks with
RMSNorm, rotary position embeddings and a SwiGLU MLP, as in LLaMA (Touvron et al. 2023), which LLaDA-8B
also follows.

Importing this module registers the classes with transformers' Auto classes, so a saved folder loads
offline, without remote code, through `AutoModelForMaskedLM` or `AutoModelForCausalLM`.

The bidirectional model also reuses keys and values across the passes of a block (`BlockCache`), for
Fast-dLLM's block-wise approximate cache (Wu et al. 2025, arXiv 2505.22618): one pass over the whole
canvas keeps every layer's keys and values; a later pass feeds only a span of the canvas and attends to
the span's fresh keys and values with the kept ones of every other position (`engine/cache.py` decides
when to keep and which span to feed).

What it is not: no training loop (see `train.py`), no sampling (see `diffusion.py`,
`autoregressive.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM,
                          GenerationMixin, PreTrainedConfig, PreTrainedModel)
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_outputs import CausalLMOutputWithPast


class TinyConfig(PreTrainedConfig):
    model_type = "llada_demo_tiny"

    def __init__(self, vocab_size: int = 1024, hidden_size: int = 256, intermediate_size: int = 688,
                 num_hidden_layers: int = 4, num_attention_heads: int = 4, max_position_embeddings: int = 256,
                 rms_norm_eps: float = 1e-5, rope_theta: float = 10000.0, causal: bool = False,
                 initializer_range: float = 0.02, tie_word_embeddings: bool = True, **kwargs):
        if hidden_size % num_attention_heads != 0:
            raise ValueError(f"hidden_size ({hidden_size}) must be a multiple of num_attention_heads ({num_attention_heads}).")
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        self.causal = causal
        self.initializer_range = initializer_range
        # The causal twin is a decoder for `generate`; the diffusion model is not.
        kwargs.setdefault("is_decoder", causal)
        super().__init__(tie_word_embeddings=tie_word_embeddings, **kwargs)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in float32 for stability in bf16, as LLaMA does.
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rotary(positions: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype):
    """cos, sin of shape (B, 1, T, head_dim) for rotary embeddings at the given positions (B, T)."""
    # Computed per call rather than kept as a buffer: it is tiny, and buffers created in __init__ do
    # not survive transformers' meta-device initialisation when loading.
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim))
    freqs = positions.float()[..., None] * inv_freq  # (B, T, head_dim / 2)
    emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # (B, 1, T, head_dim)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


@dataclass
class BlockCache:
    """Every layer's keys and values (each (B, H, N, D), rotary applied) for a whole canvas of N tokens.

    Filled by a forward pass with `keep_kv=True`; a pass with `block_cache=` and `span=(start, end)` feeds
    only the canvas's tokens [start, end) and, in every layer, attends to the kept keys and values of
    the positions outside the span with the span's own fresh ones. The kept ones were computed when the
    canvas was as it was then; for a bidirectional model that is an approximation (Fast-dLLM's).
    """

    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)

    def around(self, layer: int, k: torch.Tensor, v: torch.Tensor, start: int, end: int):
        """Keys and values (B, H, N, D) of the whole canvas: the kept ones with [start, end) replaced by k, v."""
        keys, values = self.keys[layer], self.values[layer]
        return (torch.cat([keys[:, :, :start], k, keys[:, :, end:]], dim=2),
                torch.cat([values[:, :, :start], v, values[:, :, end:]], dim=2))


class Attention(nn.Module):
    def __init__(self, config: TinyConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)

    def forward(self, x, cos, sin, bias, is_causal, cache, block=None):
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, D)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)  # (B, H, past + T, D)
        if block is not None:
            block_cache, span = block
            if span is None:  # keeping: this pass sees the whole canvas
                block_cache.keys.append(k)
                block_cache.values.append(v)
            else:  # reusing: the span's queries see every position, kept ones outside the span
                k, v = block_cache.around(self.layer_idx, k, v, *span)  # (B, H, N, D)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=is_causal)  # (B, H, T, D)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, config: TinyConfig):
        super().__init__()
        self.gate_up = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)  # SwiGLU (Shazeer 2020)


class Block(nn.Module):
    def __init__(self, config: TinyConfig, layer_idx: int):
        super().__init__()
        self.attn_norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.attn = Attention(config, layer_idx)
        self.mlp_norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, bias, is_causal, cache, block=None):
        x = x + self.attn(self.attn_norm(x), cos, sin, bias, is_causal, cache, block)
        return x + self.mlp(self.mlp_norm(x))


def attention_bias(attention_mask: torch.Tensor | None, query_length: int, past_length: int,
                   causal: bool, device: torch.device) -> tuple[torch.Tensor | None, bool]:
    """The boolean mask for scaled_dot_product_attention (True = may attend), or None with a flag
    asking SDPA for its built-in causal mask (the fast path: causal, no padding, no cache)."""
    if attention_mask is None and (not causal or past_length == 0):
        return None, causal
    kv_length = past_length + query_length
    allowed = torch.ones(1, 1, query_length, kv_length, dtype=torch.bool, device=device)
    if causal:
        q_pos = torch.arange(past_length, kv_length, device=device)[:, None]
        allowed = allowed & (torch.arange(kv_length, device=device)[None, :] <= q_pos)
    if attention_mask is not None:
        keys = attention_mask[:, -kv_length:].bool()[:, None, None, :]  # (B, 1, 1, kv)
        allowed = allowed & keys
        # A query row that may see no key at all (a padding position before any token) would give NaN;
        # let it see itself: its output is never used.
        allowed = allowed | ~allowed.any(-1, keepdim=True)
    return allowed, False


class TinyTransformer(PreTrainedModel, GenerationMixin):
    config_class = TinyConfig
    base_model_prefix = "transformer"
    _no_split_modules = ["Block"]
    _tied_weights_keys = {"lm_head.weight": "embed_tokens.weight"}
    _supports_sdpa = True

    def __init__(self, config: TinyConfig):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed_tokens

    def set_input_embeddings(self, value):
        self.embed_tokens = value

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.LongTensor | None = None, past_key_values: Cache | None = None,
                use_cache: bool | None = None, labels: torch.LongTensor | None = None,
                keep_kv: bool = False, block_cache: BlockCache | None = None, span: tuple[int, int] | None = None,
                **kwargs) -> CausalLMOutputWithPast:
        """The usual forward pass; for the bidirectional model also the block cache's two kinds of pass:
        keep_kv=True returns every layer's keys and values as `past_key_values` (a `BlockCache`);
        block_cache=... with span=(start, end) takes input_ids = the canvas's tokens [start, end) and
        attention_mask (if any) for the whole canvas, and returns logits for the span only."""
        causal = self.config.causal
        B, T = input_ids.shape  # (B, T)
        if use_cache and not causal:
            raise ValueError("The bidirectional (diffusion) model has no KV cache: every step sees the whole canvas.")
        if (keep_kv or block_cache is not None) and causal:
            raise ValueError("The block cache is for the bidirectional (diffusion) model; the causal one has its KV cache.")
        if block_cache is not None:
            return self._span_forward(input_ids, attention_mask, block_cache, span)
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache()
        cache = past_key_values if (causal and past_key_values is not None) else None
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            if attention_mask is not None:
                # Left padding: positions count real tokens only, so a padded row matches an unpadded one.
                position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -T:]
            else:
                position_ids = torch.arange(past, past + T, device=input_ids.device)[None].expand(B, T)
        x = self.embed_tokens(input_ids)  # (B, T, C)
        cos, sin = rotary(position_ids, self.config.hidden_size // self.config.num_attention_heads,
                          self.config.rope_theta, x.dtype)
        bias, is_causal = attention_bias(attention_mask, T, past, causal, input_ids.device)
        kept = BlockCache() if keep_kv else None
        for block in self.layers:
            x = block(x, cos, sin, bias, is_causal, cache, None if kept is None else (kept, None))
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        if kept is not None:
            return CausalLMOutputWithPast(logits=logits, past_key_values=kept)
        loss = None
        if labels is not None:
            # Next-token loss for the causal model (labels = input_ids, shifted here); train.py computes
            # the diffusion loss itself.
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=logits, past_key_values=cache if use_cache else None)


    def _span_forward(self, span_ids: torch.LongTensor, attention_mask: torch.Tensor | None, block_cache: BlockCache,
                      span: tuple[int, int]) -> CausalLMOutputWithPast:
        """Logits (B, end - start, V) for the canvas's span [start, end), its tokens `span_ids`, attending to
        the kept keys and values of every other position."""
        start, end = span
        B, T = span_ids.shape  # (B, end - start)
        N = block_cache.keys[0].shape[2]
        if T != end - start or not 0 <= start < end <= N:
            raise ValueError(f"The span [{start}, {end}) and its {T} tokens do not fit a kept canvas of {N} tokens.")
        if attention_mask is not None:  # positions count real tokens only, as in the whole-canvas pass
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, start:end]
        else:
            position_ids = torch.arange(start, end, device=span_ids.device)[None].expand(B, T)
        x = self.embed_tokens(span_ids)  # (B, T, C)
        cos, sin = rotary(position_ids, self.config.hidden_size // self.config.num_attention_heads,
                          self.config.rope_theta, x.dtype)
        bias, _ = attention_bias(attention_mask, T, N - T, False, span_ids.device)  # keys: all N positions
        for block in self.layers:
            x = block(x, cos, sin, bias, False, None, (block_cache, span))
        return CausalLMOutputWithPast(logits=self.lm_head(self.norm(x)))

    @property
    def supports_block_cache(self) -> bool:
        """Whether `keep_kv` / `block_cache` passes are available (the bidirectional model only)."""
        return not self.config.causal


AutoConfig.register(TinyConfig.model_type, TinyConfig, exist_ok=True)
AutoModel.register(TinyConfig, TinyTransformer, exist_ok=True)
AutoModelForMaskedLM.register(TinyConfig, TinyTransformer, exist_ok=True)
AutoModelForCausalLM.register(TinyConfig, TinyTransformer, exist_ok=True)

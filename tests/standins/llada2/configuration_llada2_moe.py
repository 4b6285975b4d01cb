"""Stand-in for LLaDA 2's hub config (`configuration_llada2_moe.py`), for tests only: see modeling_llada2_moe.py."""

from transformers.configuration_utils import PretrainedConfig


class LLaDA2MoeConfig(PretrainedConfig):
    """The real class's shape: `model_type = "llada2_moe"`, every field set as an attribute before
    `PretrainedConfig.__init__`, `use_cache=True` and `rope_scaling=None` by default (so the rotary
    embedding asks `ROPE_INIT_FUNCTIONS` for "default"), `head_dim` from hidden_size / heads when unset."""

    model_type = "llada2_moe"

    def __init__(self, vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, hidden_act="silu", use_qkv_bias=False,
                 use_qk_norm=True, use_bias=True, rms_norm_eps=1e-6, norm_head=False, tie_word_embeddings=False,
                 embedding_dropout=0.0, attention_dropout=0.0, output_dropout=0.0, initializer_range=0.02,
                 max_position_embeddings=512, rope_theta=600000.0, use_cache=True, rope_scaling=None,
                 pad_token_id=0, num_experts=4, num_shared_experts=1, num_experts_per_tok=2, n_group=2,
                 topk_group=1, routed_scaling_factor=2.5, moe_intermediate_size=16, first_k_dense_replace=1,
                 head_dim=None, output_router_logits=False, partial_rotary_factor=0.5, **kwargs):
        self.vocab_size, self.hidden_size, self.intermediate_size = vocab_size, hidden_size, intermediate_size
        self.num_hidden_layers, self.num_attention_heads = num_hidden_layers, num_attention_heads
        self.num_key_value_heads, self.hidden_act = num_key_value_heads, hidden_act
        self.use_qkv_bias, self.use_qk_norm, self.use_bias, self.norm_head = use_qkv_bias, use_qk_norm, use_bias, norm_head
        self.rms_norm_eps, self.initializer_range = rms_norm_eps, initializer_range
        self.embedding_dropout, self.attention_dropout, self.output_dropout = embedding_dropout, attention_dropout, output_dropout
        self.max_position_embeddings, self.rope_theta, self.rope_scaling = max_position_embeddings, rope_theta, rope_scaling
        self.use_cache = use_cache
        self.head_dim = head_dim or hidden_size // num_attention_heads
        self.num_experts, self.num_shared_experts, self.num_experts_per_tok = num_experts, num_shared_experts, num_experts_per_tok
        self.n_group, self.topk_group, self.routed_scaling_factor = n_group, topk_group, routed_scaling_factor
        self.moe_intermediate_size, self.first_k_dense_replace = moe_intermediate_size, first_k_dense_replace
        self.output_router_logits, self.partial_rotary_factor = output_router_logits, partial_rotary_factor
        super().__init__(pad_token_id=pad_token_id, tie_word_embeddings=tie_word_embeddings, **kwargs)

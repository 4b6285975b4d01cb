"""A stand-in for LLaDA-MoE's hub config (inclusionAI/LLaDA-MoE-7B-A1B-Instruct, `configuration_lladamoe.py`), for
tests only; written for this project, not a copy. Its traits are listed in modeling_standin.py's docstring (E1).
"""

from transformers import PretrainedConfig
from transformers.modeling_rope_utils import rope_config_validation


class LLaDAConfig(PretrainedConfig):
    # E1: the real class is also named LLaDAConfig with model type "llada" (configuration_lladamoe.py:9-10), and
    # it sets every field, use_cache included, on self BEFORE calling the base __init__ (:52-97), so transformers 5
    # keeps use_cache; only the token ids and tie_word_embeddings reach the base class as arguments.
    model_type = "llada"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(self, vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                 num_key_value_heads=None, max_position_embeddings=128, rms_norm_eps=1e-5, use_cache=False,
                 rope_theta=50000, partial_rotary_factor=1.0, rope_scaling=None, num_experts=4,
                 num_experts_per_tok=2, expert_intermediate_size=16, output_router_logits=False,
                 pad_token_id=1, bos_token_id=None, eos_token_id=50279, tie_word_embeddings=False, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_attention_heads if num_key_value_heads is None else num_key_value_heads
        self.max_position_embeddings = max_position_embeddings
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.partial_rotary_factor = partial_rotary_factor
        self.rope_scaling = rope_scaling
        self.num_experts = num_experts
        self.num_experts_per_tok = num_experts_per_tok
        self.expert_intermediate_size = expert_intermediate_size
        self.output_router_logits = output_router_logits
        rope_config_validation(self)  # transformers-4 API, deprecated (a warning) on transformers 5 (:89)
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id,
                         tie_word_embeddings=tie_word_embeddings, **kwargs)

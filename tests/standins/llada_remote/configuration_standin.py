"""A stand-in for LLaDA's hub code (GSAI-ML/LLaDA-8B-Instruct, configuration_llada.py), for tests only."""

from transformers import PretrainedConfig


class StandinLLaDAConfig(PretrainedConfig):
    model_type = "llada_standin"

    def __init__(self, vocab_size=64, d_model=32, weight_tying=False, mask_token_id=3, **kwargs):
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.weight_tying = weight_tying
        self.mask_token_id = mask_token_id
        super().__init__(**kwargs)

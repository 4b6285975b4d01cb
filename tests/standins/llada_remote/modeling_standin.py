"""A stand-in for LLaDA's hub code (modeling_llada.py), for tests only.

It has the two traits that make LLaDA's remote code fail on transformers 5: `__init__` never calls
`post_init()`, and `tie_weights` takes no keyword arguments. Otherwise a tiny bidirectional mask
predictor: embeddings, one bidirectional self-attention layer, an output projection.
"""

from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_standin import StandinLLaDAConfig


class StandinLLaDAModelLM(PreTrainedModel):
    config_class = StandinLLaDAConfig
    base_model_prefix = "model"

    def __init__(self, config, model=None, init_params=False):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.attn = nn.MultiheadAttention(config.d_model, 2, batch_first=True)
        self.ff_out = nn.Linear(config.d_model, config.vocab_size, bias=False)
        # LLaDA's LLaDAModelLM.__init__ ends here too: no self.post_init().

    def tie_weights(self):  # LLaDA's signature: no keyword arguments
        if self.config.weight_tying:
            self.ff_out.weight = self.wte.weight

    def forward(self, input_ids, attention_mask=None, **kwargs):
        x = self.wte(input_ids)
        pad = None if attention_mask is None else ~attention_mask.bool()
        y, _ = self.attn(x, x, x, key_padding_mask=pad, need_weights=False)
        return CausalLMOutputWithPast(logits=self.ff_out(x + y))

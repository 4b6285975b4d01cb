"""Shared fixtures: one torch thread (the CI machine has 2 cores), tiny random models."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

import llada_demo  # noqa: E402,F401
from llada_demo.modeling import TinyConfig, TinyTransformer  # noqa: E402

VOCAB = 64
MASK_ID = 3


class NeverGuessMask(torch.nn.Module):
    """Wraps a random model so it never proposes the mask token, as a trained model never does
    (the mask is never a training target); otherwise a random model could "commit" a mask."""

    def __init__(self, model, mask_id=MASK_ID):
        super().__init__()
        self.model, self.mask_id, self.config = model, mask_id, model.config

    def forward(self, input_ids, attention_mask=None, **kwargs):
        out = self.model(input_ids, attention_mask=attention_mask, **kwargs)
        out.logits[..., self.mask_id] = -1e9  # not -inf: CFG subtracts two rows
        return out


def tiny(causal: bool, seed: int = 0, vocab: int = VOCAB) -> TinyTransformer:
    torch.manual_seed(seed)
    config = TinyConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=2, max_position_embeddings=128, causal=causal)
    model = TinyTransformer(config).eval()
    # Spread the random logits a little so the model has preferences (tied embeddings scale them).
    with torch.no_grad():
        model.embed_tokens.weight.mul_(10)
    return model


@pytest.fixture(scope="session")
def diffusion_model():
    return NeverGuessMask(tiny(causal=False))


@pytest.fixture(scope="session")
def ar_model():
    return tiny(causal=True, seed=1)

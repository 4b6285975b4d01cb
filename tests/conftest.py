"""Shared fixtures: one torch thread (the CI machine has 2 cores), tiny random models."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

import llada_demo  # noqa: E402,F401
from llada_demo.models.modeling import TinyConfig, TinyTransformer  # noqa: E402


class MaskLogitShift(torch.nn.Module):
    """A model with `shift` added to the mask token's logit. With -1e9 it never proposes [MASK], so the
    official sampler (which does not exclude it, tests/reference_llada.py) and ours, which does, can be
    compared token for token; with a large positive shift [MASK] is its top guess everywhere."""

    def __init__(self, model: torch.nn.Module, mask_id: int, shift: float):
        super().__init__()
        self.model, self.mask_id, self.shift, self.config = model, mask_id, shift, model.config

    def forward(self, input_ids, attention_mask=None, **kwargs):
        out = self.model(input_ids, attention_mask=attention_mask, **kwargs)
        out.logits[..., self.mask_id] += self.shift  # not -inf: CFG subtracts two rows of logits
        return out


VOCAB = 64
MASK_ID = 3


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
    return MaskLogitShift(tiny(causal=False), MASK_ID, -1e9)


@pytest.fixture(scope="session")
def ar_model():
    return tiny(causal=True, seed=1)


@pytest.fixture(scope="session")
def world():
    """The tiny world of seed 0, built once for every test that reads the corpus."""
    from llada_demo.tinyworld.corpus import build_world
    return build_world(0)


@pytest.fixture(scope="session")
def docs(world):
    from llada_demo.tinyworld.corpus import training_documents
    return training_documents(world)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served_app():
    """The real app (app.py), on the shipped diffusion model, served in-process on a free port."""
    import app

    port = free_port()
    demo = app.launch(app.parse_args(["--port", str(port)]), prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, one per test module (tests/browser.py); skipped where it is missing."""
    from tests import browser
    if not os.path.exists(browser.CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    with browser.launched() as launched:
        yield launched

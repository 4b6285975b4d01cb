"""The presets: the models an operator may run by name, what the page needs to know about each, and the
pair to run when the operator names none. Plain data, no torch, so that the app can lay out its page
before any model library is imported (app.py serves the page while the model loads).

What it is not: no loading (loading.py, which re-exports these names), no device checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "models"
DIFFUSION, AUTOREGRESSIVE = "diffusion", "autoregressive"


@dataclass(frozen=True)
class Preset:
    """A model the operator may run: where it comes from and what the page needs to know about it."""

    name: str
    source: str  # a hub id, or a folder under assets/models
    kind: str  # DIFFUSION or AUTOREGRESSIVE
    chat: bool = False  # takes a chat template (instruct models)
    remote_code: bool = False
    memory_gb: float = 0.1  # weights in the dtype used on GPU (bf16), roughly
    defaults: dict = field(default_factory=dict)  # gen_length, steps, block_length for the page
    description: str = ""


PRESETS = {p.name: p for p in (
    Preset("tiny-llada", str(ASSETS / "tiny-llada"), DIFFUSION, memory_gb=0.02,
           defaults=dict(gen_length=48, steps=48, block_length=16),
           description="the project's tiny masked-diffusion model, trained on its tiny world"),
    Preset("tiny-ar", str(ASSETS / "tiny-ar"), AUTOREGRESSIVE, memory_gb=0.02, defaults=dict(gen_length=48),
           description="the tiny diffusion model's autoregressive twin: same architecture, data and budget"),
    # Memory: parameters x 2 bytes (bf16), rounded up for activations at the page's lengths.
    Preset("llada-8b-instruct", "GSAI-ML/LLaDA-8B-Instruct", DIFFUSION, chat=True, remote_code=True, memory_gb=16.5,
           defaults=dict(gen_length=128, steps=128, block_length=32), description="LLaDA 8B Instruct (Nie et al. 2025)"),
    Preset("llada-8b-base", "GSAI-ML/LLaDA-8B-Base", DIFFUSION, remote_code=True, memory_gb=16.5,
           defaults=dict(gen_length=128, steps=128, block_length=128), description="LLaDA 8B Base"),
    Preset("llada-1.5", "GSAI-ML/LLaDA-1.5", DIFFUSION, chat=True, remote_code=True, memory_gb=16.5,
           defaults=dict(gen_length=128, steps=128, block_length=32), description="LLaDA 1.5 (VRPO-aligned)"),
    Preset("llada-moe-7b-instruct", "inclusionAI/LLaDA-MoE-7B-A1B-Instruct", DIFFUSION, chat=True, remote_code=True,
           memory_gb=15.0, defaults=dict(gen_length=128, steps=128, block_length=32),
           description="LLaDA-MoE 7B-A1B Instruct: a mixture of experts, 1.4 B parameters active per token"),
    # LLaDA 2 runs through diffusers' LLaDA2Pipeline (engine/llada2.py): steps are per block, and a token is
    # committed once its probability passes `threshold`; 2.1 also edits committed tokens (editing_threshold).
    # 16.26 B parameters (1.43 B active per token) x 2 bytes = 32.5 GB in bf16.
    Preset("llada2-mini", "inclusionAI/LLaDA2.0-mini", DIFFUSION, chat=True, remote_code=True, memory_gb=33.0,
           defaults=dict(gen_length=128, steps=32, block_length=32, threshold=0.95, editing_threshold=None),
           description="LLaDA2.0-mini: a 16B-A1.4B mixture of experts, block diffusion (diffusers' LLaDA2Pipeline)"),
    Preset("llada2.1-mini", "inclusionAI/LLaDA2.1-mini", DIFFUSION, chat=True, remote_code=True, memory_gb=33.0,
           defaults=dict(gen_length=128, steps=32, block_length=32, threshold=0.7, editing_threshold=0.5),
           description="LLaDA2.1-mini: LLaDA2.0-mini's architecture with token editing (diffusers' LLaDA2Pipeline)"),
    # DiffusionGemma diffuses by uniform noise, not masking, through diffusers' DiffusionGemmaPipeline
    # (engine/diffusiongemma.py); native in transformers 5.23. About 26 B parameters (4 B active per token)
    # x 2 bytes = ~52 GB in bf16: an 80 GB GPU or an H200. Its canvas (block) is 256 tokens; steps are per block.
    Preset("diffusiongemma", "google/diffusiongemma-26B-A4B-it", DIFFUSION, chat=True, memory_gb=52.0,
           defaults=dict(gen_length=256, steps=48, block_length=256, entropy_bound=0.1),
           description="DiffusionGemma 26B-A4B: uniform-noise block diffusion (diffusers' DiffusionGemmaPipeline)"),
    Preset("modernbert-large-chat", "dllm-hub/ModernBERT-large-chat-v0.1", DIFFUSION, chat=True, memory_gb=0.8,
           defaults=dict(gen_length=64, steps=64, block_length=32),
           description="ModernBERT-large fine-tuned as a masked-diffusion chat model (dLLM): small enough for a CPU"),
    Preset("qwen2.5-0.5b-instruct", "Qwen/Qwen2.5-0.5B-Instruct", AUTOREGRESSIVE, chat=True, memory_gb=1.0,
           defaults=dict(gen_length=128), description="Qwen2.5 0.5B Instruct, a small AR model for CPUs"),
    Preset("qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct", AUTOREGRESSIVE, chat=True, memory_gb=15.5,
           defaults=dict(gen_length=128), description="Qwen2.5 7B Instruct, the paper's AR comparison class"),
    Preset("llama-3-8b-instruct", "meta-llama/Meta-Llama-3-8B-Instruct", AUTOREGRESSIVE, chat=True, memory_gb=16.5,
           defaults=dict(gen_length=128), description="Llama 3 8B Instruct, the AR model LLaDA 8B is compared with"),
)}
SHIPPED = ("tiny-llada", "tiny-ar")


def default_pair(free_gpu_gb: float | None) -> tuple[str, str]:
    """The presets to run when the operator names none: LLaDA-8B-Instruct and the paper's AR peer on a CUDA
    GPU with room for them (the AR peer only when both fit), else the shipped tiny pair.

    free_gpu_gb: free memory of the CUDA GPUs, None without one.
    """
    llada, peer, small = PRESETS["llada-8b-instruct"], PRESETS["qwen2.5-7b-instruct"], PRESETS["qwen2.5-0.5b-instruct"]
    room = 0.9 * (free_gpu_gb or 0.0)  # the margin check_fits keeps
    if room < llada.memory_gb:
        return SHIPPED
    for ar in (peer, small):
        if room >= llada.memory_gb + ar.memory_gb:
            return llada.name, ar.name
    return llada.name, "none"

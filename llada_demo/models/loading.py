"""The only place that loads models: presets and their allowlist, device and dtype, special token ids.

A model comes from a local Hugging Face folder the operator names, or from a hub id on the allowlist
(the presets below, extended by the operator with `--allow ID` / `LLADA_DEMO_ALLOW`). Nothing typed into
the web page reaches here as an id or a path. Remote code (`trust_remote_code`) runs only for presets
that need it or a local folder the operator explicitly trusts; LLaDA's and LLaDA-MoE's hub code, written for
transformers 4, is made to work on transformers 5 at load time without touching it (its config in `_read_config`,
its model class in `_transformers5_compatible`); tests/test_llada_hub_code.py runs the real files.
Hub weights come from the Hugging Face cache (`cache_dir`, default the hub's own), where
`python -m llada_demo.models.download` puts them, so a machine can run offline; `missing` says, before any
loading, which preset has no weights there and cannot fetch them.

What it is not: no sampling, no tokenization beyond reading the special token ids.
"""

from __future__ import annotations

import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

import llada_demo.models.modeling  # noqa: F401  (registers the project's own architecture)
from llada_demo.models import diffusiongemma, llada2
from llada_demo.models.presets import (ASSETS, AUTOREGRESSIVE, DIFFUSION, PRESETS, SHIPPED, Preset,  # noqa: F401
                                      default_pair)
# Token strings that mark a mask or the end of a turn in the families we know (LLaDA, Llama 3, Qwen).
# LLaDA-MoE ends a turn with <|role_end|>, ModernBERT chat models with [SEP], Gemma 4 (DiffusionGemma) with <turn|>
# (transformers/cli/serving/utils.py closes a Gemma 4 reply there; its generation config lists it as an end id).
MASK_TOKENS = ("<|mdm_mask|>", "<|mask|>", "[MASK]", "<mask>")
END_TOKENS = ("<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<|end_of_text|>", "<|role_end|>", "<turn|>")


def free_gpu_gb() -> float | None:
    if not torch.cuda.is_available():
        return None
    return sum(torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count())) / 2**30


def is_hub_id(source: str) -> bool:
    return not Path(source).is_absolute() and not Path(source).expanduser().is_dir()


def cached(preset: "Preset", cache_dir: str | None = None) -> bool:
    """Whether a hub preset's weights are in the Hugging Face cache (the shipped pair: always)."""
    if not is_hub_id(preset.source):
        return True
    from huggingface_hub import snapshot_download
    try:
        folder = Path(snapshot_download(preset.source, cache_dir=cache_dir, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means: not (completely) in the cache
        return False
    return any(any(folder.glob(weights)) for weights in ("*.safetensors", "*.bin"))


def missing(preset: "Preset", cache_dir: str | None = None) -> str | None:
    """Why a preset cannot load here (no weights in the cache while offline), or None if it can.

    Checked before loading so that the app can fall back to the shipped pair with a sentence instead of
    a traceback from deep inside the hub client. Online, `from_pretrained` fetches what is missing.
    """
    from huggingface_hub import constants
    if cached(preset, cache_dir) or not constants.HF_HUB_OFFLINE:
        return None
    return (f"The weights of {preset.name} ({preset.source}) are not on this machine and the hub is off "
            f"(HF_HUB_OFFLINE); fetch them first with: python -m llada_demo.models.download {preset.name}")


@dataclass(frozen=True)
class Loaded:
    """A loaded model with what the samplers and the page need to drive it."""

    name: str
    kind: str
    model: torch.nn.Module
    tokenizer: object
    mask_id: int | None  # None for an AR model without a mask token
    eos_ids: tuple[int, ...]  # end-of-text and end-of-turn ids: where a reply ends
    chat: bool
    device: str
    parameters: int
    description: str = ""
    source: str = ""  # where the weights came from: a folder or a hub id


def pick_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str) -> torch.dtype:
    """bf16 on a GPU (LLaDA's own dtype), float32 on the CPU, where bf16 matmuls are slow."""
    return torch.bfloat16 if device in ("cuda", "mps") else torch.float32


def allowlist(extra: tuple[str, ...] = ()) -> set[str]:
    """Hub ids that may be loaded: the presets', the operator's `extra`, and LLADA_DEMO_ALLOW (comma-separated)."""
    from_env = tuple(s.strip() for s in os.environ.get("LLADA_DEMO_ALLOW", "").split(",") if s.strip())
    return {p.source for p in PRESETS.values() if not Path(p.source).is_absolute()} | set(extra) | set(from_env)


def resolve(name: str, allow: tuple[str, ...] = (), trust_remote_code: bool = False) -> Preset:
    """The Preset for a preset name, an allowlisted hub id, or a local folder; ValueError otherwise."""
    if name in PRESETS:
        preset = PRESETS[name]
        if Path(preset.source).is_absolute() and not Path(preset.source).is_dir():
            raise ValueError(f"The shipped model {name} is not on disk (expected at {preset.source}).")
        return preset
    for preset in PRESETS.values():
        if preset.source == name:
            return preset
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ValueError(f"The folder {folder} has no config.json; point at a Hugging Face model folder.")
        config = _read_config(str(folder), trust_remote_code)
        return Preset(name=folder.name, source=str(folder), kind=_kind_of(config), remote_code=trust_remote_code,
                      chat=False, description=f"local folder {folder}")
    if name in allowlist(allow):
        # An operator-allowed hub id; its kind is read from its config when loaded.
        return Preset(name=name, source=name, kind="", remote_code=trust_remote_code, description=name)
    raise ValueError(f"{name!r} is neither a preset ({', '.join(PRESETS)}), a local model folder, nor an allowed "
                     f"hub id; the operator can allow one with --allow {name} or LLADA_DEMO_ALLOW.")


def _read_config(source: str, trust_remote_code: bool, cache_dir: str | None = None):
    untrusted = (f"{source} needs its own code to load (trust_remote_code); the operator can allow it "
                 f"with --trust-remote-code if they trust that code.")
    # LLaDA's hub code registers its config class under "llada" with AutoConfig when it is imported, and
    # transformers 5 prefers a registered class to a folder's own code: once one LLaDA has loaded, LLaDA-MoE
    # (model type "llada" too) would be read with LLaDA-8B's class, and an untrusted folder with trusted code.
    # So a trusted folder's config class comes from its own auto_map, and an untrusted one may not use hub code.
    reference = _auto_map(source, cache_dir).get("AutoConfig")
    if trust_remote_code and reference:
        from transformers.dynamic_module_utils import get_class_from_dynamic_module
        config_class = get_class_from_dynamic_module(reference, source, cache_dir=cache_dir)
        return _restore_dropped_config(config_class.from_pretrained(source, cache_dir=cache_dir), source, cache_dir)
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, cache_dir=cache_dir)
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise ValueError(untrusted) from None
        raise
    if reference and type(config).__module__.startswith("transformers_modules"):
        raise ValueError(untrusted)
    return config


def _auto_map(source: str, cache_dir: str | None = None) -> dict:
    """The auto_map of a model's config.json, read as plain JSON (no class is imported)."""
    from transformers import PretrainedConfig
    stored, _ = PretrainedConfig.get_config_dict(source, cache_dir=cache_dir)
    return stored.get("auto_map") or {}


def _restore_dropped_config(config, source: str, cache_dir: str | None = None):
    """Give a transformers-4 remote config back the generation parameters transformers 5 drops while building it.

    transformers 5's `PreTrainedConfig.__init__` pops every generation parameter (`use_cache`, `temperature`,
    ...) from its keyword arguments instead of setting it. LLaDA's `LLaDAConfig.__init__(use_cache=False,
    **kwargs)` hands all its fields, `use_cache` included, to that `__init__`, and `LLaDAModelLM.forward` then
    reads `self.config.use_cache`: an AttributeError at the first forward pass. A parameter the config class
    declares in its own `__init__` is one it means to keep: it gets the value of config.json, else the declared
    default (what transformers 4 would have set). Configs that set the attribute themselves (LLaDA-MoE) keep theirs.
    """
    from transformers import GenerationConfig
    declared = inspect.signature(type(config).__init__).parameters
    dropped = [name for name in GenerationConfig._get_default_generation_params()
               if name in declared and declared[name].default is not inspect.Parameter.empty
               and name not in vars(config)]
    if dropped:
        stored, _ = type(config).get_config_dict(source, cache_dir=cache_dir)
        for name in dropped:
            setattr(config, name, stored.get(name, declared[name].default))
    return config


def _kind_of(config) -> str:
    """Diffusion (bidirectional mask predictor) or autoregressive, from the config alone."""
    if getattr(config, "model_type", "") == "llada_demo_tiny":
        return AUTOREGRESSIVE if config.causal else DIFFUSION
    if diffusiongemma.is_diffusiongemma(config):  # uniform-noise diffusion: no mask token, no MaskedLM head
        return DIFFUSION
    if "llada" in getattr(config, "model_type", "").lower() or getattr(config, "mask_token_id", None) is not None:
        return DIFFUSION
    architectures = " ".join(getattr(config, "architectures", None) or ())
    if "MaskedLM" in architectures:
        return DIFFUSION
    return AUTOREGRESSIVE


def _default_rope_parameters(config, device=None, seq_len=None, **kwargs) -> tuple[torch.Tensor, float]:
    """transformers 4's "default" RoPE rule, for hub code that asks for it by name: inverse frequencies
    base^(-2i/d) over the rotated part d of a head (RoFormer, Su et al. 2021, arXiv 2104.09864, Eq. 15), and no
    attention scaling. d = head_dim x partial_rotary_factor; LLaDA-MoE rotates that part of each head only."""
    # transformers 5 may move both into `rope_parameters` (LLaDA 2's config), older configs keep attributes.
    params = getattr(config, "rope_parameters", None) or {}
    base = params.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0
    factor = params.get("partial_rotary_factor") or getattr(config, "partial_rotary_factor", None) or 1.0
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dim = int(head_dim * factor)
    inv_freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim)
    return inv_freq, 1.0  # (dim / 2,), attention scaling


@torch.no_grad()
def _recompute_rope_buffers(model: torch.nn.Module) -> None:
    """Fill the rotary inverse frequencies of transformers-4 hub code, which transformers 5 leaves as garbage.

    transformers 5 builds a model on the meta device and then gives every non-persistent buffer uninitialised
    memory (`torch.empty_like`), counting on `_init_weights` to fill it; its own `_init_weights` does that for
    rotary embeddings, but hub code that overrides `_init_weights` (LLaDA-MoE's initialises only Linear and
    Embedding weights) leaves `inv_freq` as whatever the memory held: every logit wrong, silently. A
    transformers-4 rotary module keeps what computed it (`rope_init_fn`, `config`, `rope_kwargs`): run it again.
    """
    for module in model.modules():
        rule = getattr(module, "rope_init_fn", None)
        if "inv_freq" in getattr(module, "_non_persistent_buffers_set", ()) and callable(rule):
            inv_freq, scaling = rule(module.config, module.inv_freq.device, **getattr(module, "rope_kwargs", {}))
            module.inv_freq.copy_(inv_freq)  # (rotated / 2,)
            module.attention_scaling = scaling
            if hasattr(module, "original_inv_freq"):
                module.original_inv_freq = module.inv_freq


def give_default_rope(module) -> None:
    """Give a transformers-4 hub module (only it, not transformers) its RoPE table with the "default" rule back."""
    rope_table = getattr(module, "ROPE_INIT_FUNCTIONS", None)
    if isinstance(rope_table, dict) and "default" not in rope_table:
        module.ROPE_INIT_FUNCTIONS = {**rope_table, "default": _default_rope_parameters}


def _transformers5_compatible(cls: type) -> type:
    """A subclass of a transformers-4 remote model class that loads on transformers 5.

    LLaDA's hub code has two traits transformers 5 rejects: its `__init__` never calls `post_init()`
    (so `all_tied_weights_keys` and friends are missing when loading finishes), and its `tie_weights`
    takes no keyword arguments (transformers 5 passes `missing_keys=`, `recompute_mapping=`). LLaDA-MoE's
    rotary embedding looks up `ROPE_INIT_FUNCTIONS["default"]`, which transformers 5 no longer has: its
    module (only it, not transformers) gets a copy of that table with transformers 4's default rule back, and
    the inverse frequencies transformers 5 leaves unset are computed after loading (`_recompute_rope_buffers`).
    """
    give_default_rope(sys.modules.get(cls.__module__))
    takes_kwargs = any(p.kind in (p.VAR_KEYWORD, p.KEYWORD_ONLY) or name != "self"
                       for name, p in inspect.signature(cls.tie_weights).parameters.items())

    class Compatible(cls):
        def __init__(self, config, *args, **kwargs):
            super().__init__(config, *args, **kwargs)
            if not hasattr(self, "all_tied_weights_keys"):
                self.post_init()

        def tie_weights(self, *args, **kwargs):
            return super().tie_weights(*args, **kwargs) if takes_kwargs else super().tie_weights()

        @classmethod
        def from_pretrained(klass, *args, **kwargs):
            model = super().from_pretrained(*args, **kwargs)
            _recompute_rope_buffers(model)
            return model

    Compatible.__name__ = Compatible.__qualname__ = cls.__name__
    Compatible.__module__ = cls.__module__
    return Compatible


def _model_class(preset: Preset, config, kind: str, cache_dir: str | None = None):
    """The class to instantiate: the remote class (made transformers-5 compatible) or an Auto class."""
    auto_map = getattr(config, "auto_map", None) or {}
    if preset.remote_code and auto_map:
        from transformers.dynamic_module_utils import get_class_from_dynamic_module
        keys = ("AutoModelForMaskedLM", "AutoModel", "AutoModelForCausalLM") if kind == DIFFUSION \
            else ("AutoModelForCausalLM", "AutoModel")
        reference = next((auto_map[k] for k in keys if k in auto_map), None)
        if llada2.is_llada2(config):  # its AutoModel has no head; its code needs transformers-4 names, no cache
            llada2.prepare(config)
            reference = llada2.model_reference(auto_map)
        if reference is None:
            raise ValueError(f"{preset.source} names no model class for a {kind} model in its auto_map.")
        return _transformers5_compatible(get_class_from_dynamic_module(reference, preset.source, cache_dir=cache_dir))
    if diffusiongemma.is_diffusiongemma(config):  # native in transformers, under no masked/causal Auto class
        return diffusiongemma.model_class()
    return AutoModelForMaskedLM if kind == DIFFUSION else AutoModelForCausalLM


def _first_id(tokenizer, config, attribute: str, candidates: tuple[str, ...]) -> int | None:
    for source in (tokenizer, config):
        value = getattr(source, attribute, None)
        if isinstance(value, int):
            return value
    vocab = tokenizer.get_vocab()
    return next((vocab[t] for t in candidates if t in vocab), None)


def special_ids(tokenizer, config) -> tuple[int | None, tuple[int, ...]]:
    """(mask id, end ids) from the tokenizer and the config, never hard-coded per model."""
    mask_id = _first_id(tokenizer, config, "mask_token_id", MASK_TOKENS)
    ends: list[int] = []
    for value in (tokenizer.eos_token_id, getattr(config, "eos_token_id", None)):
        ends.extend(value if isinstance(value, (list, tuple)) else [value] if isinstance(value, int) else [])
    vocab = tokenizer.get_vocab()
    ends.extend(vocab[t] for t in END_TOKENS if t in vocab)
    return mask_id, tuple(dict.fromkeys(ends))


def check_fits(preset: Preset, device: str) -> None:
    """Refuse, before loading, a model that cannot fit: one sentence with the numbers."""
    if device == "cuda":
        free, where = free_gpu_gb(), "free GPU memory"
    else:
        import psutil
        free = psutil.virtual_memory().available / 2**30
        where = "free RAM"
    need = preset.memory_gb * (2 if device == "cpu" else 1)  # float32 on the CPU doubles bf16 weights
    if need > 0.9 * free:
        raise ValueError(f"{preset.name} needs about {need:.1f} GB but only {free:.1f} GB of {where} is available; "
                         f"choose a smaller preset.")


def load(name: str, *, allow: tuple[str, ...] = (), trust_remote_code: bool = False,
         device: str | None = None, cache_dir: str | None = None) -> Loaded:
    """Load a preset, an allowlisted hub id or a local folder, ready for the samplers.

    Every preset, from the tiny pair to LLaDA-8B, takes this one path: resolve, check memory, read the
    config, pick the class (remote code made transformers-5 compatible where needed), load the weights,
    read the special ids from the tokenizer and config. cache_dir: the Hugging Face cache to read from.
    """
    preset = resolve(name, allow, trust_remote_code)
    device = device or pick_device()
    check_fits(preset, device)
    why = missing(preset, cache_dir)
    if why:
        raise ValueError(why)
    config = _read_config(preset.source, preset.remote_code, cache_dir)
    kind = preset.kind or _kind_of(config)
    dtype = pick_dtype(device)
    options: dict = dict(config=config, dtype=dtype, cache_dir=cache_dir)
    if preset.remote_code:
        options["trust_remote_code"] = True
    one_gpu = device == "cuda" and preset.memory_gb < torch.cuda.mem_get_info(0)[0] / 2**30 * 0.9
    if device == "cuda" and not one_gpu:
        options["device_map"] = "auto"  # accelerate spreads the layers over the GPUs (and the CPU)
    model = _model_class(preset, config, kind, cache_dir).from_pretrained(preset.source, **options).eval()
    if "device_map" not in options:
        model = model.to(device)
    # config: else AutoTokenizer re-reads it through AutoConfig, which may pick another folder's registered class.
    tokenizer = AutoTokenizer.from_pretrained(preset.source, trust_remote_code=preset.remote_code, cache_dir=cache_dir,
                                              config=config)
    mask_id, eos_ids = special_ids(tokenizer, config)
    if kind == DIFFUSION and mask_id is None and not diffusiongemma.is_diffusiongemma(config):  # it needs none
        raise ValueError(f"{preset.source} has no mask token in its tokenizer or config, so it cannot be run as a diffusion model.")
    # A preset knows (a base model's tokenizer may carry a template it was never tuned on); else the tokenizer says.
    chat = preset.chat if preset.name in PRESETS else bool(getattr(tokenizer, "chat_template", None))
    return Loaded(name=preset.name, kind=kind, model=model, tokenizer=tokenizer, mask_id=mask_id, eos_ids=eos_ids,
                  chat=chat, device=device, parameters=sum(p.numel() for p in model.parameters()),
                  description=preset.description, source=preset.source)

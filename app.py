"""Start the demo: read settings, load the model, build the page, serve it on port 7860.

    python app.py [--model auto] [--ar auto] [--host 127.0.0.1] [--port 7860]

Settings come from flags or the environment: --port / GRADIO_SERVER_PORT, --host / GRADIO_SERVER_NAME,
--model / LLADA_DEMO_MODEL and --ar / LLADA_DEMO_AR (a preset name, an allowlisted hub id or a local
folder; "auto": LLaDA-8B-Instruct and an AR peer on a CUDA GPU with room for them, else the shipped tiny
pair), --cache-dir / HF_HUB_CACHE (where downloaded weights are), --allow / LLADA_DEMO_ALLOW (more hub
ids the operator permits), --trust-remote-code. A model that cannot be loaded (weights not downloaded
while offline, too big for this machine) gives way to the shipped tiny pair, and the page says why;
without the shipped pair on disk, to an untrained random tiny model.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description="llada-demo: watch a diffusion language model write.")
    p.add_argument("--model", default=env("LLADA_DEMO_MODEL", "auto"),
                   help="diffusion model: a preset, an allowlisted hub id, a local folder, or auto (LLaDA-8B-Instruct "
                        "on a CUDA GPU with room for it, else the shipped tiny model)")
    p.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", "7860")))
    p.add_argument("--ar", default=env("LLADA_DEMO_AR", "auto"),
                   help="autoregressive model for the comparison (a preset, hub id or folder); 'none' for no "
                        "comparison; auto: the AR peer that fits beside the diffusion model")
    p.add_argument("--cache-dir", default=env("HF_HUB_CACHE"),
                   help="Hugging Face cache with downloaded weights (python -m llada_demo.models.download)")
    p.add_argument("--allow", action="append", default=[], help="a hub id the operator permits (repeatable)")
    p.add_argument("--trust-remote-code", action="store_true", help="let a local folder run its own model code")
    p.add_argument("--threads", type=int, default=int(env("LLADA_DEMO_THREADS", "0")) or None,
                   help="torch CPU threads (default: torch's choice)")
    # Operator limits (llada_demo/engine/limits.py); each flag's default comes from its LLADA_DEMO_* variable.
    limit = p.add_argument_group("limits for visitors (defaults safe for a public Space)")
    for flag, help_ in (("max-gen-length", "longest generation in tokens (192)"),
                        ("max-steps", "most steps (forward passes) a run may ask for (192)"),
                        ("max-prompt-chars", "longest prompt in characters (2000)"),
                        ("max-prompt-tokens", "longest prompt in tokens (512; the model's context also counts)"),
                        ("max-upload-bytes", "largest trace file a visitor may load (10000000)"),
                        ("queue-size", "most requests waiting in the queue; more are turned away (32)"),
                        ("concurrency", "runs of the model at once (2 for the tiny pair, else 1)")):
        variable = "LLADA_DEMO_" + flag.upper().replace("-", "_")
        limit.add_argument(f"--{flag}", type=int, default=env(variable), help=f"{help_}; env {variable}")
    return p.parse_args(argv)


def random_tiny_model():
    """An untrained model with the tiny world's tokenizer: the page works, the text is noise."""
    import torch

    from llada_demo.tinyworld import corpus
    from llada_demo.models import DIFFUSION, Loaded
    from llada_demo.models.modeling import TinyConfig, TinyTransformer
    from llada_demo.tinyworld.tokenizer import build_tokenizer

    tokenizer = build_tokenizer(corpus.training_documents(corpus.build_world(0)))
    torch.manual_seed(0)
    model = TinyTransformer(TinyConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                       num_hidden_layers=2, num_attention_heads=2)).eval()
    return Loaded(name="random-tiny", kind=DIFFUSION, model=model, tokenizer=tokenizer,
                  mask_id=tokenizer.mask_token_id, eos_ids=(tokenizer.eos_token_id,), chat=False, device="cpu",
                  parameters=sum(p.numel() for p in model.parameters()),
                  description="an untrained random tiny model, so expect noise", source="random initialisation (seed 0)")


def chosen(args) -> tuple[str, str]:
    """The diffusion and AR model names: the operator's, with "auto" resolved for this machine's GPU."""
    from llada_demo.models import default_pair, free_gpu_gb

    pair = default_pair(free_gpu_gb()) if "auto" in (args.model, args.ar) else ("", "")
    return (pair[0] if args.model == "auto" else args.model), (pair[1] if args.ar == "auto" else args.ar)


def _load(name: str, args):
    from llada_demo.models import load

    return load(name, allow=tuple(args.allow), trust_remote_code=args.trust_remote_code, cache_dir=args.cache_dir)


def load_diffusion(args):
    """The diffusion model and a notice: the operator's choice, else the shipped tiny model, else a random one."""
    name = chosen(args)[0]
    try:
        return _load(name, args), ""
    except (OSError, ValueError) as err:
        problem = f"{name} could not be loaded ({err})."
    if name != "tiny-llada":
        try:
            return _load("tiny-llada", args), f"{problem} Showing the shipped tiny pair instead: "
        except (OSError, ValueError) as err:
            problem = f"{problem} Nor could the shipped tiny model ({err})."
    return random_tiny_model(), f"{problem} Using "


def shown_path(source: str) -> str:
    """A source as the page shows it: paths inside the project relative to it, never the server's layout."""
    root = os.path.dirname(os.path.abspath(__file__)) + os.sep
    return source[len(root):] if source.startswith(root) else source


def load_ar(args, diffusion_name: str = ""):
    """The AR model for the comparison, or None (with the reason) when it cannot be had. Beside the shipped
    tiny diffusion model (chosen or fallen back to) only its twin makes a fair comparison."""
    name = chosen(args)[1]
    if diffusion_name == "tiny-llada" and name not in ("none", "tiny-ar"):
        name = "tiny-ar"
    if name == "none":
        return None, ""
    try:
        return _load(name, args), ""
    except (OSError, ValueError) as err:
        return None, f" No comparison: {err}"


def build(args, limits):
    """Load the models (falling back as `load_diffusion` says), lay out the page, and bound its queue:
    the concurrency follows the model actually loaded, not the one asked for."""
    from llada_demo.tinyworld import corpus
    from llada_demo.engine import runs
    from llada_demo.models import zerogpu
    from llada_demo.models import PRESETS
    from llada_demo.web.ui import PageConfig, build_demo
    from llada_demo.web.views import Backend

    loaded, problem = load_diffusion(args)
    ar, ar_problem = load_ar(args, loaded.name)
    defaults = PRESETS.get(loaded.name, PRESETS["tiny-llada"]).defaults
    note = (f"Diffusion model: **{loaded.name}**, {loaded.parameters / 1e6:.1f} M parameters on {loaded.device}: "
            f"{problem}{loaded.description}."
            + (f" Autoregressive twin: **{ar.name}**, {ar.parameters / 1e6:.1f} M parameters." if ar else ar_problem))
    tiny = loaded.name.startswith(("tiny", "random"))
    world = corpus.build_world(0) if tiny else None
    examples = tuple(corpus.example_prompts(world)) if tiny else ()
    infill_examples = tuple(f"{i.left} {'___ ' * len(i.answer.split())}{i.right}".replace("  ", " ")
                            for i in corpus.infill_items(world)[:4]) if tiny else ()
    about = "\n".join(f"- **{m.name}** ({m.kind}): {m.parameters:,} parameters on {m.device}; {m.description}; "
                      f"weights from `{shown_path(m.source)}`." for m in (loaded, ar) if m is not None)
    config = PageConfig(model_note=note, about="### Running now\n" + about, examples=examples,
                        infill_examples=infill_examples,
                        # The preset's defaults, within the operator's limits (the sliders stop there).
                        gen_length=min(defaults.get("gen_length", 48), limits.max_gen_length),
                        steps=min(defaults.get("steps", 48), limits.max_steps, limits.max_gen_length),
                        block_length=min(defaults.get("block_length", 48), limits.max_gen_length), chat=loaded.chat,
                        max_length=limits.max_gen_length)
    backend = Backend(denoise=functools.partial(runs.denoise, loaded, max_prompt_tokens=limits.max_prompt_tokens),
                      compare=(functools.partial(runs.compare, loaded, ar, max_prompt_tokens=limits.max_prompt_tokens)
                               if ar else None),
                      infill=functools.partial(runs.infill, loaded, max_prompt_tokens=limits.max_prompt_tokens),
                      limits=limits)
    backend = zerogpu.wrap(backend)  # on a ZeroGPU Space each run holds a lent GPU; elsewhere unchanged
    demo = build_demo(backend, config, reversal_backend(loaded, ar, world) if tiny and ar else None)
    # Runs of the model share one concurrency group (concurrency_id="model" in ui.py); the queue is bounded
    # (and set explicitly: on ZeroGPU it would default to 1), so a crowd is told at once that the demo is full.
    return demo.queue(default_concurrency_limit=limits.runs_at_once(loaded.name), max_size=limits.queue_size)


def reversal_backend(loaded, ar, world):
    """The Reversal tab's functions on the tiny pair, with the shipped measured report if present."""
    from llada_demo.tinyworld import evaluate
    from llada_demo.engine import runs
    from llada_demo.models import ASSETS
    from llada_demo.web.views import Reversal

    report = ASSETS / "evaluation.json"
    measured = json.loads(report.read_text()) if report.is_file() else None
    return Reversal(cases=tuple(evaluate.reversal_cases(world)), ask=functools.partial(runs.ask_case, loaded, ar),
                    score=functools.partial(evaluate.score_case, loaded, ar), measured=measured)


def cap_malloc_arenas(arenas: int = 2) -> None:
    """Ask glibc for at most `arenas` malloc arenas (as MALLOC_ARENA_MAX does), unless the operator set it.

    Gradio runs each event in a worker thread; with glibc's default of up to 8 arenas per core the
    server's RSS crept up run after run, with 2 it stays flat (bench/load_test.py --apart). Elsewhere
    (macOS, musl) there is no such call and nothing changes.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def launch(args, **options):
    """Build the page and serve it; `options` go to Gradio's launch (tests pass prevent_thread_lock)."""
    cap_malloc_arenas()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    from llada_demo.engine.limits import from_args
    from llada_demo.web.render import CSS

    limits = from_args(args)  # a bad limit fails here, before any model loads
    demo = build(args, limits)
    print(f"llada-demo: serving on http://{args.host}:{args.port}", file=sys.stderr)
    demo.launch(server_name=args.host, server_port=args.port, css=CSS, show_error=False,
                max_file_size=limits.max_upload_bytes, **options)
    return demo


def main(argv=None) -> None:
    launch(parse_args(argv))


if __name__ == "__main__":
    main()

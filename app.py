"""Start the demo: read settings, load the model, build the page, serve it on port 7860.

    python app.py [--model auto] [--ar auto] [--versus none] [--host 127.0.0.1] [--port 7860]

Settings come from flags or the environment: --port / GRADIO_SERVER_PORT, --host / GRADIO_SERVER_NAME,
--model / LLADA_DEMO_MODEL and --ar / LLADA_DEMO_AR (a preset name, an allowlisted hub id or a local
folder; "auto": LLaDA-8B-Instruct and an AR peer on a CUDA GPU with room for them, else the shipped tiny
pair), --versus / LLADA_DEMO_VERSUS (a second diffusion model for the comparison tab, e.g. diffusiongemma
beside LLaDA: masking and uniform noise side by side; none by default), --cache-dir / HF_HUB_CACHE (where
downloaded weights are), --allow / LLADA_DEMO_ALLOW (more hub ids the operator permits), --trust-remote-code. A model that cannot be loaded (weights not downloaded
while offline, too big for this machine) gives way to the shipped tiny pair, and the page says why;
without the shipped pair on disk, to an untrained random tiny model.

With the shipped tiny pair (the default without a GPU) the page is served before torch is even imported:
its layout comes from the presets (`models/presets.py`), the models load in a background thread, the page
says "Loading" until they are ready, and a run asked for meanwhile waits for them (`Loading`).
Other models load first and the page follows what loaded, as before.
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import os
import sys
import threading
from dataclasses import dataclass, replace


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
    p.add_argument("--versus", default=env("LLADA_DEMO_VERSUS", "none"),
                   help="a second diffusion model for the comparison tab (a preset, hub id or folder), e.g. "
                        "diffusiongemma beside LLaDA-8B-Instruct: masking and uniform noise side by side")
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


LOAD_WAIT_S = 600.0  # how long a run asked for while the models load waits for them before it is refused
READY = "llada-demo: model ready"  # printed to stderr once the models are loaded (bench/bench_start.py reads it)


def no_gpu_here() -> bool:
    """Whether this machine certainly has no GPU torch could use for "auto": no NVIDIA or AMD kernel driver,
    checked without importing torch (torch.cuda needs one of them)."""
    return not (os.path.exists("/proc/driver/nvidia") or glob.glob("/dev/nvidia*") or os.path.exists("/dev/kfd"))


def shipped_plan(args) -> tuple[str, str] | None:
    """(diffusion, AR) names when the page can be laid out before loading: the shipped tiny diffusion model,
    named or chosen by "auto" on a machine without a GPU, with its twin or none, not on a ZeroGPU Space (where
    each run must be wrapped at start). Else None: the models load first and the page follows them."""
    from llada_demo.models import SHIPPED
    from llada_demo.models import zerogpu

    model = SHIPPED[0] if args.model == "auto" and no_gpu_here() else args.model
    if model != SHIPPED[0] or zerogpu.available() or args.versus != "none":
        return None
    return model, ("none" if args.ar == "none" else SHIPPED[1])  # beside the tiny model only its twin (load_ar)


class Loading:
    """The models loading in a background thread while the page is already served.

    `get()` waits for them (up to LOAD_WAIT_S) and returns what `models(args)` built, or raises RunFailed with
    a sentence when loading failed or takes too long; `note()` is the page's header and model paragraph now.
    """

    def __init__(self, args, waiting_note: str):
        self.done = threading.Event()
        self.result = self.error = None
        self.waiting_note = waiting_note
        self.thread = threading.Thread(target=self._load, args=(args,), name="llada-demo-load", daemon=True)

    def start(self) -> "Loading":
        self.thread.start()
        return self

    def _load(self, args) -> None:
        try:
            self.result = models(args)
        except Exception as err:  # noqa: BLE001 - any failure is told on the page and to every run asked for
            self.error = err
            print(f"llada-demo: loading the models failed: {err!r}", file=sys.stderr)
        else:
            print(READY, file=sys.stderr, flush=True)
        self.done.set()

    def get(self, wait_s: float = LOAD_WAIT_S):
        from llada_demo.engine.limits import RunFailed

        if not self.done.wait(wait_s):
            raise RunFailed(f"The model is still loading after {wait_s:.0f} s; try again in a minute.")
        if self.error is not None:
            raise RunFailed(f"The model could not be loaded ({type(self.error).__name__}: {self.error}); "
                            "the operator has to restart the app.")
        return self.result

    def note(self) -> tuple[str, str, bool]:
        """(header note, "Running now" paragraph, ready)."""
        if not self.done.is_set():
            return self.waiting_note, "", False
        if self.error is not None:
            return f"**The model could not be loaded** ({type(self.error).__name__}: {self.error}).", "", True
        return self.result.note, self.result.about, True


@dataclass(frozen=True)
class Models:
    """What loading gives the page: the backend's functions, the Reversal tab's, and what to say about them."""

    backend: object  # views.Backend
    reversal: object  # views.Reversal, or None without the tiny pair
    note: str  # the header's sentence about the models
    about: str  # the "How it works" tab's "Running now" paragraph
    loaded: object  # models.Loaded: the diffusion model
    ar: object  # models.Loaded or None
    versus: object = None  # models.Loaded: a second diffusion model for the comparison tab, or None
    uniform_noise: bool = False  # the diffusion model diffuses by uniform noise (DiffusionGemma), not masks


def load_versus(args):
    """The second diffusion model for the comparison tab, or None (with the reason) when it cannot be had."""
    from llada_demo.models import DIFFUSION

    if args.versus in ("none", ""):
        return None, ""
    try:
        second = _load(args.versus, args)
    except (OSError, ValueError) as err:
        return None, f" No second diffusion model: {err}"
    if second.kind != DIFFUSION:
        return None, f" No second diffusion model: {second.name} is {second.kind}, not a diffusion model."
    return second, ""


def kind_of_noise(loaded) -> str:
    """How the model hides tokens, as the page names it beside the model's name."""
    from llada_demo.engine import diffusiongemma

    return "uniform noise" if diffusiongemma.serves(loaded.model) else "masking"


def models(args, world=None) -> Models:
    """Load the models (falling back as `load_diffusion` says) and bind the page's functions to them."""
    from llada_demo.tinyworld import corpus
    from llada_demo.engine import diffusiongemma, instrument, lesson, runs
    from llada_demo.engine.limits import from_args
    from llada_demo.models import zerogpu
    from llada_demo.web.views import Backend

    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    limits = from_args(args)
    loaded, problem = load_diffusion(args)
    instrument.prepare(loaded.device)  # the page's numbers per pass, compiled for the CPU: ready before a first run
    ar, ar_problem = load_ar(args, loaded.name)
    versus, versus_problem = load_versus(args)
    note = (f"Diffusion model: **{loaded.name}**, {loaded.parameters / 1e6:.1f} M parameters on {loaded.device}: "
            f"{problem}{loaded.description}."
            + (f" Autoregressive twin: **{ar.name}**, {ar.parameters / 1e6:.1f} M parameters." if ar else ar_problem)
            + (f" Beside it in the comparison: **{versus.name}** ({kind_of_noise(versus)})." if versus
               else versus_problem))
    about = "### Running now\n" + "\n".join(
        f"- **{m.name}** ({m.kind}): {m.parameters:,} parameters on {m.device}; {m.description}; "
        f"weights from `{shown_path(m.source)}`." for m in (loaded, ar, versus) if m is not None)
    bound = functools.partial(functools.partial, max_prompt_tokens=limits.max_prompt_tokens)
    # A uniform-noise model (DiffusionGemma) has no [MASK]: infill (blanks are masks), the masked training
    # objective and steering (an edited canvas of masks) do not apply.
    uniform = diffusiongemma.serves(loaded.model)
    backend = Backend(denoise=bound(runs.denoise, loaded),
                      compare=bound(runs.compare, loaded, ar) if ar else None,
                      infill=None if uniform else bound(runs.infill, loaded),
                      compare_strategies=bound(runs.compare_strategies, loaded),  # for DiffusionGemma: its 2 rules
                      objective=None if uniform else functools.partial(lesson.draw, loaded, ar), limits=limits,
                      steer=None if uniform else bound(runs.continue_from, loaded),
                      versus=bound(runs.compare_models, loaded, versus) if versus else None)
    backend = zerogpu.wrap(backend)  # on a ZeroGPU Space each run holds a lent GPU; elsewhere unchanged
    tiny = loaded.name.startswith(("tiny", "random"))
    if tiny and ar:
        world = world or corpus.build_world(0)
        from llada_demo.tinyworld import strategies
        backend = replace(backend, frontier=functools.partial(strategies.page_rows, loaded, ar, world))
    return Models(backend, reversal_backend(loaded, ar, world) if tiny and ar else None, note, about, loaded, ar,
                  versus, uniform)


def page_config(name: str, limits, note: str, about: str, chat: bool, world, uniform_noise: bool = False,
                versus: tuple[str, ...] = ()):
    """The page's settings: the preset's defaults within the operator's limits (the sliders stop there)."""
    from llada_demo.tinyworld import corpus
    from llada_demo.models import PRESETS
    from llada_demo.web.ui import PageConfig

    defaults = PRESETS.get(name, PRESETS["tiny-llada"]).defaults
    examples = tuple(corpus.example_prompts(world)) if world else ()
    infill_examples = tuple(f"{i.left} {'___ ' * len(i.answer.split())}{i.right}".replace("  ", " ")
                            for i in corpus.infill_items(world)[:4]) if world else ()
    return PageConfig(model_note=note, about=about, examples=examples, infill_examples=infill_examples,
                      prompt=examples[0] if examples else "",  # a story start: a first visit can press Run
                      training_examples=training_examples(world) if world else (),
                      gen_length=min(defaults.get("gen_length", 48), limits.max_gen_length),
                      steps=min(defaults.get("steps", 48), limits.max_steps, limits.max_gen_length),
                      block_length=min(defaults.get("block_length", 48), limits.max_gen_length), chat=chat,
                      max_length=limits.max_gen_length, uniform_noise=uniform_noise, versus=versus)


def training_examples(world) -> tuple[str, ...]:
    """The Training tab's sentences: two of a tiny-world story, a fact trained both ways, a fact trained only
    forwards, and a couplet (two lines: with SFT on, the first stays visible)."""
    import random

    from llada_demo.tinyworld.stories import write_story
    from llada_demo.tinyworld.world import forward_sentence

    story = write_story(world, random.Random(0))
    both = next(f for f in world.facts if not f.held_out)
    forwards_only = next(f for f in world.facts if f.held_out)
    couplet = next(c for c in world.couplets if not c.held_out)
    return " ".join(story[:2]), forward_sentence(both), forward_sentence(forwards_only), couplet.text


def build_while_loading(args, limits, names: tuple[str, str]):
    """The page for the shipped pair, served at once; the models load behind it (see `Loading`)."""
    from llada_demo.tinyworld import cases, corpus
    from llada_demo.models import ASSETS, PRESETS
    from llada_demo.web.ui import build_demo
    from llada_demo.web.views import Backend, Reversal

    model, ar = names
    world = corpus.build_world(0)
    loading = Loading(args, f"Loading the models (**{model}**" + (f" and **{ar}**" if ar != "none" else "")
                      + "); a run asked for now starts when they are ready.")

    def waiting(pick):
        """A page function that waits for the models, then calls the loaded one (or refuses with a sentence)."""
        def call(*a, **kw):
            function = pick(loading.get())
            if function is None:
                from llada_demo.engine.limits import RunFailed
                raise RunFailed("No autoregressive model is loaded, so there is nothing to compare with.")
            return function(*a, **kw)
        return call

    backend = Backend(denoise=waiting(lambda m: m.backend.denoise),
                      compare=waiting(lambda m: m.backend.compare) if ar != "none" else None,
                      infill=waiting(lambda m: m.backend.infill), objective=waiting(lambda m: m.backend.objective),
                      frontier=waiting(lambda m: m.backend.frontier) if ar != "none" else None,
                      compare_strategies=waiting(lambda m: m.backend.compare_strategies), limits=limits,
                      steer=waiting(lambda m: m.backend.steer))
    reversal = None
    if ar != "none":
        report = ASSETS / "evaluation.json"
        reversal = Reversal(cases=tuple(cases.reversal_cases(world)),
                            ask=waiting(lambda m: m.reversal and m.reversal.ask),
                            score=waiting(lambda m: m.reversal and m.reversal.score),
                            measured=json.loads(report.read_text()) if report.is_file() else None)
    config = page_config(model, limits, loading.waiting_note, "", PRESETS[model].chat, world)
    demo = build_demo(backend, config, reversal, live_note=loading.note)
    return demo.queue(default_concurrency_limit=limits.runs_at_once(model), max_size=limits.queue_size), loading


def build(args, limits):
    """Load the models (falling back as `load_diffusion` says), lay out the page, and bound its queue:
    the concurrency follows the model actually loaded, not the one asked for."""
    from llada_demo.tinyworld import corpus
    from llada_demo.web.ui import build_demo

    world = corpus.build_world(0)
    m = models(args, world)
    tiny = m.loaded.name.startswith(("tiny", "random"))
    versus = tuple(f"{x.name} ({kind_of_noise(x)})" for x in (m.loaded, m.versus)) if m.versus else ()
    config = page_config(m.loaded.name, limits, m.note, m.about, m.loaded.chat, world if tiny else None,
                         uniform_noise=m.uniform_noise, versus=versus)
    demo = build_demo(m.backend, config, m.reversal)
    # Runs of the model share one concurrency group (concurrency_id="model" in ui.py); the queue is bounded
    # (and set explicitly: on ZeroGPU it would default to 1), so a crowd is told at once that the demo is full.
    return demo.queue(default_concurrency_limit=limits.runs_at_once(m.loaded.name), max_size=limits.queue_size)


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
    from llada_demo.engine.limits import from_args
    from llada_demo.web.render import CSS
    from llada_demo.web.training_view import CSS as TRAINING_CSS
    from llada_demo.web.present import HEAD  # the replay's keys and the projector view (issue 17 §3)

    limits = from_args(args)  # a bad limit fails here, before any model loads
    names = shipped_plan(args)
    if names:
        demo, loading = build_while_loading(args, limits, names)
    else:
        demo, loading = build(args, limits), None
    print(f"llada-demo: serving on http://{args.host}:{args.port}", file=sys.stderr)
    block = not options.pop("prevent_thread_lock", False)
    demo.launch(server_name=args.host, server_port=args.port, css=CSS + TRAINING_CSS, show_error=False, head=HEAD,
                max_file_size=limits.max_upload_bytes, prevent_thread_lock=True, **options)
    # The models load once the server is up: imports share one interpreter lock, so importing torch beside
    # gradio made both slower (measured while writing bench/bench_start.py).
    if loading is not None:
        demo.loading = loading.start()  # tests and callers can wait for it: demo.loading.get()
    else:
        print(READY, file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo


def main(argv=None) -> None:
    launch(parse_args(argv))


if __name__ == "__main__":
    main()

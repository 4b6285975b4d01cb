"""Fetch presets' weights ahead of time, so that the machine can then run the app offline.

    python -m llada_demo.models.download llada-8b-instruct qwen2.5-7b-instruct [--cache-dir DIR]
    python -m llada_demo.models.download --list

Weights go to the Hugging Face cache (the hub's default, or --cache-dir, which the app reads with the
same flag), with the hub client's progress bars; only the files a model needs to load are fetched
(config, code, tokenizer, safetensors weights). After that, `HF_HUB_OFFLINE=1 python app.py --model
PRESET` loads them without a network. The shipped tiny pair needs no download.

What it is not: no loading or checking of the weights (see `models.py`).
"""

from __future__ import annotations

import argparse
import sys

from llada_demo.models import PRESETS, Preset, cached, is_hub_id

# What `from_pretrained` reads: the config and remote code, the tokenizer files, the safetensors weights.
PATTERNS = ("*.json", "*.py", "*.txt", "*.model", "*.tiktoken", "*.jinja", "*.safetensors")


def plan(names: list[str]) -> list[Preset]:
    """The hub presets to fetch, in order; ValueError naming the unknown ones (with the known ones)."""
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise ValueError(f"Unknown preset {', '.join(unknown)}; choose from: {', '.join(PRESETS)}.")
    return [PRESETS[n] for n in dict.fromkeys(names) if is_hub_id(PRESETS[n].source)]


def fetch(preset: Preset, cache_dir: str | None = None) -> str:
    """Download one preset's files (resuming a partial download); the local snapshot folder."""
    from huggingface_hub import snapshot_download
    return snapshot_download(preset.source, cache_dir=cache_dir, allow_patterns=list(PATTERNS))


def listing(cache_dir: str | None = None) -> str:
    """One line per preset: name, hub id, rough memory, and whether its weights are here."""
    lines = []
    for p in PRESETS.values():
        if not is_hub_id(p.source):
            where = "shipped in assets/models"
        else:
            where = "downloaded" if cached(p, cache_dir) else "not downloaded"
        lines.append(f"{p.name:24} {p.kind:15} ~{p.memory_gb:5.1f} GB  {where:24} {p.source if is_hub_id(p.source) else ''}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Fetch presets' weights so the app can run offline.")
    p.add_argument("presets", nargs="*", help=f"preset names: {', '.join(PRESETS)}")
    p.add_argument("--cache-dir", default=None, help="Hugging Face cache folder (default: the hub's own)")
    p.add_argument("--list", action="store_true", help="list the presets and whether their weights are here")
    args = p.parse_args(argv)
    if args.list or not args.presets:
        print(listing(args.cache_dir))
        return 0
    try:
        todo = plan(args.presets)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    for preset in todo:
        print(f"{preset.name}: fetching {preset.source} (~{preset.memory_gb:.1f} GB)", file=sys.stderr)
        try:
            folder = fetch(preset, args.cache_dir)
        except Exception as err:  # noqa: BLE001 - network, auth (gated models), disk: say which and go on
            print(f"{preset.name}: failed: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
        print(f"{preset.name}: ready in {folder}", file=sys.stderr)
    return 0 if all(cached(p, args.cache_dir) for p in todo) else 1


if __name__ == "__main__":
    sys.exit(main())

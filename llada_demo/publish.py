"""Publish the demo as a Hugging Face Space: `python -m llada_demo.publish OWNER/NAME`.

    python -m llada_demo.publish OWNER/NAME [--hardware HW] [--private] [--model PRESET] [--ar PRESET] [--token T]

Creates the Space (gradio SDK) if it does not exist, sets its variables (`LLADA_DEMO_MODEL`, `LLADA_DEMO_AR`)
and hardware when asked, uploads exactly the files the Space runs (`space_files`) with `upload_folder`, and
prints the Space's URL. `upload_folder` asks the Hub how each file must travel ("preupload"), so the shipped
`model.safetensors` (14 MB each) and the binary PNGs go through the Hub's large-file storage (Xet when `hf_xet`
is installed, else LFS), which a plain `git push` of this repository does not do: the Hub refuses pushed
files over 10 MiB or binary files that are not in LFS/Xet.

Variables and hardware are set before the upload, so that a new Space's first build (which the upload
starts) already runs with them. Remote files that are not in the selection are
deleted in the same commit (the Space mirrors the project; `.gitattributes` is kept by huggingface_hub).

Without a token (none given, none in HF_TOKEN, none saved by `hf auth login`), with a token the Hub
refuses, or when the Hub cannot be reached, it says so in one sentence on stderr and exits with 2.

What it is not: no git, no Docker (the Dockerfile, deploy/ and .dockerignore stay home: a Space with
`sdk: gradio` installs requirements.txt and runs the front matter's app_file; the image is for other
hosts), no model download. It never imports torch.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path, PurePosixPath

from llada_demo.models.presets import AUTOREGRESSIVE, DIFFUSION, PRESETS

ROOT = Path(__file__).resolve().parents[1]

# What a gradio Space runs: the entry point, what it installs, its configuration (README front matter), the
# package and the shipped models. docs/ is small and the README links it. Not: tests/, bench/, deploy/,
# runs/, .ci/, Dockerfile, requirements-dev.txt, pytest.ini, test output, caches.
SPACE_TOP = ("app.py", "requirements.txt", "README.md", "llada_demo", "assets", "docs")
# Never, wherever they are: bytecode, training checkpoints (the app loads model.safetensors), hidden files
# and folders (.ipynb_checkpoints, editor swap files, .DS_Store).
SKIPPED_NAMES = ("__pycache__",)
SKIPPED_SUFFIXES = (".pyc", ".pyo")
SKIPPED_FILES = ("checkpoint.pt",)

VARIABLES = ("LLADA_DEMO_MODEL", "LLADA_DEMO_AR")


def space_files(root: Path | str = ROOT) -> list[str]:
    """The files the Space needs, as sorted POSIX paths relative to `root`.

    A pure function of the folder's contents: no git, so untracked files under the included folders go too
    (run it from a clean checkout).
    """
    root = Path(root)
    found = []
    for top in SPACE_TOP:
        path = root / top
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            rel = PurePosixPath(file.relative_to(root).as_posix())
            if any(part.startswith(".") or part in SKIPPED_NAMES for part in rel.parts):
                continue
            if rel.suffix in SKIPPED_SUFFIXES or rel.name in SKIPPED_FILES:
                continue
            found.append(str(rel))
    return sorted(found)


def space_card(root: Path | str = ROOT):
    """The Space configuration in README.md's front matter, checked for what this Space needs
    (https://huggingface.co/docs/hub/spaces-config-reference). Raises ValueError with what to change."""
    from huggingface_hub import SpaceCard

    readme = Path(root) / "README.md"
    if not readme.is_file():
        raise ValueError(f"{readme} is missing; the Space takes its configuration from README.md's front matter.")
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError("README.md must start with the Space's YAML front matter (a block between '---' lines).")
    data = SpaceCard(text).data
    if data.sdk != "gradio":
        raise ValueError(f"README.md's front matter says sdk: {data.sdk}; this demo is a gradio Space, set sdk: gradio.")
    if not data.app_file or not (Path(root) / data.app_file).is_file():
        raise ValueError(f"README.md's front matter names app_file: {data.app_file}, which is not in {root}.")
    return data


def check_repo_id(repo_id: str) -> str:
    """OWNER/NAME as the Hub accepts it (huggingface_hub's own rule), else ValueError."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"'{repo_id}' is not OWNER/NAME; give your user or organisation name, a slash and the "
                         f"Space's name, e.g. alice/llada-demo.")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise ValueError(f"'{repo_id}' is not a name the Hub accepts: use letters, digits, '-', '_' and '.', "
                         f"not at either end, at most 96 characters ({error}).") from None
    return repo_id


def hardware_names() -> list[str]:
    """The hardware flavours huggingface_hub knows (its SpaceHardware enum)."""
    from huggingface_hub import SpaceHardware

    return [h.value for h in SpaceHardware]


def check_hardware(hardware: str) -> str:
    if hardware not in hardware_names():
        raise ValueError(f"--hardware {hardware} is not a Space hardware; use one of: {', '.join(hardware_names())}.")
    return hardware


def check_preset(name: str, kind: str) -> str:
    """A preset of `kind` (or auto; none for the AR model), as app.py reads LLADA_DEMO_MODEL / LLADA_DEMO_AR."""
    allowed = ["auto"] + (["none"] if kind == AUTOREGRESSIVE else [])
    allowed += sorted(p.name for p in PRESETS.values() if p.kind == kind)
    if name not in allowed:
        flag = "--model" if kind == DIFFUSION else "--ar"
        raise ValueError(f"{flag} {name} is not one of the {kind} presets; use one of: {', '.join(allowed)}.")
    return name


def space_variables(model: str | None, ar: str | None) -> dict[str, str]:
    """The Space variables to set: only those asked for, so that a re-publish leaves the others alone."""
    return {key: value for key, value in zip(VARIABLES, (model, ar)) if value is not None}


def publish(api, repo_id: str, root: Path, *, private: bool, hardware: str | None,
            variables: dict[str, str]) -> str:
    """Create the Space, set variables and hardware, upload `space_files(root)`; return the Space's URL."""
    files = space_files(root)
    url = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    for key, value in variables.items():
        api.add_space_variable(repo_id, key, value)
    if hardware is not None:
        api.request_space_hardware(repo_id, hardware)
    api.upload_folder(
        repo_id=repo_id, repo_type="space", folder_path=root,
        # Exact paths, escaped so that a name holding '*', '?' or '[' matches only itself.
        allow_patterns=[glob.escape(f) for f in files],
        delete_patterns=["*"],  # the Space mirrors the selection; .gitattributes is always kept
        commit_message="Publish llada-demo with python -m llada_demo.publish",
    )
    return str(url)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m llada_demo.publish",
                                description="Publish llada-demo as a Hugging Face Space (gradio SDK).")
    p.add_argument("repo_id", metavar="OWNER/NAME", help="the Space, e.g. alice/llada-demo")
    p.add_argument("--hardware", help="request this hardware for the Space (e.g. cpu-basic, zero-a10g, a10g-large)")
    p.add_argument("--private", action="store_true", help="create the Space private (an existing Space keeps its)")
    p.add_argument("--model", help="set LLADA_DEMO_MODEL: a diffusion preset or auto")
    p.add_argument("--ar", help="set LLADA_DEMO_AR: an autoregressive preset, auto or none")
    p.add_argument("--token", help="a Hugging Face write token (default: HF_TOKEN, else the one `hf auth login` saved)")
    return p.parse_args(argv)


def fail(sentence: str) -> int:
    print(f"publish: {sentence}", file=sys.stderr)
    return 2


def main(argv=None, root: Path | None = None) -> int:
    """The command; `root` is the project folder to publish (default: the one this package is in)."""
    args = parse_args(argv)
    root = Path(root) if root is not None else ROOT
    try:
        check_repo_id(args.repo_id)
        if args.hardware is not None:
            check_hardware(args.hardware)
        if args.model is not None:
            check_preset(args.model, DIFFUSION)
        if args.ar is not None:
            check_preset(args.ar, AUTOREGRESSIVE)
        space_card(root)
    except ValueError as error:
        return fail(str(error))

    import httpx2  # huggingface_hub's HTTP client
    from huggingface_hub import HfApi, constants, get_token
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if constants.HF_HUB_OFFLINE:
        return fail("HF_HUB_OFFLINE is set, so the Hub cannot be reached; unset it (HF_HUB_OFFLINE=0) to publish.")
    token = args.token or get_token()
    if not token:
        return fail("no Hugging Face token: pass --token, set HF_TOKEN, or run `hf auth login` with a write token "
                    "(https://huggingface.co/settings/tokens).")
    api = HfApi(token=token)
    try:
        api.whoami()  # a refused token fails here, before anything is created
        url = publish(api, args.repo_id, root, private=args.private, hardware=args.hardware,
                      variables=space_variables(args.model, args.ar))
    except (httpx2.TransportError, OfflineModeIsEnabled) as error:
        return fail(f"cannot reach the Hub at {api.endpoint} ({type(error).__name__}); check the connection "
                    f"(and HF_ENDPOINT) and run the command again.")
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return fail(f"the Hub refused (HTTP {status}): {first} Check that the token can write to {args.repo_id}.")
    except ValueError as error:  # huggingface_hub's checks, e.g. README metadata the Hub calls invalid
        return fail(str(error).strip().replace("\n", " "))
    print(url)  # the only line on stdout, for scripts
    return 0


if __name__ == "__main__":
    sys.exit(main())

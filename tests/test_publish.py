"""`python -m llada_demo.publish`: which files go to the Space and which do not, and the command run for real
against a local fake of the Hub's HTTP API (tests/fake_hub.py; no network): what it uploads and how (large
and binary files through LFS), the front matter, the variables and hardware, the printed URL, a re-publish,
and the sentence plus exit code 2 without a token, with a refused one, offline, or with the Hub unreachable.

The client runs with HF_HUB_DISABLE_XET=1: the installed huggingface_hub (2.4) uploads through hf_xet when it
is installed, and the fake has no Xet (CAS) server; with it disabled the same client uses the LFS batch API.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import SpaceCard, SpaceHardware

from llada_demo import publish
from tests.fake_hub import FakeHub, git_blob_oid

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hf_fake_write_token"
NOT_FOR_THE_SPACE = ("tests/", "bench/", "runs/", ".ci/", ".git/", "deploy/", "test-artifacts/", "Dockerfile",
                     "requirements-dev.txt", "pytest.ini", ".dockerignore")


def run(args, *, endpoint: str, home: Path, token: str | None = TOKEN, extra: dict | None = None, root=None):
    """The command in a fresh interpreter (huggingface_hub reads HF_* when imported): `python -m
    llada_demo.publish ARGS` as a user types it, or, to publish a made-up project `root`, its main() on that
    folder; either way it must not have imported torch."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home), HF_HUB_DISABLE_XET="1", HF_HUB_OFFLINE="0",
               HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(ROOT))
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra or {})
    code = ("import runpy, sys\n"
            "if sys.argv[1] == '-m':\n"
            "    sys.argv[:2] = ['publish']\n"
            "    try:\n"
            "        runpy.run_module('llada_demo.publish', run_name='__main__', alter_sys=True)\n"
            "    except SystemExit as done:\n"
            "        code = done.code\n"
            "else:\n"
            "    from llada_demo.publish import main\n"
            "    code = main(sys.argv[2:], root=sys.argv[1])\n"
            "assert 'torch' not in sys.modules, 'publish imported torch'\n"
            "sys.exit(code)\n")
    return subprocess.run([sys.executable, "-c", code, "-m" if root is None else str(root), *args],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_sentence(done) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("publish: ") and lines[0].endswith("."), lines
    return lines[0]


# --- which files go: a pure function -------------------------------------------------------------------

def make_tree(root: Path) -> list[str]:
    """A project-like tree with every kind of file that must stay home; returns the ones that must go."""
    go = ["README.md", "app.py", "requirements.txt", "llada_demo/__init__.py", "llada_demo/web/ui.py",
          "llada_demo/web/odd [1]*?.py", "assets/models/tiny/model.safetensors", "assets/models/tiny/loss.png",
          "assets/models/tiny/config.json", "docs/training.md"]
    stay = ["tests/test_x.py", "bench/b.py", "runs/tiny/checkpoint.pt", ".ci/run", ".git/HEAD", "Dockerfile",
            "deploy/healthcheck.py", "requirements-dev.txt", "pytest.ini", ".dockerignore", "test-artifacts/p.png",
            "llada_demo/__pycache__/ui.cpython-311.pyc", "llada_demo/web/ui.pyc", "assets/models/tiny/checkpoint.pt",
            "llada_demo/.ipynb_checkpoints/ui.py", "assets/.DS_Store", "notes.txt", "llada_demo.egg-info/PKG-INFO"]
    for rel in go + stay:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0binary\0" * 200 if rel.endswith((".safetensors", ".png", ".pt")) else f"# {rel}\n".encode())
    (root / "README.md").write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    return sorted(go)


def test_space_files_keep_tests_runs_caches_and_docker_files_home(tmp_path):
    assert publish.space_files(tmp_path) == []
    expected = make_tree(tmp_path)
    assert publish.space_files(tmp_path) == expected


def test_space_files_of_this_project_hold_what_the_app_runs():
    files = publish.space_files(ROOT)
    tracked = subprocess.run(["git", "ls-files", "app.py", "requirements.txt", "README.md", "llada_demo", "assets",
                              "docs"], cwd=ROOT, capture_output=True, text=True, check=False)
    if tracked.returncode == 0:  # a git checkout: every tracked file the app needs goes
        assert sorted(set(tracked.stdout.split()) - set(files)) == []
    assert {"app.py", "requirements.txt", "README.md", "assets/models/tiny-llada/model.safetensors",
            "assets/models/tiny-ar/model.safetensors"} <= set(files)
    assert [f for f in files if f.startswith(NOT_FOR_THE_SPACE) or "__pycache__" in f] == []


def test_front_matter_is_read_and_checked(tmp_path):
    card = publish.space_card(ROOT)
    assert (card.sdk, card.app_file) == ("gradio", "app.py")
    make_tree(tmp_path)
    readme = tmp_path / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("sdk: gradio", "sdk: docker", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="set sdk: gradio"):
        publish.space_card(tmp_path)
    readme.write_text(text.split("---\n", 2)[2], encoding="utf-8")
    with pytest.raises(ValueError, match="must start with the Space's YAML front matter"):
        publish.space_card(tmp_path)


@pytest.mark.parametrize("argv, says", [
    (["alice"], "is not OWNER/NAME"),
    (["alice/"], "is not OWNER/NAME"),
    (["a/b/c"], "is not OWNER/NAME"),
    (["alice/-demo"], "not a name the Hub accepts"),
    (["alice/de..mo"], "not a name the Hub accepts"),
    (["alice/demo", "--hardware", "h100"], "is not a Space hardware; use one of: cpu-basic"),
    (["alice/demo", "--model", "qwen2.5-7b-instruct"], "--model qwen2.5-7b-instruct is not one of the diffusion presets"),
    (["alice/demo", "--ar", "llada-8b-instruct"], "--ar llada-8b-instruct is not one of the autoregressive presets"),
])
def test_bad_input_is_one_sentence_before_any_request(argv, says, capsys):
    assert publish.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and err.endswith(".")
    if "--hardware" in argv:  # the valid values are huggingface_hub's own
        assert all(h.value in err for h in SpaceHardware)


# --- the command against the fake Hub ---------------------------------------------------------------------

def test_publish_creates_the_space_uploads_its_files_sets_variables_and_hardware(tmp_path):
    expected = publish.space_files(ROOT)
    with FakeHub(TOKEN) as hub:  # a wrong HF_TOKEN is set: --token takes precedence
        done = run(["alice/llada", "--private", "--hardware", "zero-a10g", "--model", "llada-8b-instruct",
                    "--ar", "qwen2.5-7b-instruct", "--token", TOKEN], endpoint=hub.endpoint, home=tmp_path,
                   token="hf_not_this_one")
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"{hub.endpoint}/spaces/alice/llada\n"
        space = hub.state.spaces["alice/llada"]
        calls = [c for c in hub.state.calls if c[1] != "/api/agent-harnesses"]

    assert (space.sdk, space.visibility) == ("gradio", "private")
    assert space.variables == {"LLADA_DEMO_MODEL": "llada-8b-instruct", "LLADA_DEMO_AR": "qwen2.5-7b-instruct"}
    assert space.hardware == ["zero-a10g"]
    # Who am I, create, then variables and hardware before the upload's one commit (one build, right settings).
    order = [path.removeprefix("/api/spaces/alice/llada/").removeprefix("/api/").split("/")[0]
             for _, path in calls if path.startswith("/api/")]
    assert order[:5] == ["whoami-v2", "repos", "variables", "variables", "hardware"], order
    assert order[-1] == "commit" and order.count("commit") == 1 and len(space.commits) == 1

    # Exactly the selected files, byte for byte; binary and large ones as LFS objects, the rest inline.
    assert sorted(space.files) == expected
    for rel, stored in space.files.items():
        content = (ROOT / rel).read_bytes()
        binary = b"\0" in content[:512] or len(content) > 10 * 1024 * 1024
        if binary:
            assert stored[0] == "lfs" and stored[1] == hashlib.sha256(content).hexdigest(), rel
            assert hub.state.lfs[stored[1]] == content
        else:
            assert stored == ("regular", content), rel
    lfs = sorted(rel for rel, stored in space.files.items() if stored[0] == "lfs")
    assert {"assets/models/tiny-llada/model.safetensors", "assets/models/tiny-ar/model.safetensors"} <= set(lfs)
    assert all(rel.endswith((".safetensors", ".png")) for rel in lfs), lfs

    # The README goes with its front matter, the one on disk, and the Hub was asked to validate it.
    readme = space.files["README.md"][1].decode()
    assert readme == (ROOT / "README.md").read_text(encoding="utf-8") and readme in hub.state.readmes
    assert SpaceCard(readme).data.to_dict() == publish.space_card(ROOT).to_dict()


def test_republish_mirrors_the_project_and_leaves_settings_alone(tmp_path):
    project = tmp_path / "project"
    expected = make_tree(project)
    with FakeHub(TOKEN) as hub:
        first = run(["alice/llada", "--model", "tiny-llada"], endpoint=hub.endpoint, home=tmp_path / "hf", root=project)
        assert first.returncode == 0, first.stderr
        space = hub.state.spaces["alice/llada"]
        assert sorted(space.files) == expected  # the odd name "odd [1]*?.py" matched only itself
        stale = "llada_demo/old_module.py"
        space.files[stale] = ("regular", b"# removed from the project\n")
        (project / "llada_demo" / "web" / "ui.py").write_text("# changed\n")
        before = len(hub.state.calls)
        second = run(["alice/llada"], endpoint=hub.endpoint, home=tmp_path / "hf", root=project)
        assert second.returncode == 0, second.stderr
        assert second.stdout == first.stdout
        calls = hub.state.calls[before:]

    assert sorted(space.files) == expected and stale not in space.files
    assert space.files["llada_demo/web/ui.py"] == ("regular", b"# changed\n")
    assert space.variables == {"LLADA_DEMO_MODEL": "tiny-llada"} and space.hardware == []
    assert space.visibility == "public"
    assert not any(path.endswith(("/variables", "/hardware")) or path.startswith("/lfs-upload") for _, path in calls)
    # The second commit holds only what changed: the edited file and the deleted one.
    assert sorted((line["key"], line["value"]["path"]) for line in space.commits[-1]) == [
        ("deletedFile", stale), ("file", "llada_demo/web/ui.py")]
    assert git_blob_oid(b"# changed\n") == hub_oid(space.files["llada_demo/web/ui.py"])


def hub_oid(stored) -> str:
    return git_blob_oid(stored[1]) if stored[0] == "regular" else stored[1]


def test_a_token_saved_by_hf_auth_login_is_used(tmp_path):
    (tmp_path / "token").write_text(TOKEN)  # where `hf auth login` saves it: $HF_HOME/token
    with FakeHub(TOKEN) as hub:
        done = run(["alice/saved", "--hardware", "cpu-basic"], endpoint=hub.endpoint, home=tmp_path, token=None,
                   root=_small_project(tmp_path))
        assert done.returncode == 0, done.stderr
        assert hub.state.spaces["alice/saved"].hardware == ["cpu-basic"]


def _small_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    make_tree(project)
    return project


# --- when it cannot publish: one sentence, exit 2 ---------------------------------------------------------

def test_without_a_token_it_says_how_to_get_one(tmp_path):
    with FakeHub(TOKEN) as hub:
        sentence = one_sentence(run(["alice/llada"], endpoint=hub.endpoint, home=tmp_path, token=None))
        assert [c for c in hub.state.calls if c[1] != "/api/agent-harnesses"] == []
    assert "no Hugging Face token" in sentence and "hf auth login" in sentence and "HF_TOKEN" in sentence


def test_a_refused_token_creates_nothing(tmp_path):
    with FakeHub(TOKEN) as hub:
        sentence = one_sentence(run(["alice/llada"], endpoint=hub.endpoint, home=tmp_path, token="hf_wrong"))
        assert hub.state.spaces == {}
    assert "the Hub refused (HTTP 401)" in sentence and "alice/llada" in sentence


def test_an_unreachable_hub_is_one_sentence(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sentence = one_sentence(run(["alice/llada"], endpoint=endpoint, home=tmp_path))
    assert f"cannot reach the Hub at {endpoint}" in sentence


def test_offline_mode_is_one_sentence(tmp_path):
    sentence = one_sentence(run(["alice/llada"], endpoint="http://127.0.0.1:9", home=tmp_path,
                                extra={"HF_HUB_OFFLINE": "1"}))
    assert "HF_HUB_OFFLINE" in sentence

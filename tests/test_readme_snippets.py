"""The README's "Use it from code" snippets, run as written, so that they cannot rot.

Each snippet is the fenced python block after a `<!-- snippet: NAME -->` line in README.md. The Python
one runs in a fresh interpreter in a temporary folder; its JSON must be a trace the page replays
(`views.load_trace`, the "Load a JSON trace" control). The client one runs against the real app
(served in-process on a free port); the one change made to it is its URL.
"""

import contextlib
import io
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
README_URL = "http://127.0.0.1:7860/"


def snippet(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(rf"<!-- snippet: {re.escape(name)} -->\s*```python\n(.*?)```", text, flags=re.S)
    assert len(found) == 1, f"README.md should hold exactly one python block marked 'snippet: {name}'"
    return found[0]


def test_the_python_snippet_streams_steps_and_saves_a_trace_the_page_replays(tmp_path):
    code = snippet("python")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    steps = [line for line in lines if line.startswith("step ")]

    from llada_demo.engine.step import Trace
    from llada_demo.web import views

    saved = tmp_path / "run.json"
    trace = Trace.from_json(saved.read_text(encoding="utf-8"))
    n = int(trace.settings["steps"])
    assert len(steps) == len(trace.steps) == n  # one printed line per forward pass
    assert steps[-1].endswith("masks left 0") and trace.mask_id not in trace.steps[-1].tokens
    eos = trace.special_ids.get("eos", ())
    assert lines[-1] == "".join(trace.token_text[t] for t in trace.steps[-1].tokens if t not in eos)
    canvas, status, *_ = views.load_trace(str(saved), True)  # what the page's "Load a JSON trace" does
    assert f'data-step="{n}"' in canvas and f"Step {n} / {n}" in status


def test_the_client_snippet_runs_against_the_served_app(served_app):
    code = snippet("client")
    assert README_URL in code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace(README_URL, served_app), "README.md:client", "exec"), {"__name__": "snippet"})
    lines = printed.getvalue().splitlines()
    statuses, path = lines[:-1], pathlib.Path(lines[-1])
    n = len(statuses)
    assert n == 8 and all(f"Step {i} / {n}" in s for i, s in enumerate(statuses, 1))  # one frame per pass
    assert "masks left 0" in statuses[-1]

    from llada_demo.engine.step import Trace
    trace = Trace.from_json(path.read_text(encoding="utf-8"))  # the exported run is the one just streamed
    assert len(trace.steps) == n and trace.prompt == "Kilm lived near the market with a lazy owl."


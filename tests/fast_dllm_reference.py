"""Fast-dLLM's own outputs for the tests' inputs, so that CI (which cannot reach GitHub) still compares with
the real code and not with a copy written from memory.

With a checkout of NVlabs/Fast-dLLM (FAST_DLLM, default /tmp/Fast-dLLM) each reference is computed by the
real functions, read from that checkout without running its imports, and checked against the recorded
value in tests/goldens/fast_dllm.json; without one, the recorded value is used. Recording:
`LLADA_DEMO_RECORD_GOLDENS=1 python -m pytest tests/test_rules.py` with the checkout present (it also says
which commit it read). Values are JSON lists (token ids, 0/1 masks, floats at full precision).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

FAST_DLLM = Path(os.environ.get("FAST_DLLM", "/tmp/Fast-dLLM"))
GOLDENS = Path(__file__).parent / "goldens" / "fast_dllm.json"
RECORD = bool(os.environ.get("LLADA_DEMO_RECORD_GOLDENS"))


def present() -> bool:
    return (FAST_DLLM / "llada" / "generate.py").is_file()


def functions_of(relative: str, names: set[str]) -> dict:
    """The named top-level functions of a Fast-dLLM file, without running its imports (they load models)."""
    path = FAST_DLLM / relative
    tree = ast.parse(path.read_text())
    tree.body = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]
    namespace = {"torch": torch, "np": np, "F": F, "dists": torch.distributions}
    exec(compile(tree, str(path), "exec"), namespace)
    return {name: namespace[name] for name in names}


def _recorded() -> dict:
    return json.loads(GOLDENS.read_text()) if GOLDENS.is_file() else {"commit": None, "values": {}}


def _record(key: str, value) -> None:
    data = _recorded()
    commit = subprocess.run(["git", "-C", str(FAST_DLLM), "rev-parse", "HEAD"], capture_output=True, text=True)
    data["commit"] = commit.stdout.strip() or None
    data["values"][key] = value
    GOLDENS.parent.mkdir(exist_ok=True)
    GOLDENS.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")


def reference(key: str, compute: Callable[[], object]):
    """Fast-dLLM's value for `key`: computed by `compute` from the checkout if present, else as recorded."""
    recorded = _recorded()["values"].get(key)
    if present():
        value = json.loads(json.dumps(compute()))  # the JSON form, so both paths compare alike
        if RECORD:
            _record(key, value)
        elif recorded is not None:
            assert value == recorded, f"Fast-dLLM's {key} no longer matches tests/goldens/fast_dllm.json; re-record it"
        return value
    if recorded is None:
        pytest.skip(f"no checkout of NVlabs/Fast-dLLM at {FAST_DLLM} and no recorded value for {key}")
    return recorded

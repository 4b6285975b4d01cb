"""Where exports go and what may be exported: the checks every export makes, a safe file name, and the JSON.

What it is not: no HTML (replay.py), no GIF (gif.py); it does not choose the folder (the caller passes one).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from llada_demo.engine.step import Trace

SLUG_CHARS = 40



def check(trace: Trace) -> None:
    """One sentence for each way a trace cannot be exported."""
    if not isinstance(trace, Trace):
        raise ValueError(f"Export needs the Trace of a run, not a {type(trace).__name__}.")
    if not trace.steps:
        raise ValueError("This run has no steps to export; run the model first.")
    length = len(trace.steps[0].tokens)
    if length == 0 or any(len(s.tokens) != length for s in trace.steps):
        raise ValueError("This run's steps do not all cover the same generated region; export a run recorded by the demo.")
    if int(trace.settings.get("gen_length", length)) != length:
        raise ValueError(f"This run's settings say gen_length {trace.settings.get('gen_length')} but its steps hold "
                         f"{length} positions; export a run recorded by the demo.")


def folder_path(folder) -> Path:
    """The existing folder to write into, or a sentence saying it does not exist."""
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"The export folder {str(path)!r} does not exist; pass an existing (temporary) directory.")
    return path


def slug(trace: Trace) -> str:
    """A file-name stem from the prompt (else the model): only [a-z0-9-], at most 40 characters.

    Never a path from user text: `../../etc/passwd` becomes `etc-passwd`.
    """
    for source in (trace.prompt, trace.model):
        # NFKD splits accents off letters ("é" -> "e" + accent) so they survive the ASCII filter.
        ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode().lower()
        stem = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:SLUG_CHARS].strip("-")
        if stem:
            return stem
    return "llada-run"


def target(trace: Trace, folder, suffix: str) -> Path:
    """`folder/<slug><suffix>`, never outside `folder`."""
    base = folder_path(folder)
    path = base / f"{slug(trace)}{suffix}"
    # The slug has no separators or dots, so this holds; the check keeps it true if slug() changes.
    assert path.resolve().parent == base.resolve()
    return path


def write_json(trace: Trace, folder) -> Path:
    """Write the trace's JSON (replayable in the page without a model) into `folder`; return the path."""
    check(trace)
    path = target(trace, folder, ".json")
    path.write_text(trace.to_json(), encoding="utf-8")
    return path

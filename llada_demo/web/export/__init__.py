"""Exports of a finished run: the trace as JSON, a self-contained HTML replay, and an animated GIF.

What it is: three ways to take a `Trace` out of the page and show it elsewhere without a model.
- `write_json`: the trace itself (`Trace.to_json`), loadable again with `Trace.from_json`.
- `replay_html` / `write_html`: one offline HTML document (no network, no CDN; works from file://) that
  replays the run with Play / Pause, a step slider, a speed selector and the arrow keys. Every frame is
  the page's own canvas (`render.canvas_html`) and status line (`render.status_text`), precomputed here.
- `gif_frames` / `write_gif`: the canvas drawn with Pillow, one frame per step (at most `MAX_FRAMES`),
  for slides and chat apps that show GIFs but not HTML. `layout` is the pure chip layout it uses.

One module each: files.py (checks, names, JSON), replay.py (HTML), gif.py (GIF); this package re-exports
their public names.

What it is not: it runs no model and imports no torch (only `step` and `render` from this package); it
does not decide where files live (the caller passes a folder, normally a fresh temporary directory),
and it does not redraw the canvas in HTML (that is `render`'s job; the HTML export embeds its output).
"""

from llada_demo.web.export.files import check, slug, write_json
from llada_demo.web.export.gif import MAX_FRAMES, frame_indices, gif_frames, layout, metrics, write_gif
from llada_demo.web.export.replay import frames_data, replay_html, script_json, write_html

__all__ = ["MAX_FRAMES", "check", "frame_indices", "frames_data", "gif_frames", "layout", "metrics", "replay_html",
           "script_json", "slug", "write_gif", "write_html", "write_json"]

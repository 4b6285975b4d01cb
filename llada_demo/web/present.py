"""For a teacher in front of a class (issue 17 §3): the keyboard on the replay, the projector view, and a
link that reopens the page with a run's settings filled in.

The keyboard and projector are client-side: `HEAD` (CSS and a script, given to `launch(head=...)`) and the
`PROJECTOR_JS` event function flip a class on the page root. The link is plain query parameters that
`settings_from_query` reads back in `demo.load` (via `gr.Request`).

Why query parameters, not `gr.DeepLinkButton`: Gradio's deep link saves the session's component values on
the server under an opaque hash (routes.py `load_deep_link`), so a link dies when a Space restarts and
carries the whole page (the canvas HTML too); a teacher sends settings, which a URL holds readably.

What it is not: no layout (tabs/denoise.py), no model; it only reads and writes settings as plain values.
"""

from __future__ import annotations

from urllib.parse import urlencode

# The query parameters a link carries, in the order of the Denoise tab's controls (`LINK_INPUTS` there).
LINK_KEYS = ("prompt", "gen_length", "steps", "block_length", "remasking", "temperature", "cfg_scale", "seed")
NUMBERS = {"gen_length": int, "steps": int, "block_length": int, "temperature": float, "cfg_scale": float,
           "seed": int}
MAX_LINK_PROMPT = 2000  # characters; a URL longer than a few thousand characters is cut by some browsers

HELP = ("Keys on the replay: **space** plays or pauses, **←** / **→** step back and forth, **Home** / **End** "
        "jump to the start or the end (not while typing in a box).")

# !important: Gradio scopes the launch CSS (render.CSS) so that it outranks a plain head stylesheet.
CSS = """
body.ld-projector #model-note, body.ld-projector .ld-legend, body.ld-projector footer,
body.ld-projector .ld-chrome { display: none !important; }
body.ld-projector .ld-canvas { font-size: 2.4rem !important; line-height: 1.5 !important; }
body.ld-projector .ld-chip { min-width: 1.6em; }
body.ld-projector #status { font-size: 1.4rem !important; }
.ld-sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.ld-differs { outline: 3px solid #dc2626; }
.ld-order { font-size: .8rem; color: #6b7280; word-break: break-word; }
"""

# Space, arrows, Home and End drive the replay's controls (#play, #pause, #step-slider) as a mouse would:
# the slider's number box gets the new value and Enter, which Gradio turns into the slider's events.
KEYS_JS = """
(() => {
  let playing = false;
  const typing = (el) => el && (el.isContentEditable || ['TEXTAREA', 'SELECT'].includes(el.tagName) ||
    (el.tagName === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes(el.type)));
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('#play')) playing = true;
    if (e.target.closest && (e.target.closest('#pause') || e.target.closest('#run'))) playing = false;
  }, true);
  // A click on a canvas chip picks it for the Steer row (its data-pos into #steer-pos, as if typed).
  document.addEventListener('click', (e) => {
    const chip = e.target.closest && e.target.closest('#canvas [data-pos]');
    const box = document.querySelector('#steer-pos input');
    if (!chip || !box) return;
    box.value = chip.dataset.pos;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.dispatchEvent(new Event('change', {bubbles: true}));
    box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
  });
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || typing(document.activeElement)) return;
    const slider = document.querySelector('#step-slider');
    if (!slider || slider.offsetParent === null) return;  // only on the Denoise tab
    const box = slider.querySelector('input[type=number]');
    const range = slider.querySelector('input[type=range]');
    if (!box || !range) return;
    const now = Number(box.value), last = Number(range.max);
    let to = null;
    if (e.key === ' ') {  // blur first: a focused button would take the space's keyup as a second click
      e.preventDefault(); if (document.activeElement) document.activeElement.blur();
      document.querySelector(playing ? '#pause' : '#play').click(); return; }
    if (e.key === 'ArrowLeft') to = Math.max(0, now - 1);
    else if (e.key === 'ArrowRight') to = Math.min(last, now + 1);
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = last;
    if (to === null) return;
    e.preventDefault();
    if (playing) { document.querySelector('#pause').click(); playing = false; }
    box.value = String(to);
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.dispatchEvent(new KeyboardEvent('keypress', {key: 'Enter', bubbles: true}));
    box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
    box.blur();
  });
})();
"""

HEAD = f"<style>{CSS}</style>\n<script>{KEYS_JS}</script>"

# The projector switch's event: flip the class on the page root, client-side only (no server round trip).
PROJECTOR_JS = "(on) => { document.body.classList.toggle('ld-projector', Boolean(on)); return []; }"

# "Copy link to this run": the page's own address with the settings as query parameters, shown in a box
# (a browser without clipboard permission still shows it) and copied where the browser allows.
LINK_JS = """
(...values) => {
  const keys = %s;
  const url = new URL(window.location.href);
  url.search = '';
  keys.forEach((k, i) => { if (values[i] !== null && values[i] !== undefined) url.searchParams.set(k, values[i]); });
  const link = url.toString();
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link).catch(() => {});
  return link;
}
""" % (list(LINK_KEYS),)


def link_query(settings: dict) -> str:
    """The query string a link carries for these settings (the keys of LINK_KEYS that are given)."""
    return urlencode({k: settings[k] for k in LINK_KEYS if k in settings})


def settings_from_query(query: dict, defaults: dict, remasking: tuple[str, ...]) -> dict:
    """The settings a link asks for, over `defaults`; a missing, malformed or unknown value keeps its default.

    A link is typed by hand or cut short by a chat program, so a bad value is skipped rather than refused:
    the page still opens, with what could be read. Ranges are checked later, when the run starts.
    """
    settings = dict(defaults)
    for key in LINK_KEYS:
        raw = query.get(key)
        if raw is None:
            continue
        if key == "prompt":
            settings[key] = str(raw)[:MAX_LINK_PROMPT]
        elif key == "remasking":
            if raw in remasking:
                settings[key] = raw
        else:
            try:
                value = NUMBERS[key](raw)
            except (TypeError, ValueError):
                continue
            if value == value and abs(value) != float("inf"):  # no NaN or infinity from float("nan")
                settings[key] = value
    return settings

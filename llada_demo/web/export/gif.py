"""The GIF export: the canvas drawn with Pillow, one frame per step (at most `MAX_FRAMES`), for slides and
chat apps that show GIFs but not HTML. `layout` is the pure chip layout it uses.

What it is not: no HTML (replay.py); it reads the page's colours from render.CSS's values, written here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

from llada_demo.engine.step import Step, Trace
from llada_demo.web import render
from llada_demo.web.export.files import check, target

MAX_FRAMES = 120          # GIF frames for long runs; beyond this GIFs grow large and slow to load.
FINAL_HOLD_MS = 1500      # the last GIF frame stays up this long, so the result can be read.
MIN_FRAME_MS = 20         # browsers slow GIF frames shorter than 20 ms down to 100 ms.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# Colours of the page's CSS (render.CSS), so the GIF reads like the canvas.
WHITE, INK = (255, 255, 255), (17, 24, 39)
MASK_FILL, MASK_EDGE, ACTIVE_EDGE = (229, 231, 235), (156, 163, 175), (59, 91, 219)
NEW_EDGE = (217, 72, 15)  # #d9480f
GIVEN_FILL, GIVEN_EDGE = (249, 250, 251), (209, 213, 219)
# Uniform-noise states (render.CSS .ld-noise, .ld-renoised): faint grey or faint red, dotted, the token faded.
NOISE_FILL, NOISE_EDGE, NOISE_INK = (248, 249, 250), (206, 212, 218), (173, 181, 189)
RENOISED_FILL, RENOISED_EDGE, RENOISED_INK = (255, 245, 245), (201, 42, 42), (224, 49, 49)
EOS_FADE = 0.55           # the CSS draws end-of-text chips at opacity .55 on white
TRANSPARENT = 255         # palette index kept free: "unchanged since the last frame" in the written GIF
UNUSED = (255, 0, 255)    # its colour, far from every colour drawn, so no pixel is mapped to it



@dataclass(frozen=True)
class Metrics:
    """Sizes in pixels for a GIF of a given width (everything scales with the width)."""
    width: int
    margin: int
    font: int
    small: int
    pad_x: int
    pad_y: int
    gap_x: int
    gap_y: int
    sep: int         # room left before the first chip of a block for the block bar
    chip_h: int
    min_chip_w: int
    top: int         # y of the first chip row (below the prompt line)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def metrics(width: int) -> Metrics:
    """Pixel sizes for a GIF `width` wide: 24 px chip text at 960, scaled with the width."""
    if not isinstance(width, int) or not 320 <= width <= 4096:
        raise ValueError(f"The GIF width must be a whole number of pixels from 320 to 4096, got {width!r}.")
    s = width / 960
    font, small = max(12, round(24 * s)), max(10, round(16 * s))
    margin, pad_y = round(16 * s), round(5 * s)
    ascent, descent = _font(font).getmetrics()
    small_h = sum(_font(small).getmetrics())
    return Metrics(width=width, margin=margin, font=font, small=small, pad_x=round(8 * s), pad_y=pad_y,
                   gap_x=max(2, round(5 * s)), gap_y=max(3, round(7 * s)), sep=max(6, round(14 * s)),
                   chip_h=ascent + descent + 2 * pad_y, min_chip_w=round(2.2 * font),
                   top=margin + small_h + round(10 * s))


@dataclass(frozen=True)
class ChipBox:
    """Where one generated position is drawn: pixel box (x0, y0) inclusive to (x1, y1) exclusive."""
    pos: int
    x0: int
    y0: int
    x1: int
    y1: int
    label: str
    block_start: bool   # first chip of a block after the first: a block bar is drawn to its left
    line_break: bool    # its token holds a newline: the next chip starts a new line


def _label(trace: Trace, token: int) -> str:
    if token in set(trace.special_ids.get("eos", ())):
        return render.EOS_SYMBOL
    return render.token_label(trace.token_text.get(token, f"#{token}"))


def _fit(label: str, font, room: int) -> str:
    """The label, cut with an ellipsis to `room` pixels (a very long token must not break the layout)."""
    if font.getlength(label) <= room:
        return label
    lo, hi = 0, len(label)  # binary search: the longest prefix that fits with the ellipsis
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if font.getlength(label[:mid] + "…") <= room else (lo, mid - 1)
    return label[:lo] + "…"


def layout(trace: Trace, width: int = 960) -> list[ChipBox]:
    """Chip boxes in reading order, wrapping like text within `width`, newlines breaking the line.

    One layout serves every frame, sized by the run's final tokens, so chips do not jump between
    frames; a still-masked chip therefore already has the width of the token that will fill it.
    """
    check(trace)
    m = metrics(width)
    final = trace.steps[-1].tokens
    block = int(trace.settings.get("block_length", len(final)) or len(final))
    font = _font(m.font)
    right, room = width - m.margin, width - 2 * m.margin - m.sep - 2 * m.pad_x
    x, y, boxes = m.margin, m.top, []
    for pos, token in enumerate(final):
        masked = token == trace.mask_id
        label = "" if masked else _fit(_label(trace, token), font, room)
        w = max(m.min_chip_w, math.ceil(font.getlength(label)) + 2 * m.pad_x)  # ceil: _fit must not cut it
        starts_block = pos > 0 and block < len(final) and pos % block == 0
        lead = m.sep if starts_block else 0
        if x + lead + w > right and x > m.margin:
            x, y = m.margin, y + m.chip_h + m.gap_y
        x += lead
        breaks = not masked and token not in set(trace.special_ids.get("eos", ())) and \
            "\n" in trace.token_text.get(token, "")
        boxes.append(ChipBox(pos, x, y, x + w, y + m.chip_h, label, starts_block, breaks))
        x += w + m.gap_x
        if breaks:
            x, y = m.margin, y + m.chip_h + m.gap_y
    return boxes


# ---------------------------------------------------------------- GIF: drawing

def frame_indices(n_steps: int, limit: int = MAX_FRAMES) -> list[int]:
    """Step indices to draw: all of them, or `limit` spread evenly, always the first and the last."""
    if n_steps <= limit:
        return list(range(n_steps))
    return sorted({round(i * (n_steps - 1) / (limit - 1)) for i in range(limit)})


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def _fade(rgb, amount: float = EOS_FADE) -> tuple[int, int, int]:
    """`rgb` at opacity `amount` over the white page."""
    return tuple(round(c * amount + 255 * (1 - amount)) for c in rgb)


def _dashed_box(draw: ImageDraw.ImageDraw, box: ChipBox, colour, width: int, radius: int) -> None:
    """A dashed outline along the straight edges: masked chips differ by shape, not colour alone."""
    dash = max(3, width * 3)
    for x in range(box.x0 + radius, box.x1 - radius, 2 * dash):
        x_end = min(x + dash, box.x1 - radius)
        draw.line([(x, box.y0 + width // 2), (x_end, box.y0 + width // 2)], fill=colour, width=width)
        draw.line([(x, box.y1 - 1 - width // 2), (x_end, box.y1 - 1 - width // 2)], fill=colour, width=width)
    for y in range(box.y0 + radius, box.y1 - radius, 2 * dash):
        y_end = min(y + dash, box.y1 - radius)
        draw.line([(box.x0 + width // 2, y), (box.x0 + width // 2, y_end)], fill=colour, width=width)
        draw.line([(box.x1 - 1 - width // 2, y), (box.x1 - 1 - width // 2, y_end)], fill=colour, width=width)


def _wrap(text: str, font, room: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if line and font.getlength(trial) > room:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + [line]


def _frame(trace: Trace, boxes: list[ChipBox], m: Metrics, height: int, index: int, since: int) -> Image.Image:
    """The canvas after step `index`, chips committed after step `since` ringed as new."""
    step: Step = trace.steps[index]
    final = trace.steps[-1].tokens
    done = render.commits(trace.steps, index)
    new = {pos for s in trace.steps[since + 1: index + 1] for pos in s.committed}
    eos = set(trace.special_ids.get("eos", ()))
    block = int(trace.settings.get("block_length", len(step.tokens)) or len(step.tokens))
    uniform = render.uniform_noise(trace)
    noise, accepted = set(step.noise), set(step.accepted)
    held = render.acceptances(trace.steps, index) if uniform else {}
    font, small = _font(m.font), _font(m.small)
    radius, thin, thick = max(3, m.font // 4), max(1, m.font // 12), max(3, m.font // 6)
    image = Image.new("RGB", (m.width, height), WHITE)
    draw = ImageDraw.Draw(image)
    draw.text((m.margin, m.margin), _fit("Prompt: " + " ".join(trace.prompt.split()), small, m.width - 2 * m.margin),
              font=small, fill=INK)
    for box in boxes:
        token = step.tokens[box.pos]
        if box.block_start:
            bar_x = box.x0 - m.sep // 2
            draw.rectangle([bar_x - 1, box.y0, bar_x + 1, box.y1 - 1], fill=ACTIVE_EDGE)
        xy = [box.x0, box.y0, box.x1 - 1, box.y1 - 1]
        if token == trace.mask_id:
            active = block < len(step.tokens) and box.pos // block == step.block
            draw.rounded_rectangle(xy, radius, fill=MASK_FILL)
            _dashed_box(draw, box, ACTIVE_EDGE if active else MASK_EDGE, thin + 1, radius)
            continue
        state = render.uniform_state(step, box.pos, noise, accepted) if uniform else None
        if state in ("noise", "renoised"):  # a random token: faint, dotted, red when it was accepted before
            fill, edge, ink = ((NOISE_FILL, NOISE_EDGE, NOISE_INK) if state == "noise"
                               else (RENOISED_FILL, RENOISED_EDGE, RENOISED_INK))
            draw.rounded_rectangle(xy, radius, fill=fill)
            _dashed_box(draw, box, edge, thin + 1, radius)
            label = _fit(_label(trace, token), font, box.x1 - box.x0 - 2 * m.pad_x)
            left, _, right, _ = font.getbbox(label)
            draw.text((box.x0 + (box.x1 - box.x0 - (right - left)) / 2 - left, box.y0 + m.pad_y), label, font=font,
                      fill=ink)
            continue
        if state is not None:  # accepted: on the probability scale, ringed in the step it was accepted
            p = step.probability[box.pos] if step.probability and step.probability[box.pos] is not None else 1.0
            fill = _hex(render.colour(p))
            text = (0, 0, 0) if render.ink(p) == "#000" else WHITE
            draw.rounded_rectangle(xy, radius, fill=fill, outline=NEW_EDGE if state == "accepted-new" else None,
                                   width=thick)
            if state == "accepted":  # held from an earlier step, provisional: a dashed edge
                _dashed_box(draw, box, tuple(round(c * 0.55) for c in fill), thin + 1, radius)
            label = _fit(_label(trace, token), font, box.x1 - box.x0 - 2 * m.pad_x)
            left, _, right, _ = font.getbbox(label)
            draw.text((box.x0 + (box.x1 - box.x0 - (right - left)) / 2 - left, box.y0 + m.pad_y), label, font=font,
                      fill=text)
            continue
        if box.pos in done:
            p = done[box.pos].probability
            if p is None and box.pos in held:  # a committed uniform-noise block: its last acceptance
                p = held[box.pos].probability
            fill = _hex(render.colour(1.0 if p is None else p))
            text = (0, 0, 0) if render.ink(1.0 if p is None else p) == "#000" else WHITE
            edge = tuple(round(c * 0.8) for c in fill)
        else:
            # Given before the run (infill context): not committed by the model, so not on its scale.
            fill, text, edge = GIVEN_FILL, INK, GIVEN_EDGE
        if token in eos:
            fill, text, edge = _fade(fill), _fade(text), _fade(edge)
        if box.pos in new:
            draw.rounded_rectangle(xy, radius, fill=fill, outline=NEW_EDGE, width=thick)
        else:
            draw.rounded_rectangle(xy, radius, fill=fill, outline=edge, width=thin)
        # The layout already fitted the final token; only a token that later changed needs fitting.
        label = box.label if token == final[box.pos] else _fit(_label(trace, token), font, box.x1 - box.x0 - 2 * m.pad_x)
        left, top, right, bottom = font.getbbox(label)
        # Centre the ink horizontally; vertically keep the font's line box so all labels share a baseline.
        tx = box.x0 + (box.x1 - box.x0 - (right - left)) / 2 - left
        draw.text((tx, box.y0 + m.pad_y), label, font=font, fill=text)
    y = boxes[-1].y1 + m.gap_y * 2
    for line in _wrap(render.status_text(trace, index), small, m.width - 2 * m.margin):
        draw.text((m.margin, y), line, font=small, fill=INK)
        y += sum(small.getmetrics())
    return image


def _caption_height(m: Metrics, lines: int) -> int:
    return lines * sum(_font(m.small).getmetrics())


def gif_frames(trace: Trace, width: int = 960) -> list[Image.Image]:
    """The GIF's frames (mode "P", one shared palette), one per step, at most MAX_FRAMES.

    One palette for all frames keeps an unchanged pixel's index identical between frames, so the
    written GIF can store each frame as only what changed (see `_deltas`); index TRANSPARENT is unused.
    """
    check(trace)
    m = metrics(width)
    boxes = layout(trace, width)
    indices = frame_indices(len(trace.steps))
    small = _font(m.small)
    lines = max(len(_wrap(render.status_text(trace, i), small, width - 2 * m.margin)) for i in indices)
    height = boxes[-1].y1 + 2 * m.gap_y + _caption_height(m, lines) + m.margin
    previous = [-1] + indices[:-1]

    def draw(k: int) -> Image.Image:
        return _frame(trace, boxes, m, height, indices[k], previous[k])

    # The palette comes from a few frames spread over the run: the first has the masked greys, later
    # ones the committed colours and the orange ring, so every colour drawn is near a palette entry.
    picks = sorted({round(i * (len(indices) - 1) / 7) for i in range(8)}) if len(indices) > 1 else [0]
    montage = Image.new("RGB", (width, height * len(picks)), WHITE)
    for row, k in enumerate(picks):
        montage.paste(draw(k), (0, row * height))
    colours = montage.quantize(colors=255, method=Image.Quantize.MEDIANCUT).getpalette()[: 3 * 255]
    colours += colours[-3:] * (255 - len(colours) // 3)  # pad with a repeat: same colour, same index
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours + list(UNUSED))
    # No dithering: dithered noise differs frame to frame and would defeat the GIF's frame deltas.
    return [draw(k).quantize(palette=palette, dither=Image.Dither.NONE) for k in range(len(indices))]


def _deltas(frames: list[Image.Image]) -> tuple[list[Image.Image], bool]:
    """Each frame after the first with its unchanged pixels set to TRANSPARENT; and whether it did.

    Long transparent runs compress to almost nothing, so a frame costs only what changed. (Pillow's
    own `optimize=True` does the same in Python loops, several times slower.)
    """
    if any(f.histogram()[TRANSPARENT] for f in frames):
        return frames, False  # a pixel was drawn in the reserved colour: full frames are still correct
    out = [frames[0]]
    for previous, current in zip(frames, frames[1:]):
        # Compare palette indices, not colours: read the P bytes as greyscale.
        a, b = (Image.frombytes("L", f.size, f.tobytes()) for f in (previous, current))
        changed = ImageChops.difference(a, b).point(lambda v: 255 if v else 0)
        delta = Image.new("P", current.size, TRANSPARENT)
        delta.putpalette(current.getpalette())
        delta.paste(current, mask=changed)
        out.append(delta)
    return out, True


def write_gif(trace: Trace, folder, ms_per_frame: int = 120, width: int = 960) -> Path:
    """Write the animated GIF into `folder` (loops forever; the last frame held FINAL_HOLD_MS); return the path."""
    if not isinstance(ms_per_frame, int) or not MIN_FRAME_MS <= ms_per_frame <= 10_000:
        raise ValueError(f"Use from {MIN_FRAME_MS} to 10000 ms per frame, got {ms_per_frame!r}; "
                         "browsers slow faster GIFs down.")
    frames = gif_frames(trace, width)
    path = target(trace, folder, ".gif")
    durations = [ms_per_frame] * (len(frames) - 1) + [max(FINAL_HOLD_MS, ms_per_frame)]
    frames, transparent = _deltas(frames)
    extra = {"transparency": TRANSPARENT} if transparent and len(frames) > 1 else {}
    # disposal 1: each frame is drawn over the last, so the transparent (unchanged) pixels show it.
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0, disposal=1,
                   optimize=False, **extra)
    return path

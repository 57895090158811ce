"""Training curves as an SVG picture: one small panel per quantity, training vs validation.

Pure Python: the standard library only (no TensorFlow, numpy or plotting library). `render(history)` takes {name: [value per epoch]} (the runtime's history, or
history.json read back, where non-finite values are null) and returns the SVG text; the same
history always gives the same bytes. `write(path, history)` writes it atomically.

Names come from specs (metric names, `add_loss` terms, output names), so every one is escaped
before it reaches the SVG, and only ever as text: no attribute, id or style is built from a name.
A value that is NaN, infinite or missing ends the line there and is drawn as a red cross at the
panel's edge (top for NaN/+inf/missing, bottom for -inf), so the path data only ever holds
finite coordinates.
"""

from __future__ import annotations

import math
import re

FILE = "curves.svg"  # its name in a run folder, next to history.json
PANEL_W, PANEL_H = 300, 210
LEFT, RIGHT, TOP, BOTTOM = 68, 14, 28, 40  # the plot area's margins inside a panel
COLUMNS = 3
MIN_WIDTH = 520  # the legend's width
HEADER_H = 56  # title and legend above the panels
MAX_PANELS = 60  # past it, the picture says how many quantities it leaves out
MAX_NAME = 40  # characters of a name shown; the whole name is in the panel's <title>
MARKERS_UP_TO = 60  # epochs; with more, points are not marked (only the line is drawn)
TRAIN_COLOR, VAL_COLOR, BAD_COLOR = "#1f5fa8", "#d9731a", "#c0392b"
SKIPPED = ("epoch",)  # history.json's epoch numbers: the x axis, not a quantity

# characters XML 1.0 does not allow in a document (controls, lone surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def escape(text) -> str:
    """`text` as XML character data (safe in an attribute too): markup characters escaped,
    characters XML cannot hold replaced by U+FFFD."""
    text = _NOT_XML.sub("\ufffd", str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def short(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "\u2026"


def number(value) -> float:
    """A history value as a float; None, bools and anything not a number count as NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return math.inf if value > 0 else -math.inf


def quantities(history: dict) -> list:
    """[(name, training values or None, validation values or None)], loss first, then the other
    quantities in history order, the learning rate last. `val_x` is paired with `x`; a `val_x`
    without an `x` gets a panel of its own."""
    names = [str(k) for k in history if str(k) not in SKIPPED]
    values = {str(k): [number(v) for v in (vs if isinstance(vs, (list, tuple)) else [])] for k, vs in history.items()}
    base = []
    for name in names:
        key = name[4:] if name.startswith("val_") and name[4:] in values else name
        if key not in base:
            base.append(key)
    base.sort(key=lambda n: (n != "loss", n == "lr"))  # stable: history order otherwise
    out = []
    for key in base:
        if key.startswith("val_") and key[4:] not in values:  # validation only: no training counterpart
            train, val = None, values[key]
        else:
            train, val = values.get(key), values.get("val_" + key)
        out.append((key, train, val))
    return out


# ---- scales ------------------------------------------------------------------------------------


def y_range(series) -> tuple:
    """(low, high) over the finite values of `series`, padded a little; never an empty range."""
    finite = [v for s in series if s for v in s if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high / 2 - low / 2) * 0.1  # halves: high - low may not fit in a float
    padded = low - pad, high + pad
    return padded if all(math.isfinite(p) for p in padded) else (low, high)


def ticks(low: float, high: float, count: int = 5) -> list:
    """About `count` round values between low and high (both finite, low < high)."""
    span = high / 2 - low / 2  # half the span, which always fits in a float
    if not span > 0:
        return [low]
    raw = span * 2 / count
    if not math.isfinite(raw) or raw <= 0:
        return [low, low + span, high]
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if step * factor >= raw:
            step *= factor
            break
    first, last = math.ceil(low / step), math.floor(high / step)
    if not last - first <= 3 * count:  # rounding at the limits of float precision
        return [low, high]
    values = []
    for k in range(first, last + 1):
        value = k * step
        if abs(value) < step * 1e-9:
            value = 0.0  # not -0.0 or 1e-17
        if not values or label(value) != label(values[-1]):
            values.append(value)
    return values


def label(value: float) -> str:
    return f"{value:.4g}"


def x_ticks(epochs: int) -> list:
    if epochs <= 1:
        return [1]
    step = 1
    while (epochs - 1) / step > 6:
        step = next(s for s in (2, 5, 10, 20, 25, 50) if s > step) if step < 50 else step * 2
    return [1] + [e for e in range(step, epochs + 1, step) if e != 1]


def c(value: float) -> str:
    """A coordinate, with a fixed number of decimals so that the bytes are the same every run."""
    return f"{value:.2f}"


# ---- drawing -----------------------------------------------------------------------------------


def panel(name, train, val, ox, oy) -> list:
    """The SVG lines of one panel whose top left corner is at (ox, oy)."""
    w, h = PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM
    px, py = ox + LEFT, oy + TOP
    epochs = max(len(train or ()), len(val or ()), 1)
    low, high = y_range([train, val])
    x0, x1 = (0.5, 1.5) if epochs == 1 else (1.0, float(epochs))

    def sx(epoch):
        return px + (epoch - x0) / (x1 - x0) * w

    def sy(value):
        return py + h - (value / 2 - low / 2) / (high / 2 - low / 2) * h

    lines = [f'<g class="panel"><title>{escape(name)}</title>']
    lines.append(f'<rect x="{c(px)}" y="{c(py)}" width="{c(w)}" height="{c(h)}" fill="#ffffff" stroke="#999999"/>')
    lines.append(f'<text x="{c(px + w / 2)}" y="{c(oy + 17)}" class="title">{escape(short(name))}</text>')
    for value in ticks(low, high):
        y = sy(value)
        lines.append(f'<line x1="{c(px)}" y1="{c(y)}" x2="{c(px + w)}" y2="{c(y)}" stroke="#eeeeee"/>')
        lines.append(f'<line x1="{c(px - 4)}" y1="{c(y)}" x2="{c(px)}" y2="{c(y)}" stroke="#666666"/>')
        lines.append(f'<text x="{c(px - 6)}" y="{c(y + 3.5)}" class="ytick">{escape(label(value))}</text>')
    for epoch in x_ticks(epochs):
        x = sx(epoch)
        lines.append(f'<line x1="{c(x)}" y1="{c(py + h)}" x2="{c(x)}" y2="{c(py + h + 4)}" stroke="#666666"/>')
        lines.append(f'<text x="{c(x)}" y="{c(py + h + 15)}" class="xtick">{epoch}</text>')
    lines.append(f'<text x="{c(px + w / 2)}" y="{c(py + h + 31)}" class="axis">epoch</text>')
    ly = py + h / 2
    lines.append(
        f'<text x="{c(ox + 12)}" y="{c(ly)}" class="axis" transform="rotate(-90 {c(ox + 12)} {c(ly)})">'
        f"{escape(short(name))}</text>"
    )
    for values, kind, color in ((train, "training", TRAIN_COLOR), (val, "validation", VAL_COLOR)):
        if values:
            lines += series(values, kind, color, sx, sy, py, h)
    lines.append("</g>")
    return lines


def series(values, kind, color, sx, sy, top, height) -> list:
    """One line (dashed for validation), broken where a value is not finite, with a cross there."""
    dash = ' stroke-dasharray="5 3"' if kind == "validation" else ""
    lines, run = [], []
    runs = []
    for epoch, value in enumerate(values, 1):
        if math.isfinite(value):
            run.append((sx(epoch), sy(value)))
            continue
        if run:
            runs.append(run)
            run = []
        x, y = sx(epoch), (top + height - 6 if value == -math.inf else top + 6)
        word = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        lines.append(
            f'<path class="stop" d="M{c(x - 4)},{c(y - 4)}L{c(x + 4)},{c(y + 4)}M{c(x - 4)},{c(y + 4)}L{c(x + 4)},'
            f'{c(y - 4)}" stroke="{BAD_COLOR}" stroke-width="2"><title>{kind} epoch {epoch}: {word}</title></path>'
        )
    if run:
        runs.append(run)
    for points in runs:
        d = "M" + "L".join(f"{c(x)},{c(y)}" for x, y in points)
        lines.append(f'<path class="{kind}" d="{d}" fill="none" stroke="{color}" stroke-width="1.8"{dash}/>')
        if len(points) == 1 or len(values) <= MARKERS_UP_TO:
            for x, y in points:
                lines.append(f'<circle cx="{c(x)}" cy="{c(y)}" r="2.4" fill="{color}"/>')
    return lines


STYLE = (
    "<style>text{font-family:Helvetica,Arial,sans-serif;fill:#222222}"
    ".title{font-size:12px;font-weight:bold;text-anchor:middle}"
    ".ytick{font-size:9px;text-anchor:end}.xtick{font-size:9px;text-anchor:middle}"
    ".axis{font-size:10px;text-anchor:middle;fill:#555555}.legend{font-size:11px}"
    ".heading{font-size:14px;font-weight:bold}</style>"
)


def render(history: dict, title: str = "training curves") -> str:
    """The SVG text of `history` ({name: [value per epoch]}); see the module docstring."""
    found = quantities(history)
    shown, left_out = found[:MAX_PANELS], len(found) - MAX_PANELS
    columns = max(1, min(COLUMNS, len(shown)))
    rows = max(1, math.ceil(len(shown) / columns))
    width, height = max(columns * PANEL_W, MIN_WIDTH), HEADER_H + rows * PANEL_H + (20 if left_out > 0 else 0)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        STYLE,
        f'<rect width="{width}" height="{height}" fill="#fcfcfc"/>',
        f'<text x="12" y="22" class="heading">{escape(title)}</text>',
    ]
    lines += legend(12, 44)
    if not shown:
        lines.append(f'<text x="12" y="{HEADER_H + 20}" class="legend">no epochs recorded</text>')
    for i, (name, train, val) in enumerate(shown):
        lines += panel(name, train, val, (i % columns) * PANEL_W, HEADER_H + (i // columns) * PANEL_H)
    if left_out > 0:
        more = f"and {left_out} more quantities, not drawn (see history.json)"
        lines.append(f'<text x="12" y="{height - 6}" class="legend">{more}</text>')
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def legend(x, y) -> list:
    return [
        '<g class="legend">',
        f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="{TRAIN_COLOR}" stroke-width="2"/>',
        f'<text x="{x + 32}" y="{y}" class="legend">training</text>',
        f'<line x1="{x + 100}" y1="{y - 4}" x2="{x + 126}" y2="{y - 4}" stroke="{VAL_COLOR}" stroke-width="2"'
        ' stroke-dasharray="5 3"/>',
        f'<text x="{x + 132}" y="{y}" class="legend">validation (val_*)</text>',
        f'<path d="M{x + 262},{y - 8}L{x + 270},{y}M{x + 262},{y}L{x + 270},{y - 8}" stroke="{BAD_COLOR}"'
        ' stroke-width="2"/>',
        f'<text x="{x + 276}" y="{y}" class="legend">NaN or inf</text>',
        "</g>",
    ]


def write(path: str, history: dict, title: str = "training curves") -> None:
    """Write the curves of `history` to `path` atomically (see tfspec.files.write_atomic)."""
    from ..files import write_atomic

    write_atomic(path, render(history, title))

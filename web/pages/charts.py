"""Small charts drawn as inline SVG on the server (no script, nothing fetched): horizontal bars and
columns, each bar with its number written beside it and a <title> a screen reader or a hovering
mouse reads, so the colour is never the only signal. The page shows the numbers in a table under
every chart as well.

Drawn in a narrow view box (360 units wide) that the page stretches to its column: text stays
readable on a 360-px phone, and a desktop gets the same chart larger.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
ROW = 32        # height of a horizontal bar's row
LABEL = 124     # room for the labels left of the bars
VALUE = 70      # room for the numbers right of the bars
FONT = 15


@dataclass(frozen=True)
class Bar:
    label: str
    value: float          # what the bar's length shows
    text: str             # the number written beside it ("70.0%", "12")
    tone: str = "main"    # a CSS class: main | good | warn | bad | quiet


def _e(text: str) -> str:
    return str(escape(text))


def _fit(label: str, room: int) -> str:
    """Shorten a label to its room (CJK characters are about one font size wide, others half)."""
    width, kept = 0.0, []
    for ch in label:
        width += FONT if ord(ch) > 0x2E80 else FONT * 0.58
        if width > room - FONT:
            return "".join(kept) + "…"
        kept.append(ch)
    return label


def bars(title: str, rows: Sequence[Bar], *, scale: float | None = None, chart_id: str = "") -> Markup:
    """A horizontal bar chart: one row per bar, the label left, the number right of the bar."""
    top = max((r.value for r in rows), default=0)
    scale = scale if scale is not None else (top or 1)
    height = max(len(rows), 1) * ROW + 8
    room = WIDTH - LABEL - VALUE
    ident = f' id="{_e(chart_id)}"' if chart_id else ""
    parts = [(f'<svg{ident} class="chart chart-bars" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">'),
             f"<title>{_e(title)}</title>"]
    if not rows:
        parts.append('<text x="0" y="20" class="chart-empty">—</text>')
    for i, row in enumerate(rows):
        y = 4 + i * ROW
        length = 0 if scale <= 0 else max(0.0, min(1.0, row.value / scale)) * room
        parts.append(f'<g class="bar bar-{_e(row.tone)}"><title>{_e(row.label)}：{_e(row.text)}</title>'
                     f'<text x="{LABEL - 6}" y="{y + ROW / 2 + 4:.1f}" text-anchor="end" class="chart-label">'
                     f'{_e(_fit(row.label, LABEL))}</text>'
                     f'<rect x="{LABEL}" y="{y + 5}" width="{length:.1f}" height="{ROW - 10}" rx="2"/>'
                     f'<text x="{LABEL + length + 5:.1f}" y="{y + ROW / 2 + 4:.1f}" class="chart-value">'
                     f'{_e(row.text)}</text></g>')
    parts.append(f'<line x1="{LABEL}" y1="2" x2="{LABEL}" y2="{height - 2}" class="chart-axis"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(title: str, labels: Sequence[str], values: Sequence[int], *, chart_id: str = "",
            long_labels: Sequence[str] | None = None) -> Markup:
    """A column chart over time: one column per label (a month), its count written above it."""
    count = max(len(values), 1)
    height, base, top_room = 170, 140, 18
    slot = (WIDTH - 8) / count
    top = max(values, default=0) or 1
    ident = f' id="{_e(chart_id)}"' if chart_id else ""
    small = 11 if count > 8 else 13  # a year of months in 360 units
    parts = [(f'<svg{ident} class="chart chart-columns" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" font-size="{small}">'),
             f"<title>{_e(title)}</title>"]
    for i, value in enumerate(values):
        x = 4 + i * slot
        h = (base - top_room) * value / top
        said = (long_labels or labels)[i]
        parts.append(f'<g class="bar bar-main"><title>{_e(said)}：{value}</title>'
                     f'<rect x="{x + slot * 0.15:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" rx="2"/>'
                     f'<text x="{x + slot / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" class="chart-value">'
                     f'{value}</text>'
                     f'<text x="{x + slot / 2:.1f}" y="{base + 16}" text-anchor="middle" class="chart-tick">'
                     f'{_e(labels[i])}</text></g>')
    parts.append(f'<line x1="2" y1="{base}" x2="{WIDTH - 2}" y2="{base}" class="chart-axis"/>')
    parts.append("</svg>")
    return Markup("".join(parts))

"""BPMN 2.0 diagram interchange → inline SVG, with a case's position drawn on it.

The case page shows each case on the diagram of its own definition version, and people
read that diagram (see "Diagrams are read by people" in ARCHITECTURE.md). No maintained
Python renderer exists; `bpmn-io` on PyPI reads, lints and lays out BPMN but draws nothing.
So this module draws from the file's `bpmndi` section alone and never moves anything: a
diagram that reads badly is fixed in its DI, where bpmn.io and Camunda Modeler see the fix too.
The DI is read into shapes and edges by web/pages/bpmn_di.py; labels are measured and wrapped by
web/pages/diagram_text.py; this module draws.

Every drawn BPMN element is one `<g data-element-id="…">` with a class naming its kind
(`pool`, `lane`, `task`, `event`, `gateway`, `flow`, `message-flow`, `association`, `data`,
`annotation`, `group`, `other`) and, for a case, `current`, `done` or `taken`.

The whole look, the case's state included, is SVG presentation attributes: no `<style>`
element, no `style` attribute, so a content-security-policy without 'unsafe-inline' loses
nothing. The page's own CSS may restyle `.current`, `.done` and `.taken` (author CSS beats
presentation attributes). Current steps carry a 当前 badge and a thick outline, done steps a
tick and a tinted fill, so colour is never the only signal; `<desc>` says the same in words.

The SVG is `width="100%"` of its container with a `viewBox`; `data-width`/`data-height` give
the natural size in CSS pixels, where text is 12 px. Shrunk to a phone's 360 px a bundled
diagram's text would be under 2 px, so a page should put the SVG in a horizontally scrolling
box with a `min-width` near `data-width` (not below about three quarters of it) and let
people scroll, rather than let it shrink to fit.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

from .bpmn_di import (
    DATA,
    EVENTS,
    GATEWAYS,
    TASKS,
    Box,
    Diagram,
    DiagramError,
    Edge,
    Shape,
    _external_label,
    diagram_element_ids,
    parse_diagram,
)
from .diagram_text import FONT_SIZE, LINE_HEIGHT, _wide, text_width, wrap_label

__all__ = ["Box", "Diagram", "DiagramError", "Edge", "Shape", "diagram_element_ids", "parse_diagram",
           "render_diagram", "text_width", "wrap_label"]


FONT_FAMILY = ("system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', "
               "'Source Han Sans SC', sans-serif")
MARGIN = 20.0
NO_DIAGRAM = Markup('<p class="diagram-missing">此流程文件没有流程图 / '
                    '<span lang="en">This process file has no diagram.</span></p>')

INK = "#1f2937"
GREY = "#80868b"  # 3.6:1 on white: still visible, clearly not the path taken
CURRENT = "#c2410c"
CURRENT_FILL = "#fff4e5"
DONE = "#166534"
DONE_FILL = "#e7f5ec"
TAKEN = "#1d4ed8"


def _text(lines: list[str], x: float, y: float, font_size: float, *, anchor: str = "middle",
          halo: bool = False, weight: str | None = None) -> str:
    """Lines whose first baseline sits one ascent below `y`."""
    step = font_size * LINE_HEIGHT
    first = y + step / 2 + font_size * 0.35
    spans = "".join(f'<tspan x="{_n(x)}" y="{_n(first + i * step)}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    extra = ' stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' if halo else ""
    if weight:
        extra += f' font-weight="{weight}"'
    return f'<text text-anchor="{anchor}" font-size="{_n(font_size)}" fill="{INK}"{extra}>{spans}</text>'


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# ---------------------------------------------------------------------------------------- drawing

@dataclass(frozen=True)
class _State:
    current: frozenset[str]
    done: frozenset[str]
    taken: frozenset[str]

    @property
    def shown(self) -> bool:
        return bool(self.current or self.done or self.taken)

    def classes(self, element_id: str) -> list[str]:
        return [name for name, ids in (("current", self.current), ("done", self.done), ("taken", self.taken))
                if element_id in ids]

    def colours(self, element_id: str) -> tuple[str, str, float]:
        """Stroke, fill and stroke width of a flow node."""
        if element_id in self.current:
            return CURRENT, CURRENT_FILL, 4.0
        if element_id in self.done:
            return DONE, DONE_FILL, 2.0
        return (GREY if self.shown else INK), "#fff", 1.5


def _kind_classes(kind: str) -> str:
    def kebab(name: str) -> str:
        return "".join(f"-{c.lower()}" if c.isupper() else c for c in name)

    if kind in TASKS:
        return f"task {kebab(kind)}" if kind != "task" else "task"
    if kind in EVENTS:
        return f"event {kebab(kind)}"
    if kind in GATEWAYS:
        return f"gateway {kebab(kind)}"
    if kind == "sequenceFlow":
        return "flow sequence-flow"
    if kind == "messageFlow":
        return "message-flow"
    if kind in ("association", "dataInputAssociation", "dataOutputAssociation"):
        return f"association {kebab(kind)}"
    if kind in DATA:
        return f"data {kebab(kind)}"
    if kind == "participant":
        return "pool"
    if kind == "lane":
        return "lane"
    if kind == "textAnnotation":
        return "annotation"
    if kind == "group":
        return "group"
    return "other"


def _group(item: Shape | Edge, state: _State, body: str, name: str | None = None) -> str:
    classes = " ".join([_kind_classes(item.kind), *state.classes(item.element_id)])
    name = item.name if name is None else name
    tip = f"<title>{escape(name)}</title>" if name else ""
    return f'<g data-element-id="{escape(item.element_id)}" class="{classes}">{tip}{body}</g>'


def _badges(shape: Shape, diagram: Diagram, state: _State) -> str:
    box, element_id = shape.bounds, shape.element_id
    if element_id not in state.current and element_id not in state.done:
        return ""
    width, height = (34.0, 17.0) if element_id in state.current else (16.0, 16.0)
    # A corner of the shape, the first one no boundary event of it sits on.
    corners = [(box.right - width + 6, box.y - height + 5), (box.x - 6, box.y - height + 5),
               (box.right - width + 6, box.bottom - 5), (box.x - 6, box.bottom - 5)]
    events = [s.bounds for s in diagram.shapes if s.attached_to == element_id]
    x, y = next((c for c in corners if not any(Box(*c, width, height).overlaps(e) for e in events)), corners[0])
    if element_id in state.current:
        return (f'<g class="badge"><rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" '
                f'rx="8.5" fill="{CURRENT}"/><text x="{_n(x + width / 2)}" y="{_n(y + 12.5)}" '
                f'text-anchor="middle" font-size="11" font-weight="bold" fill="#fff">当前</text></g>')
    cx, cy = x + width / 2, y + height / 2
    return (f'<g class="badge"><circle cx="{_n(cx)}" cy="{_n(cy)}" r="8" fill="{DONE}"/>'
            f'<path d="M{_n(cx - 4)} {_n(cy)} l3 3 l5 -6" fill="none" stroke="#fff" stroke-width="2" '
            f'stroke-linecap="round" stroke-linejoin="round"/></g>')


def _envelope(cx: float, cy: float, width: float, stroke: str, filled: bool) -> str:
    height = width * 0.68
    x, y = cx - width / 2, cy - height / 2
    fill, flap = (stroke, "#fff") if filled else ("#fff", stroke)
    return (f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.2"/><path d="M{_n(x)} {_n(y)} L{_n(cx)} {_n(cy + height * 0.1)} '
            f'L{_n(x + width)} {_n(y)}" fill="none" stroke="{flap}" stroke-width="1.2"/>')


def _clock(cx: float, cy: float, r: float, stroke: str) -> str:
    ticks = "".join(
        f'M{_n(cx + r * 0.78 * math.cos(a))} {_n(cy + r * 0.78 * math.sin(a))} '
        f'L{_n(cx + r * math.cos(a))} {_n(cy + r * math.sin(a))} '
        for a in (i * math.pi / 6 for i in range(12)))
    return (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="#fff" stroke="{stroke}" stroke-width="1.5"/>'
            f'<path d="{ticks}M{_n(cx)} {_n(cy)} L{_n(cx)} {_n(cy - r * 0.62)} M{_n(cx)} {_n(cy)} '
            f'L{_n(cx + r * 0.45)} {_n(cy + r * 0.1)}" fill="none" stroke="{stroke}" stroke-width="1.2" '
            f'stroke-linecap="round"/>')


def _event_marker(shape: Shape, stroke: str) -> str:
    box = shape.bounds
    cx, cy, r = box.cx, box.cy, box.width / 2
    throw = shape.kind in ("endEvent", "intermediateThrowEvent")
    fill = stroke if throw else "none"
    parts = []
    for marker in shape.markers:
        if marker == "timerEventDefinition":
            parts.append(_clock(cx, cy, r * 0.6, stroke))
        elif marker == "messageEventDefinition":
            parts.append(_envelope(cx, cy, r * 1.05, stroke, throw))
        elif marker == "terminateEventDefinition":
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * 0.58)}" fill="{stroke}"/>')
        elif marker == "signalEventDefinition":
            s = r * 0.6
            parts.append(f'<path d="M{_n(cx)} {_n(cy - s)} L{_n(cx + s * 0.9)} {_n(cy + s * 0.6)} '
                         f'L{_n(cx - s * 0.9)} {_n(cy + s * 0.6)} Z" fill="{fill}" stroke="{stroke}" '
                         f'stroke-width="1.2"/>')
        elif marker == "errorEventDefinition":
            s = r * 0.55
            parts.append(f'<path d="M{_n(cx - s)} {_n(cy + s)} L{_n(cx - s * 0.4)} {_n(cy - s)} '
                         f'L{_n(cx + s * 0.2)} {_n(cy + s * 0.2)} L{_n(cx + s)} {_n(cy - s)} '
                         f'L{_n(cx + s * 0.4)} {_n(cy + s)} L{_n(cx - s * 0.2)} {_n(cy - s * 0.2)} Z" '
                         f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>')
        elif marker == "escalationEventDefinition":
            s = r * 0.6
            parts.append(f'<path d="M{_n(cx)} {_n(cy - s)} L{_n(cx + s * 0.7)} {_n(cy + s)} '
                         f'L{_n(cx)} {_n(cy + s * 0.3)} L{_n(cx - s * 0.7)} {_n(cy + s)} Z" fill="{fill}" '
                         f'stroke="{stroke}" stroke-width="1.2"/>')
        elif marker == "conditionalEventDefinition":
            s = r * 0.5
            lines = "".join(f"M{_n(cx - s * 0.6)} {_n(cy - s * 0.6 + i * s * 0.4)} h{_n(s * 1.2)} "
                            for i in range(4))
            parts.append(f'<rect x="{_n(cx - s * 0.8)}" y="{_n(cy - s)}" width="{_n(s * 1.6)}" '
                         f'height="{_n(s * 2)}" fill="#fff" stroke="{stroke}" stroke-width="1.2"/>'
                         f'<path d="{lines}" stroke="{stroke}"/>')
        elif marker == "linkEventDefinition":
            s = r * 0.5
            parts.append(f'<path d="M{_n(cx - s)} {_n(cy - s * 0.35)} h{_n(s)} v{_n(-s * 0.45)} '
                         f'l{_n(s)} {_n(s * 0.8)} l{_n(-s)} {_n(s * 0.8)} v{_n(-s * 0.45)} h{_n(-s)} Z" '
                         f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>')
        elif marker == "cancelEventDefinition":
            s = r * 0.45
            parts.append(f'<path d="M{_n(cx - s)} {_n(cy - s)} L{_n(cx + s)} {_n(cy + s)} '
                         f'M{_n(cx + s)} {_n(cy - s)} L{_n(cx - s)} {_n(cy + s)}" stroke="{stroke}" '
                         f'stroke-width="2.5"/>')
        elif marker == "compensateEventDefinition":
            s = r * 0.45
            parts.append(f'<path d="M{_n(cx)} {_n(cy - s)} L{_n(cx - s)} {_n(cy)} L{_n(cx)} {_n(cy + s)} Z '
                         f'M{_n(cx + s)} {_n(cy - s)} L{_n(cx)} {_n(cy)} L{_n(cx + s)} {_n(cy + s)} Z" '
                         f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>')
    return "".join(parts)


def _event(shape: Shape, state: _State) -> str:
    box = shape.bounds
    stroke, fill, width = state.colours(shape.element_id)
    cx, cy, r = box.cx, box.cy, box.width / 2
    interrupting = shape.attrs.get("cancelActivity", "true") != "false" and shape.attrs.get(
        "isInterrupting", "true") != "false"
    dash = "" if interrupting else ' stroke-dasharray="5 3"'
    if shape.kind == "endEvent":
        body = (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r - 2)}" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{_n(max(width, 4))}"/>')
    elif shape.kind == "startEvent":
        body = (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{_n(max(width, 2))}"{dash}/>')
    else:
        body = (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{_n(width)}"{dash}/><circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r - 3.5)}" '
                f'fill="none" stroke="{stroke}" stroke-width="1.5"{dash}/>')
    return body + _event_marker(shape, stroke)


def _gateway(shape: Shape, state: _State) -> str:
    box = shape.bounds
    stroke, fill, width = state.colours(shape.element_id)
    cx, cy, w = box.cx, box.cy, box.width
    h = box.height
    body = (f'<path d="M{_n(cx)} {_n(box.y)} L{_n(box.right)} {_n(cy)} L{_n(cx)} {_n(box.bottom)} '
            f'L{_n(box.x)} {_n(cy)} Z" fill="{fill}" stroke="{stroke}" stroke-width="{_n(width)}"/>')
    s = min(w, h) * 0.22
    cross = (f'M{_n(cx - s)} {_n(cy - s)} L{_n(cx + s)} {_n(cy + s)} M{_n(cx + s)} {_n(cy - s)} '
             f'L{_n(cx - s)} {_n(cy + s)}')
    plus = f"M{_n(cx)} {_n(cy - s * 1.3)} V{_n(cy + s * 1.3)} M{_n(cx - s * 1.3)} {_n(cy)} H{_n(cx + s * 1.3)}"
    if shape.kind == "exclusiveGateway" and shape.attrs.get("isMarkerVisible") != "false":
        body += f'<path d="{cross}" stroke="{stroke}" stroke-width="4" stroke-linecap="round"/>'
    elif shape.kind == "parallelGateway":
        body += f'<path d="{plus}" stroke="{stroke}" stroke-width="4" stroke-linecap="round"/>'
    elif shape.kind == "complexGateway":
        body += f'<path d="{cross} {plus}" stroke="{stroke}" stroke-width="3" stroke-linecap="round"/>'
    elif shape.kind == "inclusiveGateway":
        body += (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(w * 0.24)}" fill="none" stroke="{stroke}" '
                 f'stroke-width="2.5"/>')
    elif shape.kind == "eventBasedGateway":
        r = w * 0.26
        body += (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="none" stroke="{stroke}" '
                 f'stroke-width="1.2"/>')
        if shape.attrs.get("instantiate") != "true":
            body += (f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r - 3)}" fill="none" stroke="{stroke}" '
                     f'stroke-width="1.2"/>')
        if shape.attrs.get("eventGatewayType") == "Parallel":
            body += f'<path d="{plus}" stroke="{stroke}" stroke-width="2"/>'
        else:
            p = r * 0.55
            corners = (i * 2 * math.pi / 5 for i in range(5))
            points = " ".join(f"{_n(cx + p * math.sin(a))},{_n(cy - p * math.cos(a))}" for a in corners)
            body += f'<polygon points="{points}" fill="none" stroke="{stroke}" stroke-width="1.2"/>'
    return body


def _task_marker(shape: Shape, stroke: str) -> str:
    x, y = shape.bounds.x + 7, shape.bounds.y + 6
    kind = shape.kind
    if kind == "userTask":
        return (f'<circle cx="{_n(x + 6)}" cy="{_n(y + 4)}" r="3.5" fill="#fff" stroke="{stroke}" '
                f'stroke-width="1.1"/><path d="M{_n(x)} {_n(y + 15)} v-2.5 q0 -4.5 6 -4.5 q6 0 6 4.5 v2.5 Z" '
                f'fill="#fff" stroke="{stroke}" stroke-width="1.1"/>')
    if kind == "scriptTask":
        return (f'<path d="M{_n(x + 2)} {_n(y)} h9 q-3 4 0 8 q3 4 0 8 h-9 q3 -4 0 -8 q-3 -4 0 -8 Z" fill="#fff" '
                f'stroke="{stroke}" stroke-width="1.1"/><path d="M{_n(x + 3.5)} {_n(y + 4)} h5 M{_n(x + 4.5)} '
                f'{_n(y + 8)} h5 M{_n(x + 3.5)} {_n(y + 12)} h5" stroke="{stroke}" stroke-width="1"/>')
    if kind == "serviceTask":
        cx, cy = x + 7, y + 7
        teeth = "".join(f"M{_n(cx + 5 * math.cos(a))} {_n(cy + 5 * math.sin(a))} L{_n(cx + 7.5 * math.cos(a))} "
                        f"{_n(cy + 7.5 * math.sin(a))} " for a in (i * math.pi / 4 for i in range(8)))
        return (f'<path d="{teeth}" stroke="{stroke}" stroke-width="2.5"/><circle cx="{_n(cx)}" cy="{_n(cy)}" '
                f'r="5" fill="#fff" stroke="{stroke}" stroke-width="1.2"/><circle cx="{_n(cx)}" cy="{_n(cy)}" '
                f'r="2" fill="none" stroke="{stroke}"/>')
    if kind == "businessRuleTask":
        return (f'<rect x="{_n(x)}" y="{_n(y)}" width="16" height="12" fill="#fff" stroke="{stroke}" '
                f'stroke-width="1.1"/><rect x="{_n(x)}" y="{_n(y)}" width="16" height="3.5" fill="{stroke}"/>'
                f'<path d="M{_n(x)} {_n(y + 7.5)} h16 M{_n(x + 5)} {_n(y + 3.5)} v8.5" stroke="{stroke}" '
                f'stroke-width="1"/>')
    if kind in ("sendTask", "receiveTask"):
        return _envelope(x + 8, y + 6, 16, stroke, kind == "sendTask")
    return ""


def _loop_marker(shape: Shape, stroke: str) -> str:
    box = shape.bounds
    cx, bottom = box.cx, box.bottom - 6
    if "sequentialMultiInstance" in shape.markers:
        return "".join(f'<path d="M{_n(cx - 6)} {_n(bottom - 10 + i * 4)} h12" stroke="{stroke}" '
                       f'stroke-width="2"/>' for i in range(3))
    if "multiInstanceLoopCharacteristics" in shape.markers:
        return "".join(f'<path d="M{_n(cx - 4 + i * 4)} {_n(bottom - 10)} v10" stroke="{stroke}" '
                       f'stroke-width="2"/>' for i in range(3))
    if "standardLoopCharacteristics" in shape.markers:
        return (f'<path d="M{_n(cx + 4)} {_n(bottom - 1)} a5.5 5.5 0 1 0 -8 0" fill="none" stroke="{stroke}" '
                f'stroke-width="1.3"/><path d="M{_n(cx - 7)} {_n(bottom - 4)} l3 3 l1 -4" fill="none" '
                f'stroke="{stroke}" stroke-width="1.3"/>')
    return ""


def _inner_lines(name: str, box: Box) -> tuple[list[str], float]:
    """The name wrapped inside a box, shrinking the type a little and then cutting, never overflowing."""
    room_w, room_h = box.width - 12, box.height - 10
    for size in (FONT_SIZE, 11.0, 10.0):
        lines = wrap_label(name, room_w, size)
        if len(lines) * size * LINE_HEIGHT <= room_h:
            return lines, size
    keep = max(1, int(room_h // (size * LINE_HEIGHT)))
    lines = lines[:keep]
    while lines[-1] and text_width(lines[-1] + "…", size) > room_w:
        lines[-1] = lines[-1][:-1]
    lines[-1] += "…"
    return lines, size


def _task(shape: Shape, state: _State) -> str:
    box = shape.bounds
    stroke, fill, width = state.colours(shape.element_id)
    if shape.kind == "callActivity":
        width = max(width, 4.0)
    body = (f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}" rx="10" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{_n(width)}"/>')
    if shape.kind == "transaction":
        body += (f'<rect x="{_n(box.x + 3)}" y="{_n(box.y + 3)}" width="{_n(box.width - 6)}" '
                 f'height="{_n(box.height - 6)}" rx="8" fill="none" stroke="{stroke}" stroke-width="1"/>')
    body += _task_marker(shape, stroke) + _loop_marker(shape, stroke)
    expanded = shape.expanded
    if expanded is None:  # DI leaves it out: a big box is a subprocess drawn open
        expanded = shape.kind in ("subProcess", "transaction", "adHocSubProcess") and (
            box.width > 200 and box.height > 120)
    if shape.kind in ("subProcess", "transaction", "adHocSubProcess", "callActivity") and not expanded:
        px, py = box.cx - 7, box.bottom - 17
        body += (f'<rect x="{_n(px)}" y="{_n(py)}" width="14" height="14" fill="#fff" stroke="{stroke}"/>'
                 f'<path d="M{_n(px + 3)} {_n(py + 7)} h8 M{_n(px + 7)} {_n(py + 3)} v8" stroke="{stroke}"/>')
    if shape.name:
        if expanded:
            body += _text(wrap_label(shape.name, box.width - 20), box.x + 10, box.y + 6, FONT_SIZE, anchor="start")
        else:
            lines, size = _inner_lines(shape.name, box)
            top = box.cy - len(lines) * size * LINE_HEIGHT / 2
            body += _text(lines, box.cx, top, size)
    return body


def _plain(shape: Shape, state: _State) -> str:
    box = shape.bounds
    stroke, fill, width = state.colours(shape.element_id)
    body = (f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{_n(width)}"/>')
    if shape.name:
        lines, size = _inner_lines(shape.name, box)
        body += _text(lines, box.cx, box.cy - len(lines) * size * LINE_HEIGHT / 2, size)
    return body


def _data(shape: Shape, state: _State) -> str:
    box = shape.bounds
    stroke, fill, _ = state.colours(shape.element_id)
    x, y, w, h = box.x, box.y, box.width, box.height
    if shape.kind == "dataStoreReference":
        e = min(8.0, h / 5)
        return (f'<path d="M{_n(x)} {_n(y + e)} a{_n(w / 2)} {_n(e)} 0 0 1 {_n(w)} 0 v{_n(h - 2 * e)} '
                f'a{_n(w / 2)} {_n(e)} 0 0 1 {_n(-w)} 0 Z" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
                f'<path d="M{_n(x)} {_n(y + e)} a{_n(w / 2)} {_n(e)} 0 0 0 {_n(w)} 0" fill="none" stroke="{stroke}" '
                f'stroke-width="1.5"/>')
    fold = min(10.0, w / 3)
    return (f'<path d="M{_n(x)} {_n(y)} h{_n(w - fold)} l{_n(fold)} {_n(fold)} v{_n(h - fold)} h{_n(-w)} Z" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/><path d="M{_n(x + w - fold)} {_n(y)} '
            f'v{_n(fold)} h{_n(fold)}" fill="none" stroke="{stroke}" stroke-width="1.5"/>')


def _annotation(shape: Shape) -> str:
    box = shape.bounds
    body = (f'<path d="M{_n(box.x + 12)} {_n(box.y)} H{_n(box.x)} V{_n(box.bottom)} H{_n(box.x + 12)}" '
            f'fill="none" stroke="{GREY}" stroke-width="1.5"/>')
    if shape.name:
        lines = wrap_label(shape.name, box.width - 10)
        body += _text(lines, box.x + 6, box.y + 4, FONT_SIZE, anchor="start")
    return body


def _band_title(text: str, band: Box, *, bold: bool) -> str:
    """A pool or lane title in its left band: Chinese stacked upright, anything else turned."""
    weight = "bold" if bold else None
    stackable = all(map(_wide, text))
    step = FONT_SIZE * 1.2
    if stackable and len(text) * step <= band.height - 8:
        top = band.cy - len(text) * step / 2
        spans = "".join(f'<tspan x="{_n(band.cx)}" y="{_n(top + (i + 0.8) * step)}">{escape(ch)}</tspan>'
                        for i, ch in enumerate(text))
        extra = f' font-weight="{weight}"' if weight else ""
        return f'<text text-anchor="middle" font-size="{_n(FONT_SIZE)}" fill="{INK}"{extra}>{spans}</text>'
    room = band.height - 10
    if text_width(text) <= room:
        lines = [text]  # one turned line keeps "中文 / English" whole
    else:
        lines = wrap_label(text, room)[:max(1, int(band.width // (FONT_SIZE * LINE_HEIGHT)))]
    block = len(lines) * FONT_SIZE * LINE_HEIGHT
    inner = _text(lines, 0, -block / 2, FONT_SIZE, weight=weight)
    return f'<g transform="translate({_n(band.cx)} {_n(band.cy)}) rotate(-90)">{inner}</g>'


def _pool_or_lane(shape: Shape, title: str) -> str:
    box = shape.bounds
    lane = shape.kind == "lane"
    body = (f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}" '
            f'fill="{"none" if lane else "#fff"}" stroke="{INK}" stroke-width="{1 if lane else 1.5}"/>')
    if not title:
        return body
    if not shape.horizontal:
        band = Box(box.x, box.y, box.width, 30)
        body += f'<path d="M{_n(box.x)} {_n(band.bottom)} H{_n(box.right)}" stroke="{INK}"/>'
        return body + _text(wrap_label(title, box.width - 10)[:1], band.cx, band.y + 7, FONT_SIZE, weight="bold")
    if shape.kind == "participant" and not shape.attrs.get("processRef"):
        lines = wrap_label(title, box.width - 20)
        return body + _text(lines, box.cx, box.cy - len(lines) * FONT_SIZE * LINE_HEIGHT / 2, FONT_SIZE,
                            weight="bold")
    band = Box(box.x, box.y, 30, box.height)
    body += f'<path d="M{_n(band.right)} {_n(box.y)} V{_n(box.bottom)}" stroke="{INK}" stroke-width="1"/>'
    return body + _band_title(title, band, bold=True)


def _arrow_head(a: tuple[float, float], b: tuple[float, float], colour: str, *, open_: bool = False) -> str:
    # Drawn as a path rather than an SVG <marker>: markers need document-wide ids, which clash
    # when a page shows two diagrams, and they cannot take the colour of the flow they end.
    angle = math.atan2(b[1] - a[1], b[0] - a[0])
    length, half = 11.0, 4.5
    bx, by = b
    back_x, back_y = bx - length * math.cos(angle), by - length * math.sin(angle)
    side_x, side_y = half * math.sin(angle), half * math.cos(angle)
    left, right = (back_x + side_x, back_y - side_y), (back_x - side_x, back_y + side_y)
    if open_:
        return (f'<path d="M{_n(left[0])} {_n(left[1])} L{_n(bx)} {_n(by)} L{_n(right[0])} {_n(right[1])}" '
                f'fill="none" stroke="{colour}" stroke-width="1.5"/>')
    return (f'<path d="M{_n(bx)} {_n(by)} L{_n(left[0])} {_n(left[1])} L{_n(right[0])} {_n(right[1])} Z" '
            f'fill="{colour}" stroke="{colour}" stroke-width="1"/>')


def _edge(edge: Edge, diagram: Diagram, shapes: Mapping[str, Shape], state: _State) -> str:
    points = edge.waypoints
    path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    if edge.kind == "messageFlow":
        colour = TAKEN if edge.element_id in state.taken else (GREY if state.shown else INK)
        start = points[0]
        body = (f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5" '
                f'stroke-dasharray="8 5"/><circle cx="{_n(start[0])}" cy="{_n(start[1])}" r="4" fill="#fff" '
                f'stroke="{colour}" stroke-width="1.5"/>' + _arrow_head(points[-2], points[-1], colour, open_=True))
    elif edge.kind in ("association", "dataInputAssociation", "dataOutputAssociation"):
        body = (f'<polyline points="{path}" fill="none" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="2 4" '
                f'stroke-linecap="round"/>')
        if edge.kind != "association" or edge.attrs.get("associationDirection") in ("One", "Both"):
            body += _arrow_head(points[-2], points[-1], GREY, open_=True)
    else:
        taken = edge.element_id in state.taken or edge.element_id in state.current
        colour = TAKEN if taken else (GREY if state.shown else INK)
        width = 3.0 if taken else 1.5
        body = (f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{_n(width)}" '
                f'stroke-linejoin="round"/>' + _arrow_head(points[-2], points[-1], colour))
        source = shapes.get(edge.source or "")
        if source is not None and edge.kind == "sequenceFlow":
            (ax, ay), (bx, by) = points[0], points[1]
            angle = math.atan2(by - ay, bx - ax)
            if source.attrs.get("default") == edge.element_id:
                mx, my = ax + 10 * math.cos(angle), ay + 10 * math.sin(angle)
                nx, ny = -math.sin(angle + math.pi / 4) * 6, math.cos(angle + math.pi / 4) * 6
                body += (f'<path d="M{_n(mx - nx)} {_n(my - ny)} L{_n(mx + nx)} {_n(my + ny)}" stroke="{colour}" '
                         f'stroke-width="1.5"/>')
            elif source.kind in TASKS and edge.conditional:
                ux, uy = math.cos(angle), math.sin(angle)
                diamond = [(ax, ay), (ax + 7 * ux - 4 * uy, ay + 7 * uy + 4 * ux), (ax + 14 * ux, ay + 14 * uy),
                           (ax + 7 * ux + 4 * uy, ay + 7 * uy - 4 * ux)]
                body += (f'<polygon points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in diamond)}" fill="#fff" '
                         f'stroke="{colour}" stroke-width="1.2"/>')
    laid = _external_label(edge, diagram)
    if laid:
        box, lines = laid
        body += _text(lines, box.cx, box.y, FONT_SIZE, halo=True)
    return body


def _title_of(shape: Shape, lane_titles: Mapping[str, str]) -> str:
    if shape.kind != "lane":
        return shape.name
    return lane_titles.get(shape.element_id) or lane_titles.get(shape.name) or shape.name


def _shape(shape: Shape, diagram: Diagram, state: _State, lane_titles: Mapping[str, str]) -> str:
    kind = shape.kind
    if kind in ("participant", "lane"):
        return _pool_or_lane(shape, _title_of(shape, lane_titles))
    if kind in TASKS:
        body = _task(shape, state)
    elif kind in EVENTS:
        body = _event(shape, state)
    elif kind in GATEWAYS:
        body = _gateway(shape, state)
    elif kind in DATA:
        body = _data(shape, state)
    elif kind == "textAnnotation":
        return _annotation(shape)
    elif kind == "group":
        box = shape.bounds
        body = (f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}" '
                f'rx="10" fill="none" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="10 4 2 4"/>')
    else:
        body = _plain(shape, state)
    laid = _external_label(shape, diagram)
    if laid:
        box, lines = laid
        body += _text(lines, box.cx, box.y, FONT_SIZE, halo=True)
    return body + _badges(shape, diagram, state)


def _extent(diagram: Diagram) -> Box:
    xs: list[float] = []
    ys: list[float] = []
    for shape in diagram.shapes:
        for box in (shape.bounds, diagram.label_box(shape)):
            if box:
                xs += [box.x, box.right]
                ys += [box.y, box.bottom]
    for edge in diagram.edges:
        xs += [x for x, _ in edge.waypoints]
        ys += [y for _, y in edge.waypoints]
        box = diagram.label_box(edge)
        if box:
            xs += [box.x, box.right]
            ys += [box.y, box.bottom]
    top = min(ys) - MARGIN - 12  # room for a 当前 badge on the topmost shape
    return Box(min(xs) - MARGIN, top, max(xs) - min(xs) + 2 * MARGIN + 6, max(ys) - top + MARGIN)


def _description(diagram: Diagram, state: _State) -> str:
    names = {s.element_id: s.name or s.element_id for s in diagram.shapes}
    parts = []
    if state.current:
        parts.append("当前步骤：" + "、".join(names[i] for i in sorted(state.current) if i in names))
    if state.done:
        parts.append(f"已完成 {len([i for i in state.done if i in names])} 步")
    return "；".join(p for p in parts if p)


RENDERED_KEPT = 256  # drawn diagrams kept per process (about 40 KB each)


def render_diagram(bpmn_xml: str | bytes, *, current: Iterable[str] = (), done: Iterable[str] = (),
                   taken: Iterable[str] = (), lane_titles: Mapping[str, str] | None = None,
                   title: str = "") -> Markup:
    """The file's diagram as inline SVG, with `current` steps, `done` steps and `taken` flows marked.

    `lane_titles` maps a lane's name or id to the title shown instead (e.g. "mediator" → "调解员").
    A file without diagram interchange gives a short message instead of an SVG.

    The drawing is a function of its arguments alone, so the last RENDERED_KEPT drawings are kept
    (least recently used first out), keyed by all of them, the file's text included: a case that moves
    on, or a new definition version, asks with other arguments and is drawn afresh. The case pages
    of a county show a few definition versions in a few dozen states all day (drawing one is ~25 ms).
    """
    data = bpmn_xml if isinstance(bpmn_xml, str) else bytes(bpmn_xml)
    current = frozenset(current)
    return _render(data, current, frozenset(done) - current, frozenset(taken),
                   tuple(sorted((lane_titles or {}).items())), title)


@functools.lru_cache(maxsize=RENDERED_KEPT)
def _render(bpmn_xml: str | bytes, current: frozenset[str], done: frozenset[str], taken: frozenset[str],
            lane_titles: tuple[tuple[str, str], ...], title: str) -> Markup:
    diagram = parse_diagram(bpmn_xml)
    if diagram is None:
        return NO_DIAGRAM
    state = _State(current, done, taken)
    lane_titles = dict(lane_titles)
    shapes_by_id = {s.element_id: s for s in diagram.shapes}
    label = title or diagram.title or "流程图 / process diagram"
    view = _extent(diagram)

    # Containers first, then flows, then nodes, then what sits on a node's border.
    order = {"participant": 0, "lane": 1, "group": 2}
    containers = sorted((s for s in diagram.shapes if s.kind in order), key=lambda s: order[s.kind])
    nodes = [s for s in diagram.shapes if s.kind not in order and s.kind != "boundaryEvent"]
    borders = [s for s in diagram.shapes if s.kind == "boundaryEvent"]
    parts = [_group(s, state, _shape(s, diagram, state, lane_titles), _title_of(s, lane_titles))
             for s in containers]
    parts += [_group(e, state, _edge(e, diagram, shapes_by_id, state)) for e in diagram.edges]
    parts += [_group(s, state, _shape(s, diagram, state, lane_titles)) for s in nodes + borders]

    description = _description(diagram, state)
    desc = f"<desc>{escape(description)}</desc>" if description else ""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" role="img" '
           f'aria-label="{escape(label)}" width="100%" viewBox="{_n(view.x)} {_n(view.y)} {_n(view.width)} '
           f'{_n(view.height)}" preserveAspectRatio="xMinYMin meet" data-width="{math.ceil(view.width)}" '
           f'data-height="{math.ceil(view.height)}" font-family="{escape(FONT_FAMILY)}" '
           f'font-size="{_n(FONT_SIZE)}"><title>{escape(label)}</title>{desc}{"".join(parts)}</svg>')
    return Markup(svg)

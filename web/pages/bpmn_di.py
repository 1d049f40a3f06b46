"""A BPMN file's diagram interchange (`bpmndi`) as plain shapes and edges: what web/pages/diagram.py
draws. Reads the XML with expat, keeps the bounds, waypoints, kinds, names and markers of what the
diagram shows, and nothing of the process's semantics."""
from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.parsers import expat

from .diagram_text import FONT_SIZE, LINE_HEIGHT, text_width, wrap_label

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

TASKS = {"task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
         "manualTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
DATA = {"dataObjectReference", "dataObject", "dataStoreReference", "dataInput", "dataOutput"}
# What a caller can find as a SpiffWorkflow task spec name, or as a path the case took.
FLOW_ELEMENTS = TASKS | EVENTS | GATEWAYS | {"sequenceFlow", "messageFlow"}


class DiagramError(ValueError):
    """The file is not BPMN XML this module will read (malformed, or it declares a DOCTYPE)."""


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def overlaps(self, other: Box, slack: float = 0.0) -> bool:
        """True when the insides intersect by more than `slack` on both axes (touching is fine)."""
        return (min(self.right, other.right) - max(self.x, other.x) > slack
                and min(self.bottom, other.bottom) - max(self.y, other.y) > slack)

    def crosses(self, a: tuple[float, float], b: tuple[float, float], slack: float = 0.0) -> bool:
        """True when the segment a–b passes through this box shrunk by `slack` (Liang–Barsky clip)."""
        x0, y0, x1, y1 = self.x + slack, self.y + slack, self.right - slack, self.bottom - slack
        if x0 >= x1 or y0 >= y1:
            return False
        dx, dy = b[0] - a[0], b[1] - a[1]
        low, high = 0.0, 1.0
        for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
            if p == 0:
                if q <= 0:
                    return False
            else:
                t = q / p
                if p < 0:
                    low = max(low, t)
                else:
                    high = min(high, t)
        return high - low > 1e-9


@dataclass(frozen=True)
class Shape:
    element_id: str
    kind: str  # the BPMN element's local name, e.g. "userTask"; "" when the id names nothing
    name: str
    bounds: Box
    label_bounds: Box | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)  # the element's own attributes
    markers: tuple[str, ...] = ()  # event definitions, loop characteristics
    horizontal: bool = True
    attached_to: str | None = None
    expanded: bool | None = None


@dataclass(frozen=True)
class Edge:
    element_id: str
    kind: str
    name: str
    waypoints: tuple[tuple[float, float], ...]
    label_bounds: Box | None = None
    source: str | None = None
    target: str | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)
    conditional: bool = False


@dataclass(frozen=True)
class Diagram:
    """One BPMN plane: its shapes and edges in document order, and the model they draw."""

    shapes: tuple[Shape, ...]
    edges: tuple[Edge, ...]
    lanes_of: Mapping[str, str]  # flow node id → the id of the innermost lane holding it
    title: str

    def flow_element_ids(self) -> set[str]:
        return {s.element_id for s in self.shapes if s.kind in FLOW_ELEMENTS} | {
            e.element_id for e in self.edges if e.kind in FLOW_ELEMENTS}

    def label_box(self, item: Shape | Edge) -> Box | None:
        """Where `item`'s external label is drawn (None for a name drawn inside its shape, or none)."""
        laid = _external_label(item, self)
        return laid[0] if laid else None


# ---------------------------------------------------------------------------------------- parsing

def _local(tag: str) -> tuple[str, str]:
    namespace, _, name = tag.rpartition("}")
    return namespace, name


class _Node:
    __slots__ = ("attrs", "children", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag, self.attrs, self.children, self.text = tag, attrs, [], []


def _read_xml(data: str | bytes) -> _Node:
    # expat directly, so a DOCTYPE (and with it any entity expansion) is refused before it
    # is read; ElementTree offers no hook for that and defusedxml would be a dependency.
    parser = expat.ParserCreate(namespace_separator="}")
    root = _Node("", {})
    stack = [root]

    def refuse(*_args):
        raise DiagramError("BPMN 文件不得声明 DOCTYPE / a BPMN file must not declare a DOCTYPE")

    def start(tag, attrs):
        node = _Node(tag, attrs)
        stack[-1].children.append(node)
        stack.append(node)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda _tag: stack.pop()
    parser.CharacterDataHandler = lambda text: stack[-1].text.append(text)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise DiagramError(f"BPMN 文件不是合法的 XML / not well-formed XML: {error}") from None
    if not root.children:
        raise DiagramError("BPMN 文件为空 / empty file")
    return root.children[0]


def _walk(node: _Node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _bounds(node: _Node) -> Box | None:
    for child in node.children:
        if child.tag == f"{DC}}}Bounds":
            try:
                return Box(*(float(child.attrs.get(k, "0")) for k in ("x", "y", "width", "height")))
            except ValueError:
                return None
    return None


def _label_bounds(node: _Node) -> Box | None:
    for child in node.children:
        if child.tag == f"{BPMNDI}}}BPMNLabel":
            return _bounds(child)
    return None


@functools.lru_cache(maxsize=32)  # the case page draws the same few definition versions all day
def _parse(data: str | bytes) -> Diagram | None:
    root = _read_xml(data)
    model: dict[str, _Node] = {}
    for node in _walk(root):
        if _local(node.tag)[0] == BPMN and "id" in node.attrs:
            model.setdefault(node.attrs["id"], node)

    planes = [n for n in _walk(root) if n.tag == f"{BPMNDI}}}BPMNPlane"]
    if not planes:
        return None
    # A subprocess drawn on a plane of its own is a second plane; the first one is the process.
    plane = planes[0]
    shapes: list[Shape] = []
    edges: list[Edge] = []
    for node in plane.children:
        element_id = node.attrs.get("bpmnElement", "")
        element = model.get(element_id)
        kind = _local(element.tag)[1] if element is not None else ""
        attrs = dict(element.attrs) if element is not None else {}
        name = _name_of(element)
        if node.tag == f"{BPMNDI}}}BPMNShape":
            bounds = _bounds(node)
            if bounds is None:
                continue
            markers = tuple(_marker_of(c) for c in element.children) if element is not None else ()
            if "isMarkerVisible" in node.attrs:
                attrs["isMarkerVisible"] = node.attrs["isMarkerVisible"]
            expanded = node.attrs.get("isExpanded")
            shapes.append(Shape(element_id, kind, name, bounds, _label_bounds(node), attrs,
                                markers, node.attrs.get("isHorizontal", "true") != "false",
                                attrs.get("attachedToRef"), None if expanded is None else expanded == "true"))
        elif node.tag == f"{BPMNDI}}}BPMNEdge":
            points = []
            for child in node.children:
                if child.tag == f"{DI}}}waypoint":
                    try:
                        points.append((float(child.attrs["x"]), float(child.attrs["y"])))
                    except (KeyError, ValueError):
                        pass
            if len(points) < 2:
                continue
            source = attrs.get("sourceRef")
            target = attrs.get("targetRef")
            conditional = element is not None and any(
                _local(c.tag)[1] == "conditionExpression" for c in element.children)
            edges.append(Edge(element_id, kind, name, tuple(points), _label_bounds(node), source, target,
                              attrs, conditional))
    if not shapes and not edges:
        return None

    lanes_of: dict[str, str] = {}
    for lane_id, lane in ((i, n) for i, n in model.items() if _local(n.tag)[1] == "lane"):
        for ref in lane.children:
            if ref.tag == f"{BPMN}}}flowNodeRef":
                lanes_of[("".join(ref.text)).strip()] = lane_id  # inner lanes come later and win
    names = [s.name for s in shapes if s.kind == "participant"] + [
        n.attrs.get("name", "") for n in model.values() if _local(n.tag)[1] == "process"]
    title = next(filter(None, names), "")
    return Diagram(tuple(shapes), tuple(edges), lanes_of, title)


def _marker_of(child: _Node) -> str:
    name = _local(child.tag)[1]
    if name == "multiInstanceLoopCharacteristics" and child.attrs.get("isSequential") == "true":
        return "sequentialMultiInstance"
    return name


def _name_of(element: _Node | None) -> str:
    if element is None:
        return ""
    if _local(element.tag)[1] == "textAnnotation":
        for child in element.children:
            if _local(child.tag)[1] == "text":
                return "".join(child.text).strip()
        return ""
    return element.attrs.get("name", "")


def parse_diagram(bpmn_xml: str | bytes) -> Diagram | None:
    """The first diagram plane of a BPMN file, or None when the file has no diagram interchange."""
    return _parse(bpmn_xml if isinstance(bpmn_xml, str) else bytes(bpmn_xml))


def diagram_element_ids(bpmn_xml: str | bytes | Diagram) -> set[str]:
    """Ids of the flow nodes and flows the diagram draws: the task spec names worth marking on it."""
    diagram = bpmn_xml if isinstance(bpmn_xml, Diagram) else parse_diagram(bpmn_xml)
    return diagram.flow_element_ids() if diagram else set()


# ------------------------------------------------------------------------------------ label layout

def _external_label(item: Shape | Edge, diagram: Diagram) -> tuple[Box, list[str]] | None:
    """The box and lines of a label drawn outside its shape: events, gateways, data, flows."""
    if not item.name or isinstance(item, Shape) and item.kind not in EVENTS | GATEWAYS | DATA:
        return None
    bounds = item.label_bounds
    lines = wrap_label(item.name, max(bounds.width, FONT_SIZE) if bounds else 90)
    if not lines:
        return None
    width = max(text_width(line) for line in lines)
    height = len(lines) * FONT_SIZE * LINE_HEIGHT
    if bounds is not None:
        return Box(bounds.cx - width / 2, bounds.y, width, height), lines
    if isinstance(item, Shape):
        shape = item.bounds
        return Box(shape.cx - width / 2, shape.bottom + 5, width, height), lines
    (ax, ay), (bx, by) = _middle_segment(item.waypoints)
    mx, my = (ax + bx) / 2, (ay + by) / 2
    if abs(by - ay) > abs(bx - ax):  # vertical: beside the line
        return Box(mx + 6, my - height / 2, width, height), lines
    return Box(mx - width / 2, my - height - 4, width, height), lines


def _middle_segment(points: tuple[tuple[float, float], ...]):
    lengths = [math.dist(a, b) for a, b in itertools.pairwise(points)]
    half, walked = sum(lengths) / 2, 0.0
    for (a, b), length in zip(itertools.pairwise(points), lengths):
        walked += length
        if walked >= half:
            return a, b
    return points[-2], points[-1]

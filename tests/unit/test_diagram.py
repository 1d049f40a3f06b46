"""Drawing a case on the BPMN diagram of its definition (web.pages.diagram), and the bundled
diagrams themselves: every step drawn once, marked as the case stands, and legible."""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from web.pages.diagram import (
    FONT_SIZE,
    LINE_HEIGHT,
    Box,
    DiagramError,
    diagram_element_ids,
    parse_diagram,
    render_diagram,
    text_width,
    wrap_label,
)

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
BUNDLED = ("mediation", "petition")
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
SVG = "{http://www.w3.org/2000/svg}"
LANE_TITLES = {"intake": "登记受理", "mediator": "调解员", "court_liaison": "法院联络员",
               "petition_officer": "信访工作人员", "leader": "包案领导"}
NOT_FLOW_ELEMENTS = {"laneSet", "documentation", "extensionElements", "ioSpecification", "property",
                     "dataObject", "textAnnotation", "association", "group"}


def bundled(name: str) -> bytes:
    return (BPMN_DIR / f"{name}.bpmn").read_bytes()


def process_elements(xml: bytes) -> tuple[set[str], set[str]]:
    """The flow nodes and sequence flows of the file's processes, read straight from the model."""
    root = ET.fromstring(xml)
    nodes, flows = set(), set()
    for process in root.iterfind("bpmn:process", NS):
        for element in process:
            kind = element.tag.rpartition("}")[2]
            if kind == "sequenceFlow":
                flows.add(element.get("id"))
            elif kind not in NOT_FLOW_ELEMENTS and element.get("id"):
                nodes.add(element.get("id"))
    return nodes, flows


def groups_by_id(svg: str) -> dict[str, list[ET.Element]]:
    found: dict[str, list[ET.Element]] = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if group.get("data-element-id") is not None:
            found.setdefault(group.get("data-element-id"), []).append(group)
    return found


def classes(group: ET.Element) -> set[str]:
    return set(group.get("class", "").split())


def texts(element: ET.Element) -> str:
    return "".join(element.itertext())


def shown_text(group: ET.Element) -> str:
    """What a sighted reader sees in a group: its <text>, not its tooltip."""
    return "".join(texts(t) for t in group.iter(f"{SVG}text"))


def tiny_bpmn(task_name: str = "受理", *, with_diagram: bool = True, extra_model: str = "",
              extra_shapes: str = "") -> str:
    diagram = f"""
  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="tiny">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f_di" bpmnElement="f"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/>
    </bpmndi:BPMNEdge>
    {extra_shapes}
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>""" if with_diagram else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="https://fengqiao.example/t">
  <bpmn:process id="tiny" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="t" name="{task_name}"/>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
    {extra_model}
  </bpmn:process>{diagram}
</bpmn:definitions>"""


# --------------------------------------------------------------------------------- the renderer

@pytest.mark.parametrize("name", BUNDLED)
def test_every_step_and_flow_of_a_bundled_process_is_one_svg_group_carrying_its_bpmn_id(name):
    xml = bundled(name)
    nodes, flows = process_elements(xml)
    drawn = groups_by_id(render_diagram(xml, lane_titles=LANE_TITLES))
    assert {i: len(drawn.get(i, [])) for i in nodes | flows} == {i: 1 for i in nodes | flows}
    assert all("flow" in classes(drawn[i][0]) for i in flows)
    kinds = {i: classes(drawn[i][0]) & {"task", "event", "gateway"} for i in nodes}
    assert all(kinds.values()), [i for i, k in kinds.items() if not k]
    assert diagram_element_ids(xml) == nodes | flows  # no lanes, no pool: only what a case can be on


@pytest.mark.parametrize("name", BUNDLED)
def test_every_task_spec_spiffworkflow_builds_is_on_the_diagram_unless_it_is_a_helper_of_its_own(name):
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bundled(name))
    parser.add_dmn_str((BPMN_DIR / "triage.dmn").read_bytes())
    spec_names = set(parser.get_spec(name).task_specs)
    helpers = {n for n in spec_names - diagram_element_ids(bundled(name))}
    assert all(n in ("Start", "End", f"{name}.EndJoin") or n.endswith((".BoundaryEventSplit",
                                                                        ".BoundaryEventJoin"))
               for n in helpers), helpers


def test_a_dispute_now_at_town_mediation_shows_where_it_is_where_it_has_been_and_the_path_it_took():
    xml = bundled("mediation")
    done = {"register", "triage", "open_round", "which_level", "mediate_village", "mediated", "result",
            "escalate", "to_court_gw"}
    taken = {"f_register", "f_triage", "f_round", "f_to_village", "f_village_done", "f_mediated",
             "f_no_agreement", "f_escalated", "f_next_level", "f_to_town"}
    svg = render_diagram(xml, current={"mediate_town", "not_a_diagram_id"}, done=done, taken=taken,
                         lane_titles=LANE_TITLES, title="MED-2026-000001 的流程")
    drawn = groups_by_id(svg)
    marked = {state: {i for i, [g] in drawn.items() if state in classes(g)} for state in ("current", "done", "taken")}
    assert marked == {"current": {"mediate_town"}, "done": done, "taken": taken}

    current = drawn["mediate_town"][0]
    assert "当前" in shown_text(current)  # said in words, not by colour alone
    outline = current.find(f"{SVG}rect")
    plain = drawn["mediate_county"][0].find(f"{SVG}rect")
    assert float(outline.get("stroke-width")) >= 2 * float(plain.get("stroke-width"))
    assert drawn["triage"][0].find(f"{SVG}rect").get("fill") != plain.get("fill")  # done looks done

    taken_line = drawn["f_to_town"][0].find(f"{SVG}polyline")
    untaken_line = drawn["f_to_county"][0].find(f"{SVG}polyline")
    assert float(taken_line.get("stroke-width")) > float(untaken_line.get("stroke-width"))
    assert taken_line.get("stroke") != untaken_line.get("stroke")
    assert "当前步骤：镇级调解 / mediate at town" in texts(ET.fromstring(svg).find(f"{SVG}desc"))


def test_a_diagram_without_a_case_is_drawn_plainly():
    svg = render_diagram(bundled("petition"))
    assert not any(classes(g) & {"current", "done", "taken"} for [g] in groups_by_id(svg).values())
    assert ET.fromstring(svg).find(f"{SVG}desc") is None


def test_names_from_a_bpmn_file_are_escaped_and_nothing_in_the_svg_can_run_or_load():
    hostile = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;引号&quot;"
    svg = str(render_diagram(tiny_bpmn(hostile), title='<img src=x onerror="alert(1)">'))
    assert "<script" not in svg and "<img" not in svg
    root = ET.fromstring(svg)
    assert '<script>alert(1)</script> & "引号"' in texts(root.find(f"{SVG}g[@data-element-id='t']/{SVG}title"))
    assert root.get("aria-label") == '<img src=x onerror="alert(1)">'
    for element in root.iter():
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}image", f"{SVG}foreignObject",
                                   f"{SVG}a", f"{SVG}use")
        assert not any(k.endswith("href") or k.startswith("on") or k == "style" for k in element.attrib)
        assert not any("url(" in v or "javascript:" in v for v in element.attrib.values())


def test_lanes_show_the_chinese_titles_given_by_lane_name_or_by_lane_id():
    drawn = groups_by_id(render_diagram(bundled("mediation"), lane_titles={
        "intake": "登记受理", "mediator": "调解员", "Lane_court_liaison": "法院联络员"}))
    titles = {i: shown_text(g) for i, [g] in drawn.items() if "lane" in classes(g)}
    assert titles == {"Lane_intake": "登记受理", "Lane_mediator": "调解员", "Lane_court_liaison": "法院联络员"}
    untitled = groups_by_id(render_diagram(bundled("mediation")))
    assert shown_text(untitled["Lane_mediator"][0]) == "mediator"  # the file's own name when none is given


@pytest.mark.parametrize("name", BUNDLED)
def test_the_svg_is_xml_sized_by_its_viewbox_and_named_for_screen_readers(name):
    svg = render_diagram(bundled(name), title="信访事项的流程 / the petition's flow")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("role"), root.get("aria-label")) == (
        "100%", "img", "信访事项的流程 / the petition's flow")
    assert texts(root.find(f"{SVG}title")) == "信访事项的流程 / the petition's flow"
    x, y, width, height = map(float, root.get("viewBox").split())
    assert int(root.get("data-width")) >= width > 1000 and int(root.get("data-height")) >= height
    diagram = parse_diagram(bundled(name))
    for shape in diagram.shapes:  # everything drawn lies inside the view, with a margin
        box = shape.bounds
        assert x + 10 <= box.x and box.right <= x + width - 10 and y + 10 <= box.y and box.bottom <= y + height - 10


def test_chinese_names_wrap_between_characters_english_at_spaces_and_each_language_on_its_own_line():
    assert wrap_label("等待诉前调解结果", 30) == ["等待", "诉前", "调解", "结果"]
    for width in (24, 30, 40, 50):  # a comma never starts a line, and nothing is lost
        lines = wrap_label("驳回，重新调解", width)
        assert "".join(lines) == "驳回，重新调解" and not any(line.startswith("，") for line in lines)
    assert wrap_label("村级调解 / mediate at village", 200) == ["村级调解", "mediate at village"]
    assert wrap_label("哪一级？/ which level?", 200) == ["哪一级？", "which level?"]
    assert wrap_label("受理 / 转送", 200) == ["受理 / 转送"]  # a slash between Chinese words is part of the name
    assert wrap_label("archive the case file", 100) == ["archive the case", "file"]
    long_word = wrap_label("supercalifragilistic", 60)
    assert "".join(long_word) == "supercalifragilistic" and all(text_width(line) <= 60 for line in long_word)


def test_a_task_name_too_long_for_its_box_is_shortened_inside_it_and_kept_whole_in_its_tooltip():
    name = "这是一个非常非常长的任务名称，" * 6
    drawn = groups_by_id(render_diagram(tiny_bpmn(name)))
    task = drawn["t"][0]
    assert texts(task.find(f"{SVG}title")) == name
    shown = shown_text(task)
    assert shown.endswith("…") and len(shown) < len(name)


def test_an_element_of_an_unknown_kind_or_none_at_all_is_a_plain_box_with_its_name():
    svg = render_diagram(tiny_bpmn(
        extra_model='<bpmn:fancyNewThing id="odd" name="新式元素"/>',
        extra_shapes='<bpmndi:BPMNShape id="odd_di" bpmnElement="odd">'
                     '<dc:Bounds x="350" y="78" width="100" height="80"/></bpmndi:BPMNShape>'
                     '<bpmndi:BPMNShape id="ghost_di" bpmnElement="ghost">'
                     '<dc:Bounds x="500" y="78" width="100" height="80"/></bpmndi:BPMNShape>'
                     '<bpmndi:BPMNShape id="nobounds_di" bpmnElement="s"/>'))
    drawn = groups_by_id(svg)
    assert "other" in classes(drawn["odd"][0]) and shown_text(drawn["odd"][0]) == "新式元素"
    assert drawn["odd"][0].find(f"{SVG}rect") is not None
    assert "other" in classes(drawn["ghost"][0])
    assert len(drawn["s"]) == 1


def test_a_bpmn_file_without_a_diagram_says_so_chinese_first():
    message = str(render_diagram(tiny_bpmn(with_diagram=False)))
    assert "<svg" not in message
    assert message.index("没有流程图") < message.index("has no diagram")
    assert diagram_element_ids(tiny_bpmn(with_diagram=False)) == set()


def test_a_file_declaring_a_doctype_is_refused_before_any_entity_is_expanded():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 or "")) * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</bpmn:definitions>')
    with pytest.raises(DiagramError, match="DOCTYPE"):
        render_diagram(bomb)
    with pytest.raises(DiagramError):
        render_diagram(b"<bpmn:definitions")


# ------------------------------------------------------------------------- the bundled diagrams

def label_box(diagram, item) -> Box | None:
    """Where a label is: its DI bounds, or where the renderer puts a label that has none."""
    if not item.name:
        return None
    if item.label_bounds is not None and diagram.label_box(item) is not None:
        return item.label_bounds
    return diagram.label_box(item)


def name_box(shape) -> Box:
    """The name written inside a task, as the renderer wraps it (12 px)."""
    box = shape.bounds
    lines = wrap_label(shape.name, box.width - 12)
    width, height = max(map(text_width, lines)), len(lines) * FONT_SIZE * LINE_HEIGHT
    return Box(box.cx - width / 2, box.cy - height / 2, width, height)


def drawn_boxes(diagram):
    """(owner id, "shape" | "label", box) for everything a reader must tell apart."""
    for shape in diagram.shapes:
        if shape.kind in ("participant", "lane"):
            continue
        yield shape.element_id, "shape", shape.bounds
        if label_box(diagram, shape):
            yield shape.element_id, "label", label_box(diagram, shape)
    for edge in diagram.edges:
        if label_box(diagram, edge):
            yield edge.element_id, "label", label_box(diagram, edge)


def diagram_shape(diagram, element_id):
    return next(s for s in diagram.shapes if s.element_id == element_id)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_flow_element_of_both_bundled_diagrams_is_drawn_and_no_two_labels_or_shapes_overlap(name):
    xml = bundled(name)
    root = ET.fromstring(xml)
    nodes, flows = process_elements(xml)
    shapes = [s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)]
    edges = [e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)]
    assert {i: shapes.count(i) for i in nodes} == {i: 1 for i in nodes}
    assert {i: edges.count(i) for i in flows} == {i: 1 for i in flows}

    diagram = parse_diagram(xml)
    host = {s.element_id: s.attached_to for s in diagram.shapes if s.attached_to}
    for item in (*diagram.shapes, *diagram.edges):  # the text drawn fits the label bounds in the file
        if item.label_bounds and diagram.label_box(item):
            drawn, bounds = diagram.label_box(item), item.label_bounds
            assert bounds.x - 1 <= drawn.x and drawn.right <= bounds.right + 1 and drawn.bottom <= bounds.bottom + 1, \
                item.element_id
    def on_its_task(a, b):
        return host.get(a) == b or host.get(b) == a

    overlaps = [f"{a} ({kind_a}) / {b} ({kind_b})"
                for (a, kind_a, box_a), (b, kind_b, box_b) in itertools.combinations(drawn_boxes(diagram), 2)
                if box_a.overlaps(box_b, 0.5) and not (kind_a == kind_b == "shape" and on_its_task(a, b))]
    for event, task in host.items():  # a boundary event sits on the border, clear of the task's name
        if diagram_shape(diagram, event).bounds.overlaps(name_box(diagram_shape(diagram, task)), 0.5):
            overlaps.append(f"{event} / the name of {task}")
    assert overlaps == []


@pytest.mark.parametrize("name", BUNDLED)
def test_edges_of_the_bundled_diagrams_stay_in_their_lane_go_round_shapes_and_cross_no_other_label(name):
    diagram = parse_diagram(bundled(name))
    nodes = {s.element_id: s for s in diagram.shapes if s.kind not in ("participant", "lane")}
    lanes = {s.element_id: s.bounds for s in diagram.shapes if s.kind == "lane"}
    labels = [(owner, box) for owner, kind, box in drawn_boxes(diagram) if kind == "label"]
    problems = []
    for edge in diagram.edges:
        ends = {edge.source, edge.target, nodes[edge.source].attached_to, nodes[edge.target].attached_to}
        for a, b in itertools.pairwise(edge.waypoints):
            problems += [f"{edge.element_id} runs through {i}" for i, s in nodes.items()
                         if i not in ends and s.bounds.crosses(a, b, 1.0)]
            problems += [f"{edge.element_id} crosses the label of {owner}" for owner, box in labels
                         if owner != edge.element_id and box.crosses(a, b, 0.5)]
        for end, point in ((edge.source, edge.waypoints[0]), (edge.target, edge.waypoints[-1])):
            box = nodes[end].bounds
            on_border = (box.x - 3 <= point[0] <= box.right + 3 and box.y - 3 <= point[1] <= box.bottom + 3
                         and min(abs(point[0] - box.x), abs(point[0] - box.right),
                                 abs(point[1] - box.y), abs(point[1] - box.bottom)) <= 3)
            if not on_border:
                problems.append(f"{edge.element_id} is not attached to {end}")
        lane = diagram.lanes_of.get(edge.source)
        if lane == diagram.lanes_of.get(edge.target) and lane in lanes:
            bounds = lanes[lane]
            if not all(bounds.x <= x <= bounds.right and bounds.y <= y <= bounds.bottom for x, y in edge.waypoints):
                problems.append(f"{edge.element_id} leaves its lane {lane}")
    for node_id, node in nodes.items():
        lane = lanes.get(diagram.lanes_of.get(node_id))
        if lane and not (lane.x + 30 <= node.bounds.cx <= lane.right and lane.y <= node.bounds.cy <= lane.bottom):
            problems.append(f"{node_id} is drawn outside its lane")
    assert problems == []

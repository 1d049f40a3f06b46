"""A deployed DMN decision table as rows a person can read: its inputs, outputs and rules (for the
administration's view of a rate table in force and its earlier versions)."""
from __future__ import annotations

from typing import Any

from lxml import etree


def _text(node) -> str:
    found = node.find("{*}text") if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def read_table(source: str, decision_key: str) -> dict[str, Any]:
    """{"inputs": [label…], "outputs": [label…], "rules": [{"inputs": [...], "outputs": [...], "description"}]}
    of the decision table of `decision_key` in the DMN `source` (empty lists when it has none)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(source.encode("utf-8"), parser)
    decision = next((d for d in root.iter("{*}decision") if d.get("id") == decision_key), None)
    table = decision.find("{*}decisionTable") if decision is not None else None
    if table is None:
        return {"inputs": [], "outputs": [], "rules": [], "hit_policy": None}
    inputs = [i.get("label") or _text(i.find("{*}inputExpression")) for i in table.findall("{*}input")]
    outputs = [o.get("label") or o.get("name") or "" for o in table.findall("{*}output")]
    rules = []
    for rule in table.findall("{*}rule"):
        description = rule.find("{*}description")
        rules.append({"inputs": [_unquote(_text(e)) for e in rule.findall("{*}inputEntry")],
                      "outputs": [_unquote(_text(e)) for e in rule.findall("{*}outputEntry")],
                      "description": (description.text or "").strip() if description is not None else ""})
    return {"inputs": inputs, "outputs": outputs, "rules": rules, "hit_policy": table.get("hitPolicy") or "UNIQUE"}


def _unquote(entry: str) -> str:
    """`"village"` → village; `-` (any value) stays `-`."""
    if len(entry) >= 2 and entry[0] == entry[-1] == '"':
        return entry[1:-1]
    return entry

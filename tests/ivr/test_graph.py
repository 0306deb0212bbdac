"""to_dot and to_svg: every node and labelled edge drawn; the SVG is valid XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ivr import FlowBook, to_dot, to_svg
from ivr.nodes import Edge, EndNode, Flow, MenuNode, QueueNode

SVG = "{http://www.w3.org/2000/svg}"


def test_dot_lists_every_node_and_merges_parallel_edges(book: FlowBook) -> None:
    dot = to_dot(book.flows["voice"])
    assert dot.startswith('digraph "voice" {\n')
    assert dot.endswith("}\n")
    assert '"$start" -> "language";' in dot
    assert '"team" [label="team\\nmenu", fillcolor="#e8f0fe"];' in dot
    assert '"language" -> "incident" [label="1,2,3,4,fallback"];' in dot
    assert '"verify" -> "number" [label="fail"];' in dot
    assert '"queue" [label="queue\\nqueue", fillcolor="#d2e3fc", penwidth=2];' in dot
    for node_id in book.flows["voice"].nodes:
        assert f'  "{node_id}" [label=' in dot


def test_dot_escapes_quotes() -> None:
    flow = Flow(name='say "hi"', input="digits", start="end", nodes={"end": EndNode(reason="x")})
    assert to_dot(flow).startswith('digraph "say \\"hi\\"" {')


@pytest.mark.parametrize("name", ["voice", "text", "email"])
def test_svg_is_valid_xml_with_a_box_per_node(book: FlowBook, name: str) -> None:
    flow = book.flows[name]
    svg = to_svg(flow)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}
    assert set(groups) == {f"node-{node_id}" for node_id in flow.nodes}
    for node_id, node in flow.nodes.items():
        texts = [t.text for t in groups[f"node-{node_id}"].iter(f"{SVG}text")]
        assert texts == [node_id, node.kind]
    edges = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    assert len(edges) >= len(flow.nodes) - 1


def test_svg_labels_edges_with_digits_and_branches(book: FlowBook) -> None:
    root = ET.fromstring(to_svg(book.flows["voice"]))
    labels = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label"}
    assert {
        "1,2,3,4,fallback",
        "fail",
        "ok,exhausted,locked",
        "yes",
        "no",
        "open",
        "closed",
    } <= labels


def test_svg_boxes_do_not_overlap_and_layers_go_down(book: FlowBook) -> None:
    root = ET.fromstring(to_svg(book.flows["voice"]))
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        assert rect is not None
        boxes[group.get("id")] = tuple(
            float(rect.get(k, "0")) for k in ("x", "y", "width", "height")
        )
    items = list(boxes.values())
    for i, (x1, y1, w1, h1) in enumerate(items):
        for x2, y2, w2, h2 in items[i + 1 :]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
    assert boxes["node-language"][1] < boxes["node-number"][1] < boxes["node-team"][1]
    assert boxes["node-team"][1] < boxes["node-queue"][1]


def test_svg_draws_a_self_loop_and_escapes_text() -> None:
    menu = MenuNode(prompt="p", choices=(), fallback=Edge(next="a<b"))
    flow = Flow(name="x&y", input="digits", start="a<b", nodes={"a<b": menu, "q": QueueNode()})
    svg = to_svg(flow)
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title") is not None
    assert "x&amp;y" in svg
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]) == 1
    assert re.search(r'class="edge" d="M [\d.]+ [\d.]+ C ', svg)


def test_svg_is_deterministic(book: FlowBook) -> None:
    assert to_svg(book.flows["text"]) == to_svg(book.flows["text"])

"""Draw a flow: Graphviz DOT text, or an SVG laid out here in layers (no graphviz needed).

The SVG layout is the classic layered one in small: back edges (those closing a loop) are
set aside, every node goes one layer below its lowest predecessor, a few barycentre sweeps
order each layer to uncross edges, and back edges are drawn as curves on the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

from ivr.nodes import Flow

__all__ = ["to_dot", "to_svg"]

_FILL = {
    "menu": "#e8f0fe",
    "collect": "#e6f4ea",
    "verify": "#fef7e0",
    "classify": "#f3e8fd",
    "announce": "#f1f3f4",
    "hours": "#fce8e6",
    "branch": "#fff4e5",
    "queue": "#d2e3fc",
    "end": "#d2e3fc",
}
_CHAR_W = 7.0
_BOX_H = 44.0
_LAYER_GAP = 84.0
_NODE_GAP = 36.0
_MARGIN = 24.0
_TITLE_H = 28.0
_DUMMY_W = 14.0


def _merged_edges(flow: Flow) -> list[tuple[str, str, str]]:
    """(source, target, label) with parallel edges merged: "1,2,3,4" to one node."""
    merged: dict[tuple[str, str], list[str]] = {}
    for node_id, node in flow.nodes.items():
        for label, edge in node.edges():
            if edge.next in flow.nodes:
                merged.setdefault((node_id, edge.next), []).append(label)
    return [(src, dst, ",".join(labels)) for (src, dst), labels in merged.items()]


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(flow: Flow) -> str:
    """The flow as a Graphviz digraph: a box per node (id and type), labelled arrows."""
    lines = [
        f"digraph {_dot_quote(flow.name)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  "$start" [shape=point, width=0.15, label=""];',
    ]
    for node_id, node in flow.nodes.items():
        extra = ", penwidth=2" if node.kind in ("queue", "end") else ""
        label = _dot_quote(f"{node_id}\n{node.kind}").replace("\n", "\\n")
        fill = _FILL[node.kind]
        lines.append(f'  {_dot_quote(node_id)} [label={label}, fillcolor="{fill}"{extra}];')
    if flow.start in flow.nodes:
        lines.append(f'  "$start" -> {_dot_quote(flow.start)};')
    for src, dst, label in _merged_edges(flow):
        lines.append(f"  {_dot_quote(src)} -> {_dot_quote(dst)} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class _Box:
    """A node's box, or a dummy point where a long edge crosses a layer (``kind`` "")."""

    key: str
    kind: str
    layer: int
    width: float
    x: float = 0.0
    y: float = 0.0

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


def _layers(flow: Flow, edges: list[tuple[str, str, str]]) -> tuple[dict[str, int], set[int]]:
    """Layer per node and the indexes of back edges (they close a loop)."""
    outs: dict[str, list[tuple[int, str]]] = {node_id: [] for node_id in flow.nodes}
    for index, (src, dst, _) in enumerate(edges):
        outs[src].append((index, dst))
    order: list[str] = []
    back: set[int] = set()
    state: dict[str, int] = {}

    def visit(node_id: str) -> None:
        # Iterative DFS: flows are small, but a deep chain must not hit the recursion limit.
        stack = [(node_id, iter(outs[node_id]))]
        state[node_id] = 1
        while stack:
            current, pending = stack[-1]
            for index, dst in pending:
                if state.get(dst) == 1:
                    back.add(index)
                elif dst not in state:
                    state[dst] = 1
                    stack.append((dst, iter(outs[dst])))
                    break
            else:
                state[current] = 2
                order.append(current)
                stack.pop()

    roots = [flow.start] if flow.start in flow.nodes else []
    for node_id in [*roots, *flow.nodes]:
        if node_id not in state:
            visit(node_id)
    layer = dict.fromkeys(flow.nodes, 0)
    for node_id in reversed(order):  # reverse post-order is a topological order
        for index, dst in outs[node_id]:
            if index not in back:
                layer[dst] = max(layer[dst], layer[node_id] + 1)
    return layer, back


def _chains(
    edges: list[tuple[str, str, str]], layer: dict[str, int], back: set[int]
) -> dict[int, list[str]]:
    """Per downward edge, the keys it passes through: source, dummies, target."""
    chains = {}
    for index, (src, dst, _) in enumerate(edges):
        if index in back or layer[src] >= layer[dst]:
            continue
        # "~" cannot start a node id, so dummy keys never clash with nodes.
        dummies = [f"~{index}.{depth}" for depth in range(layer[src] + 1, layer[dst])]
        chains[index] = [src, *dummies, dst]
    return chains


def _place(flow: Flow, layer: dict[str, int], chains: dict[int, list[str]]) -> dict[str, _Box]:
    boxes = {
        node_id: _Box(
            node_id,
            node.kind,
            layer[node_id],
            (max(len(node_id), len(node.kind) + 2)) * _CHAR_W + 24,
        )
        for node_id, node in flow.nodes.items()
    }
    ups: dict[str, list[str]] = {key: [] for key in boxes}
    downs: dict[str, list[str]] = {key: [] for key in boxes}
    for chain in chains.values():
        for depth, key in enumerate(chain[1:-1], start=layer[chain[0]] + 1):
            boxes[key] = _Box(key, "", depth, _DUMMY_W)
            ups[key], downs[key] = [], []
        for upper, lower in pairwise(chain):
            downs[upper].append(lower)
            ups[lower].append(upper)
    rows: dict[int, list[str]] = {}
    for key, box in boxes.items():
        rows.setdefault(box.layer, []).append(key)
    depths = sorted(rows)
    # Barycentre sweeps, down then up: each key moves towards its neighbours' mean position.
    for sweep in range(6):
        order = depths[1:] if sweep % 2 == 0 else depths[-2::-1]
        for depth in order:
            near = ups if sweep % 2 == 0 else downs
            position = {key: i for row in rows.values() for i, key in enumerate(row)}
            weights = {}
            for i, key in enumerate(rows[depth]):
                seen = [position[k] for k in near[key]]
                weights[key] = sum(seen) / len(seen) if seen else float(i)
            rows[depth].sort(key=weights.__getitem__)
    widths = {
        depth: sum(boxes[key].width for key in row) + _NODE_GAP * (len(row) - 1)
        for depth, row in rows.items()
    }
    widest = max(widths.values(), default=0.0)
    for depth, row in rows.items():
        x = _MARGIN + (widest - widths[depth]) / 2
        for key in row:
            box = boxes[key]
            box.x, box.y = x, _MARGIN + _TITLE_H + depth * (_BOX_H + _LAYER_GAP)
            x += box.width + _NODE_GAP
    return boxes


def _down_path(chain: list[str], boxes: dict[str, _Box]) -> tuple[str, float, float, str]:
    """SVG path data of a downward edge through its dummies, and where its label goes."""
    top = boxes[chain[0]]
    x, y = top.centre, top.y + _BOX_H
    d = [f"M {x:.1f} {y:.1f}"]
    label_at = (0.0, 0.0, "start")
    for step, key in enumerate(chain[1:]):
        box = boxes[key]
        nx, ny = box.centre, box.y
        mid = (y + ny) / 2
        d.append(f"C {x:.1f} {mid:.1f} {nx:.1f} {mid:.1f} {nx:.1f} {ny:.1f}")
        if step == 0:
            # Labels of edges fanning out to the left hang left, so two never overlap.
            left = nx < x - 1
            label_at = ((x + nx) / 2 + (-4 if left else 4), mid + 4, "end" if left else "start")
        x, y = nx, ny
        if box.kind == "":
            y = box.y + _BOX_H
            d.append(f"L {x:.1f} {y:.1f}")
    return " ".join(d), *label_at


def _loop_path(a: _Box, b: _Box, lane: float) -> tuple[str, float, float, str]:
    """A back edge: from the source's right side round to the target's right side."""
    x1, y1 = a.x + a.width, a.y + _BOX_H / 2 + 6
    x2, y2 = b.x + b.width, b.y + _BOX_H / 2 - 6
    d = f"M {x1:.1f} {y1:.1f} C {lane:.1f} {y1:.1f} {lane:.1f} {y2:.1f} {x2:.1f} {y2:.1f}"
    return d, lane + 4, (y1 + y2) / 2, "start"


def to_svg(flow: Flow) -> str:
    """The flow as a standalone SVG document (valid XML), laid out in layers."""
    edges = _merged_edges(flow)
    layer, back = _layers(flow, edges)
    chains = _chains(edges, layer, back)
    boxes = _place(flow, layer, chains)
    title = f"flow {flow.name} (input: {flow.input})"
    right = max((b.x + b.width for b in boxes.values()), default=_MARGIN)
    loops = len(edges) - len(chains)
    loop_labels = [len(label) for i, (_, _, label) in enumerate(edges) if i not in chains]
    room = 14 * loops + _CHAR_W * max(loop_labels, default=0) + 40
    width = max(right + _MARGIN + room, 2 * _MARGIN + len(title) * 9.5)
    height = max((b.y + _BOX_H for b in boxes.values()), default=_TITLE_H) + _MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(flow.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker>'
        "<style>.edge{fill:none;stroke:#444;stroke-width:1.3}"
        ".edge-label{font-size:11px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}"
        ".id{font-size:13px;font-weight:bold}.kind{font-size:11px;fill:#555}</style></defs>",
        f'<text x="{_MARGIN:.0f}" y="{_MARGIN + 12:.0f}" font-size="15" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    lane = right + 20.0
    for index, (src, dst, label) in enumerate(edges):
        if index in chains:
            d, lx, ly, anchor = _down_path(chains[index], boxes)
        else:
            lane += 14  # each loop in its own lane on the right
            d, lx, ly, anchor = _loop_path(boxes[src], boxes[dst], lane)
        out.append(f'<path class="edge" d="{d}" marker-end="url(#arrow)"/>')
        out.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" class="edge-label">'
            f"{escape(label)}</text>"
        )
    for node_id in flow.nodes:
        box = boxes[node_id]
        stroke = 2.5 if box.kind in ("queue", "end") else 1.2
        start = ' stroke-dasharray="5 3"' if node_id == flow.start else ""
        out.append(
            f"<g id={quoteattr('node-' + node_id)}>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{_BOX_H:.0f}" '
            f'rx="8" fill="{_FILL[box.kind]}" stroke="#333" stroke-width="{stroke}"{start}/>'
            f'<text x="{box.centre:.1f}" y="{box.y + 19:.1f}" text-anchor="middle" '
            f'class="id">{escape(node_id)}</text>'
            f'<text x="{box.centre:.1f}" y="{box.y + 35:.1f}" text-anchor="middle" '
            f'class="kind">{escape(box.kind)}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"

"""A scenario's graph laid out for an SVG picture (pure): columns by distance from the start."""

from __future__ import annotations

from dataclasses import dataclass

from ..roleplay.scenario import Scenario

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 150, 40, 60, 18, 10


@dataclass(frozen=True)
class Box:
    id: str
    x: int
    y: int
    end: bool
    outcome: str
    label: str


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int
    back: bool  # goes to an earlier or the same column (a loop)


@dataclass(frozen=True)
class Layout:
    boxes: list[Box]
    edges: list[Edge]
    width: int
    height: int


def layout(scenario: Scenario) -> Layout:
    """Place every node: column = steps from the start (unreachable ones last), row = order found."""
    depth = {scenario.start: 0}
    queue = [scenario.start]
    while queue:
        node = scenario.nodes[queue.pop(0)]
        for branch in node.branches:
            if branch.goto not in depth and branch.goto in scenario.nodes:
                depth[branch.goto] = depth[node.id] + 1
                queue.append(branch.goto)
    last = max(depth.values(), default=0) + 1
    for node_id in scenario.nodes:
        depth.setdefault(node_id, last)
    columns: dict[int, list[str]] = {}
    for node_id in scenario.nodes:
        columns.setdefault(depth[node_id], []).append(node_id)
    boxes: dict[str, Box] = {}
    for column, ids in columns.items():
        for row, node_id in enumerate(ids):
            node = scenario.nodes[node_id]
            label = node_id if len(node_id) <= 18 else node_id[:17] + "…"
            boxes[node_id] = Box(node_id, MARGIN + column * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y),
                                 node.end, node.outcome, label)
    edges = []
    for node in scenario.nodes.values():
        for target in dict.fromkeys(b.goto for b in node.branches):
            if target in boxes:
                a, b = boxes[node.id], boxes[target]
                loop = not b.end and depth[target] <= depth[node.id]
                edges.append(Edge(a.x + BOX_W, a.y + BOX_H // 2, b.x, b.y + BOX_H // 2, loop))
    width = MARGIN * 2 + (max(columns) + 1) * (BOX_W + GAP_X)
    height = MARGIN * 2 + max(len(ids) for ids in columns.values()) * (BOX_H + GAP_Y)
    return Layout(list(boxes.values()), edges, width, height)

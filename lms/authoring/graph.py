"""A scenario's map laid out for an SVG picture (pure): columns by distance from the start.

It reads the editor's document, not a parsed scenario, so a half-finished draft (a branch to a
node not written yet, a missing field) still has a map. Nodes are named by their Chinese
`title:` (the id when there is none), endings coloured by outcome, the start marked, and a branch
back to an earlier column (a loop) drawn dashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .scenario_doc import targets, title_of

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 150, 40, 60, 18, 10
LABEL_CHARS = 10  # a 150 px box holds about ten Chinese characters at 12 px


@dataclass(frozen=True)
class Box:
    id: str
    x: int
    y: int
    end: bool
    outcome: str
    label: str
    title: str
    start: bool


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


def short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def layout(nodes: Mapping[str, Any], start: str | None) -> Layout:
    """Place every node: column = steps from the start (unreachable ones last), row = order in the file."""
    nodes = {str(k): v for k, v in nodes.items()}
    edges_of = {nid: [t for t in targets(spec) if t in nodes] for nid, spec in nodes.items()}
    depth: dict[str, int] = {}
    if start in nodes:
        depth[start] = 0
        queue = [start]
        while queue:
            current = queue.pop(0)
            for target in edges_of[current]:
                if target not in depth:
                    depth[target] = depth[current] + 1
                    queue.append(target)
    last = max(depth.values(), default=-1) + 1
    for node_id in nodes:
        depth.setdefault(node_id, last)
    columns: dict[int, list[str]] = {}
    for node_id in nodes:
        columns.setdefault(depth[node_id], []).append(node_id)
    boxes: dict[str, Box] = {}
    for column, ids in columns.items():
        for row, node_id in enumerate(ids):
            spec = nodes[node_id] if isinstance(nodes[node_id], dict) else {}
            title = title_of(node_id, spec)
            boxes[node_id] = Box(node_id, MARGIN + column * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y),
                                 bool(spec.get("end")), str(spec.get("outcome") or ""), short(title), title,
                                 node_id == start)
    edges = []
    for node_id, found in edges_of.items():
        for target in found:
            a, b = boxes[node_id], boxes[target]
            loop = not b.end and depth[target] <= depth[node_id]
            edges.append(Edge(a.x + BOX_W, a.y + BOX_H // 2, b.x, b.y + BOX_H // 2, loop))
    width = MARGIN * 2 + (max(columns, default=0) + 1) * (BOX_W + GAP_X)
    height = MARGIN * 2 + max((len(ids) for ids in columns.values()), default=1) * (BOX_H + GAP_Y)
    return Layout(list(boxes.values()), edges, width, height)

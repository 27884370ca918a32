"""Turn feedback for the page (pure): highlighted segments of a reply and mood labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# Variables whose high values mean an unhappy customer; others read the other way round.
NEGATIVE_MOODS = frozenset({"anger", "impatience", "frustration", "irritation", "annoyance", "tension"})


@dataclass(frozen=True)
class Segment:
    text: str
    kind: str | None = None  # hit | forbidden | note
    title: str = ""


def highlight(text: str, analysis: Mapping[str, Any], labels: Mapping[str, str]) -> list[Segment]:
    """Split a reply into segments marked as standard phrase, forbidden phrase or note."""
    marks: list[tuple[str | None, str]] = [(None, "")] * len(text)
    rank = {None: 0, "hit": 1, "note": 2, "forbidden": 3}

    def paint(start: int, end: int, kind: str, title: str) -> None:
        for i in range(max(0, start), min(len(text), end)):
            if rank[kind] > rank[marks[i][0]]:
                marks[i] = (kind, title)

    for hit in analysis.get("hits", []):
        paint(hit["start"], hit["end"], "hit", labels.get(hit["category"], hit["category"]))
    for note in analysis.get("notes", []):
        paint(note["start"], note["end"], "note", note["advice"])
    for bad in analysis.get("forbidden", []):
        paint(bad["start"], bad["end"], "forbidden", f"服务忌语：{bad['phrase']}")
    segments: list[Segment] = []
    for ch, (kind, title) in zip(text, marks):
        if segments and segments[-1].kind == kind and segments[-1].title == title:
            segments[-1] = Segment(segments[-1].text + ch, kind, title)
        else:
            segments.append(Segment(ch, kind, title))
    return segments


def mood(name: str | None, value: int | None, low: int, high: int) -> tuple[str, str] | None:
    """Return the customer's mood as (label, css level ok|warn|bad), or None if not tracked."""
    if name is None or value is None or high <= low:
        return None
    ratio = (value - low) / (high - low)
    if name not in NEGATIVE_MOODS:
        ratio = 1 - ratio
    if ratio <= 0.25:
        return "平静、满意", "ok"
    if ratio <= 0.5:
        return "有些不满", "warn"
    if ratio <= 0.75:
        return "生气", "bad"
    return "非常生气", "bad"

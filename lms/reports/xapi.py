"""xAPI statements (Experience API 1.0.3) from a person's training archive, for a company LRS.

Actors are identified by account (the LMS's address and the 工号); activities by IRIs under the
same address; verbs are the ADL ones (experienced, completed, passed, failed, attempted);
timestamps are ISO 8601 in UTC. Statement ids are stable, so exporting twice sends the same ids
and an LRS keeps one copy.
"""

from __future__ import annotations

import re
import uuid
from datetime import timezone
from typing import Iterable

from .archive import KINDS, Entry

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {"experienced": "经历", "completed": "完成", "passed": "通过", "failed": "未通过", "attempted": "尝试"}
NAMESPACE = uuid.UUID("8f0c5c1e-47e4-4c1b-9a7e-2d7f1b0c9e11")
_SCORE = re.compile(r"([0-9]+(?:\.[0-9]+)?) 分")


def _verb(entry: Entry) -> str:
    if entry.kind in ("module", "notice") or (entry.kind == "certificate" and entry.passed):
        return "completed"
    if entry.kind == "session":
        return "experienced"
    if entry.passed is None:
        return "attempted"
    return "passed" if entry.passed else "failed"


def statement(base: str, emp_no: str, name: str, entry: Entry) -> dict:
    """One xAPI statement for one archive entry."""
    verb = _verb(entry)
    timestamp = entry.at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    data = {
        "id": str(uuid.uuid5(NAMESPACE, f"{emp_no}|{entry.ref}|{timestamp}|{verb}")),
        "actor": {"objectType": "Agent", "name": name, "account": {"homePage": base, "name": emp_no}},
        "verb": {"id": ADL + verb, "display": {"zh-CN": VERBS[verb], "en-US": verb}},
        "object": {"objectType": "Activity", "id": f"{base}/xapi/activities/{entry.ref}",
                   "definition": {"name": {"zh-CN": entry.title}, "description": {"zh-CN": KINDS[entry.kind]}}},
        "timestamp": timestamp,
    }
    result = {}
    if entry.passed is not None:
        result["success"] = entry.passed
    score = _SCORE.search(entry.result)
    if score and entry.kind in ("exam", "check", "scenario"):
        result["score"] = {"scaled": round(float(score.group(1)) / 100, 4), "raw": float(score.group(1)),
                           "min": 0, "max": 100}
    if result:
        data["result"] = result
    return data


def statements(base: str, people: Iterable[tuple[str, str, list[Entry]]]) -> list[dict]:
    """Statements for several people: (工号, 姓名, archive entries)."""
    base = base.rstrip("/")
    return [statement(base, emp_no, name, entry) for emp_no, name, entries in people for entry in entries
            if not (entry.kind == "certificate" and entry.passed is False)]

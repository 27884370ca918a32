"""The exam form (pure): an exam definition as a trainer fills it in, and the YAML it saves.

The form writes the same YAML the advanced editor takes (`to_yaml`), and that text is what is read,
checked and saved (`definitions.parse_exam`, one path for both); each problem found there comes
back beside the field whose line it names (`field_problems`). A *draft* keeps every field as typed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping

from .definitions import ExamSpec
from .question_form import WHOLE

NUMBERS = (  # (key, label, default)
    ("time_limit_minutes", "限时（分钟）", "30"),
    ("pass_mark", "及格分（百分制）", "80"),
    ("max_attempts", "最多可考次数（0为不限）", "3"),
    ("cooldown_minutes", "两次之间间隔（分钟）", "60"),
)
LABELS = {"title": "考试名称", "summary": "说明", "certification": "考试类型", "essays": "论述题",
          "draw": "抽题规则", **{key: label for key, label, _ in NUMBERS}}
MIN_ROWS, SPARE_ROWS, MAX_ROWS = 3, 2, 30
KINDS = {"practice": "练习考试（交卷后公布答案）", "certification": "上岗认证考试（只显示各类别得分）"}


@dataclass
class ExamDraft:
    """The exam form as typed: fields by name, draw rules in `rows` numbered rows (`d0-category`, `d0-count`)."""

    values: dict[str, str] = field(default_factory=dict)
    rows: int = MIN_ROWS

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def row(self, i: int, key: str) -> str:
        return self.values.get(f"d{i}-{key}", "")

    def filled(self) -> list[int]:
        return [i for i in range(self.rows) if self.row(i, "category").strip() or self.row(i, "count").strip()]


def _rows(filled: int) -> int:
    return min(MAX_ROWS, max(MIN_ROWS, filled + SPARE_ROWS))


def new_draft() -> ExamDraft:
    """A new exam's form, with the usual settings."""
    return ExamDraft({"kind": "practice", **{key: default for key, _, default in NUMBERS}}, MIN_ROWS)


def draft_from_spec(spec: ExamSpec) -> ExamDraft:
    """Fill the form from a saved exam."""
    values = {"title": spec.title, "summary": spec.summary, "kind": "certification" if spec.certification else "practice",
              "essays": "y" if spec.essays else "", "time_limit_minutes": str(spec.time_limit_minutes),
              "pass_mark": str(spec.pass_mark), "max_attempts": str(spec.max_attempts),
              "cooldown_minutes": str(spec.cooldown_minutes)}
    for i, rule in enumerate(spec.draw):
        values.update({f"d{i}-category": rule.category, f"d{i}-count": str(rule.count)})
    return ExamDraft(values, _rows(len(spec.draw)))


def draft_from_form(form: Mapping[str, str]) -> ExamDraft:
    """The form as posted, every field kept as typed."""
    keys = ("slug", "title", "summary", "kind", "essays", *(key for key, _, _ in NUMBERS))
    values = {key: str(form.get(key, "")) for key in keys if form.get(key) is not None}
    last = -1
    for key in form:
        if (m := re.fullmatch(r"d(\d{1,3})-(category|count)", key)) and int(m.group(1)) < MAX_ROWS:
            values[key] = str(form.get(key, ""))
            last = max(last, int(m.group(1)))
    draft = ExamDraft(values, 0)
    draft.rows = last + 1
    draft.rows = max(_rows(max((i + 1 for i in draft.filled()), default=0)), last + 1)
    return draft


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _integer(raw: str) -> str:
    """A number field as YAML: an integer as typed, else a quoted string that the parser refuses."""
    raw = raw.strip()
    return raw if re.fullmatch(r"[0-9]{1,7}", raw) else _quote(raw)


def to_yaml(draft: ExamDraft) -> tuple[str, dict[int, str]]:
    """The exam definition the form describes, as YAML; and which field each line came from."""
    lines: list[tuple[str, str]] = [
        (f"title: {_quote(draft.get('title').strip())}", "title"),
        (f"summary: {_quote(' '.join(draft.get('summary').split()))}", "summary"),
        (f"certification: {'true' if draft.get('kind') == 'certification' else 'false'}", "certification"),
    ]
    lines += [(f"{key}: {_integer(draft.get(key))}", key) for key, _, _ in NUMBERS]
    if draft.get("essays"):
        lines.append(("essays: true", "essays"))
    lines.append(("draw:", "draw"))
    for i in draft.filled():
        category, count = draft.row(i, "category").strip(), _integer(draft.row(i, "count"))
        lines.append((f"  - {{category: {_quote(category)}, count: {count}}}", f"d{i}-count"))
    return "\n".join(text for text, _ in lines) + "\n", {n: key for n, (_, key) in enumerate(lines, 1)}


def field_problems(problems: list[tuple[int | None, str]], fields: dict[int, str]) -> dict[str, list[str]]:
    """Each problem of the YAML beside the form field its line came from, in the form's words."""
    out: dict[str, list[str]] = {}
    for line, message in problems:
        key = fields.get(line or 0, WHOLE)
        if line is None and message.startswith(("考试文件名", "考试编号")):
            key, message = "slug", message.replace("考试文件名", "考试编号")
        for name, label in LABELS.items():
            message = message.replace(f"「{name}」", f"「{label}」")
        message = message.replace("「category」", "「类别」").replace("「count」", "「题数」")
        out.setdefault(key, []).append(message)
    return out

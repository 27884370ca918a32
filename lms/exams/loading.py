"""Read the question banks and exam definitions from `courses/` (pure).

Each course may have `questions.gift`; exams live in `courses/exams/<id>.yaml`. Problems carry
file and line, like the course loader's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..courses.loader import LoadError
from ..yamlx import YamlError, load
from .definitions import DrawRule, ExamError, ExamSpec, parse_exam, practice_overlaps
from .gift import parse_gift
from .questions import QuestionSpec

BANK_FILE = "questions.gift"


@dataclass
class ExamContent:
    banks: dict[str, list[QuestionSpec]] = field(default_factory=dict)  # course slug -> questions
    exams: list[tuple[ExamSpec, str]] = field(default_factory=list)  # (spec, yaml text)
    errors: list[LoadError] = field(default_factory=list)

    def certification_rules(self) -> list[DrawRule]:
        """The draw rules of every certification exam."""
        return [rule for spec, _ in self.exams if spec.certification for rule in spec.draw]

    def available(self) -> dict[str, dict[str, int]]:
        """Count the questions per category and type."""
        counts: dict[str, dict[str, int]] = {}
        for questions in self.banks.values():
            for q in questions:
                per = counts.setdefault(q.category, {})
                per[q.qtype] = per.get(q.qtype, 0) + 1
        return counts


def load_exam_content(root: Path, course_slugs: list[str]) -> ExamContent:
    """Read every course's bank and every exam definition under root."""
    content = ExamContent()
    for slug in course_slugs:
        path = root / slug / BANK_FILE
        if not path.is_file():
            continue
        rel = str(Path(root.name) / slug / BANK_FILE)
        text = path.read_text(encoding="utf-8")
        lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))  # as parse_gift numbers them
        result = parse_gift(text)
        content.errors += [LoadError(rel, e.line, e.message) for e in result.errors]
        seen: dict[str, int] = {}
        questions = []
        for q in result.questions:
            if not lines[q.line - 1].lstrip().startswith("::"):
                content.errors.append(LoadError(rel, q.line, "题库文件中的每道题都要以「::名称::」开头：名称是题目的固定标识，"
                                                             "同步、网页编辑和导出都靠它找到这道题"))
                continue
            if len(q.name) > 200 or len(q.category) > 200:
                content.errors.append(LoadError(rel, q.line, "题目名称或类别太长（最多200字）"))
                continue
            if q.name in seen:
                content.errors.append(LoadError(rel, q.line, f"题目名称「{q.name}」重复（另见第{seen[q.name]}行）"))
                continue
            seen[q.name] = q.line
            if not q.category:
                q = QuestionSpec(**{**q.__dict__, "category": slug})
            questions.append(q)
        content.banks[slug] = questions
    available = content.available()
    exams_dir = root / "exams"
    for path in sorted(exams_dir.glob("*.yaml")) if exams_dir.is_dir() else []:
        rel = str(Path(root.name) / "exams" / path.name)
        text = path.read_text(encoding="utf-8")
        try:
            content.exams.append((parse_exam(load(text), path.stem, available), text))
        except YamlError as exc:
            content.errors.append(LoadError(rel, exc.line, str(exc)))
        except ExamError as exc:
            content.errors += [LoadError(rel, line, message) for line, message in exc.problems]
    _check_pools(content, Path(root.name) / "exams")
    return content


def _check_pools(content: ExamContent, exams_rel: Path) -> None:
    """A practice exam must not be able to draw what a certification exam draws (it shows its answers)."""
    rules = content.certification_rules()
    categories = content.available().keys()
    for spec, _ in content.exams:
        for rule, bad in practice_overlaps(spec, categories, rules):
            shown = "、".join(f"「{c}」" for c in bad[:3]) + (f"等{len(bad)}个类别" if len(bad) > 3 else "")
            content.errors.append(LoadError(str(exams_rel / f"{spec.id}.yaml"), rule.line,
                                            f"练习考试的抽题规则「{rule.category}」会抽到上岗认证考试的题目（{shown}），"
                                            "练习交卷后会公布答案；请改为只抽练习题的类别，如「etiquette/仪容/练习」"))

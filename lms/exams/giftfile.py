"""Write questions back into a course's GIFT file (pure), keeping everything else in it.

`lms export` must not rewrite a bank file from the database: the file holds what the database does
not (the `// source:` comments citing the rulebook, the order, blank lines). So a question found in
the file by its `::name::` is replaced where it stands, as long as its `$CATEGORY` there is still its
category; any other question (new, or moved to another category) is appended at the end under its
own `$CATEGORY` line, and an old copy elsewhere in the file is removed.
"""

from __future__ import annotations

import re
from typing import Iterable

from .gift import category_path, parse_gift, question_to_gift
from .questions import QuestionSpec

_CATEGORY_LINE = re.compile(r"^\s*\$CATEGORY:(.*)$")


def _last_category(lines: list[str]) -> str:
    """The $CATEGORY in force after these lines."""
    for line in reversed(lines):
        if m := _CATEGORY_LINE.match(line):
            return category_path(m.group(1))
    return ""


def merge_questions(file_text: str, questions: Iterable[QuestionSpec]) -> str:
    """Return the file's text with these questions written in (by name; see the module docstring)."""
    lines = file_text.split("\n") if file_text else []
    where = {q.name: q for q in parse_gift(file_text).questions} if file_text else {}
    replace_at: dict[int, tuple[int, str]] = {}  # first line -> (last line, new text)
    appended: list[QuestionSpec] = []
    for spec in questions:
        old = where.get(spec.name)
        if old is not None and old.category == spec.category and old.end_line:
            replace_at[old.line] = (old.end_line, question_to_gift(spec))
            continue
        if old is not None and old.end_line:
            replace_at[old.line] = (old.end_line, None)  # moved to another category: taken out here
        appended.append(spec)
    out: list[str] = []
    number = 1
    while number <= len(lines):
        if number in replace_at:
            last, text = replace_at[number]
            if text is not None:
                out.append(text)
            number = last + 1
            continue
        out.append(lines[number - 1])
        number += 1
    body = "\n".join(out).rstrip("\n")
    if appended:
        tail_category = _last_category(out)
        chunks = []
        for spec in appended:
            if spec.category != tail_category:
                chunks.append(f"$CATEGORY: {spec.category}")
                tail_category = spec.category
            chunks.append(question_to_gift(spec))
        body = (body + "\n\n" if body else "") + "\n\n".join(chunks)
    return body + "\n"

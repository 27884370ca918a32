"""Adding one entry to the phrasebook's YAML text: only that entry changes, comments and layout stay."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from lms.roleplay.phrasebook_load import parse
from lms.roleplay.phrasebook_edit import Target, add_entry, entries

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "simulations" / "phrasebook.yaml").read_text(encoding="utf-8")
MINI = (Path(__file__).parent / "data" / "mini_phrasebook.yaml").read_text(encoding="utf-8")


def _added_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return [d[2:] for d in diff if d.startswith("+ ")], [d[2:] for d in diff if d.startswith("- ")]


def _every_target(text: str) -> list[Target]:
    targets = []
    for cid, spec in yaml.safe_load(text)["categories"].items():
        if spec["kind"] == "must":
            targets += [Target(cid, "phrases"), Target(cid, "unless")]
        else:
            targets += [Target(cid, "unless", n) for n in range(len(spec["rules"]))]
    return targets


@pytest.mark.parametrize("source", [SHIPPED, MINI], ids=["shipped", "mini"])
def test_every_list_of_the_book_takes_one_entry_and_nothing_else_changes(source):
    targets = _every_target(source)
    assert len(targets) > 10
    for target in targets:
        for entry in ("您早", "a: b, c", "123"):  # plain, needs quoting, would read as a number
            new = add_entry(source, target, entry)
            assert entries(new, target) == entries(source, target) + [entry], target.key
            parse(new)  # still a valid phrasebook


def test_a_block_list_gets_a_line_in_its_own_layout_and_comments_stay():
    new = add_entry(SHIPPED, Target("greeting", "phrases"), "您早")
    added, removed = _added_lines(SHIPPED, new)
    assert added == ["      - 您早"] and removed == []
    assert new.count("#") == SHIPPED.count("#")
    # appended after the last phrase, before the category's next key and its comment
    assert new.index("      - 各位好\n      - 您早\n    unless:               # 您好 inside another word") > 0


def test_a_flow_list_that_spans_lines_gets_the_entry_before_its_bracket():
    target = Target("forbid_refuse", "unless", 1)  # 不知道。: a flow list over three lines
    new = add_entry(SHIPPED, target, "不知道呢您")
    added, removed = _added_lines(SHIPPED, new)
    assert len(added) == 1 and added[0].endswith("哪里不清楚, 有不清楚, 不清楚的, 不知道呢您]")
    assert len(removed) == 1 and removed[0].endswith("哪里不清楚, 有不清楚, 不清楚的]")


def test_a_missing_unless_is_created_at_the_indentation_of_its_mapping():
    start = SHIPPED.index("    unless:               # the word in another use, and sarcasm")
    without = SHIPPED[:start] + SHIPPED[SHIPPED.index("\n  # ---", start) + 1:]  # thanks with no unless
    new = add_entry(without, Target("thanks", "unless"), "谢谢你啊")
    added, _ = _added_lines(without, new)
    assert added == ["    unless: [谢谢你啊]"]
    assert "      - 麻烦您了\n    unless: [谢谢你啊]\n" in new
    rule = add_entry(SHIPPED, Target("forbid_refuse", "unless", 5), "你问我我问谁这话")
    assert "问我…问谁]\n        unless: [你问我我问谁这话]\n" in rule


def test_flow_mappings_take_a_new_key_before_the_brace():
    new = add_entry(MINI, Target("welcome", "unless"), "欢迎您再来")
    assert "welcome: {label: 欢迎语, kind: must, phrases: [欢迎光临, 欢迎您], unless: [欢迎您再来]}" in new


def test_refusals():
    with pytest.raises(ValueError):
        add_entry(SHIPPED, Target("greeting", "phrases"), "您好")  # already listed
    with pytest.raises(ValueError):
        add_entry(SHIPPED, Target("nosuch", "phrases"), "您早")
    with pytest.raises(ValueError):
        add_entry(SHIPPED, Target("forbid_refuse", "unless", 99), "您早")
    with pytest.raises(ValueError):
        add_entry(SHIPPED, Target("greeting", "phrases"), "两行\n文字")
    with pytest.raises(ValueError):
        Target("greeting", "phrases", 1)  # phrases belong to categories, not to rules
    assert Target.parse("unless:forbid_rush:2") == Target("forbid_rush", "unless", 2)
    assert Target.parse(Target("greeting", "phrases").key) == Target("greeting", "phrases")

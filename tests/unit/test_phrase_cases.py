"""The shipped phrasebook against a labelled table of real-looking replies.

Each case says which must-say categories a careful trainer hears in the reply and which
服务忌语 (rulebook wording) it contains. Cases the analyser is known to get wrong carry
`known_miss:` with the reason; they are expected failures (strict: fixing one fails the test
until the label is updated), and they are what the closing note reports as still wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lms.roleplay.validate import parse_phrasebook

pytestmark = pytest.mark.no_db
ROOT = Path(__file__).resolve().parents[2]
BOOK = parse_phrasebook((ROOT / "simulations" / "phrasebook.yaml").read_text(encoding="utf-8"))
CASES = yaml.safe_load((Path(__file__).parent / "phrase_cases.yaml").read_text(encoding="utf-8"))
BLIND = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind.yaml").read_text(encoding="utf-8"))
# The second blind table labels forbidden phrases with the seed's own text (traditional characters,
# pinyin glosses, two items garbled in the seed); its labels are kept as written and mapped here.
BLIND2 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v2.yaml").read_text(encoding="utf-8"))
# The third to sixth and the eighth, each held out until measured once (see their headers; the eighth is
# the latest held-out figure), and two development tables written blind to tune on (v6_dev, v7_dev).
BLIND3 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v3.yaml").read_text(encoding="utf-8"))
BLIND4 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v4.yaml").read_text(encoding="utf-8"))
BLIND5 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v5.yaml").read_text(encoding="utf-8"))
BLIND6 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v6.yaml").read_text(encoding="utf-8"))
BLIND8 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v8.yaml").read_text(encoding="utf-8"))
DEV6 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v6_dev.yaml").read_text(encoding="utf-8"))
DEV7 = yaml.safe_load((Path(__file__).parent / "phrase_cases_blind_v7_dev.yaml").read_text(encoding="utf-8"))
TABLES = {"main": CASES, "blind": BLIND, "blind2": BLIND2, "blind3": BLIND3, "blind4": BLIND4, "blind5": BLIND5,
          "blind6": BLIND6, "blind8": BLIND8, "dev6": DEV6, "dev7": DEV7}
_SEED_GARBLED = {"??煜掳嗔?,明天再來。": "快下班了，明天再来。"}  # item 14 as the seed prints it


def seed_label(label: str) -> str:
    """The phrasebook's wording of a 服务忌语 written as in the seed file."""
    from opencc import OpenCC

    def key(text: str) -> str:
        return re.sub(r"[\W_]", "", text)

    label = re.sub(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", "", _SEED_GARBLED.get(label, label))
    wanted = key(OpenCC("tw2s").convert(label))
    exact = [r.phrase for r in BOOK.rules if key(r.phrase) == wanted]
    matches = exact or [r.phrase for r in BOOK.rules if key(r.phrase).startswith(wanted)]
    assert len(matches) == 1, label  # item 13 lost its last character in the seed: a prefix is enough
    return matches[0]


def expected(case) -> tuple[set[str], set[str]]:
    labels = case["forbidden"]
    return set(case["categories"]), {seed_label(f) for f in labels} if case.get("seed_labels") else set(labels)


def outcome(case) -> tuple[set[str], set[str]]:
    analysis = BOOK.analyze(case["reply"])
    return set(analysis.categories), {f.phrase for f in analysis.forbidden}


def _params():
    for table, cases in TABLES.items():
        for i, case in enumerate(cases):
            marks = [pytest.mark.xfail(strict=True, reason=case["known_miss"])] if case.get("known_miss") else []
            yield pytest.param(case, id=f"{table}-{i:03d}-{case['kind']}", marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_labelled_reply(case):
    assert outcome(case) == expected(case), case["reply"]


def test_table_is_big_and_varied_enough():
    kinds = [c["kind"] for c in CASES]
    assert len(CASES) >= 80
    assert kinds.count("standard") >= 20 and kinds.count("forbidden") >= 20 and kinds.count("tricky") >= 30
    rules = {r.phrase for r in BOOK.rules}
    said = {p for c in CASES for p in c["forbidden"]}
    assert rules <= said, f"服务忌语 without a labelled case: {rules - said}"


# Every table is a strict test, case by case (test_labelled_reply; a known miss is an expected failure
# with its reason). The held-out figures, each measured once before anyone tuned on the table:
#   blind3: 87.6 %; blind4: 91.1 %; blind5: 164/194 = 84.5 %, one polite reply flagged (2026-12-02);
#   dev6 (first run after word groups, 2026-12-03): 197/220 = 89.5 %, one flagged;
#   dev7 (first run after tuning on dev6): 226/249 = 90.8 %, two flagged;
#   blind6 (first run after tuning on dev7): 196/200 = 98.0 %, one flagged — then fixed in general;
#   blind8 (first run after that, by another writer): 215/220 = 97.7 %, none flagged — then fixed.
HELD_OUT_TARGET = 0.97


@pytest.mark.parametrize("table", ["blind6", "blind8"])
def test_the_held_out_tables_meet_the_target(table):
    cases = TABLES[table]
    right = sum(outcome(c) == expected(c) for c in cases)
    print(f"phrase analyser accuracy on {table}: {right}/{len(cases)}")
    assert len(cases) >= 150 and right / len(cases) >= HELD_OUT_TARGET


@pytest.mark.parametrize("table", list(TABLES))
def test_no_polite_reply_is_flagged(table):
    flagged = [c["reply"] for c in TABLES[table]
               if not expected(c)[1] and outcome(c)[1] and not c.get("known_miss")]  # known: test_labelled_reply
    assert flagged == []


def test_every_rulebook_forbidden_phrase_is_in_the_phrasebook():
    module = (ROOT / "courses" / "communication" / "04-forbidden-phrases.md").read_text(encoding="utf-8")
    listed = {line.strip()[3:-1] for line in module.splitlines() if line.strip().startswith("- 「")}
    assert len(listed) == 31
    assert listed == {r.phrase for r in BOOK.rules}

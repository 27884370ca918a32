"""Phrasebook suggestions: learners' real replies grouped, a proposal previewed, saved as a new version or refused."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.roleplay.models import Phrasebook, PhrasebookVersion, Run, Scenario
from lms.roleplay.service import current_phrasebook_version, start_run, take_turn
from tests.conftest import login, post

# long-wait's first node expects a greeting, an apology and an inquiry.
MISSED = "您早，让您久等了，请问您办理什么业务？"  # 您早 is a greeting the phrasebook does not know
MISSED_AGAIN = "您早！让您久等了。请问您办理什么业务"  # the same reply, other punctuation: one group
EARLY = "对不起让您久等了，您早点来就好了，请问办什么业务？"  # also misses the greeting; 您早 in another sense
GOOD = "您好，对不起让您久等了，请问您办理什么业务？"
FLAGGED = "您好，让您久等了，您放心，我搞不定的事还没遇到过，请问您办什么业务？"  # a boast, read as 我解决不了
RULE_解决不了 = "unless:forbid_refuse:4"


def _play(app, user_id: int, slug: str, reply: str = "", mode: str = "text", option: str | None = None) -> None:
    """One turn, through the same service the role-play page uses (committed)."""
    with app.app_context():
        scenario = db.session.scalar(select(Scenario).where(Scenario.slug == slug))
        run = start_run(user_id, scenario, mode)
        assert take_turn(run, 1, reply, option_id=option)
        db.session.commit()


@pytest.fixture
def replies(app, world, factory):
    """Real turns: two learners, one reply four times in two wordings and two scenarios; a test-play and a
    picked option that must not count."""
    other = factory.person("staff", world["store_a"], "综合受理")
    staff = world["staff_a"].id
    _play(app, staff, "long-wait", MISSED)
    _play(app, other.id, "long-wait", MISSED)
    _play(app, other.id, "long-wait", MISSED_AGAIN)
    _play(app, staff, "no-id", MISSED)  # another scenario
    _play(app, staff, "long-wait", EARLY)
    _play(app, staff, "long-wait", GOOD)
    _play(app, other.id, "long-wait", GOOD)
    _play(app, staff, "long-wait", FLAGGED)
    _play(app, world["trainer"].id, "long-wait", "您早上好，测试一下", mode="test")  # a trainer's test-play
    _play(app, staff, "long-wait", mode="beginner", option="half")  # picked, not typed: misses the apology
    return world


@pytest.fixture
def trainer(app, replies):
    client = app.test_client()
    login(client, replies["trainer"])
    return client


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def _count(row: str) -> int:
    return int(re.search(r"<td>(\d+)</td>", row).group(1))


def _versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PhrasebookVersion))


def test_groups_by_normalised_text_most_frequent_first(trainer):
    page = trainer.get("/author/phrasebook/suggestions").get_data(as_text=True)
    rows = _rows(page)
    assert [_count(r) for r in rows] == [4, 1, 1]  # MISSED ×4 (two wordings, two scenarios), then EARLY and FLAGGED
    top = rows[0]
    assert "您早让您久等了请问您办理什么业务" in top  # the normalised text
    assert "久等客户的接待" in top and "×3" in top  # long-wait three times, no-id once
    assert "缺少：" in top and "问候语" in top
    assert "您好，对不起让您久等了" not in page  # a good reply is not listed
    assert "您早上好，测试一下" not in page  # nor a trainer's test-play
    assert "您好，请问您办理什么业务？" not in page  # nor an option a learner picked
    flagged = next(r for r in rows if "我搞不定的事" in r)
    assert "忌语：" in flagged and "「我解决不了。」" in flagged and '<mark class="forbidden"' in flagged
    assert "&amp;target=unless:forbid_refuse:4\"" in flagged  # proposes an exception to that rule


def test_filters_by_kind_and_scenario(trainer):
    flagged = _rows(trainer.get("/author/phrasebook/suggestions?kind=flagged").get_data(as_text=True))
    assert len(flagged) == 1 and "我搞不定的事" in flagged[0]
    missed = _rows(trainer.get("/author/phrasebook/suggestions?kind=missed").get_data(as_text=True))
    assert [_count(r) for r in missed] == [4, 1]
    no_id = _rows(trainer.get("/author/phrasebook/suggestions?scenario=no-id").get_data(as_text=True))
    assert [_count(r) for r in no_id] == [1]


def _preview(client, target: str, entry: str, reply: str = MISSED) -> str:
    query = urlencode({"reply": reply, "entry": entry, "target": target, "preview": "1"})
    response = client.get(f"/author/phrasebook/suggestions/propose?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_preview_lists_exactly_the_replies_that_change_and_writes_nothing(app, trainer):
    before = _versions(app)
    page = _preview(trainer, "phrases:greeting", "您早")
    changes = _rows(page.split("预览", 1)[1])
    assert len(changes) == 2
    assert _count(changes[0]) == 4 and MISSED in changes[0] and "+ 问候语" in changes[0]
    assert _count(changes[1]) == 1 and EARLY in changes[1] and "+ 问候语" in changes[1]  # the trainer sees 您早点
    assert GOOD not in page and FLAGGED not in page
    assert "共5种不同说法，其中<strong>2</strong>种" in page
    assert _versions(app) == before
    exception = _preview(trainer, RULE_解决不了, "我搞不定的事", reply=FLAGGED)
    rows = _rows(exception.split("预览", 1)[1])
    assert len(rows) == 1 and FLAGGED in rows[0] and "− 忌语「我解决不了。」（我搞不定）" in rows[0]
    assert _versions(app) == before


def test_save_makes_a_new_version_with_the_entry_and_keeps_the_comments(app, trainer, replies):
    with app.app_context():
        old = current_phrasebook_version()
        old_version, old_text = old.version, old.yaml_text
    page = _preview(trainer, "phrases:greeting", "您早")
    base = re.search(r'name="base" value="(\d+)"', page).group(1)
    response = post(trainer, "/author/phrasebook/suggestions/save",
                    {"reply": MISSED, "entry": "您早", "target": "phrases:greeting", "base": base},
                    page="/author/phrasebook/suggestions")
    assert response.status_code == 302
    with app.app_context():
        new = current_phrasebook_version()
        assert new.version == old_version + 1 and new.origin == "browser"
        assert new.created_by == replies["trainer"].id
        assert db.session.get(Phrasebook, 1).dirty  # waits for `lms export`
        lines = new.yaml_text.splitlines()
        assert lines.count("      - 您早") == 1 and len(lines) == len(old_text.splitlines()) + 1
        assert [line for line in lines if line != "      - 您早"] == old_text.splitlines()  # every comment kept
    listed = trainer.get("/author/phrasebook/suggestions").get_data(as_text=True)
    assert "已保存为短语库第" in listed
    assert [_count(r) for r in _rows(listed)] == [1]  # 您早 now greets; only the flagged reply is left
    # the learners' runs keep the phrasebook version they were scored with
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Run).where(Run.phrasebook_version_id != old.id)) == 0


def test_a_save_that_would_break_a_node_test_shows_the_problems_and_saves_nothing(app, trainer):
    before = _versions(app)
    response = post(trainer, "/author/phrasebook/suggestions/save",
                    {"reply": GOOD, "entry": "您好", "target": "unless:greeting", "base": str(_current(app))},
                    page="/author/phrasebook/suggestions")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "没有保存" in page and "情景「久等客户的接待」第" in page  # which scenario's node tests would fail, and why
    assert _versions(app) == before


def test_a_stale_preview_or_a_duplicate_is_refused(app, trainer):
    before = _versions(app)
    stale = post(trainer, "/author/phrasebook/suggestions/save",
                 {"reply": MISSED, "entry": "您早", "target": "phrases:greeting", "base": str(_current(app) - 1)},
                 page="/author/phrasebook/suggestions")
    assert stale.status_code == 409 and "请重新预览" in stale.get_data(as_text=True)
    duplicate = _preview(trainer, "phrases:greeting", "您好")
    assert "已在这一类里" in duplicate
    assert _versions(app) == before


def _current(app) -> int:
    with app.app_context():
        return current_phrasebook_version().version


def test_authoring_index_links_to_the_suggestions(trainer):
    assert "/author/phrasebook/suggestions" in trainer.get("/author/").get_data(as_text=True)

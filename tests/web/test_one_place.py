"""One rule, one place: the areas form one stack (events instead of imports upward), a request is
one transaction that a refusal never commits, looking at a page changes nothing, and every
download is written by one module that keeps spreadsheet formulas out."""

from __future__ import annotations

import ast
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms import events
from lms.accounts.models import User
from lms.audit import AuditEvent
from lms.errors import DomainError
from lms.exams.models import Attempt
from lms.extensions import db
from lms.roleplay.models import Run
from tests.conftest import login, post

LMS = Path(__file__).resolve().parents[2] / "lms"
# Lower areas never import higher ones; a higher area hears from a lower one through lms/events.py.
STACK = ["accounts", "courses", "roleplay", "exams", "notices", "certification"]


def _imports(path: Path) -> set[str]:
    """The lms areas a file imports (function-local imports included)."""
    rel = path.relative_to(LMS).with_suffix("").parts
    package = list(rel[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            parts = base + (node.module.split(".") if node.module else [a.name for a in node.names][:1])
            if parts:
                found.add(parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lms."):
            found.add(node.module.split(".")[1])
    return found


def test_the_areas_form_one_stack():
    upward = []
    for area in STACK:
        for path in (LMS / area).rglob("*.py"):
            for other in _imports(path) & set(STACK):
                if STACK.index(other) > STACK.index(area):
                    upward.append(f"{path.relative_to(LMS)} imports {other}")
    assert upward == []
    for core in ("catalog.py", "events.py", "errors.py", "versioning.py", "exports.py", "urls.py"):
        assert not _imports(LMS / core) & set(STACK), core  # shared pieces import no area


def test_the_areas_above_are_subscribed():
    def receivers(signal) -> set[str]:
        return {getattr(r, "__module__", "") for r in signal.receivers_for(None)}

    assert "lms.notices.subscribers" in receivers(events.person_changed)
    assert "lms.certification.subscribers" in receivers(events.module_completed)
    assert {"lms.notices.subscribers", "lms.certification.subscribers"} <= receivers(events.attempt_passed)
    assert "lms.certification.subscribers" in receivers(events.run_finished)
    assert "lms.notices.subscribers" in receivers(events.start_requested)
    assert "lms.notices.subscribers" in receivers(events.landing_requested)
    assert "lms.certification.subscribers" in receivers(events.attempts_counted_from)
    assert "lms.certification.subscribers" in receivers(events.reminders_requested)
    assert "lms.certification.subscribers" in receivers(events.reminder_stale)


def test_a_get_that_tries_to_write_is_refused(app, world):
    with app.test_request_context("/", method="GET"):
        db.session.get(User, world["staff_a"].id).name = "改名"
        with pytest.raises(RuntimeError, match="GET .* tried to change data"):
            db.session.flush()
        db.session.rollback()


def test_a_refusal_commits_nothing_even_when_the_view_shows_it_itself(app, client, world, monkeypatch):
    """The answer-save view catches a refusal to show it; what the service wrote before refusing is gone."""
    import lms.exams.routes as routes
    from lms import audit

    def half_done(attempt, position, answer):
        audit.record("half.done", actor_id=attempt.user_id, object_type="attempt", object_id=attempt.id)
        db.session.flush()
        raise DomainError("这道题现在不能保存。")

    login(client, world["staff_a"])
    attempt_id = _start_practice(client)
    monkeypatch.setattr(routes, "save_answer", half_done)
    page = f"/attempts/{attempt_id}/1"
    response = post(client, page, {"answer": "x", "go": "next"}, page=page)
    assert response.status_code == 302
    assert "这道题现在不能保存" in client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.verb == "half.done")) == 0


def _start_practice(client) -> int:
    response = post(client, "/exams/practice-basics/start", page="/exams/practice-basics")
    return int(response.headers["Location"].split("/")[2])


def test_an_attempt_whose_time_is_up_is_handed_in_by_a_post_not_by_looking(app, client, world, frozen):
    start = frozen(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    login(client, world["staff_a"])
    attempt_id = _start_practice(client)
    frozen(start + timedelta(hours=3))  # far past the time limit
    for url in ("/exams/practice-basics", f"/attempts/{attempt_id}/1", f"/attempts/{attempt_id}"):
        client.get(url, follow_redirects=True)
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "open"  # looking changed nothing
    page = client.get(f"/attempts/{attempt_id}/1", follow_redirects=True).get_data(as_text=True)
    assert "考试时间已到" in page and "交卷并查看成绩" in page
    response = post(client, f"/attempts/{attempt_id}/submit", page=f"/attempts/{attempt_id}")
    assert response.headers["Location"].endswith(f"/attempts/{attempt_id}/result")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "submitted" and attempt.auto_submitted


def test_the_phone_drill_clock_starts_when_the_learner_presses_start(app, client, world, frozen):
    at = frozen(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    world_person = world["staff_a"]
    login(client, world_person)
    started = post(client, "/practice/phone-call/start", {"mode": "text"}, page="/practice/phone-call")
    run_id = int(started.headers["Location"].rsplit("/", 1)[1])
    frozen(at + timedelta(seconds=40))  # reading the intro takes its time: the phone is not ringing yet
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "开始（电话响起）" in page and 'name="reply"' not in page
    post(client, f"/runs/{run_id}/timer", page=f"/runs/{run_id}")
    frozen(at + timedelta(seconds=45))
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "电话铃响了" in page and 'name="reply"' in page
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(f"/runs/{run_id}/turns", data={"csrf_token": token, "seq": "1",
                                               "reply": "您好，人民路电信营业厅，请问有什么可以帮到您？"})
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert run.turns[0].elapsed == pytest.approx(5.0) and run.node == "listen"  # 5 s, not 45 s


@pytest.mark.parametrize("cadence, seconds, late", [
    ([1.0, 4.0], 14.0, False), ([1.0, 4.0], 16.0, True),  # China's ring: the fourth begins at 15 s
    ([2.0, 4.0], 16.0, False), ([2.0, 4.0], 19.0, True),  # a slower ring: at 18 s
])
def test_three_rings_in_a_typed_phone_call_follow_the_ring_setting(app, client, world, frozen, cadence, seconds, late):
    """One rule (lms/rings.py): the run page counts rings at the setting's period, and the scenario's
    「rings > 3」 branch decides at the same moment as the phone drill."""
    app.config["RING_CADENCE"] = cadence
    try:
        at = frozen(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
        login(client, world["staff_a"])
        started = post(client, "/practice/phone-call/start", {"mode": "text"}, page="/practice/phone-call")
        run_id = int(started.headers["Location"].rsplit("/", 1)[1])
        post(client, f"/runs/{run_id}/timer", page=f"/runs/{run_id}")
        page = client.get(f"/runs/{run_id}").get_data(as_text=True)
        assert f'data-period="{sum(cadence)}"' in page
        frozen(at + timedelta(seconds=seconds))
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post(f"/runs/{run_id}/turns", data={"csrf_token": token, "seq": "1",
                                                   "reply": "您好，人民路电信营业厅，请问有什么可以帮到您？"})
        with app.app_context():
            assert db.session.get(Run, run_id).node == ("recover" if late else "listen")
    finally:
        app.config["RING_CADENCE"] = [1.0, 4.0]


def test_downloads_keep_formulas_out(app, client, world):
    """A name that starts like a formula stays text in the matrix XLSX and in the sign-in CSV."""
    from openpyxl import load_workbook

    from lms.notices.service import NoticeData, publish

    with app.app_context():
        person = db.session.get(User, world["staff_a"].id)
        person.name = "=HYPERLINK(\"http://x\",\"点我\")"
        notice, _ = publish(NoticeData("新业务：公式测试", "正文", None, None, [], [], None), world["trainer"].id)
        db.session.commit()
        notice_id = notice.id
    login(client, world["manager_a"])
    book = load_workbook(io.BytesIO(client.get(f"/store/{world['store_a']}/matrix.xlsx").data))
    cells = [c for row in book.active.iter_rows() for c in row if str(c.value or "").startswith("=HYPERLINK")]
    assert cells and all(c.data_type == "s" for c in cells)
    sheet = client.get(f"/notices/{notice_id}/signin.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in sheet and ",=HYPERLINK" not in sheet

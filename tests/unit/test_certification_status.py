"""Certification requirements and status (pure): `evaluate` over a person's facts, and issuance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lms.certification.status import (CertificateFacts, CourseItem, Examined, ExamItem, PersonFacts, Practised,
                                      Recertification, Rule, ScenarioItem, Studied, add_months, certificate_status,
                                      due_for_issue, due_for_renewal, ending, evaluate, reminders_due, renewal_period)

pytestmark = pytest.mark.no_db

T = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
RULE = Rule(7, courses=(CourseItem("etiquette", "服务礼仪", 1, 4),),
            scenarios=(ScenarioItem("long-wait", "久等客户的接待", 2, 70),), exam=ExamItem("final", "上岗考试", 3))
ALL_MET = PersonFacts(studied={1: Studied(4, T - timedelta(days=3))},
                      practised={2: Practised(True, ((80, T - timedelta(days=2)),))},
                      examined={3: Examined(90.0, T - timedelta(days=1))})


def _reqs(facts: PersonFacts, rule: Rule = RULE):
    return [(r.met, r.detail, r.started) for r in evaluate(rule, facts, T).requirements]


def test_nothing_done_is_not_started():
    evaluation = evaluate(RULE, PersonFacts(), T)
    assert _reqs(PersonFacts()) == [(False, "0/4章", False), (False, "未练", False), (False, "未考", False)]
    assert evaluation.status == "未开始" and not evaluation.all_met
    assert [r.label for r in evaluation.requirements] == ["课程：服务礼仪", "情景演练：久等客户的接待（≥70分）", "考试：上岗考试"]


def test_a_course_needs_every_current_module():
    assert _reqs(PersonFacts(studied={1: Studied(3, T)}))[0] == (False, "3/4章", True)
    course = evaluate(RULE, ALL_MET, T).requirements[0]
    assert (course.met, course.detail, course.met_at) == (True, "已学完", T - timedelta(days=3))
    empty = Rule(7, courses=(CourseItem("empty", "空课程", 9, 0),))  # a course without modules is never met
    assert evaluate(empty, PersonFacts(studied={9: Studied(0, None)}), T).requirements[0].met is False


def test_a_scenario_counts_from_the_rules_minimum_in_typing_mode():
    below = PersonFacts(practised={2: Practised(True, ((65, T),))})
    assert _reqs(below)[1] == (False, "未通过（最高65分）", True)
    choice_only = PersonFacts(practised={2: Practised(True, ())})  # runs in 新手模式 or failed: no typing-mode pass
    assert _reqs(choice_only)[1] == (False, "未通过", True)
    assert evaluate(RULE, choice_only, T).status == "进行中"
    # met when the minimum was last reached, not when a later, lower pass was made
    later_lower = PersonFacts(practised={2: Practised(True, ((65, T - timedelta(hours=1)), (75, T - timedelta(days=1))))})
    scenario = evaluate(RULE, later_lower, T).requirements[1]
    assert (scenario.met, scenario.detail, scenario.met_at) == (True, "通过（75分）", T - timedelta(days=1))
    lower_minimum = Rule(8, scenarios=(ScenarioItem("long-wait", "久等客户的接待", 2, 60),))
    assert evaluate(lower_minimum, below, T).requirements[0].met is True


def test_an_exam_failed_then_passed_is_met_when_passed():
    failed = PersonFacts(examined={3: Examined(40.0, None)})
    assert _reqs(failed)[2] == (False, "未通过（最高40分）", True)
    passed = PersonFacts(examined={3: Examined(85.0, T - timedelta(hours=2))})
    exam = evaluate(RULE, passed, T).requirements[2]
    assert (exam.met, exam.detail, exam.met_at) == (True, "通过", T - timedelta(hours=2))


def test_status_ladder():
    issued = T - timedelta(days=10)
    valid = CertificateFacts(issued, add_months(issued, 12))
    with_certificate = PersonFacts(certificates={7: valid})
    assert evaluate(RULE, with_certificate, T).status == "有效"  # the certificate decides, not today's progress
    assert evaluate(RULE, PersonFacts(certificates={7: valid}, suspended=True), T).status == "已暂停"
    assert evaluate(RULE, with_certificate, valid.expires_at - timedelta(days=29)).status == "即将到期"
    assert evaluate(RULE, with_certificate, valid.expires_at - timedelta(days=31)).status == "有效"
    assert evaluate(RULE, with_certificate, valid.expires_at).status == "已过期"
    revoked = CertificateFacts(issued, valid.expires_at, T - timedelta(days=1))
    assert evaluate(RULE, PersonFacts(certificates={7: revoked}, suspended=True), T).status == "已撤销"
    assert certificate_status(valid, valid.expires_at, suspended=True) == "已过期"
    assert evaluate(RULE, PersonFacts(certificates={99: valid}), T).status == "未开始"  # another certification's
    assert add_months(datetime(2026, 1, 31, tzinfo=timezone.utc), 1).day == 28


def test_issuance():
    assert due_for_issue(evaluate(RULE, ALL_MET, T), T)
    assert not due_for_issue(evaluate(RULE, PersonFacts(studied=ALL_MET.studied, practised=ALL_MET.practised), T), T)
    issued = T - timedelta(days=20)
    running = PersonFacts(**{**ALL_MET.__dict__, "certificates": {7: CertificateFacts(issued, add_months(issued, 12))}})
    assert not due_for_issue(evaluate(RULE, running, T), T)
    # after a revocation the exam must be passed again: a newer run is not enough
    revoked = CertificateFacts(issued, add_months(issued, 12), T - timedelta(hours=12))  # after the exam pass
    again = PersonFacts(**{**ALL_MET.__dict__, "certificates": {7: revoked},
                           "practised": {2: Practised(True, ((90, T - timedelta(hours=1)),))}})
    assert not due_for_issue(evaluate(RULE, again, T), T)
    passed_again = PersonFacts(**{**again.__dict__, "examined": {3: Examined(90.0, T - timedelta(hours=1))}})
    assert due_for_issue(evaluate(RULE, passed_again, T), T)
    # without an exam in the rule, any requirement met again will do
    no_exam = Rule(7, courses=RULE.courses, scenarios=RULE.scenarios)
    assert due_for_issue(evaluate(no_exam, again, T), T)
    assert not due_for_issue(evaluate(Rule(7), PersonFacts(), T), T)  # a rule without requirements issues nothing


# ---------------------------------------------------------------- recertification, endings, reminders

PATH_RULE = Rule(7, courses=RULE.courses, scenarios=RULE.scenarios, exam=RULE.exam,
                 recertification=Recertification(60, (ScenarioItem("long-wait", "久等客户的接待", 2, 70),),
                                                 ExamItem("final", "上岗考试", 3)))
ISSUED = T - timedelta(days=330)
RUNNING = CertificateFacts(ISSUED, add_months(ISSUED, 12), id=11, code="RUN")
OPENS = RUNNING.expires_at - timedelta(days=60)


def _renewal(practised_at, examined_at, now=T):
    facts = PersonFacts(studied=ALL_MET.studied, certificates={7: RUNNING},
                        practised={2: Practised(True, ((80, practised_at),))},
                        examined={3: Examined(90.0, examined_at)})
    return evaluate(PATH_RULE, facts, now)


def test_the_recertification_path_counts_only_inside_the_window():
    assert T > OPENS  # the window is open at T (about 35 days before expiry)
    inside = _renewal(OPENS + timedelta(days=1), OPENS + timedelta(days=2))
    assert [(r.kind, r.met) for r in inside.renewal] == [("scenario", True), ("exam", True)]
    assert inside.window_opens == OPENS and inside.window_open(T) and due_for_renewal(inside, T)
    before = _renewal(OPENS - timedelta(seconds=1), OPENS + timedelta(days=2))  # the run came just too early
    assert [r.met for r in before.renewal] == [False, True] and not due_for_renewal(before, T)
    assert before.renewal[0].detail == "续证期内未通过"
    assert before.status == "有效" and before.all_met  # the full path stays met; it does not renew a running one
    assert not due_for_issue(before, T)
    at_expiry = _renewal(OPENS + timedelta(days=1), OPENS + timedelta(days=2), now=RUNNING.expires_at)
    assert not at_expiry.window_open(RUNNING.expires_at) and not due_for_renewal(at_expiry, RUNNING.expires_at)
    revoked = PersonFacts(certificates={7: CertificateFacts(ISSUED, RUNNING.expires_at, T - timedelta(days=1))})
    assert evaluate(PATH_RULE, revoked, T).renewal == () and evaluate(PATH_RULE, revoked, T).window_opens is None
    assert evaluate(RULE, PersonFacts(certificates={7: RUNNING}), T).renewal == ()  # a rule without a path


def test_a_renewal_runs_from_the_old_expiry_date():
    assert renewal_period(RUNNING, 12) == (RUNNING.expires_at, add_months(RUNNING.expires_at, 12))


def test_how_a_certificate_ended():
    expires = RUNNING.expires_at
    assert ending(RUNNING, T) is None
    assert ending(RUNNING, expires) == ("已过期", expires)
    renewed = CertificateFacts(ISSUED, expires, renewed_at=T)
    assert ending(renewed, expires + timedelta(days=1)) == ("已续期", T)
    assert certificate_status(renewed, T) == "已续期" and certificate_status(renewed, T - timedelta(seconds=1)) == "有效"
    revoked = CertificateFacts(ISSUED, expires, T - timedelta(days=2), renewed_at=T)
    assert ending(revoked, T) == ("已撤销", T - timedelta(days=2))


@pytest.mark.parametrize("days_before, kinds", [
    (61, []), (60, ["cert-60d"]), (54, ["cert-60d"]), (53, []), (30, ["cert-30d", "cert-mgr-30d"]),
    (24, ["cert-30d", "cert-mgr-30d"]), (8, []), (7, ["cert-7d"]), (1, ["cert-7d"]),
    (0, ["cert-expired", "cert-mgr-expired"]), (-6, ["cert-expired", "cert-mgr-expired"]), (-7, []),
])
def test_reminders_due_the_latest_per_recipient_within_a_week(days_before, kinds):
    """Each reminder is due from its moment for a week (the outbox key keeps it to one), unless a later one came."""
    now = RUNNING.expires_at - timedelta(days=days_before)
    assert [r.kind for r in reminders_due(RUNNING, now)] == kinds


def test_a_sweep_that_was_down_sends_what_is_still_true():
    # 52 days before expiry with nothing sent: the 60-day reminder came 8 days ago, too long to send late
    assert reminders_due(RUNNING, RUNNING.expires_at - timedelta(days=52)) == ()
    assert reminders_due(CertificateFacts(ISSUED, RUNNING.expires_at, T), T) == ()  # revoked
    assert reminders_due(CertificateFacts(ISSUED, RUNNING.expires_at, renewed_at=T), T) == ()
    short = CertificateFacts(T, T + timedelta(days=20))  # issued 20 days before expiry: no 60- or 30-day news
    assert [r.kind for r in reminders_due(short, T)] == []
    assert [r.kind for r in reminders_due(short, T + timedelta(days=13))] == ["cert-7d"]

"""Learners' activity a trainer's home reports on, made through the same services the learner pages use
(committed): role-play runs played to an ending, exam attempts handed in, an essay waiting for a grade."""

from __future__ import annotations

import random

from sqlalchemy import select

from lms.extensions import db

BAD = "你问我，我问谁？不知道。"  # a 服务忌语 on every turn: a failed run
UNKNOWN_GREETING = "您早，让您久等了，请问您办理什么业务？"  # 您早 is a greeting the phrasebook does not know
HARD = "排队-熟人跳号"  # the exam question every learner gets wrong below
ESSAY = "时限-久等论述"


def play(user_id: int, slug: str, good: bool, first: str | None = None) -> None:
    """Play a scenario to an ending: the model answers (good) or a 服务忌语 (bad)."""
    from lms.roleplay.models import Scenario
    from lms.roleplay.service import run_scenario, start_run, take_turn

    run = start_run(user_id, db.session.scalar(select(Scenario).where(Scenario.slug == slug)), "text")
    for seq in range(1, 20):
        if run.status != "active":
            break
        node = run_scenario(run).nodes[run.node]
        if node.mode == "choice":
            take_turn(run, seq, option_id=node.options[0].id)
        else:
            reply = first if seq == 1 and first else (node.expect.model if good and node.expect.model else BAD)
            take_turn(run, seq, reply)
    assert run.status == "finished", (slug, run.node)


def _question(name: str) -> int:
    from lms.exams.models import Question

    return db.session.scalar(select(Question.id).where(Question.name == name))


def sit(user_id: int, exam_slug: str, names: list[str], wrong: set[str]) -> None:
    """Hand in an attempt of the exam over these questions: right answers except for `wrong`."""
    from lms.exams.grading import grade
    from lms.exams.models import Exam
    from lms.exams.service import create_attempt, save_answer, submit

    exam = db.session.scalar(select(Exam).where(Exam.slug == exam_slug))
    attempt = create_attempt(user_id, "exam", [_question(n) for n in names], random.Random(7), exam_id=exam.id,
                             exam_version=exam.version, pass_mark=60)
    for response in attempt.responses:
        spec = response.question_version.as_spec
        if spec.qtype == "truefalse":
            answer = (not spec.truth) if spec.name in wrong else spec.truth
        elif spec.qtype == "single":
            answer = next(i for i, c in enumerate(spec.choices) if (c.fraction == 1) != (spec.name in wrong))
        elif spec.qtype == "essay":
            answer = "先道歉，再说明办理时限。"
        else:
            raise AssertionError(f"no answer written for {spec.qtype}")
        save_answer(attempt, response, answer)
        assert spec.qtype == "essay" or (grade(spec, answer).fraction == 1) == (spec.name not in wrong)
    submit(attempt)


def make_activity(app, learners: list[int]) -> None:
    """Runs (half failed), exam attempts with one question everyone gets wrong, an essay waiting."""
    with app.app_context():
        for n, user_id in enumerate(learners):
            play(user_id, "long-wait", good=False, first=UNKNOWN_GREETING if n < 3 else None)
            play(user_id, "greeting-triage", good=n % 2 == 0)
            sit(user_id, "practice-basics", [HARD, "排队-引导窗口"], wrong={HARD})
        sit(learners[0], "practice-basics", [ESSAY], wrong=set())
        db.session.commit()

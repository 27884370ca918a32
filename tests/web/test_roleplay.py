"""Role-play in the browser: catalogue, a full run, double submit, reload, debrief, history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEvent
from lms.extensions import db
from lms.roleplay.models import Run, Scenario, Turn
from lms.roleplay.service import sync_simulations
from lms.roleplay.validate import ScenarioFile, Simulations, parse_phrasebook, parse_scenario_text
from tests.conftest import csrf_token, login, post

DATA = Path(__file__).resolve().parents[1] / "unit" / "data"


@pytest.fixture
def mini(app):
    """Load the engine-test phrasebook and scenario as the current content (rolled back after)."""
    book_text = (DATA / "mini_phrasebook.yaml").read_text(encoding="utf-8")
    text = (DATA / "mini_scenario.yaml").read_text(encoding="utf-8")
    sims = Simulations(book_text, parse_phrasebook(book_text),
                       [ScenarioFile("mini", "simulations/scenarios/mini.yaml", text, parse_scenario_text(text, "mini"))])
    with app.app_context():
        sync_simulations(sims)
        db.session.commit()
    return "mini"


def _start(client, slug="mini", mode="text") -> int:
    response = post(client, f"/practice/{slug}/start", {"mode": mode}, page=f"/practice/{slug}")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(re.search(r"/runs/(\d+)", response.headers["Location"]).group(1))


def _say(client, run_id: int, reply: str = "", option: str | None = None, seq: int | None = None):
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    if f"/runs/{run_id}/timer" in page:  # a timed node: the learner first presses 「开始」 and the clock starts
        client.post(f"/runs/{run_id}/timer", data={"csrf_token": token})
        page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    if seq is None:
        seq = int(re.search(r'name="seq"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="seq"', page).group(1) or 0)
    data = {"csrf_token": token, "seq": str(seq), "reply": reply}
    if option:
        data["option"] = option
    return client.post(f"/runs/{run_id}/turns", data=data)


def _turns(app, run_id) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Turn).where(Turn.run_id == run_id))


def test_catalogue_lists_and_filters(client, world):
    login(client, world["staff_a"])
    page = client.get("/practice?position=all").get_data(as_text=True)
    assert "情景演练" in page
    with client.application.app_context():
        titles = [s.title for s in db.session.scalars(select(Scenario).where(Scenario.active.is_(True)))]
    for title in titles:
        assert title in page
    filtered = client.get("/practice?position=all&category=投诉处理").get_data(as_text=True)
    filtered = filtered.split("<h2>其他情景</h2>", 1)[-1]  # below the 上岗证's own scenarios
    with client.application.app_context():
        others = [s.title for s in db.session.scalars(select(Scenario).where(Scenario.category != "投诉处理"))]
    assert all(t not in filtered for t in others)


def test_the_scenarios_of_my_certificate_come_first_and_no_filter_hides_them(client, world):
    """综合受理 holds the counter 上岗证: its four scenarios lead the list, whatever the filters say."""
    from lms.catalog import catalog

    login(client, world["staff_a"])
    with client.application.app_context():
        certification = catalog().certification_for("综合受理")
        required = {slug: db.session.scalar(select(Scenario.title).where(Scenario.slug == slug))
                    for slug in certification.scenarios}
    assert len(required) == 4 and all(required.values())
    for query in ("", "?position=库管&category=投诉处理", "?category=营销"):
        page = client.get(f"/practice{query}").get_data(as_text=True)
        head, _, rest = page.partition("<h2>其他情景</h2>")
        assert rest, "the list of other scenarios follows the certificate's"
        assert f"{certification.title}要求的情景" in head
        for slug, title in required.items():
            assert title in head and title not in rest, (query, title)
            assert f'href="/practice/{slug}"' in head
        assert head.count("上岗证要求</span>") == 4 and "得分不低于70分" in head


def test_full_run_to_a_good_ending_with_debrief(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client)
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "我的话费不对。" in page and "情绪" in page
    assert '<a href="/practice/mini">' in page  # the breadcrumb back to the scenario
    _say(client, run_id, "您好，对不起，给您添麻烦了，您慢慢说。")
    _say(client, run_id, "请问您是哪个月的话费？我帮您查询一下。")
    _say(client, run_id, "我们两个工作日内给您答复。")
    response = _say(client, run_id, "谢谢您，请慢走。")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/runs/{run_id}/debrief")
    debrief = client.get(f"/runs/{run_id}/debrief").get_data(as_text=True)
    assert "100分 · 通过 · 圆满解决" in debrief and 'href="/practice/mini">再练一次</a>' in debrief
    assert '<mark class="hit" title="问候语">您好</mark>' in debrief
    assert "依据：第三章 一、接受投诉阶段" in debrief and "四个阶段都做到了" in debrief
    assert "接受投诉 → 解释澄清 → 提出解决 → 跟踪总结" in debrief
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert run.status == "finished" and run.passed and run.scenario_version.version == 1
        passed = db.session.scalars(select(AuditEvent).where(
            AuditEvent.subject_id == world["staff_a"].id, AuditEvent.verb == "scenario.passed")).all()
        assert len(passed) == 1  # the archive's record names the scenario and the version played
        assert passed[0].object_id == run.scenario.slug and passed[0].data["version"] == 1
        assert passed[0].data["run"] == run_id and passed[0].data["score"] == 100
    history = client.get("/practice/history").get_data(as_text=True)
    assert "测试情景" in history and "100分" in history


def test_forbidden_phrase_ends_badly_and_is_highlighted(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client)
    _say(client, run_id, "有意见，告去。")
    debrief = client.get(f"/runs/{run_id}/debrief").get_data(as_text=True)
    assert "未通过" in debrief and "说了严重的服务忌语" in debrief
    assert '<mark class="forbidden" title="服务忌语：有意见，告去。">有意见，告去</mark>' in debrief
    assert "参考说法：您好，对不起给您添麻烦了，您慢慢说。" in debrief
    # the reply bubble keeps white space, so nothing may stand before the name (an empty line on a phone)
    assert '<div class="bubble clerk"><span class="who">我</span>' in debrief


def test_double_submit_records_one_turn(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client)
    first = _say(client, run_id, "您好，什么事？", seq=1)
    again = _say(client, run_id, "您好，什么事？", seq=1)
    assert first.status_code == 302 and again.status_code == 302
    assert _turns(app, run_id) == 1
    with app.app_context():
        assert db.session.get(Run, run_id).turn_count == 1


def test_reload_keeps_every_saved_turn(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client)
    _say(client, run_id, "您好，请问什么事？")
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)  # a reload, or a new tab
    assert "您好，请问什么事？" in re.sub(r"<[^>]+>", "", page)
    assert "本轮" in page and 'value="2"' in page


def test_bad_input_gets_a_clear_error_and_records_nothing(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client)
    empty = _say(client, run_id, "   ")
    assert empty.status_code == 422 and "请先输入您要对客户说的话" in empty.get_data(as_text=True)
    long = _say(client, run_id, "您好" * 5000)
    assert long.status_code == 422 and "回复太长" in long.get_data(as_text=True)
    junk = _say(client, run_id, "\x01\x02\x7f")
    assert junk.status_code == 422
    nul = _say(client, run_id, "您好\x00")
    assert nul.status_code == 400 and "无法处理的字符" in nul.get_data(as_text=True)
    assert _turns(app, run_id) == 0


def test_beginner_mode_picks_options(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client, mode="beginner")
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert 'name="option" value="good"' in page and "textarea" not in page
    _say(client, run_id, option="good")
    with app.app_context():
        turn = db.session.scalar(select(Turn).where(Turn.run_id == run_id))
        assert turn.option_id == "good" and turn.next_node == "explain"


def test_runs_are_private_but_visible_to_the_own_store_manager(app, world, mini):
    owner = app.test_client()
    login(owner, world["staff_a"])
    run_id = _start(owner)
    _say(owner, run_id, "有意见，告去。")
    other = app.test_client()
    login(other, world["staff_b"])
    assert other.get(f"/runs/{run_id}").status_code == 404
    assert other.get(f"/runs/{run_id}/debrief").status_code == 404
    manager_a, manager_b = app.test_client(), app.test_client()
    login(manager_a, world["manager_a"])
    login(manager_b, world["manager_b"])
    assert manager_a.get(f"/runs/{run_id}/debrief").status_code == 200
    assert manager_b.get(f"/runs/{run_id}/debrief").status_code == 404
    token = csrf_token(other, "/practice")
    assert other.post(f"/runs/{run_id}/turns", data={"csrf_token": token, "seq": "2", "reply": "x"}).status_code == 404


def test_a_run_keeps_its_scenario_version(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client)
    text = (DATA / "mini_scenario.yaml").read_text(encoding="utf-8").replace("我的话费不对。", "我的账单有问题。")
    book_text = (DATA / "mini_phrasebook.yaml").read_text(encoding="utf-8")
    with app.app_context():
        sync_simulations(Simulations(book_text, parse_phrasebook(book_text), [
            ScenarioFile("mini", "x", text, parse_scenario_text(text, "mini"))]))
        db.session.commit()
        assert db.session.scalar(select(Scenario).where(Scenario.slug == "mini")).version == 2
    assert "我的话费不对。" in client.get(f"/runs/{run_id}").get_data(as_text=True)
    new_run = _start(client)
    assert "我的账单有问题。" in client.get(f"/runs/{new_run}").get_data(as_text=True)
    assert client.get(f"/runs/{run_id}").status_code == 302  # the old run was abandoned by the new start


def test_shipped_content_passes_lms_check(app):
    result = app.test_cli_runner().invoke(args=["lms", "check"])
    assert result.exit_code == 0, result.output
    assert "检查通过" in result.output


def test_phrases_check_command_prints_json(app):
    import json

    result = app.test_cli_runner().invoke(args=["lms", "phrases", "check", "您好，歡迎光臨！", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) >= {"categories", "forbidden", "normalized"}
    assert "greeting" in data["categories"] and "welcome" in data["categories"]


def test_typed_runs_cannot_post_an_option(app, client, world, mini):
    login(client, world["staff_a"])
    run_id = _start(client, mode="text")
    response = _say(client, run_id, option="good")
    assert response.status_code == 422 and _turns(app, run_id) == 0


def test_a_wrong_choice_then_neglect_scores_zero_everywhere(app, client, world):
    """老年客户优先办理: the wrong first choice used to end the run as 「100 分 · 未通过」."""
    login(client, world["staff_a"])
    run_id = _start(client, "elderly-priority")
    _say(client, run_id, option="wait")
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "textarea" in page and "我站不住了" in page  # typing mode: the learner still gets to speak
    _say(client, run_id, "还没叫到您的号，您再等一会儿。")
    debrief = client.get(f"/runs/{run_id}/debrief").get_data(as_text=True)
    assert "0分 · 未通过 · 未能解决" in debrief and "100分" not in debrief
    assert "本轮0分" in debrief and "演练以失败结局结束" in debrief
    history = client.get("/practice/history").get_data(as_text=True)
    assert "老年客户优先办理" in history and "100 分" not in history
    trainer = app.test_client()
    login(trainer, world["trainer"])
    row = re.search(r"老年客户优先办理.*?</tr>", trainer.get("/store/analytics").get_data(as_text=True), re.S).group(0)
    assert "100.0" not in row and re.search(r">0(\.0)?<", row), row
    assert re.search(r"[\u4e00-\u9fff]语 ×1", row), row  # what was missing, by the phrasebook's own names
    assert not re.search(r"welcome|greeting|farewell|inquiry|apology|thanks", row), row


def test_a_failing_ending_after_good_turns_shows_below_the_pass_mark(app, client, world):
    login(client, world["staff_a"])
    run_id = _start(client, "elderly-priority")
    _say(client, run_id, option="priority")
    _say(client, run_id, "对不起，各位请稍候，这位大爷年纪大了，腿脚不方便，请允许我先给这位办理，谢谢大家的理解。")
    _say(client, run_id, "大爷您好！谢谢您，纸条我收到了。我帮您查好了，这个号码欠了58元话费，交上就能正常打电话了。")
    _say(client, run_id, "对不起，大爷，是我说快了。您这个月要交五十八块钱，五十八块。")
    _say(client, run_id, "谢谢大爷。收您100元，找您42元，请您点一下，收好。")
    _say(client, run_id, "只知道用电话，就不知道交电话费。")
    debrief = client.get(f"/runs/{run_id}/debrief").get_data(as_text=True)
    assert "69分 · 未通过 · 未能解决" in debrief
    assert re.search(r"各轮得分合计\d+分，但演练未通过，按69分计（及格线70分）", debrief)
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert run.score == 69 and not run.passed


def test_starting_again_abandons_the_earlier_run_also_as_the_session_holds_it(app, world, mini):
    """A second start (a double tap) abandons the first run: in the database, and on the run object
    the same transaction still holds (the insert and the update bypass the unit of work)."""
    from lms.roleplay.service import start_run

    with app.app_context():
        scenario = db.session.scalar(select(Scenario).where(Scenario.slug == "mini"))
        first = start_run(world["staff_a"].id, scenario, "text")
        second = start_run(world["staff_a"].id, scenario, "beginner")
        assert (first.status, second.status, second.mode) == ("abandoned", "active", "beginner")
        assert second.scenario is scenario and second.node == first.node and second.turn_count == 0
        db.session.commit()
        statuses = dict(db.session.execute(select(Run.id, Run.status).where(Run.id.in_([first.id, second.id]))).all())
        assert statuses == {first.id: "abandoned", second.id: "active"}

"""The scenario editor: map by titles, node and scenario forms over a draft, live checks placed by field,
rename/delete/move, templates, drafts that survive, publishing, and test-play of a draft."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEvent
from lms.authoring import scenario_doc as sd
from lms.authoring.drafts import TEMPLATES, template_text
from lms.authoring.graph import layout
from lms.authoring.scenario_forms import problems_of
from lms.extensions import db
from lms.roleplay.models import Run, Scenario, ScenarioDraft, ScenarioVersion
from lms.roleplay.service import current_phrasebook_version, current_version, phrasebook_of
from tests.conftest import csrf_token, login, post

SLUG = "long-wait"
EDITOR = f"/author/scenarios/{SLUG}"


@pytest.fixture
def trainer(app, world):
    client = app.test_client()
    login(client, world["trainer"])
    return client


class FormFields(HTMLParser):
    """What a browser would submit from one form of a page (checked boxes, selected options, text)."""

    def __init__(self, form_id: str | None = None, action: str | None = None):
        super().__init__(convert_charrefs=True)
        self.form_id, self.action = form_id, action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = (self.form_id and a.get("id") == self.form_id) or (self.action and a.get("action") == self.action)
            return
        if not self.inside:
            return
        if tag == "input" and a.get("name") and "disabled" not in a:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = next((v for v, s in self._options if s), self._options[0][0] if self._options else "")
            self.fields.append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text[1:] if self._text.startswith("\n") else self._text))
            self._textarea = None


def form_of(html: str, form_id: str | None = None, action: str | None = None) -> dict[str, list[str]]:
    parser = FormFields(form_id, action)
    parser.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in parser.fields:
        fields.setdefault(name, []).append(value)
    return fields


def submit(client, url: str, fields: dict[str, list[str]]):
    return client.post(url, data=fields)


def node_form(client, slug: str, node: str) -> dict[str, list[str]]:
    html = client.get(f"/author/scenarios/{slug}/nodes/{node}").get_data(as_text=True)
    return form_of(html, form_id="node-form")


def row_of(fields: dict, kind: str, field: str, value: str) -> int:
    """The row number of the first existing list item whose field has this value."""
    for name, values in fields.items():
        m = re.match(rf"^{kind}-(\d+)-{field}$", name)
        if m and values[0] == value and fields[f"{kind}-{m.group(1)}-orig"][0] != "":
            return int(m.group(1))
    raise AssertionError(f"no {kind} row with {field}={value}")


def working(app, slug: str = SLUG) -> str:
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == slug))
        draft = db.session.scalar(select(ScenarioDraft).where(ScenarioDraft.scenario_id == row.id))
        return draft.yaml_text if draft else current_version(row).yaml_text


def test_map_names_nodes_by_title_marks_start_endings_and_loops():
    doc = sd.load("start: a\nnodes:\n  a:\n    title: 接受投诉\n    branches: [{when: forbidden, goto: b}, {else: true, goto: c}]\n"
                  "  c:\n    branches: [{else: true, goto: a}]\n"
                  "  b:\n    title: 客户愤然离开并且要去投诉到底\n    end: true\n    outcome: fail\n")
    graph = layout(sd.nodes(doc), doc["start"])
    boxes = {b.id: b for b in graph.boxes}
    assert boxes["a"].label == "接受投诉" and boxes["a"].start
    assert boxes["c"].label == "c"  # no title: its id
    assert boxes["b"].label.endswith("…") and boxes["b"].title == "客户愤然离开并且要去投诉到底"
    assert boxes["b"].end and boxes["b"].outcome == "fail"
    assert [e.back for e in graph.edges if e.x1 > e.x2] == [True]  # c → a goes back: a loop, drawn dashed


def test_editor_page_shows_the_map_and_a_node_form(app, trainer):
    page = trainer.get(EDITOR).get_data(as_text=True)
    nodes = len(sd.nodes(sd.load(working(app))))
    assert page.count("<rect ") == nodes
    assert f'href="/author/scenarios/{SLUG}/nodes/open#edit"' in page and "新建情景" not in page
    form = trainer.get(f"{EDITOR}/nodes/open").get_data(as_text=True)
    with app.app_context():
        labels = [c.label for c in phrasebook_of(current_phrasebook_version()).must_categories]
    assert all(label in form for label in labels)  # must-say categories by the phrasebook's own Chinese names
    assert "接下来去哪里" in form and "测试回复" in form
    assert "新建情景" in trainer.get("/author/").get_data(as_text=True)


def test_a_form_edit_is_a_draft_then_published_as_a_version_keeping_comments(app, trainer, world):
    with app.app_context():
        version = db.session.scalar(select(Scenario.version).where(Scenario.slug == SLUG))
    before = working(app)
    comments = [line.split("#", 1)[1] for line in before.splitlines() if "#" in line]
    assert comments
    fields = node_form(trainer, SLUG, "open")
    fields["title"] = ["客户久等"]
    fields["model"] = [fields["model"][0]]
    response = submit(trainer, f"{EDITOR}/nodes/open", fields)
    assert response.status_code == 302
    draft = working(app)
    assert "title: 客户久等" in draft and all(c in draft for c in comments)
    with app.app_context():
        assert db.session.scalar(select(Scenario.version).where(Scenario.slug == SLUG)) == version  # not live yet
    # the draft survives: another session of the same trainer sees it
    other = app.test_client()
    login(other, world["trainer"])
    assert "客户久等" in other.get(EDITOR).get_data(as_text=True)
    published = post(trainer, f"{EDITOR}/publish", page=EDITOR)
    assert published.status_code == 302
    assert f"已发布为第{version + 1}版" in trainer.get(EDITOR).get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == SLUG))
        text = current_version(row).yaml_text
        assert row.version == version + 1 and "title: 客户久等" in text and all(c in text for c in comments)
        assert db.session.scalar(select(ScenarioDraft).where(ScenarioDraft.scenario_id == row.id)) is None
    # only what the form changed differs from the file
    changed = [line for line in text.splitlines() if line not in before.splitlines()]
    assert changed == ["    title: 客户久等"]


def test_rename_updates_every_goto_test_and_the_start(app, trainer):
    token = csrf_token(trainer, f"{EDITOR}/nodes/open")
    response = trainer.post(f"{EDITOR}/nodes/open/rename", data={"csrf_token": token, "new_id": "greet"})
    assert response.headers["Location"].endswith("/nodes/greet")
    text = working(app)
    doc = sd.load(text)
    assert doc["start"] == "greet" and "open" not in sd.nodes(doc)
    assert not re.search(r"goto: open\b|next: open\b", text)
    with app.app_context():
        assert problems_of(SLUG, text, phrasebook_of(current_phrasebook_version())) == []


def test_delete_refuses_while_referenced_and_says_by_what(app, trainer):
    doc = sd.load(working(app))
    target = next(nid for nid, spec in sd.nodes(doc).items() if spec.get("end"))
    token = csrf_token(trainer, f"{EDITOR}/nodes/{target}")
    response = trainer.post(f"{EDITOR}/nodes/{target}/delete", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "不能删除" in page and "的分支" in page
    assert target in sd.nodes(sd.load(working(app)))
    # a node nothing points to goes
    token = csrf_token(trainer, EDITOR)
    trainer.post(f"{EDITOR}/nodes", data={"csrf_token": token, "new_id": "spare", "new_title": "备用", "kind": "end"})
    assert "spare" in sd.nodes(sd.load(working(app)))
    token = csrf_token(trainer, f"{EDITOR}/nodes/spare")
    trainer.post(f"{EDITOR}/nodes/spare/delete", data={"csrf_token": token})
    assert "spare" not in sd.nodes(sd.load(working(app)))


def test_move_changes_the_order_in_the_file(app, trainer):
    first, second = list(sd.nodes(sd.load(working(app))))[:2]
    token = csrf_token(trainer, f"{EDITOR}/nodes/{second}")
    trainer.post(f"{EDITOR}/nodes/{second}/move", data={"csrf_token": token, "direction": "up"})
    assert list(sd.nodes(sd.load(working(app))))[:2] == [second, first]


def test_a_bad_value_shows_its_chinese_problem_beside_its_field(app, trainer):
    fields = node_form(trainer, SLUG, "request")
    row = row_of(fields, "branch", "kind", "score")
    fields[f"branch-{row}-value"] = ["很高"]
    answer = json.loads(submit(trainer, f"{EDITOR}/check", fields).get_data())
    mine = [p for p in answer["problems"] if p["field"] == f"branch-{row}"]
    assert mine and re.search("[\u4e00-\u9fff]", mine[0]["message"])
    assert working(app) == working(app)  # checking saves nothing
    with app.app_context():
        row_ = db.session.scalar(select(Scenario).where(Scenario.slug == SLUG))
        assert db.session.scalar(select(ScenarioDraft).where(ScenarioDraft.scenario_id == row_.id)) is None
    # saved anyway, the problem stands beside the field on the page, and nothing typed is lost
    submit(trainer, f"{EDITOR}/nodes/request", fields)
    page = trainer.get(f"{EDITOR}/nodes/request").get_data(as_text=True)
    box = re.search(rf'data-for="branch-{row}"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert mine[0]["message"] in unescape(box)
    assert 'value="很高"' in page
    # the scenario form too: a pass score that is no number
    settings = form_of(trainer.get(EDITOR).get_data(as_text=True), action=f"{EDITOR}/settings")
    settings["pass_score"] = ["七十"]
    answer = json.loads(submit(trainer, f"{EDITOR}/check", settings).get_data())
    assert any(p["field"] == "s-pass_score" and "pass_score" in p["message"] for p in answer["problems"])


def test_a_branch_chosen_from_the_list_becomes_a_when(app, trainer):
    fields = node_form(trainer, SLUG, "open")
    blank = max(int(m.group(1)) for m in (re.match(r"^branch-(\d+)-goto$", k) for k in fields) if m)
    fields[f"branch-{blank}-kind"] = ["forbidden"]
    fields[f"branch-{blank}-goto"] = ["end-walkout"]
    fields[f"branch-{blank}-effect_var"] = ["anger"]
    fields[f"branch-{blank}-effect_value"] = ["2"]
    submit(trainer, f"{EDITOR}/nodes/open", fields)
    branches = sd.nodes(sd.load(working(app)))["open"]["branches"]
    added = branches[-1]
    assert added["when"] == "forbidden" and added["goto"] == "end-walkout" and dict(added["add"]) == {"anger": 2}
    # placed after 其他情况: the problem stands beside the 其他情况 row, which must be the last
    page = trainer.get(f"{EDITOR}/nodes/open").get_data(as_text=True)
    box = re.search(rf'data-for="branch-{len(branches) - 2}"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "必须是最后一个" in box


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_each_template_is_valid_and_passes_its_own_tests(app, key):
    with app.app_context():
        book = phrasebook_of(current_phrasebook_version())
        text = template_text(key)
        assert problems_of(key, text, book) == []
        doc = sd.load(text)
        table = sd.nodes(doc)
        assert all(spec.get("title") for spec in table.values())
        assert all(spec.get("tests") for spec in table.values() if not spec.get("end"))
        assert all("phrasings" in kp for spec in table.values() if not spec.get("end")
                   for kp in (spec.get("expect") or {}).get("patterns") or [])
        assert all(str(s).startswith("第") for s in doc["source"]) and all(spec.get("cite") for spec in table.values())
    if key == "complaint":
        assert doc["require_stages"] is True
        assert {spec.get("outcome") for spec in table.values() if spec.get("end")} == {"success", "partial", "fail"}


def test_new_scenario_from_a_template_is_a_draft_until_published_and_test_play_is_not_recorded(app, trainer, world):
    page = "/author/scenarios/new"
    refused = post(trainer, page, {"template": "complaint", "title": "宽带断线投诉", "slug": "Bad Slug"}, page=page)
    assert "编号只能用小写英文字母" in refused.get_data(as_text=True) and "宽带断线投诉" in refused.get_data(as_text=True)
    made = post(trainer, page, {"template": "complaint", "title": "宽带断线投诉", "slug": "broadband-complaint"}, page=page)
    assert made.headers["Location"].endswith("/author/scenarios/broadband-complaint")
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == "broadband-complaint"))
        assert not row.active and row.version == 0
    learner = app.test_client()
    login(learner, world["staff_a"])
    assert "宽带断线投诉" not in learner.get("/practice").get_data(as_text=True)
    editor = "/author/scenarios/broadband-complaint"
    assert "宽带断线投诉" in trainer.get("/author/").get_data(as_text=True)
    # test-play the draft: marked 试玩 on every page, never a learning record
    with app.app_context():
        attempts = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.verb == "scenario.attempted"))
    start = post(trainer, f"{editor}/test", page=editor)
    run_url = start.headers["Location"]
    run_id = int(run_url.rsplit("/", 1)[1])
    run_page = trainer.get(run_url).get_data(as_text=True)
    assert "试玩" in run_page
    # the way back is the editor: the learner's page of an unpublished scenario does not exist
    assert f'href="{editor}"' in run_page and 'href="/practice/broadband-complaint"' not in run_page
    assert trainer.get("/practice/broadband-complaint").status_code == 404
    token = csrf_token(trainer, run_url)
    trainer.post(f"{run_url}/turns", data={"csrf_token": token, "seq": 1, "reply": "你问我，我问谁。"})
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert run.mode == "test" and not run.is_training and run.finished
        assert run.scenario_version.origin == "draft" and run.scenario_version.version < 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.verb == "scenario.attempted")) == attempts
    debrief = trainer.get(f"/runs/{run_id}/debrief").get_data(as_text=True)
    assert f'href="{editor}"' in debrief and 'href="/practice/broadband-complaint"' not in debrief
    assert "试玩" in debrief and "草稿" in debrief and "再试玩一次" in debrief and "再练一次" not in debrief
    assert "宽带断线投诉" not in trainer.get("/practice/history").get_data(as_text=True)
    published = post(trainer, f"{editor}/publish", page=editor)
    assert published.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(Scenario).where(Scenario.slug == "broadband-complaint"))
        assert row.active and row.version == 1 and current_version(row).origin == "browser"
        assert db.session.scalar(select(func.count()).select_from(ScenarioVersion).where(
            ScenarioVersion.scenario_id == row.id, ScenarioVersion.origin != "draft")) == 1
    assert "宽带断线投诉" in learner.get("/practice").get_data(as_text=True)


def test_publish_refuses_a_draft_with_problems_and_keeps_it(app, trainer):
    fields = node_form(trainer, SLUG, "request")
    row = row_of(fields, "branch", "kind", "score")
    fields[f"branch-{row}-goto"] = ["nowhere"]
    submit(trainer, f"{EDITOR}/nodes/request", fields)
    with app.app_context():
        version = db.session.scalar(select(Scenario.version).where(Scenario.slug == SLUG))
    page = post(trainer, f"{EDITOR}/publish", page=EDITOR, follow_redirects=True).get_data(as_text=True)
    assert "没有发布" in page
    with app.app_context():
        assert db.session.scalar(select(Scenario.version).where(Scenario.slug == SLUG)) == version
    assert "goto: nowhere" in working(app)
    refused = post(trainer, f"{EDITOR}/test", page=EDITOR, follow_redirects=True).get_data(as_text=True)
    assert "改好后才能试玩" in refused


def test_the_yaml_view_is_the_advanced_editor_of_the_draft(app, trainer):
    page = trainer.get(f"{EDITOR}/yaml").get_data(as_text=True)
    assert "检查并发布" in page and "保存草稿" in page
    text = working(app)
    edited = text.replace("title: 久等客户的接待", "title: 久等客户的接待（草稿）", 1)
    post(trainer, f"{EDITOR}/yaml", {"yaml_text": edited, "action": "draft"}, page=f"{EDITOR}/yaml")
    assert "久等客户的接待（草稿）" in working(app)
    aliased = "a: &x 1\nb: *x\n"
    refused = post(trainer, f"{EDITOR}/yaml", {"yaml_text": aliased, "action": "draft"}, page=f"{EDITOR}/yaml")
    assert "锚点" in refused.get_data(as_text=True) and "久等客户的接待（草稿）" in working(app)

"""Admins manage people, stores, leave, and import rosters (all or nothing)."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import Workbook
from sqlalchemy import func, select

from lms.accounts.models import Leave, Store, User
from lms.audit import AuditEvent
from lms.clock import now
from lms.courses.models import ModuleProgress
from lms.extensions import db
from tests.conftest import csrf_token, login, post


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _store_code(app, store_id) -> str:
    with app.app_context():
        return db.session.get(Store, store_id).code


def _upload(client, name: str, data: bytes):
    token = csrf_token(client, "/admin/roster")
    return client.post("/admin/roster", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _confirm(client, preview_html: str):
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', preview_html).group(1)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', preview_html).group(1)
    return client.post("/admin/roster/confirm", data={"payload": payload, "csrf_token": token})


def test_roster_import_valid_csv_previews_then_writes(app, client, world):
    code = _store_code(app, world["store_a"])
    existing = world["staff_a"]
    csv_text = (
        "工号,姓名,营业厅,岗位,角色,入职日期\n"
        f"NEW001,新员工甲,{code},咨询引导,,2026-11-19\n"
        f"NEW002,新员工乙,甲营业厅,综合受理,员工,2026/11/20\n"
        f"{existing.emp_no},{existing.name},{code},投诉接待,员工,2025-01-01\n"
    )
    login(client, world["admin"])
    preview = _upload(client, "名单.csv", csv_text.encode("utf-8-sig"))
    html = preview.get_data(as_text=True)
    assert "3行，全部有效" in html and "新增<strong>2</strong>人" in html and "更新：岗位" in html
    assert _count(app, User, User.emp_no.in_(["NEW001", "NEW002"])) == 0  # preview wrote nothing
    done = _confirm(client, html)
    page = done.get_data(as_text=True)
    assert "新账号的初始密码" in page and "NEW001" in page
    with app.app_context():
        new = db.session.scalar(select(User).where(User.emp_no == "NEW001"))
        assert new.store_id == world["store_a"] and new.position == "咨询引导" and new.hire_date == date(2026, 11, 19)
        assert db.session.get(User, existing.id).position == "投诉接待"
    password = re.search(r"NEW001</td><td>新员工甲</td><td>[^<]*</td><td class=\"password\">([^<]+)<", page).group(1)
    assert login(app.test_client(), type(existing)(0, "NEW001", "", "staff", None, None, password)).status_code == 302


def test_roster_with_bad_rows_changes_nothing(app, client, world):
    code = _store_code(app, world["store_a"])
    csv_text = (
        "工号,姓名,营业厅,岗位,角色,入职日期\n"
        f"OK0001,好行,{code},咨询引导,,2026-11-19\n"
        f"BAD002,坏行,不存在的厅,咨询引导,,2026-11-19\n"
        f"BAD003,,{code},店小二,,2026-11-19\n"
    )
    login(client, world["admin"])
    before_users, before_events = _count(app, User), _count(app, AuditEvent)
    html = _upload(client, "roster.csv", csv_text.encode()).get_data(as_text=True)
    assert "名单有2行错误" in html
    assert "第3行" in html and "未知营业厅「不存在的厅」" in html
    assert "第4行" in html and "姓名为空" in html and "未知岗位「店小二」" in html
    assert "确认导入" not in html
    assert _count(app, User) == before_users and _count(app, AuditEvent) == before_events


def test_roster_confirm_rechecks_and_refuses_tampering(app, client, world):
    code = _store_code(app, world["store_a"])
    login(client, world["admin"])
    html = _upload(client, "r.csv", f"工号,姓名,营业厅,岗位,角色,入职日期\nT1,甲,{code},库管,,2026-01-01\n".encode()
                   ).get_data(as_text=True)
    tampered = html.replace('name="payload" type="hidden" value="', 'name="payload" type="hidden" value="x')
    response = _confirm(client, tampered)
    assert response.status_code == 302 and _count(app, User, User.emp_no == "T1") == 0


def test_roster_xlsx_import(app, client, world):
    code = _store_code(app, world["store_a"])
    wb = Workbook()
    wb.active.append(["工号", "姓名", "营业厅", "岗位", "角色", "入职日期"])
    wb.active.append(["X0001", "表格员工", code, "库管", "员工", date(2026, 10, 8)])
    buf = io.BytesIO()
    wb.save(buf)
    login(client, world["admin"])
    html = _upload(client, "roster.xlsx", buf.getvalue()).get_data(as_text=True)
    assert "1行，全部有效" in html
    _confirm(client, html)
    assert _count(app, User, User.emp_no == "X0001", User.hire_date == date(2026, 10, 8)) == 1


def test_roster_rejects_wrong_file_type_and_missing_columns(client, world):
    login(client, world["admin"])
    assert "只支持「.csv」或「.xlsx」" in _upload(client, "roster.pdf", b"%PDF").get_data(as_text=True)
    html = _upload(client, "r.csv", "工号,姓名\nA1,x\n".encode()).get_data(as_text=True)
    assert "第1行缺少列：营业厅、岗位、入职日期" in html


def test_create_person_shows_password_once(app, client, world):
    login(client, world["admin"])
    response = post(client, "/admin/people/new", {
        "emp_no": "DX7777", "name": "王新", "role": "staff", "position": "前台销售",
        "store_id": str(world["store_a"]), "hire_date": "2026-11-20"}, page="/admin/people/new")
    page = response.get_data(as_text=True)
    assert "已创建账号" in page and "DX7777" in page and 'class="password"' in page
    assert _count(app, User, User.emp_no == "DX7777") == 1


def test_create_person_explains_missing_fields_and_keeps_input(client, world):
    login(client, world["admin"])
    page = post(client, "/admin/people/new", {"emp_no": "DX7778", "name": "王新", "role": "staff",
                                              "position": "", "store_id": ""}, page="/admin/people/new"
                ).get_data(as_text=True)
    assert "必须属于一个营业厅" in page and "必须有岗位" in page and "请填写入职日期" in page
    assert 'value="DX7778"' in page and 'value="王新"' in page


def test_duplicate_emp_no_is_refused(client, world):
    login(client, world["admin"])
    page = post(client, "/admin/people/new", {"emp_no": world["staff_a"].emp_no.lower(), "name": "重复",
                                              "role": "trainer"}, page="/admin/people/new").get_data(as_text=True)
    assert "已存在" in page


def test_search_people(client, world):
    login(client, world["admin"])
    page = client.get(f"/admin/people?q={world['staff_b'].emp_no}").get_data(as_text=True)
    assert world["staff_b"].name in page and world["staff_a"].name not in page
    page = client.get(f"/admin/people?store={world['store_a']}").get_data(as_text=True)
    assert world["staff_a"].name in page and world["staff_b"].name not in page


def test_deactivate_keeps_history_and_blocks_login(app, client, world):
    staff = world["staff_a"]
    with app.app_context():
        from lms.courses.models import Module

        module = db.session.scalars(select(Module)).first()
        db.session.add(ModuleProgress(user_id=staff.id, module_id=module.id, version=1,
                                      completed_at=now()))
        db.session.commit()
    login(client, world["admin"])
    response = post(client, f"/admin/people/{staff.id}/active", {"active": "0"}, page=f"/admin/people/{staff.id}")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, staff.id)
        assert user.active is False and user.deactivated_at is not None
    assert _count(app, ModuleProgress, ModuleProgress.user_id == staff.id) == 1
    assert login(app.test_client(), staff).status_code == 200  # refused
    assert world["staff_a"].name in client.get("/admin/people?status=inactive").get_data(as_text=True)
    post(client, f"/admin/people/{staff.id}/active", {"active": "1"}, page=f"/admin/people/{staff.id}")
    assert login(app.test_client(), staff).status_code == 302


def test_admin_cannot_deactivate_self(client, world):
    login(client, world["admin"])
    page = post(client, f"/admin/people/{world['admin'].id}/active", {"active": "0"},
                page=f"/admin/people/{world['admin'].id}", follow_redirects=True).get_data(as_text=True)
    assert "不能停用自己的账号" in page


def test_leave_is_recorded_and_overlaps_refused(app, client, world):
    staff = world["staff_a"]
    login(client, world["admin"])
    page_url = f"/admin/people/{staff.id}"
    post(client, f"{page_url}/leave", {"start_date": "2026-12-01", "end_date": "2026-12-05", "reason": "年假"},
         page=page_url)
    page = post(client, f"{page_url}/leave", {"start_date": "2026-12-04", "end_date": "2026-12-08"},
                page=page_url, follow_redirects=True).get_data(as_text=True)
    assert "重叠" in page and "2026年12月1日" in page
    page = post(client, f"{page_url}/leave", {"start_date": "2026-12-09", "end_date": "2026-12-08"},
                page=page_url, follow_redirects=True).get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page
    assert _count(app, Leave, Leave.user_id == staff.id) == 1


def test_store_create_edit_and_close_rules(app, client, world):
    login(client, world["admin"])
    with app.app_context():
        from lms.accounts.models import Region

        region_id = db.session.scalars(select(Region)).first().id
    response = post(client, "/admin/stores/new", {"code": "s900", "name": "新开营业厅", "region_id": str(region_id)},
                    page="/admin/stores/new")
    assert response.status_code == 302
    with app.app_context():
        store = db.session.scalar(select(Store).where(Store.code == "S900"))
        assert store is not None
        store_id = store.id
    clash = post(client, "/admin/stores/new", {"code": "S901", "name": "新开营业厅", "region_id": str(region_id)},
                 page="/admin/stores/new").get_data(as_text=True)
    assert "已被「新开营业厅」使用" in clash
    page = post(client, f"/admin/stores/{world['store_a']}/active", {"active": "0"}, page="/admin/stores",
                follow_redirects=True).get_data(as_text=True)
    assert "还有" in page and "在岗人员" in page
    post(client, f"/admin/stores/{store_id}/active", {"active": "0"}, page="/admin/stores")
    with app.app_context():
        assert db.session.get(Store, store_id).active is False


def test_reset_password(app, client, world):
    staff = world["staff_b"]
    login(client, world["admin"])
    page = post(client, f"/admin/people/{staff.id}/password", page=f"/admin/people/{staff.id}").get_data(as_text=True)
    new_password = re.search(r'class="password">([^<]+)<', page).group(1)
    assert login(app.test_client(), staff).status_code == 200
    assert login(app.test_client(), staff, password=new_password).status_code == 302


def test_blank_role_keeps_an_existing_persons_role(app, client, world):
    code = _store_code(app, world["store_a"])
    manager = world["manager_a"]
    login(client, world["admin"])
    html = _upload(client, "r.csv", f"工号,姓名,营业厅,岗位,角色,入职日期\n{manager.emp_no},{manager.name},{code},营业厅经理,,2025-01-01\n"
                   .encode()).get_data(as_text=True)
    assert "（不变）" in html
    _confirm(client, html)
    with app.app_context():
        assert db.session.get(User, manager.id).role == "manager"


def test_admin_recovery_commands(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["lms", "admin", "create", "root2", "备用管理员"])
    assert result.exit_code == 0 and "初始密码" in result.output
    result = runner.invoke(args=["lms", "admin", "reset-password", "ROOT2"])
    assert result.exit_code == 0 and "新密码" in result.output
    assert runner.invoke(args=["lms", "admin", "reset-password", "nobody"]).exit_code == 1


def test_nobody_is_moved_into_or_reactivated_in_a_closed_store(app, client, world):
    """The edit form lists closed stores too (a person may still belong to one); choosing one for someone
    who is elsewhere is refused at the store field, with the form kept, and nobody is reactivated in one."""
    staff = world["staff_b"]
    login(client, world["admin"])
    with app.app_context():
        from lms.accounts.models import Region

        closed = Store(code="S950", name="已关的厅", region_id=db.session.scalars(select(Region)).first().id,
                       active=False)
        db.session.add(closed)
        db.session.commit()
        closed_id, before = closed.id, db.session.get(User, staff.id).store_id
    page_url = f"/admin/people/{staff.id}"
    page = post(client, page_url, {"emp_no": staff.emp_no, "name": "改了名", "role": "staff", "position": "前台销售",
                                   "store_id": str(closed_id), "hire_date": "2025-01-01"},
                page=page_url).get_data(as_text=True)
    assert "营业厅「已关的厅」已关闭，不能调入人员" in page and 'value="改了名"' in page
    assert "S950 已关的厅（已关闭）</option>" in page  # the list says which stores are closed
    with app.app_context():
        assert db.session.get(User, staff.id).store_id == before and db.session.get(User, staff.id).name == staff.name
        user = db.session.get(User, staff.id)  # someone who left while their store was still open
        user.active, user.store_id = False, closed_id
        db.session.commit()
    page = post(client, f"{page_url}/active", {"active": "1"}, page=page_url, follow_redirects=True
                ).get_data(as_text=True)
    assert "营业厅「已关的厅」已关闭，请先把此人调到在用的营业厅，再启用" in page
    assert _count(app, User, User.id == staff.id, User.active.is_(True)) == 0

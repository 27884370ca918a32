"""The demo organisation created by `make run` on an empty database.

One region, three stores, a manager per store, staff over every position (two hired this week),
one trainer and one admin. Passwords are random, returned to the caller to print once and write
to `instance/demo-accounts.txt`. Everything here is labelled demo data.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from .accounts.models import Leave, Region, Store, User
from .accounts.service import generate_password
from .clock import now, today
from .courses.models import Course, Module
from .extensions import db
from .notices.models import NoticeAssignment
from .notices.service import NoticeData, publish

REGION = ("DEMO", "演示市分公司")
STORES = (
    ("S001", "演示中央大街营业厅", "中央大街88号"),
    ("S002", "演示学府路营业厅", "学府路16号"),
    ("S003", "演示开发区营业厅", "开发区长江路9号"),
)
# (工号, 姓名, 岗位, store index, days since hire); managers first.
STAFF = (
    ("DX1001", "王建华", "营业厅经理", 0, 2100),
    ("DX2001", "刘晓燕", "营业厅经理", 1, 1800),
    ("DX3001", "陈志强", "营业厅经理", 2, 1500),
    ("DX1002", "李静", "值班经理", 0, 1200),
    ("DX1003", "张伟", "咨询引导", 0, 400),
    ("DX1004", "赵丽娜", "前台销售", 0, 300),
    ("DX1005", "孙浩", "综合受理", 0, 200),
    ("DX1006", "周敏", "投诉接待", 0, 900),
    ("DX1007", "吴倩", "综合受理", 0, 2),  # hired this week
    ("DX2002", "郑凯", "值班经理", 1, 1000),
    ("DX2003", "冯雪", "咨询引导", 1, 150),
    ("DX2004", "陈晨", "综合受理", 1, 600),
    ("DX2005", "褚亮", "维系挽留", 1, 700),
    ("DX2006", "卫佳", "库管", 1, 1300),
    ("DX2007", "蒋琳", "前台销售", 1, 4),  # hired this week
    ("DX3002", "沈磊", "值班经理", 2, 800),
    ("DX3003", "韩梅", "咨询引导", 2, 250),
    ("DX3004", "杨帆", "综合受理", 2, 350),
    ("DX3005", "朱婷", "稽核", 2, 1100),
    ("DX3006", "秦勇", "投诉接待", 2, 500),
    ("DX3007", "许诺", "前台销售", 2, 90),
)
TRAINER = ("PX0001", "林培训", "培训")
ADMIN = ("admin", "系统管理员")


def database_is_empty() -> bool:
    """Tell whether there are no people yet."""
    return not db.session.scalar(select(func.count()).select_from(User))


def create_demo() -> list[tuple[User, str]]:
    """Create the demo organisation; return every account with its generated password."""
    region = Region(code=REGION[0], name=REGION[1])
    stores = [Store(code=c, name=n, address=a, region=region) for c, n, a in STORES]
    db.session.add_all([region, *stores])
    accounts: list[tuple[User, str]] = []

    def add(emp_no: str, name: str, role: str, position: str | None, store: Store | None, days: int | None):
        password = generate_password()
        user = User(emp_no=emp_no, name=name, role=role, position=position, store=store,
                    hire_date=today() - timedelta(days=days) if days is not None else None)
        user.set_password(password)
        db.session.add(user)
        accounts.append((user, password))

    add(ADMIN[0], ADMIN[1], "admin", None, None, None)
    add(TRAINER[0], TRAINER[1], "trainer", TRAINER[2], None, 1600)
    for emp_no, name, position, store_index, days in STAFF:
        role = "manager" if position == "营业厅经理" else "staff"
        add(emp_no, name, role, position, stores[store_index], days)
    db.session.flush()
    _demo_notice({user.emp_no: user for user, _ in accounts})
    return accounts


DEMO_NOTICE = """**演示数据。**即日起，营业厅开始受理「演示融合套餐」新业务（本通知用于演示48小时培训规则）。

## 受理要点

- 受理前按「证件核验」要求核对客户有效证件；
- 向客户讲清套餐内容、资费和优惠期限，不夸大、不强推（第一章 一、(二) 4、主动营销能力）；
- 办理完毕唱收唱付，提醒客户核对免填单并签字。

## 学习要求

阅读本通知和关联章节，通过小测后点「已学习并掌握」。
"""


def _demo_notice(people: dict) -> None:
    """A notice issued 30 hours ago: some people done, some pending, one on leave."""

    issued = now() - timedelta(hours=30)
    on_leave = people["DX2005"]
    db.session.add(Leave(user=on_leave, start_date=today() - timedelta(days=3), end_date=today() + timedelta(days=2),
                         reason="年假（演示）"))
    db.session.flush()
    module = db.session.scalar(select(Module).join(Course).where(Course.slug == "business-handling",
                                                                 Module.slug == "number-choice-and-recommend"))
    notice, _ = publish(NoticeData("演示：「演示融合套餐」新业务上线", DEMO_NOTICE, module.id if module else None,
                                   None, [], [], issued), people["PX0001"].id)
    done = {"DX1001": 3, "DX1003": 5, "DX1004": 20, "DX2001": 8, "DX2002": 26, "DX3001": 12}
    for assignment in db.session.scalars(select(NoticeAssignment).where(NoticeAssignment.notice_id == notice.id)):
        emp_no = next(e for e, u in people.items() if u.id == assignment.user_id)
        if emp_no in done:
            at = issued + timedelta(hours=done[emp_no])
            assignment.studied_at = assignment.check_passed_at = assignment.completed_at = at
    db.session.flush()


def format_accounts(accounts: list[tuple[User, str]]) -> str:
    """Return the demo log-ins as a text table."""
    lines = ["# 演示账号（自动生成的密码，仅显示一次；请妥善保管此文件）", "工号\t密码\t姓名\t角色\t岗位\t营业厅"]
    for user, password in accounts:
        lines.append("\t".join([user.emp_no, password, user.name, user.role_label, user.position or "",
                                user.store.name if user.store else ""]))
    return "\n".join(lines) + "\n"

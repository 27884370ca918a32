"""Roles (access rights) and positions (岗位, what a person does in a store).

The ten positions are those of the rulebook, 「第二章 各岗位职责及主要工作内容」.
"""

from __future__ import annotations

POSITIONS: tuple[str, ...] = (
    "营业厅经理",
    "值班经理",
    "咨询引导",
    "前台销售",
    "综合受理",
    "投诉接待",
    "维系挽留",
    "库管",
    "稽核",
    "培训",
)

ROLE_LABELS: dict[str, str] = {
    "staff": "员工",
    "trainer": "培训岗",
    "manager": "营业厅经理",
    "admin": "管理员",
}
ROLES: tuple[str, ...] = tuple(ROLE_LABELS)

# Roster files may name a role in Chinese or by its code.
ROLE_ALIASES: dict[str, str] = {
    **{code: code for code in ROLES},
    "员工": "staff",
    "营业员": "staff",
    "培训": "trainer",
    "培训岗": "trainer",
    "培训师": "trainer",
    "经理": "manager",
    "营业厅经理": "manager",
    "店长": "manager",
    "管理员": "admin",
}

# Roles that must belong to a store.
STORE_ROLES = frozenset({"staff", "manager"})

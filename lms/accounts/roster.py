"""Roster import (花名册导入): read a CSV or XLSX file and check every row (pure).

Columns: 工号, 姓名, 营业厅, 岗位, 角色, 入职日期 (header in the first row, any order; a blank
角色 keeps an existing person's role and makes a new person 员工). Rows are numbered as the spreadsheet shows them (the header is row 1). The
caller writes nothing unless `RosterCheck.ok` — every row valid.
"""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping

from ..uploads import UploadError, read_rows
from .constants import POSITIONS, ROLE_ALIASES, STORE_ROLES

COLUMNS = ("工号", "姓名", "营业厅", "岗位", "角色", "入职日期")
REQUIRED_COLUMNS = ("工号", "姓名", "营业厅", "岗位", "入职日期")
EMP_NO_RE = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
MAX_CELL = 200  # characters in one cell of a roster column
BLANK_ROWS = 10_000  # empty rows read besides the people (Excel keeps formatted empty rows)
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class RosterFileError(ValueError):
    """The file as a whole cannot be read (wrong type, encoding, header)."""


@dataclass(frozen=True)
class RosterRow:
    """One valid row, ready to write."""

    row: int
    emp_no: str
    name: str
    store_key: str
    position: str
    role: str | None  # None: not given (an existing person keeps theirs, a new one is 员工)
    hire_date: date


@dataclass(frozen=True)
class RowError:
    """Why a row cannot be imported."""

    row: int
    emp_no: str
    reasons: tuple[str, ...]


@dataclass
class RosterCheck:
    """The result of checking a whole file."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def read_table(filename: str, data: bytes, max_rows: int = 5000) -> list[list[str]]:
    """Read a CSV (UTF-8 or GBK, as Excel saves it) or XLSX file into rows of text cells.

    Only the roster's columns are kept (in the file's order; the header is row 1), and `table[i]`
    is row i + 1 as the spreadsheet shows it. The file is streamed (lms/uploads.py) and reading
    stops at the first row or cell past the limits — `max_rows` people, `BLANK_ROWS` empty rows
    besides, `MAX_CELL` characters a cell — so a crafted file is answered at once with the reason.
    """
    table: list[list[str]] = []
    keep: list[int] = []
    people, last_row = 0, max_rows + 1 + BLANK_ROWS
    try:
        with closing(read_rows(filename, data)) as rows:  # closed however the loop ends: nothing more is read
            for number, cells in rows:
                if number > last_row:
                    raise RosterFileError(f"文件超过{last_row}行（空行也算），请只保留表头和人员（最多{max_rows}行）后另存")
                if number == 1:
                    header = [c.lstrip("\ufeff") for c in cells]
                    keep = [i for i, name in enumerate(header) if name in COLUMNS and header.index(name) == i]
                row = [cells[i] if i < len(cells) else "" for i in keep]
                for column, cell in enumerate(row):
                    if len(cell) > MAX_CELL:  # (a header cell kept is a column name, never this long)
                        raise RosterFileError(f"第{number}行「{table[0][column]}」的内容太长（最多{MAX_CELL}个字符）")
                if number > 1 and any(row):
                    people += 1
                    if people > max_rows:
                        raise RosterFileError(f"一次最多导入{max_rows}行，这个文件超过了{max_rows}行（第{number}行还有人员）")
                table += [[] for _ in range(number - 1 - len(table))]  # rows the file leaves out are empty
                table.append(row if any(row) or number == 1 else [])
    except UploadError as exc:
        raise RosterFileError(str(exc)) from exc
    while len(table) > 1 and not table[-1]:  # empty rows at the end are no rows
        table.pop()
    return table


def parse_date(text: str) -> date | None:
    """Read 2026-11-21, 2026/11/21, 2026.11.21, 2026年11月21日 or 20261121."""
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _DATE_RE.match(text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def check_roster(
    table: list[list[str]],
    stores: Mapping[str, str],
    *,
    max_rows: int = 5000,
    today: date | None = None,
) -> RosterCheck:
    """Check every row of a roster table.

    `stores` maps every accepted spelling of a store (its code and its name) to its code.
    """
    rows = [r for r in table if any(cell.strip() for cell in r)]
    if not rows:
        raise RosterFileError("文件是空的")
    header = [h.strip().lstrip("\ufeff") for h in table[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RosterFileError(f"第1行缺少列：{'、'.join(missing)}（需要：{'、'.join(COLUMNS)}）")
    index = {name: header.index(name) for name in COLUMNS if name in header}
    data_rows = [(n, r) for n, r in enumerate(table[1:], start=2) if any(c.strip() for c in r)]
    if not data_rows:
        raise RosterFileError("文件里没有人员数据（只有表头）")
    if len(data_rows) > max_rows:
        raise RosterFileError(f"一次最多导入{max_rows}行，这个文件有{len(data_rows)}行")

    check = RosterCheck()
    first_row_of: dict[str, int] = {}
    for number, cells in data_rows:
        get = lambda col: cells[index[col]].strip() if col in index and index[col] < len(cells) else ""  # noqa: E731
        reasons: list[str] = []
        emp_no, name = get("工号"), get("姓名")
        if not emp_no:
            reasons.append("工号为空")
        elif not EMP_NO_RE.match(emp_no):
            reasons.append(f"工号「{emp_no}」格式不对（2～32位字母、数字、「-」或「_」）")
        elif emp_no.upper() in first_row_of:
            reasons.append(f"工号「{emp_no}」与第{first_row_of[emp_no.upper()]}行重复")
        else:
            first_row_of[emp_no.upper()] = number
        if not name:
            reasons.append("姓名为空")
        elif len(name) > 50:
            reasons.append("姓名超过50个字")
        role_text = get("角色")
        role = (ROLE_ALIASES.get(role_text) or ROLE_ALIASES.get(role_text.lower())) if role_text else None
        if role_text and role is None:
            reasons.append(f"未知角色「{role_text}」（可填：员工、培训岗、营业厅经理、管理员）")
        effective_role = role or "staff"
        store_text = get("营业厅")
        store_key = stores.get(store_text) or stores.get(store_text.upper()) if store_text else None
        if not store_text:
            if effective_role in STORE_ROLES:
                reasons.append("营业厅为空")
        elif store_key is None:
            reasons.append(f"未知营业厅「{store_text}」（填营业厅编码或全称）")
        position = get("岗位")
        if not position:
            if effective_role in STORE_ROLES:
                reasons.append("岗位为空")
        elif position not in POSITIONS:
            reasons.append(f"未知岗位「{position}」（可填：{'、'.join(POSITIONS)}）")
        hired_text = get("入职日期")
        hired = parse_date(hired_text) if hired_text else None
        if not hired_text:
            reasons.append("入职日期为空")
        elif hired is None:
            reasons.append(f"入职日期「{hired_text}」无法识别（如2026-11-21）")
        elif today is not None and (hired.year < 1950 or (hired - today).days > 366):
            reasons.append(f"入职日期「{hired_text}」不合理")
        if reasons:
            check.errors.append(RowError(number, emp_no, tuple(reasons)))
        else:
            check.rows.append(
                RosterRow(number, emp_no, name, store_key or "", position, role, hired)  # type: ignore[arg-type]
            )
    return check


def store_lookup(stores: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map each store's code (any case) and name to its code."""
    lookup: dict[str, str] = {}
    for code, name in stores:
        lookup[code] = code
        lookup[code.upper()] = code
        lookup[name] = code
    return lookup

"""Roster import (花名册导入): read a CSV or XLSX file and check every row (pure).

Columns: 工号, 姓名, 营业厅, 岗位, 角色, 入职日期 (header in the first row, any order; a blank
角色 keeps an existing person's role and makes a new person 员工). Rows are numbered as the spreadsheet shows them (the header is row 1). The
caller writes nothing unless `RosterCheck.ok` — every row valid.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Mapping

from .constants import POSITIONS, ROLE_ALIASES, STORE_ROLES

COLUMNS = ("工号", "姓名", "营业厅", "岗位", "角色", "入职日期")
REQUIRED_COLUMNS = ("工号", "姓名", "营业厅", "岗位", "入职日期")
EMP_NO_RE = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
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


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """Read a CSV (UTF-8 or GBK, as Excel saves it) or XLSX file into rows of text cells."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(data)
    if name.endswith(".csv"):
        return _read_csv(data)
    raise RosterFileError("只支持「.csv」或「.xlsx」文件")


def _read_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data:
        raise RosterFileError("文件不是文本格式的CSV")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise RosterFileError("无法识别文件编码，请另存为UTF-8 CSV")
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise RosterFileError(f"CSV格式错误：{exc}") from exc


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise RosterFileError("无法读取该Excel文件（请确认是「.xlsx」格式且未损坏）") from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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

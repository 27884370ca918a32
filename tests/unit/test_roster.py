"""Roster files are read from CSV (UTF-8 or GBK) and XLSX, and every bad row is explained."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from lms.accounts.roster import RosterFileError, check_roster, parse_date, read_table, store_lookup

pytestmark = pytest.mark.no_db

STORES = store_lookup([("S001", "中央大街营业厅"), ("S002", "学府路营业厅")])
HEADER = ["工号", "姓名", "营业厅", "岗位", "角色", "入职日期"]


def test_valid_rows():
    table = [HEADER, ["DX9001", "张三", "S001", "综合受理", "", "2026-11-20"],
             ["dx9002", "李四", "学府路营业厅", "营业厅经理", "营业厅经理", "2026/3/1"]]
    check = check_roster(table, STORES)
    assert check.ok
    assert [(r.emp_no, r.store_key, r.role, r.hire_date) for r in check.rows] == [
        ("DX9001", "S001", None, date(2026, 11, 20)), ("dx9002", "S002", "manager", date(2026, 3, 1))]


def test_every_bad_row_listed_with_row_number_and_reason():
    table = [HEADER,
             ["DX9001", "张三", "S001", "综合受理", "员工", "2026-11-20"],
             ["", "无工号", "S001", "综合受理", "", "2026-11-20"],
             ["DX9003", "王五", "S999", "收银", "老板", "昨天"],
             ["dx9001", "重复", "S001", "综合受理", "", "2026-11-20"],
             [],
             ["DX9006", "", "S001", "综合受理", "", "2026-02-30"]]
    check = check_roster(table, STORES)
    assert not check.ok
    by_row = {e.row: " ".join(e.reasons) for e in check.errors}
    assert set(by_row) == {3, 4, 5, 7}
    assert "工号为空" in by_row[3]
    assert "未知营业厅「S999」" in by_row[4] and "未知岗位「收银」" in by_row[4]
    assert "未知角色「老板」" in by_row[4] and "入职日期「昨天」无法识别" in by_row[4]
    assert "与第2行重复" in by_row[5]
    assert "姓名为空" in by_row[7] and "2026-02-30" in by_row[7]


def test_missing_column_is_a_file_error():
    with pytest.raises(RosterFileError, match="缺少列：岗位"):
        check_roster([["工号", "姓名", "营业厅", "入职日期"], ["1", "a", "S001", "2026-01-01"]], STORES)


def test_header_only_is_a_file_error():
    with pytest.raises(RosterFileError, match="只有表头"):
        check_roster([HEADER], STORES)


def test_too_many_rows():
    rows = [HEADER] + [[f"E{i}", "x", "S001", "综合受理", "", "2026-01-01"] for i in range(11)]
    with pytest.raises(RosterFileError, match="最多导入10行"):
        check_roster(rows, STORES, max_rows=10)


def test_reads_utf8_and_gbk_csv():
    text = "工号,姓名,营业厅,岗位,角色,入职日期\nDX1,张三,S001,综合受理,,2026-11-20\n"
    for data in (text.encode("utf-8-sig"), text.encode("gbk")):
        assert read_table("名单.csv", data)[1][:2] == ["DX1", "张三"]


def test_reads_xlsx_with_date_cells():
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["DX1", "张三", "S001", "综合受理", None, date(2026, 11, 20)])
    ws.append([12345, "李四", "S002", "库管", "员工", "2026-01-02"])
    buf = io.BytesIO()
    wb.save(buf)
    table = read_table("roster.XLSX", buf.getvalue())
    assert table[1] == ["DX1", "张三", "S001", "综合受理", "", "2026-11-20"]
    assert table[2][0] == "12345"
    assert check_roster(table, STORES).ok


@pytest.mark.parametrize("name, data, message", [
    ("roster.txt", b"x", "只支持"),
    ("roster.xlsx", b"not a zip", "无法读取该Excel文件"),
    ("roster.csv", b"\x00\x01binary", "不是文本格式"),
])
def test_unreadable_files(name, data, message):
    with pytest.raises(RosterFileError, match=message):
        read_table(name, data)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-21", date(2026, 11, 21)), ("2026/1/5", date(2026, 1, 5)), ("2026.01.05", date(2026, 1, 5)),
    ("2026年11月21日", date(2026, 11, 21)), ("20261121", date(2026, 11, 21)),
    ("2026-13-01", None), ("21/11/2026", None), ("", None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected

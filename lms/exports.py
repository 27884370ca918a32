"""Downloads (导出): every table a person downloads as XLSX or CSV is written here, one way.

An area builds a `Table` (a title line, a header, rows of plain values); this module turns it into
a file. Text a person typed (names, titles, session notes) must never become a live spreadsheet
formula in somebody else's Excel: every text cell of an XLSX is stored as text, and a CSV cell that
starts with = + - @ or a tab or carriage return gets a leading apostrophe (OWASP's advice on CSV
injection). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Sequence

from flask import Response

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """A downloadable table: the sheet's name, lines above the header, the header and the rows."""

    sheet: str
    header: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    title: Sequence[Any] = ()  # a first line (e.g. 「参培签到表：…（发布 …）」); empty: none
    widths: Sequence[int] = ()  # column widths in characters (XLSX)


def _text(value: Any) -> Any:
    return "" if value is None else value


def csv_safe(value: Any) -> Any:
    """A cell value that a spreadsheet opening the CSV reads as text, never as a formula."""
    value = _text(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """The table as CSV (UTF-8 with a BOM, so that Excel opens Chinese text right): the header first,
    no title line, so that other programs read it as it is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(v) for v in table.header])
    for row in table.rows:
        writer.writerow([csv_safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """The table as an Excel workbook; text cells are stored as text (a leading = stays a character)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.sheet[:31]
    lines = ([list(table.title)] if table.title else []) + [list(table.header)] + [list(r) for r in table.rows]
    for r, values in enumerate(lines, start=1):
        for c, value in enumerate(values, start=1):
            value = _text(value)
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = TYPE_STRING  # openpyxl would read "=…" as a formula
    for c, width in enumerate(table.widths, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(table: Table, filename: str, fmt: str = "xlsx") -> Response:
    """A response that downloads the table as `filename` (fmt: xlsx or csv)."""
    body, mimetype = (to_csv(table), CSV_MIMETYPE) if fmt == "csv" else (to_xlsx(table), XLSX_MIMETYPE)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})

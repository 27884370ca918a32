"""Spreadsheets people upload (pure): a CSV or XLSX file read row by row, within limits.

An upload is untrusted. A 2 KB XLSX can declare 160 million cells (`A1:XFD10000`), unpack to
gigabytes, hold one row of a million cells or a DTD that expands; a CSV can be one endless line.
`read_rows` therefore never builds a whole sheet or a whole row of a file: it streams the first
sheet of an XLSX through expat (no element tree, no DTD accepted, the declared dimension never
read) or the rows of a CSV, yields `(row number, cells as text)` for each row that has cells, and
raises `UploadError` with the reason, in Chinese, at the first limit passed. It is a generator:
the caller stops when it has read what it needs, and nothing after that is read at all.

openpyxl's read-only mode is not enough here: opening a sheet that has no `<dimension>` element
parses the whole sheet, and each row is built whole before it is handed over.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from datetime import datetime
from typing import Iterator
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

MAX_COLUMNS = 64  # columns read; a value in a column after these is refused (a roster has 6)
MAX_ELEMENTS = 300_000  # XML elements of a sheet read (a cell is two to four; 5,000 × 6 cells are 65,000)
MAX_PARTS = 4 * 1024 * 1024  # bytes the workbook, its relations, shared strings and styles unpack to together
MAX_LINE = 16_384  # characters in one line of a CSV file
EXCEL_COLUMNS = 16_384  # the most cells a row of a sheet can have (A…XFD)

_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]*)$")
_CJK_DATE_FORMATS = set(range(27, 32)) | {36} | set(range(50, 59))  # Chinese Excel's built-in date formats
_BROKEN = "无法读取该Excel文件（请确认是「.xlsx」格式且未损坏）"


class UploadError(ValueError):
    """The uploaded file cannot be read, or passes a limit; the message says which, in Chinese."""


def read_rows(filename: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number, the first `MAX_COLUMNS` cells as text) of a CSV or XLSX upload, row by row."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _xlsx_rows(data)
    if name.endswith(".csv"):
        return _csv_rows(data)
    raise UploadError("只支持「.csv」或「.xlsx」文件")


# --- CSV -------------------------------------------------------------------------------------

def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in data:
        raise UploadError("文件不是文本格式的CSV")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise UploadError("无法识别文件编码，请另存为UTF-8 CSV")
    for number, line in enumerate(text.splitlines(), 1):  # the csv module builds a whole row at once
        if len(line) > MAX_LINE:
            raise UploadError(f"第{number}行太长（超过{MAX_LINE}个字符），请只保留需要的列后另存")
    return _csv_records(text)


def _csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text)), 1):
            if any(cell.strip() for cell in record[MAX_COLUMNS:]):
                raise UploadError(f"第{number}行超过{MAX_COLUMNS}列，请只保留需要的列后另存")
            yield number, [cell.strip() for cell in record[:MAX_COLUMNS]]
    except csv.Error as exc:
        raise UploadError(f"CSV格式错误：{exc}") from exc


# --- XLSX ------------------------------------------------------------------------------------

def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UploadError(_BROKEN) from exc
    # A member unpacks to no more than it declares: zipfile stops there (and then fails its CRC check).
    package = _parse_part(archive, sizes, "_rels/.rels", _Relations()).targets
    workbook = next((_resolve("", t) for kind, t in package.values() if kind.endswith("/officeDocument")), None)
    folder, name = posixpath.split(workbook or "")
    relations = posixpath.join(folder, "_rels", name + ".rels")
    book = _parse_part(archive, sizes, workbook, _Workbook())
    targets = {key: (kind, _resolve(folder, target))
               for key, (kind, target) in _parse_part(archive, sizes, relations, _Relations()).targets.items()}
    if book.first_sheet not in targets:
        raise UploadError(_BROKEN)
    strings = styles = None
    for kind, target in targets.values():
        if kind.endswith("/sharedStrings"):
            strings = target
        elif kind.endswith("/styles"):
            styles = target
    read = [workbook, relations] + [p for p in (strings, styles) if p and p in sizes]
    if sum(sizes.get(p, 0) for p in read) > MAX_PARTS:
        raise UploadError("Excel文件的共享文字或样式太大（解压后超过4MB），请把需要的内容复制到新的工作簿后另存")
    shared = _parse_part(archive, sizes, strings, _SharedStrings()).strings if strings in sizes else []
    dates = _parse_part(archive, sizes, styles, _Styles()).date_styles() if styles in sizes else []
    sheet = targets[book.first_sheet][1]
    if sheet not in sizes:
        raise UploadError(_BROKEN)
    reader = _SheetReader(shared, dates, CALENDAR_MAC_1904 if book.date1904 else CALENDAR_WINDOWS_1900)
    parser = _parser(reader)
    with archive.open(sheet) as stream:
        try:
            while chunk := stream.read(1 << 16):
                parser.Parse(chunk, False)
                yield from reader.take()
            parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, EOFError) as exc:
            raise UploadError(_BROKEN) from exc
        yield from reader.take()


def _resolve(folder: str, target: str) -> str:
    """A relationship's target as a path in the archive (relative to the folder of the part it is from)."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))


def _local(name: str) -> str:
    """An element's name without its namespace (transitional and strict OOXML name them alike)."""
    return name.rpartition(" ")[2]


def _parser(handler) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = getattr(handler, "end", None)
    parser.CharacterDataHandler = getattr(handler, "text", None)
    parser.StartDoctypeDeclHandler = _no_doctype  # no DTD, so no entity can expand
    return parser


def _no_doctype(*_args) -> None:
    raise UploadError("无法读取该Excel文件（里面不能有DOCTYPE声明）")


def _parse_part(archive: zipfile.ZipFile, sizes: dict, path: str | None, handler):
    if path not in sizes:
        raise UploadError(_BROKEN)
    if sizes[path] > MAX_PARTS:
        raise UploadError("Excel文件的共享文字或样式太大（解压后超过4MB），请把需要的内容复制到新的工作簿后另存")
    try:
        _parser(handler).Parse(archive.read(path), True)
    except (expat.ExpatError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise UploadError(_BROKEN) from exc
    return handler


class _Workbook:
    def __init__(self):
        self.first_sheet, self.date1904 = None, False

    def start(self, name: str, attrs: dict) -> None:
        if _local(name) == "sheet" and self.first_sheet is None:  # r:id, whatever the namespace's spelling
            self.first_sheet = next((v for k, v in attrs.items() if k.endswith("relationships id")), None)
        elif _local(name) == "workbookPr":
            self.date1904 = attrs.get("date1904") in ("1", "true")


class _Relations:
    def __init__(self):
        self.targets: dict[str, tuple[str, str]] = {}

    def start(self, name: str, attrs: dict) -> None:
        if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
            self.targets[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))


class _SharedStrings:
    """Each `<si>`'s text: its `<t>` runs, without the phonetic guides (`<rPh>`)."""

    def __init__(self):
        self.strings: list[str] = []
        self.parts: list[str] = []
        self.in_text = self.in_phonetic = False

    def start(self, name: str, attrs: dict) -> None:
        local = _local(name)
        if local == "si":
            self.parts = []
        elif local == "rPh":
            self.in_phonetic = True
        elif local == "t":
            self.in_text = not self.in_phonetic

    def end(self, name: str) -> None:
        local = _local(name)
        if local == "si":
            self.strings.append("".join(self.parts))
        elif local == "rPh":
            self.in_phonetic = False
        elif local == "t":
            self.in_text = False

    def text(self, data: str) -> None:
        if self.in_text:
            self.parts.append(data)


class _Styles:
    """Which cell styles (`cellXfs`, by index) show a number as a date."""

    def __init__(self):
        self.formats: dict[int, str] = {}
        self.xf_formats: list[int] = []
        self.in_xfs = False

    def start(self, name: str, attrs: dict) -> None:
        local = _local(name)
        if local == "numFmt":
            try:
                self.formats[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
            except ValueError:
                pass
        elif local == "cellXfs":
            self.in_xfs = True
        elif local == "xf" and self.in_xfs:
            try:
                self.xf_formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                self.xf_formats.append(0)

    def end(self, name: str) -> None:
        if _local(name) == "cellXfs":
            self.in_xfs = False

    def date_styles(self) -> list[bool]:
        def is_date(fmt: int) -> bool:
            if fmt in self.formats:
                return is_date_format(self.formats[fmt])
            return fmt in _CJK_DATE_FORMATS or is_date_format(BUILTIN_FORMATS.get(fmt, "General"))

        return [is_date(fmt) for fmt in self.xf_formats]


class _SheetReader:
    """The rows of a sheet as expat reads it: finished rows wait in `ready` until taken."""

    def __init__(self, shared: list[str], dates: list[bool], epoch):
        self.shared, self.dates, self.epoch = shared, dates, epoch
        self.ready: list[tuple[int, list[str]]] = []
        self.row: list[str] | None = None
        self.number = self.column = self.cells_in_row = self.elements = 0
        self.kind, self.style, self.value = "n", 0, []
        self.capture = self.phonetic = False

    def take(self) -> list[tuple[int, list[str]]]:
        ready, self.ready = self.ready, []
        return ready

    def start(self, name: str, attrs: dict) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise UploadError("Excel工作表的内容太多，请只保留需要的行和列后另存")
        local = _local(name)
        if local == "row":
            number = attrs.get("r")
            try:
                number = int(number) if number is not None else self.number + 1
            except ValueError:
                raise UploadError(_BROKEN) from None
            if number <= self.number:
                raise UploadError(f"无法读取该Excel文件（第{number}行重复或顺序颠倒）")
            self.number, self.row, self.column, self.cells_in_row = number, [], 0, 0
        elif local == "c" and self.row is not None:
            self.cells_in_row += 1
            if self.cells_in_row > EXCEL_COLUMNS:
                raise UploadError(f"第{self.number}行的单元格多于一张表能有的{EXCEL_COLUMNS}列，文件已损坏")
            self.column = _column(attrs.get("r"), self.column)
            self.kind = attrs.get("t", "n")
            try:
                self.style = int(attrs.get("s", "0"))
            except ValueError:
                self.style = 0
            self.value = []
        elif local in ("v", "t") and self.row is not None:
            self.capture = not self.phonetic
        elif local == "rPh":
            self.phonetic = True

    def text(self, data: str) -> None:
        if self.capture:
            self.value.append(data)

    def end(self, name: str) -> None:
        local = _local(name)
        if local in ("v", "t"):
            self.capture = False
        elif local == "rPh":
            self.phonetic = False
        elif local == "c" and self.row is not None:
            if self.column > MAX_COLUMNS and not self.value:  # a formatted empty cell out on the right
                return
            text = self._cell_text("".join(self.value))
            if self.column > MAX_COLUMNS:
                if text:
                    raise UploadError(f"第{self.number}行超过{MAX_COLUMNS}列，请只保留需要的列后另存")
                return
            if self.column <= len(self.row):
                raise UploadError(f"无法读取该Excel文件（第{self.number}行的单元格重复或顺序颠倒）")
            self.row.extend([""] * (self.column - 1 - len(self.row)))
            self.row.append(text)
        elif local == "row" and self.row is not None:
            self.ready.append((self.number, self.row))
            self.row = None

    def _cell_text(self, raw: str) -> str:
        if self.kind == "s":
            try:
                return self.shared[int(raw)].strip()
            except (ValueError, IndexError):
                raise UploadError(_BROKEN) from None
        if self.kind in ("inlineStr", "str", "e"):
            return raw.strip()
        if self.kind == "b":
            return "TRUE" if raw.strip() == "1" else "FALSE"
        if self.kind == "d":
            return raw.strip()[:10]  # an ISO date (and time): the date
        raw = raw.strip()
        try:
            number = float(raw)
        except ValueError:
            return raw
        if 0 <= self.style < len(self.dates) and self.dates[self.style]:
            try:
                value = from_excel(number, self.epoch)
                return value.date().isoformat() if isinstance(value, datetime) else raw
            except (OverflowError, ValueError):
                return raw
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else raw


def _column(reference: str | None, previous: int) -> int:
    """The column number of a cell reference such as `BM12` (the next column when there is none)."""
    match = _CELL_REF.match(reference or "")
    if not match:
        return previous + 1
    number = 0
    for letter in match.group(1).upper():
        number = number * 26 + ord(letter) - 64
    return number

"""A spreadsheet (XLSX) written as it is sent: one sheet of text cells and money cells, produced row
by row into a zip that is built sequentially, so its bytes leave the server while the rows are still
being read and nothing but the current row and the compressor's window is held.

Why not XlsxWriter or openpyxl: both write the zip only when the workbook is closed (the zip's central
directory comes last, and they seek back to fill in sizes), so a download of 100,000 rows sat silent
for the whole minute or more it took them to write, long enough for a proxy's read timeout; and
writing a cell through them costs more than reading it from the store. The zip here is the standard
library's, writing to a stream it cannot seek: each member's sizes follow its data in a data
descriptor (as Java's ZipOutputStream writes them, which Excel, WPS and LibreOffice read), and the
central directory goes out at the end. Strings are inline (`t="inlineStr"`): no shared-string table to
hold. A sheet of more than 2 GiB of XML would need ZIP64, which some spreadsheet programs refuse in
streamed files, so it is refused (far beyond any county's export: 100,000 rows are about 60 MiB).
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

MAX_TEXT = 32767  # what one cell holds in Excel
MAX_ROWS = 1_048_576
SHEET_FULL = ("表格已满（最多 1,048,576 行），其余记录未导出：请缩小查询范围，或导出 CSV / the sheet is full "
              "(1,048,576 rows at most): the rest were not exported; narrow the search, or export CSV")
FLUSH = 64 * 1024  # send what the compressor has produced once this much is waiting
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


class Money:
    """A cell that is an amount in fen: written as the number of yuan (exactly, as decimal text),
    shown with the sheet's money format."""
    __slots__ = ("fen",)

    def __init__(self, fen: int):
        self.fen = fen

    def text(self) -> str:
        whole, cents = divmod(abs(self.fen), 100)
        return f"{'-' if self.fen < 0 else ''}{whole}.{cents:02d}"


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(count):
        name, n = "", index + 1
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def _string(text: str) -> str:
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    text = escape(text)
    if _CONTROL.search(text):  # as Excel itself escapes them
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


def _row_xml(number: int, values: Iterable[object], letters: list[str]) -> str:
    parts = [f'<row r="{number}">']
    for letter, value in zip(letters, values, strict=False):
        if isinstance(value, Money):
            parts.append(f'<c r="{letter}{number}" s="1"><v>{value.text()}</v></c>')
        elif isinstance(value, int) and not isinstance(value, bool):  # a count, which sums
            parts.append(f'<c r="{letter}{number}"><v>{value}</v></c>')
        elif value:
            parts.append(f'<c r="{letter}{number}" t="inlineStr">{_string(str(value))}</c>')
        else:  # an empty cell, kept so that every row is as wide as the table
            parts.append(f'<c r="{letter}{number}"/>')
    parts.append("</row>")
    return "".join(parts)


class _Sink:
    """The zip's output: a stream that can only be written (so zipfile writes data descriptors)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.waiting = 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.waiting += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.waiting = 0
        return data


def _sheet_name(name: str) -> str:
    return (_SHEET_NAME_BAD.sub(" ", name).strip("'") or "Sheet1")[:31]


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>")
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>')
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _workbook(sheet: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook {NS} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name={quoteattr(_sheet_name(sheet))} sheetId="1" r:id="rId1"/></sheets></workbook>')


def _styles(money_format: str) -> str:
    """Style 0 the default, style 1 the money format."""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<styleSheet {NS}>'
            f'<numFmts count="1"><numFmt numFmtId="164" formatCode={quoteattr(money_format)}/></numFmts>'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>")


def stream(sheet: str, header: list[str], rows: Iterable[Iterable[object]], *,
           money_format: str = '#,##0.00" 元"') -> Iterator[bytes]:
    """The XLSX of `header` and `rows` (each a sequence of cells: text, a whole number, or `Money`), in chunks as they
    are written. A sheet holds 1,048,576 rows: when more come, its last row says so instead (nothing is
    left out without a word)."""
    sink = _Sink()
    book = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                       ("xl/workbook.xml", _workbook(sheet)), ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
                       ("xl/styles.xml", _styles(money_format))):
        book.writestr(name, text)
    yield sink.take()
    letters = _column_letters(len(header))
    with book.open("xl/worksheets/sheet1.xml", "w") as part:
        part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {NS}>'
                   f'<sheetData>{_row_xml(1, header, letters)}'.encode())
        lines: list[str] = []
        rows = iter(rows)
        for number, row in enumerate(rows, start=2):
            if number == MAX_ROWS:
                if next(rows, None) is not None:
                    row = [SHEET_FULL]
                lines.append(_row_xml(number, row, letters))
                break
            lines.append(_row_xml(number, row, letters))
            if len(lines) >= 200:
                part.write("".join(lines).encode())
                lines.clear()
                if sink.waiting >= FLUSH:
                    yield sink.take()
        part.write(("".join(lines) + "</sheetData></worksheet>").encode())
    book.close()
    yield sink.take()

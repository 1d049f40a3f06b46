"""The streamed spreadsheet (web/pages/xlsx_stream.py): its bytes leave before the rows run out, and
the file it makes is a workbook spreadsheet programs read, cell for cell."""
from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from web.pages import xlsx_stream
from web.pages.xlsx_stream import Money


def test_the_first_bytes_leave_before_the_rows_are_read_and_keep_coming():
    read = []

    def rows():
        for n in range(20_000):
            read.append(n)
            yield [f"第{n}行 <&> \"引号\"", Money(n * 101), "" if n % 2 else "x" * (n % 50)]

    chunks = xlsx_stream.stream("台账", ["说明", "金额", "备注"], rows())
    first = next(chunks)
    assert first.startswith(b"PK") and not read  # the workbook's parts before any row
    seen_at = []
    body = [first]
    for chunk in chunks:
        body.append(chunk)
        seen_at.append(len(read))
    assert len(read) == 20_000
    # The sheet went out in many pieces while the rows were being read, not all at the end.
    assert sum(1 for at in seen_at if at < 20_000) >= 3
    sheet = load_workbook(io.BytesIO(b"".join(body)), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("说明", "金额", "备注")
    assert len(values) == 20_001
    assert values[1] == ('第0行 <&> "引号"', 0, None)
    assert values[7778] == ("第7777行 <&> \"引号\"", 7854.77, None)
    assert values[7779] == ("第7778行 <&> \"引号\"", 7855.78, "x" * (7778 % 50))
    assert values[2][2] is None  # an empty cell stays empty, and the row keeps its width


def test_money_is_an_exact_number_with_the_money_format_and_text_is_kept_as_written():
    header = ["a", "b"]
    rows = [[" 前后有空格 ", Money(-120050)], ["bell\x07 and tab\t", Money(1)], ["=1+1", Money(0)],
            ["长" * 40_000, Money(99)]]
    data = b"".join(xlsx_stream.stream("Sheet: [x]/y", header, rows, money_format='#,##0.00" 元"'))
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert sheet.title == "Sheet   x  y"
    assert sheet["A2"].value == " 前后有空格 "
    assert sheet["B2"].value == -1200.5 and sheet["B2"].number_format == '#,##0.00" 元"'
    assert sheet["A3"].value == "bell_x0007_ and tab\t"  # a control character as Excel writes it
    assert sheet["A4"].value == "=1+1" and sheet["A4"].data_type == "s"  # text, never a formula
    assert sheet["B4"].value == 0
    assert len(sheet["A5"].value) == xlsx_stream.MAX_TEXT  # what a cell holds
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[-1] == "xl/worksheets/sheet1.xml" and "xl/styles.xml" in names
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None


def test_an_empty_table_is_a_sheet_with_its_header():
    data = b"".join(xlsx_stream.stream("空", ["记录号", "金额"], iter(())))
    assert list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(values_only=True)) == [
        ("记录号", "金额")]


def test_a_full_sheet_says_in_its_last_row_that_the_rest_was_not_exported(monkeypatch):
    monkeypatch.setattr(xlsx_stream, "MAX_ROWS", 5)  # a header and four rows fit

    def book(count):
        data = b"".join(xlsx_stream.stream("台账", ["说明"], ([f"行{n}"] for n in range(count))))
        return [r[0] for r in load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(values_only=True)]

    assert book(4) == ["说明", "行0", "行1", "行2", "行3"]  # exactly full: nothing to say
    assert book(9) == ["说明", "行0", "行1", "行2", xlsx_stream.SHEET_FULL]

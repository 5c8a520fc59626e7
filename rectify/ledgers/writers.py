"""Ledgers as files: CSV (UTF-8 with a BOM, so that Excel opens it as such) streamed row by
row, and XLSX written by openpyxl's write-only mode (rows go to a temporary file as they come,
strings inline: memory stays flat however many rows) with a frozen header, column widths and
real date cells, then sent in chunks."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from rectify.ledgers.kinds import Column

__all__ = ["CHUNK", "csv_chunks", "xlsx_chunks"]

CHUNK = 64 * 1024
FLUSH_ROWS = 500  # CSV rows gathered before they are sent
FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
BOM = "\ufeff"


# Text a spreadsheet would read as a formula (CSV injection, CWE-1236): a hazard's title is
# typed by an enterprise, and the office opens the ledger. CSV: such text is sent after an
# apostrophe (OWASP's advice; the cell shows the text); XLSX: such a cell is typed as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def csv_chunks(columns: tuple[Column, ...], rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    """The ledger as CSV: the BOM and the header, then rows a few hundred at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([c.header for c in columns])
    for n, row in enumerate(rows, 1):
        writer.writerow([_text(v) for v in row])
        if n % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(
    target: Any, title: str, columns: tuple[Column, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Write the ledger as an XLSX workbook of one sheet to `target` (a path or binary file)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for i, column in enumerate(columns):
        sheet.column_dimensions[_letter(i)].width = column.width
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(vertical="center", wrap_text=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        header.append(cell)
    sheet.append(header)
    dated = [(i, FORMATS[c.type]) for i, c in enumerate(columns) if c.type in FORMATS]
    texts = [i for i, c in enumerate(columns) if c.type == "text"]
    for row in rows:
        values: list[Any] = list(row)
        for i, number_format in dated:
            if values[i] is not None:
                cell = WriteOnlyCell(sheet, value=values[i])
                cell.number_format = number_format
                values[i] = cell
        for i in texts:
            value = values[i]
            if isinstance(value, str) and value.startswith("="):  # openpyxl: a formula
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                values[i] = cell
        sheet.append(values)
    book.save(target)


def xlsx_chunks(
    title: str, columns: tuple[Column, ...], rows: Iterable[tuple[Any, ...]]
) -> Iterator[bytes]:
    """The ledger as XLSX, built in a temporary file (deleted after) and sent in chunks."""
    with tempfile.TemporaryFile() as file:
        write_xlsx(file, title, columns, rows)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def _letter(index: int) -> str:
    """Column letters: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters

"""The one export module: every CSV and XLSX download of the platform (AMI pre-candidatures and programming,
envelope ledger, completeness of the declarations) is written here, from columns and rows handed by its caller.

Both formats stream, so that a national export never holds every line in memory:

- CSV, as French Excel opens it: UTF-8 with a BOM (accents read correctly), `;` as separator (what French
  spreadsheet software splits on), decimal comma, dates « 31/12/2021 »; a `StreamingHttpResponse` fed by a
  generator that reads the rows as they come (a server-side cursor on the caller's side) and sends them in chunks.
- XLSX: openpyxl in write-only mode (each row goes to the worksheet's temporary XML file as it is appended; lxml
  writes it when installed, which it is: see pyproject), saved to a temporary file, then sent in chunks by a
  `FileResponse` (the file is deleted when the response is closed). Cells are typed: numbers are numbers, dates
  are dates (« JJ/MM/AAAA »), amounts carry a euro number format (`#,##0.00 "€"`, which French Excel shows as
  « 1 234,50 € »), counts a thousands format; the header row is bold, frozen, and carries an autofilter.

A text cell never becomes a formula in the user's spreadsheet: in CSV a value starting with = + - @ is prefixed
with an apostrophe, in XLSX it is written as a string.

The caller has checked the permission policy and passes rows already limited to the user's scope. Every download
answers `Cache-Control: no-store` (the data themselves must not stay in a shared cache or a browser's history).
"""

import csv
import datetime
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Iterable

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMAT_REFUSED = "Format d'export inconnu : choisissez « csv » ou « xlsx »."

# Kinds of column. NUMBER: a number shown as entered (a year, a priority); COUNT: an integer with thousands
# separators; DECIMAL: a non-monetary decimal (a combined activity); AMOUNT: euros, two decimals.
TEXT, NUMBER, COUNT, DECIMAL, AMOUNT, DATE, DATETIME, BOOLEAN = (
    "text", "number", "count", "decimal", "amount", "date", "datetime", "boolean",
)

# Excel number formats are stored locale-neutral (« , » groups thousands, « . » marks decimals): French Excel
# displays `#,##0.00 "€"` as « 1 234,50 € ».
NUMBER_FORMATS = {
    COUNT: "#,##0",
    DECIMAL: "#,##0.00",
    AMOUNT: '#,##0.00 "€"',
    DATE: "DD/MM/YYYY",
    DATETIME: "DD/MM/YYYY HH:MM",
}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: int = 16


def export_format(request) -> str | None:
    """The `format` GET parameter (csv by default), None when it is neither csv nor xlsx."""
    fmt = request.GET.get("format", CSV).lower()
    return fmt if fmt in FORMATS else None


def export_filename(prefix: str, region_codes=None) -> str:
    """« prefix-32-20261205 » for one region, « prefix-national-20261205 » for the nation (no region code)."""
    suffix = "-".join(sorted(region_codes)) if region_codes else "national"
    return f"{prefix}-{suffix}-{timezone.localdate():%Y%m%d}"


# --- Cell values ---------------------------------------------------------------------------------------------------


def _local(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    return value


def _day(value):
    """A DATE column's value as a date (an aware datetime is taken on its local day)."""
    return _local(value).date() if isinstance(value, datetime.datetime) else value


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def csv_cell(value, kind) -> str:
    if value is None or value == "":
        return ""
    if kind == BOOLEAN:
        return "oui" if value else "non"
    if kind == DATETIME:
        return _local(value).strftime("%d/%m/%Y %H:%M")
    if kind == DATE:
        return _day(value).strftime("%d/%m/%Y")
    if kind == AMOUNT:
        cents = _decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
        return f"{cents if cents else abs(cents):f}".replace(".", ",")  # « -0,00 » reads as zero
    if kind in (NUMBER, COUNT, DECIMAL):
        return str(value).replace(".", ",")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# --- CSV -----------------------------------------------------------------------------------------------------------


class _Line:
    """A file-like object that hands back what the csv writer writes (one line at a time)."""

    def write(self, value):
        return value


CSV_CHUNK = 64 * 1024  # characters sent at once: a few dozen lines, not one write per line


def csv_stream(columns: list[Column], rows: Iterable[list]):
    """The CSV as a generator of str: the BOM and headers first, then the lines as the rows come, in chunks of
    about CSV_CHUNK characters."""
    writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
    kinds = [column.kind for column in columns]
    buffer = [BOM + writer.writerow([column.header for column in columns])]
    size = len(buffer[0])
    for row in rows:
        line = writer.writerow([csv_cell(value, kind) for value, kind in zip(row, kinds)])
        buffer.append(line)
        size += len(line)
        if size >= CSV_CHUNK:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def _download_headers(response):
    response["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)  # Cache-Control: no-store (and max-age=0, no-cache, must-revalidate, private)
    return response


def csv_response(filename: str, columns: list[Column], rows: Iterable[list]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(columns, rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return _download_headers(response)


# --- XLSX ----------------------------------------------------------------------------------------------------------


def _number_styles(sheet) -> dict:
    """The style of each formatted kind, registered once in the workbook: every typed cell then shares it (setting
    `number_format` cell by cell would look the format up again for each of them)."""
    styles = {}
    for kind, number_format in NUMBER_FORMATS.items():
        prototype = WriteOnlyCell(sheet)
        prototype.number_format = number_format
        styles[kind] = prototype._style
    return styles


def _typed_cell(sheet, value, style):
    cell = WriteOnlyCell(sheet, value=value)
    cell._style = style  # shared, never changed: a write-only cell is written then dropped
    return cell


def _xlsx_cells(sheet, row, kinds, styles):
    cells = []
    for value, kind in zip(row, kinds):
        if value is None or value == "":
            cells.append(None)
        elif kind == BOOLEAN:
            cells.append("oui" if value else "non")
        elif kind == DATETIME:
            cells.append(_typed_cell(sheet, _local(value).replace(tzinfo=None), styles[DATETIME]))
        elif kind == DATE:
            cells.append(_typed_cell(sheet, _day(value), styles[DATE]))
        elif kind in styles:  # COUNT, DECIMAL, AMOUNT
            cells.append(_typed_cell(sheet, value, styles[kind]))
        elif kind == NUMBER:
            cells.append(value)
        else:
            text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
            if text.startswith("="):
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"  # text stays text: no formula runs in the user's spreadsheet
                cells.append(cell)
            else:
                cells.append(text)
    return cells


def write_sheet(workbook, title: str, columns: list[Column], rows: Iterable[list]):
    """Append a write-only sheet: bold frozen header with an autofilter, column widths, typed cells."""
    sheet = workbook.create_sheet(title)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    kinds = [column.kind for column in columns]
    styles = _number_styles(sheet)
    last_row = 1
    for row in rows:
        sheet.append(_xlsx_cells(sheet, row, kinds, styles))
        last_row += 1
    # Written after the rows (write-only sheets write the filter in their tail): header and every line.
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{last_row}"
    return sheet


def xlsx_response(filename: str, build: Callable[[Workbook], None]) -> FileResponse:
    """Build a write-only workbook with `build(workbook)`, save it to a temporary file and stream that file."""
    workbook = Workbook(write_only=True)
    build(workbook)
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    response = FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)
    return _download_headers(response)


def table_response(fmt: str, filename: str, title: str, columns: list[Column], rows: Iterable[list]):
    """One table as a CSV or a one-sheet XLSX (`title` names the sheet: at most 31 characters)."""
    if fmt == XLSX:
        return xlsx_response(filename, lambda workbook: write_sheet(workbook, title, columns, rows))
    return csv_response(filename, columns, rows)

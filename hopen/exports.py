"""The one export module: every CSV and XLSX download of the platform (AMI pre-candidatures and programming,
envelope ledger, completeness of the declarations) is written here, from columns and rows handed by its caller.

Both formats stream, so that a national export never holds every line in memory:

- CSV, as French Excel opens it: UTF-8 with a BOM (accents read correctly), `;` as separator (what French
  spreadsheet software splits on), decimal comma, dates « 31/12/2021 »; a `StreamingHttpResponse` fed by a
  generator that reads the rows as they come (a server-side cursor on the caller's side) and sends them in chunks.
- XLSX: the platform's streaming writer (`hopen.xlsx`: each row is formatted as one XML string and deflated into
  the workbook as it comes — openpyxl's cell objects cost ten times more), written to a temporary file, then sent
  in chunks by a `FileResponse` (the file is deleted when the response is closed). Cells are typed: numbers are
  numbers, dates are dates (« JJ/MM/AAAA »), amounts carry a euro number format (`#,##0.00 "€"`, which French
  Excel shows as « 1 234,50 € »), counts a thousands format; the header row is bold, frozen, and carries an
  autofilter.

National exports whose lines are many (the AMI pre-candidatures, the indicator values, the dossiers) have
PostgreSQL format the same cells and send them by COPY: `hopen.exports_copy`.

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

from . import xlsx

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
# Each column gets its formatter once (by kind, with the local time zone read once): a national export formats
# about 400,000 cells, and a per-cell dispatch on the kind or a per-value time-zone lookup costs more than the rest.


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _local_naive(value, tz):
    """A datetime as the local wall-clock time (an aware one converted to `tz`)."""
    return value.astimezone(tz).replace(tzinfo=None) if value.tzinfo is not None else value


def _csv_text(value) -> str:
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_amount(value) -> str:
    cents = _decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{cents if cents else abs(cents):f}".replace(".", ",")  # « -0,00 » reads as zero


def _csv_number(value) -> str:
    return str(value).replace(".", ",")


def _csv_formatter(kind, tz):
    """value → CSV text for a column of `kind` (None and "" → "")."""
    if kind == BOOLEAN:
        convert = lambda value: "oui" if value else "non"  # noqa: E731
    elif kind == DATETIME:
        convert = lambda value: _local_naive(value, tz).strftime("%d/%m/%Y %H:%M")  # noqa: E731
    elif kind == DATE:
        def convert(value):
            if isinstance(value, datetime.datetime):  # an aware datetime is taken on its local day
                value = _local_naive(value, tz)
            return f"{value.day:02d}/{value.month:02d}/{value.year}"
    elif kind == AMOUNT:
        convert = _csv_amount
    elif kind in (NUMBER, COUNT, DECIMAL):
        convert = _csv_number
    else:
        convert = _csv_text

    def cell(value):
        return "" if value is None or value == "" else convert(value)

    return cell


def csv_cell(value, kind) -> str:
    return _csv_formatter(kind, timezone.get_current_timezone())(value)


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
    tz = timezone.get_current_timezone()
    formatters = [_csv_formatter(column.kind, tz) for column in columns]
    buffer = [BOM + writer.writerow([column.header for column in columns])]
    size = len(buffer[0])
    for row in rows:
        line = writer.writerow([format_cell(value) for format_cell, value in zip(formatters, row)])
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

XLSX_STYLES = {
    COUNT: xlsx.COUNT_STYLE, DECIMAL: xlsx.DECIMAL_STYLE, AMOUNT: xlsx.AMOUNT_STYLE,
    DATE: xlsx.DATE_STYLE, DATETIME: xlsx.DATETIME_STYLE,
}
_OUI, _NON = (' t="inlineStr">' + xlsx.text_xml(word) for word in ("oui", "non"))


def _xlsx_text(value) -> str:
    return ' t="inlineStr">' + xlsx.text_xml(value)  # a text cell: « =… » stays text, never a formula


def _xlsx_formatter(kind, tz):
    """value → the inside of an XLSX cell (`hopen.xlsx.Sheet.append_cells`) for a column of `kind`."""
    if kind == BOOLEAN:
        convert = lambda value: _OUI if value else _NON  # noqa: E731
    elif kind == DATETIME:
        def convert(value):
            return f' s="{xlsx.DATETIME_STYLE}"><v>{xlsx.datetime_serial(_local_naive(value, tz))}</v>'
    elif kind == DATE:
        def convert(value):
            if isinstance(value, datetime.datetime):
                value = _local_naive(value, tz).date()
            return f' s="{xlsx.DATE_STYLE}"><v>{xlsx.date_serial(value)}</v>'
    elif kind in (NUMBER, COUNT, DECIMAL, AMOUNT):
        style = f' s="{XLSX_STYLES[kind]}"' if kind in XLSX_STYLES else ""

        def convert(value):
            if isinstance(value, str):  # not a number after all: written as text, not as a broken number
                return _xlsx_text(value)
            return f"{style}><v>{xlsx.number_text(value)}</v>"
    else:
        convert = _xlsx_text

    def cell(value):
        return "" if value is None or value == "" else convert(value)

    return cell


def write_sheet(workbook: xlsx.Workbook, title: str, columns: list[Column], rows: Iterable[list]):
    """Add a sheet to `workbook`: bold frozen header with an autofilter over every line, column widths, typed
    cells; the rows are written as they come."""
    sheet = workbook.sheet(title, [column.width for column in columns])
    bold = f' s="{xlsx.BOLD_STYLE}" t="inlineStr">'
    sheet.append_cells([bold + xlsx.text_xml(column.header) for column in columns])
    tz = timezone.get_current_timezone()
    formatters = [_xlsx_formatter(column.kind, tz) for column in columns]
    append = sheet.append_cells
    for row in rows:
        append([format_cell(value) for format_cell, value in zip(formatters, row)])
    return sheet


def xlsx_response(filename: str, build: Callable[[xlsx.Workbook], None]) -> FileResponse:
    """Write a workbook with `build(workbook)` to a temporary file and stream that file (deleted when the response
    is closed)."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook = xlsx.Workbook(handle)
    build(workbook)
    workbook.close()
    handle.seek(0)
    response = FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)
    return _download_headers(response)


def table_response(fmt: str, filename: str, title: str, columns: list[Column], rows: Iterable[list]):
    """One table as a CSV or a one-sheet XLSX (`title` names the sheet: at most 31 characters)."""
    if fmt == XLSX:
        return xlsx_response(filename, lambda workbook: write_sheet(workbook, title, columns, rows))
    return csv_response(filename, columns, rows)

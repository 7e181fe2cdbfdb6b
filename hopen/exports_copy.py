"""Exports whose lines PostgreSQL formats itself and sends by COPY: national exports at the database's speed.

`hopen.exports` formats each cell in Python, which costs about a microsecond a cell: fine for a region, five to
ten times PostgreSQL's own `COPY (SELECT …) TO STDOUT` for a national export of 400,000 cells. Here the export's
SELECT is wrapped in an outer SELECT that writes each cell as the file wants it, and the lines come out of COPY:

- CSV: `COPY … (FORMAT csv, DELIMITER ';')` of cells formatted for French Excel exactly as `hopen.exports`
  does (dates « 31/12/2021 », decimal comma, « oui »/« non », an apostrophe before a text starting with = + - @);
  Python only writes the BOM and the header, then passes the bytes on in chunks.
- XLSX: one text column per line, the whole `<row>` of SpreadsheetML (inline strings XML-escaped, numbers, dates as
  serial days, the styles of `hopen.xlsx`), streamed into the workbook's deflated sheet.

The caller hands a queryset annotated with one alias per column (`names`, in the columns' order): every column is
an annotation, so that the outer SELECT can name it. The caller has checked the permission policy and limited
the queryset to the user's scope. COPY takes no parameters: the inner statement is bound on the client side
(psycopg's own quoting). The COPY runs on Django's connection (inside the request's transaction, if any) and is
counted in `connection.queries` when queries are recorded: one statement per export.
"""

import tempfile

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, CharField, F, Func, Value, When
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from . import xlsx
from .exports import (
    AMOUNT, BOOLEAN, COUNT, CSV_CHUNK, CSV_CONTENT_TYPE, DATE, DATETIME, DECIMAL, NUMBER, XLSX, XLSX_CONTENT_TYPE,
    XLSX_STYLES, Column, _download_headers, csv_stream,
)

# Characters XML 1.0 forbids (removed) and those COPY's text format would escape (written as character references).
_FORBIDDEN = "E'" + "".join(f"\\{code:03o}" for code in [*range(1, 9), 11, 12, *range(14, 32)]) + "'"
# Any character `_xml_text` must replace or remove: & < > backslash and every control character.
_SPECIAL = r"E'[&<>\\\\\001-\037]'"
_NULL_TYPES = {BOOLEAN: "boolean", DATE: "date", DATETIME: "timestamptz", NUMBER: "numeric", COUNT: "numeric",
               DECIMAL: "numeric", AMOUNT: "numeric"}  # the NULL columns of an export that matches nothing


class SqlTemplate(Func):
    """A SQL template over columns named by position — {0}, {1}… — each usable several times (Func's own template
    has its arguments joined). For the labels and computed cells of a COPY export."""

    def __init__(self, *expressions, sql, output_field):
        super().__init__(*expressions, output_field=output_field)
        self.sql = sql

    def as_sql(self, compiler, connection, **extra):
        parts, params = [], []
        for expression in self.source_expressions:
            part, part_params = compiler.compile(expression)
            parts.append(part)
            params.extend(part_params)
        if params:  # a part repeated would need its parameters repeated: columns only
            raise ValueError("SqlTemplate takes columns, not values.")
        return self.sql.format(*parts), []


def choice_labels(field: str, choices, default=None):
    """SQL: the French label of a coded field (`choices`: (code, label) pairs); an unknown code is printed as is
    (`default`: another expression, e.g. Value(None))."""
    return Case(
        *[When(**{field: code}, then=Value(label)) for code, label in choices],
        default=F(field) if default is None else default, output_field=CharField(),
    )


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _xml_text(value: str) -> str:
    """SQL: `value` (text) escaped for an XML text node, one line, no backslash, no tab (see module doc). The
    chain of replacements runs only on a text that needs one (one regular-expression pass for the others): run on
    every cell, it cost PostgreSQL ten times the rest of the export."""
    escaped = f"translate({value}, {_FORBIDDEN}, '')"
    for char, reference in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\\\\", "&#92;"), ("\\t", "&#9;"),
                            ("\\n", "&#10;"), ("\\r", "&#13;")):
        escaped = f"replace({escaped}, E'{char}', '{reference}')"
    return f"CASE WHEN {value} ~ {_SPECIAL} THEN {escaped} ELSE {value} END"


def _local(value: str) -> str:
    return f"({value} AT TIME ZONE '{timezone.get_current_timezone_name()}')"


def csv_cell_sql(value: str, kind: str) -> str:
    """SQL: the CSV text of a column of `kind` (NULL, written empty, for a missing value)."""
    if kind == BOOLEAN:
        return f"CASE WHEN {value} THEN 'oui' WHEN NOT {value} THEN 'non' END"
    if kind == DATETIME:
        return f"to_char({_local(value)}, 'DD/MM/YYYY HH24:MI')"
    if kind == DATE:
        return f"to_char({value}, 'DD/MM/YYYY')"
    if kind == AMOUNT:  # half away from zero, like ROUND_HALF_UP; numeric has no « -0,00 »
        return f"replace(round(({value})::numeric, 2)::text, '.', ',')"
    if kind in (NUMBER, COUNT, DECIMAL):
        return f"replace(({value})::text, '.', ',')"
    # ascii() of the first character: no string built per cell (« = + - @ », tab, carriage return).
    text = f"({value})::text"
    return f"CASE WHEN ascii({text}) IN (61, 43, 45, 64, 9, 13) THEN '''' || {text} ELSE {text} END"


def xlsx_cell_sql(value: str, kind: str, letter: str) -> str:
    """SQL: the `<c>` element of a column of `kind` — `<c/>` for a missing value. No cell or row reference: a cell
    without one is the next of its row, and a row the next of the sheet (ECMA-376 §18.3.1.4 and §18.3.1.73 make `r`
    optional), so every cell is written, empty ones included; PostgreSQL then builds no « A1234 » per cell and
    numbers no row (a tenth of the national AMI export's time, 12 % of its size). `letter` is kept for the callers that name the column."""
    return f"coalesce({_xlsx_cell(value, kind)}, '<c/>')"


def _xlsx_cell(value: str, kind: str) -> str:
    ref = "'<c"
    if kind == BOOLEAN:
        inline = "t=\"inlineStr\"><is><t>"
        yes, no = (f"{ref} {inline}{word}</t></is></c>'" for word in ("oui", "non"))
        return f"CASE WHEN {value} THEN {yes} WHEN NOT {value} THEN {no} END"
    style = f' s="{XLSX_STYLES[kind]}"' if kind in XLSX_STYLES else ""
    if kind == DATETIME:
        serial = (
            f"round(extract(epoch FROM date_trunc('second', {_local(value)}) - TIMESTAMP '1899-12-30') / 86400, 8)"
        )
        return f"{ref}{style}><v>' || {serial}::text || '</v></c>'"
    if kind == DATE:
        return f"{ref}{style}><v>' || (({value})::date - DATE '1899-12-30')::text || '</v></c>'"
    if kind in (NUMBER, COUNT, DECIMAL, AMOUNT):
        return f"{ref}{style}><v>' || ({value})::text || '</v></c>'"
    text = f"NULLIF(({value})::text, '')"
    return f"{ref} t=\"inlineStr\"><is><t xml:space=\"preserve\">' || {_xml_text(text)} || '</t></is></c>'"


def _inner(queryset, names, columns) -> str:
    """The queryset's SELECT with its parameters bound (COPY takes none)."""
    import psycopg

    try:
        sql, params = queryset.values(*names).query.sql_with_params()
    except EmptyResultSet:  # a filter Django knows matches nothing (`pk__in=[]`): no line, the header only
        types = [_NULL_TYPES.get(column.kind, "text") for column in columns]
        return "SELECT " + ", ".join(f"NULL::{t} AS {_quote(n)}" for t, n in zip(types, names)) + " WHERE false"
    connection.ensure_connection()
    return psycopg.ClientCursor(connection.connection).mogrify(sql, params)


def csv_copy_sql(columns: list[Column], queryset, names: list[str]) -> str:
    cells = ", ".join(csv_cell_sql(f"lines.{_quote(name)}", column.kind) for name, column in zip(names, columns))
    inner = _inner(queryset, names, columns)
    return f"COPY (SELECT {cells} FROM ({inner}) AS lines) TO STDOUT (FORMAT csv, DELIMITER ';')"


def xlsx_copy_sql(columns: list[Column], queryset, names: list[str]) -> str:
    cells = ", ".join(
        xlsx_cell_sql(f"lines.{_quote(name)}", column.kind, xlsx.column_letter(index))
        for index, (name, column) in enumerate(zip(names, columns), start=1)
    )
    inner = _inner(queryset, names, columns)
    return f"COPY (SELECT concat('<row>', {cells}, '</row>') FROM ({inner}) AS lines) TO STDOUT"


def copy_blocks(statement: str, chunk: int = CSV_CHUNK):
    """The bytes of a COPY … TO STDOUT, in chunks of about `chunk` bytes (COPY sends about one message a line)."""
    # Django's cursor logs and counts the COPY like any query when queries are recorded (DEBUG, query counts).
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        buffer, size = [], 0
        for block in copy:
            buffer.append(bytes(block))
            size += len(block)
            if size >= chunk:
                yield b"".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield b"".join(buffer)


def _csv_lines(columns, statement):
    yield "".join(csv_stream(columns, [])).encode("utf-8")  # the BOM and the header, as the Python exports write them
    yield from copy_blocks(statement)


def write_copied_sheet(workbook: xlsx.Workbook, title: str, columns: list[Column], queryset, names: list[str]):
    sheet = workbook.sheet(title, [column.width for column in columns])
    bold = f' s="{xlsx.BOLD_STYLE}" t="inlineStr">'
    sheet.append_cells([bold + xlsx.text_xml(column.header) for column in columns])
    for block in copy_blocks(xlsx_copy_sql(columns, queryset, names), xlsx.CHUNK):
        sheet.append_xml(block, block.count(b"\n"))
    return sheet


def copy_table_response(fmt: str, filename: str, title: str, columns: list[Column], queryset, names: list[str]):
    """One table as a CSV or a one-sheet XLSX, its lines formatted and sent by PostgreSQL (see module doc)."""
    if fmt == XLSX:
        handle = tempfile.TemporaryFile(suffix=".xlsx")
        workbook = xlsx.Workbook(handle)
        write_copied_sheet(workbook, title, columns, queryset, names)
        workbook.close()
        handle.seek(0)
        response = FileResponse(
            handle, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE
        )
        return _download_headers(response)
    statement = csv_copy_sql(columns, queryset, names)
    response = StreamingHttpResponse(_csv_lines(columns, statement), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return _download_headers(response)

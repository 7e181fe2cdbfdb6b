"""Exports formatted and sent by PostgreSQL (`hopen.exports_copy`): the same cells as the Python exports of
`hopen.exports` (French CSV, typed XLSX), escaping included, in one COPY statement."""

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.db.models import BooleanField, DateField, DateTimeField, DecimalField, IntegerField, TextField, Value
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hopen import exports
from hopen.exports import AMOUNT, BOOLEAN, COUNT, DATE, DATETIME, DECIMAL, NUMBER, Column, table_response
from hopen.exports_copy import copy_table_response
from hopen.models import Region
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    Column("Libellé"), Column("Montant (€)", AMOUNT), Column("Nombre", COUNT), Column("Année", NUMBER),
    Column("Activité", DECIMAL), Column("Date", DATE), Column("Horodatage", DATETIME), Column("Oui/non", BOOLEAN),
]
AT = timezone.make_aware(datetime.datetime(2021, 7, 1, 8, 30), datetime.timezone.utc)  # 10:30 in Paris
TEXTS = [
    "Dotation « & » <b>; \"guillemets\"",
    "=SOMME(A1:A2)",
    "-12",
    "ligne 1\nligne 2\ttabulée \\ fin",
    "contrôle\x01retiré",
]
ROWS = [
    [TEXTS[0], Decimal("1234567.5"), 1500, 2021, Decimal("7000.25"), datetime.date(2021, 12, 31), AT, True],
    [TEXTS[1], Decimal("-0.004"), 0, None, None, None, None, False],
    [TEXTS[2], Decimal("0.005"), None, 1, Decimal("0.5"), datetime.date(2019, 1, 1), AT, None],
    [TEXTS[3], None, 7, None, None, None, None, None],
    [TEXTS[4], Decimal("10"), 1, None, None, None, None, None],
]
FIELDS = [TextField(), DecimalField(max_digits=14, decimal_places=3), IntegerField(), IntegerField(),
          DecimalField(max_digits=14, decimal_places=2), DateField(), DateTimeField(), BooleanField()]
NAMES = [f"c{i}" for i in range(len(COLUMNS))]


@pytest.fixture
def queryset():
    """One region per row, each column an annotated constant of the row (ordered by the region code)."""
    regions = [RegionFactory(code=f"{90 + i}", name=f"Région {i}") for i in range(len(ROWS))]
    from django.db.models import Case, When

    annotations = {
        name: Case(*[When(pk=region.pk, then=Value(row[index], output_field=field))
                     for region, row in zip(regions, ROWS)], output_field=field)
        for index, (name, field) in enumerate(zip(NAMES, FIELDS))
    }
    return Region.objects.filter(pk__in=[r.pk for r in regions]).annotate(**annotations).order_by("code")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_cells(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_csv_cells_are_those_of_the_python_export(queryset):
    copied = copy_table_response(exports.CSV, "essai", "Essai", COLUMNS, queryset, NAMES)
    assert copied["Content-Type"] == exports.CSV_CONTENT_TYPE
    assert "no-store" in copied["Cache-Control"]
    assert 'filename="essai.csv"' in copied["Content-Disposition"]
    python = table_response(exports.CSV, "essai", "Essai", COLUMNS, iter(ROWS))
    assert csv_cells(body(copied)) == csv_cells(body(python))


def test_csv_cells_read_as_french_excel_expects(queryset):
    lines = csv_cells(body(copy_table_response(exports.CSV, "essai", "Essai", COLUMNS, queryset, NAMES)))
    assert lines[0] == [column.header for column in COLUMNS]
    assert lines[1] == [TEXTS[0], "1234567,50", "1500", "2021", "7000,25", "31/12/2021", "01/07/2021 10:30", "oui"]
    assert lines[2][:2] == ["'=SOMME(A1:A2)", "0,00"]  # no formula; « -0,00 » reads as zero
    assert lines[3][:3] == ["'-12", "0,01", ""]  # half away from zero, like ROUND_HALF_UP
    assert lines[4][0] == TEXTS[3]  # newline, tab, backslash kept, the cell quoted


def test_xlsx_cells_are_typed_like_the_python_export(queryset):
    copied = copy_table_response(exports.XLSX, "essai", "Essai", COLUMNS, queryset, NAMES)
    assert copied["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert 'filename="essai.xlsx"' in copied["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(copied.streaming_content)))["Essai"]
    python = openpyxl.load_workbook(
        io.BytesIO(body(table_response(exports.XLSX, "essai", "Essai", COLUMNS, iter(ROWS))))
    )["Essai"]
    assert sheet.max_row == python.max_row == len(ROWS) + 1
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:H{len(ROWS) + 1}"
    assert all(cell.font.bold for cell in sheet[1])
    for copied_row, python_row in zip(sheet.iter_rows(), python.iter_rows()):
        assert [(c.value, c.number_format, c.data_type) for c in copied_row] == [
            (c.value, c.number_format, c.data_type) for c in python_row
        ]
    label, amount, count, year, activity, day, stamp, flag = sheet[2]
    assert label.value == TEXTS[0]
    assert amount.value == Decimal("1234567.5") and amount.number_format == '#,##0.00 "€"'
    assert count.number_format == "#,##0" and year.number_format == "General"
    assert day.value == datetime.datetime(2021, 12, 31) and day.number_format == "DD/MM/YYYY"
    assert stamp.value == datetime.datetime(2021, 7, 1, 10, 30) and stamp.number_format == "DD/MM/YYYY HH:MM"
    assert flag.value == "oui"
    formula = sheet.cell(row=3, column=1)
    assert formula.data_type == "s" and formula.value == "=SOMME(A1:A2)"
    assert sheet.cell(row=5, column=1).value == TEXTS[3]
    assert sheet.cell(row=6, column=1).value == "contrôleretiré"  # a character XML forbids is dropped


def test_one_statement_whatever_the_number_of_lines(queryset):
    for fmt in (exports.CSV, exports.XLSX):
        with CaptureQueriesContext(connection) as queries:
            body(copy_table_response(fmt, "essai", "Essai", COLUMNS, queryset, NAMES))
        assert [q["sql"][:12] for q in queries] == ["COPY (SELECT"]


def test_an_empty_export_has_its_header_and_filter(queryset):
    empty = queryset.filter(pk__in=[])
    sheet = openpyxl.load_workbook(
        io.BytesIO(body(copy_table_response(exports.XLSX, "vide", "Vide", COLUMNS, empty, NAMES)))
    )["Vide"]
    assert sheet.max_row == 1 and sheet.auto_filter.ref == "A1:H1"
    assert csv_cells(body(copy_table_response(exports.CSV, "vide", "Vide", COLUMNS, empty, NAMES))) == [
        [column.header for column in COLUMNS]
    ]

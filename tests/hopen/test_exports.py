"""The one export module (`hopen.exports`, issue 16 items 4 and 7): CSV as French Excel opens it (BOM, `;`,
decimal comma, dates « JJ/MM/AAAA »), XLSX with typed cells (numbers, dates, euro amounts), an autofilter over the
header, a frozen header row, no formula, `Cache-Control: no-store`."""

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.utils import timezone

from hopen import exports
from hopen.exports import (
    AMOUNT, BOOLEAN, COUNT, DATE, DATETIME, DECIMAL, NUMBER, TEXT, Column, csv_cell, export_format, table_response,
)

COLUMNS = [
    Column("Libellé"), Column("Montant (€)", AMOUNT), Column("Nombre", COUNT), Column("Année", NUMBER),
    Column("Activité", DECIMAL), Column("Date", DATE), Column("Horodatage", DATETIME), Column("Oui/non", BOOLEAN),
]
AT = timezone.make_aware(datetime.datetime(2021, 7, 1, 8, 30), datetime.timezone.utc)  # 10:30 in Paris
ROWS = [
    ["Dotation", Decimal("1234567.5"), 1500, 2021, Decimal("7000.25"), datetime.date(2021, 12, 31), AT, True],
    ["=SOMME(A1:A2)", Decimal("-0.004"), 0, None, None, None, None, False],
]


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_csv_is_french_excel_csv():
    response = table_response(exports.CSV, "essai-32-20261205", "Essai", COLUMNS, iter(ROWS))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="essai-32-20261205.csv"'
    assert "no-store" in response["Cache-Control"]
    raw = body(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8")[1:], newline=""), delimiter=";"))
    assert lines[0] == [column.header for column in COLUMNS]
    assert lines[1] == ["Dotation", "1234567,50", "1500", "2021", "7000,25", "31/12/2021", "01/07/2021 10:30", "oui"]
    # A text starting like a formula is quoted; an amount is rounded half up to the cent (never « -0,00 »).
    assert lines[2] == ["'=SOMME(A1:A2)", "0,00", "0", "", "", "", "", "non"]


@pytest.mark.parametrize(
    "value, kind, expected",
    [
        (Decimal("0.005"), AMOUNT, "0,01"),
        (1234.5, AMOUNT, "1234,50"),
        (Decimal("1.5"), DECIMAL, "1,5"),
        ("+33 6", TEXT, "'+33 6"),
        (AT, DATE, "01/07/2021"),
        ("", AMOUNT, ""),
    ],
)
def test_csv_cells(value, kind, expected):
    assert csv_cell(value, kind) == expected


def test_xlsx_cells_are_typed_with_euro_format_autofilter_and_frozen_header():
    response = table_response(exports.XLSX, "essai-national-20261205", "Essai", COLUMNS, iter(ROWS))
    assert isinstance(response, FileResponse) and response.streaming
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    assert "no-store" in response["Cache-Control"]
    assert 'filename="essai-national-20261205.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(body(response)))["Essai"]
    assert [cell.value for cell in sheet[1]] == [column.header for column in COLUMNS]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H3"  # the header and both lines
    label, amount, count, year, activity, day, stamp, flag = sheet[2]
    assert amount.value == Decimal("1234567.5") and amount.data_type == "n"
    assert amount.number_format == '#,##0.00 "€"'
    assert count.value == 1500 and count.number_format == "#,##0"
    assert year.value == 2021 and year.number_format == "General"  # a year is not « 2 021 »
    assert activity.number_format == "#,##0.00"
    assert day.value == datetime.datetime(2021, 12, 31) and day.number_format == "DD/MM/YYYY"
    assert stamp.value == datetime.datetime(2021, 7, 1, 10, 30) and stamp.number_format == "DD/MM/YYYY HH:MM"
    assert flag.value == "oui"
    formula = sheet.cell(row=3, column=1)
    assert formula.data_type == "s" and formula.value == "=SOMME(A1:A2)"


def test_an_empty_export_still_has_its_header_and_filter():
    sheet = openpyxl.load_workbook(io.BytesIO(body(table_response(exports.XLSX, "vide", "Vide", COLUMNS, []))))["Vide"]
    assert sheet.max_row == 1 and sheet.auto_filter.ref == "A1:H1"


@pytest.mark.parametrize("query, expected", [("", "csv"), ("?format=XLSX", "xlsx"), ("?format=pdf", None)])
def test_export_format(query, expected):
    assert export_format(RequestFactory().get(f"/export/{query}")) == expected

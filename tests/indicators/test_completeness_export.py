"""Export of the completeness view (§5.3.1 « la saisie […] de la valeur des indicateurs et de la totalité des pièces
justificatives »; issue 16 item 7): the page's establishments, scope and filters, as CSV for French Excel and XLSX
with typed counts and dates; a number of queries that does not grow with the establishments."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.utils import timezone

from indicators.completeness_export import COMPLETENESS_COLUMNS
from indicators.services import value_save_draft
from tests.factories import EstablishmentFactory
from tests.indicators.conftest import existence, indicator, not_applicable, rate
from tests.indicators.test_dashboard import (
    COMPLETENESS_URL,
    PREREQUISITE_CODES,
    add_document,
    declare,
    quick_values,
)

pytestmark = pytest.mark.django_db
EXPORT = "/indicateurs/completude/export/"
HEADERS = [column.header for column in COMPLETENESS_COLUMNS]


def body(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def csv_rows(response) -> dict[str, dict]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return {r["FINESS établissement"]: r for r in csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";")}


def xlsx_lines(response) -> dict[str, dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(body(response)))["Complétude"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    return {row[2].value: dict(zip(HEADERS, row)) for row in sheet.iter_rows(min_row=2)}


@pytest.fixture
def declarations(tenants, catalogue):
    """The member: P1.1 (latest without document), P1.2 (justified), D1.2 N/A (no document), two drafts."""
    first = declare(tenants, "P1.1", rate(5, 10, day=datetime.date(2019, 3, 1)))
    add_document(first, by=tenants.editor)
    declare(tenants, "P1.1", rate(9, 10, day=datetime.date(2020, 3, 1)))
    add_document(declare(tenants, "P1.2", existence(True)), by=tenants.editor)
    declare(tenants, "D1.2", not_applicable())
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.3"), data=rate(1, 2), by=tenants.editor)
    value_save_draft(establishment=tenants.member, indicator=indicator("D2.2"), data=rate(1, 2), by=tenants.editor)
    declare(tenants, "P2.1", existence(True), establishment=tenants.foreign)
    return tenants


def test_csv_has_the_figures_of_the_page(client, declarations):
    t = declarations
    client.force_login(t.ars_a)
    response = client.get(EXPORT, {"format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="completude-hopen-32-')
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    assert list(rows) == [t.member.finess, t.support.finess, t.clinic.finess]  # the page's order: by name
    member = rows[t.member.finess]
    assert list(member) == HEADERS
    assert (member["Raison sociale"], member["Région"], member["GHT"]) == ("CH Membre", "Hauts-de-France", "HF-99")
    assert (member["Indicateurs déclarés"], member["Indicateurs du catalogue"]) == ("3", "41")
    assert member["Brouillons en attente"] == "2" and member["Valeurs sans pièce justificative"] == "2"
    assert member["Tous les indicateurs déclarés"] == "non"
    assert member["Dernière déclaration"].startswith(f"{timezone.localdate():%d/%m/%Y} ")
    clinic = rows[t.clinic.finess]
    assert (clinic["Indicateurs déclarés"], clinic["Dernière déclaration"]) == ("0", "")
    assert (clinic["Secteur (public, privé, ESPIC)"], clinic["Statut juridique"]) == ("Privé", "Privé lucratif")


def test_xlsx_counts_are_numbers_and_dates_are_dates(client, declarations):
    t = declarations
    client.force_login(t.dgos)
    response = client.get(EXPORT, {"format": "xlsx"})
    assert response["Content-Disposition"].startswith('attachment; filename="completude-hopen-national-')
    lines = xlsx_lines(response)
    assert set(lines) == {t.support.finess, t.member.finess, t.clinic.finess, t.foreign.finess}
    member = lines[t.member.finess]
    declared = member["Indicateurs déclarés"]
    assert declared.value == 3 and declared.data_type == "n" and declared.number_format == "#,##0"
    assert member["Valeurs sans pièce justificative"].value == 2
    last = member["Dernière déclaration"]
    assert last.is_date and last.number_format == "DD/MM/YYYY HH:MM" and last.value.date() == timezone.localdate()
    assert lines[t.foreign.finess]["Indicateurs déclarés"].value == 1


@pytest.mark.parametrize(
    "role, expected",
    [
        ("editor", {"member"}),
        ("ght_director", {"support", "member"}),
        ("ars_a", {"support", "member", "clinic"}),
        ("ars_b", {"foreign"}),
        ("dgos", {"support", "member", "clinic", "foreign"}),
    ],
)
def test_export_is_scoped_like_the_page(client, declarations, role, expected):
    t = declarations
    client.force_login(getattr(t, role))
    finesses = {getattr(t, key).finess for key in expected}
    assert set(csv_rows(client.get(EXPORT, {"format": "csv"}))) == finesses
    assert set(xlsx_lines(client.get(EXPORT, {"format": "xlsx"}))) == finesses
    # A region filter never widens the scope.
    if role == "ars_a":
        assert set(csv_rows(client.get(EXPORT, {"format": "csv", "region": "53"}))) == finesses


def test_export_follows_the_filters(client, declarations):
    t = declarations
    client.force_login(t.dgos)
    assert set(csv_rows(client.get(EXPORT, {"format": "csv", "region": "53"}))) == {t.foreign.finess}
    response = client.get(EXPORT, {"format": "csv", "region": "53"})
    assert response["Content-Disposition"].startswith('attachment; filename="completude-hopen-53-')
    assert set(csv_rows(client.get(EXPORT, {"format": "csv", "sector": "private"}))) == {t.clinic.finess}
    ght = {t.support.finess, t.member.finess}
    assert set(xlsx_lines(client.get(EXPORT, {"format": "xlsx", "ght": t.ght.code}))) == ght


def test_page_links_to_the_exports_with_its_filters(client, declarations):
    client.force_login(declarations.dgos)
    html = client.get(COMPLETENESS_URL, {"region": "53"}).content.decode()
    assert 'id="export-completude-csv" href="/indicateurs/completude/export/?format=csv&amp;region=53' in html
    assert 'id="export-completude-xlsx" href="/indicateurs/completude/export/?format=xlsx&amp;region=53' in html


def test_bad_format_and_anonymous(client, declarations):
    client.force_login(declarations.ars_a)
    response = client.get(EXPORT, {"format": "ods"})
    assert response.status_code == 400 and "xlsx" in response.content.decode()
    client.logout()
    assert client.get(EXPORT, {"format": "csv"}).status_code == 302


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("role", ["ars_a", "dgos"])
def test_query_count_does_not_grow_with_the_establishments(
    client, tenants, catalogue, fmt, role, django_assert_max_num_queries
):
    client.force_login(getattr(tenants, role))
    quick_values(tenants.member, tenants.director, PREREQUISITE_CODES[:3])
    with django_assert_max_num_queries(11) as few:  # the catalogue read with its number of indicators (issue 17)
        body(client.get(EXPORT, {"format": fmt}))
    for i in range(40):
        establishment = EstablishmentFactory(region=tenants.region_a)
        quick_values(establishment, tenants.director, PREREQUISITE_CODES[: 1 + i % 4])
    with django_assert_max_num_queries(len(few.captured_queries)):
        lines = body(client.get(EXPORT, {"format": fmt}))
    if fmt == "csv":
        assert lines.decode("utf-8").count("\r\n") == 1 + (4 if role == "dgos" else 3) + 40

"""The national export of the declared indicator values (indicators/values_export.py): read from the attainment
state, DGOS the nation (or one region), ARS its region, establishments refused; French headers, CSV and XLSX, one
statement whatever the number of lines, each download on the audit trail."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hopen.models import AuditRecord, Role
from indicators.models import IndicatorValue
from indicators.values_export import COLUMNS
from tests.factories import EstablishmentFactory, attainment_synced, user_with_role
from tests.indicators.conftest import indicator

pytestmark = pytest.mark.django_db

URL = "/indicateurs/export/valeurs/"
AT = timezone.make_aware(datetime.datetime(2020, 3, 20, 9, 15), datetime.timezone.utc)


def declare(establishment, code, by, **fields):
    """A declared value written directly, then the attainment state refreshed as the services do."""
    ind = indicator(code)
    fields = fields or ({"numerator": 80, "denominator": 100} if ind.target_kind == "rate" else {"exists": True})
    value = IndicatorValue.objects.create(
        establishment=establishment, indicator=ind, measured_on=datetime.date(2020, 3, 15), status="declared",
        kind=ind.target_kind, created_by=by, declared_by=by, declared_at=AT, **fields,
    )
    return attainment_synced(value)


@pytest.fixture
def values(tenants, catalogue):
    t = tenants
    t.dgos = user_with_role(Role.DGOS_OFFICER)
    declare(t.member, "P1.1", t.director, numerator=3, denominator=4)
    declare(t.member, "D2.2", t.director, exists=None, numerator=0, denominator=10)
    declare(t.foreign, "P1.1", t.director, numerator=1, denominator=2)
    return t


def body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig")), delimiter=";"))


def test_dgos_exports_every_region_with_french_headers(client, values):
    client.force_login(values.dgos)
    response = client.get(URL, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv") and "no-store" in response["Cache-Control"]
    assert 'filename="valeurs-hopen-national-' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert list(rows[0]) == [column.header for column in COLUMNS]
    assert {(r["FINESS établissement"], r["Indicateur"]) for r in rows} == {
        (values.member.finess, "P1.1"), (values.member.finess, "D2.2"), (values.foreign.finess, "P1.1"),
    }
    line = next(r for r in rows if r["FINESS établissement"] == values.member.finess and r["Indicateur"] == "P1.1")
    assert line["Raison sociale"] == "CH Membre" and line["Code région"] == "32"
    assert (line["Numérateur"], line["Dénominateur"], line["Taux (%)"]) == ("3", "4", "75,0")
    assert line["Date de mesure"] == "15/03/2020" and line["Déclarée le"] == "20/03/2020 10:15"
    current = IndicatorValue.objects.get(establishment=values.member, indicator=indicator("P1.1")).current_of
    assert line["Atteinte"] in ("Atteint", "Non atteint") and line["Atteinte"] == {
        "reached": "Atteint", "not_reached": "Non atteint"}[current.attainment]
    assert line["Pièces justificatives"] == "0" and line["Groupe"] == "P1"


def test_ars_exports_its_region_only_and_not_another(client, values):
    client.force_login(values.ars_a)
    rows = csv_rows(client.get(URL, {"format": "csv"}))
    assert {r["Code région"] for r in rows} == {"32"} and len(rows) == 2
    assert client.get(URL, {"format": "csv", "region": "53"}).status_code == 404
    assert client.get(URL, {"format": "csv", "region": "99"}).status_code == 404


def test_dgos_may_take_one_region(client, values):
    client.force_login(values.dgos)
    response = client.get(URL, {"format": "csv", "region": "53"})
    assert 'filename="valeurs-hopen-53-' in response["Content-Disposition"]
    assert [r["FINESS établissement"] for r in csv_rows(response)] == [values.foreign.finess]


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishment_roles_are_refused(client, values, role):
    client.force_login(getattr(values, role))
    assert client.get(URL, {"format": "csv"}).status_code == 403


def test_anonymous_goes_to_login_and_a_bad_format_is_refused(client, values):
    assert client.get(URL, {"format": "csv"}).status_code == 302
    client.force_login(values.dgos)
    assert client.get(URL, {"format": "pdf"}).status_code == 400


def test_xlsx_cells_are_typed(client, values):
    client.force_login(values.dgos)
    response = client.get(URL, {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(body(response)))["Valeurs déclarées"]
    assert [c.value for c in sheet[1]] == [column.header for column in COLUMNS]
    assert sheet.max_row == 4
    by_key = {(row[2].value, row[5].value): row for row in sheet.iter_rows(min_row=2)}
    row = by_key[(values.member.finess, "P1.1")]
    assert row[6].value == datetime.datetime(2020, 3, 15) and row[6].number_format == "DD/MM/YYYY"
    assert row[8].value == 3 and row[10].value == 75 and row[14].value == datetime.datetime(2020, 3, 20, 10, 15)


def test_each_download_is_audited(client, values):
    client.force_login(values.ars_a)
    body(client.get(URL, {"format": "xlsx"}))
    record = AuditRecord.objects.filter(action="export.download").get()
    assert record.actor_id == values.ars_a.pk
    assert record.changes["export"] == [None, "indicator_values"] and record.changes["regions"] == [None, "32"]


def test_constant_number_of_queries_for_3_or_30_lines(client, values):
    client.force_login(values.dgos)
    client.get("/")  # the session's expiry refresh is not what is counted

    def count():
        with CaptureQueriesContext(connection) as queries:
            body(client.get(URL, {"format": "csv"}))
        return len(queries)

    few = count()
    for i in range(9):
        establishment = EstablishmentFactory(region=values.region_a, name=f"Hôpital {i}")
        for code in ("P1.1", "P1.2", "D2.2"):
            declare(establishment, code, values.director)
    many = count()
    assert many == few
    assert len(csv_rows(client.get(URL, {"format": "csv"}))) == 30

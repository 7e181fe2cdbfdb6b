"""Exports of the envelope ledger (annex 2, annex 4 §3 — issue 16 item 7): one region's ledger for its ARS, the
nation's for the DGOS, never another region's lines; CSV for French Excel, XLSX with euro amounts and real dates;
a number of queries that does not grow with the entries."""

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import transaction

from envelopes.exports import LEDGER_COLUMNS
from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Pot
from envelopes.services import seed_commit

pytestmark = pytest.mark.django_db
D = Decimal
REGION_EXPORT = "/enveloppes/32/grand-livre/export/"
NATIONAL_EXPORT = "/enveloppes/grand-livre/export/"
HEADERS = [column.header for column in LEDGER_COLUMNS]


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[dict]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";"))


def xlsx_sheet(response):
    return openpyxl.load_workbook(io.BytesIO(body(response)))["Grand livre"]


def allocations(envelope, count):
    """`count` extra seed allocations of 1 € (written directly: the query-count tests need many entries)."""
    with transaction.atomic():
        append_many([
            Movement(envelope_id=envelope.pk, kind=EntryKind.ALLOCATION, pot=Pot.SEED, amount=D("1.00"),
                     label=f"Dotation complémentaire {n}")
            for n in range(count)
        ])


@pytest.fixture
def committed(tenants, envelope_a, envelope_b, make_domain):
    """Region A: allocations, delegations and a derogatory seed commitment of 1 234,56 € on a dossier of the
    member; region B: its allocations and delegations."""
    domain = make_domain(tenants.member)
    seed_commit(dossier_domain=domain, amount=D("1234.56"), is_derogatory=True, by=tenants.ars_a)
    return domain


def test_region_ledger_as_csv_for_its_ars(client, tenants, committed):
    client.force_login(tenants.ars_a)
    response = client.get(REGION_EXPORT, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="grand-livre-hopen-32-')
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    assert list(rows[0]) == HEADERS
    # In the order of the ledger: allocations (1–2), delegations (3–4), then the commitment.
    assert [r["N° d'écriture"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert {r["Région"] for r in rows} == {"Hauts-de-France"}
    allocation = rows[0]
    assert (allocation["Mouvement"], allocation["Part"], allocation["Montant (€)"]) == ("Dotation", "Amorçage", "100000,00")
    delegation = rows[2]
    assert delegation["Mouvement"] == "Délégation de crédits" and delegation["Référence (circulaire)"] == "Circulaire (test)"
    assert delegation["Date d'effet"] == "01/01/2019"
    commitment = rows[4]
    assert commitment["Mouvement"] == "Engagement d'amorçage" and commitment["Montant (€)"] == "1234,56"
    assert commitment["Amorçage dérogatoire"] == "oui" and commitment["Secteur"] == "Public"
    assert commitment["FINESS bénéficiaire"] == tenants.member.finess and commitment["Bénéficiaire"] == "CH Membre"
    assert commitment["Dossier"] == committed.dossier.reference and commitment["Domaine"] == "D2"
    assert commitment["Amorçage disponible après (€)"] == "98765,44"
    assert commitment["Libellé"]


def test_region_ledger_as_xlsx_has_euro_amounts_and_dates(client, tenants, committed):
    client.force_login(tenants.ars_a)
    sheet = xlsx_sheet(client.get(REGION_EXPORT, {"format": "xlsx"}))
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:T6"
    line = {header: cell for header, cell in zip(HEADERS, sheet[6])}
    amount = line["Montant (€)"]
    assert amount.value == 1234.56 and amount.data_type == "n" and amount.number_format == '#,##0.00 "€"'
    assert line["Usage disponible après (€)"].value == 400000
    effective = line["Date d'effet"]
    assert effective.is_date and effective.number_format == "DD/MM/YYYY"
    assert effective.value.date() == committed.ledger_entries.get().effective_on
    assert sheet.cell(row=4, column=4).value == datetime.datetime(2019, 1, 1)  # the delegation of 01/01/2019
    assert line["N° d'écriture"].value == 5
    assert line["Enregistrée le"].is_date


def test_an_ars_exports_only_its_region(client, tenants, committed):
    client.force_login(tenants.ars_b)
    assert client.get(REGION_EXPORT, {"format": "csv"}).status_code == 404  # like the page: not revealed
    assert client.get(REGION_EXPORT, {"format": "xlsx"}).status_code == 404
    rows = csv_rows(client.get(NATIONAL_EXPORT, {"format": "csv"}))
    assert {r["Code région"] for r in rows} == {"53"} and len(rows) == 4
    sheet = xlsx_sheet(client.get(NATIONAL_EXPORT, {"format": "xlsx"}))
    assert {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"53"}
    response = client.get(NATIONAL_EXPORT, {"format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="grand-livre-hopen-53-')


def test_the_dgos_exports_the_nation(client, tenants, committed):
    client.force_login(tenants.dgos)
    response = client.get(NATIONAL_EXPORT, {"format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="grand-livre-hopen-national-')
    rows = csv_rows(response)
    # By region name: Bretagne (4 entries) then Hauts-de-France (5).
    assert [(r["Code région"], r["N° d'écriture"]) for r in rows] == [("53", str(n)) for n in range(1, 5)] + [
        ("32", str(n)) for n in range(1, 6)
    ]
    assert len(csv_rows(client.get("/enveloppes/53/grand-livre/export/", {"format": "csv"}))) == 4


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishments_cannot_export_the_ledger(client, tenants, committed, role):
    client.force_login(getattr(tenants, role))
    assert client.get(NATIONAL_EXPORT, {"format": "csv"}).status_code == 403
    assert client.get(REGION_EXPORT, {"format": "xlsx"}).status_code == 403


def test_bad_format_and_anonymous(client, tenants, committed):
    client.force_login(tenants.ars_a)
    response = client.get(REGION_EXPORT, {"format": "pdf"})
    assert response.status_code == 400 and "csv" in response.content.decode()
    client.logout()
    assert client.get(REGION_EXPORT, {"format": "csv"}).status_code == 302


def test_pages_link_to_the_exports(client, tenants, committed):
    client.force_login(tenants.ars_a)
    html = client.get("/enveloppes/32/").content.decode()
    assert 'href="/enveloppes/32/grand-livre/export/?format=csv&amp;programme=HOPEN"' in html
    assert 'href="/enveloppes/32/grand-livre/export/?format=xlsx&amp;programme=HOPEN"' in html
    client.force_login(tenants.dgos)
    html = client.get("/enveloppes/").content.decode()
    assert 'id="export-grand-livre-csv" href="/enveloppes/grand-livre/export/?format=csv' in html
    assert "Exporter le grand livre national (XLSX)" in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_query_count_does_not_grow_with_the_entries(client, tenants, envelope_a, envelope_b, fmt,
                                                    django_assert_max_num_queries):
    allocations(envelope_a, 3)
    for user, url in ((tenants.dgos, NATIONAL_EXPORT), (tenants.ars_a, REGION_EXPORT), (tenants.ars_a, NATIONAL_EXPORT)):
        client.force_login(user)
        with django_assert_max_num_queries(12) as few:
            body(client.get(url, {"format": fmt}))
        allocations(envelope_a, 150)
        with django_assert_max_num_queries(len(few.captured_queries)):
            response = client.get(url, {"format": fmt})
            assert len(body(response)) > 0

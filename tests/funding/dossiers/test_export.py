"""The national export of the dossiers (funding/dossiers/export.py): one line per dossier and domain with the ledger
sums of the domain (one statement with aggregates), DGOS the nation (or one region), ARS its region, establishments
refused; French headers, CSV and XLSX, each download on the audit trail."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Pot
from funding.dossiers.export import COLUMNS
from funding.models import DomainStatus, DossierStatus
from hopen.models import AuditRecord, Role
from tests.factories import EstablishmentFactory, user_with_role
from tests.factories_dossiers import open_envelope
from tests.funding.dossier_scene import domain_in, dossier_in

pytestmark = pytest.mark.django_db

URL = "/dossiers/export/"


def ledger(envelope, domain, *movements):
    """Entries of `domain` in its region's envelope: (kind, pot, amount, corrects)."""
    with transaction.atomic():
        return append_many([
            Movement(envelope_id=envelope.pk, kind=kind, pot=pot, amount=Decimal(amount), dossier_domain_id=domain.pk,
                     establishment_id=domain.dossier.establishment_id, label=f"{kind} (test)",
                     corrects_id=corrects.pk if corrects else None)
            for kind, pot, amount, corrects in movements
        ])


@pytest.fixture
def dossiers(tenants, catalogue):
    t = tenants
    t.dgos = user_with_role(Role.DGOS_OFFICER)
    envelope_a, envelope_b = open_envelope(t.region_a), open_envelope(t.region_b)
    t.dossier_a = dossier_in(DossierStatus.UNDER_REVIEW, establishment=t.member)
    t.d2 = domain_in(t.dossier_a, DomainStatus.SELECTED, code="D2", seed_amount=Decimal("60000.00"))
    t.d3 = domain_in(t.dossier_a, DomainStatus.REFUSED, code="D3")
    commitment, _ = ledger(envelope_a, t.d2, (EntryKind.SEED_COMMITMENT, Pot.SEED, "60000.00", None),
                           (EntryKind.SEED_PAYMENT, Pot.SEED, "60000.00", None))
    ledger(envelope_a, t.d2, (EntryKind.USAGE_COMMITMENT, Pot.USAGE, "240000.00", None),
           (EntryKind.USAGE_COMMITMENT, Pot.USAGE, "-40000.00", commitment))  # a correction counts in the sum
    t.dossier_b = dossier_in(DossierStatus.UNDER_REVIEW, establishment=t.foreign)
    t.b2 = domain_in(t.dossier_b, DomainStatus.SELECTED, code="D2", seed_amount=Decimal("10000.00"))
    ledger(envelope_b, t.b2, (EntryKind.SEED_COMMITMENT, Pot.SEED, "10000.00", None))
    return t


def body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig")), delimiter=";"))


def test_one_line_per_dossier_and_domain_with_the_ledger_sums(client, dossiers):
    t = dossiers
    client.force_login(t.dgos)
    response = client.get(URL, {"format": "csv"})
    assert 'filename="dossiers-hopen-national-' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = csv_rows(response)
    assert list(rows[0]) == [column.header for column in COLUMNS]
    assert [(r["Référence du dossier"], r["Domaine"]) for r in rows] == [
        (t.dossier_a.reference, "D2"), (t.dossier_a.reference, "D3"), (t.dossier_b.reference, "D2"),
    ]
    d2 = rows[0]
    assert d2["FINESS du porteur"] == t.member.finess and d2["Code région"] == "32"
    assert d2["Statut du domaine"] == DomainStatus.SELECTED.label
    assert d2["Amorçage engagé (€)"] == "60000,00" and d2["Amorçage versé (€)"] == "60000,00"
    assert d2["Usage engagé (€)"] == "200000,00" and d2["Usage versé (€)"] == "0,00"
    assert d2["Remboursements demandés (€)"] == "0,00"
    assert rows[1]["Amorçage engagé (€)"] == "0,00" and rows[1]["Statut du domaine"] == DomainStatus.REFUSED.label
    assert rows[2]["Amorçage engagé (€)"] == "10000,00"


def test_ars_exports_its_region_only(client, dossiers):
    t = dossiers
    client.force_login(t.ars_b)
    assert [r["Référence du dossier"] for r in csv_rows(client.get(URL, {"format": "csv"}))] == [t.dossier_b.reference]
    assert client.get(URL, {"format": "csv", "region": "32"}).status_code == 404


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishment_roles_are_refused(client, dossiers, role):
    client.force_login(getattr(dossiers, role))
    assert client.get(URL, {"format": "csv"}).status_code == 403


def test_xlsx_amounts_are_euro_numbers(client, dossiers):
    client.force_login(dossiers.dgos)
    sheet = openpyxl.load_workbook(io.BytesIO(body(client.get(URL, {"format": "xlsx"}))))["Dossiers"]
    assert [c.value for c in sheet[1]] == [column.header for column in COLUMNS]
    committed = sheet.cell(row=2, column=[c.header for c in COLUMNS].index("Usage engagé (€)") + 1)
    assert committed.value == 200000 and committed.number_format == '#,##0.00 "€"'
    assert sheet.max_row == 4 and sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=len(COLUMNS)).column_letter}4"


def test_each_download_is_audited(client, dossiers):
    client.force_login(dossiers.dgos)
    body(client.get(URL, {"format": "csv", "region": "53"}))
    record = AuditRecord.objects.get(action="export.download")
    assert record.changes["export"] == [None, "dossiers"] and record.changes["regions"] == [None, "53"]


def test_the_list_links_to_the_export_for_dgos_and_ars_only(client, dossiers):
    client.force_login(dossiers.ars_a)
    assert 'id="export-dossiers-xlsx"' in client.get("/dossiers/").content.decode()
    client.force_login(dossiers.director)
    assert 'id="export-dossiers-csv"' not in client.get("/dossiers/").content.decode()


def test_constant_number_of_queries_for_3_or_30_lines(client, dossiers):
    t = dossiers
    client.force_login(t.dgos)
    client.get("/")  # the session's expiry refresh is not what is counted

    def count():
        with CaptureQueriesContext(connection) as queries:
            body(client.get(URL, {"format": "xlsx"}))
        return len(queries)

    few = count()
    envelope = open_envelope(t.region_a)
    for i in range(9):
        dossier = dossier_in(DossierStatus.UNDER_REVIEW, establishment=EstablishmentFactory(region=t.region_a))
        for code in ("D1", "D4", "D5"):
            domain = domain_in(dossier, DomainStatus.SELECTED, code=code)
            ledger(envelope, domain, (EntryKind.SEED_COMMITMENT, Pot.SEED, "1000.00", None))
    assert count() == few
    assert len(csv_rows(client.get(URL, {"format": "csv"}))) == 30

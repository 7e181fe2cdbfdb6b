"""Exports of the AMI (annex 5 « Fonction d'export des dossiers de pré-candidature HOP'EN », §5.3.2 programming):
scope (an ARS never sees another region's lines), one line per establishment and domain, French headers, CSV
with BOM, XLSX readable by openpyxl, streaming, constant number of queries."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse

from ami.exports import PRE_CANDIDATURE_COLUMNS, PROGRAMMING_COLUMNS
from ami.models import Decision
from ami.services import pre_candidature_decide
from hopen.models import Role
from tests.ami.test_ars import (  # noqa: F401  (fixtures)
    ami_world,
    bulk_filed,
    domain_of,
    file_pre_candidature,
    filed_pair,
    query_count,
)
from tests.ami.conftest import save_draft
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

EXPORT = reverse("ami:export")
PROGRAMMING_EXPORT = reverse("ami:programming_export")
HEADERS = [column.header for column in PRE_CANDIDATURE_COLUMNS]


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[dict]:
    text = content(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";"))


def xlsx_rows(response, sheet=None) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(content(response)))
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    return [list(row) for row in worksheet.iter_rows(values_only=True)]


def test_csv_has_a_bom_french_headers_and_one_line_per_establishment_and_domain(client, ami_world, filed_pair):
    t = ami_world
    client.force_login(t.ars_a)
    response = client.get(EXPORT, {"format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="ami-pre-candidatures-32-')
    raw = content(client.get(EXPORT, {"format": "csv"}))
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    header = raw.decode("utf-8")[1:].split("\r\n")[0].split(";")
    assert header[:4] == ["Région", "Code région", "FINESS établissement", "Raison sociale"]
    assert "Semestre prévisionnel d'atteinte des cibles" in header and "Enjeux métiers et retour sur investissement" in header

    rows = csv_rows(client.get(EXPORT, {"format": "csv"}))
    # ordered by region, establishment name (« CH Membre » before « Clinique du Nord »), then priority
    assert [(r["FINESS établissement"], r["Domaine"]) for r in rows] == [
        (t.member.finess, "D2"), (t.member.finess, "D3"), (t.clinic.finess, "D4"),
    ]
    d2 = next(r for r in rows if r["Domaine"] == "D2")
    assert d2["Raison sociale"] == "CH Membre" and d2["Région"] == "Hauts-de-France"
    assert d2["Montant estimé (€, forfait standard)"] == "250000,00"  # decimal comma
    assert d2["Semestre prévisionnel d'atteinte des cibles"] == "2021 S1"
    assert d2["Échéance d'atteinte des cibles"] == "30/06/2021"
    assert d2["Priorité"] == "1" and d2["Planning et périodes d'observation"].startswith("Déploiement du DPI")
    assert d2["Positionnement"] == "Définitive" and d2["Décision ARS"] == "En attente"
    assert d2["Référent HOP'EN — courriel"] == "claire.martin@ch-test.fr"
    assert d2["GHT"] == "HF-99" and d2["Établissement support du GHT"] == "non"
    assert d2["Statut de la pré-candidature"] == "Déposée" and d2["Candidature tardive"] == "non"
    d4 = next(r for r in rows if r["Domaine"] == "D4")
    assert d4["Candidature tardive"] == "oui" and d4["Statut"] == "Privé lucratif"
    assert d4["Catégorie de financement (annexe 3)"] == "C"


def test_export_content_for_two_regions(client, ami_world, filed_pair):
    """An ARS never sees another region's lines; the DGOS sees the nation, or one region with the filter."""
    t = ami_world
    client.force_login(t.ars_a)
    regions = {r["Code région"] for r in csv_rows(client.get(EXPORT, {"format": "csv"}))}
    assert regions == {"32"}
    # asking for the other region changes nothing
    rows = csv_rows(client.get(EXPORT, {"format": "csv", "region": "53"}))
    assert {r["Code région"] for r in rows} == {"32"} and len(rows) == 3

    client.force_login(t.ars_b)
    rows = csv_rows(client.get(EXPORT, {"format": "csv"}))
    assert [(r["FINESS établissement"], r["Domaine"]) for r in rows] == [(t.foreign.finess, "D2")]
    rows = xlsx_rows(client.get(EXPORT, {"format": "xlsx"}))
    assert len(rows) == 2 and rows[1][2] == t.foreign.finess

    client.force_login(t.dgos)
    rows = csv_rows(client.get(EXPORT, {"format": "csv"}))
    assert {r["Code région"] for r in rows} == {"32", "53"} and len(rows) == 4
    rows = csv_rows(client.get(EXPORT, {"format": "csv", "region": "53"}))
    assert {r["Code région"] for r in rows} == {"53"}


def test_export_follows_the_list_filters(client, ami_world, filed_pair):
    t = ami_world
    member, _, _ = filed_pair
    pre_candidature_decide(domain=domain_of(member, "D3"), decision=Decision.REJECTED, reason="Projet à mûrir", by=t.ars_a)
    client.force_login(t.ars_a)
    rows = csv_rows(client.get(EXPORT, {"format": "csv", "domain": "D3"}))
    assert [(r["Domaine"], r["Décision ARS"], r["Motif de la décision"]) for r in rows] == [("D3", "Non retenu", "Projet à mûrir")]
    assert rows[0]["Décision prise par"] == t.ars_a.email
    rows = csv_rows(client.get(EXPORT, {"format": "csv", "late": "oui"}))
    assert [r["FINESS établissement"] for r in rows] == [t.clinic.finess]


def test_a_pre_candidature_without_domain_gives_one_line(client, ami_world, ami_input):
    t = ami_world
    save_draft(establishment=t.support, data=ami_input(domains=[], position="none"), by=user_with_role(
        Role.ESTABLISHMENT_EDITOR, establishment=t.support
    ))
    client.force_login(t.ars_a)
    rows = csv_rows(client.get(EXPORT, {"format": "csv", "filing": "draft"}))
    assert len(rows) == 1
    assert rows[0]["FINESS établissement"] == t.support.finess and rows[0]["Domaine"] == ""
    assert rows[0]["Positionnement"] == "Aucune" and rows[0]["Statut de la pré-candidature"] == "En préparation"
    assert rows[0]["Établissement support du GHT"] == "oui"


def test_xlsx_is_readable_by_openpyxl_with_real_numbers_and_dates(client, ami_world, filed_pair):
    t = ami_world
    client.force_login(t.ars_a)
    response = client.get(EXPORT, {"format": "xlsx"})
    assert isinstance(response, FileResponse) and response.streaming
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="ami-pre-candidatures-32-')
    rows = xlsx_rows(client.get(EXPORT, {"format": "xlsx"}), "Pré-candidatures AMI")
    assert rows[0] == HEADERS
    lines = [dict(zip(HEADERS, row)) for row in rows[1:]]
    assert len(lines) == 3
    d2 = next(line for line in lines if line["Domaine"] == "D2")
    assert d2["Montant estimé (€, forfait standard)"] == 250000
    assert d2["Échéance d'atteinte des cibles"].date().isoformat() == "2021-06-30"
    assert d2["Déposée le"].year == 2019 and d2["Priorité"] == 1
    assert d2["Activité combinée"] == 7000


def test_no_formula_reaches_the_spreadsheet(client, ami_world, ami_input):
    t = ami_world
    file_pre_candidature(t.clinic, ami_input(comment='=HYPERLINK("http://x.test","clic")', referent_name="+33 Dupont"))
    client.force_login(t.ars_a)
    row = csv_rows(client.get(EXPORT, {"format": "csv"}))[0]
    assert row["Commentaire"] == "'=HYPERLINK(\"http://x.test\",\"clic\")" and row["Référent HOP'EN — nom"] == "'+33 Dupont"
    workbook = openpyxl.load_workbook(io.BytesIO(content(client.get(EXPORT, {"format": "xlsx"}))))
    cell = workbook.worksheets[0].cell(row=2, column=HEADERS.index("Commentaire") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_export_permissions_and_format(client, ami_world, filed_pair):
    t = ami_world
    for user in (t.editor, t.director, t.ght_director):
        client.force_login(user)
        assert client.get(EXPORT, {"format": "csv"}).status_code == 403
        assert client.get(PROGRAMMING_EXPORT, {"format": "csv"}).status_code == 403
    client.force_login(t.ars_a)
    response = client.get(EXPORT, {"format": "pdf"})
    assert response.status_code == 400 and "csv" in response.content.decode()
    client.logout()
    assert client.get(EXPORT).status_code == 302


def test_export_uses_a_constant_number_of_queries(client, ami_world):
    t = ami_world
    client.force_login(t.dgos)
    bulk_filed(t.region_a, 3, domains=("D1", "D2", "D5"))
    bulk_filed(t.region_b, 2)
    few_csv = query_count(client, EXPORT, format="csv")
    few_xlsx = query_count(client, EXPORT, format="xlsx")
    bulk_filed(t.region_a, 40, domains=("D1", "D2", "D5"))
    bulk_filed(t.region_b, 30)
    assert query_count(client, EXPORT, format="csv") == few_csv
    assert query_count(client, EXPORT, format="xlsx") == few_xlsx
    assert len(csv_rows(client.get(EXPORT, {"format": "csv"}))) == 43 * 3 + 32 * 2
    client.force_login(t.ars_a)
    assert query_count(client, EXPORT, format="csv") <= few_csv + 1


def test_programming_export_csv_and_xlsx_with_totals(client, ami_world, filed_pair):
    t = ami_world
    member, clinic, foreign = filed_pair
    pre_candidature_decide(domain=domain_of(member, "D2"), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    pre_candidature_decide(domain=domain_of(clinic, "D4"), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    pre_candidature_decide(domain=domain_of(member, "D3"), decision=Decision.REJECTED, reason="Plus tard", by=t.ars_a)
    pre_candidature_decide(domain=domain_of(foreign, "D2"), decision=Decision.PRESELECTED, reason="", by=t.ars_b)
    client.force_login(t.ars_a)
    rows = csv_rows(client.get(PROGRAMMING_EXPORT, {"format": "csv"}))
    assert list(rows[0]) == [column.header for column in PROGRAMMING_COLUMNS]
    assert [(r["FINESS établissement"], r["Domaine"]) for r in rows] == sorted(
        [(t.member.finess, "D2"), (t.clinic.finess, "D4")]
    )
    d2 = next(r for r in rows if r["Domaine"] == "D2")
    assert (d2["Financement prévu (€)"], d2["Amorçage (€)"], d2["Année de l'amorçage"], d2["Usage (€)"], d2["Année de l'usage"]) == (
        "250000,00", "50000,00", "2019", "200000,00", "2021",
    )
    assert d2["Statut (public, privé, ESPIC)"] == "Public" and d2["Activités"] == "MCO"

    response = client.get(PROGRAMMING_EXPORT, {"format": "xlsx"})
    assert response["Content-Disposition"].startswith('attachment; filename="ami-programmation-32-')
    workbook = openpyxl.load_workbook(io.BytesIO(content(response)))
    assert workbook.sheetnames == ["Programmation", "Totaux"]
    totals = {(row[0], row[1]): row[2:] for row in workbook["Totaux"].iter_rows(min_row=2, values_only=True)}
    assert totals[("D2", 2019)] == (50000, 0, 50000) and totals[("D2", 2021)] == (0, 200000, 200000)
    assert totals[("Tous domaines", 2020)] == (40000, 0, 40000)  # the clinic filed late, in 2020
    assert totals[("Total général", None)] == (90000, 360000, 450000)
    assert Decimal(str(totals[("Total D4", None)][2])) == Decimal("200000")

    client.force_login(t.dgos)
    rows = csv_rows(client.get(PROGRAMMING_EXPORT, {"format": "csv"}))
    assert len(rows) == 3
    rows = csv_rows(client.get(PROGRAMMING_EXPORT, {"format": "csv", "region": "53"}))
    assert [r["FINESS établissement"] for r in rows] == [t.foreign.finess]


def test_programming_export_uses_a_constant_number_of_queries(client, ami_world):
    t = ami_world
    client.force_login(t.ars_a)
    bulk_filed(t.region_a, 3, decision=Decision.PRESELECTED)
    few = query_count(client, PROGRAMMING_EXPORT, format="xlsx")
    bulk_filed(t.region_a, 30, decision=Decision.PRESELECTED)
    assert query_count(client, PROGRAMMING_EXPORT, format="xlsx") == few
    assert query_count(client, PROGRAMMING_EXPORT, format="csv") <= few

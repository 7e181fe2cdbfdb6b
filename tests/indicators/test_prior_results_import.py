"""Issue 13 part 1: import of earlier-programme results (Hôpital numérique, §5.3.1 note 3 « l'export des indicateurs
HN de l'oSIS faisant foi ») by the DGOS and the platform administrator, with the experience of the bulk entry:
template, dry run listing every change and bad line, all-or-nothing confirmation, audit, idempotent re-import."""

import csv
import datetime
import hashlib
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hopen.audit import verify_chain
from hopen.models import AuditRecord
from indicators.models import PriorProgrammeResult
from indicators.referential_import import engine
from tests.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db

HEADER = ["finess", "programme", "result", "domain", "achieved", "achieved_on", "amount", "source"]
API = "/api/v1/prior-results/import/"


def csv_bytes(rows, delimiter=";", encoding="utf-8", header=HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def good_rows(establishment):
    return [
        [establishment.finess, "HN", "prerequisites_reached", "", "oui", "30/06/2017", "", "export oSIS du 01/03/2019"],
        [establishment.finess, "HN", "indicators_complete", "", "oui", "", "", "export oSIS du 01/03/2019"],
        [establishment.finess, "HN", "usage_targets_reached", "D2", "non", "", "", ""],
        [establishment.finess, "hn", "Financement reçu (domaine)", "d3", "oui", "2018-12-31", "150 000,50", ""],
    ]


def post(client, content, name="resultats.csv", dry_run="true"):
    return client.post(API, {"file": SimpleUploadedFile(name, content), "dry_run": dry_run})


@pytest.fixture
def dgos_client(client, tenants, catalogue):
    client.force_login(tenants.dgos)
    return client


# --- The API, as the issue's « done when » reads ----------------------------------------------------------------


def test_dry_run_with_a_bad_line_then_corrected_file_then_reimport(dgos_client, tenants):
    rows = good_rows(tenants.member)
    bad = rows[:2] + [[tenants.member.finess, "HN", "usage_targets_reached", "D2", "peut-être", "", "", ""]] + rows[3:]
    audits = AuditRecord.objects.count()

    response = post(dgos_client, csv_bytes(bad), dry_run="false")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"line": 4, "message": "achieved « peut-être » : répondez oui ou non"}]
    response = post(dgos_client, csv_bytes(bad))
    assert response.status_code == 200
    assert response.json() == {
        "created": 3, "updated": 0, "unchanged": 0, "dry_run": True,
        "errors": [{"line": 4, "message": "achieved « peut-être » : répondez oui ou non"}],
    }
    assert PriorProgrammeResult.objects.count() == 0 and AuditRecord.objects.count() == audits

    response = post(dgos_client, csv_bytes(rows))  # dry run of the corrected file: still nothing written
    assert response.json() == {"created": 4, "updated": 0, "unchanged": 0, "errors": [], "dry_run": True}
    assert PriorProgrammeResult.objects.count() == 0

    response = post(dgos_client, csv_bytes(rows), dry_run="false")
    assert response.status_code == 200
    assert response.json() == {"created": 4, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False}
    funding = PriorProgrammeResult.objects.get(kind="funding_received")
    assert (funding.programme.code, funding.domain_code, funding.achieved, funding.achieved_on, funding.amount) == (
        "HN", "D3", True, datetime.date(2018, 12, 31), Decimal("150000.50")
    )
    records = AuditRecord.objects.filter(action="prior_result.import.create")
    assert records.count() == 4
    assert records.get(object_id=str(funding.pk)).changes["amount"] == [None, "150000.50"]
    assert verify_chain()[1] == []  # records written with COPY chain like the others

    response = post(dgos_client, csv_bytes(rows), dry_run="false")
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 4, "errors": [], "dry_run": False}
    assert PriorProgrammeResult.objects.count() == 4 and AuditRecord.objects.count() == audits + 4


def test_a_changed_result_is_updated_and_audited(dgos_client, tenants):
    rows = good_rows(tenants.member)
    post(dgos_client, csv_bytes(rows), dry_run="false")
    rows[2][4] = "oui"
    response = post(dgos_client, csv_bytes(rows), dry_run="false")
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 3, "errors": [], "dry_run": False}
    result = PriorProgrammeResult.objects.get(kind="usage_targets_reached")
    assert result.achieved is True
    record = AuditRecord.objects.get(action="prior_result.import.update")
    assert record.object_id == str(result.pk) and record.changes["achieved"] == [False, True]


@pytest.mark.parametrize("role", ["ars_a", "editor", "director", "ght_director", "auditor"])
def test_other_roles_get_403_without_the_file_being_read(client, tenants, catalogue, role, monkeypatch):
    def must_not_read(*args, **kwargs):
        raise AssertionError("file read before the permission check")

    monkeypatch.setattr(engine, "read_lines", must_not_read)
    client.force_login(getattr(tenants, role))
    assert post(client, csv_bytes(good_rows(tenants.member)), dry_run="false").status_code == 403
    assert client.get(reverse("indicators:prior_results_import")).status_code == 403
    assert client.get(reverse("indicators:prior_results_template", kwargs={"fmt": "csv"})).status_code == 403
    assert client.get(reverse("indicators:referentials_home")).status_code == 403
    assert PriorProgrammeResult.objects.count() == 0


def test_platform_administrator_may_import(client, tenants, catalogue):
    client.force_login(tenants.admin)
    response = post(client, csv_bytes(good_rows(tenants.member)), dry_run="false")
    assert response.status_code == 200 and response.json()["created"] == 4


def test_anonymous_gets_no_access(client, tenants, catalogue):
    assert post(client, csv_bytes(good_rows(tenants.member))).status_code in (401, 403)


# --- Each bad line, with its number and reason -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (["999999999", "HN", "prerequisites_reached", "", "oui", "", "", ""], "finess « 999999999 » inconnu"),
        (["{finess}", "XX", "prerequisites_reached", "", "oui", "", "", ""], "programme « XX » inconnu"),
        (["{finess}", "HN", "tout_bon", "", "oui", "", "", ""], "result « tout_bon » inconnu"),
        (["{finess}", "HN", "funding_received", "", "oui", "", "", ""], "domain : obligatoire pour ce résultat"),
        (["{finess}", "HN", "prerequisites_reached", "D1", "oui", "", "", ""], "domain « D1 » : à laisser vide"),
        (["{finess}", "HN", "prerequisites_reached", "", "", "", "", ""], "achieved : colonne vide"),
        (["{finess}", "HN", "prerequisites_reached", "", "oui", "31/02/2017", "", ""], "n'est pas une date valide"),
        (["{finess}", "HN", "prerequisites_reached", "", "oui", "01/01/2999", "", ""], "est dans le futur"),
        (["{finess}", "HN", "funding_received", "D1", "oui", "", "-5", ""], "n'est pas un montant en euros"),
        (["{finess}", "HN", "funding_received", "D1", "oui", "", "12,345", ""], "au plus 2 décimales"),
        (["{finess}", "HN", "prerequisites_reached", "", "oui", "", "", "x" * 201], "source : 201 caractères"),
        (["{finess}", "HN", "prerequisites_reached", "", "=1+1", "", "", ""], "les formules ne sont pas acceptées"),
        (["{finess}", "HN", "=HYPERLINK(\"x\")", "", "oui", "", "", ""], "result : « =HYPERLINK"),
    ],
)
def test_each_bad_line_is_listed_with_its_number_and_reason(dgos_client, tenants, row, expected):
    row = [cell.format(finess=tenants.member.finess) for cell in row]
    content = csv_bytes([[tenants.member.finess, "HN", "indicators_complete", "", "oui", "", "", ""], row])
    report = post(dgos_client, content, dry_run="false").json()
    assert [error["line"] for error in report["errors"]] == [3]
    assert expected in report["errors"][0]["message"]
    assert PriorProgrammeResult.objects.count() == 0


def test_duplicate_line_is_an_error(dgos_client, tenants):
    row = [tenants.member.finess, "HN", "usage_targets_reached", "D2", "oui", "", "", ""]
    same = [tenants.member.finess.lstrip("0") or tenants.member.finess, "hn", "Cibles d'usage atteintes", "d2", "non", "", "", ""]
    report = post(dgos_client, csv_bytes([row, same])).json()
    assert report["errors"] == [{"line": 3, "message": "doublon de la ligne 2"}]


def test_french_labels_comma_separator_latin1_and_leading_zero(dgos_client, tenants):
    establishment = EstablishmentFactory(region=tenants.region_a, finess="010000024")
    rows = [
        ["10000024", "HN", "Prérequis atteints", "", "Oui", "30/06/2017", "", "Export oSIS - août"],
        ["010000024", "HN", "Indicateurs entièrement saisis", "", "non", "", "", ""],
    ]
    response = post(dgos_client, csv_bytes(rows, delimiter=",", encoding="latin-1"), dry_run="false")
    assert response.json()["created"] == 2, response.json()
    assert set(establishment.prior_results.values_list("kind", flat=True)) == {
        "prerequisites_reached", "indicators_complete"
    }
    assert establishment.prior_results.get(kind="prerequisites_reached").source == "Export oSIS - août"


def test_xlsx_file_is_read_and_its_formulas_refused(dgos_client, tenants):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([tenants.member.finess, "HN", "prerequisites_reached", None, "oui", datetime.date(2017, 6, 30)])
    sheet.append([tenants.member.finess, "HN", "funding_received", "D1", "oui", None, "=1000*2"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = post(dgos_client, buffer.getvalue(), name="hn.xlsx").json()
    assert report["created"] == 1
    assert report["errors"] == [
        {"line": 3, "message": "amount : « =1000*2 » commence par « = » : les formules ne sont pas acceptées, "
                               "saisissez la valeur elle-même ; amount « =1000*2 » n'est pas un montant en euros "
                               "(par exemple 150000,00)"}
    ]
    sheet["G3"] = 2000
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = post(dgos_client, buffer.getvalue(), name="hn.xlsx", dry_run="false").json()
    assert (report["created"], report["errors"]) == (2, [])
    assert PriorProgrammeResult.objects.get(kind="prerequisites_reached").achieved_on == datetime.date(2017, 6, 30)


# --- Whole-file problems: a clear French message, nothing written ------------------------------------------------


def _hundred_thousand_lines(finess):
    row = f"{finess};HN;prerequisites_reached;;oui;;;\r\n"
    return (";".join(HEADER) + "\r\n" + row * 100_000).encode()


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (lambda finess: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "resultats.pdf", "ni un fichier CSV ni un classeur"),
        (lambda finess: b"\x89PNG\r\n\x1a\n\x00\x00", "resultats.csv", "ni un fichier CSV ni un classeur"),
        (lambda finess: ";".join(HEADER).encode("utf-16"), "resultats.csv", "encodages acceptés : UTF-8, Latin-1"),
        (lambda finess: b"", "resultats.csv", "vide"),
        (lambda finess: (";".join(HEADER) + "\r\n").encode(), "resultats.csv", "aucune ligne"),
        (lambda finess: b"PK\x03\x04 pas un classeur", "resultats.xlsx", "Fichier Excel illisible"),
        (lambda finess: b"finess;programme\r\nx;HN\r\n", "resultats.csv", "colonne(s) manquante(s) en ligne 1 : result"),
        (_hundred_thousand_lines, "resultats.csv", "plus de 70000 lignes"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(dgos_client, tenants, make, name, expected):
    response = post(dgos_client, make(tenants.member.finess), name=name, dry_run="false")
    assert response.status_code == 400
    body = response.json()
    assert expected in body["detail"], body["detail"]
    assert body["errors"] == [{"line": None, "message": body["detail"]}]
    assert PriorProgrammeResult.objects.count() == 0


def test_missing_file_and_bad_dry_run_flag(dgos_client, tenants):
    assert dgos_client.post(API, {"dry_run": "false"}).status_code == 400
    response = post(dgos_client, csv_bytes(good_rows(tenants.member)), dry_run="peut-etre")
    assert response.status_code == 400 and "dry_run" in response.json()["detail"]


# --- Queries: a fixed number whatever the number of lines ------------------------------------------------------


def _rows(establishments):
    kinds = [("prerequisites_reached", ""), ("indicators_complete", ""), *[("usage_targets_reached", f"D{n}") for n in range(1, 6)],
             *[("funding_received", f"D{n}") for n in range(1, 6)]]
    rows = [[e.finess, "HN", kind, domain, "oui", "", "1000" if kind == "funding_received" else "", "oSIS"]
            for e in establishments for kind, domain in kinds]
    return rows


@pytest.mark.parametrize("count", [1, 17])  # 12 then 204 lines
def test_query_count_does_not_grow_with_the_lines(dgos_client, tenants, count, django_assert_max_num_queries):
    establishments = [EstablishmentFactory(region=tenants.region_a) for _ in range(count)]
    content = csv_bytes(_rows(establishments))
    with django_assert_max_num_queries(16):
        assert post(dgos_client, content).json()["created"] == 12 * count
    with django_assert_max_num_queries(22):
        assert post(dgos_client, content, dry_run="false").json()["created"] == 12 * count
    changed = [row[:4] + ["non"] + row[5:] for row in _rows(establishments)]
    with django_assert_max_num_queries(22):
        assert post(dgos_client, csv_bytes(changed), dry_run="false").json()["updated"] == 12 * count


# --- The pages ---------------------------------------------------------------------------------------------------


def test_template_has_exactly_the_header(dgos_client):
    response = dgos_client.get(reverse("indicators:prior_results_template", kwargs={"fmt": "csv"}))
    assert response.status_code == 200
    assert response.content.decode("utf-8") == "\ufefffiness;programme;result;domain;achieved;achieved_on;amount;source\r\n"
    response = dgos_client.get(reverse("indicators:prior_results_template", kwargs={"fmt": "xlsx"}))
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)] == [HEADER]


def test_page_dry_run_then_confirmation(dgos_client, tenants):
    url = reverse("indicators:prior_results_import")
    page = dgos_client.get(url).content.decode()
    assert "modele.csv" in page and "finess;programme;result;domain;achieved;achieved_on;amount;source" in page
    content = csv_bytes(good_rows(tenants.member))
    response = dgos_client.post(url, {"action": "verifier", "fichier": SimpleUploadedFile("hn.csv", content)})
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 créations, 0 modification, 0 ligne inchangée" in html and "formulaire-confirmation" in html
    assert PriorProgrammeResult.objects.count() == 0
    response = dgos_client.post(url, {"action": "confirmer", "sha256": "0" * 64})
    assert response.status_code == 302 and PriorProgrammeResult.objects.count() == 0
    response = dgos_client.post(url, {"action": "confirmer", "sha256": hashlib.sha256(content).hexdigest()})
    assert response.status_code == 302
    assert PriorProgrammeResult.objects.count() == 4
    # The pending file is consumed: confirming twice writes nothing more.
    response = dgos_client.post(url, {"action": "confirmer", "sha256": hashlib.sha256(content).hexdigest()})
    assert response.status_code == 302 and AuditRecord.objects.filter(action__startswith="prior_result.import").count() == 4


def test_page_lists_bad_lines_and_offers_no_confirmation(dgos_client, tenants):
    url = reverse("indicators:prior_results_import")
    rows = good_rows(tenants.member) + [["123456789", "HN", "prerequisites_reached", "", "oui", "", "", ""]]
    response = dgos_client.post(url, {"action": "verifier", "fichier": SimpleUploadedFile("hn.csv", csv_bytes(rows))})
    html = response.content.decode()
    assert "1 ligne en erreur" in html and "finess « 123456789 » inconnu" in html
    assert "formulaire-confirmation" not in html
    response = dgos_client.post(url, {"action": "verifier", "fichier": SimpleUploadedFile("x.pdf", b"%PDF-1.7")})
    assert response.status_code == 400 and "ni un fichier CSV ni un classeur" in response.content.decode()


def test_navigation_shows_referentials_to_those_who_may_import(client, tenants, catalogue):
    cache.clear()
    client.force_login(tenants.dgos)
    assert "lien-referentiels" in client.get(reverse("indicators:referentials_home")).content.decode()
    client.force_login(tenants.ars_a)
    assert "lien-referentiels" not in client.get(reverse("home")).content.decode()

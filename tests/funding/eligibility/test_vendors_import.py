"""Issue 13 part 2: the RELIMS software-vendor referential and its QHN engagement (§5.3.1), imported by the DGOS and
the platform administrator with the same engine as the prior results; the dossier form then offers the vendors."""

import csv
import hashlib
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from funding.dossiers.forms import DossierCreateForm
from funding.eligibility.models import SoftwareVendor
from hopen.models import AuditRecord
from indicators.referential_import import engine

pytestmark = pytest.mark.django_db

HEADER = ["name", "relims_reference", "qhn_engaged", "source"]
API = "/api/v1/software-vendors/import/"
ROWS = [
    ["Éditeur Alpha", "RELIMS-0001", "oui", "export RELIMS du 15/01/2019"],
    ["Beta Santé", "RELIMS-0002", "non", "export RELIMS du 15/01/2019"],
    ["Gamma  Informatique", "", "non", ""],
]


def csv_bytes(rows, delimiter=";", encoding="utf-8", header=HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def post(client, content, name="editeurs.csv", dry_run="true"):
    return client.post(API, {"file": SimpleUploadedFile(name, content), "dry_run": dry_run})


@pytest.fixture
def dgos_client(client, tenants):
    client.force_login(tenants.dgos)
    return client


def test_dry_run_bad_line_then_import_then_idempotent_reimport(dgos_client):
    bad = ROWS + [["Delta", "RELIMS-0004", "bientôt", ""]]
    response = post(dgos_client, csv_bytes(bad))
    assert response.json() == {
        "created": 3, "updated": 0, "unchanged": 0, "dry_run": True,
        "errors": [{"line": 5, "message": "qhn_engaged « bientôt » : répondez oui ou non"}],
    }
    assert post(dgos_client, csv_bytes(bad), dry_run="false").status_code == 400
    assert SoftwareVendor.objects.count() == 0

    response = post(dgos_client, csv_bytes(ROWS), dry_run="false")
    assert response.json() == {"created": 3, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False}
    alpha = SoftwareVendor.objects.get(name="Éditeur Alpha")
    assert (alpha.relims_reference, alpha.qhn_engaged, alpha.is_referenced) == ("RELIMS-0001", True, True)
    assert SoftwareVendor.objects.filter(name="Gamma Informatique", relims_reference="").exists()
    record = AuditRecord.objects.get(action="software_vendor.import.create", object_id=str(alpha.pk))
    assert record.changes["source"] == [None, "export RELIMS du 15/01/2019"]

    response = post(dgos_client, csv_bytes(ROWS), dry_run="false")
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 3, "errors": [], "dry_run": False}

    changed = [["Beta Santé", "RELIMS-0002", "oui", "export RELIMS du 01/06/2019"]]
    response = post(dgos_client, csv_bytes(changed), dry_run="false")
    assert response.json()["updated"] == 1
    record = AuditRecord.objects.get(action="software_vendor.import.update")
    assert record.changes["qhn_engaged"] == [False, True]
    assert SoftwareVendor.objects.count() == 3  # a vendor absent from the file is not deleted


def test_dossier_form_offers_the_imported_vendors(dgos_client, tenants):
    post(dgos_client, csv_bytes(ROWS), dry_run="false")
    form = DossierCreateForm(establishment=tenants.member)
    choices = [label for _, label in form.fields["D1_vendors"].choices]
    assert choices == ["Beta Santé", "Gamma Informatique", "Éditeur Alpha"]


@pytest.mark.parametrize("role", ["ars_a", "editor", "director", "auditor"])
def test_other_roles_get_403(client, tenants, role, monkeypatch):
    monkeypatch.setattr(engine, "read_lines", lambda *a, **k: pytest.fail("file read before the permission check"))
    client.force_login(getattr(tenants, role))
    assert post(client, csv_bytes(ROWS), dry_run="false").status_code == 403
    assert client.get(reverse("funding:vendors_import")).status_code == 403
    assert client.get(reverse("funding:vendors_template", kwargs={"fmt": "xlsx"})).status_code == 403
    assert SoftwareVendor.objects.count() == 0


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["", "RELIMS-9", "oui", ""]], "name : colonne vide"),
        ([["X" * 201, "", "oui", ""]], "name : 201 caractères"),
        ([["Zeta", "R" * 41, "oui", ""]], "40 caractères au plus"),
        ([["Zeta", "", "", ""]], "qhn_engaged : colonne vide"),
        ([["=cmd|' /C calc'!A0", "", "oui", ""]], "les formules ne sont pas acceptées"),
        ([["Zeta", "", "oui", ""], ["Zeta", "R-1", "non", ""]], "doublon de la ligne 2"),
    ],
)
def test_bad_lines(dgos_client, rows, expected):
    report = post(dgos_client, csv_bytes(rows), dry_run="false").json()
    assert expected in report["errors"][0]["message"]
    assert report["errors"][0]["line"] == len(rows) + 1
    assert SoftwareVendor.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"", "editeurs.csv", "vide"),
        (b"%PDF-1.4", "editeurs.pdf", "ni un fichier CSV ni un classeur"),
        ("name;qhn_engaged".encode("utf-32"), "editeurs.csv", "UTF-8, Latin-1"),
        (b"nom;engage\r\nA;oui\r\n", "editeurs.csv", "colonne(s) manquante(s) en ligne 1 : name, qhn_engaged"),
        (b"name;qhn_engaged\r\n" + b"A;oui\r\n" * 20_001, "editeurs.csv", "plus de 20000 lignes"),
    ],
)
def test_unusable_files(dgos_client, content, name, expected):
    response = post(dgos_client, content, name=name, dry_run="false")
    assert response.status_code == 400 and expected in response.json()["detail"]
    assert SoftwareVendor.objects.count() == 0


def test_template_and_page_flow(client, tenants):
    client.force_login(tenants.admin)
    response = client.get(reverse("funding:vendors_template", kwargs={"fmt": "csv"}))
    assert response.content.decode() == "\ufeffname;relims_reference;qhn_engaged;source\r\n"
    response = client.get(reverse("funding:vendors_template", kwargs={"fmt": "xlsx"}))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [HEADER]

    url = reverse("funding:vendors_import")
    assert "0 éditeur dans le référentiel" in client.get(url).content.decode()
    content = csv_bytes(ROWS, delimiter=",", encoding="latin-1")
    html = client.post(url, {"action": "verifier", "fichier": SimpleUploadedFile("e.csv", content)}).content.decode()
    assert "3 créations" in html and SoftwareVendor.objects.count() == 0
    response = client.post(url, {"action": "confirmer", "sha256": hashlib.sha256(content).hexdigest()})
    assert response.status_code == 302
    assert "3 éditeurs dans le référentiel" in client.get(url).content.decode()
    home = client.get(reverse("indicators:referentials_home")).content.decode()
    assert reverse("funding:vendors_import") in home and reverse("indicators:prior_results_import") in home

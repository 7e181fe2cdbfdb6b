"""Bulk entry of indicator values: template download, upload, dry-run, confirmation.

§5.3.1 of the instruction (../shared/reference/000_eb8a7a77b11ba617.txt) measures the prerequisites "via la saisie
par l'établissement / GHT de la valeur des indicateurs" of annex 1 (41 indicators in the catalogue in force); the
permission policy lets the GHT's support director enter its members' values. Rules of the issue: nothing is written
unless the whole file is valid; each bad line is shown with its number (header = line 1) and reason; values written
are drafts (declaring stays with the director); a declared value is corrected on the indicator page, not by import.
"""

import csv
import datetime
import hashlib
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hopen.exceptions import ApplicationError
from hopen.models import AuditRecord
from indicators.bulk import applying, parsing, planning
from indicators.models import IndicatorValue, ValueStatus
from indicators.services import value_save_draft
from tests.factories import EstablishmentFactory, make_finess
from tests.indicators.conftest import declared, existence, hopen_programme, indicator, not_applicable, rate

pytestmark = pytest.mark.django_db

# The column names are a contract with the users' spreadsheets.
HEADERS = [
    "finess", "etablissement", "indicateur", "libelle", "nature_cible", "date_mesure", "nature_valeur",
    "numerateur", "denominateur", "existe", "description", "motif_non_applicable", "commentaire",
]
DAY = datetime.date(2020, 3, 15)


def template_url(establishment, fmt):
    return reverse("indicators:bulk_template", kwargs={"finess": establishment.finess, "fmt": fmt})


def import_url(establishment):
    return reverse("indicators:bulk_import", kwargs={"finess": establishment.finess})


def line(finess, code, date="15/03/2020", kind="", numerator="", denominator="", exists="", reason="", comment=""):
    return {
        "finess": finess, "indicateur": code, "date_mesure": date, "nature_valeur": kind, "numerateur": numerator,
        "denominateur": denominator, "existe": exists, "motif_non_applicable": reason, "commentaire": comment,
    }


def csv_bytes(rows, delimiter=";", bom=True, encoding="utf-8"):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADERS, delimiter=delimiter, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode(encoding)


def upload(client, establishment, content, name="indicateurs.csv"):
    return client.post(
        import_url(establishment), {"action": "verifier", "fichier": SimpleUploadedFile(name, content)}
    )


def confirm(client, establishment, content):
    return client.post(
        import_url(establishment), {"action": "confirmer", "sha256": hashlib.sha256(content).hexdigest()}
    )


def csv_rows(response):
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:], newline=""), delimiter=";"))


def plan_of(rows, user, **kwargs):
    kwargs.setdefault("programme", hopen_programme())
    return planning.bulk_plan(lines=parsing.bulk_parse(csv_bytes(rows), "f.csv"), by=user, **kwargs)


def messages_of(plan):
    return {error.line: error.message for error in plan.errors}


# --- Template -----------------------------------------------------------------------------------------------------


def test_csv_template_has_stable_headers_and_one_row_per_indicator(client, tenants, catalogue):
    client.force_login(tenants.editor)
    response = client.get(template_url(tenants.member, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate()
    assert f'filename="indicateurs-{tenants.member.finess}-{today:%Y-%m-%d}.csv"' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == HEADERS
    assert len(rows) == 1 + 41  # annex 1: 41 indicators in the catalogue in force
    assert {row[0] for row in rows[1:]} == {tenants.member.finess}
    assert [row[2] for row in rows[1:3]] == ["P1.1", "P1.2"] and rows[-1][2] == "D7.3"
    by_code = {row[2]: dict(zip(HEADERS, row)) for row in rows[1:]}
    assert by_code["P1.1"]["nature_cible"] == "taux" and by_code["P1.2"]["nature_cible"] == "existence"
    assert by_code["P1.1"]["etablissement"] == "CH Membre"
    assert by_code["P1.1"]["libelle"] == indicator("P1.1").label
    assert by_code["D1.1"]["nature_valeur"] == "" and by_code["D1.1"]["date_mesure"] == ""


def test_template_is_prefilled_with_the_draft_else_the_latest_declared_value(client, tenants, catalogue):
    people = {"editor": tenants.editor, "director": tenants.director}
    declared(tenants.member, "P1.1", rate(5, 10, day=datetime.date(2019, 6, 30)), **people)
    declared(tenants.member, "P1.1", rate(8, 10, day=datetime.date(2019, 12, 31), comment="=SOMME(A1)"), **people)
    declared(tenants.member, "P1.3", rate(1, 4), **people)
    value_save_draft(
        establishment=tenants.member, indicator=indicator("P1.3"), by=tenants.editor,
        data=rate(3, 4, day=datetime.date(2020, 1, 10), description="Suivi mensuel"),
    )
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.2"), data=existence(True), by=tenants.editor)
    value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=not_applicable(), by=tenants.editor)
    client.force_login(tenants.editor)
    by_code = {row[2]: dict(zip(HEADERS, row)) for row in csv_rows(client.get(template_url(tenants.member, "csv")))[1:]}

    latest_declared = by_code["P1.1"]
    assert (latest_declared["date_mesure"], latest_declared["nature_valeur"]) == ("31/12/2019", "taux")
    assert (latest_declared["numerateur"], latest_declared["denominateur"]) == ("8", "10")
    assert latest_declared["commentaire"] == "'=SOMME(A1)"  # not run as a formula by the spreadsheet
    draft_over_declared = by_code["P1.3"]
    assert (draft_over_declared["date_mesure"], draft_over_declared["numerateur"]) == ("10/01/2020", "3")
    assert draft_over_declared["description"] == "Suivi mensuel"
    assert (by_code["P1.2"]["nature_valeur"], by_code["P1.2"]["existe"]) == ("existence", "oui")
    assert by_code["D1.1"]["nature_valeur"] == "non_applicable"
    assert by_code["D1.1"]["motif_non_applicable"] == "Activité non réalisée dans l'établissement"


def test_xlsx_template_bold_frozen_header_real_dates_and_lists(client, tenants, catalogue):
    declared(tenants.member, "P1.1", rate(8, 10), editor=tenants.editor, director=tenants.director)
    client.force_login(tenants.editor)
    response = client.get(template_url(tenants.member, "xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"indicateurs-{tenants.member.finess}-" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook["Indicateurs"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 1 + 41
    first = {header: cell.value for header, cell in zip(HEADERS, sheet[2])}
    assert first["finess"] == tenants.member.finess and first["indicateur"] == "P1.1"
    assert first["date_mesure"].date() == DAY  # a real date cell, shown JJ/MM/AAAA
    assert sheet.cell(row=2, column=HEADERS.index("date_mesure") + 1).number_format == "DD/MM/YYYY"
    assert (first["numerateur"], first["denominateur"], first["nature_valeur"]) == (8, 10, "taux")
    lists = {validation.formula1: str(validation.sqref) for validation in sheet.data_validations.dataValidation}
    assert lists == {'"taux,existence,non_applicable"': "G2:G42", '"oui,non"': "J2:J42"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_round_trip_changes_nothing(client, tenants, catalogue, fmt):
    """An untouched template parses back to the same values: every prefilled line is "unchanged", no error —
    including a declared value (unchanged, so not refused), and the empty rows are ignored."""
    declared(tenants.member, "P1.1", rate(8, 10, comment="Ligne\r\nsur deux lignes ; avec « guillemets »"),
             editor=tenants.editor, director=tenants.director)
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.2"), data=existence(False), by=tenants.editor)
    value_save_draft(establishment=tenants.member, indicator=indicator("D2.2"), data=not_applicable(), by=tenants.editor)
    client.force_login(tenants.editor)
    content = client.get(template_url(tenants.member, fmt)).content

    lines = parsing.bulk_parse(content, f"modele.{fmt}")
    assert len(lines) == 41
    assert [entry.line for entry in lines] == list(range(2, 43))
    entries = {entry.indicator_code: entry for entry in lines if not entry.is_ignored}
    assert set(entries) == {"P1.1", "P1.2", "D2.2"}
    assert entries["P1.1"].measured_on == "15/03/2020" and entries["P1.1"].numerator == "8"
    assert entries["P1.1"].comment == "Ligne\nsur deux lignes ; avec « guillemets »"
    assert entries["P1.2"].exists == "non"

    plan = planning.bulk_plan(lines=lines, by=tenants.editor, programme=hopen_programme())
    assert plan.is_valid, messages_of(plan)
    assert [change.action for change in plan.changes] == ["unchanged"] * 3
    assert plan.writes == []


def test_parse_accepts_comma_separator_without_bom_windows_1252_and_lost_leading_zero(tenants, catalogue):
    support_02 = EstablishmentFactory(finess=make_finess("02"), region=tenants.region_a)
    rows = [line(support_02.finess.lstrip("0"), "P1.2", kind="Existence", exists="Oui", comment="Créé à Évreux")]
    for content in (csv_bytes(rows, delimiter=",", bom=False), csv_bytes(rows, bom=False, encoding="cp1252")):
        [parsed] = parsing.bulk_parse(content, "export.csv")
        assert parsed.comment == "Créé à Évreux"
        assert parsing.normalized_finess(parsed.finess) == support_02.finess
        plan = planning.bulk_plan(
            lines=[parsed], by=tenants.editor, programme=hopen_programme(), establishments=[support_02]
        )
        assert plan.errors[0].messages == [f"finess « {parsed.finess} » : {planning.OUT_OF_SCOPE}"]  # not the editor's


def test_parse_xlsx_dates_as_text_or_real_dates_and_numbers_as_floats(tenants, catalogue):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append([tenants.member.finess, "", "P1.1", "", "", datetime.datetime(2020, 3, 15), "taux", 8.0, 10])
    sheet.append([int(tenants.member.finess), "", "P1.3", "", "", "16/03/2020", "taux", 1, 2])
    sheet.append([None] * 3)  # a blank row is skipped, the numbering keeps the spreadsheet's
    sheet.append([tenants.member.finess, "", "P1.2", "", "", 43906, "existence", None, None, "non"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    lines = parsing.bulk_parse(buffer.getvalue(), "saisie.xlsx")
    assert [(entry.line, entry.measured_on, entry.numerator) for entry in lines] == [
        (2, "15/03/2020", "8"), (3, "16/03/2020", "1"), (5, "16/03/2020", ""),
    ]
    plan = planning.bulk_plan(lines=lines, by=tenants.editor, programme=hopen_programme())
    assert plan.is_valid, messages_of(plan)
    assert [change.action for change in plan.changes] == ["create"] * 3


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"PK\x03\x04 pas un classeur", "saisie.xlsx", "Fichier Excel illisible"),
        (b"\xd0\xcf\x11\xe0 ancien format", "saisie.xls", "Excel 97-2003 (.xls)"),
        (b"", "vide.csv", "Le fichier est vide."),
        ("nom;valeur\nx;1\n".encode(), "autre.csv", "colonne(s) manquante(s) en ligne 1 : finess, indicateur"),
        (b"finess;indicateur;date_mesure;nature_valeur\n" + b"x" * 200_000 + b"\n", "long.csv", "Fichier CSV illisible"),
    ],
)
def test_unusable_files_get_a_clear_message(tenants, catalogue, content, name, expected):
    with pytest.raises(ApplicationError) as raised:
        parsing.bulk_parse(content, name)
    assert expected in raised.value.message


def test_too_large_file_is_refused_before_reading(client, tenants, catalogue, settings):
    settings.EVIDENCE_MAX_UPLOAD_SIZE = 200
    client.force_login(tenants.editor)
    content = csv_bytes([line(tenants.member.finess, "P1.1", kind="taux", numerator="1", denominator="2")] * 5)
    response = upload(client, tenants.member, content)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Le fichier dépasse la taille maximale autorisée (200 octets)" in html and "fr-alert--error" in html
    assert not IndicatorValue.objects.exists()


# --- Checking lines -------------------------------------------------------------------------------------------------


def test_one_bad_line_writes_nothing_and_shows_its_number_and_reason(client, tenants, catalogue):
    finess = tenants.member.finess
    content = csv_bytes([
        line(finess, "P1.1", kind="taux", numerator="8", denominator="10"),
        line(finess, "P1.2", kind="existence", exists="oui"),
        line(finess, "P1.3", kind="taux", numerator="12", denominator="10"),
        line(finess, "D1.1", kind="non_applicable", reason="Pas de bloc opératoire"),
    ])
    client.force_login(tenants.editor)
    audit_before = AuditRecord.objects.count()
    response = upload(client, tenants.member, content)
    html = response.content.decode()
    assert response.status_code == 200
    assert "fr-alert--error" in html and "1 ligne en erreur : rien ne sera enregistré" in html
    assert '<td class="hopen-number">4</td>' in html
    assert "numerateur : Le numérateur ne peut pas dépasser le dénominateur." in html
    assert 'name="action" value="confirmer"' not in html
    # Confirming anyway (a forged request) writes nothing: no file is pending.
    response = confirm(client, tenants.member, content)
    assert response.status_code == 302
    assert not IndicatorValue.objects.exists()
    assert AuditRecord.objects.count() == audit_before


def test_bad_dates_numbers_codes_and_kinds_are_line_errors(tenants, catalogue):
    finess = tenants.member.finess
    future = (timezone.localdate() + datetime.timedelta(days=2)).strftime("%d/%m/%Y")
    plan = plan_of([
        line(finess, "P1.1", date="31/02/2020", kind="taux", numerator="1", denominator="2"),
        line(finess, "P1.1", date="16/03/2020", kind="taux", numerator="huit", denominator="10"),
        line(finess, "P9.9", kind="taux", numerator="1", denominator="2"),
        line(finess, "P1.2", kind="pourcentage"),
        line(finess, "P1.2", date="", kind="existence", exists="peut-être"),
        line(finess, "P1.1", date=future, kind="taux", numerator="1", denominator="2"),
        line(finess, "P1.2", date="17/03/2020", kind="non_applicable", reason="Sans objet"),
        line(finess, "P1.4", date="17/03/2020", kind="taux", numerator="1", denominator="2"),
        line(finess, "D1.2", date="17/03/2020", kind="non_applicable"),
        line(finess, "P1.3", date="17/03/2020", kind="taux", numerator="1"),
    ], tenants.editor)
    assert messages_of(plan) == {
        2: "date_mesure : « 31/02/2020 » n'est pas une date valide (JJ/MM/AAAA)",
        3: "numerateur : « huit » n'est pas un nombre entier",
        4: "indicateur « P9.9 » inconnu dans le catalogue en vigueur",
        5: "nature_valeur : « pourcentage » inconnue (taux, existence ou non_applicable)",
        6: "date_mesure : la date de mesure est obligatoire (JJ/MM/AAAA) ; existe : « peut-être » — répondez oui ou non",
        7: "date_mesure : La date de mesure ne peut pas être dans le futur.",
        8: "nature_valeur : L'indicateur P1.2 ne peut pas être déclaré non applicable.",
        9: "nature_valeur : L'indicateur P1.4 attend oui ou non (existence).",
        10: "motif_non_applicable : Le motif de non-applicabilité est obligatoire.",
        11: "denominateur : Le dénominateur doit être un entier strictement positif.",
    }
    assert plan.changes == []


def test_duplicate_lines_are_refused(tenants, catalogue):
    finess = tenants.member.finess
    plan = plan_of([
        line(finess, "P1.1", kind="taux", numerator="1", denominator="2"),
        line(finess, "P1.1", date="16/03/2020", kind="taux", numerator="1", denominator="2"),
        line(finess, "p1.1", date="15/3/2020", kind="taux", numerator="2", denominator="2"),
    ], tenants.editor)
    assert messages_of(plan) == {
        4: "doublon de la ligne 2 (même établissement, indicateur et date de mesure)",
    }


def test_finess_outside_the_perimeter_never_reveals_whether_it_exists(client, tenants, catalogue):
    """The foreign hospital, the GHT's support (readable by nobody here), and a FINESS that exists nowhere get the
    same message; the editor's own lines are fine but nothing is written."""
    unknown = make_finess("98")
    content = csv_bytes([
        line(tenants.member.finess, "P1.1", kind="taux", numerator="1", denominator="2"),
        line(tenants.foreign.finess, "P1.1", kind="taux", numerator="1", denominator="2"),
        line(tenants.support.finess, "P1.1", kind="taux", numerator="1", denominator="2"),
        line(unknown, "P1.1", kind="taux", numerator="1", denominator="2"),
    ])
    client.force_login(tenants.editor)
    html = upload(client, tenants.member, content).content.decode()
    for finess in (tenants.foreign.finess, tenants.support.finess, unknown):
        assert f"finess « {finess} » : établissement inconnu ou hors de votre périmètre" in html
    assert "CH de Bretagne" not in html and "CH Support" not in html
    assert "3 lignes en erreur" in html
    assert not IndicatorValue.objects.exists()


def test_a_declared_value_is_corrected_on_the_indicator_page_not_by_import(tenants, catalogue):
    declared(tenants.member, "P1.1", rate(8, 10), editor=tenants.editor, director=tenants.director)
    finess = tenants.member.finess
    plan = plan_of([
        line(finess, "P1.1", kind="taux", numerator="9", denominator="10"),
    ], tenants.editor)
    assert messages_of(plan) == {2: "déjà déclarée : corrigez-la depuis la page de l'indicateur"}
    assert plan.errors[0].correct_on == (finess, "P1.1")  # the page links to the indicator page
    # The same figures as declared: nothing to change, not an error (an untouched template stays valid).
    plan = plan_of([line(finess, "P1.1", kind="taux", numerator="8", denominator="10")], tenants.editor)
    assert plan.is_valid and plan.changes[0].action_label == "Inchangée (déjà déclarée)"
    # Another date of measurement is a new draft.
    plan = plan_of([line(finess, "P1.1", date="30/06/2020", kind="taux", numerator="9", denominator="10")], tenants.editor)
    assert plan.is_valid and plan.changes[0].action == "create"


def test_lines_without_nature_are_ignored_and_those_with_figures_are_listed(client, tenants, catalogue):
    finess = tenants.member.finess
    content = csv_bytes([
        line(finess, "P1.1", date=""),
        line(finess, "P1.2", kind="existence", exists="oui"),
        line(finess, "P1.3", numerator="3", denominator="4"),
    ])
    client.force_login(tenants.editor)
    html = upload(client, tenants.member, content).content.decode()
    assert "fr-alert--error" not in html
    assert "Ligne ignorée car <code>nature_valeur</code> est vide alors que des valeurs sont remplies : 4." in html
    assert "1 nouveau brouillon" in html


# --- Dry-run and confirmation ---------------------------------------------------------------------------------------


def test_dry_run_writes_nothing_then_confirmation_creates_audited_drafts(client, tenants, catalogue):
    finess = tenants.member.finess
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.3"), data=rate(5, 10), by=tenants.director)
    content = csv_bytes([
        line(finess, "P1.1", kind="taux", numerator="8", denominator="10", comment="Audit interne"),
        line(finess, "P1.2", kind="existence", exists="non"),
        line(finess, "P1.3", kind="taux", numerator="7", denominator="10"),
        line(finess, "D1.1", kind="non_applicable", reason="Pas de bloc opératoire"),
    ])
    client.force_login(tenants.editor)
    values_before, audit_before = IndicatorValue.objects.count(), AuditRecord.objects.count()

    html = upload(client, tenants.member, content).content.decode()
    assert (IndicatorValue.objects.count(), AuditRecord.objects.count()) == (values_before, audit_before)
    assert "3 nouveaux brouillons, 1 brouillon modifié, 0 ligne inchangée." in html
    assert html.count("Nouveau brouillon") == 3
    assert "numérateur : 5 → 7" in html
    assert "80,0 % (8 / 10)" in html
    assert "Enregistrer 4 brouillons" in html

    response = confirm(client, tenants.member, content)
    assert response.status_code == 302 and response["Location"] == import_url(tenants.member)
    drafts = {value.indicator.code: value for value in IndicatorValue.objects.select_related("indicator")}
    assert set(drafts) == {"P1.1", "P1.2", "P1.3", "D1.1"}
    assert {value.status for value in drafts.values()} == {ValueStatus.DRAFT}
    assert (drafts["P1.1"].numerator, drafts["P1.1"].comment, drafts["P1.1"].created_by) == (8, "Audit interne", tenants.editor)
    assert drafts["P1.2"].exists is False
    assert (drafts["P1.3"].numerator, drafts["P1.3"].created_by) == (7, tenants.director)  # the same draft, updated
    records = AuditRecord.objects.filter(pk__gt=AuditRecord.objects.order_by("id")[audit_before - 1].pk if audit_before else 0)
    assert sorted(record.action for record in records) == ["indicator_value.bulk_import"] + ["indicator_value.save_draft"] * 4
    summary = records.get(action="indicator_value.bulk_import")
    assert summary.actor == tenants.editor and summary.object_id == str(tenants.member.pk)
    assert summary.changes["sha256"] == [None, hashlib.sha256(content).hexdigest()]
    assert summary.changes["brouillons_crees"] == [None, 3]
    follow = client.get(import_url(tenants.member)).content.decode()
    assert "Import enregistré : 3 nouveaux brouillons, 1 brouillon modifié, 0 ligne inchangée." in follow
    # The pending file is gone: confirming twice writes nothing more.
    assert confirm(client, tenants.member, content).status_code == 302
    assert AuditRecord.objects.filter(action="indicator_value.bulk_import").count() == 1


def test_confirmation_checks_again_and_rolls_everything_back(client, tenants, catalogue):
    finess = tenants.member.finess
    content = csv_bytes([
        line(finess, "P1.1", kind="taux", numerator="8", denominator="10"),
        line(finess, "P1.2", kind="existence", exists="oui"),
    ])
    client.force_login(tenants.editor)
    assert "Enregistrer 2 brouillons" in upload(client, tenants.member, content).content.decode()
    # Meanwhile the director declares a different value for P1.2 at the same date.
    declared(tenants.member, "P1.2", existence(False), editor=tenants.director, director=tenants.director)
    response = confirm(client, tenants.member, content)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Le fichier n&#x27;est plus valide depuis sa vérification" in html
    assert "déjà déclarée : corrigez-la depuis la page de l&#x27;indicateur" in html
    detail = reverse("indicators:indicator_detail", kwargs={"finess": finess, "code": "P1.2"})
    assert f'href="{detail}"' in html
    assert list(IndicatorValue.objects.values_list("indicator__code", "status")) == [("P1.2", "declared")]


def test_bulk_apply_rolls_back_every_line_when_one_fails_at_write_time(tenants, catalogue):
    finess = tenants.member.finess
    plan = plan_of([
        line(finess, "P1.1", kind="taux", numerator="8", denominator="10"),
        line(finess, "P1.2", kind="existence", exists="oui"),
    ], tenants.editor)
    assert plan.is_valid
    declared(tenants.member, "P1.2", existence(False), editor=tenants.director, director=tenants.director)
    audit_before = AuditRecord.objects.count()
    with pytest.raises(applying.BulkApplyError) as raised:
        applying.bulk_apply(plan=plan, by=tenants.editor, establishment=tenants.member)
    assert raised.value.line == 3
    assert raised.value.message.startswith("Ligne 3 : Une valeur a déjà été déclarée pour cette date de mesure")
    assert raised.value.message.endswith("Aucune valeur du fichier n'a été enregistrée.")
    assert not IndicatorValue.objects.filter(indicator__code="P1.1").exists()
    assert AuditRecord.objects.count() == audit_before


def test_a_stale_confirmation_is_refused(client, tenants, catalogue):
    finess = tenants.member.finess
    first = csv_bytes([line(finess, "P1.1", kind="taux", numerator="8", denominator="10")])
    second = csv_bytes([line(finess, "P1.1", kind="taux", numerator="9", denominator="10")])
    client.force_login(tenants.editor)
    upload(client, tenants.member, first)
    upload(client, tenants.member, second)  # another tab: replaces the pending file
    response = confirm(client, tenants.member, first)
    assert response.status_code == 302
    assert "Cette vérification a expiré" in client.get(import_url(tenants.member)).content.decode()
    assert not IndicatorValue.objects.exists()
    # The file the page shows last is still the one its button confirms.
    assert confirm(client, tenants.member, second).status_code == 302
    assert IndicatorValue.objects.get().numerator == 9


# --- GHT and permissions ----------------------------------------------------------------------------------------------


def test_ght_support_director_template_covers_the_members(client, tenants, catalogue):
    client.force_login(tenants.ght_director)
    rows = csv_rows(client.get(template_url(tenants.support, "csv")))
    assert len(rows) == 1 + 2 * 41
    assert [row[0] for row in rows[1:]] == [tenants.support.finess] * 41 + [tenants.member.finess] * 41
    # On a member's page, the template is that member's alone.
    rows = csv_rows(client.get(template_url(tenants.member, "csv")))
    assert {row[0] for row in rows[1:]} == {tenants.member.finess} and len(rows) == 42
    # The member's own editor does not get the GHT's template on the support's page: it is out of their scope.
    client.force_login(tenants.editor)
    assert client.get(template_url(tenants.support, "csv")).status_code == 404


def test_ght_support_director_imports_for_a_member(client, tenants, catalogue):
    content = csv_bytes([
        line(tenants.member.finess, "P1.1", kind="taux", numerator="8", denominator="10"),
        line(tenants.support.finess, "P1.2", kind="existence", exists="oui"),
    ])
    client.force_login(tenants.ght_director)
    html = upload(client, tenants.support, content).content.decode()
    assert "CH Membre" in html and "Enregistrer 2 brouillons" in html
    assert confirm(client, tenants.support, content).status_code == 302
    value = IndicatorValue.objects.get(establishment=tenants.member)
    assert (value.indicator.code, value.status, value.created_by) == ("P1.1", ValueStatus.DRAFT, tenants.ght_director)
    assert IndicatorValue.objects.filter(establishment=tenants.support, indicator__code="P1.2").exists()
    # On the member's page, a line for the support is outside that page's perimeter.
    plan = plan_of([line(tenants.support.finess, "P1.3", kind="taux", numerator="1", denominator="2")],
                   tenants.ght_director, establishments=planning.bulk_establishments(tenants.ght_director, tenants.member))
    assert plan.errors[0].messages == [f"finess « {tenants.support.finess} » : {planning.OUT_OF_SCOPE}"]


@pytest.mark.parametrize("role", ["ars_a", "dgos", "auditor", "admin"])
def test_read_only_roles_get_403(client, tenants, catalogue, role):
    client.force_login(getattr(tenants, role))
    content = csv_bytes([line(tenants.member.finess, "P1.1", kind="taux", numerator="8", denominator="10")])
    assert client.get(import_url(tenants.member)).status_code == 403
    assert client.get(template_url(tenants.member, "csv")).status_code == 403
    assert client.get(template_url(tenants.member, "xlsx")).status_code == 403
    assert upload(client, tenants.member, content).status_code == 403
    assert confirm(client, tenants.member, content).status_code == 403
    assert not IndicatorValue.objects.exists()


@pytest.mark.parametrize("role", ["ars_b", "editor", "director"])
def test_out_of_scope_establishment_is_404(client, tenants, catalogue, role):
    target = tenants.foreign if role != "ars_b" else tenants.member
    client.force_login(getattr(tenants, role))
    assert client.get(import_url(target)).status_code == 404
    assert client.get(template_url(target, "csv")).status_code == 404
    assert upload(client, target, b"finess;indicateur\n").status_code == 404


def test_anonymous_is_sent_to_login(client, tenants, catalogue):
    for url in (import_url(tenants.member), template_url(tenants.member, "csv")):
        response = client.get(url)
        assert response.status_code == 302 and "/compte/connexion/" in response["Location"]


def test_import_page_for_the_editor(client, tenants, catalogue):
    client.force_login(tenants.editor)
    html = client.get(import_url(tenants.member)).content.decode()
    assert "Saisie en masse des indicateurs" in html
    assert template_url(tenants.member, "xlsx") in html and template_url(tenants.member, "csv") in html
    assert 'type="file"' in html and "(41 indicateurs)" in html
    assert "style=" not in html.split("<main", 1)[-1] and "<script>" not in html


# --- Cost ---------------------------------------------------------------------------------------------------------------


def test_dry_run_query_count_does_not_grow_with_the_lines(client, tenants, catalogue):
    """Indicators, establishments and existing values are fetched once, not per line."""
    codes = [value.code for value in planning.current_indicators(hopen_programme())]
    for code in codes[:20]:
        value_save_draft(
            establishment=tenants.member, indicator=indicator(code), by=tenants.editor,
            data=rate(1, 2) if indicator(code).target_kind == "rate" else existence(True),
        )

    kinds = {value.code: value.target_kind for value in planning.current_indicators(hopen_programme())}

    def rows(count):
        return [
            line(tenants.member.finess, code, kind="taux" if kinds[code] == "rate" else "existence",
                 numerator="1", denominator="3", exists="non")
            for code in codes[:count]
        ]

    counts = {}
    for count in (3, 41):
        lines = parsing.bulk_parse(csv_bytes(rows(count)), "f.csv")
        with CaptureQueriesContext(connection) as queries:
            plan = planning.bulk_plan(lines=lines, by=tenants.editor, programme=hopen_programme())
        assert plan.is_valid and len(plan.changes) == count
        counts[count] = len(queries)
    assert counts[3] == counts[41] <= 6

    client.force_login(tenants.editor)
    upload(client, tenants.member, csv_bytes(rows(1)))  # warm-up: session expiry, per-process site configuration
    pages = {}
    for count in (3, 41):
        content = csv_bytes(rows(count))
        with CaptureQueriesContext(connection) as queries:
            response = upload(client, tenants.member, content)
        assert response.status_code == 200
        pages[count] = len(queries)
    assert pages[3] == pages[41] <= 15

"""Indicators API v1: what each role reads and writes, the programme's rules as French field messages, versions.

Rules come from the instruction (../shared/reference/000_eb8a7a77b11ba617.txt): annex 1 gives each
indicator its target (rate threshold or existence); §5.3.1 measures the prerequisites "via la saisie par
l'établissement / GHT de la valeur des indicateurs et de la totalité des pièces justificatives", allows a
domain indicator to be "non applicable / non concerné", and makes the prerequisites reached only when all
of them are; §5.2.1 has the DGOS audit "la véracité des données déclarées" (hence locked, versioned values).
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from hopen.models import Role
from indicators.models import Evidence, IndicatorValue, ValueStatus
from indicators.services import value_correct, value_save_draft
from tests.factories import attainment_synced, user_with_role
from tests.indicators.conftest import declared, existence, indicator, not_applicable, rate

pytestmark = pytest.mark.django_db

DAY = datetime.date(2020, 3, 15)
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


# --- Clients and addresses -------------------------------------------------------------------------------------------


def token_client(user):
    client = APIClient()
    _, key = AuthToken.objects.create(user)  # knox: only the digest is stored, the key is shown once
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def session_client(user):
    client = APIClient()
    client.force_login(user)
    return client


AUTH_MODES = {"token": token_client, "session": session_client}


def overview_url(establishment):
    return f"/api/v1/establishments/{establishment.finess}/indicators/"


def values_url(establishment, code):
    return f"/api/v1/establishments/{establishment.finess}/indicators/{code}/values/"


def declare_url(value):
    return f"{values_url(value.establishment, value.indicator.code)}{value.pk}/declare/"


def correct_url(value):
    return f"{values_url(value.establishment, value.indicator.code)}{value.pk}/correct/"


def documents_url(value):
    return f"/api/v1/indicator-values/{value.pk}/documents/"


def rate_body(numerator, denominator, day=DAY, **extra):
    return {"measured_on": day.isoformat(), "kind": "rate", "numerator": numerator, "denominator": denominator, **extra}


def document(value, *, by, name="rapport.pdf", scan_status="clean", deleted_by=None):
    """A stored document row (the upload itself is the evidence module's business)."""
    return attainment_synced(Evidence.objects.create(
        value=value, file=f"evidence/2020/03/{name}", original_name=name, size=len(PDF), content_type="application/pdf",
        sha256="a" * 64, uploaded_by=by, scan_status=scan_status,
        deleted_by=deleted_by, deleted_at=datetime.datetime(2020, 4, 1, tzinfo=datetime.UTC) if deleted_by else None,
    ))


@pytest.fixture
def scene(tenants, catalogue):
    """The member hospital has a declared D1.1 (with a document) and a draft D1.2; the foreign one a declared D1.1."""
    tenants.other_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.clinic)
    tenants.declared = declared(tenants.member, "D1.1", rate(95, 100), editor=tenants.editor, director=tenants.director)
    tenants.document = document(tenants.declared, by=tenants.editor)
    tenants.draft = value_save_draft(
        establishment=tenants.member, indicator=indicator("D1.2"), data=rate(40, 100), by=tenants.editor
    )
    foreign_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.foreign)
    tenants.foreign_value = declared(
        tenants.foreign, "D1.1", rate(10, 100), editor=foreign_director, director=foreign_director
    )
    return tenants


# --- Every endpoint for every role -----------------------------------------------------------------------------------

# Expected answers on the member hospital's data. Readers (ARS of the region, DGOS, auditor, administrator) read
# and get 403 on writes; the ARS of another region and the editor of another establishment get 404 everywhere;
# the GHT support director drafts for its members (annex 5) but declaring stays with the establishment.
READ, WRITE_DRAFT, DECLARE, CORRECT, UPLOAD = "read", "draft", "declare", "correct", "upload"
EXPECTED = {
    "editor": {READ: 200, WRITE_DRAFT: 201, DECLARE: 403, CORRECT: 201},
    "director": {READ: 200, WRITE_DRAFT: 201, DECLARE: 200, CORRECT: 201},
    "ght_director": {READ: 200, WRITE_DRAFT: 201, DECLARE: 403, CORRECT: 201},
    "ars_a": {READ: 200, WRITE_DRAFT: 403, DECLARE: 403, CORRECT: 403, UPLOAD: 403},
    "ars_b": {READ: 404, WRITE_DRAFT: 404, DECLARE: 404, CORRECT: 404, UPLOAD: 404},
    "other_editor": {READ: 404, WRITE_DRAFT: 404, DECLARE: 404, CORRECT: 404, UPLOAD: 404},
    "dgos": {READ: 200, WRITE_DRAFT: 403, DECLARE: 403, CORRECT: 403, UPLOAD: 403},
    "auditor": {READ: 200, WRITE_DRAFT: 403, DECLARE: 403, CORRECT: 403, UPLOAD: 403},
    "admin": {READ: 200, WRITE_DRAFT: 403, DECLARE: 403, CORRECT: 403, UPLOAD: 403},
}


@pytest.mark.parametrize("auth", list(AUTH_MODES))
@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_endpoint_answers_each_role(scene, role, auth):
    t = scene
    client = AUTH_MODES[auth](getattr(t, role))
    expected = EXPECTED[role]
    answers = {
        "overview": client.get(overview_url(t.member)).status_code,
        "values": client.get(values_url(t.member, "D1.1")).status_code,
        "documents": client.get(documents_url(t.declared)).status_code,
        "draft": client.post(values_url(t.member, "D1.5"), rate_body(60, 100), format="json").status_code,
        "declare": client.post(declare_url(t.draft)).status_code,
        "correct": client.post(
            correct_url(t.declared), rate_body(96, 100, correction_reason="Recomptage"), format="json"
        ).status_code,
    }
    wanted = {
        "overview": expected[READ], "values": expected[READ], "documents": expected[READ],
        "draft": expected[WRITE_DRAFT], "declare": expected[DECLARE], "correct": expected[CORRECT],
    }
    if UPLOAD in expected:  # refused before the file is looked at
        upload = SimpleUploadedFile("rapport.pdf", PDF, content_type="application/pdf")
        answers["upload"] = client.post(documents_url(t.declared), {"file": upload}, format="multipart").status_code
        wanted["upload"] = expected[UPLOAD]
    assert answers == wanted
    if expected[WRITE_DRAFT] != 201:
        assert not IndicatorValue.objects.filter(indicator__code="D1.5").exists()
        assert IndicatorValue.objects.filter(establishment=t.member).count() == 2
        assert Evidence.objects.count() == 1


@pytest.mark.parametrize("role", ["ars_a", "dgos", "editor"])
def test_nobody_reads_another_region_or_establishment_through_a_value_id(scene, role):
    """`/indicator-values/{id}/` looks the value up among the readable establishments only: 404, not 403."""
    client = token_client(getattr(scene, role))
    response = client.get(documents_url(scene.foreign_value))
    expected = 200 if role == "dgos" else 404
    assert response.status_code == expected
    assert client.get("/api/v1/indicator-values/999999/documents/").status_code == 404


def test_unauthenticated_requests_are_refused_everywhere(scene):
    client = APIClient()
    t = scene
    responses = [
        client.get(overview_url(t.member)),
        client.get(values_url(t.member, "D1.1")),
        client.post(values_url(t.member, "D1.5"), rate_body(60, 100), format="json"),
        client.post(declare_url(t.draft)),
        client.post(correct_url(t.declared), rate_body(96, 100, correction_reason="x"), format="json"),
        client.get(documents_url(t.declared)),
        client.post(documents_url(t.declared), {"file": SimpleUploadedFile("a.pdf", PDF)}, format="multipart"),
    ]
    assert {r.status_code for r in responses} <= {401, 403}
    for response in responses:
        assert "rapport.pdf" not in response.content.decode() and "95" not in response.content.decode()
    assert IndicatorValue.objects.count() == 3 and IndicatorValue.objects.filter(status="draft").count() == 1


def test_unknown_indicator_code_or_value_is_404(scene):
    client = token_client(scene.editor)
    assert client.get(values_url(scene.member, "Z9.9")).status_code == 404
    assert client.post(values_url(scene.member, "Z9.9"), rate_body(1, 2), format="json").status_code == 404
    # A value is reached only through its own establishment and indicator.
    wrong_indicator = f"{values_url(scene.member, 'D1.3')}{scene.draft.pk}/declare/"
    assert token_client(scene.director).post(wrong_indicator).status_code == 404
    other_establishment = f"{values_url(scene.member, 'D1.1')}{scene.foreign_value.pk}/correct/"
    assert client.post(other_establishment, rate_body(1, 2, correction_reason="x"), format="json").status_code == 404
    assert client.get("/api/v1/establishments/999999999/indicators/").status_code == 404


# --- The indicator list ----------------------------------------------------------------------------------------------


def rows_by_code(response):
    assert response.status_code == 200, response.content
    return {row["code"]: row for row in response.json()["indicators"]}


def test_list_shows_the_latest_declared_value_its_attainment_and_the_draft_marker(tenants, catalogue):
    """Annex 1 targets: D1.1 ≥ 90 %, D1.2 ≥ 90 %, P1.2 existence; a N/A domain indicator is neither (§5.3.1)."""
    who = {"editor": tenants.editor, "director": tenants.director}
    declared(tenants.member, "D1.1", rate(50, 100, day=datetime.date(2019, 12, 1)), **who)
    september = rate(899, 1000, day=datetime.date(2020, 9, 1), comment="Après déploiement")
    latest = declared(tenants.member, "D1.1", september, **who)
    declared(tenants.member, "D1.2", rate(95, 100), **who)
    declared(tenants.member, "D1.3", not_applicable("Pas de laboratoire"), **who)
    declared(tenants.member, "P1.2", existence(True, description="Cellule réunie chaque mois"), **who)
    value_save_draft(establishment=tenants.member, indicator=indicator("D1.5"), data=rate(1, 2), by=tenants.editor)
    value_save_draft(
        establishment=tenants.member, indicator=indicator("D1.1"), data=rate(99, 100, day=datetime.date(2020, 10, 1)),
        by=tenants.editor,
    )

    response = token_client(tenants.ars_a).get(overview_url(tenants.member))
    rows = rows_by_code(response)
    body = response.json()

    assert len(rows) == 41 and list(rows)[:2] == ["P1.1", "P1.2"]
    assert body["establishment"] == {"finess": tenants.member.finess, "name": tenants.member.name}
    assert body["catalogue"]["programme"] == "HOPEN"
    d11 = rows["D1.1"]
    assert d11["latest_declared"] == {
        "id": latest.pk, "measured_on": "2020-09-01", "semester": "2020 S2", "kind": "rate", "numerator": 899,
        "denominator": 1000, "percentage": "89.9", "exists": None, "description": "",
        "not_applicable_reason": "", "comment": "Après déploiement", "version": 1,
        "declared_at": d11["latest_declared"]["declared_at"], "declared_by": tenants.director.email,
    }
    assert d11["latest_declared"]["declared_at"]
    # 899/1000 is 89.9 %: below the 90 % target, even though older or draft figures say otherwise.
    assert (d11["attainment"], d11["attainment_label"], d11["has_draft"]) == ("not_reached", "Non atteint", True)
    assert (d11["target_kind"], d11["target_threshold"], d11["group"]) == ("rate", "90.00", "D1")
    assert (rows["D1.2"]["attainment"], rows["D1.2"]["latest_declared"]["percentage"]) == ("reached", "95.0")
    assert rows["D1.3"]["attainment"] == "not_applicable"
    assert rows["D1.3"]["latest_declared"]["not_applicable_reason"] == "Pas de laboratoire"
    assert rows["P1.2"]["attainment"] == "reached" and rows["P1.2"]["latest_declared"]["exists"] is True
    assert rows["P1.2"]["latest_declared"]["description"] == "Cellule réunie chaque mois"
    # A draft is not a declared value: D1.5 stays missing but is marked.
    summary = {code: (row["latest_declared"], row["attainment"], row["has_draft"]) for code, row in rows.items()}
    assert (summary["D1.5"], summary["P1.1"]) == ((None, "missing", True), (None, "missing", False))
    groups = {group["code"]: group for group in body["groups"]}
    assert list(groups) == ["P1", "P2", "P3", "P4", "D1", "D2", "D3", "D4", "D5", "D6", "D7"]
    # D1.1 is not reached: that settles the group even though D1.5 is still missing.
    assert groups["D1"]["attainment"] == "not_reached" and groups["D1"]["kind"] == "domain"
    assert body["prerequisites"] == {"attainment": "missing", "attainment_label": "Non renseigné"}


PREREQUISITES = {
    "P1.1": "rate", "P1.2": "existence", "P1.3": "rate", "P1.4": "existence", "P2.1": "existence",
    "P2.2": "existence", "P2.4": "existence", "P2.5": "existence", "P3.2": "existence", "P3.3": "existence",
    "P3.4": "rate", "P3.6": "existence", "P4.1": "existence", "P4.2": "existence", "P4.3": "existence",
}


def declare_everything(tenants, *, days=1, prerequisite_p34=(100, 100)):
    """Every indicator of the catalogue declared on `days` dates (P3.4 targets 100 %: annex 1)."""
    who = {"editor": tenants.editor, "director": tenants.director}
    for offset in range(days):
        day = datetime.date(2019, 1, 10) + datetime.timedelta(days=40 * offset)
        for code, kind in PREREQUISITES.items():
            if code == "P3.4":
                data = rate(*prerequisite_p34, day=day)
            else:
                data = rate(95, 100, day=day) if kind == "rate" else existence(True, day=day)
            declared(tenants.member, code, data, **who)
        for domain in ["D1.1", "D1.2", "D2.2", "D4.1"]:
            data = existence(False, day=day) if domain == "D4.1" else rate(91, 100, day=day)
            declared(tenants.member, domain, data, **who)
        value_save_draft(
            establishment=tenants.member, indicator=indicator("D3.1"), data=rate(1, 2, day=day), by=tenants.editor
        )


def test_prerequisites_are_reached_only_when_all_fifteen_are(tenants, catalogue):
    """§5.3.1: the HOP'EN prerequisites are reached when every one of P1–P4 is; P3.4 targets 100 % (annex 1)."""
    declare_everything(tenants, prerequisite_p34=(99, 100))
    body = token_client(tenants.dgos).get(overview_url(tenants.member)).json()
    groups = {group["code"]: group["attainment"] for group in body["groups"]}
    assert (groups["P1"], groups["P2"], groups["P3"], groups["P4"]) == ("reached", "reached", "not_reached", "reached")
    assert body["prerequisites"]["attainment"] == "not_reached"
    assert groups["D4"] == "not_reached"  # D4.1 not reached settles it, D4.2–D4.4 not entered
    correction = value_correct(
        value=IndicatorValue.objects.get(indicator__code="P3.4", status="declared"), reason="Recensement complété",
        data=rate(100, 100, day=datetime.date(2019, 1, 10)), by=tenants.editor,
    )
    token_client(tenants.director).post(declare_url(correction))
    body = token_client(tenants.dgos).get(overview_url(tenants.member)).json()
    assert {group["code"]: group["attainment"] for group in body["groups"]}["P3"] == "reached"
    assert body["prerequisites"] == {"attainment": "reached", "attainment_label": "Atteint"}


@pytest.mark.parametrize("auth", list(AUTH_MODES))
def test_list_makes_a_constant_number_of_queries(tenants, catalogue, auth):
    declared(tenants.member, "D1.1", rate(95, 100), editor=tenants.editor, director=tenants.director)
    client = AUTH_MODES[auth](tenants.ars_a)
    with CaptureQueriesContext(connection) as few:
        assert client.get(overview_url(tenants.member)).status_code == 200
    declare_everything(tenants, days=3)  # 57 declared values, drafts, two more dates each
    client = AUTH_MODES[auth](tenants.ars_a)
    with CaptureQueriesContext(connection) as many:
        response = client.get(overview_url(tenants.member))
    assert response.status_code == 200
    assert sum(row["latest_declared"] is not None for row in response.json()["indicators"]) == 19
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    # Authentication (session: 2 reads + its idle-timeout refresh; token: 1), scope (1), establishment (1),
    # programme of the request (1, issue 11: the programmes offered), catalogue (3), latest declared values (1),
    # their declarers (1), drafts (1).
    assert len(many) <= 14, "\n".join(q["sql"][:150] for q in many.captured_queries)


# --- Versions of one indicator -------------------------------------------------------------------------------------


def test_values_lists_every_version_newest_first_with_documents(scene):
    t = scene
    correction = value_correct(value=t.declared, reason="Erreur de comptage", data=rate(97, 100), by=t.editor)
    older = declared(t.member, "D1.1", rate(50, 100, day=datetime.date(2019, 6, 1)), editor=t.editor, director=t.director)
    removed = document(older, by=t.editor, name="ancien.pdf", deleted_by=t.editor)
    pending = document(older, by=t.editor, name="scan.pdf", scan_status="pending")

    response = token_client(t.ars_a).get(values_url(t.member, "d1.1"))
    assert response.status_code == 200
    rows = response.json()
    assert [(r["id"], r["status"], r["version"]) for r in rows] == [
        (correction.pk, "draft", 2), (t.declared.pk, "declared", 1), (older.pk, "declared", 1),
    ]
    assert rows[0]["previous"] == t.declared.pk and rows[0]["correction_reason"] == "Erreur de comptage"
    assert rows[0]["created_by"] == t.editor.email and rows[0]["declared_by"] is None
    assert rows[1]["declared_by"] == t.director.email and rows[1]["attainment"] == "reached"
    assert rows[2]["attainment"] == "not_reached" and rows[2]["percentage"] == "50.0"
    # Documents follow a correction (service); deleted ones are not listed; a file is served only once scanned.
    assert [d["name"] for d in rows[0]["documents"]] == ["rapport.pdf"]
    listed = rows[1]["documents"][0]
    assert listed == {
        "id": t.document.pk, "name": "rapport.pdf", "size": len(PDF), "content_type": "application/pdf",
        "sha256": "a" * 64, "scan_status": "clean", "scan_status_label": "Sain",
        "uploaded_at": listed["uploaded_at"], "uploaded_by": t.editor.email,
        "download_url": reverse("indicators:evidence_download", args=[t.document.pk]),
    }
    assert [(d["id"], d["download_url"]) for d in rows[2]["documents"]] == [(pending.pk, None)]
    assert removed.pk not in {d["id"] for row in rows for d in row["documents"]}


def test_documents_endpoint_lists_live_documents(scene):
    t = scene
    document(t.declared, by=t.editor, name="supprime.pdf", deleted_by=t.editor)
    second = document(t.declared, by=t.director, name="annexe.pdf")
    response = token_client(t.ars_a).get(documents_url(t.declared))
    assert response.status_code == 200
    assert [(d["id"], d["name"], d["uploaded_by"]) for d in response.json()] == [
        (t.document.pk, "rapport.pdf", t.editor.email), (second.pk, "annexe.pdf", t.director.email),
    ]


# --- Entering a draft ----------------------------------------------------------------------------------------------


def test_editor_creates_then_updates_the_draft_of_a_date(tenants, catalogue):
    client = token_client(tenants.editor)
    created = client.post(
        values_url(tenants.member, "D1.1"), rate_body(80, 100, comment=" Premier relevé ", description="Extraction RIS"),
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["version"], body["percentage"], body["semester"], body["attainment"]) == (
        "draft", 1, "80.0", "2020 S1", "not_reached",
    )
    assert (body["comment"], body["description"]) == ("Premier relevé", "Extraction RIS")
    assert body["created_by"] == tenants.editor.email
    updated = client.post(values_url(tenants.member, "D1.1"), rate_body(92, 100), format="json")
    assert updated.status_code == 200 and updated.json()["id"] == body["id"]
    value = IndicatorValue.objects.get()
    assert (value.numerator, value.status, value.created_by) == (92, ValueStatus.DRAFT, tenants.editor)


def test_form_encoded_draft_keeps_an_unanswered_existence_unanswered(tenants, catalogue):
    """A missing yes/no is an error, never a silent "non" (annex 1 existence targets)."""
    client = session_client(tenants.editor)
    response = client.post(values_url(tenants.member, "P1.2"), {"measured_on": "2020-03-15", "kind": "existence"})
    assert response.status_code == 400
    assert response.json() == {"exists": ["Indiquez si l'élément existe (oui ou non)."]}
    response = client.post(
        values_url(tenants.member, "P1.2"), {"measured_on": "2020-03-15", "kind": "existence", "exists": "true"}
    )
    assert response.status_code == 201 and response.json()["exists"] is True


@pytest.mark.parametrize(
    "code, body, field, message",
    [
        ("D1.1", rate_body(101, 100), "numerator", "Le numérateur ne peut pas dépasser le dénominateur."),
        ("D1.1", rate_body(0, 0), "denominator", "Le dénominateur doit être un entier strictement positif."),
        ("D1.1", rate_body(-1, 10), "numerator", "Le numérateur doit être un entier positif ou nul."),
        ("D1.1", rate_body(1, None), "denominator", "Le dénominateur doit être un entier strictement positif."),
        (
            "D1.2", {"measured_on": "2020-03-15", "kind": "not_applicable", "not_applicable_reason": "  "},
            "not_applicable_reason", "Le motif de non-applicabilité est obligatoire.",
        ),
        (
            "P1.1", {"measured_on": "2020-03-15", "kind": "not_applicable", "not_applicable_reason": "Pas d'applications"},
            "kind", "L'indicateur P1.1 ne peut pas être déclaré non applicable.",
        ),
        ("P1.2", {"measured_on": "2020-03-15", "kind": "existence"}, "exists", "Indiquez si l'élément existe (oui ou non)."),
        (
            "D1.1", {"measured_on": "2020-03-15", "kind": "existence", "exists": True},
            "kind", "L'indicateur D1.1 attend un taux (numérateur / dénominateur).",
        ),
        ("P1.2", rate_body(1, 2), "kind", "L'indicateur P1.2 attend oui ou non (existence)."),
        (
            "D1.1", rate_body(1, 2, day=datetime.date(2099, 1, 1)),
            "measured_on", "La date de mesure ne peut pas être dans le futur.",
        ),
        ("D1.1", {"kind": "rate", "numerator": 1, "denominator": 2}, "measured_on", "Ce champ est obligatoire."),
        ("D1.1", rate_body("beaucoup", 2), "numerator", "Un nombre entier valide est requis."),
        ("D1.1", {"measured_on": "15/03/2020", "kind": "rate"}, "measured_on", "La date n'a pas le bon format."),
        ("D1.1", {"measured_on": "2020-03-15", "kind": "taux"}, "kind", "n'est pas un choix valide."),
    ],
)
def test_invalid_draft_answers_400_with_a_french_message_and_saves_nothing(tenants, catalogue, code, body, field, message):
    response = token_client(tenants.editor).post(values_url(tenants.member, code), body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert message in " ".join(errors[field]), errors
    assert not IndicatorValue.objects.exists()


def test_not_applicable_domain_indicator_with_its_reason_is_accepted(tenants, catalogue):
    """§5.3.1: a domain indicator may be "non applicable / non concerné" (with a reason)."""
    response = token_client(tenants.editor).post(
        values_url(tenants.member, "D1.2"),
        {"measured_on": "2020-03-15", "kind": "not_applicable", "not_applicable_reason": "Pas d'anatomopathologie"},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["attainment"], response.json()["numerator"]) == ("not_applicable", None)


def test_a_declared_date_is_corrected_not_redrafted(scene):
    response = token_client(scene.editor).post(values_url(scene.member, "D1.1"), rate_body(50, 100), format="json")
    assert response.status_code == 400
    assert "Corriger" in response.json()["detail"] and "motif" in response.json()["detail"]
    scene.declared.refresh_from_db()
    assert (scene.declared.numerator, scene.declared.status) == (95, ValueStatus.DECLARED)


def test_reader_gets_403_even_with_an_invalid_body(scene):
    response = token_client(scene.ars_a).post(values_url(scene.member, "D1.1"), {"kind": "n'importe quoi"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Seuls les utilisateurs de l'établissement peuvent saisir ses indicateurs."}


# --- Declaring and correcting --------------------------------------------------------------------------------------


def test_declaring_belongs_to_the_director(scene):
    refused = token_client(scene.editor).post(declare_url(scene.draft))
    assert refused.status_code == 403
    assert refused.json() == {"detail": "La déclaration revient à la direction de l'établissement."}
    scene.draft.refresh_from_db()
    assert scene.draft.status == ValueStatus.DRAFT
    response = token_client(scene.director).post(declare_url(scene.draft))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["declared_by"], body["id"]) == ("declared", scene.director.email, scene.draft.pk)
    assert body["declared_at"]
    again = token_client(scene.director).post(declare_url(scene.draft))
    assert again.status_code == 400 and again.json() == {"detail": "Cette valeur est déjà déclarée."}


def test_editor_declares_when_the_establishment_has_no_director(scene):
    value = value_save_draft(
        establishment=scene.clinic, indicator=indicator("P1.2"), data=existence(False), by=scene.other_editor
    )
    response = session_client(scene.other_editor).post(declare_url(value))
    assert response.status_code == 200 and response.json()["status"] == "declared"


def test_correction_flow(scene):
    """A declared value stays as declared; its correction is a new version, superseding it once declared (§5.2.1)."""
    t = scene
    editor = token_client(t.editor)
    missing_reason = editor.post(correct_url(t.declared), rate_body(85, 100, correction_reason=" "), format="json")
    assert missing_reason.status_code == 400
    assert missing_reason.json() == {"correction_reason": ["Le motif de la correction est obligatoire."]}
    invalid = editor.post(correct_url(t.declared), rate_body(101, 100, correction_reason="Recomptage"), format="json")
    assert invalid.status_code == 400 and "dépasser" in invalid.json()["numerator"][0]
    other_day = editor.post(
        correct_url(t.declared), rate_body(85, 100, day=datetime.date(2020, 1, 1), correction_reason="Recomptage"),
        format="json",
    )
    assert other_day.status_code == 400 and "même date de mesure" in other_day.json()["measured_on"][0]
    assert IndicatorValue.objects.filter(establishment=t.member).count() == 2

    body = {"kind": "rate", "numerator": 85, "denominator": 100, "correction_reason": "Erreur de comptage"}
    response = editor.post(correct_url(t.declared), body, format="json")  # the date defaults to the corrected one
    assert response.status_code == 201, response.content
    correction = response.json()
    assert (correction["version"], correction["previous"], correction["status"], correction["measured_on"]) == (
        2, t.declared.pk, "draft", "2020-03-15",
    )
    assert correction["correction_reason"] == "Erreur de comptage"
    assert [d["name"] for d in correction["documents"]] == ["rapport.pdf"]
    twice = editor.post(correct_url(t.declared), body, format="json")
    assert twice.status_code == 400 and "déjà en cours" in twice.json()["detail"]
    draft_corrected = editor.post(correct_url(t.draft), rate_body(1, 2, correction_reason="x"), format="json")
    assert draft_corrected.status_code == 400 and "Seule une valeur déclarée" in draft_corrected.json()["detail"]

    # Until the correction is declared, the declared figure is still the one shown.
    overview = rows_by_code(token_client(t.ars_a).get(overview_url(t.member)))
    assert overview["D1.1"]["latest_declared"]["id"] == t.declared.pk and overview["D1.1"]["has_draft"] is True

    correction_value = IndicatorValue.objects.get(pk=correction["id"])
    assert token_client(t.director).post(declare_url(correction_value)).status_code == 200
    versions = token_client(t.ars_a).get(values_url(t.member, "D1.1")).json()
    assert [(v["version"], v["status"], v["numerator"]) for v in versions] == [(2, "declared", 85), (1, "superseded", 95)]
    overview = rows_by_code(token_client(t.ars_a).get(overview_url(t.member)))
    row = overview["D1.1"]
    assert (row["latest_declared"]["id"], row["latest_declared"]["version"], row["attainment"], row["has_draft"]) == (
        correction["id"], 2, "not_reached", False,
    )


# --- Documents upload ----------------------------------------------------------------------------------------------


@pytest.fixture
def private_media(settings, tmp_path):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return tmp_path


def test_editor_uploads_a_document_through_the_evidence_module(scene, private_media):
    upload = SimpleUploadedFile("Rapport d'audit.pdf", PDF, content_type="application/pdf")
    response = token_client(scene.editor).post(documents_url(scene.draft), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Evidence.objects.get(pk=body["id"])
    assert (stored.value, stored.uploaded_by, stored.size) == (scene.draft, scene.editor, len(PDF))
    assert (private_media / stored.file.name).read_bytes() == PDF
    assert (body["name"], body["size"], body["uploaded_by"], body["sha256"]) == (
        stored.original_name, len(PDF), scene.editor.email, stored.sha256,
    )
    listed = token_client(scene.ars_a).get(documents_url(scene.draft)).json()
    assert [d["id"] for d in listed] == [stored.pk]


def test_upload_is_refused_on_a_declared_value_or_for_a_disallowed_file(scene, private_media):
    """A declared value is locked with its documents (§5.2.1 audits "la véracité des données déclarées")."""
    client = token_client(scene.editor)
    upload = SimpleUploadedFile("rapport.pdf", PDF, content_type="application/pdf")
    locked = client.post(documents_url(scene.declared), {"file": upload}, format="multipart")
    assert locked.status_code == 400 and "verrouillée" in locked.json()["detail"]
    script = SimpleUploadedFile("page.html", b"<html><script>alert(1)</script></html>", content_type="text/html")
    refused = client.post(documents_url(scene.draft), {"file": script}, format="multipart")
    assert refused.status_code == 400 and "page.html" in refused.json()["detail"]
    assert Evidence.objects.count() == 1 and not [path for path in private_media.rglob("*") if path.is_file()]


def test_upload_without_a_file_is_a_400_in_french(scene):
    response = token_client(scene.editor).post(documents_url(scene.draft), {}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"file": ["Aucun fichier n'a été soumis."]}


# --- Schema --------------------------------------------------------------------------------------------------------


def test_schema_lists_the_indicator_endpoints_with_their_bodies(tenants):
    client = APIClient()
    client.force_login(tenants.editor)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    base = "/api/v1/establishments/{finess}/indicators/"
    assert set(paths[base]) == {"get"}
    assert set(paths[base + "{code}/values/"]) == {"get", "post"}
    assert set(paths[base + "{code}/values/{value_id}/declare/"]) == {"post"}
    assert set(paths[base + "{code}/values/{value_id}/correct/"]) == {"post"}
    assert set(paths["/api/v1/indicator-values/{value_id}/documents/"]) == {"get", "post"}
    draft = paths[base + "{code}/values/"]["post"]
    assert draft["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValueInputRequest")
    assert {"200", "201", "400", "403", "404"} <= set(draft["responses"])
    upload = paths["/api/v1/indicator-values/{value_id}/documents/"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    components = schema["components"]["schemas"]
    assert {"numerator", "denominator", "exists", "not_applicable_reason", "measured_on"} <= set(
        components["ValueInputRequest"]["properties"]
    )
    assert "correction_reason" in components["CorrectionInputRequest"]["required"]
    assert "download_url" in components["Evidence"]["properties"]

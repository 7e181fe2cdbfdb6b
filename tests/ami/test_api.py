"""AMI API v1 (instruction §5.3.2 « Etape 1 », annexes 4 and 5): who reads and writes the pre-candidature, the
validation by the director then the GHT support, the ARS list and decisions, the exports — all scoped."""

import csv
import io
from unittest import mock

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from ami.models import Decision, FilingStatus, PreCandidature
from hopen.models import AuditRecord, Notification, Role
from tests.ami.conftest import LATE, ON_TIME, TOO_LATE
from tests.ami.test_ars import ami_world, bulk_filed, domain_of, filed_pair  # noqa: F401  (fixtures)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def token_client(user):
    client = APIClient()
    _, key = AuthToken.objects.create(user)  # knox: only the digest is stored, the key is shown once
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def session_client(user):
    client = APIClient()
    client.force_login(user)
    return client


def ami_url(establishment):
    return f"/api/v1/establishments/{establishment.finess}/ami/"


def validate_url(establishment):
    return f"{ami_url(establishment)}validate/"


def decisions_url(pre):
    return f"/api/v1/ami/{pre.pk}/decisions/"


PAYLOAD = {
    "position": "final",
    "hn_prerequisites_reached": False,
    "hn_prerequisites_forecast": "2020 S1",
    "hopen_prerequisites_forecast": "2020 S2",
    "domains": [
        {"domain_code": "D2", "forecast_semester": "2021 S1", "priority": 1, "planning": "DPI sur 4 pôles"},
        {"domain_code": "D6", "forecast_semester": "2022 S2", "priority": 2},
    ],
    "referent_name": "Claire Martin",
    "referent_email": "claire.martin@ch-test.fr",
    "legal_representative_name": "Jean Dupont",
    "comment": "Inscrit au schéma directeur du GHT.",
    "investment_amount": "850000.00",
    "business_stakes": "Moins de ressaisies, dossier partagé.",
}


# --- The establishment's pre-candidature ------------------------------------------------------------------------


@pytest.mark.parametrize("make_client", [token_client, session_client])
def test_establishment_writes_ars_and_dgos_read(ami_world, hopen_filing_open, make_client):
    t = ami_world
    response = make_client(t.editor).get(ami_url(t.member))
    assert response.status_code == 200
    assert response.json()["id"] is None and response.json()["domains"] == []
    assert not PreCandidature.objects.exists()  # a read writes nothing

    response = make_client(t.editor).put(ami_url(t.member), PAYLOAD, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["filing_status"] == "draft" and body["investment_amount"] == "850000.00"
    assert [(d["domain_code"], d["priority"], d["decision"]) for d in body["domains"]] == [("D2", 1, "pending"), ("D6", 2, "pending")]
    assert AuditRecord.objects.filter(action="pre_candidature.save", actor=t.editor).count() == 1

    for reader in (t.ars_a, t.dgos, t.auditor, t.ght_director):
        response = make_client(reader).get(ami_url(t.member))
        assert response.status_code == 200 and response.json()["referent_name"] == "Claire Martin"
    for reader in (t.ars_a, t.dgos, t.auditor):
        response = make_client(reader).put(ami_url(t.member), {**PAYLOAD, "comment": "changé"}, format="json")
        assert response.status_code == 403
    # garbage from a reader is refused as a reader, before the body is looked at
    assert make_client(t.dgos).put(ami_url(t.member), {"position": 12}, format="json").status_code == 403

    clinic_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=t.clinic)
    for outsider in (t.ars_b, clinic_editor):
        assert make_client(outsider).get(ami_url(t.member)).status_code == 404
        assert make_client(outsider).put(ami_url(t.member), PAYLOAD, format="json").status_code == 404
    assert APIClient().get(ami_url(t.member)).status_code in (401, 403)
    assert PreCandidature.objects.get().comment == "Inscrit au schéma directeur du GHT."


def test_calendar_ranges_and_priorities_are_refused_with_french_messages(ami_world, hopen_filing_open):
    t = ami_world
    client = token_client(t.editor)
    response = client.put(ami_url(t.member), {**PAYLOAD, "hopen_prerequisites_forecast": "2021 S2"}, format="json")
    assert response.status_code == 400
    assert "hors du calendrier" in response.json()["hopen_prerequisites_forecast"][0]
    domains = [{"domain_code": "D2", "forecast_semester": "2021 S1", "priority": 1},
               {"domain_code": "D3", "forecast_semester": "2021 S1", "priority": 1}]
    response = client.put(ami_url(t.member), {**PAYLOAD, "domains": domains}, format="json")
    assert response.status_code == 400 and "rangs de priorité" in " ".join(response.json()["domains"])
    response = client.put(ami_url(t.member), {**PAYLOAD, "domains": [{"domain_code": "D9", "forecast_semester": "2021 S1", "priority": 1}]}, format="json")
    assert response.status_code == 400 and "domains" in response.json()


def test_director_validates_then_the_ght_support(ami_world, hopen_filing_open):
    """§5.3.2: « la pré-candidature doit être validée par le directeur d'établissement et le directeur
    d'établissement support » for public members of a GHT; filed on time before 30/06/2019."""
    t = ami_world
    token_client(t.editor).put(ami_url(t.member), PAYLOAD, format="json")
    with mock.patch("ami.services.timezone.now", return_value=ON_TIME):
        assert token_client(t.editor).post(validate_url(t.member)).status_code == 403  # editors prepare
        assert token_client(t.ars_a).post(validate_url(t.member)).status_code == 403
        response = token_client(t.director).post(validate_url(t.member))
        assert response.status_code == 200 and response.json()["filing_status"] == "awaiting_support"
        assert token_client(t.director).post(validate_url(t.member)).status_code == 403  # not the support
        response = token_client(t.ght_director).post(validate_url(t.member))
    assert response.status_code == 200
    assert (response.json()["filing_status"], response.json()["is_late"]) == ("filed", False)
    assert response.json()["support_validated_by"] == t.ght_director.email
    assert token_client(t.ars_b).post(validate_url(t.member)).status_code == 404


def test_late_filing_is_flagged_and_after_the_late_deadline_refused(ami_world):
    t = ami_world
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.clinic)
    client = token_client(director)
    assert client.post(validate_url(t.clinic)).status_code == 400  # nothing entered yet
    with mock.patch("ami.services.timezone.now", return_value=ON_TIME):  # HOP'EN's AMI window (§5.3.2)
        assert client.put(ami_url(t.clinic), PAYLOAD, format="json").status_code == 200
    with mock.patch("ami.services.timezone.now", return_value=TOO_LATE):
        response = client.post(validate_url(t.clinic))
    assert response.status_code == 400 and "31/12/2021" in response.json()["detail"]
    with mock.patch("ami.services.timezone.now", return_value=LATE):
        response = client.post(validate_url(t.clinic))
    assert (response.json()["filing_status"], response.json()["is_late"]) == ("filed", True)


# --- ARS list and decisions ----------------------------------------------------------------------------------------


def listed(response):
    assert response.status_code == 200, response.content
    return {item["establishment"] for item in response.json()["results"]}


def test_list_is_scoped_and_filtered(ami_world, filed_pair):
    t = ami_world
    assert listed(token_client(t.ars_a).get("/api/v1/ami/")) == {t.member.finess, t.clinic.finess}
    assert listed(token_client(t.ars_a).get("/api/v1/ami/", {"region": "53"})) == {t.member.finess, t.clinic.finess}
    assert listed(token_client(t.ars_a).get("/api/v1/ami/", {"domain": "D4"})) == {t.clinic.finess}
    assert listed(token_client(t.ars_b).get("/api/v1/ami/")) == {t.foreign.finess}
    assert listed(token_client(t.dgos).get("/api/v1/ami/")) == {t.member.finess, t.clinic.finess, t.foreign.finess}
    response = token_client(t.dgos).get("/api/v1/ami/", {"region": "53", "domain": "D2"})
    assert listed(response) == {t.foreign.finess}
    item = response.json()["results"][0]
    assert item["region"] == "53" and item["domains"][0]["domain_code"] == "D2" and response.json()["count"] == 1
    for user in (t.editor, t.director, t.ght_director):
        assert token_client(user).get("/api/v1/ami/").status_code == 403


def test_list_uses_a_constant_number_of_queries(ami_world):
    t = ami_world
    client = token_client(t.ars_a)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/ami/").status_code == 200
        return len(queries)

    bulk_filed(t.region_a, 2, decision=Decision.PRESELECTED)
    few = count()
    bulk_filed(t.region_a, 30, decision=Decision.REJECTED)
    assert count() == few


def test_ars_decides_per_domain_through_the_api(ami_world, filed_pair, sent_tasks, django_capture_on_commit_callbacks):
    t = ami_world
    member, _, _ = filed_pair
    client = token_client(t.ars_a)
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decisions_url(member), {"domain": "D2", "decision": "preselected"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["decision"], response.json()["decided_by"]) == ("preselected", t.ars_a.email)
    assert len(sent_tasks.of("hopen.tasks.send_email")) == 1
    assert Notification.objects.filter(recipient=t.director, message__contains="D2").exists()

    response = client.post(decisions_url(member), {"domain": "D3", "decision": "rejected", "reason": " "}, format="json")
    assert response.status_code == 400 and "motif est obligatoire" in str(response.json())
    assert domain_of(member, "D3").decision == Decision.PENDING
    response = client.post(decisions_url(member), {"domain": "D3", "decision": "rejected", "reason": "Enveloppe"}, format="json")
    assert response.json()["decision_reason"] == "Enveloppe"
    response = client.post(decisions_url(member), {"domain": "D5", "decision": "preselected"}, format="json")
    assert response.status_code == 400 and "D5" in response.json()["detail"]
    response = client.post(decisions_url(member), {"domain": "D2", "decision": "pending"}, format="json")
    assert response.status_code == 400

    for reader in (t.dgos, t.director, t.editor):
        response = token_client(reader).post(decisions_url(member), {"domain": "D2", "decision": "rejected", "reason": "x"}, format="json")
        assert response.status_code == 403
    assert token_client(t.ars_b).post(decisions_url(member), {"domain": "D2", "decision": "rejected", "reason": "x"}, format="json").status_code == 404
    assert domain_of(member, "D2").decision == Decision.PRESELECTED


def test_no_decision_on_a_pre_candidature_not_yet_filed(ami_world, hopen_filing_open):
    t = ami_world
    token_client(t.editor).put(ami_url(t.member), PAYLOAD, format="json")
    pre = PreCandidature.objects.get()
    response = token_client(t.ars_a).post(decisions_url(pre), {"domain": "D2", "decision": "preselected"}, format="json")
    assert response.status_code == 400 and "pas encore déposée" in response.json()["detail"]
    assert pre.status == FilingStatus.DRAFT


# --- Exports -------------------------------------------------------------------------------------------------------


def test_exports_through_the_api_are_scoped(ami_world, filed_pair):
    t = ami_world
    response = token_client(t.ars_b).get("/api/v1/ami/export.csv")
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert [(r["FINESS établissement"], r["Domaine"]) for r in rows] == [(t.foreign.finess, "D2")]

    response = token_client(t.dgos).get("/api/v1/ami/export.xlsx", {"region": "32"})
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    finesses = {row[2] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert finesses == {t.member.finess, t.clinic.finess}

    for user in (t.editor, t.ght_director):
        assert token_client(user).get("/api/v1/ami/export.csv").status_code == 403
        assert token_client(user).get("/api/v1/ami/export.xlsx").status_code == 403
    assert APIClient().get("/api/v1/ami/export.csv").status_code in (401, 403)


def test_schema_lists_the_ami_endpoints(tenants):
    client = APIClient()
    client.force_login(tenants.editor)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "put"} <= set(paths["/api/v1/establishments/{finess}/ami/"])
    assert "post" in paths["/api/v1/establishments/{finess}/ami/validate/"]
    assert "get" in paths["/api/v1/ami/"]
    assert {p["name"] for p in paths["/api/v1/ami/"]["get"]["parameters"]} >= {"region", "domain", "page"}
    assert "post" in paths["/api/v1/ami/{id}/decisions/"]
    assert "text/csv" in paths["/api/v1/ami/export.csv"]["get"]["responses"]["200"]["content"]
    assert "/api/v1/ami/export.xlsx" in paths
    put = paths["/api/v1/establishments/{finess}/ami/"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PreCandidatureInputRequest")

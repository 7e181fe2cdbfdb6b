"""API v1 `GET /api/v1/establishments/{finess}/eligibility/` — the §5.3.1 verdicts per domain
(../shared/reference/000_eb8a7a77b11ba617.txt, §5.3.1 and its note 3), scoped by the permission policy:
an establishment outside the caller's scope answers 404 (`hopen.permissions.get_establishment_for_reading`).
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from hopen.models import Role
from indicators.models import Evidence, IndicatorValue, PriorProgrammeResult, Programme
from tests.factories import attainment_synced, user_with_role
from tests.indicators.conftest import indicator

pytestmark = pytest.mark.django_db

DOMAINS = ["D1", "D2", "D3", "D4", "D5", "D6", "D7"]


def url(establishment):
    return f"/api/v1/establishments/{establishment.finess}/eligibility/"


def session_client(user):
    client = APIClient()
    client.force_login(user)
    return client


def token_client(user):
    client = APIClient()
    _, key = AuthToken.objects.create(user)  # knox: only the digest is stored, the key is shown once
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def declare_row(establishment, code, *, reached, by):
    ind = indicator(code)
    if ind.target_kind == "rate":
        fields = {"numerator": 100 if reached else 0, "denominator": 100}
    else:
        fields = {"exists": reached}
    return attainment_synced(IndicatorValue.objects.create(
        establishment=establishment, indicator=ind, measured_on=datetime.date(2020, 3, 15), kind=ind.target_kind,
        status="declared", created_by=by, declared_by=by, declared_at=timezone.now(), **fields,
    ))


def add_document(value, *, by):
    """A document row (the file itself is never read by the eligibility rules)."""
    return attainment_synced(Evidence.objects.create(
        value=value, file="evidence/test/piece", original_name="piece.pdf", size=12, content_type="application/pdf",
        sha256="0" * 64, uploaded_by=by, scan_status="not_scanned",
    ))


@pytest.fixture
def scene(tenants, catalogue):
    """The member of the GHT: HN prerequisites not reached, HN indicators complete, D2.2 and D2.3 not reached."""
    hn = Programme.objects.get(code="HN")
    for kind, achieved in (("prerequisites_reached", False), ("indicators_complete", True)):
        PriorProgrammeResult.objects.create(establishment=tenants.member, programme=hn, kind=kind, achieved=achieved)
    declare_row(tenants.member, "D2.2", reached=False, by=tenants.director)
    declare_row(tenants.member, "D2.3", reached=False, by=tenants.director)
    return tenants


@pytest.mark.parametrize(
    "role, target, expected",
    [
        ("editor", "member", 200),
        ("director", "member", 200),
        ("editor", "clinic", 404),
        ("editor", "foreign", 404),
        ("ght_director", "member", 200),
        ("ght_director", "clinic", 404),
        ("ars_a", "member", 200),
        ("ars_a", "clinic", 200),
        ("ars_b", "member", 404),
        ("ars_b", "foreign", 200),
        ("dgos", "member", 200),
        ("dgos", "foreign", 200),
        ("auditor", "member", 200),
        ("admin", "foreign", 200),
    ],
)
def test_scope_of_each_role(scene, role, target, expected):
    response = token_client(getattr(scene, role)).get(url(getattr(scene, target)))
    assert response.status_code == expected
    if expected == 404:
        assert response.json() == {"detail": "Établissement introuvable."}


def test_anonymous_is_refused(scene):
    assert APIClient().get(url(scene.member)).status_code in (401, 403)


def test_unknown_finess_answers_404(scene):
    assert session_client(scene.dgos).get("/api/v1/establishments/999999999/eligibility/").status_code == 404


def test_content_gives_every_domain_with_its_verdict_and_reasons(scene):
    response = session_client(scene.editor).get(url(scene.member))
    assert response.status_code == 200
    body = response.json()
    assert [row["domain"] for row in body] == DOMAINS
    d2 = body[1]
    assert set(d2) == {"domain", "label", "eligible_to_apply", "fundable", "reasons"}
    assert d2["label"] == "Développer le dossier patient informatisé et interopérable et le DMP"
    # Two D2 indicators not reached: may apply; HN prerequisites not reached (note 3): not fundable.
    assert (d2["eligible_to_apply"], d2["fundable"]) == (True, False)
    reasons = {reason["code"]: reason for reason in d2["reasons"]}
    assert reasons["hn_prerequisites_not_reached"] == {
        "code": "hn_prerequisites_not_reached",
        "section": "5.3.1, note 3",
        "message": "Les prérequis Hôpital numérique ne sont pas atteints : la pré-candidature reste possible, mais "
        "aucun financement ne pourra être délégué avant leur atteinte.",
        "effect": "not_fundable",
    }
    # A public member of a GHT without IT governance recorded.
    assert {"ght_master_plan_missing", "ght_convergence_indicators_missing", "ght_cio_not_validated"} <= set(reasons)
    assert reasons["vendors_to_check_at_deposit"]["effect"] == "information"
    # Nothing declared in D1: fewer than two indicators not reached.
    d1 = body[0]
    assert d1["eligible_to_apply"] is False and d1["fundable"] is False
    assert "fewer_than_two_indicators_not_reached" in [reason["code"] for reason in d1["reasons"]]
    # D6 without HN usage targets of D2 or D3.
    assert "d6_d7_require_hn_d2_or_d3" in [reason["code"] for reason in body[5]["reasons"]]


def test_prerequisites_not_justified_after_the_derogatory_deadline_are_not_fundable(scene):
    """§5.3.1: prerequisites justified at deposit « ou, de façon dérogatoire, avant le 1er janvier 2021 dernier
    délai ». The API computes on today's date, past that deadline."""
    body = session_client(scene.dgos).get(url(scene.member)).json()
    (reason,) = [r for r in body[1]["reasons"] if r["code"] == "hopen_prerequisites_not_met"]
    assert reason["effect"] == "not_fundable"
    assert "15 indicateurs non déclarés" in reason["message"] and "01/01/2021" in reason["message"]


def test_response_makes_a_constant_number_of_queries(scene):
    """Authentication, scope, establishment, then the selector's fixed queries, whatever the values and documents."""
    client = token_client(scene.ars_a)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(scene.member)).status_code == 200
    for code in ("D1.1", "D1.2", "D3.1", "D3.2", "D4.1", "D5.1", "D6.1", "D7.1", "P1.1", "P1.2", "P2.1", "P3.2"):
        add_document(declare_row(scene.member, code, reached=False, by=scene.director), by=scene.director)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url(scene.member)).status_code == 200
    assert len(many) == len(few)
    # token 2 (the token with its user, knox's look for the user's expired tokens), roles 1, establishment 1;
    # catalogue 3, values with documents 1, HN results 1, deadline 1, GHT 1;
    # + 1: the programme in force (`request.programme`, the selectable programmes read once per request).
    assert len(few) == 12


def test_schema_documents_the_endpoint(scene):
    response = session_client(scene.admin).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/establishments/{finess}/eligibility/"]["get"]
    assert operation["operationId"] == "establishment_eligibility_list"
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"]
    name = item.rsplit("/", 1)[-1]
    properties = schema["components"]["schemas"][name]["properties"]
    assert {"domain", "eligible_to_apply", "fundable", "reasons"} <= set(properties)


def test_an_establishment_role_granted_elsewhere_sees_only_its_own(scene):
    other_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=scene.clinic)
    client = session_client(other_editor)
    assert client.get(url(scene.clinic)).status_code == 200
    assert client.get(url(scene.member)).status_code == 404

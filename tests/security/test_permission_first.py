"""Permission before input (issue 15, item 4; README « Roles and scopes »): an invalid body posted to a write by a
role that may not write there answers 403, by another tenant 404 — never 400, which would tell a reader how to shape
a write it may not make, and would let it probe the validation of data it cannot see.

Every write operation of the OpenAPI schema is listed here (a test fails when a new one is not), then posted an
invalid body (a JSON list where an object is expected, or an empty form) by a read-only role and by another tenant."""

import datetime

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from ami.models import PreCandidature
from audits import services as audit_services
from indicators.services import value_save_draft
from tests.audits.factories import campaign_input, funded_dossier
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, hopen_programme, open_envelope
from tests.indicators.conftest import indicator, rate

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"post", "put", "patch", "delete"}
# Writes open to anyone by design: the token endpoint authenticates.
PUBLIC_WRITES = {("post", "/api/v1/auth/token/")}

# operation → (readers refused with 403, outsiders answered 404). Roles are attributes of the `tenants` fixture;
# "member" establishments are in region A (ars_a), the outsider's region is B (ars_b).
CASES = {
    ("post", "/api/v1/establishments/{finess}/indicators/{code}/values/"): (["ars_a", "dgos", "auditor"], ["ars_b"]),
    ("post", "/api/v1/establishments/{finess}/indicators/{code}/values/{value_id}/declare/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/establishments/{finess}/indicators/{code}/values/{value_id}/correct/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/indicator-values/{value_id}/documents/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/prior-results/import/"): (["editor", "ars_a", "auditor"], []),
    ("post", "/api/v1/software-vendors/import/"): (["editor", "ars_a", "auditor"], []),
    ("post", "/api/v1/dossiers/"): (["ars_a", "dgos", "auditor"], []),
    ("post", "/api/v1/dossiers/{reference}/transmit/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/dossiers/{reference}/start-review/"): (["editor", "dgos"], ["ars_b"]),
    ("post", "/api/v1/dossiers/{reference}/domains/{code}/decision/"): (["editor", "director", "dgos"], ["ars_b"]),
    ("post", "/api/v1/dossiers/{reference}/domains/{code}/targets-reached/"): (["editor", "dgos"], ["ars_b"]),
    ("post", "/api/v1/dossiers/{reference}/domains/{code}/notify-usage/"): (["editor", "director", "dgos"], ["ars_b"]),
    ("post", "/api/v1/dossiers/{reference}/domains/{code}/pay-usage/"): (["editor", "director", "dgos"], ["ars_b"]),
    ("post", "/api/v1/dossiers/{reference}/domains/{code}/admit-without-ami/"): (["editor", "director", "dgos"], ["ars_b"]),
    ("put", "/api/v1/establishments/{finess}/ami/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/establishments/{finess}/ami/validate/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/ami/{id}/decisions/"): (["editor", "director", "dgos"], ["ars_b"]),
    ("post", "/api/v1/envelopes/{region_code}/delegations/"): (["editor", "ars_a", "auditor"], []),
    ("post", "/api/v1/redeployments/"): (["editor", "ars_a", "auditor"], []),
    # Audits (issue 14): the DGOS draws and conducts; the ARS reads its region's audits; the establishment answers.
    ("post", "/api/v1/audit-campaigns/"): (["editor", "director", "ars_a"], []),
    ("post", "/api/v1/audits/{id}/findings/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/audits/{id}/decision/"): (["ars_a", "dgos"], ["ars_b"]),
    ("post", "/api/v1/audits/{id}/response/"): (["ars_a", "dgos", "auditor"], ["ars_b"]),
}
MULTIPART = {"/api/v1/indicator-values/{value_id}/documents/", "/api/v1/prior-results/import/",
             "/api/v1/software-vendors/import/"}


def write_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in WRITE_METHODS and (method, path) not in PUBLIC_WRITES
    }


def test_every_write_of_the_api_is_covered():
    assert write_operations() == set(CASES)


@pytest.fixture
def scene(tenants, catalogue):
    """One object of each kind in the member's establishment (region A)."""
    value = value_save_draft(
        establishment=tenants.member, indicator=indicator("P1.1"), data=rate(1, 2, day=datetime.date(2020, 3, 15)),
        by=tenants.editor,
    )
    dossier = DossierFactory(establishment=tenants.member)
    DossierDomainFactory(dossier=dossier, domain_code="D2")
    pre_candidature = PreCandidature.objects.create(establishment=tenants.member, programme=hopen_programme())
    open_envelope(tenants.region_a)
    funded_dossier(tenants.member, "D2")  # the population of the audit campaign: one dossier funded on D2
    campaign = audit_services.campaign_create(
        programme=hopen_programme(), data=campaign_input(size=1), by=tenants.auditor
    )
    return {
        "finess": tenants.member.finess, "code": "P1.1", "value_id": value.pk, "reference": dossier.reference,
        "id": pre_candidature.pk, "region_code": tenants.region_a.code, "audit_id": campaign.audits.get().pk,
    }


def _url(path, scene):
    values = dict(scene)
    if path.startswith("/api/v1/audits/"):
        values["id"] = scene["audit_id"]
    if "{reference}" in path:
        values["code"] = "D2"  # a dossier's domain
    return path.format(**values)


def _send(user, method, path, scene):
    client = APIClient()
    client.force_authenticate(user)
    url = _url(path, scene)
    if path in MULTIPART:
        return getattr(client, method)(url, {}, format="multipart")
    return getattr(client, method)(url, [1], format="json")  # a list where an object is expected: invalid


@pytest.mark.parametrize("operation", sorted(CASES), ids=lambda op: f"{op[0]} {op[1]}")
def test_an_invalid_write_by_a_reader_answers_403_and_by_an_outsider_404(tenants, scene, operation):
    method, path = operation
    readers, outsiders = CASES[operation]
    for role in readers:
        response = _send(getattr(tenants, role), method, path, scene)
        assert response.status_code == 403, (role, response.status_code, response.content[:300])
    for role in outsiders:
        response = _send(getattr(tenants, role), method, path, scene)
        assert response.status_code == 404, (role, response.status_code, response.content[:300])


# --- Pages --------------------------------------------------------------------------------------------------------

PAGE_WRITES = [
    # (url, readers refused 403, outsiders 404, invalid form)
    ("/etablissements/{finess}/ami/", ["ars_a", "dgos"], ["ars_b"], {"action": "save", "position": "x" * 50}),
    ("/etablissements/{finess}/ami/", ["dgos", "auditor"], ["ars_b"], {"action": "inconnue"}),
    ("/etablissements/{finess}/indicateurs/P1.1/", ["ars_a", "dgos"], ["ars_b"], {"action": "draft", "measured_on": "x"}),
    ("/etablissements/{finess}/saisie-en-masse/", ["ars_a", "dgos"], ["ars_b"], {"action": "verifier"}),
    ("/enveloppes/redeploiement/", ["editor", "ars_a"], [], {"amount": "x"}),
    ("/dossiers/{reference}/revues/nouvelle/", ["dgos", "auditor"], ["ars_b"], {"held_on": "x"}),
    ("/dossiers/{reference}/", ["dgos", "auditor"], ["ars_b"], {"action": "transmit"}),
]


@pytest.mark.parametrize("url, readers, outsiders, form", PAGE_WRITES, ids=lambda v: v if isinstance(v, str) else None)
def test_an_invalid_page_form_by_a_reader_answers_403_and_by_an_outsider_404(
    client, tenants, scene, url, readers, outsiders, form
):
    target = url.format(**scene)
    for role in readers:
        client.force_login(getattr(tenants, role))
        response = client.post(target, form)
        assert response.status_code == 403, (role, target, response.status_code)
    for role in outsiders:
        client.force_login(getattr(tenants, role))
        response = client.post(target, form)
        assert response.status_code == 404, (role, target, response.status_code)

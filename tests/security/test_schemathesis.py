"""The API against its own OpenAPI schema (issue 15, item 4): schemathesis generates requests for every operation —
valid and invalid bodies, odd parameters, control characters — sent as a DGOS officer and as an establishment editor.
No answer is a server error and every documented answer matches its schema. Bounded (`EXAMPLES` per operation and
user) so that the whole module stays within a few minutes on two cores."""

import datetime

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error, response_schema_conformance

from ami.models import PreCandidature
from indicators.services import value_save_draft
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, hopen_programme
from tests.indicators.conftest import indicator, rate

EXAMPLES = 4

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = WSGIHandler()


@pytest.fixture
def same_transaction():
    """A WSGI request starts and ends by closing "old" connections, which would end the test's transaction: not here
    (the Django test client does the same)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_users(tenants, catalogue, same_transaction):
    """A DGOS officer and an establishment editor, with a token each; a draft value and a dossier to find."""
    value_save_draft(
        establishment=tenants.member, indicator=indicator("P1.1"), data=rate(1, 2, day=datetime.date(2020, 3, 15)),
        by=tenants.editor,
    )
    dossier = DossierFactory(establishment=tenants.member)
    DossierDomainFactory(dossier=dossier, domain_code="D2")
    pre_candidature = PreCandidature.objects.create(establishment=tenants.member, programme=hopen_programme())
    value = tenants.member.indicator_values.get()
    known = {
        "finess": tenants.member.finess, "value_id": value.pk, "reference": dossier.reference,
        "id": pre_candidature.pk, "region_code": tenants.region_a.code,
    }
    tokens = [AuthToken.objects.create(user=user)[1] for user in (tenants.dgos, tenants.editor)]
    return tokens, known


def _with_known_objects(case, known):
    """The same case aimed at objects that exist (generated identifiers mostly answer 404)."""
    if not case.path_parameters:
        return False
    for name in case.path_parameters:
        if name == "code":
            case.path_parameters[name] = "D2" if "{reference}" in case.operation.path else "P1.1"
        elif name in known:
            case.path_parameters[name] = known[name]
    return True


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_matches_the_schema(case, api_users):
    """Each generated request as the DGOS officer, then as the editor; then aimed at existing objects."""
    tokens, known = api_users
    checks = [not_a_server_error, response_schema_conformance]
    for token in tokens:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)
    if _with_known_objects(case, known):
        for token in tokens:
            case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)

"""Every transition of the dossier state machine (funding.dossiers.states) through its service, and every forbidden
one: for each action and each state outside its sources the service raises TransitionRefused (a clear message,
HTTP 409 in the API) and writes nothing — no row changed, no audit record, no ledger entry, no letter, no
notification. Instruction §5.3.2 « Etape 2 », annexes 2 and 4.

`refuse_for_silence` (annex 4 §1, four months) is the deadline job's (funding.deadlines.decisions), tested there.
"""

from decimal import Decimal

import pytest

from envelopes.models import LedgerEntry
from funding.dossiers import services
from funding.dossiers.states import (
    DOMAIN_ACTIONS_NEED_DOSSIER,
    DOMAIN_TRANSITIONS,
    DOSSIER_TRANSITIONS,
    TransitionRefused,
)
from funding.models import DomainStatus, Dossier, DossierDomain, DossierLetter, DossierStatus
from hopen.exceptions import ApplicationError
from hopen.models import AuditRecord, Notification, Role
from tests.factories import user_with_role
from tests.factories_dossiers import hopen_programme, open_envelope
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    LATER,
    NOW,
    domain_in,
    domain_of,
    domains,
    dossier_in,
    preselect,
    reach,
    world,
)

pytestmark = pytest.mark.django_db

D, S = DossierStatus, DomainStatus

DOSSIER_CALLS = {
    "initialise": lambda t, dossier: services.dossier_initialise(dossier=dossier, by=t.ars_a),
    "transmit": lambda t, dossier: services.dossier_transmit(dossier=dossier, by=t.clinic_director),
    "start_review": lambda t, dossier: services.dossier_start_review(dossier=dossier, by=t.ars_a),
    "close": lambda t, dossier: services.dossier_close(dossier=dossier, kind="abandonment", reason="Abandon", by=t.ars_a),
}
# "decide" and "complete" happen inside the domain services (tested below); "refuse_for_silence" is the deadline job's.
INTERNAL_DOSSIER_ACTIONS = {"decide", "complete", "refuse_for_silence"}
DOMAIN_CALLS = {
    "select": lambda t, domain: services.domain_select(domain=domain, seed_amount="0", by=t.ars_a),
    "refuse": lambda t, domain: services.domain_refuse(domain=domain, reason="Motif", refusal_kind="financial", by=t.ars_a),
    "reach_targets": lambda t, domain: services.domain_record_targets_reached(domain=domain, by=t.ars_a),
    "notify_usage": lambda t, domain: services.domain_notify_usage(domain=domain, by=t.ars_a),
    "pay_usage": lambda t, domain: services.domain_record_usage_payment(domain=domain, by=t.ars_a),
}


def test_every_action_of_the_tables_has_a_service_or_is_internal():
    assert set(DOSSIER_TRANSITIONS) == set(DOSSIER_CALLS) | INTERNAL_DOSSIER_ACTIONS
    assert set(DOMAIN_TRANSITIONS) == set(DOMAIN_CALLS)


@pytest.fixture
def parties(tenants):
    tenants.clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    return tenants


def _footprint():
    return (
        AuditRecord.objects.count(), LedgerEntry.objects.count(), DossierLetter.objects.count(),
        Notification.objects.count(),
    )


def _rows(dossier):
    return (
        tuple(Dossier.objects.filter(pk=dossier.pk).values_list("status", "transmitted_at", "closed_at", "decided_at")),
        tuple(DossierDomain.objects.filter(dossier=dossier).order_by("pk").values_list(
            "status", "seed_amount", "usage_amount", "decided_at", "targets_reached_at", "paid_at",
        )),
    )


# --- Forbidden transitions ---------------------------------------------------------------------------------------

FORBIDDEN_DOSSIER = [
    (action, status)
    for action, (sources, _) in DOSSIER_TRANSITIONS.items() if action in DOSSIER_CALLS
    for status in D.values if status not in sources
]


@pytest.mark.parametrize("action, status", FORBIDDEN_DOSSIER)
def test_forbidden_dossier_transition_is_refused_and_writes_nothing(parties, action, status):
    t = parties
    dossier = dossier_in(status, establishment=t.clinic)
    domain_in(dossier, S.PENDING)
    before, footprint = _rows(dossier), _footprint()
    with pytest.raises(TransitionRefused) as refused:
        DOSSIER_CALLS[action](t, dossier)
    assert refused.value.message.startswith(("Impossible de ", "Impossible d'"))
    assert f"le dossier est « {D(status).label} »" in refused.value.message
    assert isinstance(refused.value, ApplicationError)
    assert (_rows(dossier), _footprint()) == (before, footprint)


FORBIDDEN_DOMAIN_STATE = [
    (action, sorted(DOMAIN_ACTIONS_NEED_DOSSIER[action])[0], status)
    for action, (sources, _) in DOMAIN_TRANSITIONS.items()
    for status in S.values if status not in sources
]
FORBIDDEN_DOSSIER_STATE = [
    (action, dossier_status, sorted(sources)[0])
    for action, (sources, _) in DOMAIN_TRANSITIONS.items()
    for dossier_status in D.values if dossier_status not in DOMAIN_ACTIONS_NEED_DOSSIER[action]
]


@pytest.mark.parametrize("action, dossier_status, domain_status", FORBIDDEN_DOMAIN_STATE)
def test_forbidden_domain_transition_from_the_domains_state_is_refused_and_writes_nothing(
    parties, action, dossier_status, domain_status
):
    t = parties
    dossier = dossier_in(dossier_status, establishment=t.clinic)
    domain = domain_in(dossier, domain_status)
    before, footprint = _rows(dossier), _footprint()
    with pytest.raises(TransitionRefused, match=f"le domaine est « {S(domain_status).label} »"):
        DOMAIN_CALLS[action](t, domain)
    assert (_rows(dossier), _footprint()) == (before, footprint)


@pytest.mark.parametrize("action, dossier_status, domain_status", FORBIDDEN_DOSSIER_STATE)
def test_forbidden_domain_transition_from_the_dossiers_state_is_refused_and_writes_nothing(
    parties, action, dossier_status, domain_status
):
    t = parties
    dossier = dossier_in(dossier_status, establishment=t.clinic)
    domain = domain_in(dossier, domain_status)
    before, footprint = _rows(dossier), _footprint()
    with pytest.raises(TransitionRefused, match=f"le dossier est « {D(dossier_status).label} »"):
        DOMAIN_CALLS[action](t, domain)
    assert (_rows(dossier), _footprint()) == (before, footprint)


@pytest.mark.parametrize("dossier_status", [s for s in D.values if s != D.IN_PROGRESS])
def test_seed_payment_outside_a_dossier_in_progress_is_refused(parties, dossier_status):
    t = parties
    dossier = dossier_in(dossier_status, establishment=t.clinic)
    domain = domain_in(dossier, S.SELECTED, seed_amount=Decimal("1000.00"))
    footprint = _footprint()
    with pytest.raises(TransitionRefused, match="Impossible d'enregistrer le versement de l'amorçage : le dossier est"):
        services.domain_record_seed_payment(domain=domain, by=t.ars_a)
    assert _footprint() == footprint


@pytest.mark.parametrize("domain_status", [S.PENDING, S.REFUSED])
def test_seed_payment_of_a_domain_not_selected_is_refused(parties, domain_status):
    t = parties
    dossier = dossier_in(D.IN_PROGRESS, establishment=t.clinic)
    domain = domain_in(dossier, domain_status)
    with pytest.raises(TransitionRefused, match="le domaine est"):
        services.domain_record_seed_payment(domain=domain, by=t.ars_a)


# --- Allowed transitions -----------------------------------------------------------------------------------------


def test_initialise_moves_a_requested_dossier_to_draft(parties):
    t = parties
    dossier = dossier_in(D.INITIALISATION_REQUESTED, establishment=t.clinic)
    assert services.dossier_initialise(dossier=dossier, by=t.ars_a).status == DOSSIER_TRANSITIONS["initialise"][1] == D.DRAFT


@pytest.mark.parametrize("status", sorted(DOSSIER_TRANSITIONS["close"][0]))
def test_close_from_each_of_its_sources(parties, status):
    t = parties
    open_envelope(t.region_a)
    dossier = dossier_in(status, establishment=t.clinic)
    domain_in(dossier, S.SELECTED if status in (D.IN_PROGRESS, D.COMPLETED) else S.PENDING)
    closed = services.dossier_close(dossier=dossier, kind="abandonment", reason="Abandon du projet", by=t.ars_a, now=NOW)
    assert (closed.status, closed.closed_at) == (D.CLOSED, NOW)
    record = AuditRecord.objects.get(action="dossier.close", object_id=str(dossier.pk))
    assert record.changes["status"] == [status, D.CLOSED]


def _step(label, expected_before, call, read):
    before = read()
    assert before == expected_before, label
    call()
    return read()


def test_every_allowed_transition_along_the_life_of_a_dossier(world):
    """Requested → draft → transmitted → under review → (D2 selected, D3 refused) in progress → D2 targets reached →
    usage notified → paid → completed: each step lands on the table's target state."""
    t = world
    dossier = services.dossier_request_initialisation(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", "D3"), by=t.clinic_director, now=NOW)

    def status():
        return Dossier.objects.get(pk=dossier.pk).status

    def domain_status(code):
        return lambda: domain_of(dossier, code).status

    assert status() == D.INITIALISATION_REQUESTED
    assert _step("initialise", D.INITIALISATION_REQUESTED, lambda: services.dossier_initialise(dossier=dossier, by=t.ars_a), status) == DOSSIER_TRANSITIONS["initialise"][1]
    assert _step("transmit", D.DRAFT, lambda: services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW), status) == DOSSIER_TRANSITIONS["transmit"][1]
    assert _step("start_review", D.TRANSMITTED, lambda: services.dossier_start_review(dossier=dossier, by=t.ars_a), status) == DOSSIER_TRANSITIONS["start_review"][1]
    d2, d3 = domain_of(dossier, "D2"), domain_of(dossier, "D3")
    assert _step("select", S.PENDING, lambda: services.domain_select(domain=d2, seed_amount="20000", by=t.ars_a, now=NOW), domain_status("D2")) == DOMAIN_TRANSITIONS["select"][1]
    assert status() == D.UNDER_REVIEW
    assert _step("refuse", S.PENDING, lambda: services.domain_refuse(domain=d3, reason="Enveloppe consommée", refusal_kind="financial", by=t.ars_a, now=NOW), domain_status("D3")) == DOMAIN_TRANSITIONS["refuse"][1]
    assert status() == D.IN_PROGRESS  # "decide": one domain selected at least
    services.domain_record_seed_payment(domain=d2, by=t.ars_a)
    reach(t.clinic, "D2", by=t.clinic_director)
    assert _step("reach_targets", S.SELECTED, lambda: services.domain_record_targets_reached(domain=d2, by=t.clinic_director, now=LATER), domain_status("D2")) == DOMAIN_TRANSITIONS["reach_targets"][1]
    assert _step("notify_usage", S.TARGETS_REACHED, lambda: services.domain_notify_usage(domain=d2, by=t.ars_a), domain_status("D2")) == DOMAIN_TRANSITIONS["notify_usage"][1]
    assert _step("pay_usage", S.USAGE_NOTIFIED, lambda: services.domain_record_usage_payment(domain=d2, by=t.ars_a), domain_status("D2")) == DOMAIN_TRANSITIONS["pay_usage"][1]
    assert status() == DOSSIER_TRANSITIONS["complete"][1] == D.COMPLETED
    assert _step("close", D.COMPLETED, lambda: services.dossier_close(dossier=dossier, kind="audit_failure", reason="Contrôle non conforme", by=t.auditor), status) == DOSSIER_TRANSITIONS["close"][1]
    # After an audit failure the money paid on D2 is claimed back: seed 20 000 €, usage 230 000 €.
    claims = dict(LedgerEntry.objects.filter(kind="refund_claim").values_list("pot", "amount"))
    assert claims == {"seed": Decimal("20000.00"), "usage": Decimal("230000.00")}


def test_decide_refuses_the_dossier_when_every_domain_is_refused(world):
    t = world
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", "D3"), by=t.clinic_director, now=NOW)
    services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)
    for code in ("D2", "D3"):
        services.domain_refuse(domain=domain_of(dossier, code), reason="Faisabilité", refusal_kind="feasibility", by=t.ars_a)
    assert Dossier.objects.get(pk=dossier.pk).status == D.REFUSED
    with pytest.raises(TransitionRefused, match="Impossible de clôturer le dossier : le dossier est « Refusé »"):
        services.dossier_close(dossier=dossier, kind="abandonment", reason="x", by=t.ars_a)


# --- Concurrent decisions: the dossier row is locked first -------------------------------------------------------


def _concurrently(calls):
    """Run the calls at the same time, each in its own transaction and connection; (results, errors, unexpected)."""
    import threading

    from django.db import connection, transaction

    barrier = threading.Barrier(len(calls))
    results, errors, unexpected = [], [], []

    def run(call):
        try:
            barrier.wait(timeout=60)
            with transaction.atomic():
                results.append(call())
        except ApplicationError as exc:
            errors.append(exc)
        except Exception as exc:  # a deadlock or a constraint violation lands here and fails the test
            unexpected.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors, unexpected


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_every_domain_conclude_the_dossier_exactly_once(tenants):
    """Annex 4 §1: when the last pending domain is decided the dossier is concluded — seven ARS decisions at the same
    time on the seven domains of one dossier leave it in progress with one selection letter, one agreement and one
    decision record (without the dossier lock each decision could see another one pending and none conclude)."""
    from hopen import permissions

    t = tenants
    dossier = dossier_in(D.UNDER_REVIEW, establishment=t.clinic)  # annex 4 §1: the ARS selects « en instruction »
    rows = [domain_in(dossier, S.PENDING, code=f"D{i}") for i in range(1, 8)]
    preselect(t.clinic, *(f"D{i}" for i in range(1, 8)), programme=dossier.programme)  # §5.3.2: after the AMI
    permissions.scope_of(t.ars_a)  # computed once, before the threads share the user
    results, errors, unexpected = _concurrently(
        [lambda domain=domain: services.domain_select(domain=domain, seed_amount="0", by=t.ars_a) for domain in rows]
    )
    assert (len(results), errors, unexpected) == (7, [], [])
    assert Dossier.objects.get(pk=dossier.pk).status == D.IN_PROGRESS
    assert sorted(DossierLetter.objects.filter(dossier=dossier).values_list("kind", flat=True)) == ["funding_agreement", "selection"]
    assert AuditRecord.objects.filter(action="dossier.decide", object_id=str(dossier.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_one_domain_decide_it_once(tenants):
    """Ten ARS decisions at the same time on one pending domain: one wins, the nine others are told the domain is
    no longer pending (TransitionRefused), and one decision is recorded."""
    from hopen import permissions

    t = tenants
    dossier = dossier_in(D.UNDER_REVIEW, establishment=t.clinic)  # annex 4 §1: the ARS selects « en instruction »
    domain = domain_in(dossier, S.PENDING)
    domain_in(dossier, S.PENDING, code="D3")
    preselect(t.clinic, "D2", "D3", programme=dossier.programme)  # §5.3.2: after the AMI
    permissions.scope_of(t.ars_a)
    calls = [lambda: services.domain_select(domain=domain, seed_amount="0", by=t.ars_a) for _ in range(5)]
    calls += [lambda: services.domain_refuse(domain=domain, reason="Motif", refusal_kind="financial", by=t.ars_a) for _ in range(5)]
    results, errors, unexpected = _concurrently(calls)
    assert (len(results), len(errors), unexpected) == (1, 9, [])
    assert all(isinstance(error, TransitionRefused) and "le domaine est" in error.message for error in errors), [e.message for e in errors]
    assert AuditRecord.objects.filter(object_type="funding.dossierdomain", object_id=str(domain.pk)).count() == 1

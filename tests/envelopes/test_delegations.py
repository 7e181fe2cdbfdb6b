"""Delegations of credits (annex 2 §3) and refunds deducted from the envelope (annex 2 §2, annex 4).

Annex 2 §3: « les fonds sont délégués aux ARS via les circulaires » — seed « dès 2019 », usage « à partir de 2020 »,
amounts adjusted to the ARS's annual programming: a region commits only what was delegated to it up to the date of
the commitment; the rest of the envelope is « à déléguer ».
Annex 2 §2 and annex 4: « L'enveloppe régionale sera déduite des montants récupérés »."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from envelopes.ledger import balances_of
from envelopes.models import EntryKind, LedgerEntry
from envelopes.rules import delegated_credits_refusal, delegation_room
from envelopes.services import (
    credits_delegate,
    entry_correct,
    redeploy,
    refund_claims_for,
    refund_receive,
    seed_commit,
    seed_pay,
    usage_commit,
)
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord
from indicators.models import Programme

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date


def balances(envelope):
    return balances_of([envelope.pk])[envelope.pk]


def delegate(envelope, by, amount, *, pot="seed", on=DAY(2019, 7, 1), reference="Circulaire 2019-01"):
    return credits_delegate(envelope=envelope, year=on.year, pot=pot, amount=amount, reference=reference, on=on, by=by)


# --- Pure rule --------------------------------------------------------------------------------------------------------


def test_delegation_room_is_the_lowest_room_from_the_date_onwards():
    events = [(DAY(2019, 7, 1), D("10000")), (DAY(2020, 1, 15), D("-8000")), (DAY(2020, 6, 1), D("5000"))]
    assert delegation_room(events, DAY(2019, 6, 30)) == D("0")  # nothing delegated yet
    assert delegation_room(events, DAY(2019, 7, 1)) == D("2000")  # 10 000 then, but 8 000 committed on 15/01/2020
    assert delegation_room(events, DAY(2020, 6, 1)) == D("7000")
    # Annex 2 §3 at the boundary: the room itself is allowed, a cent more is refused with the citation.
    assert delegated_credits_refusal(D("7000"), pot="seed", room=D("7000"), on=DAY(2020, 6, 1)) is None
    refusal = delegated_credits_refusal(D("7000.01"), pot="seed", room=D("7000"), on=DAY(2020, 6, 1))
    assert refusal.startswith("Crédits délégués insuffisants : 7\u00a0000,01\u00a0€ demandés")
    assert "au 01/06/2020" in refusal and "(annexe 2 §3" in refusal


# --- Commitments within the delegated credits ---------------------------------------------------------------------------


def test_a_commitment_stays_within_the_credits_delegated_up_to_its_date(tenants, undelegated_a, make_domain):
    envelope = undelegated_a
    domain = make_domain(tenants.member)
    with pytest.raises(ApplicationError, match=r"^Crédits délégués insuffisants : 1\u00a0000,00\u00a0€ demandés, 0,00\u00a0€") as refused:
        seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 9, 1))
    assert refused.value.extra["reasons"] == [
        {"code": "delegated_credits_insufficient", "section": "annexe 2 §3", "message": refused.value.message}
    ]
    assert not LedgerEntry.objects.filter(kind=EntryKind.SEED_COMMITMENT).exists()
    assert not AuditRecord.objects.filter(action="ledger.seed_commit").exists()

    delegate(envelope, tenants.dgos, D("10000"))
    with pytest.raises(ApplicationError, match="Crédits délégués insuffisants"):  # the day before the circular
        seed_commit(dossier_domain=domain, amount=D("1000"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 6, 30))
    with pytest.raises(ApplicationError, match="Crédits délégués insuffisants : 10\u00a0000,01"):
        seed_commit(dossier_domain=domain, amount=D("10000.01"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 7, 1))
    entry = seed_commit(dossier_domain=domain, amount=D("10000"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 7, 1))
    assert entry.effective_on == DAY(2019, 7, 1)
    b = balances(envelope)
    assert (b.seed_delegated, b.seed_to_delegate, b.seed_delegated_available) == (D("10000.00"), D("90000.00"), D("0.00"))
    assert b.seed_available == D("90000.00")  # the envelope still has credits: they are « à déléguer »


def test_a_backdated_commitment_cannot_take_what_a_later_one_already_uses(tenants, undelegated_a, make_domain):
    delegate(undelegated_a, tenants.dgos, D("10000"))
    seed_commit(dossier_domain=make_domain(tenants.member), amount=D("8000"), is_derogatory=False, by=tenants.ars_a, on=DAY(2020, 1, 15))
    with pytest.raises(ApplicationError, match="2\u00a0000,00\u00a0€ de crédits d'amorçage délégués à la région et non engagés au 01/08/2019"):
        seed_commit(dossier_domain=make_domain(tenants.support), amount=D("2000.01"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 8, 1))
    seed_commit(dossier_domain=make_domain(tenants.support), amount=D("2000"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 8, 1))


def test_usage_commitments_use_the_usage_delegations(tenants, undelegated_a, make_domain):
    delegate(undelegated_a, tenants.dgos, D("50000"), pot="seed")
    domain = make_domain(tenants.member)
    with pytest.raises(ApplicationError, match="crédits à l'usage délégués"):
        usage_commit(dossier_domain=domain, amount=D("1"), by=tenants.ars_a, on=DAY(2021, 3, 1))
    delegate(undelegated_a, tenants.dgos, D("30000"), pot="usage", on=DAY(2020, 6, 15), reference="Circulaire 2020-02")
    assert usage_commit(dossier_domain=domain, amount=D("30000"), by=tenants.ars_a, on=DAY(2021, 3, 1)).amount == D("30000.00")


# --- The delegation itself ------------------------------------------------------------------------------------------------


def test_the_dgos_delegates_within_what_is_left_to_delegate(tenants, undelegated_a):
    envelope = undelegated_a
    for outsider in (tenants.ars_a, tenants.auditor, tenants.admin):
        with pytest.raises(PermissionRefused, match="Seule la DGOS délègue"):
            delegate(envelope, outsider, D("1"))
    entry = delegate(envelope, tenants.dgos, D("60000"))
    assert (entry.kind, entry.pot, entry.amount, entry.reference, entry.effective_on) == (
        "delegation", "seed", D("60000.00"), "Circulaire 2019-01", DAY(2019, 7, 1),
    )
    assert (entry.seed_available_after, entry.usage_available_after) == (D("100000.00"), D("400000.00"))  # moves no balance
    record = AuditRecord.objects.get(action="ledger.delegate")
    assert record.actor == tenants.dgos and record.changes["year"] == [None, 2019]
    with pytest.raises(ApplicationError, match="restent à déléguer"):
        delegate(envelope, tenants.dgos, D("40000.01"), on=DAY(2020, 6, 15))
    delegate(envelope, tenants.dgos, D("40000"), on=DAY(2020, 6, 15))
    assert balances(envelope).seed_to_delegate == D("0.00")
    with pytest.raises(ApplicationError, match="n'est pas dans l'exercice 2020"):
        credits_delegate(envelope=envelope, year=2020, pot="usage", amount=D("1"), reference="C", on=DAY(2021, 1, 2), by=tenants.dgos)
    with pytest.raises(ApplicationError, match="est à venir"):
        future = datetime.date.today() + datetime.timedelta(days=1)
        credits_delegate(envelope=envelope, year=future.year, pot="usage", amount=D("1"), reference="C", on=future, by=tenants.dgos)
    with pytest.raises(ApplicationError, match="circulaire budgétaire est obligatoire"):
        credits_delegate(envelope=envelope, year=2020, pot="usage", amount=D("1"), reference=" ", on=DAY(2020, 2, 1), by=tenants.dgos)
    assert LedgerEntry.objects.filter(kind="delegation").count() == 2


def test_a_pot_is_not_delegated_before_the_programme_s_first_year(tenants, undelegated_a):
    # Annex 2 §3: « Les soutiens financiers à l'usage seront délégués aux ARS à partir de 2020 » (programme data).
    Programme.objects.filter(pk=undelegated_a.programme_id).update(
        regional_envelopes={"delegation": {"seed_first_year": 2019, "usage_first_year": 2020}}
    )
    undelegated_a.refresh_from_db()
    with pytest.raises(ApplicationError, match="à l'usage ne sont délégués qu'à partir de 2020 \\(annexe 2 §3\\)"):
        delegate(undelegated_a, tenants.dgos, D("1"), pot="usage", on=DAY(2019, 12, 31))
    delegate(undelegated_a, tenants.dgos, D("1"), pot="usage", on=DAY(2020, 1, 2))


def test_delegated_credits_are_neither_redeployed_nor_corrected_below_their_use(tenants, undelegated_a, undelegated_b, make_domain):
    delegation = delegate(undelegated_a, tenants.dgos, D("30000"))
    with pytest.raises(ApplicationError, match="non délégués insuffisants dans l'enveloppe Hauts-de-France"):
        redeploy(from_envelope=undelegated_a, to_envelope=undelegated_b, pot="seed", amount=D("70000.01"), reason="x", by=tenants.dgos)
    redeploy(from_envelope=undelegated_a, to_envelope=undelegated_b, pot="seed", amount=D("70000"), reason="x", by=tenants.dgos)
    allocation = LedgerEntry.objects.get(envelope=undelegated_a, kind="allocation", pot="seed")
    with pytest.raises(ApplicationError, match="restent à déléguer : la dotation ne peut être corrigée"):
        entry_correct(entry=allocation, reason="Erreur", by=tenants.dgos)
    seed_commit(dossier_domain=make_domain(tenants.member), amount=D("20000"), is_derogatory=False, by=tenants.ars_a, on=DAY(2019, 8, 1))
    with pytest.raises(PermissionRefused):
        entry_correct(entry=delegation, reason="Erreur", by=tenants.ars_a)
    with pytest.raises(ApplicationError, match="Crédits délégués déjà engagés"):
        entry_correct(entry=delegation, reason="Circulaire mal saisie", by=tenants.dgos)
    assert balances(undelegated_a).seed_delegated == D("30000.00")


# --- Refunds deducted from the envelope (annex 2 §2, annex 4) -----------------------------------------------------------


def test_a_refund_received_is_deducted_from_the_regional_envelope_by_default(tenants, envelope_a, make_domain):
    # Annex 2 §2: « Si les prérequis ne sont pas atteints à date […] il remboursera les montants perçus au titre de
    # l'amorçage […] L'enveloppe régionale sera déduite des montants récupérés. »
    assert Programme.objects.get(pk=envelope_a.programme_id).refunds_return_to_envelope is False
    domain = make_domain(tenants.member)
    seed_commit(dossier_domain=domain, amount=D("20000"), is_derogatory=False, by=tenants.ars_a)
    seed_pay(dossier_domain=domain, by=tenants.ars_a)
    [claim] = refund_claims_for(dossier_domains=[domain], pots={"seed"}, reason="Prérequis", key_prefix="p")
    before = balances(envelope_a)
    received = refund_receive(claim=claim, amount=D("5000"), by=tenants.ars_a)
    deduction = LedgerEntry.objects.get(kind=EntryKind.REFUND_DEDUCTION)
    assert (deduction.pot, deduction.amount, deduction.counterpart_id) == ("seed", D("5000.00"), received.pk)
    assert deduction.seed_available_after == before.seed_available  # the region does not regain the money
    after = balances(envelope_a)
    assert after.seed_total == before.seed_total - D("5000")  # the envelope is reduced
    assert after.seed_delegated == before.seed_delegated - D("5000")
    assert (after.seed_available, after.seed_delegated_available, after.seed_to_delegate) == (
        before.seed_available, before.seed_delegated_available, before.seed_to_delegate,
    )
    assert (after.refunds_received, after.refunds_deducted) == (D("5000.00"), D("5000.00"))
    assert AuditRecord.objects.filter(action="ledger.refund_deduct").count() == 1
    # The deduction goes with its refund: corrected together, never alone.
    with pytest.raises(ApplicationError, match="se corrige avec le remboursement reçu"):
        entry_correct(entry=deduction, reason="x", by=tenants.ars_a)
    entry_correct(entry=received, reason="Virement rejeté", by=tenants.ars_a)
    assert balances(envelope_a) == before


def test_a_programme_may_return_refunds_to_the_region(tenants, envelope_a, make_domain):
    Programme.objects.filter(pk=envelope_a.programme_id).update(refunds_return_to_envelope=True)
    domain = make_domain(tenants.member)
    seed_commit(dossier_domain=domain, amount=D("20000"), is_derogatory=False, by=tenants.ars_a)
    seed_pay(dossier_domain=domain, by=tenants.ars_a)
    [claim] = refund_claims_for(dossier_domains=[domain], pots={"seed"}, reason="Prérequis", key_prefix="p")
    before = balances(envelope_a)
    refund_receive(claim=claim, amount=D("5000"), by=tenants.ars_a)
    after = balances(envelope_a)
    assert not LedgerEntry.objects.filter(kind=EntryKind.REFUND_DEDUCTION).exists()
    assert (after.seed_total, after.seed_available) == (before.seed_total, before.seed_available + D("5000"))
    assert after.seed_delegated_available == before.seed_delegated_available + D("5000")


# --- API and page -----------------------------------------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_the_dgos_delegates_through_the_api(tenants, undelegated_a):
    url = "/api/v1/envelopes/32/delegations/"
    body = {"year": 2019, "pot": "seed", "amount": "25000.50", "reference": "Circulaire 2019-01", "delegated_on": "2019-07-01"}
    assert api(tenants.ars_a).post(url, body, format="json").status_code == 403
    assert api(tenants.editor).post(url, body, format="json").status_code == 403
    response = api(tenants.dgos).post(url, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["kind"], created["amount"], created["reference"], created["effective_on"]) == (
        "delegation", "25000.50", "Circulaire 2019-01", "2019-07-01",
    )
    refused = api(tenants.dgos).post(url, {**body, "amount": "74999.51"}, format="json")
    assert refused.status_code == 400 and "restent à déléguer" in refused.json()["detail"]
    [row] = api(tenants.ars_a).get("/api/v1/envelopes/").json()
    assert (row["seed_delegated"], row["seed_to_delegate"], row["usage_delegated"], row["usage_to_delegate"]) == (
        "25000.50", "74999.50", "0.00", "400000.00",
    )
    assert (row["delegated"], row["to_delegate"]) == ("25000.50", "474999.50")
    detail = api(tenants.ars_a).get("/api/v1/envelopes/32/").json()
    assert detail["seed_delegated_available"] == "25000.50"


def test_the_dgos_page_confirms_before_recording_a_delegation(client, tenants, undelegated_a):
    client.force_login(tenants.ars_a)
    html = client.get("/enveloppes/32/").content.decode()
    assert 'id="tableau-delegations"' in html and 'id="formulaire-delegation"' not in html
    assert client.post("/enveloppes/32/", {"action": "delegate"}).status_code == 403
    client.force_login(tenants.dgos)
    form = {
        "action": "delegate", "delegation-year": "2019", "delegation-pot": "seed", "delegation-amount": "12 500,00",
        "delegation-reference": "Circulaire 2019-01", "delegation-delegated_on": "2019-07-01",
    }
    asked = client.post("/enveloppes/32/", form)
    assert asked.status_code == 200 and 'id="confirmation-delegation"' in asked.content.decode()
    assert "12\u00a0500,00\u00a0€" in asked.content.decode()
    assert not LedgerEntry.objects.filter(kind="delegation").exists()
    done = client.post("/enveloppes/32/", {**form, "confirmed": "1"})
    assert done.status_code == 302 and done.url == "/enveloppes/32/"
    assert LedgerEntry.objects.get(kind="delegation").amount == D("12500.00")
    html = client.get("/enveloppes/32/").content.decode()
    to_delegate = html.split('id="tableau-delegations"')[1].split('data-pot="seed"')[1].split("</tr>")[0]
    assert "87\u00a0500,00\u00a0€" in to_delegate
    refused = client.post("/enveloppes/32/", {**form, "delegation-amount": "87 500,01", "confirmed": "1"})
    assert refused.status_code == 200 and "restent à déléguer" in refused.content.decode()

"""Usage funding per GHT member share (annex 2 §2: « Il convient de préciser que le GHT représente ici les
établissements parties au groupement candidats au volet financement et que le soutien financier intervient à chaque
atteinte des cibles d'usage par un établissement partie pour un domaine fonctionnel »): the seed split between the
members' shares, each member's targets, usage notification and payment on its own, the domain's status following its
shares, the ledger per share, the page and the API."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from rest_framework.test import APIClient

from envelopes.models import EntryKind, LedgerEntry
from funding.dossiers import services
from funding.dossiers.rules import seed_parts
from funding.dossiers.selectors import dossier_page
from funding.models import DomainStatus, DossierDomainShare, DossierLetter, DossierStatus
from hopen.exceptions import ApplicationError
from hopen.models import AuditRecord
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    LATER,
    NOW,
    domain_of,
    domains,
    reach,
    world,
)

pytestmark = pytest.mark.django_db
SEED = Decimal("50000.00")


# --- The seed split (pure) -------------------------------------------------------------------------------------------


def test_annex_2_2_seed_parts_sum_exactly_to_the_seed_pro_rata_of_the_amounts():
    """Annex 2 §2: « Le montant de l'amorçage est à défalquer du montant du soutien financier total » — per member,
    its part of the seed, pro rata of its flat amount (annex 3 §2)."""
    parts = seed_parts(Decimal("50000.00"), [Decimal("250000.00"), Decimal("200000.00")])
    assert parts == [Decimal("27777.78"), Decimal("22222.22")]
    assert sum(parts) == Decimal("50000.00")


def test_annex_2_2_seed_parts_boundary_three_members_one_cent_left():
    """Boundary: 3 equal members, 100,00 € of seed → 33,33 × 3 = 99,99 and one cent left, given to the first share
    (largest remainder, ties to the earlier): the parts still sum to the seed and none exceeds its amount."""
    assert seed_parts(Decimal("100.00"), [Decimal("100.00")] * 3) == [
        Decimal("33.34"), Decimal("33.33"), Decimal("33.33")
    ]
    assert seed_parts(Decimal("0.01"), [Decimal("1.00")] * 3) == [Decimal("0.01"), Decimal("0.00"), Decimal("0.00")]
    parts = seed_parts(Decimal("0.02"), [Decimal("0.01"), Decimal("0.01"), Decimal("0.01")])
    assert sum(parts) == Decimal("0.02") and all(p <= Decimal("0.01") for p in parts)
    assert seed_parts(Decimal("0.00"), [Decimal("5.00"), Decimal("7.00")]) == [Decimal("0.00"), Decimal("0.00")]
    with pytest.raises(ValueError):
        seed_parts(Decimal("12.01"), [Decimal("5.00"), Decimal("7.00")])


# --- The scene -------------------------------------------------------------------------------------------------------


def _ght_domain(t, seed=SEED):
    """A GHT dossier of the support for itself and the member on D2, selected with `seed`, the seed paid."""
    dossier = services.dossier_create(
        programme=t.envelope_a.programme, establishment=t.support, domains=domains("D2"),
        ght_members=[t.support, t.member], by=t.ght_director, now=NOW,
    )
    services.dossier_transmit(dossier=dossier, by=t.ght_director, now=NOW)
    services.dossier_start_review(dossier=dossier, by=t.ars_a, now=NOW)
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount=str(seed), by=t.ars_a, now=NOW)
    if seed > 0:
        services.domain_record_seed_payment(domain=domain_of(dossier, "D2"), by=t.ars_a, now=NOW)
    return dossier


def _share(dossier, establishment):
    return DossierDomainShare.objects.get(domain__dossier=dossier, domain__domain_code="D2", establishment=establishment)


def _usage(dossier, kind):
    return LedgerEntry.objects.filter(dossier_domain__dossier=dossier, kind=kind).aggregate(s=Sum("amount"))["s"]


def test_annex_2_2_the_selection_splits_the_seed_between_the_members_shares(world):
    t = world
    dossier = _ght_domain(t)
    support, member = _share(dossier, t.support), _share(dossier, t.member)
    assert support.seed_part + member.seed_part == SEED
    assert (support.seed_part, member.seed_part) == tuple(seed_parts(SEED, [support.amount, member.amount])) or (
        (member.seed_part, support.seed_part) == tuple(seed_parts(SEED, [member.amount, support.amount]))
    )
    with pytest.raises(IntegrityError), transaction.atomic():  # the database backs it: seed part ≤ amount
        DossierDomainShare.objects.filter(pk=member.pk).update(seed_part=member.amount + 1)


def test_annex_2_2_a_member_reaching_its_targets_is_notified_and_paid_while_the_other_waits(world):
    """Member A (CH Membre) reaches its targets: its usage funding (its amount − its seed part) is notified, committed
    and paid under keys of its own, with its letter; the support still waits and the domain stays « sélectionné »;
    then the support: the domain follows (« cibles atteintes », « usage notifié », « versé ») and the dossier is
    completed; the ledger sums equal the domain's usage funding."""
    t = world
    dossier = _ght_domain(t)
    domain = domain_of(dossier, "D2")
    reach(t.member, "D2", by=t.director)

    services.domain_record_targets_reached(domain=domain, by=t.ght_director, establishment=t.member, now=LATER)
    services.domain_notify_usage(domain=domain, by=t.ars_a, establishment=t.member.finess, now=LATER)
    after = services.domain_record_usage_payment(domain=domain, by=t.ars_a, establishment=t.member.pk, now=LATER)
    member, support = _share(dossier, t.member), _share(dossier, t.support)
    assert (member.stage, member.usage_amount, member.paid_at) == ("paid", member.amount - member.seed_part, LATER)
    assert support.stage == "waiting"
    assert after.status == DomainStatus.SELECTED and after.usage_amount is None
    commitment = LedgerEntry.objects.get(dossier_domain=domain, kind=EntryKind.USAGE_COMMITMENT)
    assert (commitment.amount, commitment.idempotency_key) == (
        member.usage_amount, f"usage_commitment:{domain.pk}:share:{member.pk}"
    )
    assert commitment.establishment == t.support  # annex 3 §2: « pour délégation à l'établissement support »
    payment = LedgerEntry.objects.get(dossier_domain=domain, kind=EntryKind.USAGE_PAYMENT)
    assert (payment.amount, payment.idempotency_key) == (member.usage_amount, f"usage_payment:{domain.pk}:share:{member.pk}")
    assert DossierLetter.objects.filter(event_key=f"usage:{domain.pk}:share:{member.pk}").count() == 1
    assert AuditRecord.objects.filter(action="dossier_domain_share.notify_usage", object_id=str(member.pk)).exists()
    # the support is judged on its own facts: its targets are not reached yet
    with pytest.raises(ApplicationError, match="non atteintes : CH Support"):
        services.domain_record_targets_reached(domain=domain, by=t.ght_director, establishment=t.support)

    reach(t.support, "D2", by=t.support_director)
    assert services.domain_record_targets_reached(
        domain=domain, by=t.ght_director, establishment=t.support
    ).status == DomainStatus.TARGETS_REACHED
    notified = services.domain_notify_usage(domain=domain, by=t.ars_a, establishment=t.support)
    assert (notified.status, notified.usage_amount) == (DomainStatus.USAGE_NOTIFIED, notified.total_amount - SEED)
    paid = services.domain_record_usage_payment(domain=domain, by=t.ars_a, establishment=t.support)
    assert paid.status == DomainStatus.PAID
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.COMPLETED
    total_usage = paid.total_amount - SEED
    assert _usage(dossier, EntryKind.USAGE_COMMITMENT) == _usage(dossier, EntryKind.USAGE_PAYMENT) == total_usage
    assert sum(s.usage_amount for s in DossierDomainShare.objects.filter(domain=paid)) == total_usage


def test_annex_2_2_a_ght_domain_level_call_needs_the_member_and_writes_nothing_without_it(world):
    t = world
    dossier = _ght_domain(t)
    reach(t.member, "D2", by=t.director)
    services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ars_a, establishment=t.member)
    before = (AuditRecord.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(ApplicationError, match="précisez l'établissement partie") as refused:
        services.domain_notify_usage(domain=domain_of(dossier, "D2"), by=t.ars_a)
    assert "establishment" in refused.value.extra["errors"]
    with pytest.raises(ApplicationError, match="n'est pas candidat"):
        services.domain_notify_usage(domain=domain_of(dossier, "D2"), by=t.ars_a, establishment="999999999")
    assert (AuditRecord.objects.count(), LedgerEntry.objects.count()) == before
    assert _share(dossier, t.member).usage_notified_at is None


def test_annex_2_2_a_member_whose_seed_part_is_unpaid_waits_for_the_seed_payment(world):
    """« aucun versement intermédiaire entre l'amorçage éventuel et l'atteinte des cibles »: the gate reads the
    member's own seed part."""
    t = world
    dossier = services.dossier_create(
        programme=t.envelope_a.programme, establishment=t.support, domains=domains("D2"),
        ght_members=[t.support, t.member], by=t.ght_director, now=NOW,
    )
    services.dossier_transmit(dossier=dossier, by=t.ght_director, now=NOW)
    services.dossier_start_review(dossier=dossier, by=t.ars_a, now=NOW)
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="10000", by=t.ars_a, now=NOW)
    reach(t.member, "D2", by=t.director)
    domain = domain_of(dossier, "D2")
    services.domain_record_targets_reached(domain=domain, by=t.ars_a, establishment=t.member)
    services.domain_notify_usage(domain=domain, by=t.ars_a, establishment=t.member)
    with pytest.raises(ApplicationError) as refused:
        services.domain_record_usage_payment(domain=domain, by=t.ars_a, establishment=t.member)
    assert [r["code"] for r in refused.value.extra["reasons"]] == ["seed_not_paid"]
    assert not LedgerEntry.objects.filter(kind=EntryKind.USAGE_PAYMENT).exists()


# --- API and page ----------------------------------------------------------------------------------------------------


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_the_usage_endpoints_take_the_member_of_a_ght_dossier(world):
    t = world
    dossier = _ght_domain(t)
    base = f"/api/v1/dossiers/{dossier.reference}/domains/D2/"
    refused = _api(t.ars_a).post(f"{base}targets-reached/", {}, format="json")
    assert refused.status_code == 400 and "précisez l'établissement partie" in refused.json()["detail"]
    gated = _api(t.ars_a).post(f"{base}targets-reached/", {"establishment": t.member.finess}, format="json")
    assert gated.status_code == 400
    assert "targets_not_reached" in [r["code"] for r in gated.json()["reasons"]]
    reach(t.member, "D2", by=t.director)
    assert _api(t.ars_a).post(f"{base}targets-reached/", {"establishment": t.member.finess}, format="json").status_code == 200
    body = _api(t.ars_a).post(f"{base}notify-usage/", {"establishment": str(t.member.pk)}, format="json").json()
    shares = {s["establishment"]: s for s in body["shares"]}
    assert (body["status"], shares[t.member.finess]["stage"], shares[t.support.finess]["stage"]) == (
        "selected", "usage_notified", "waiting"
    )
    paid = _api(t.ars_a).post(f"{base}pay-usage/", {"establishment": t.member.finess}, format="json")
    assert {s["establishment"]: s["stage"] for s in paid.json()["shares"]}[t.member.finess] == "paid"


def test_the_page_shows_each_members_share_with_its_actions_and_reasons(client, world):
    t = world
    dossier = _ght_domain(t)
    reach(t.member, "D2", by=t.director)
    client.force_login(t.ars_a)
    page = client.get(reverse("funding:dossier_detail", args=[dossier.reference])).content.decode()
    member, support = _share(dossier, t.member), _share(dossier, t.support)
    assert f'data-testid="share-{"D2"}-{t.member.finess}"' in page
    assert f'data-testid="share-reach_targets-D2-{t.member.finess}"' in page
    assert f'data-testid="share-reach_targets-D2-{t.support.finess}-disabled-reason"' in page  # support behind
    assert 'data-testid="targets-D2"' not in page  # no domain-level button for a GHT domain
    response = client.post(
        reverse("funding:dossier_detail", args=[dossier.reference]),
        {"action": "reach_targets", "domain": "D2", "member": t.member.finess, "confirmed": "1"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    support.refresh_from_db()
    assert (member.stage, support.stage) == ("targets_reached", "waiting")


def test_the_page_links_each_member_to_its_establishment_page_and_flags_the_passed_target_deadline(client, world):
    """Issue 16: GHT members linked to their page; annex 4 §3: a selected domain past its target deadline
    (DEADLINE, 31/12/2021) whose targets are not reached is flagged « échéance dépassée », not before."""
    t = world
    dossier = _ght_domain(t)
    client.force_login(t.ars_a)
    page = client.get(reverse("funding:dossier_detail", args=[dossier.reference])).content.decode()
    shares = page.split('data-testid="shares-D2"')[1].split("</table>")[0]
    for establishment in (t.support, t.member):
        link = reverse("establishment_detail", args=[establishment.finess])
        assert f'<a href="{link}">{establishment.name}</a>' in shares
    assert 'data-testid="target-overdue-D2"' in page  # the clock is past 2021
    on_time = dossier_page(t.ars_a, dossier, today=datetime.date(2021, 12, 31))
    late = dossier_page(t.ars_a, dossier, today=datetime.date(2022, 1, 1))
    assert [line.target_overdue for line in on_time.lines] == [False]
    assert [line.target_overdue for line in late.lines] == [True]

"""Arrange helpers for the dashboard and review tests (tests/funding/dashboard/, tests/funding/reviews/):
dossiers in progress, selected domains and ledger movements written directly (factories and
`envelopes.ledger.append_many`), and a hand-computed region (`money_world`)."""

import datetime
import itertools
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Pot
from funding.models import DossierDomain, DossierStatus, DomainStatus
from hopen.models import Role
from tests.factories import EstablishmentFactory, user_with_role
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, open_envelope
from tests.funding.dossier_scene import add_document
from tests.indicators.conftest import declared, existence, indicator, rate

D = Decimal
INITIAL_PREREQUISITES = datetime.date(2020, 6, 30)
INITIAL_DEADLINE = datetime.date(2022, 6, 30)
PREREQUISITE_CODES = (
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2",
    "P4.3",
)
D5_CODES = ("D5.1", "D5.2", "D5.3")
_names = itertools.count(1)


def dossier_in_progress(establishment, *, status=DossierStatus.IN_PROGRESS, prerequisites=INITIAL_PREREQUISITES,
                        prerequisites_initial=INITIAL_PREREQUISITES, **extra):
    now = timezone.now()
    return DossierFactory(
        establishment=establishment, status=status, transmitted_at=now, review_started_at=now, decided_at=now,
        prerequisites_forecast_initial=prerequisites_initial, prerequisites_forecast=prerequisites, **extra,
    )


def domain(dossier, code, *, seed=D("0"), total=D("100000"), status=DomainStatus.SELECTED,
           deadline=INITIAL_DEADLINE, initial=INITIAL_DEADLINE) -> DossierDomain:
    return DossierDomainFactory(
        dossier=dossier, domain_code=code, status=status, seed_amount=seed, total_amount=total,
        target_deadline_initial=initial, target_deadline=deadline, decided_at=timezone.now(),
    )


def movement(envelope, dossier_domain, kind, amount, *, sector="", corrects_id=None) -> Movement:
    pot = Pot.SEED if kind.startswith("seed") else Pot.USAGE
    return Movement(
        envelope_id=envelope.pk, kind=kind, pot=pot, amount=D(amount), label=f"{kind} (test)",
        establishment_id=dossier_domain.dossier.establishment_id, sector=sector,
        dossier_domain_id=dossier_domain.pk, corrects_id=corrects_id,
    )


def record(movements):
    with transaction.atomic():
        return append_many(list(movements))


def declare_reached(establishment, codes):
    """Declare each indicator of `codes` reached (rate 100 % or existence yes) through the indicator services."""
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=establishment)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)
    for code in codes:
        data = rate(100, 100) if indicator(code).target_kind == "rate" else existence(True)
        value = declared(establishment, code, data, editor=editor, director=director)
        if code.startswith("P"):  # §5.3.1: a prerequisite counts with its justificatory document
            add_document(value, by=editor)


class MoneyWorld:
    """Region A (Hauts-de-France, from `tenants`), hand-computed (euros):

    envelope A: seed 200 000, usage 800 000. Envelope B: seed 100 000, usage 400 000.
    - member (public, MCO + PSY), dossier in progress: D1 selected (seed 40 000 committed and paid), D2 targets
      reached (seed 20 000 committed and paid; usage 80 000 committed and paid); prerequisites forecast moved
      from 30/06/2020 to 31/12/2020 and D2's deadline from 30/06/2022 to 31/12/2022 (slipped);
    - clinic (private for profit, MCO + SSR), dossier in progress: D5 selected (seed 30 000 committed, then
      corrected by -5 000); D5's deadline brought forward (not slipped);
    - espic (private non-profit ESPIC, SSR), dossier under review with a pending domain (not selected), and a
      dossier closed (abandoned) after the selection of D4, whose dates moved (not followed: left out of the
      selected and slipped lists);
    - region B: foreign (public), seed 10 000 committed.

    Region A: seed committed 85 000, paid 60 000; usage committed 80 000, paid 80 000; available 835 000.
    Public: committed 140 000, paid 140 000; private: 25 000 / 0; ESPIC: 0 / 0.
    MCO: 165 000 / 140 000; SSR: 25 000 / 0; PSY: 140 000 / 140 000; HAD: 0 / 0.
    """

    def __init__(self, tenants):
        t = self.tenants = tenants
        t.member.has_psy = True
        t.member.save()
        t.clinic.has_ssr = True
        t.clinic.save()
        self.espic = EstablishmentFactory(
            region=t.region_a, status="private_non_profit", is_espic=True, has_mco=False, has_ssr=True,
            name="Centre ESPIC du Littoral",
        )
        self.envelope_a = open_envelope(t.region_a, seed=D("200000.00"), usage=D("800000.00"))
        self.envelope_b = open_envelope(t.region_b, seed=D("100000.00"), usage=D("400000.00"))

        self.member_dossier = dossier_in_progress(t.member, prerequisites=datetime.date(2020, 12, 31))
        self.d1 = domain(self.member_dossier, "D1", seed=D("40000"), total=D("200000"))
        self.d2 = domain(
            self.member_dossier, "D2", seed=D("20000"), total=D("100000"), status=DomainStatus.TARGETS_REACHED,
            deadline=datetime.date(2022, 12, 31),
        )
        self.clinic_dossier = dossier_in_progress(t.clinic)
        self.d5 = domain(self.clinic_dossier, "D5", seed=D("30000"), total=D("150000"),
                         deadline=datetime.date(2022, 3, 31))
        self.espic_dossier = dossier_in_progress(self.espic, status=DossierStatus.UNDER_REVIEW)
        domain(self.espic_dossier, "D3", status=DomainStatus.PENDING)
        closed = dossier_in_progress(
            EstablishmentFactory(region=t.region_a), status=DossierStatus.CLOSED,
            prerequisites=datetime.date(2021, 12, 31), closed_at=timezone.now(), closure_kind="abandonment",
            closure_reason="Projet abandonné (test)",
        )
        closed_domain = domain(closed, "D4", status=DomainStatus.SELECTED, deadline=datetime.date(2023, 6, 30))
        self.foreign_dossier = dossier_in_progress(t.foreign, prerequisites=datetime.date(2021, 6, 30))
        self.foreign_domain = domain(self.foreign_dossier, "D1", seed=D("10000"), total=D("50000"))
        assert closed_domain.pk

        a, b = self.envelope_a, self.envelope_b
        entries = record([
            movement(a, self.d1, EntryKind.SEED_COMMITMENT, "40000", sector="public"),
            movement(a, self.d2, EntryKind.SEED_COMMITMENT, "20000", sector="public"),
            movement(a, self.d5, EntryKind.SEED_COMMITMENT, "30000", sector="private"),
            movement(a, self.d1, EntryKind.SEED_PAYMENT, "40000", sector="public"),
            movement(a, self.d2, EntryKind.SEED_PAYMENT, "20000", sector="public"),
            movement(a, self.d2, EntryKind.USAGE_COMMITMENT, "80000"),
            movement(a, self.d2, EntryKind.USAGE_PAYMENT, "80000"),
            movement(b, self.foreign_domain, EntryKind.SEED_COMMITMENT, "10000", sector="public"),
        ])
        clinic_commitment = entries[2]
        record([movement(a, self.d5, EntryKind.SEED_COMMITMENT, "-5000", sector="private",
                         corrects_id=clinic_commitment.pk)])


def bulk_region(region, count, *, envelope=None):
    """`count` dossiers in progress in `region`, each with two selected domains, ledger movements, a slipped
    prerequisites date on every other one and a slipped deadline on every third (for query counts)."""
    envelope = envelope or open_envelope(region, seed=D("10000000.00"), usage=D("40000000.00"))
    movements = []
    for i in range(count):
        establishment = EstablishmentFactory(
            region=region, name=f"Hôpital en nombre {next(_names):05d}",
            status=("public", "private_for_profit", "private_non_profit")[i % 3], has_ssr=i % 2 == 0,
        )
        dossier = dossier_in_progress(
            establishment, prerequisites=datetime.date(2021, 3, 31) if i % 2 else INITIAL_PREREQUISITES
        )
        first = domain(dossier, "D1", seed=D("1000"), total=D("5000"))
        second = domain(
            dossier, "D5", seed=D("2000"), total=D("8000"),
            deadline=datetime.date(2023, 1, 31) if i % 3 == 0 else INITIAL_DEADLINE,
        )
        movements += [
            movement(envelope, first, EntryKind.SEED_COMMITMENT, "1000"),
            movement(envelope, first, EntryKind.SEED_PAYMENT, "1000"),
            movement(envelope, second, EntryKind.SEED_COMMITMENT, "2000"),
            movement(envelope, second, EntryKind.USAGE_COMMITMENT, "6000"),
        ]
    record(movements)
    return envelope

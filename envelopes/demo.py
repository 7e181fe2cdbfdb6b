"""The demo's delegations of credits (annex 2 §3), written by `funding.demo` before the demo dossiers commit.

The DGOS delegates the credits by circular (HOP'EN: seed from 2019, usage from 2020), following the ARS's annual
programming. The demo's circulars: (year, pot, share of the pot, date, reference); the last third of HOP'EN's usage
credits stays « à déléguer ». A programme not listed (the fictitious campaign) gets its seed credits delegated today.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from hopen.demo import DEMO_DOMAIN
from hopen.models import User

from .ledger import balances_of
from .models import EntryKind, Envelope, LedgerEntry
from .selectors import delegation_first_year
from .services import credits_delegate

DEMO_DELEGATIONS = {
    "HOPEN": (
        (2019, "seed", Decimal("0.5"), datetime.date(2019, 7, 1), "Circulaire budgétaire 2019 (démonstration)"),
        (2020, "seed", Decimal("0.5"), datetime.date(2020, 6, 15), "1re circulaire budgétaire 2020 (démonstration)"),
        (2020, "usage", Decimal("0.33"), datetime.date(2020, 6, 15), "1re circulaire budgétaire 2020 (démonstration)"),
        (2021, "usage", Decimal("0.33"), datetime.date(2021, 6, 1), "1re circulaire budgétaire 2021 (démonstration)"),
    ),
}


def delegate_demo_credits(region, programme) -> None:
    """The demo delegations of `programme` to `region`, through the envelope service, by the demo DGOS officer —
    unless the envelope already has delegations (an earlier run, or a test fixture), or does not exist."""
    envelope = Envelope.objects.filter(programme=programme, region=region).select_related("region", "programme").first()
    if envelope is None or LedgerEntry.objects.filter(envelope=envelope, kind=EntryKind.DELEGATION).exists():
        return
    dgos = User.objects.filter(email=f"dgos@{DEMO_DOMAIN}").first()
    today = timezone.localdate()
    plan = DEMO_DELEGATIONS.get(
        programme.code, ((today.year, "seed", Decimal("1"), today, "Circulaire de la campagne (démonstration)"),)
    )
    balances = balances_of([envelope.pk])[envelope.pk]
    for year, pot, share, day, reference in plan:
        first = delegation_first_year(programme, pot)
        if day > today or (first and year < first):
            continue
        credits = balances.seed_total if pot == "seed" else balances.usage_total
        credits_delegate(
            envelope=envelope, year=year, pot=pot, amount=(credits * share).quantize(Decimal("0.01")),
            reference=reference, on=day, by=dgos,
        )

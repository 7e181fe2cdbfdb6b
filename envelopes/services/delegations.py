"""Delegations of credits to the regions by the DGOS (annex 2 §3), and the limit they set on commitments.

« Concernant l'amorçage, les fonds sont délégués aux ARS via les circulaires […] Les délégations en amorçage sont
prévues dès 2019 » ; « Les soutiens financiers à l'usage seront délégués aux ARS à partir de 2020 », the amounts
adjusted to the ARS's annual programming. The rhythm table is not in our copy of the text: each delegation is
entered (year, pot, amount, circular), as a `delegation` entry of the ledger that moves no balance; a region's
commitments of a pot stay within what was delegated to it up to their date (`delegated_credits_check`); the rest
of the envelope is « à déléguer ».
"""

import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros
from hopen.models import Role, User
from hopen.notifications import notify

from ..ledger import Movement, append, balances_of
from ..models import EntryKind, LedgerEntry, Pot
from ..rules import (
    DELEGATION_REFUSAL_CODE,
    DELEGATION_SECTION,
    delegated_credits_refusal,
    delegation_refusal,
)
from ..selectors import delegated_room_of, delegation_first_year
from .common import POT_LABELS, _entry_changes, _lock, _money, _require

DELEGATION_REFUSED = "Seule la DGOS délègue les crédits aux régions (annexe 2 §3)."


def delegated_credits_check(envelope_id, pot, amount, on) -> None:
    """Annex 2 §3: refuses a commitment of `amount` dated `on` beyond the delegated credits of `pot` (call it under
    the envelope lock). The refusal carries its code and section for the API (`reasons`)."""
    room = delegated_room_of(envelope_id, pot, on)
    refusal = delegated_credits_refusal(amount, pot=pot, room=room, on=on)
    if refusal:
        raise ApplicationError(
            refusal,
            {"reasons": [{"code": DELEGATION_REFUSAL_CODE, "section": DELEGATION_SECTION, "message": refusal}]},
        )


def _year(year) -> int:
    try:
        return int(year)
    except (TypeError, ValueError):
        raise ApplicationError(f"Exercice invalide : « {year} ».") from None


@transaction.atomic
def credits_delegate(*, envelope, year, pot, amount, reference, by, on: datetime.date | None = None) -> LedgerEntry:
    """The DGOS records a delegation of `amount` € of the `pot` credits of `envelope` for the budget year `year`,
    by the circular `reference`, dated `on` (the circular's date; today by default). Refused beyond what is left to
    delegate, outside the year, in the future, or before the programme's first year of that pot."""
    _require(permissions.can_delegate_credits(by), DELEGATION_REFUSED)
    if pot not in Pot.values:
        raise ApplicationError("La part déléguée est « seed » (amorçage) ou « usage ».")
    amount = _money(amount)
    year = _year(year)
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError("La référence de la circulaire budgétaire est obligatoire.")
    today = timezone.localdate()
    on = on or today
    _lock([envelope.pk])
    balances = balances_of([envelope.pk])[envelope.pk]
    to_delegate = balances.seed_to_delegate if pot == Pot.SEED else balances.usage_to_delegate
    refusal = delegation_refusal(
        amount, pot=pot, year=year, on=on, today=today,
        first_year=delegation_first_year(envelope.programme, pot), to_delegate=to_delegate,
    )
    if refusal:
        raise ApplicationError(refusal)
    entry = append(
        Movement(
            envelope_id=envelope.pk, kind=EntryKind.DELEGATION, pot=pot, amount=amount, by=by, effective_on=on,
            reference=reference, label=f"Délégation {year} des crédits {POT_LABELS[pot]} — {reference}",
        ),
        locked=True,
    )
    changes = _entry_changes(entry)
    changes["year"] = [None, year]
    audit_record(actor=by, action="ledger.delegate", target=entry, changes=changes)
    notify(
        recipients=User.objects.filter(
            is_active=True, role_assignments__role=Role.ARS_OFFICER, role_assignments__region_id=envelope.region_id
        ).distinct(),
        message=f"La DGOS a délégué {french_euros(amount)} de crédits {POT_LABELS[pot]} pour {year} à l'enveloppe "
        f"{envelope.region} ({reference}).",
        link=reverse("envelopes:detail", args=[envelope.region.code]),
        subject="HOP'EN — délégation de crédits",
    )
    return entry

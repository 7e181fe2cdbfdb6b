"""Reads of the regional envelopes and of their ledger (annex 2, annex 4 §3), scoped to the user.

The scope is the permission policy's `can_read_region_money`: the DGOS and the other national roles read every
envelope, an ARS officer its region's, anybody else none (a region out of scope answers 404). Each selector makes a
constant number of queries, whatever the number of envelopes or entries.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.http import Http404

from hopen import permissions
from hopen.exceptions import ApplicationError
from hopen.models import Region

from .ledger import balances_of
from .models import EntryKind, Envelope, LedgerEntry, Pot, Sector, SectorQuota
from .rules import (
    SECTORS,
    ZERO,
    Balances,
    SeedBreakdown,
    derogatory_ceiling,
    delegation_room,
    derogatory_share,
    room_events_from_rows,
    sector_ceiling,
    seed_breakdown_from_rows,
)


def _readable_region_ids(user) -> set[int] | None:
    """The regions whose money the user reads (None: all of them), by `permissions.can_read_region_money`."""
    scope = permissions.scope_of(user)
    if scope.national:
        return None
    return {pk for pk in scope.region_ids if permissions.can_read_region_money(user, Region(pk=pk))}


def envelopes_visible_to(user, *, programme):
    """The envelopes of `programme` the user reads, by region name (a queryset: no query until evaluated)."""
    envelopes = Envelope.objects.filter(programme=programme).select_related("region", "programme").order_by(
        "region__name"
    )
    region_ids = _readable_region_ids(user)
    return envelopes if region_ids is None else envelopes.filter(region_id__in=region_ids)


def envelope_of_region(user, region_code, *, programme) -> Envelope:
    """`programme`'s envelope of the region with this INSEE code if the user reads it; 404 otherwise (existence not
    revealed)."""
    envelope = (
        envelopes_visible_to(user, programme=programme)
        .select_related("derogatory_ceiling_raised_by")
        .filter(region__code=str(region_code))
        .first()
    )
    if envelope is None:
        raise Http404("Enveloppe introuvable.")
    return envelope


def balances_visible_to(user, *, programme) -> list[tuple[Envelope, Balances]]:
    """Each readable envelope of `programme` with its balances derived from the ledger (two queries)."""
    envelopes = list(envelopes_visible_to(user, programme=programme))
    balances = balances_of([e.pk for e in envelopes]) if envelopes else {}
    return [(envelope, balances[envelope.pk]) for envelope in envelopes]


def balances_total(balances: list[Balances]) -> Balances:
    """The national figures: the sum of the regional ones."""
    names = [name for name in Balances.__dataclass_fields__]
    return Balances(**{name: sum((getattr(b, name) for b in balances), ZERO) for name in names})


def region_figures(programme, region_codes=None) -> Balances | None:
    """THE figures of one region, of several summed, or of the nation (`region_codes` None) — envelope, seed and
    usage credits, committed, paid — derived from the ledger (annex 4 §3), for every page that prints them
    (envelopes, dashboard, AMI list and programming): one selector, so that a region's figures are equal on every
    page. None when the programme's envelopes are not opened. Two queries; the caller has checked the scope."""
    envelopes = Envelope.objects.filter(programme=programme)
    if region_codes is not None:
        envelopes = envelopes.filter(region__code__in=[str(code) for code in region_codes])
    envelope_ids = list(envelopes.values_list("pk", flat=True))
    if not envelope_ids:
        return None
    return balances_total(list(balances_of(envelope_ids).values()))


def ledger_entries_visible_to(user, *, programme):
    """Entries of the readable envelopes of `programme`, newest first, with what the list pages and the API print."""
    region_ids = _readable_region_ids(user)
    entries = LedgerEntry.objects.filter(envelope__programme=programme).select_related(
        "envelope__region", "establishment", "dossier_domain__dossier", "created_by"
    )
    if region_ids is not None:
        entries = entries.filter(envelope__region_id__in=region_ids)
    return entries.order_by("-created_at", "-sequence", "-id")


LEDGER_EXPORT_FIELDS = (
    "envelope__region__name", "envelope__region__code", "sequence", "effective_on", "kind", "pot", "amount",
    "corrects__sequence", "is_derogatory", "sector", "establishment__finess", "establishment__name",
    "dossier_domain__dossier__reference", "dossier_domain__domain_code", "reference", "label",
    "seed_available_after", "usage_available_after", "created_at", "created_by__first_name",
    "created_by__last_name", "created_by__email",
)


def ledger_export_rows(user, *, programme, envelope=None, chunk_size=2000):
    """The entries of the readable envelopes of `programme` (or of `envelope` only, already checked by
    `envelope_of_region`) in the order of the ledger: by region, then by sequence number. Dicts of
    LEDGER_EXPORT_FIELDS read through a server-side cursor: one query, a bounded number of rows in memory whatever
    the size of the ledger."""
    region_ids = _readable_region_ids(user)
    entries = LedgerEntry.objects.filter(envelope__programme=programme)
    if region_ids is not None:
        entries = entries.filter(envelope__region_id__in=region_ids)
    if envelope is not None:
        entries = entries.filter(envelope=envelope)
    return (
        entries.order_by("envelope__region__name", "sequence", "id")
        .values(*LEDGER_EXPORT_FIELDS)
        .iterator(chunk_size=chunk_size)
    )


def envelope_entries(envelope):
    """One envelope's entries, newest first (the envelope was already checked by `envelope_of_region`)."""
    return (
        LedgerEntry.objects.filter(envelope=envelope)
        .select_related("establishment", "dossier_domain__dossier", "created_by")
        .order_by("-sequence")
    )


def entries_by_id(entry_ids):
    """Entries just written by a service, with what the API prints (not scoped: the caller wrote them)."""
    return LedgerEntry.objects.filter(pk__in=list(entry_ids)).select_related(
        "establishment", "dossier_domain__dossier", "created_by"
    )


def envelope_for_dossier(dossier) -> Envelope:
    """The envelope a dossier's money comes from: its programme's, in its region (annex 2)."""
    envelope = (
        Envelope.objects.select_related("region")
        .filter(programme_id=dossier.programme_id, region_id=dossier.region_id)
        .first()
    )
    if envelope is None:
        raise ApplicationError(
            f"Aucune enveloppe n'est ouverte pour la région {dossier.region} : la DGOS doit d'abord l'ouvrir "
            "(commande open_envelopes)."
        )
    return envelope


def delegated_room_of(envelope_id, pot, on) -> Decimal:
    """Annex 2 §3: the delegated credits of `pot` a movement dated `on` may still commit (one query). Not scoped:
    the services call it under the envelope lock."""
    rows = (
        LedgerEntry.objects.filter(
            envelope_id=envelope_id, pot=pot,
            kind__in=[EntryKind.DELEGATION, EntryKind.REFUND_DEDUCTION, EntryKind.REFUND_RECEIVED,
                      EntryKind.SEED_COMMITMENT, EntryKind.USAGE_COMMITMENT],
        )
        .values_list("kind", "effective_on")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return delegation_room(room_events_from_rows(rows), on)


def delegation_first_year(programme, pot) -> int | None:
    """The programme's first year of delegation of `pot` (annex 2 §3, from its envelope table), None when unknown."""
    year = ((programme.regional_envelopes or {}).get("delegation") or {}).get(f"{pot}_first_year")
    return int(year) if year else None


def delegation_entries(envelope):
    """One envelope's delegations (and their corrections), newest first."""
    return envelope_entries(envelope).filter(kind=EntryKind.DELEGATION)


# --- Seed funding limits: derogatory seed (§5.1) and sector quotas (004) ----------------------------------------


def seed_breakdown_of(envelope_ids) -> dict[int, SeedBreakdown]:
    """Seed commitments and seed refunds received of each envelope by sector and derogatory flag (one query).

    Not scoped: the services call it under the envelope lock; pages call it through the selectors below."""
    envelope_ids = list(envelope_ids)
    rows: dict[int, list] = {pk: [] for pk in envelope_ids}
    for row in (
        LedgerEntry.objects.filter(
            envelope_id__in=envelope_ids, pot=Pot.SEED, kind__in=[EntryKind.SEED_COMMITMENT, EntryKind.REFUND_RECEIVED]
        )
        .values("envelope_id", "kind", "sector", "is_derogatory")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        rows.setdefault(row["envelope_id"], []).append((row["kind"], row["sector"], row["is_derogatory"], row["total"]))
    return {pk: seed_breakdown_from_rows(r) for pk, r in rows.items()}


@dataclass(frozen=True)
class SectorBalance:
    """004: one sector's seed quota and what is left of it (quota and ceiling None when no quota is set)."""

    sector: str
    label: str
    share_percent: Decimal | None
    ceiling: Decimal | None
    committed: Decimal
    refunds_received: Decimal

    @property
    def used(self) -> Decimal:
        return self.committed - self.refunds_received

    @property
    def available(self) -> Decimal | None:
        return None if self.ceiling is None else self.ceiling - self.used


def sector_seed_balances(envelope, *, balances: Balances | None = None, breakdown: SeedBreakdown | None = None):
    """The three sectors (public, private, ESPIC) with their quota, seed committed and balance (≤ 3 queries)."""
    if balances is None:
        balances = balances_of([envelope.pk])[envelope.pk]
    if breakdown is None:
        breakdown = seed_breakdown_of([envelope.pk])[envelope.pk]
    quotas = dict(SectorQuota.objects.filter(envelope=envelope).values_list("sector", "share_percent"))
    labels = dict(Sector.choices)
    return [
        SectorBalance(
            sector=sector,
            label=labels[sector],
            share_percent=quotas.get(sector),
            ceiling=sector_ceiling(balances.seed_total, quotas[sector]) if sector in quotas else None,
            committed=breakdown.committed_by_sector.get(sector, ZERO),
            refunds_received=breakdown.refunds_by_sector.get(sector, ZERO),
        )
        for sector in SECTORS
    ]


@dataclass(frozen=True)
class DerogatoryStatus:
    """§5.1: derogatory seed funding used against its ceiling (30 %, or 50 % once raised by the ARS)."""

    raised: bool
    share_percent: int
    seed_total: Decimal
    ceiling: Decimal
    used: Decimal

    @property
    def available(self) -> Decimal:
        return self.ceiling - self.used


def derogatory_seed_status(envelope, *, balances: Balances | None = None, breakdown: SeedBreakdown | None = None):
    if balances is None:
        balances = balances_of([envelope.pk])[envelope.pk]
    if breakdown is None:
        breakdown = seed_breakdown_of([envelope.pk])[envelope.pk]
    raised = envelope.derogatory_ceiling_raised
    return DerogatoryStatus(
        raised=raised,
        share_percent=int(derogatory_share(raised) * 100),
        seed_total=balances.seed_total,
        ceiling=derogatory_ceiling(balances.seed_total, raised),
        used=breakdown.derogatory_used,
    )

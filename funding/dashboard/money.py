"""Money of the funding dashboard (annex 4 §3): the amounts committed and paid from the ledger, and their
distribution by status (public, private, ESPIC), by activity (MCO, SSR, PSY, HAD — an establishment with several
activities counts in each) and by beneficiary, as SQL aggregates: the work does not grow with the number of
beneficiaries or entries on the Python side (no loop over them)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, CharField, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from envelopes.models import EntryKind, LedgerEntry, Sector
from hopen.models import Activity
from hopen.sectors import ESPIC, PRIVATE, PUBLIC, sector_of, sector_q

ZERO = Decimal("0.00")
MONEY_ZERO = Value(ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))
MONEY_KINDS = (
    EntryKind.SEED_COMMITMENT, EntryKind.SEED_PAYMENT, EntryKind.USAGE_COMMITMENT, EntryKind.USAGE_PAYMENT,
    EntryKind.REFUND_CLAIM, EntryKind.REFUND_RECEIVED,
)
ACTIVITY_FLAGS = (
    (Activity.MCO, "has_mco"), (Activity.SSR, "has_ssr"), (Activity.PSY, "has_psy"), (Activity.HAD, "has_had"),
)

@dataclass
class MoneyRow:
    """Committed and paid amounts of one group (an establishment, a status, an activity, a region), in euros."""

    key: str
    label: str
    seed_committed: Decimal = ZERO
    seed_paid: Decimal = ZERO
    usage_committed: Decimal = ZERO
    usage_paid: Decimal = ZERO
    refunds_claimed: Decimal = ZERO
    refunds_received: Decimal = ZERO
    establishments: int = 0
    detail: dict = field(default_factory=dict)

    @property
    def committed(self) -> Decimal:
        return self.seed_committed + self.usage_committed

    @property
    def paid(self) -> Decimal:
        return self.seed_paid + self.usage_paid

    def add(self, kind: str, amount: Decimal):
        name = KIND_FIELDS[kind]
        setattr(self, name, getattr(self, name) + amount)


KIND_FIELDS = {
    EntryKind.SEED_COMMITMENT: "seed_committed", EntryKind.SEED_PAYMENT: "seed_paid",
    EntryKind.USAGE_COMMITMENT: "usage_committed", EntryKind.USAGE_PAYMENT: "usage_paid",
    EntryKind.REFUND_CLAIM: "refunds_claimed", EntryKind.REFUND_RECEIVED: "refunds_received",
}


def _kind_sums(prefix: str = "", condition: Q | None = None) -> dict:
    """{MoneyRow field: SUM(amount) of that kind} as aggregates (`condition` narrows every sum)."""
    sums = {}
    for kind, name in KIND_FIELDS.items():
        where = Q(kind=kind) if condition is None else Q(kind=kind) & condition
        sums[f"{prefix}{name}"] = Coalesce(Sum("amount", filter=where), MONEY_ZERO)
    return sums


def _entry_sector():
    """The sector written on the entry at the time of the movement (004 quotas), else the establishment's
    (`hopen.sectors.sector_q`, the rule of `sector_of` in SQL, which the ledger's writers use)."""
    return Case(
        When(~Q(sector=""), then=F("sector")),
        When(sector_q(PUBLIC, "establishment__"), then=Value(PUBLIC)),
        When(sector_q(ESPIC, "establishment__"), then=Value(ESPIC)),
        default=Value(PRIVATE),
        output_field=CharField(),
    )


def _fill(row: MoneyRow, values: dict, prefix: str = "") -> MoneyRow:
    for name in KIND_FIELDS.values():
        setattr(row, name, values[f"{prefix}{name}"])
    return row


def distribution(envelope_ids, limit: int):
    """Ledger sums by status group, by activity and by beneficiary (annex 4 §3), three aggregates in SQL: by
    sector; by activity (with the number of beneficiaries); the `limit` largest beneficiaries. Returns
    (sectors, activities, largest beneficiaries, number of beneficiaries)."""
    entries = LedgerEntry.objects.filter(
        envelope_id__in=envelope_ids, kind__in=MONEY_KINDS, establishment__isnull=False
    ).order_by()
    by_sector = {
        row["group"]: row
        for row in entries.annotate(group=_entry_sector()).values("group").annotate(
            **_kind_sums(), establishments=Count("establishment_id", distinct=True)
        )
    }
    sectors = []
    for key, label in Sector.choices:
        row = MoneyRow(key, label)
        if key in by_sector:
            _fill(row, by_sector[key]).establishments = by_sector[key]["establishments"]
        sectors.append(row)
    aggregates = {"beneficiaries": Count("establishment_id", distinct=True)}
    for activity, flag in ACTIVITY_FLAGS:
        present = Q(**{f"establishment__{flag}": True})
        aggregates.update(_kind_sums(f"{activity.value}_", present))
        aggregates[f"{activity.value}_n"] = Count("establishment_id", distinct=True, filter=present)
    totals = entries.aggregate(**aggregates)
    activities = []
    for activity, _ in ACTIVITY_FLAGS:
        row = _fill(MoneyRow(activity.value, activity.label), totals, f"{activity.value}_")
        row.establishments = totals[f"{activity.value}_n"]
        activities.append(row)
    sums = _kind_sums()
    largest = (
        entries.values(
            "establishment_id", "establishment__name", "establishment__finess", "establishment__status",
            "establishment__is_espic", *(f"establishment__{flag}" for _, flag in ACTIVITY_FLAGS),
            "establishment__region__name", "establishment__ght__code",
        )
        .annotate(
            **sums,
            committed=sums["seed_committed"] + sums["usage_committed"], paid=sums["seed_paid"] + sums["usage_paid"],
        )
        .order_by("-committed", "-paid", "establishment__name", "establishment_id")[:limit]
    )
    establishments = [
        _fill(
            MoneyRow(
                str(row["establishment_id"]), row["establishment__name"],
                detail={
                    "finess": row["establishment__finess"], "region": row["establishment__region__name"],
                    "ght": row["establishment__ght__code"] or "",
                    "sector": sector_of(row["establishment__status"], row["establishment__is_espic"]),
                    "activities": [a.value for a, flag in ACTIVITY_FLAGS if row[f"establishment__{flag}"]],
                },
            ),
            row,
        )
        for row in largest
    ]
    return sectors, activities, establishments, totals["beneficiaries"]

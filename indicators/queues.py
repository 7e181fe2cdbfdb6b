"""Work-queue counts of the indicator entry (the « À faire » of an establishment's home, `hopen.work_queues`).

§5.3.1 measures the prerequisites through « la saisie […] de la valeur des indicateurs et de la totalité des pièces
justificatives »: what waits is a draft not yet declared (the editor enters, the director declares — the hand-off of
`indicators.services`) and a declared prerequisite value, the latest of its indicator, without a live document.
One query whatever the number of establishments and values; only the programme's catalogue in force is read.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from .models import Evidence, GroupKind, IndicatorValue, ValueStatus


@dataclass(frozen=True)
class ValueCounts:
    drafts: int = 0
    prerequisites_without_documents: int = 0


def value_counts(establishment_ids, programme) -> dict[int, ValueCounts]:
    """{establishment id: ValueCounts} for the establishments having something to do (one query)."""
    ids = list(establishment_ids)
    if not ids or programme is None:
        return {}
    later_declared = IndicatorValue.objects.filter(
        establishment_id=OuterRef("establishment_id"),
        indicator_id=OuterRef("indicator_id"),
        status=ValueStatus.DECLARED,
        measured_on__gt=OuterRef("measured_on"),
    )
    live_documents = Evidence.objects.filter(value=OuterRef("pk"), deleted_at__isnull=True)
    declared_prerequisite = Q(status=ValueStatus.DECLARED, indicator__group__kind=GroupKind.PREREQUISITE)
    rows = (
        IndicatorValue.objects.filter(
            establishment_id__in=ids,
            indicator__catalogue__programme=programme,
            indicator__catalogue__is_current=True,
        )
        .filter(Q(status=ValueStatus.DRAFT) | declared_prerequisite)
        .order_by()
        .values("establishment_id")
        .annotate(
            drafts=Count("pk", filter=Q(status=ValueStatus.DRAFT)),
            missing=Count("pk", filter=declared_prerequisite & ~Exists(later_declared) & ~Exists(live_documents)),
        )
    )
    return {
        row["establishment_id"]: ValueCounts(row["drafts"], row["missing"])
        for row in rows
        if row["drafts"] or row["missing"]
    }

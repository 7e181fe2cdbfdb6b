"""Work-queue counts of the indicator entry (the « À faire » of an establishment's home, `hopen.work_queues`).

§5.3.1 measures the prerequisites through « la saisie […] de la valeur des indicateurs et de la totalité des pièces
justificatives »: what waits is a draft not yet declared (the editor enters, the director declares — the hand-off of
`indicators.services`) and a declared prerequisite value, the latest of its indicator, without a live document.
One query whatever the number of establishments and values; only the programme's catalogue in force is read.
"""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from hopen.models import Establishment

from .models import CurrentValue, GroupKind, IndicatorValue, ValueStatus


@dataclass(frozen=True)
class ValueCounts:
    drafts: int = 0
    prerequisites_without_documents: int = 0


def _count(rows):
    """The number of `rows` of the outer establishment, as a subquery."""
    counted = rows.order_by().values("establishment_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def value_counts(establishment_ids, programme) -> dict[int, ValueCounts]:
    """{establishment id: ValueCounts} for the establishments having something to do (one query). The declared
    prerequisites are read from the attainment state (`indicators.state`: the latest declared value of each indicator
    and its live documents — not deleted, not found infected — kept on every declaration)."""
    ids = list(establishment_ids)
    if not ids or programme is None:
        return {}
    drafts = IndicatorValue.objects.filter(
        establishment_id=OuterRef("pk"), status=ValueStatus.DRAFT,
        indicator__catalogue__programme=programme, indicator__catalogue__is_current=True,
    )
    without_documents = CurrentValue.objects.filter(
        establishment_id=OuterRef("pk"), programme=programme, indicator__group__kind=GroupKind.PREREQUISITE,
        document_count=0,
    )
    rows = (
        Establishment.objects.filter(pk__in=ids)
        .annotate(drafts=_count(drafts), missing=_count(without_documents))
        .values_list("pk", "drafts", "missing")
    )
    return {pk: ValueCounts(drafts, missing) for pk, drafts, missing in rows if drafts or missing}

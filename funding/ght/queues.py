"""Work-queue counts of the GHT IT governance for the GHT support director's home (`hopen.work_queues`).

§5.3.1 « Pour les GHT »: « un DSI de GHT validé par le directeur de l'établissement support » and the GHT-level
values of the indicators declined at GHT level (annex 1), entered then declared. What waits: GHT-level drafts not
declared yet, a CIO named but not validated. One query whatever the number of GHTs.
"""

from dataclasses import dataclass

from django.db.models import Count, Q

from hopen.models import Ght
from indicators.models import ValueStatus


@dataclass(frozen=True)
class GhtCounts:
    code: str
    name: str
    drafts: int
    cio_to_validate: bool


def ght_counts(ght_ids, programme) -> list[GhtCounts]:
    """The GHTs among `ght_ids` with something to do, by code (one query)."""
    ids = list(ght_ids)
    if not ids or programme is None:
        return []
    drafts = Q(
        indicator_values__status=ValueStatus.DRAFT,
        indicator_values__indicator__catalogue__programme=programme,
        indicator_values__indicator__catalogue__is_current=True,
    )
    rows = (
        Ght.objects.filter(pk__in=ids)
        .annotate(drafts=Count("indicator_values", filter=drafts))
        .values_list("code", "name", "drafts", "it_governance__cio_name", "it_governance__cio_validated_at")
        .order_by("code")
    )
    result = []
    for code, name, draft_count, cio_name, cio_validated_at in rows:
        cio_to_validate = bool(cio_name) and cio_validated_at is None
        if draft_count or cio_to_validate:
            result.append(GhtCounts(code, name, draft_count, cio_to_validate))
    return result

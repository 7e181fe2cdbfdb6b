"""Reads of the attainment state: « latest declared » and « reached » without reading the value history.

Internal reads: the caller has already scoped the establishments through the permission policy. Each is one query
whatever the number of establishments. The state covers the catalogues in force (`current_catalogue`); a value of
an older catalogue version is history (the value's versions on the entry page, the rebuild in `writer.py`).
"""

from django.db.models import F

from ..attainment import Attainment
from ..models import IndicatorValue
from .models import CurrentValue, EstablishmentState, GroupState

# What attainment reads of a value: loading only these makes attainment over thousands of establishments cheap.
ATTAINMENT_FIELDS = ("establishment_id", "indicator_id", "measured_on", "kind", "numerator", "denominator", "exists")


def current_values(establishment_ids, indicator_ids) -> dict:
    """{(establishment id, indicator id): CurrentValue} — the latest declared value's figures (`kind`, `numerator`,
    `denominator`, `exists`, `measured_on`), its `attainment` and live `document_count` (1 query)."""
    rows = CurrentValue.objects.filter(establishment_id__in=list(establishment_ids), indicator_id__in=list(indicator_ids))
    return {(row.establishment_id, row.indicator_id): row for row in rows}


def current_declared_values(establishment_ids, indicator_ids, *, attainment_only=False) -> dict:
    """{(establishment id, indicator id): the latest declared `IndicatorValue`}, annotated with `document_count` (live
    justificatory documents) — read through the state
    (1 query). `attainment_only`: load only the fields attainment needs."""
    values = IndicatorValue.objects.filter(
        current_of__establishment_id__in=list(establishment_ids), current_of__indicator_id__in=list(indicator_ids)
    ).annotate(document_count=F("current_of__document_count"))
    if attainment_only:
        values = values.only(*ATTAINMENT_FIELDS)
    return {(value.establishment_id, value.indicator_id): value for value in values}


def establishment_states(programme, establishment_ids) -> dict:
    """{establishment id: EstablishmentState} on `programme` (absent: nothing declared) — 1 query."""
    rows = EstablishmentState.objects.filter(programme=programme, establishment_id__in=list(establishment_ids))
    return {row.establishment_id: row for row in rows}


def prerequisites_met_ids(programme, establishment_ids) -> set[int]:
    """The establishments among `establishment_ids` whose prerequisites are met on `programme` — §5.3.1, values and
    justificatory documents (1 query)."""
    return set(
        EstablishmentState.objects.filter(
            programme=programme, establishment_id__in=list(establishment_ids), prerequisites_met=True
        ).values_list("establishment_id", flat=True)
    )


def group_attainments_of(programme, establishment_ids, group_codes=None) -> dict:
    """{(establishment id, group code): Attainment} on `programme`'s catalogue in force; a pair absent has nothing
    declared (MISSING) — 1 query."""
    rows = GroupState.objects.filter(programme=programme, establishment_id__in=list(establishment_ids))
    if group_codes is not None:
        rows = rows.filter(group__code__in=list(group_codes))
    return {
        (establishment_id, code): Attainment(attainment)
        for establishment_id, code, attainment in rows.values_list("establishment_id", "group__code", "attainment")
    }


def _reached(model, code, programme, establishment_ids, codes) -> set[tuple[int, str]]:
    rows = model.objects.filter(
        programme=programme, establishment_id__in=list(establishment_ids), attainment=Attainment.REACHED.value,
        **{f"{code}__in": list(codes)},
    )
    return set(rows.values_list("establishment_id", code))


def group_reached(programme, establishment_ids, group_codes) -> set[tuple[int, str]]:
    """{(establishment id, group code)} of the groups REACHED (annex 2 §2: a domain's usage targets) — 1 query."""
    return _reached(GroupState, "group__code", programme, establishment_ids, group_codes)


def indicators_reached_pairs(programme, establishment_ids, indicator_codes) -> set[tuple[int, str]]:
    """{(establishment id, indicator code)} whose latest declared value reaches its annex-1 target — 1 query."""
    return _reached(CurrentValue, "indicator__code", programme, establishment_ids, indicator_codes)

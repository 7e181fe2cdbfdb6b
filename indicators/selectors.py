"""Reads on the catalogue and on indicator values, scoped to the user by the permission policy."""

from collections import defaultdict

from django.db.models import Prefetch

from hopen.permissions import get_establishment_for_reading

from .attainment import Attainment, group_attainment, prerequisites_attainment, value_attainment
from .models import CatalogueVersion, GroupKind, Indicator, IndicatorGroup, IndicatorValue, ValueKind, ValueStatus
from .state.models import CurrentValue


def current_catalogue(programme) -> CatalogueVersion:
    """The catalogue in force of a programme (a `Programme`), with its groups and indicators (3 queries)."""
    return (
        CatalogueVersion.objects.select_related("programme")
        .prefetch_related(
            Prefetch("groups", queryset=IndicatorGroup.objects.order_by("position")),
            Prefetch("indicators", queryset=Indicator.objects.select_related("group").order_by("group__position", "position")),
        )
        .get(programme=programme, is_current=True)
    )


def attainment_of(indicator, value) -> Attainment:
    if value is None:
        return Attainment.MISSING
    return value_attainment(
        target_kind=indicator.target_kind,
        threshold=indicator.target_threshold,
        value_kind=value.kind,
        numerator=value.numerator,
        denominator=value.denominator,
        exists=value.exists,
    )


def group_attainments(catalogue, values_by_indicator: dict) -> dict:
    """{group code: Attainment} and "prerequisites" for all P groups, from {indicator id: value}."""
    per_group = defaultdict(list)
    prerequisites = []
    for indicator in catalogue.indicators.all():
        attainment = attainment_of(indicator, values_by_indicator.get(indicator.pk))
        per_group[indicator.group.code].append(attainment)
        if indicator.group.kind == "prerequisite":
            prerequisites.append(attainment)
    result = {code: group_attainment(items) for code, items in per_group.items()}
    result["prerequisites"] = prerequisites_attainment(prerequisites)
    return result


def establishment_for_indicators(user, finess):
    """The establishment if the user may read it (404 otherwise), for every indicator page and endpoint."""
    return get_establishment_for_reading(user, finess)


def not_applicable_in_group(establishment, indicator) -> list[str]:
    """Codes of the OTHER indicators of `indicator`'s domain (group) whose latest declared value, or pending draft,
    is « non applicable » for the establishment (2 queries). §5.3.1: « Si plus d'un indicateur par domaine est non
    applicable/non concerné d'après les saisies sur oSIS, le projet est inéligible » — the entry form warns before a
    second one is declared, since it makes projects on that domain ineligible."""
    if indicator.group.kind == GroupKind.PREREQUISITE:
        return []  # the rule is per domain
    siblings = {
        pk: code
        for pk, code in indicator.group.indicators.exclude(pk=indicator.pk).values_list("pk", "code")
    }
    if not siblings:
        return []
    codes = {  # the latest declared values, from the attainment state kept on write
        siblings[pk]
        for pk in CurrentValue.objects.filter(
            establishment=establishment, indicator_id__in=list(siblings), kind=ValueKind.NOT_APPLICABLE
        ).values_list("indicator_id", flat=True)
    }
    codes |= {
        siblings[pk]
        for pk in IndicatorValue.objects.filter(
            establishment=establishment, indicator_id__in=list(siblings), status=ValueStatus.DRAFT,
            kind=ValueKind.NOT_APPLICABLE,
        ).values_list("indicator_id", flat=True)
    }
    return sorted(codes)

"""Reads behind the attainment pages: an establishment's dashboard, the regional table, the completeness view.

Annex 4 §3 asks each ARS to follow "le niveau d'atteinte des prérequis et des cibles d'usage pour les
domaines fonctionnels" of its establishments; §5.3.1 measures the prerequisites through "la saisie
[…] de la valeur des indicateurs et de la totalité des pièces justificatives". The attainment rules
themselves live in `indicators.attainment` (used through `indicators.selectors`); this module only
gathers the values with a constant number of queries — whatever the number of establishments,
indicators or values, never one query per row.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .attainment import Attainment, prerequisites_attainment
from .models import Evidence, GroupKind, IndicatorValue, SemesterRange, ValueStatus
from .periods import semester_bounds, semester_of, semesters_between
from .selectors import attainment_of, group_attainments, latest_declared_values

PREREQUISITES = "prerequisites"

# DSFR badge of each attainment: success "Atteint", error "Non atteint", info "Non applicable", grey "Non renseigné".
BADGE_CLASSES = {
    Attainment.REACHED: "fr-badge--success",
    Attainment.NOT_REACHED: "fr-badge--error",
    Attainment.NOT_APPLICABLE: "fr-badge--info",
    Attainment.MISSING: "",
}

BADGE_SHORT_LABELS = {
    Attainment.REACHED: "Oui",
    Attainment.NOT_REACHED: "Non",
    Attainment.NOT_APPLICABLE: "N/A",
    Attainment.MISSING: "—",
}


@dataclass(frozen=True)
class Badge:
    """An attainment as the pages show it."""

    attainment: Attainment

    @property
    def label(self):
        return self.attainment.label

    @property
    def css(self):
        return BADGE_CLASSES[self.attainment]

    @property
    def code(self):
        return self.attainment.value

    @property
    def short(self):
        """A compact label for the cells of wide tables (the full label goes to screen readers)."""
        return BADGE_SHORT_LABELS[self.attainment]


# --- Establishment dashboard ---------------------------------------------------------------------------------------


@dataclass
class IndicatorLine:
    indicator: object
    value: IndicatorValue | None  # the declared value of the latest date of measurement
    attainment: Attainment
    has_draft: bool = False

    @property
    def badge(self):
        return Badge(self.attainment)

    @property
    def missing_documents(self) -> bool:
        """A declared value without any (non-deleted) justificatory document (§5.3.1: "la totalité des pièces")."""
        return self.value is not None and self.value.document_count == 0


@dataclass
class GroupBlock:
    group: object
    lines: list
    attainment: Attainment

    @property
    def badge(self):
        return Badge(self.attainment)

    @property
    def is_prerequisite(self):
        return self.group.kind == GroupKind.PREREQUISITE

    @property
    def reached_count(self):
        return sum(1 for line in self.lines if line.attainment == Attainment.REACHED)


@dataclass
class ProgressPoint:
    semester: str
    reached: int
    prerequisites_reached: int


@dataclass
class Dashboard:
    establishment: object
    catalogue: object
    groups: list
    prerequisites: Attainment
    progress: list = field(default_factory=list)

    @property
    def prerequisites_badge(self):
        return Badge(self.prerequisites)

    @property
    def indicator_count(self):
        return sum(len(block.lines) for block in self.groups)

    @property
    def prerequisite_groups(self):
        return [block for block in self.groups if block.is_prerequisite]

    @property
    def domain_groups(self):
        return [block for block in self.groups if not block.is_prerequisite]

    @property
    def prerequisites_indicator_count(self):
        return sum(len(block.lines) for block in self.prerequisite_groups)

    @property
    def prerequisites_reached_count(self):
        return sum(block.reached_count for block in self.prerequisite_groups)

    @property
    def declared_count(self):
        return sum(1 for block in self.groups for line in block.lines if line.value is not None)

    @property
    def reached_count(self):
        return sum(block.reached_count for block in self.groups)


def _non_deleted_document_count():
    documents = (
        Evidence.objects.filter(value=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("value")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(documents, output_field=IntegerField()), Value(0))


def establishment_dashboard(establishment, catalogue) -> Dashboard:
    """Every indicator of the catalogue with its latest declared value, attainment and markers (3 queries: the
    values, the drafts, the programme's semester ranges for the progress axis).

    `catalogue` comes from `selectors.current_catalogue(programme)`: only values of its indicators are read, so
    the dashboard of one programme never shows another's values. The establishment must already have been
    checked against the permission policy by the caller.
    """
    indicators = list(catalogue.indicators.all())
    indicator_ids = [indicator.pk for indicator in indicators]
    # Every declared value (each date of measurement keeps only its declared version; superseded ones are
    # replaced by their correction), with its number of documents: the latest one per indicator for the
    # grid, all of them for the progress over semesters. One query.
    history = list(
        IndicatorValue.objects.filter(
            establishment=establishment, indicator_id__in=indicator_ids, status=ValueStatus.DECLARED
        )
        .annotate(document_count=_non_deleted_document_count())
        .order_by("indicator_id", "-measured_on")
    )
    drafts = set(
        IndicatorValue.objects.filter(
            establishment=establishment, indicator_id__in=indicator_ids, status=ValueStatus.DRAFT
        ).values_list("indicator_id", flat=True)
    )
    latest = {}
    for value in history:  # ordered by -measured_on within each indicator: the first seen is the latest
        latest.setdefault(value.indicator_id, value)

    lines_by_group = defaultdict(list)
    for indicator in indicators:
        value = latest.get(indicator.pk)
        lines_by_group[indicator.group_id].append(
            IndicatorLine(
                indicator=indicator,
                value=value,
                attainment=attainment_of(indicator, value),
                has_draft=indicator.pk in drafts,
            )
        )
    attainments = group_attainments(catalogue, latest)
    blocks = [
        GroupBlock(
            group=group, lines=lines_by_group[group.pk], attainment=attainments.get(group.code, Attainment.MISSING)
        )
        for group in catalogue.groups.all()
        if lines_by_group[group.pk]
    ]
    return Dashboard(
        establishment=establishment,
        catalogue=catalogue,
        groups=blocks,
        prerequisites=attainments[PREREQUISITES],
        progress=progress_over_semesters(indicators, history, span=programme_semester_span(catalogue.programme_id)),
    )


def programme_semester_span(programme_id) -> tuple[str, str] | None:
    """The programme's range of half-years: from the first to the last semester of its calendar's ranges (HOP'EN,
    annex 5 §2: 2019 S1 … 2022 S2, the last forecast semester of a domain's targets). None when it has none."""
    ranges = list(SemesterRange.objects.filter(programme_id=programme_id).values_list("first", "last"))
    if not ranges:
        return None
    return min(first for first, _ in ranges), max(last for _, last in ranges)


def progress_over_semesters(indicators, declared_values, *, span: tuple[str, str] | None = None) -> list[ProgressPoint]:
    """For each half-year of the programme's range (`span`), how many indicators were reached by their latest
    declared value measured up to the end of that half-year.

    The axis is the programme's, not « up to today » (a programme closed in 2022 does not grow a bar per semester
    since); a measurement outside the range widens it so that no declared value is left out. Without a range, the
    axis runs from the first to the last measurement."""
    if not declared_values:
        return []
    measured = [semester_of(value.measured_on) for value in declared_values]
    first, last = min(measured, key=_semester_key), max(measured, key=_semester_key)
    if span is not None:
        first, last = min(first, span[0], key=_semester_key), max(last, span[1], key=_semester_key)
    by_indicator = defaultdict(list)
    for value in declared_values:
        by_indicator[value.indicator_id].append(value)
    for values in by_indicator.values():
        values.sort(key=lambda v: v.measured_on)
    points = []
    for semester in semesters_between(first, last):
        _, end = semester_bounds(semester)
        reached = prerequisites_reached = 0
        for indicator in indicators:
            value = None
            for candidate in by_indicator.get(indicator.pk, ()):
                if candidate.measured_on > end:
                    break
                value = candidate
            if attainment_of(indicator, value) == Attainment.REACHED:
                reached += 1
                if indicator.group.kind == GroupKind.PREREQUISITE:
                    prerequisites_reached += 1
        points.append(ProgressPoint(semester=semester, reached=reached, prerequisites_reached=prerequisites_reached))
    return points


def _semester_key(label: str) -> datetime.date:
    return semester_bounds(label)[0]


# --- Regional table ------------------------------------------------------------------------------------------------


@dataclass
class AttainmentRow:
    establishment: object
    prerequisites: Attainment
    groups: list  # [(group, Badge)] in catalogue order

    @property
    def prerequisites_badge(self):
        return Badge(self.prerequisites)


def attainment_rows(establishments, catalogue) -> list[AttainmentRow]:
    """Per establishment (a page of them), the prerequisites overall and each group's attainment (1 query)."""
    establishments = list(establishments)
    indicator_ids = [indicator.pk for indicator in catalogue.indicators.all()]
    values = latest_declared_values([e.pk for e in establishments], indicator_ids)
    per_establishment = defaultdict(dict)
    for (establishment_id, indicator_id), value in values.items():
        per_establishment[establishment_id][indicator_id] = value
    groups = list(catalogue.groups.all())
    rows = []
    for establishment in establishments:
        attainments = group_attainments(catalogue, per_establishment[establishment.pk])
        rows.append(
            AttainmentRow(
                establishment=establishment,
                prerequisites=attainments[PREREQUISITES],
                groups=[(group, Badge(attainments.get(group.code, Attainment.MISSING))) for group in groups],
            )
        )
    return rows


def establishments_with_prerequisites_reached(establishments, catalogue) -> list[int]:
    """Ids of the establishments (any queryset) whose 15 prerequisites are all reached (1 query).

    Only declared prerequisite values are read, so the work is bounded by what was declared, not by the
    number of establishments in the scope.
    """
    prerequisites = [i for i in catalogue.indicators.all() if i.group.kind == GroupKind.PREREQUISITE]
    if not prerequisites:
        return []
    by_id = {indicator.pk: indicator for indicator in prerequisites}
    latest = (
        IndicatorValue.objects.filter(
            establishment__in=establishments.order_by().values("pk"),
            indicator_id__in=list(by_id),
            status=ValueStatus.DECLARED,
        )
        .only("establishment_id", "indicator_id", "kind", "numerator", "denominator", "exists", "measured_on")
        .order_by("establishment_id", "indicator_id", "-measured_on")
        .distinct("establishment_id", "indicator_id")
    )
    per_establishment = defaultdict(dict)
    for value in latest:
        per_establishment[value.establishment_id][value.indicator_id] = value
    reached = []
    for establishment_id, values in per_establishment.items():
        attainments = [attainment_of(indicator, values.get(pk)) for pk, indicator in by_id.items()]
        if prerequisites_attainment(attainments) == Attainment.REACHED:
            reached.append(establishment_id)
    return reached


def filter_by_prerequisites(establishments, catalogue, reached: bool):
    """The establishments whose prerequisites are (or are not: not reached or not entered) all reached."""
    ids = establishments_with_prerequisites_reached(establishments, catalogue)
    return establishments.filter(pk__in=ids) if reached else establishments.exclude(pk__in=ids)


# --- Completeness --------------------------------------------------------------------------------------------------


def _count_per_establishment(queryset):
    counted = queryset.order_by().values("establishment_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_completeness(establishments, catalogue):
    """Annotate each establishment (still one query for the whole queryset) with:

    - `declared_count`: indicators of the catalogue with at least one declared value;
    - `draft_count`: drafts waiting to be declared (new values or corrections);
    - `missing_documents_count`: indicators whose latest declared value has no justificatory document;
    - `last_declared_at`: date of the latest declaration.
    """
    declared = IndicatorValue.objects.filter(
        establishment_id=OuterRef("pk"), indicator__catalogue=catalogue, status=ValueStatus.DECLARED
    )
    newer = IndicatorValue.objects.filter(
        establishment_id=OuterRef("establishment_id"),
        indicator_id=OuterRef("indicator_id"),
        status=ValueStatus.DECLARED,
        measured_on__gt=OuterRef("measured_on"),
    )
    documents = Evidence.objects.filter(value=OuterRef("pk"), deleted_at__isnull=True)
    latest_without_documents = declared.filter(~Exists(newer), ~Exists(documents))
    declared_indicators = (
        declared.order_by().values("establishment_id").annotate(n=Count("indicator_id", distinct=True)).values("n")
    )
    last_declaration = declared.order_by().values("establishment_id").annotate(last=Max("declared_at")).values("last")
    return establishments.annotate(
        declared_count=Coalesce(Subquery(declared_indicators, output_field=IntegerField()), Value(0)),
        draft_count=_count_per_establishment(
            IndicatorValue.objects.filter(
                establishment_id=OuterRef("pk"), indicator__catalogue=catalogue, status=ValueStatus.DRAFT
            )
        ),
        missing_documents_count=_count_per_establishment(latest_without_documents),
        last_declared_at=Subquery(last_declaration),
    )


def completeness_totals(annotated_establishments, indicator_count: int) -> dict:
    """Totals over the whole (filtered) scope, from a `with_completeness` queryset (1 query)."""
    totals = annotated_establishments.order_by().aggregate(
        establishments=Count("pk"),
        with_declarations=Count("pk", filter=Q(declared_count__gt=0)),
        complete=Count("pk", filter=Q(declared_count__gte=indicator_count)),
        declared=Coalesce(Sum("declared_count"), 0),
        drafts=Coalesce(Sum("draft_count"), 0),
        missing_documents=Coalesce(Sum("missing_documents_count"), 0),
        with_missing_documents=Count("pk", filter=Q(missing_documents_count__gt=0)),
        latest_declaration=Max("last_declared_at"),
    )
    totals["expected"] = totals["establishments"] * indicator_count
    return totals


COMPLETENESS_EXPORT_FIELDS = (
    "region__name", "region__code", "finess", "name", "city", "ght__code", "status", "is_espic",
    "declared_count", "draft_count", "missing_documents_count", "last_declared_at",
)


def completeness_export_rows(annotated_establishments, chunk_size=2000):
    """The rows of the completeness export from a `with_completeness` queryset, in the page's order: dicts of
    COMPLETENESS_EXPORT_FIELDS read through a server-side cursor (one query whatever the number of establishments)."""
    return annotated_establishments.values(*COMPLETENESS_EXPORT_FIELDS).iterator(chunk_size=chunk_size)


__all__ = [
    "establishment_dashboard",
    "progress_over_semesters",
    "attainment_rows",
    "filter_by_prerequisites",
    "with_completeness",
    "completeness_totals",
    "completeness_export_rows",
]

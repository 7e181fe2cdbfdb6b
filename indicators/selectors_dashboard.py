"""Reads behind the attainment pages: an establishment's dashboard, the regional table, the completeness view.

Annex 4 §3 asks each ARS to follow "le niveau d'atteinte des prérequis et des cibles d'usage pour les
domaines fonctionnels" of its establishments; §5.3.1 measures the prerequisites through "la saisie
[…] de la valeur des indicateurs et de la totalité des pièces justificatives". The attainment rules
themselves live in `indicators.attainment` (used through `indicators.selectors`); this module only
gathers the values with a constant number of queries — whatever the number of establishments,
indicators or values, never one query per row.

The regional table, its « prérequis atteints » filter and the completeness view read the attainment state kept on
every declaration (`indicators.state`: one row per establishment and group), never the value history: their work
is bounded by the page (25 establishments) and by one join of the scope to the state for the totals.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce

from .attainment import Attainment
from .models import (
    CatalogueVersion, Evidence, GroupKind, Indicator, IndicatorGroup, IndicatorValue, SemesterRange, ValueStatus,
)
from .periods import semester_bounds, semester_of, semesters_between
from .selectors import attainment_of, group_attainments
from .state.models import EstablishmentState, GroupState

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


def catalogue_for_tables(programme, *, groups: bool = False) -> CatalogueVersion:
    """The catalogue in force of `programme` as the establishment tables read it: with its number of indicators
    (`indicator_count`) and, for the attainment table, its groups in order — not its indicators, which
    `selectors.current_catalogue` reads for the dashboard (1 query, 2 with the groups). Raises
    CatalogueVersion.DoesNotExist when the programme has none."""
    queryset = CatalogueVersion.objects.annotate(
        indicator_count=Coalesce(
            Subquery(
                Indicator.objects.filter(catalogue=OuterRef("pk")).order_by().values("catalogue")
                .annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        )
    )
    if groups:
        queryset = queryset.prefetch_related(Prefetch("groups", queryset=IndicatorGroup.objects.order_by("position")))
    return queryset.get(programme=programme, is_current=True)


@dataclass
class AttainmentRow:
    establishment: object
    prerequisites: Attainment
    groups: list  # [(group, Badge)] in catalogue order

    @property
    def prerequisites_badge(self):
        return Badge(self.prerequisites)


def attainment_rows(establishments, catalogue) -> list[AttainmentRow]:
    """Per establishment (a page of them), the prerequisites overall and each group's attainment, read from the
    attainment state (1 query: the page's group states with their establishment's prerequisites). An establishment
    without state has declared nothing: every attainment « non renseigné »."""
    establishments = list(establishments)
    groups = list(catalogue.groups.all())
    prerequisites = EstablishmentState.objects.filter(
        programme_id=catalogue.programme_id, establishment_id=OuterRef("establishment_id")
    ).values("prerequisites")[:1]
    states = GroupState.objects.filter(
        programme_id=catalogue.programme_id, group__catalogue=catalogue,
        establishment_id__in=[e.pk for e in establishments],
    ).annotate(prerequisites=Subquery(prerequisites)).values_list("establishment_id", "group_id", "attainment", "prerequisites")
    per_establishment = defaultdict(dict)
    prerequisites_of = {}
    for establishment_id, group_id, attainment, prerequisites_attainment in states:
        per_establishment[establishment_id][group_id] = Attainment(attainment)
        prerequisites_of[establishment_id] = Attainment(prerequisites_attainment or Attainment.MISSING)
    rows = []
    for establishment in establishments:
        attainments = per_establishment[establishment.pk]
        rows.append(
            AttainmentRow(
                establishment=establishment,
                prerequisites=prerequisites_of.get(establishment.pk, Attainment.MISSING),
                groups=[(group, Badge(attainments.get(group.pk, Attainment.MISSING))) for group in groups],
            )
        )
    return rows


def _prerequisites_reached(catalogue) -> Exists:
    """On an Establishment queryset: its prerequisites' values are all reached (the state's `prerequisites`)."""
    return Exists(
        EstablishmentState.objects.filter(
            programme_id=catalogue.programme_id, establishment_id=OuterRef("pk"), prerequisites=Attainment.REACHED
        )
    )


def filter_by_prerequisites(establishments, catalogue, reached: bool):
    """The establishments whose prerequisites are (or are not: not reached or not entered) all reached — one
    EXISTS on the attainment state, inside the establishments' query."""
    condition = _prerequisites_reached(catalogue)
    return establishments.filter(condition if reached else ~condition)


# --- Completeness --------------------------------------------------------------------------------------------------


def _state_column(catalogue, column):
    return Subquery(
        EstablishmentState.objects.filter(
            programme_id=catalogue.programme_id, establishment_id=OuterRef("pk")
        ).values(column)[:1]
    )


def _drafts(catalogue):
    return IndicatorValue.objects.filter(indicator__catalogue=catalogue, status=ValueStatus.DRAFT)


def with_completeness(establishments, catalogue):
    """Annotate each establishment (still one query for the whole queryset) with, from its attainment state:

    - `declared_count`: indicators of the catalogue with a declared value;
    - `draft_count`: drafts waiting to be declared (new values or corrections; the drafts themselves);
    - `missing_documents_count`: indicators whose latest declared value has no live justificatory document;
    - `last_declared_at`: date of the latest declaration.
    """
    documented = EstablishmentState.objects.filter(
        programme_id=catalogue.programme_id, establishment_id=OuterRef("pk")
    ).annotate(missing=F("declared_count") - F("documented_count")).values("missing")[:1]
    drafts = _drafts(catalogue).filter(establishment_id=OuterRef("pk")).order_by().values("establishment_id")
    return establishments.annotate(
        declared_count=Coalesce(_state_column(catalogue, "declared_count"), Value(0)),
        draft_count=Coalesce(
            Subquery(drafts.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
        ),
        missing_documents_count=Coalesce(Subquery(documented, output_field=IntegerField()), Value(0)),
        last_declared_at=_state_column(catalogue, "last_declared_at"),
    )


# The drafts are grouped once per establishment (an index-only scan of their partial index
# `value_one_draft_per_period`) and joined to the scope like the state: probing the index once per establishment of
# the scope cost more than the whole statement at national scale (issue 17).
TOTALS_SQL = """
WITH scope(id) AS ({scope}),
drafts AS (
    SELECT v.establishment_id, count(*) AS n
      FROM indicators_indicatorvalue v JOIN indicators_indicator i ON i.id = v.indicator_id
     WHERE v.status = %s AND i.catalogue_id = %s
     GROUP BY v.establishment_id
)
SELECT count(*),
       count(s.id),
       count(*) FILTER (WHERE s.declared_count >= %s),
       coalesce(sum(s.declared_count), 0),
       coalesce(sum(d.n), 0),
       coalesce(sum(s.declared_count - s.documented_count), 0),
       count(*) FILTER (WHERE s.declared_count > s.documented_count),
       max(s.last_declared_at)
  FROM scope
  LEFT JOIN indicators_establishment_state s ON s.establishment_id = scope.id AND s.programme_id = %s
  LEFT JOIN drafts d ON d.establishment_id = scope.id
"""
TOTALS_NAMES = (
    "establishments", "with_declarations", "complete", "declared", "drafts", "missing_documents",
    "with_missing_documents", "latest_declaration",
)


def completeness_totals(establishments, catalogue, indicator_count: int) -> dict:
    """Totals over the whole (filtered) scope `establishments` — one statement: the scope joined once to the
    attainment state and once to the catalogue's drafts counted per establishment."""
    scope_sql, scope_params = establishments.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            TOTALS_SQL.format(scope=scope_sql),
            (*scope_params, ValueStatus.DRAFT.value, catalogue.pk, indicator_count, catalogue.programme_id),
        )
        totals = dict(zip(TOTALS_NAMES, cursor.fetchone(), strict=True))
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
    "catalogue_for_tables",
    "attainment_rows",
    "filter_by_prerequisites",
    "with_completeness",
    "completeness_totals",
    "completeness_export_rows",
]

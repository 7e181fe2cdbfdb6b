"""Exports of the AMI (annex 5 « Fonction d'export des dossiers de pré-candidature HOP'EN » and the §5.3.2
programming): CSV and XLSX, French column headers, one line per establishment and domain.

The columns and lines are the AMI's; the writing (streamed CSV for French Excel, typed XLSX with euro formats,
autofilter and frozen header, no formula, `Cache-Control: no-store`) is the platform's one export module,
`hopen.exports`, whose names are re-exported here for the AMI views and API. The pre-candidatures export is national
(9,000 lines × 45 columns): its SELECT computes every cell (labels, activities, category, target deadline; the
estimate stored with the line) and PostgreSQL formats and sends the lines by COPY (`hopen.exports_copy`) — within
twice the time of the bare COPY of the same SELECT, where formatting them in Python took ten times as long.

The caller has checked the permission policy and passes pre-candidatures already limited to the user's scope.
"""

from typing import Iterable

from django.db.models import BooleanField, Case, CharField, DateField, F, Func, Value, When
from django.db.models.functions import Coalesce

from hopen.exports import (  # noqa: F401  (re-exported: the AMI views and API name them through this module)
    AMOUNT,
    BOOLEAN,
    CSV,
    DATE,
    DATETIME,
    DECIMAL,
    FORMATS,
    NUMBER,
    XLSX,
    XLSX_CONTENT_TYPE,
    Column,
    csv_response,
    export_filename,
    write_sheet,
    xlsx_response,
)
from hopen.exports_copy import SqlTemplate, choice_labels, copy_table_response
from hopen.models import EstablishmentStatus

from . import programming, selectors
from .models import Decision, FilingStatus, Position, PreCandidature


# --- Pre-candidatures (annex 5 export) ---------------------------------------------------------------------------

STATUS_LABELS = dict(EstablishmentStatus.choices)
POSITION_LABELS = dict(Position.choices)
DECISION_LABELS = dict(Decision.choices)
FILING_LABELS = dict(FilingStatus.choices)

PRE_CANDIDATURE_COLUMNS = [
    Column("Région", width=24),
    Column("Code région", width=8),
    Column("FINESS établissement", width=12),
    Column("Raison sociale", width=40),
    Column("FINESS entité juridique", width=12),
    Column("Statut", width=18),
    Column("ESPIC", BOOLEAN, 7),
    Column("Catégorie FINESS", width=9),
    Column("Libellé de catégorie", width=30),
    Column("Département", width=8),
    Column("Commune", width=20),
    Column("GHT", width=10),
    Column("Établissement support du GHT", BOOLEAN, 10),
    Column("Activités", width=16),
    Column("Activité combinée", DECIMAL, 14),
    Column("Catégorie de financement (annexe 3)", width=10),
    Column("Positionnement", width=12),
    Column("Prérequis HN atteints", BOOLEAN, 10),
    Column("Période prévisionnelle d'atteinte des prérequis HN", width=12),
    Column("Période prévisionnelle d'atteinte des prérequis HOP'EN", width=12),
    Column("Domaine", width=8),
    Column("Semestre prévisionnel d'atteinte des cibles", width=12),
    Column("Échéance d'atteinte des cibles", DATE, 12),
    Column("Priorité", NUMBER, 8),
    Column("Planning et périodes d'observation", width=40),
    Column("Montant estimé (€, forfait standard)", AMOUNT, 16),
    Column("Décision ARS", width=14),
    Column("Motif de la décision", width=40),
    Column("Décision prise le", DATETIME, 16),
    Column("Décision prise par", width=28),
    Column("Référent HOP'EN — nom", width=22),
    Column("Référent HOP'EN — fonction", width=20),
    Column("Référent HOP'EN — courriel", width=28),
    Column("Référent HOP'EN — téléphone", width=16),
    Column("Représentant légal — nom", width=22),
    Column("Représentant légal — fonction", width=20),
    Column("Commentaire", width=40),
    Column("Poids de l'investissement (€)", AMOUNT, 16),
    Column("Enjeux métiers et retour sur investissement", width=40),
    Column("Statut de la pré-candidature", width=20),
    Column("Candidature tardive", BOOLEAN, 10),
    Column("Validée par la direction le", DATETIME, 16),
    Column("Validée par l'établissement support le", DATETIME, 16),
    Column("Déposée le", DATETIME, 16),
    Column("Modifiée le", DATETIME, 16),
]


def _category(activity, grid):
    """SQL: `funding.rules.category_of` — the last category whose lower bound the activity reaches, the first one
    below every bound; NULL without combined activity or without grid."""
    ordered = sorted(grid.categories, key=lambda c: c.lower)
    if not ordered:
        return Value(None, output_field=CharField())
    return Case(
        When(**{f"{activity}__isnull": True}, then=Value(None)),
        *[When(**{f"{activity}__gte": c.lower}, then=Value(c.code)) for c in reversed(ordered[1:])],
        default=Value(ordered[0].code), output_field=CharField(),
    )


# `programming.semester_end`: the last day of « 2021 S1 » (30/06) or « 2021 S2 » (31/12).
SEMESTER_END_SQL = (
    "CASE WHEN %(expressions)s ~ '^[0-9]{4} S[12]$' THEN make_date(substr(%(expressions)s, 1, 4)::int, "
    "CASE WHEN right(%(expressions)s, 1) = '1' THEN 6 ELSE 12 END, "
    "CASE WHEN right(%(expressions)s, 1) = '1' THEN 30 ELSE 31 END) END"
)


def _activities():
    flags = [F(f"establishment__{flag}") for flag in selectors.ACTIVITY_FIELDS.values()]
    sql = "concat_ws(', ', " + ", ".join(
        f"CASE WHEN {{{i}}} THEN '{name}' END" for i, name in enumerate(selectors.ACTIVITY_FIELDS)
    ) + ")"
    return SqlTemplate(*flags, sql=sql, output_field=CharField())


def pre_candidature_queryset(pre_candidatures, filters, grid):
    """The annex-5 export as one SELECT with one annotated column per PRE_CANDIDATURE_COLUMNS entry (labels,
    activities, category, target deadline computed in SQL, the estimate read from its line): (queryset, names).
    One line per pre-candidature and domain (a pre-candidature without domain gives one line, unless a domain
    filter is set)."""
    activity = Coalesce("establishment__combined_activity__override", "establishment__combined_activity__computed")
    columns = [
        F("establishment__region__name"),
        F("establishment__region__code"),
        F("establishment__finess"),
        F("establishment__name"),
        F("establishment__legal_entity__finess"),
        choice_labels("establishment__status", STATUS_LABELS.items()),
        F("establishment__is_espic"),
        F("establishment__category_code"),
        F("establishment__category_label"),
        F("establishment__department"),
        F("establishment__city"),
        F("establishment__ght__code"),
        Case(
            When(establishment__ght__isnull=True, then=Value(None)),
            When(establishment__ght__support_id=F("establishment_id"), then=Value(True)),
            default=Value(False), output_field=BooleanField(),
        ),
        _activities(),
        activity,
        None,  # the category, from the activity (below)
        choice_labels("position", POSITION_LABELS.items()),
        F("hn_prerequisites_reached"),
        F("hn_prerequisites_forecast"),
        F("hopen_prerequisites_forecast"),
        F("domains__domain_code"),
        F("domains__forecast_semester"),
        Func(F("domains__forecast_semester"), template=SEMESTER_END_SQL, output_field=DateField()),
        F("domains__priority"),
        F("domains__planning"),
        F("domains__estimated_amount"),  # stored with the line (ami.estimates)
        choice_labels("domains__decision", DECISION_LABELS.items(), default=Value(None)),
        F("domains__decision_reason"),
        F("domains__decided_at"),
        F("domains__decided_by__email"),
        F("referent_name"),
        F("referent_function"),
        F("referent_email"),
        F("referent_phone"),
        F("legal_representative_name"),
        F("legal_representative_function"),
        F("comment"),
        F("investment_amount"),
        F("business_stakes"),
        choice_labels("status", FILING_LABELS.items()),
        F("is_late"),
        F("validated_at"),
        F("support_validated_at"),
        F("filed_at"),
        F("updated_at"),
    ]
    names = [f"c{index}" for index in range(len(columns))]
    category = names[columns.index(None)]
    annotations = {name: expression for name, expression in zip(names, columns) if expression is not None}
    annotations[category] = _category(names[columns.index(None) - 1], grid)
    queryset = PreCandidature.objects.filter(pk__in=pre_candidatures.order_by().values("pk"))
    if filters.has_domain_filter:  # before the annotations, which then read the filtered domain join
        queryset = queryset.filter(selectors.domain_condition(filters, prefix="domains__"))
    queryset = (
        queryset.annotate(**{name: expression for name, expression in annotations.items() if name != category})
        .annotate(**{category: annotations[category]})
        .order_by("establishment__region__name", "establishment__name", "establishment__finess", "domains__priority")
    )
    return queryset, names


def pre_candidatures_export(fmt: str, pre_candidatures, filters, grid, filename: str):
    """The annex-5 export of the given pre-candidatures (already scoped and filtered), its lines formatted and
    sent by PostgreSQL (`hopen.exports_copy`)."""
    queryset, names = pre_candidature_queryset(pre_candidatures, filters, grid)
    return copy_table_response(fmt, filename, "Pré-candidatures AMI", PRE_CANDIDATURE_COLUMNS, queryset, names)


# --- Programming (§5.3.2) ----------------------------------------------------------------------------------------

PROGRAMMING_COLUMNS = [
    Column("Région", width=24),
    Column("FINESS établissement", width=12),
    Column("Raison sociale", width=40),
    Column("Statut (public, privé, ESPIC)", width=10),
    Column("Statut juridique", width=18),
    Column("Activités", width=16),
    Column("GHT", width=10),
    Column("Domaine", width=8),
    Column("Priorité", NUMBER, 8),
    Column("Semestre prévisionnel d'atteinte des cibles", width=12),
    Column("Échéance d'atteinte des cibles", DATE, 12),
    Column("Financement prévu (€)", AMOUNT, 14),
    Column("Amorçage (€)", AMOUNT, 14),
    Column("Année de l'amorçage", NUMBER, 10),
    Column("Usage (€)", AMOUNT, 14),
    Column("Année de l'usage", NUMBER, 10),
    Column("Candidature tardive", BOOLEAN, 10),
    Column("Déposée le", DATETIME, 16),
    Column("Présélectionné le", DATETIME, 16),
]


def programming_row(line) -> list:
    row, plan = line.row, line.plan
    prefix = "pre_candidature__establishment__"
    return [
        row[f"{prefix}region__name"],
        row[f"{prefix}finess"],
        row[f"{prefix}name"],
        line.status_label,
        STATUS_LABELS.get(row[f"{prefix}status"], row[f"{prefix}status"]),
        ", ".join(line.activities),
        row[f"{prefix}ght__code"],
        row["domain_code"],
        row["priority"],
        row["forecast_semester"],
        line.target_deadline,
        plan.amount if plan else None,
        plan.seed if plan else None,
        plan.seed_year if plan else None,
        plan.usage if plan else None,
        plan.usage_year if plan else None,
        row["pre_candidature__is_late"],
        row["pre_candidature__filed_at"],
        row["decided_at"],
    ]


TOTALS_COLUMNS = [
    Column("Domaine", width=10),
    Column("Année", NUMBER, 8),
    Column("Amorçage (€)", AMOUNT, 16),
    Column("Usage (€)", AMOUNT, 16),
    Column("Total (€)", AMOUNT, 16),
]


def totals_rows(totals: programming.ProgrammingTotals):
    """Per domain and year, then per domain, per year and overall: the §5.3.2 « répartition amorçage / usage »."""
    for domain in totals.domains:
        for year in totals.years:
            cell = totals.by_domain_year.get((domain, year))
            if cell is not None:
                yield [domain, year, cell.seed, cell.usage, cell.total]
        cell = totals.by_domain[domain]
        yield [f"Total {domain}", None, cell.seed, cell.usage, cell.total]
    for year in totals.years:
        cell = totals.by_year[year]
        yield ["Tous domaines", year, cell.seed, cell.usage, cell.total]
    yield ["Total général", None, totals.total.seed, totals.total.usage, totals.total.total]


def programming_export(fmt: str, domain_rows: Iterable[dict], filename: str):
    """The programming as CSV (one line per pre-selected domain) or XLSX (the same, plus a sheet of totals per
    domain and per year computed while the lines are written)."""
    if fmt == XLSX:
        plans = []

        def lines():
            for row in domain_rows:
                line = selectors.programming_line(row)
                if line.plan is not None:
                    plans.append(line.plan)
                yield programming_row(line)

        def build(workbook):
            write_sheet(workbook, "Programmation", PROGRAMMING_COLUMNS, lines())
            write_sheet(workbook, "Totaux", TOTALS_COLUMNS, totals_rows(programming.programming_totals(plans)))

        return xlsx_response(filename, build)
    return csv_response(
        filename, PROGRAMMING_COLUMNS, (programming_row(selectors.programming_line(row)) for row in domain_rows)
    )


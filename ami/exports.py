"""Exports of the AMI (annex 5 « Fonction d'export des dossiers de pré-candidature HOP'EN » and the §5.3.2
programming): CSV and XLSX, French column headers, one line per establishment and domain.

The columns and lines are the AMI's; the writing (streamed CSV for French Excel, typed write-only XLSX with euro
formats, autofilter and frozen header, no formula, `Cache-Control: no-store`) is the platform's one export module,
`hopen.exports`, whose names are re-exported here for the AMI views and API.

The caller has checked the permission policy and passes rows already limited to the user's scope.
"""

from typing import Iterable

from funding.rules import category_of
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
from hopen.models import EstablishmentStatus

from . import programming, selectors
from .models import Decision, FilingStatus, Position


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


def pre_candidature_line(row: dict, grid) -> list:
    """One export line (in PRE_CANDIDATURE_COLUMNS order) from a `selectors.export_rows` dict."""
    computed, override = row["establishment__combined_activity__computed"], row["establishment__combined_activity__override"]
    activity = override if override is not None else computed
    domain = row["domains__domain_code"]
    category = category_of(activity, grid.categories).code if activity is not None and grid.categories else ""
    activities = [name for name, flag in selectors.ACTIVITY_FIELDS.items() if row[f"establishment__{flag}"]]
    semester = row["domains__forecast_semester"]
    return [
        row["establishment__region__name"],
        row["establishment__region__code"],
        row["establishment__finess"],
        row["establishment__name"],
        row["establishment__legal_entity__finess"],
        STATUS_LABELS.get(row["establishment__status"], row["establishment__status"]),
        row["establishment__is_espic"],
        row["establishment__category_code"],
        row["establishment__category_label"],
        row["establishment__department"],
        row["establishment__city"],
        row["establishment__ght__code"],
        row["establishment__ght__support_id"] == row["establishment_id"] if row["establishment__ght__code"] else None,
        ", ".join(activities),
        activity,
        category,
        POSITION_LABELS.get(row["position"], row["position"]),
        row["hn_prerequisites_reached"],
        row["hn_prerequisites_forecast"],
        row["hopen_prerequisites_forecast"],
        domain,
        semester,
        programming.semester_end(semester) if semester else None,
        row["domains__priority"],
        row["domains__planning"],
        programming.estimated_amount(activity, domain, grid) if domain else None,
        DECISION_LABELS.get(row["domains__decision"], "") if domain else "",
        row["domains__decision_reason"],
        row["domains__decided_at"],
        row["domains__decided_by__email"],
        row["referent_name"],
        row["referent_function"],
        row["referent_email"],
        row["referent_phone"],
        row["legal_representative_name"],
        row["legal_representative_function"],
        row["comment"],
        row["investment_amount"],
        row["business_stakes"],
        FILING_LABELS.get(row["status"], row["status"]),
        row["is_late"],
        row["validated_at"],
        row["support_validated_at"],
        row["filed_at"],
        row["updated_at"],
    ]


def pre_candidature_lines(rows: Iterable[dict], grid):
    for row in rows:
        yield pre_candidature_line(row, grid)


def pre_candidatures_export(fmt: str, rows: Iterable[dict], grid, filename: str):
    """The annex-5 export of the given rows (already scoped and filtered) as a streaming response."""
    lines = pre_candidature_lines(rows, grid)
    if fmt == XLSX:
        return xlsx_response(filename, lambda wb: write_sheet(wb, "Pré-candidatures AMI", PRE_CANDIDATURE_COLUMNS, lines))
    return csv_response(filename, PRE_CANDIDATURE_COLUMNS, lines)


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


def programming_export(fmt: str, domain_rows: Iterable[dict], grid, filename: str):
    """The programming as CSV (one line per pre-selected domain) or XLSX (the same, plus a sheet of totals per
    domain and per year computed while the lines are written)."""
    if fmt == XLSX:
        plans = []

        def lines():
            for row in domain_rows:
                line = selectors.programming_line(row, grid)
                if line.plan is not None:
                    plans.append(line.plan)
                yield programming_row(line)

        def build(workbook):
            write_sheet(workbook, "Programmation", PROGRAMMING_COLUMNS, lines())
            write_sheet(workbook, "Totaux", TOTALS_COLUMNS, totals_rows(programming.programming_totals(plans)))

        return xlsx_response(filename, build)
    return csv_response(
        filename, PROGRAMMING_COLUMNS, (programming_row(selectors.programming_line(row, grid)) for row in domain_rows)
    )


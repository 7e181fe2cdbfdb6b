"""Reads of the AMI for the ARS and the DGOS (instruction §5.3.2 « Etape 1 », annex 4 §3, annex 5 « Fonction
d'export »), always scoped to the user by the permission policy, each with a constant number of SQL queries
whatever the number of pre-candidatures (never one query per row).

Who reads what: an ARS officer the pre-candidatures of its region; the DGOS (and the other national roles, auditor
and administrator) every region. Establishment roles read their own pre-candidature on their tab, not these
lists (403). A pre-candidature outside the user's scope answers 404 (`pre_candidature_for_reading`).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404
from django.utils import timezone

from envelopes.selectors import region_figures
from funding.loading_envelopes import programme_envelope_table
from funding.models import FundingCategory
from hopen import permissions
from hopen.models import AuditRecord, Region, Role
from indicators.windows import ARS_PROGRAMMING, Window, programme_windows

from . import programming
from .models import Decision, FilingStatus, PreCandidature, PreCandidatureDomain

LIST_REFUSED = "Les pré-candidatures de la région sont réservées aux ARS et à la DGOS."
PROGRAMMING_TRANSMITTED = "ami.programming_transmitted"

# Filters of the lists (GET parameters shared by the page, the exports and the API).
FILING_FILED, FILING_AWAITING, FILING_DRAFT, FILING_ALL = "filed", "awaiting_support", "draft", "all"
FILING_CHOICES = [
    (FILING_FILED, "Déposées"),
    (FILING_AWAITING, "En attente de l'établissement support"),
    (FILING_DRAFT, "En préparation"),
    (FILING_ALL, "Toutes"),
]
YES, NO = "oui", "non"
ACTIVITY_FIELDS = {"MCO": "has_mco", "SSR": "has_ssr", "PSY": "has_psy", "HAD": "has_had"}


# --- Who may read ------------------------------------------------------------------------------------------------


def can_browse_pre_candidatures(user) -> bool:
    """ARS officers (their region) and the national roles (DGOS officer, auditor, administrator)."""
    scope = permissions.scope_of(user)
    return scope.national or (Role.ARS_OFFICER in scope.roles and bool(scope.region_ids))


def ami_establishment_filter(user) -> Q:
    """The establishments whose pre-candidatures the user browses: the nation, or the ARS's region(s)."""
    scope = permissions.scope_of(user)
    if scope.national:
        return Q()
    if Role.ARS_OFFICER in scope.roles and scope.region_ids:
        return Q(region_id__in=scope.region_ids)
    return Q(pk__in=[])


def regions_browsable_by(user):
    scope = permissions.scope_of(user)
    regions = Region.objects.order_by("name")
    return regions if scope.national else regions.filter(pk__in=scope.region_ids)


def can_transmit_programming(user, region) -> bool:
    """§5.3.2: the ARS presents its programming to the DGOS — the ARS officers of that region."""
    scope = permissions.scope_of(user)
    return region is not None and Role.ARS_OFFICER in scope.roles and region.pk in scope.region_ids


# --- Filtered pre-candidatures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmiFilters:
    """The AMI filters on top of the establishment filters (region, status, category, GHT, search)."""

    filing: str = FILING_FILED
    domain: str = ""
    decision: str = ""
    position: str = ""
    activity: str = ""
    late: str = ""
    eligibility: str = ""

    @property
    def has_domain_filter(self) -> bool:
        return bool(self.domain or self.decision)

    def domain_matches(self, domain_code, decision) -> bool:
        """Whether one domain line passes the domain-level filters (domain, ARS decision)."""
        if self.domain and domain_code != self.domain:
            return False
        if self.decision and decision != self.decision:
            return False
        return True


def domain_condition(filters: AmiFilters, prefix="") -> Q:
    condition = Q()
    if filters.domain:
        condition &= Q(**{f"{prefix}domain_code": filters.domain})
    if filters.decision:
        condition &= Q(**{f"{prefix}decision": filters.decision})
    return condition


def pre_candidatures_matching(user, establishments, filters: AmiFilters, *, programme):
    """The pre-candidatures on `programme` of `establishments` (already filtered by the establishment form) inside
    the user's AMI scope, filtered; ordered by establishment name. One query (plus one for the prefetched domains)."""
    queryset = PreCandidature.objects.filter(
        programme=programme,
        establishment__in=establishments.filter(ami_establishment_filter(user)).values("pk"),
    )
    if filters.filing != FILING_ALL:
        queryset = queryset.filter(status=filters.filing or FILING_FILED)
    if filters.position:
        queryset = queryset.filter(position=filters.position)
    if filters.activity in ACTIVITY_FIELDS:
        queryset = queryset.filter(**{f"establishment__{ACTIVITY_FIELDS[filters.activity]}": True})
    if filters.late in (YES, NO):
        queryset = queryset.filter(is_late=filters.late == YES)
    if filters.has_domain_filter:
        queryset = queryset.filter(
            Exists(PreCandidatureDomain.objects.filter(domain_condition(filters), pre_candidature=OuterRef("pk")))
        )
    if filters.eligibility in (ELIGIBLE, INELIGIBLE):
        queryset = queryset.filter(pk__in=_pre_candidatures_by_eligibility(queryset, filters, programme))
    return queryset.select_related(
        "establishment__region", "establishment__ght", "establishment__combined_activity"
    ).prefetch_related(
        Prefetch("domains", queryset=PreCandidatureDomain.objects.select_related("decided_by").order_by("priority"))
    ).order_by("establishment__name", "establishment__finess")


LIST_PAGE_FIELDS = (
    "id", "establishment", "position", "status", "is_late", "filed_at",
    "establishment__name", "establishment__finess", "establishment__city", "establishment__status",
    "establishment__is_espic", "establishment__has_mco", "establishment__has_ssr", "establishment__has_psy",
    "establishment__has_had", "establishment__ght", "establishment__ght__code", "establishment__region",
    "establishment__region__name",
)
LIST_DOMAIN_FIELDS = (
    "id", "pre_candidature", "domain_code", "forecast_semester", "priority", "decision", "estimated_amount",
)


def for_list_page(pre_candidatures):
    """`pre_candidatures_matching` cut to the columns the list page prints (ami/views_ars.py `_list_rows`): no
    decider, no combined activity, no free text — fewer columns read and fewer instances built per page."""
    return (
        pre_candidatures.select_related(None)
        .select_related("establishment__region", "establishment__ght")
        .only(*LIST_PAGE_FIELDS)
        .prefetch_related(None)
        .prefetch_related(
            Prefetch("domains", queryset=PreCandidatureDomain.objects.only(*LIST_DOMAIN_FIELDS).order_by("priority"))
        )
    )


def grid_loaded(programme) -> bool:
    """Whether the programme's amount grid (annex 3 for HOP'EN) is loaded: one EXISTS query."""
    return FundingCategory.objects.filter(programme=programme).exists()


ELIGIBLE, INELIGIBLE = "eligible", "ineligible"


def _pre_candidatures_by_eligibility(queryset, filters: AmiFilters, programme) -> list[int]:
    """Ids of the pre-candidatures whose chosen domains (the filtered domain only, if any) are all eligible to apply
    (§5.3.1, `funding.eligibility.selectors`) — or, for "ineligible", of those with at least one that is not.
    A constant number of queries whatever the number of pre-candidatures."""
    from funding.eligibility.selectors import eligibility_for_establishments
    from hopen.models import Establishment

    rows = list(queryset.values_list("pk", "establishment_id"))
    if not rows:
        return []
    chosen = {}
    for pre_candidature_id, domain_code in PreCandidatureDomain.objects.filter(
        pre_candidature_id__in=[pk for pk, _ in rows]
    ).values_list("pre_candidature_id", "domain_code"):
        if not filters.domain or domain_code == filters.domain:
            chosen.setdefault(pre_candidature_id, []).append(domain_code)
    establishments = Establishment.objects.filter(pk__in={e for _, e in rows}).only("pk", "status", "ght_id")
    verdicts = eligibility_for_establishments(establishments, programme=programme)
    wanted = filters.eligibility == ELIGIBLE
    return [
        pk
        for pk, establishment_id in rows
        if chosen.get(pk)
        and all(verdicts[establishment_id][code].eligible_to_apply for code in chosen[pk]) == wanted
    ]


@dataclass(frozen=True)
class DomainTotals:
    """What the list shows of every domain line of the filtered pre-candidatures: the estimates of all and of the
    pre-selected ones (`programming.EstimateTotals`), the balance between statuses and activities."""

    totals: programming.EstimateTotals
    preselected: programming.EstimateTotals
    balance: dict


# One statement for every figure of the list (`domain_totals`): the domain lines of the filtered pre-candidatures read
# once (a CTE referenced twice is materialized), summed per (domain, semester) for the estimates of all and of the
# pre-selected lines, and per pre-candidature then per (status, ESPIC) for the balance — a pre-candidature is its
# establishment's for the programme (pre_candidature_one_per_programme): one row each, no DISTINCT over the lines.
_ACTIVITY_COLUMNS = ",\n".join(
    f"'{activity}', json_build_array(count(*) FILTER (WHERE e.{flag}), sum(pc.domains) FILTER (WHERE e.{flag}), "
    f"(sum(pc.amount) FILTER (WHERE e.{flag}))::text)"
    for activity, flag in ACTIVITY_FIELDS.items()
)
DOMAIN_TOTALS_SQL = """
WITH lines AS (
    SELECT d.pre_candidature_id, s.establishment_id, d.domain_code, d.forecast_semester, d.decision,
           d.estimated_amount AS amount
      FROM ami_precandidaturedomain d
      JOIN ({scope}) s (id, establishment_id) ON s.id = d.pre_candidature_id
     WHERE TRUE{condition}
),
per_pre_candidature AS (
    SELECT establishment_id, count(*) AS domains, coalesce(sum(amount), 0) AS amount
      FROM lines GROUP BY pre_candidature_id, establishment_id
)
SELECT json_build_object(
  'estimates', (SELECT coalesce(json_agg(json_build_array(
        domain_code, forecast_semester, lines, unknown, amount, pre_lines, pre_unknown, pre_amount)), '[]')
      FROM (SELECT domain_code, forecast_semester, count(*) AS lines, count(*) FILTER (WHERE amount IS NULL) AS unknown,
                   sum(amount)::text AS amount,
                   count(*) FILTER (WHERE decision = '{preselected}') AS pre_lines,
                   count(*) FILTER (WHERE decision = '{preselected}' AND amount IS NULL) AS pre_unknown,
                   (sum(amount) FILTER (WHERE decision = '{preselected}'))::text AS pre_amount
              FROM lines GROUP BY domain_code, forecast_semester) estimates),
  'balance', (SELECT coalesce(json_agg(json_build_array(
        status, is_espic, establishments, domains, amount, activities)), '[]')
      FROM (SELECT e.status, e.is_espic, count(*) AS establishments, sum(pc.domains) AS domains,
                   sum(pc.amount)::text AS amount, json_build_object({activities}) AS activities
              FROM per_pre_candidature pc JOIN hopen_establishment e ON e.id = pc.establishment_id
             GROUP BY e.status, e.is_espic) balance)
)
"""


def _decimal(text) -> Decimal | None:
    return None if text is None else Decimal(text)


def _domain_figures(scope_sql, scope_params, filters: AmiFilters) -> dict:
    """DOMAIN_TOTALS_SQL over the pre-candidatures of `scope_sql` (id, establishment): {"estimates", "balance"} as
    psycopg decodes the json (sums as text: exact decimals)."""
    condition, params = "", list(scope_params)
    for column, value in (("domain_code", filters.domain), ("decision", filters.decision)):
        if value:
            condition += f" AND d.{column} = %s"
            params.append(value)
    sql = DOMAIN_TOTALS_SQL.format(
        scope=scope_sql, condition=condition, activities=_ACTIVITY_COLUMNS, preselected=Decision.PRESELECTED.value
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def domain_totals(pre_candidatures, filters: AmiFilters) -> DomainTotals:
    """The totals of every domain line of the filtered pre-candidatures (passing the domain filters), summed in
    the database — one statement whatever the number of lines (thousands for the nation)."""
    try:
        scope_sql, scope_params = pre_candidatures.order_by().values("pk", "establishment_id").query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing by construction (no eligible pre-candidature, say)
        figures = {"estimates": [], "balance": []}
    else:
        figures = _domain_figures(scope_sql, scope_params, filters)
    all_groups, preselected_groups = [], []
    for domain, semester, lines, unknown, amount, pre_lines, pre_unknown, pre_amount in figures["estimates"]:
        all_groups.append((domain, semester, lines, unknown, _decimal(amount)))
        preselected_groups.append((domain, semester, pre_lines, pre_unknown, _decimal(pre_amount)))
    balance_groups = [
        programming.BalanceGroup(
            status_group=programming.balance_status(status, is_espic),
            establishments=establishments,
            domains=domains,
            amount=Decimal(amount),
            activities={
                activity: (activity_establishments, activity_domains, Decimal(activity_amount))
                for activity, (activity_establishments, activity_domains, activity_amount) in activities.items()
                if activity_domains
            },
        )
        for status, is_espic, establishments, domains, amount, activities in figures["balance"]
    ]
    return DomainTotals(
        totals=programming.estimate_totals_of_groups(all_groups),
        preselected=programming.estimate_totals_of_groups(preselected_groups),
        balance=programming.balance_of_groups(balance_groups),
    )


def pre_candidature_for_reading(user, pk) -> PreCandidature:
    """A pre-candidature of an establishment the user may read (permission policy), with everything the ARS page
    shows; 404 otherwise (existence not revealed)."""
    pre_candidature = (
        PreCandidature.objects.filter(pk=pk, establishment__in=permissions.establishments_readable_by(user))
        .select_related(
            "programme", "establishment__region", "establishment__ght__support", "establishment__legal_entity",
            "establishment__combined_activity", "validated_by", "support_validated_by",
        )
        .prefetch_related(
            Prefetch("domains", queryset=PreCandidatureDomain.objects.select_related("decided_by").order_by("priority")),
            "comments__author",
            "attachments",
        )
        .first()
    )
    if pre_candidature is None:
        raise Http404("Pré-candidature introuvable.")
    return pre_candidature


# --- Programming -------------------------------------------------------------------------------------------------

PROGRAMMING_FIELDS = (
    "id",
    "domain_code",
    "forecast_semester",
    "priority",
    "decided_at",
    "pre_candidature__filed_at",
    "pre_candidature__is_late",
    "pre_candidature__establishment_id",
    "pre_candidature__establishment__finess",
    "pre_candidature__establishment__name",
    "pre_candidature__establishment__status",
    "pre_candidature__establishment__is_espic",
    "pre_candidature__establishment__has_mco",
    "pre_candidature__establishment__has_ssr",
    "pre_candidature__establishment__has_psy",
    "pre_candidature__establishment__has_had",
    "pre_candidature__establishment__ght__code",
    "pre_candidature__establishment__region__code",
    "pre_candidature__establishment__region__name",
    "estimated_amount",
)


def programming_domains(user, programme, region=None):
    """§5.3.2 programming: the pre-selected domains of filed pre-candidatures on `programme` in the user's AMI scope
    (one region if given), « classés par FINESS » then by domain. A values() queryset: one query however it is
    consumed."""
    queryset = PreCandidatureDomain.objects.filter(
        decision=Decision.PRESELECTED,
        pre_candidature__status=FilingStatus.FILED,
        pre_candidature__programme=programme,
        pre_candidature__establishment__in=permissions.establishments_readable_by(user)
        .filter(ami_establishment_filter(user))
        .values("pk"),
    )
    if region is not None:
        queryset = queryset.filter(pre_candidature__establishment__region=region)
    return queryset.order_by(
        "pre_candidature__establishment__finess", "domain_code"
    ).values(*PROGRAMMING_FIELDS)


def last_transmission(region, programme):
    """The latest « programmation transmise à la DGOS » audit record of the region for `programme`, or None.
    Records written before programmes were data (no « programme » in their changes) are the default programme's."""
    if region is None:
        return None
    of_programme = Q(changes__programme__1=programme.code)
    if programme.is_default:
        of_programme |= ~Q(changes__has_key="programme")
    return (
        AuditRecord.objects.filter(action=PROGRAMMING_TRANSMITTED, object_type="hopen.region", object_id=str(region.pk))
        .filter(of_programme)
        .order_by("-id")
        .first()
    )


def programming_deadline(programme) -> Window | None:
    """The ARS programming window of the programme's calendar (HOP'EN §5.3.2: « au plus tard le 30 août 2019 »),
    None when the calendar does not declare one. One query."""
    return programme_windows(programme).get(ARS_PROGRAMMING)


# --- Regional envelopes (the programme's table, annex 2 for HOP'EN: a field of the programme, no query) ----------


@dataclass(frozen=True)
class EnvelopeRef:
    """The envelope the AMI pages compare the plan with, in euros: the ledger's (`envelopes.selectors.region_figures`,
    the figures the envelopes page and the dashboard print) once the envelopes are opened, the programme's table
    before. `seed_committed` is the seed already committed in the ledger (None before the envelopes are opened)."""

    label: str
    amount: Decimal
    source: str
    seed_committed: Decimal | None = None


def envelope_for(programme, region_codes) -> EnvelopeRef:
    """Annex 2 §1: the envelope of one region, of several summed, or the nation when `region_codes` is None.

    The national envelope is the sum of the regional ones (419 999 k€ for HOP'EN), not the total printed under the
    annex's table (420 000 k€, the printed rows being rounded): the ledger opens each region's row, so every page
    reads the same national figure."""
    table = programme_envelope_table(programme)
    if table is None:
        return EnvelopeRef(f"Aucune table d'enveloppes régionales pour le programme {programme.name}", Decimal(0), "")
    codes = None if region_codes is None else {str(code) for code in region_codes}
    rows = [row for row in table.regions if codes is None or row.region_code in codes]
    if codes is None:
        label = "Total national (annexe 2)"
    else:
        label = "Enveloppe régionale — " + (", ".join(row.region_name for row in rows) or "—")
    figures = region_figures(programme, None if codes is None else sorted(codes))
    if figures is None:
        return EnvelopeRef(label, sum((row.envelope_keur for row in rows), Decimal(0)) * 1000, table.source)
    return EnvelopeRef(label, figures.total, table.source, seed_committed=figures.seed_committed)


@dataclass(frozen=True)
class ProgrammingLine:
    """One pre-selected domain of the programming with its planned funding (None without combined activity)."""

    row: dict
    amount: object  # Decimal or None
    plan: object  # programming.PlannedFunding or None
    status_group: str
    activities: tuple
    target_deadline: datetime.date

    @property
    def status_label(self):
        return programming.STATUS_GROUP_LABELS[self.status_group]


def programming_line(row: dict) -> ProgrammingLine:
    prefix = "pre_candidature__establishment__"
    amount = row["estimated_amount"]  # stored with the line (ami.estimates)
    filed_at = row["pre_candidature__filed_at"]
    plan = None
    if amount is not None:
        plan = programming.planned_funding(
            domain=row["domain_code"], amount=amount,
            filing_year=timezone.localtime(filed_at).year, forecast_semester=row["forecast_semester"],
        )
    return ProgrammingLine(
        row=row,
        amount=amount,
        plan=plan,
        status_group=programming.balance_status(row[f"{prefix}status"], row[f"{prefix}is_espic"]),
        activities=tuple(
            name for name, flag in ACTIVITY_FIELDS.items() if row[f"{prefix}{flag}"]
        ),
        target_deadline=programming.semester_end(row["forecast_semester"]),
    )


@dataclass
class ProgrammingSummary:
    totals: object  # programming.ProgrammingTotals
    balance: dict
    establishments: int
    without_amount: int


def programming_summary(user, programme, region=None) -> ProgrammingSummary:
    """Totals per domain and per year (seed / usage), balance between statuses and activities, over every
    pre-selected domain of `programme` — one streamed query."""
    plans, balance_lines, establishments, without_amount = [], [], set(), 0
    for row in programming_domains(user, programme, region).iterator(chunk_size=2000):
        line = programming_line(row)
        establishments.add(row["pre_candidature__establishment_id"])
        if line.plan is None:
            without_amount += 1
        else:
            plans.append(line.plan)
        balance_lines.append(
            programming.BalanceLine(
                row["pre_candidature__establishment_id"], line.status_group, line.activities, line.amount
            )
        )
    return ProgrammingSummary(
        totals=programming.programming_totals(plans),
        balance=programming.balance(balance_lines),
        establishments=len(establishments),
        without_amount=without_amount,
    )

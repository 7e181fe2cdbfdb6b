"""The ARS's and the DGOS's dashboard (annex 4 §3 « Suivre l'avancement des projets »): what the ARS follows and
consolidates throughout the programme, for its region — and the DGOS for any region and for the nation:

- the total of the regional envelope; the amounts committed and consumed (paid), seed and usage apart;
- their distribution by establishment / GHT, by status (public, private, ESPIC) and by activity (MCO, SSR, PSY,
  HAD — an establishment with several activities counts in each);
- the establishments / GHT whose dossier was selected, and the domains selected;
- the attainment of the HOP'EN prerequisites and of the usage targets of the selected domains;
- the establishments whose prerequisites forecast date, or a domain's target deadline, has slipped (recorded at
  the project reviews, `funding.reviews.services`).

Money comes from the append-only ledger only (`envelopes.ledger.balances_of` and sums of `LedgerEntry`, `.money`),
never from the amounts written on the dossiers; attainment from the attainment state kept on every declaration
(`.attainment`, `indicators.state`), never from the value history. Scope: the permission policy — an ARS officer reads its own region
(another region answers 404), the national roles any region and the nation; the establishments' roles are
refused. A constant number of queries whatever the number of dossiers: every figure is an SQL aggregate, the
lists are limited or paginated (tests/funding/dashboard/test_selectors.py, bench/dashboard.py).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Prefetch, Q, Sum
from django.http import Http404

from envelopes.ledger import balances_of
from envelopes.models import Envelope, LedgerEntry
from envelopes.rules import Balances
from envelopes.selectors import balances_total
from funding.dossiers.models import Dossier, DossierDomain, DossierStatus, DomainStatus
from hopen import permissions
from hopen.exceptions import PermissionRefused
from hopen.models import Region, Role
from indicators.models import CatalogueVersion, IndicatorGroup

from . import attainment
from .money import MONEY_KINDS, ZERO, MoneyRow, distribution

DASHBOARD_REFUSED = "Le pilotage des financements est réservé aux ARS et à la DGOS."
# A domain counts as selected from its selection on, whatever happened next (annex 4 §3 « dossier retenu »).
SELECTED_DOMAIN_STATUSES = (
    DomainStatus.SELECTED, DomainStatus.TARGETS_REACHED, DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID,
)
# The selected dossiers and their slipped dates are followed while the dossier is alive: a refused or closed
# dossier (audit failure, abandonment) leaves the lists; its money stays in the ledger figures.
UNFOLLOWED_DOSSIER_STATUSES = (DossierStatus.REFUSED, DossierStatus.CLOSED)
SLIP_IGNORED_DOMAIN_STATUSES = (DomainStatus.PENDING, DomainStatus.REFUSED)
ESTABLISHMENT_LIMIT = 100
SLIPPED_LIMIT = 100
SELECTED_PAGE_SIZE = 50


# --- Scope ------------------------------------------------------------------------------------------------------


def can_view_dashboard(user) -> bool:
    """ARS officers (their region) and the national roles (DGOS officers and auditors, platform administrators)."""
    scope = permissions.scope_of(user)
    return scope.national or (Role.ARS_OFFICER in scope.roles and bool(scope.region_ids))


@dataclass(frozen=True)
class DashboardScope:
    """The region of the dashboard, or None for the nation."""

    region: Region | None = None

    @property
    def national(self) -> bool:
        return self.region is None

    @property
    def label(self) -> str:
        return "France entière" if self.region is None else self.region.name


def dashboard_regions(user) -> list[Region]:
    """The regions whose dashboard the user may open (every region for the national roles)."""
    scope = permissions.scope_of(user)
    if scope.national:
        return list(Region.objects.order_by("name"))
    if Role.ARS_OFFICER in scope.roles:
        return list(Region.objects.filter(pk__in=scope.region_ids).order_by("name"))
    return []


def dashboard_scope(user, region_code: str | None = None) -> DashboardScope:
    """The nation (region_code None: national roles only, PermissionRefused otherwise) or one region the user may
    read (Http404 otherwise: an ARS does not learn about another region's money)."""
    if region_code is None:
        if not permissions.scope_of(user).national:
            raise PermissionRefused(DASHBOARD_REFUSED)
        return DashboardScope(None)
    region = Region.objects.filter(code=str(region_code)).first()
    if region is None or not permissions.can_read_region_money(user, region):
        raise Http404("Région introuvable.")
    return DashboardScope(region)


# --- Figures ----------------------------------------------------------------------------------------------------


@dataclass
class DomainSummary:
    """One domain code: the selected domains, their seed and total amounts decided, and their targets."""

    code: str
    selected: int = 0
    seed_amount: Decimal = ZERO
    total_amount: Decimal = ZERO
    targets_recorded: int = 0  # status « cibles atteintes » or later (recorded by the ARS)
    targets_reached: int | None = None  # per the latest declared indicator values (None: no catalogue)


@dataclass
class Attainment:
    """Annex 4 §3 « suivi du niveau d'atteinte des prérequis et des cibles d'usage »."""

    available: bool  # False when no indicator catalogue is in force
    establishments: int = 0  # candidate establishments of the selected dossiers
    prerequisites_reached: int = 0


@dataclass
class RegionRow:
    """The national table: one region's envelope and follow-up figures."""

    region: Region
    balances: Balances
    selected_dossiers: int = 0
    selected_establishments: int = 0
    slipped_prerequisites: int = 0
    slipped_targets: int = 0


@dataclass
class Dashboard:
    scope: DashboardScope
    balances: Balances
    has_envelope: bool
    regions: list[RegionRow]
    sectors: list[MoneyRow]
    activities: list[MoneyRow]
    establishments: list[MoneyRow]  # the ESTABLISHMENT_LIMIT largest commitments
    establishment_count: int
    selected_dossiers: int
    selected_establishments: int
    domains: list[DomainSummary]
    attainment: Attainment
    selected_page: Page
    slipped_prerequisites: list
    slipped_prerequisites_count: int
    slipped_targets: list
    slipped_targets_count: int

    @property
    def selected_domains(self) -> int:
        return sum(d.selected for d in self.domains)


def _dossiers(scope: DashboardScope, programme):
    dossiers = Dossier.objects.filter(programme=programme)
    return dossiers if scope.national else dossiers.filter(region=scope.region)


def _followed(dossiers):
    return dossiers.exclude(status__in=UNFOLLOWED_DOSSIER_STATUSES)


def _selected_domains(dossiers):
    return DossierDomain.objects.filter(
        dossier__in=_followed(dossiers).values("pk"), status__in=SELECTED_DOMAIN_STATUSES
    )


def _catalogue_groups(programme) -> dict | None:
    """{code: id} of the indicator groups of the programme's catalogue in force (None: no catalogue, attainment
    cannot be measured) — one query (two for a catalogue without groups)."""
    groups = dict(
        IndicatorGroup.objects.filter(catalogue__programme=programme, catalogue__is_current=True).values_list(
            "code", "pk"
        )
    )
    if groups or CatalogueVersion.objects.filter(programme=programme, is_current=True).exists():
        return groups
    return None


def _domain_summaries(dossiers, group_ids) -> list[DomainSummary]:
    """The selected domains by code, with their targets reached by every candidate (attainment state) — one query."""
    selected = _selected_domains(dossiers)
    reached = {}
    if group_ids is not None:
        selected = attainment.domain_targets_reached(selected, group_ids)
        reached = {"reached": Count("id", filter=Q(targets_ok=True))}
    rows = (
        selected.values("domain_code")
        .annotate(
            selected=Count("id"), seed=Sum("seed_amount"), total=Sum("total_amount"),
            recorded=Count("id", filter=~Q(status=DomainStatus.SELECTED)), **reached,
        )
        .order_by("domain_code")
    )
    return [
        DomainSummary(
            row["domain_code"], row["selected"], row["seed"] or ZERO, row["total"] or ZERO, row["recorded"],
            row["reached"] if group_ids is not None else None,
        )
        for row in rows
    ]


def _attainment(dossiers, programme, group_ids) -> Attainment:
    """Candidate establishments of the selected dossiers and those who met the prerequisites — one query."""
    counts = attainment.candidate_counts(_selected_domains(dossiers), programme)
    if group_ids is None:
        return Attainment(available=False, establishments=counts["establishments"])
    return Attainment(
        available=True, establishments=counts["establishments"], prerequisites_reached=counts["reached"]
    )


def _selected_counts(dossiers) -> dict[int, dict]:
    """{region id: {"dossiers": n, "establishments": n}} of the dossiers with at least one selected domain."""
    selected = DossierDomain.objects.filter(dossier=OuterRef("pk"), status__in=SELECTED_DOMAIN_STATUSES)
    rows = (
        _followed(dossiers).filter(Exists(selected))
        .values("region_id")
        .annotate(dossiers=Count("id"), establishments=Count("establishment_id", distinct=True))
        .order_by()
    )
    return {row["region_id"]: row for row in rows}


def _slipped_prerequisites_queryset(dossiers):
    return _followed(dossiers).filter(prerequisites_forecast__gt=F("prerequisites_forecast_initial"))


def _slipped_targets_queryset(dossiers):
    return DossierDomain.objects.filter(
        dossier__in=_followed(dossiers).values("pk"), target_deadline__gt=F("target_deadline_initial")
    ).exclude(status__in=SLIP_IGNORED_DOMAIN_STATUSES)


def _count_by_region(queryset, region_field) -> dict[int, int]:
    return {
        row[region_field]: row["n"]
        for row in queryset.values(region_field).annotate(n=Count("id")).order_by()
    }


def _slipped_lists(dossiers):
    """The slipped dates, largest slip first (limited to SLIPPED_LIMIT each) and their counts per region."""
    prerequisites = _slipped_prerequisites_queryset(dossiers)
    targets = _slipped_targets_queryset(dossiers)
    slip = ExpressionWrapper(
        F("prerequisites_forecast") - F("prerequisites_forecast_initial"), output_field=DurationField()
    )
    prerequisites_list = list(
        prerequisites.select_related("establishment", "ght", "region")
        .annotate(slip=slip)
        .order_by("-slip", "reference")[:SLIPPED_LIMIT]
    )
    domain_slip = ExpressionWrapper(F("target_deadline") - F("target_deadline_initial"), output_field=DurationField())
    targets_list = list(
        targets.select_related("dossier", "dossier__establishment", "dossier__ght", "dossier__region")
        .annotate(slip=domain_slip)
        .order_by("-slip", "dossier__reference", "domain_code")[:SLIPPED_LIMIT]
    )
    return (
        prerequisites_list, _count_by_region(prerequisites, "region_id"),
        targets_list, _count_by_region(targets, "dossier__region_id"),
    )


def _domain_money(domain_ids) -> dict[int, MoneyRow]:
    """Ledger sums of each dossier domain (one query)."""
    money = defaultdict(lambda: MoneyRow("", ""))
    rows = (
        LedgerEntry.objects.filter(dossier_domain_id__in=domain_ids, kind__in=MONEY_KINDS)
        .values("dossier_domain_id", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        money[row["dossier_domain_id"]].add(row["kind"], row["total"])
    return money


def selected_dossiers_page(dossiers, page_number, *, programme, group_ids) -> Page:
    """One page of the dossiers with a selected domain, by establishment name: each dossier carries
    `selected_list` (its selected domains, each with `money` from the ledger and `targets_reached`) and
    `prerequisites_reached` (None without catalogue), read from the attainment state. Five queries whatever the
    page."""
    selected = DossierDomain.objects.filter(dossier=OuterRef("pk"), status__in=SELECTED_DOMAIN_STATUSES)
    domains = DossierDomain.objects.filter(status__in=SELECTED_DOMAIN_STATUSES).order_by("domain_code")
    queryset = _followed(dossiers).filter(Exists(selected))
    if group_ids is not None:
        domains = attainment.domain_targets_reached(domains, group_ids).annotate(targets_reached=F("targets_ok"))
        queryset = queryset.annotate(prerequisites_reached=attainment.dossier_prerequisites_met(programme))
    queryset = (
        queryset.select_related("establishment", "ght", "region")
        .prefetch_related(
            Prefetch("domains", queryset=domains, to_attr="selected_list"),
            Prefetch("members", to_attr="member_list"),
        )
        .order_by("establishment__name", "reference")
    )
    page = Paginator(queryset, SELECTED_PAGE_SIZE).get_page(page_number)
    dossiers_on_page = list(page.object_list)
    money = _domain_money([d.pk for dossier in dossiers_on_page for d in dossier.selected_list])
    for dossier in dossiers_on_page:
        dossier.candidate_count = len(dossier.member_list) or 1
        if group_ids is None:
            dossier.prerequisites_reached = None
        for domain in dossier.selected_list:
            domain.money = money[domain.pk]
            if group_ids is None:
                domain.targets_reached = None
    page.object_list = dossiers_on_page
    return page


def dashboard(user, scope: DashboardScope, *, programme, page_number=1) -> Dashboard:
    """Every figure of the dashboard of `scope` (from `dashboard_scope`, which checked the permission policy) on
    `programme`: its envelopes and its dossiers.

    About twenty queries whatever the number of dossiers and entries.
    """
    if not (scope.national or permissions.can_read_region_money(user, scope.region)):
        raise Http404("Région introuvable.")
    envelopes = Envelope.objects.filter(programme=programme).select_related("region")
    if not scope.national:
        envelopes = envelopes.filter(region=scope.region)
    envelopes = list(envelopes)
    envelope_ids = [e.pk for e in envelopes]
    balances = balances_of(envelope_ids)
    total = balances_total(list(balances.values()))
    sectors, activities, establishments, establishment_count = distribution(envelope_ids, ESTABLISHMENT_LIMIT)

    dossiers = _dossiers(scope, programme)
    group_ids = _catalogue_groups(programme)
    domains = _domain_summaries(dossiers, group_ids)
    candidates = _attainment(dossiers, programme, group_ids)
    selected = _selected_counts(dossiers)
    prerequisites_list, prerequisites_by_region, targets_list, targets_by_region = _slipped_lists(dossiers)
    page = selected_dossiers_page(dossiers, page_number, programme=programme, group_ids=group_ids)

    regions = []
    if scope.national:
        by_region = {e.region_id: balances[e.pk] for e in envelopes}
        for region in Region.objects.order_by("name"):
            counts = selected.get(region.pk, {})
            regions.append(
                RegionRow(
                    region, by_region.get(region.pk, Balances()),
                    selected_dossiers=counts.get("dossiers", 0),
                    selected_establishments=counts.get("establishments", 0),
                    slipped_prerequisites=prerequisites_by_region.get(region.pk, 0),
                    slipped_targets=targets_by_region.get(region.pk, 0),
                )
            )
    return Dashboard(
        scope=scope, balances=total, has_envelope=bool(envelopes), regions=regions,
        sectors=sectors, activities=activities,
        establishments=establishments, establishment_count=establishment_count,
        selected_dossiers=sum(row["dossiers"] for row in selected.values()),
        selected_establishments=sum(row["establishments"] for row in selected.values()),
        domains=domains, attainment=candidates, selected_page=page,
        slipped_prerequisites=prerequisites_list,
        slipped_prerequisites_count=sum(prerequisites_by_region.values()),
        slipped_targets=targets_list, slipped_targets_count=sum(targets_by_region.values()),
    )

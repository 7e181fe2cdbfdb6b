"""The ARS's and the DGOS's dashboard (annex 4 §3 « Suivre l'avancement des projets »): what the ARS follows and
consolidates throughout the programme, for its region — and the DGOS for any region and for the nation:

- the total of the regional envelope; the amounts committed and consumed (paid), seed and usage apart;
- their distribution by establishment / GHT, by status (public, private, ESPIC) and by activity (MCO, SSR, PSY,
  HAD — an establishment with several activities counts in each);
- the establishments / GHT whose dossier was selected, and the domains selected;
- the attainment of the HOP'EN prerequisites and of the usage targets of the selected domains;
- the establishments whose prerequisites forecast date, or a domain's target deadline, has slipped (recorded at
  the project reviews, `funding.reviews.services`).

Money comes from the append-only ledger only (`envelopes.ledger.balances_of`, sums of `LedgerEntry`, and the sums
the ledger keeps per beneficiary on every insert for `.money`), never from the amounts written on the dossiers;
attainment from the attainment state kept on every declaration (`.attainment`, `indicators.state`), never from the
value history. Scope: the permission policy — an ARS officer reads its own region
(another region answers 404), the national roles any region and the nation; the establishments' roles are
refused. A constant number of queries whatever the number of dossiers: every figure is an SQL aggregate, the
lists are limited or paginated (tests/funding/dashboard/test_selectors.py, bench/dashboard.py).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.http import Http404

from envelopes.ledger import balances_of
from envelopes.models import Envelope
from envelopes.rules import Balances
from envelopes.selectors import balances_total
from funding.dossiers.models import Dossier, DossierDomain, DossierStatus, DomainStatus
from hopen import permissions
from hopen.exceptions import PermissionRefused
from hopen.models import Region, Role
from indicators.models import CatalogueVersion, IndicatorGroup

from . import attainment
from .lists import (
    SELECTED_DOMAIN_STATUSES,
    SLIP_IGNORED_DOMAIN_STATUSES,
    SlippedDate,
    selected_dossiers_page,
    slipped_prerequisites,
    slipped_targets,
)
from .money import ZERO, MoneyRow, distribution

DASHBOARD_REFUSED = "Le pilotage des financements est réservé aux ARS et à la DGOS."
# The selected dossiers and their slipped dates are followed while the dossier is alive: a refused or closed
# dossier (audit failure, abandonment) leaves the lists; its money stays in the ledger figures.
UNFOLLOWED_DOSSIER_STATUSES = (DossierStatus.REFUSED, DossierStatus.CLOSED)
ESTABLISHMENT_LIMIT = 100


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
    selected_page: Page  # of lists.SelectedDossier
    slipped_prerequisites: list[SlippedDate]
    slipped_prerequisites_count: int
    slipped_targets: list[SlippedDate]
    slipped_targets_count: int

    @property
    def selected_domains(self) -> int:
        return sum(d.selected for d in self.domains)


def followed_dossiers(scope: DashboardScope, programme, prefix: str = "") -> Q:
    """The dossiers the dashboard follows: the programme's, in the scope, neither refused nor closed — a Q on
    Dossier, or through `prefix` (« dossier__ » from DossierDomain: a join, not an IN subquery on the dossiers)."""
    followed = Q(**{f"{prefix}programme": programme}) & ~Q(**{f"{prefix}status__in": UNFOLLOWED_DOSSIER_STATUSES})
    return followed if scope.national else followed & Q(**{f"{prefix}region": scope.region})


def selected_dossiers(scope: DashboardScope, programme, prefix: str = "") -> Q:
    """The followed dossiers with at least one selected domain (annex 4 §3 « dossier retenu »), a Q on Dossier or
    through `prefix` (« dossier__ » from DossierMember)."""
    dossier = OuterRef("dossier_id" if prefix else "pk")
    selected = DossierDomain.objects.filter(dossier_id=dossier, status__in=SELECTED_DOMAIN_STATUSES)
    return followed_dossiers(scope, programme, prefix) & Q(Exists(selected))


def _selected_domains(scope: DashboardScope, programme):
    return DossierDomain.objects.filter(
        followed_dossiers(scope, programme, "dossier__"), status__in=SELECTED_DOMAIN_STATUSES
    )


def catalogue_groups(programme) -> dict | None:
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


def _domain_summaries(selected, group_ids) -> list[DomainSummary]:
    """The selected domains by code, with their targets reached by every candidate (attainment state) — one query."""
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


def _attainment(scope: DashboardScope, programme, group_ids) -> Attainment:
    """Candidate establishments of the selected dossiers and those who met the prerequisites — one query."""
    counts = attainment.candidate_counts(
        selected_dossiers(scope, programme), selected_dossiers(scope, programme, "dossier__"), programme
    )
    if group_ids is None:
        return Attainment(available=False, establishments=counts["establishments"])
    return Attainment(
        available=True, establishments=counts["establishments"], prerequisites_reached=counts["reached"]
    )


def _region_counts(followed: Q) -> dict[int, dict]:
    """{region id: {"dossiers", "establishments", "slipped_prerequisites", "slipped_targets"}}: the selected
    dossiers and their establishments, the dossiers whose prerequisites date slipped and the domains (neither
    pending nor refused) whose target deadline slipped — one query, the followed dossiers joined to their domains
    once (hence the DISTINCT counts of dossiers)."""
    selected = Q(domains__status__in=SELECTED_DOMAIN_STATUSES)
    slipped_target = Q(domains__target_deadline__gt=F("domains__target_deadline_initial")) & ~Q(
        domains__status__in=SLIP_IGNORED_DOMAIN_STATUSES
    )
    rows = (
        Dossier.objects.filter(followed)
        .values("region_id")
        .annotate(
            dossiers=Count("id", distinct=True, filter=selected),
            establishments=Count("establishment_id", distinct=True, filter=selected),
            slipped_prerequisites=Count(
                "id", distinct=True, filter=Q(prerequisites_forecast__gt=F("prerequisites_forecast_initial"))
            ),
            slipped_targets=Count("domains", filter=slipped_target),
        )
        .order_by()
    )
    return {row["region_id"]: row for row in rows}


def dashboard(user, scope: DashboardScope, *, programme, page_number=1) -> Dashboard:
    """Every figure of the dashboard of `scope` (from `dashboard_scope`, which checked the permission policy) on
    `programme`: its envelopes and its dossiers.

    Eleven queries whatever the number of dossiers and entries (twelve for the nation, one more for a catalogue
    without groups).
    """
    if not (scope.national or permissions.can_read_region_money(user, scope.region)):
        raise Http404("Région introuvable.")
    envelopes = Envelope.objects.filter(programme=programme)
    if not scope.national:
        envelopes = envelopes.filter(region=scope.region)
    envelope_regions = dict(envelopes.values_list("pk", "region_id"))
    envelope_ids = list(envelope_regions)
    balances = balances_of(envelope_ids)
    total = balances_total(list(balances.values()))
    sectors, activities, establishments, establishment_count = distribution(envelope_ids, ESTABLISHMENT_LIMIT)

    followed = followed_dossiers(scope, programme)
    group_ids = catalogue_groups(programme)
    domains = _domain_summaries(_selected_domains(scope, programme), group_ids)
    candidates = _attainment(scope, programme, group_ids)
    counts = _region_counts(followed)
    selected_count = sum(row["dossiers"] for row in counts.values())
    page = selected_dossiers_page(
        selected_dossiers(scope, programme), page_number, count=selected_count, national=scope.national,
        programme=programme, group_ids=group_ids,
    )
    followed_domains = followed_dossiers(scope, programme, "dossier__")

    regions = []
    if scope.national:
        by_region = {region_id: balances[pk] for pk, region_id in envelope_regions.items()}
        for region in Region.objects.order_by("name"):
            row = counts.get(region.pk, {})
            regions.append(
                RegionRow(
                    region, by_region.get(region.pk, Balances()),
                    selected_dossiers=row.get("dossiers", 0),
                    selected_establishments=row.get("establishments", 0),
                    slipped_prerequisites=row.get("slipped_prerequisites", 0),
                    slipped_targets=row.get("slipped_targets", 0),
                )
            )
    return Dashboard(
        scope=scope, balances=total, has_envelope=bool(envelope_ids), regions=regions,
        sectors=sectors, activities=activities,
        establishments=establishments, establishment_count=establishment_count,
        selected_dossiers=selected_count,
        selected_establishments=sum(row["establishments"] for row in counts.values()),
        domains=domains, attainment=candidates, selected_page=page,
        slipped_prerequisites=slipped_prerequisites(followed),
        slipped_prerequisites_count=sum(row["slipped_prerequisites"] for row in counts.values()),
        slipped_targets=slipped_targets(followed_domains),
        slipped_targets_count=sum(row["slipped_targets"] for row in counts.values()),
    )

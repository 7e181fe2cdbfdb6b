"""The ARS's and the DGOS's dashboard (annex 4 §3 « Suivre l'avancement des projets »): what the ARS follows and
consolidates throughout the programme, for its region — and the DGOS for any region and for the nation:

- the total of the regional envelope; the amounts committed and consumed (paid), seed and usage apart;
- their distribution by establishment / GHT, by status (public, private, ESPIC) and by activity (MCO, SSR, PSY,
  HAD — an establishment with several activities counts in each);
- the establishments / GHT whose dossier was selected, and the domains selected;
- the attainment of the HOP'EN prerequisites and of the usage targets of the selected domains;
- the establishments whose prerequisites forecast date, or a domain's target deadline, has slipped (recorded at
  the project reviews, `funding.reviews.services`).

Money comes from the append-only ledger only (`envelopes.ledger.balances_of` and sums of `LedgerEntry`), never
from the amounts written on the dossiers. Scope: the permission policy — an ARS officer reads its own region
(another region answers 404), the national roles any region and the nation; the establishments' roles are
refused. A constant number of queries whatever the number of dossiers: every figure is an SQL aggregate, the
lists are limited or paginated (tests/funding/dashboard/test_selectors.py, bench/dashboard.py).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Prefetch, Q, Sum
from django.http import Http404

from envelopes.ledger import balances_of
from envelopes.models import EntryKind, Envelope, LedgerEntry, Sector
from envelopes.rules import Balances
from hopen.sectors import sector_of
from envelopes.selectors import balances_total
from funding.dossiers.models import Dossier, DossierDomain, DossierStatus, DomainStatus
from hopen import permissions
from hopen.exceptions import PermissionRefused
from hopen.models import Activity, Establishment, Region, Role
from indicators.models import CatalogueVersion

ZERO = Decimal("0.00")
DASHBOARD_REFUSED = "Le pilotage des financements est réservé aux ARS et à la DGOS."
# A domain counts as selected from its selection on, whatever happened next (annex 4 §3 « dossier retenu »).
SELECTED_DOMAIN_STATUSES = (
    DomainStatus.SELECTED, DomainStatus.TARGETS_REACHED, DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID,
)
# The selected dossiers and their slipped dates are followed while the dossier is alive: a refused or closed
# dossier (audit failure, abandonment) leaves the lists; its money stays in the ledger figures.
UNFOLLOWED_DOSSIER_STATUSES = (DossierStatus.REFUSED, DossierStatus.CLOSED)
SLIP_IGNORED_DOMAIN_STATUSES = (DomainStatus.PENDING, DomainStatus.REFUSED)
MONEY_KINDS = (
    EntryKind.SEED_COMMITMENT, EntryKind.SEED_PAYMENT, EntryKind.USAGE_COMMITMENT, EntryKind.USAGE_PAYMENT,
    EntryKind.REFUND_CLAIM, EntryKind.REFUND_RECEIVED,
)
ACTIVITY_FLAGS = (
    (Activity.MCO, "has_mco"), (Activity.SSR, "has_ssr"), (Activity.PSY, "has_psy"), (Activity.HAD, "has_had"),
)
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
class MoneyRow:
    """Committed and paid amounts of one group (an establishment, a status, an activity, a region), in euros."""

    key: str
    label: str
    seed_committed: Decimal = ZERO
    seed_paid: Decimal = ZERO
    usage_committed: Decimal = ZERO
    usage_paid: Decimal = ZERO
    refunds_claimed: Decimal = ZERO
    refunds_received: Decimal = ZERO
    establishments: int = 0
    detail: dict = field(default_factory=dict)

    @property
    def committed(self) -> Decimal:
        return self.seed_committed + self.usage_committed

    @property
    def paid(self) -> Decimal:
        return self.seed_paid + self.usage_paid

    def add(self, kind: str, amount: Decimal):
        name = KIND_FIELDS[kind]
        setattr(self, name, getattr(self, name) + amount)


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
    prerequisites: dict = field(default_factory=dict)  # {establishment id: bool}
    targets: dict = field(default_factory=dict)  # {(establishment id, domain code): bool}


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


KIND_FIELDS = {
    EntryKind.SEED_COMMITMENT: "seed_committed", EntryKind.SEED_PAYMENT: "seed_paid",
    EntryKind.USAGE_COMMITMENT: "usage_committed", EntryKind.USAGE_PAYMENT: "usage_paid",
    EntryKind.REFUND_CLAIM: "refunds_claimed", EntryKind.REFUND_RECEIVED: "refunds_received",
}


def _distribution(envelope_ids):
    """Ledger sums by beneficiary, then by status group and by activity (annex 4 §3). Two queries: the sums grouped
    by (establishment, sector, kind), and the beneficiaries' status, activities and names."""
    entries = LedgerEntry.objects.filter(
        envelope_id__in=envelope_ids, kind__in=MONEY_KINDS, establishment__isnull=False
    )
    sums = list(
        entries.values_list("establishment_id", "sector", "kind").annotate(total=Sum("amount")).order_by()
    )
    if not sums:
        return (
            [MoneyRow(key, label) for key, label in Sector.choices],
            [MoneyRow(activity.value, activity.label) for activity, _ in ACTIVITY_FLAGS],
            [],
        )
    beneficiaries = {
        row[0]: row
        for row in Establishment.objects.filter(pk__in=entries.values("establishment_id")).values_list(
            "pk", "name", "finess", "status", "is_espic", "has_mco", "has_ssr", "has_psy", "has_had",
            "region__name", "ght__code",
        )
    }
    establishments: dict[int, MoneyRow] = {}
    sectors = {key: MoneyRow(key, label) for key, label in Sector.choices}
    activities = {activity.value: MoneyRow(activity.value, activity.label) for activity, _ in ACTIVITY_FLAGS}
    sector_members, activity_members = defaultdict(set), defaultdict(set)
    for pk, entry_sector, kind, total in sums:
        _, name, finess, status, is_espic, *flags, region_name, ght_code = beneficiaries[pk]
        # The sector written on the entry at the time of the movement (004 quotas), else the establishment's
        # (`envelopes.rules.sector_of`, the rule the ledger's writers use).
        sector = entry_sector or sector_of(status, is_espic)
        line = establishments.get(pk)
        if line is None:
            line = establishments[pk] = MoneyRow(
                str(pk), name,
                detail={
                    "finess": finess, "region": region_name, "ght": ght_code or "",
                    "sector": sector_of(status, is_espic),
                    "activities": [a.value for (a, _), present in zip(ACTIVITY_FLAGS, flags, strict=True) if present],
                },
            )
        name_of_sum = KIND_FIELDS[kind]
        setattr(line, name_of_sum, getattr(line, name_of_sum) + total)
        group = sectors[sector]
        setattr(group, name_of_sum, getattr(group, name_of_sum) + total)
        sector_members[sector].add(pk)
        for (activity, _), present in zip(ACTIVITY_FLAGS, flags, strict=True):
            if present:
                group = activities[activity.value]
                setattr(group, name_of_sum, getattr(group, name_of_sum) + total)
                activity_members[activity.value].add(pk)
    for key, row in sectors.items():
        row.establishments = len(sector_members[key])
    for key, row in activities.items():
        row.establishments = len(activity_members[key])
    ranked = sorted(establishments.values(), key=lambda r: (-r.committed, -r.paid, r.label))
    return list(sectors.values()), list(activities.values()), ranked


def _followed(dossiers):
    return dossiers.exclude(status__in=UNFOLLOWED_DOSSIER_STATUSES)


def _selected_domains(dossiers):
    return DossierDomain.objects.filter(
        dossier__in=_followed(dossiers).values("pk"), status__in=SELECTED_DOMAIN_STATUSES
    )


def _domain_summaries(dossiers) -> list[DomainSummary]:
    rows = (
        _selected_domains(dossiers)
        .values("domain_code")
        .annotate(
            selected=Count("id"), seed=Sum("seed_amount"), total=Sum("total_amount"),
            recorded=Count("id", filter=~Q(status=DomainStatus.SELECTED)),
        )
        .order_by("domain_code")
    )
    return [
        DomainSummary(row["domain_code"], row["selected"], row["seed"] or ZERO, row["total"] or ZERO, row["recorded"])
        for row in rows
    ]


def _candidates(dossiers) -> dict[tuple[int, str], list[int]]:
    """{(dossier id, domain code): candidate establishment ids} of the selected domains (one query): the dossier's
    members (the GHT members applying, annex 3 §2), or the establishment itself when it lists none."""
    candidates = defaultdict(list)
    for dossier_id, code, establishment_id, member_id in _selected_domains(dossiers).values_list(
        "dossier_id", "domain_code", "dossier__establishment_id", "dossier__members__establishment_id"
    ):
        candidates[(dossier_id, code)].append(member_id or establishment_id)
    return candidates


def _attainment(candidates, domains: list[DomainSummary], programme) -> Attainment:
    """Prerequisites of each candidate establishment; targets of each selected domain, reached when every candidate
    of the dossier reached them (funding.eligibility.progress: a constant number of queries)."""
    from funding.eligibility.progress import domain_targets_reached, prerequisites_reached

    establishment_ids = sorted({pk for ids in candidates.values() for pk in ids})
    try:
        from indicators.selectors import current_catalogue

        catalogue = current_catalogue(programme)
    except CatalogueVersion.DoesNotExist:
        return Attainment(available=False, establishments=len(establishment_ids))
    codes = sorted({code for _, code in candidates})
    prerequisites = prerequisites_reached(establishment_ids, catalogue=catalogue)
    targets = domain_targets_reached(establishment_ids, codes, catalogue=catalogue)
    reached_per_code = defaultdict(int)
    for (_, code), ids in candidates.items():
        if all(targets.get((pk, code), False) for pk in ids):
            reached_per_code[code] += 1
    for summary in domains:
        summary.targets_reached = reached_per_code[summary.code]
    return Attainment(
        available=True, establishments=len(establishment_ids),
        prerequisites_reached=sum(1 for reached in prerequisites.values() if reached),
        prerequisites=prerequisites, targets=targets,
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


def selected_dossiers_page(dossiers, page_number, attainment: Attainment) -> Page:
    """One page of the dossiers with a selected domain, by establishment name: each dossier carries
    `selected_list` (its selected domains, each with `money` from the ledger and `targets_reached`) and
    `prerequisites_reached` (None when unknown). Five queries whatever the page."""
    selected = DossierDomain.objects.filter(dossier=OuterRef("pk"), status__in=SELECTED_DOMAIN_STATUSES)
    queryset = (
        _followed(dossiers).filter(Exists(selected))
        .select_related("establishment", "ght", "region")
        .prefetch_related(
            Prefetch(
                "domains",
                queryset=DossierDomain.objects.filter(status__in=SELECTED_DOMAIN_STATUSES).order_by("domain_code"),
                to_attr="selected_list",
            ),
            Prefetch("members", to_attr="member_list"),
        )
        .order_by("establishment__name", "reference")
    )
    page = Paginator(queryset, SELECTED_PAGE_SIZE).get_page(page_number)
    dossiers_on_page = list(page.object_list)
    money = _domain_money([d.pk for dossier in dossiers_on_page for d in dossier.selected_list])
    for dossier in dossiers_on_page:
        candidates = [m.establishment_id for m in dossier.member_list] or [dossier.establishment_id]
        if attainment.available:
            dossier.prerequisites_reached = all(attainment.prerequisites.get(pk, False) for pk in candidates)
        else:
            dossier.prerequisites_reached = None
        dossier.candidate_count = len(candidates)
        for domain in dossier.selected_list:
            domain.money = money[domain.pk]
            domain.targets_reached = (
                all(attainment.targets.get((pk, domain.domain_code), False) for pk in candidates)
                if attainment.available else None
            )
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
    sectors, activities, establishments = _distribution(envelope_ids)

    dossiers = _dossiers(scope, programme)
    domains = _domain_summaries(dossiers)
    attainment = _attainment(_candidates(dossiers), domains, programme)
    selected = _selected_counts(dossiers)
    prerequisites_list, prerequisites_by_region, targets_list, targets_by_region = _slipped_lists(dossiers)
    page = selected_dossiers_page(dossiers, page_number, attainment)

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
        establishments=establishments[:ESTABLISHMENT_LIMIT], establishment_count=len(establishments),
        selected_dossiers=sum(row["dossiers"] for row in selected.values()),
        selected_establishments=sum(row["establishments"] for row in selected.values()),
        domains=domains, attainment=attainment, selected_page=page,
        slipped_prerequisites=prerequisites_list,
        slipped_prerequisites_count=sum(prerequisites_by_region.values()),
        slipped_targets=targets_list, slipped_targets_count=sum(targets_by_region.values()),
    )

"""Reads on the tenancy core, always scoped to the user by the permission policy."""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from .models import Establishment, EstablishmentStatus, Ght, Region
from .permissions import can_manage_referential, establishment_read_filter, scope_of
from .sectors import SECTORS, sector_q

ESPIC_STATUS_FILTER = "espic"
STATUS_FILTER_CHOICES = [*EstablishmentStatus.choices, (ESPIC_STATUS_FILTER, "ESPIC")]


def establishments_visible_to(user, *, search="", region=None, status=None, sector=None, category=None, ght=None):
    """The establishments the user may read, filtered; one SQL query whatever the number of rows."""
    queryset = Establishment.objects.filter(establishment_read_filter(user)).select_related(
        "region", "legal_entity", "ght"
    )
    if search:
        queryset = search_establishments(queryset, search)
    if region:
        queryset = queryset.filter(region__code=region)
    if status:
        queryset = filter_by_status(queryset, status)
    if sector:
        queryset = filter_by_sector(queryset, sector)
    if category:
        queryset = queryset.filter(category_code=category)
    if ght:
        queryset = queryset.filter(ght__code=ght)
    return queryset.order_by("name", "finess")


def establishments_held_by(user):
    """The establishments where the user holds an establishment role (editor, director)."""
    return establishments_visible_to(user).filter(pk__in=scope_of(user).establishment_ids)


def ghts_supported_by(user):
    """The GHTs whose support establishment the user directs, with their members."""
    return (
        Ght.objects.filter(pk__in=scope_of(user).ght_ids)
        .select_related("support")
        .prefetch_related(Prefetch("members", queryset=Establishment.objects.order_by("name")))
        .order_by("code")
    )


def filter_by_sector(queryset, sector: str):
    """One sector of `hopen.sectors` (public, privé, ESPIC): the breakdown of the ledger and the dashboards."""
    return queryset.filter(sector_q(sector))


def filter_by_status(queryset, status: str):
    """A legal status, or "espic": the non-profit establishments recognised as ESPIC."""
    if status == ESPIC_STATUS_FILTER:
        return queryset.filter(is_espic=True)
    return queryset.filter(status=status)


def search_establishments(queryset, term: str):
    """Match a name or city fragment, or an exact FINESS (establishment or legal entity)."""
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(
        Q(name__icontains=term)
        | Q(city__icontains=term)
        | Q(finess__iexact=term)
        | Q(legal_entity__finess__iexact=term)
    )


def regions_visible_to(user):
    scope = scope_of(user)
    regions = Region.objects.all()
    if not scope.national:
        # EXISTS, not a join to the establishments made DISTINCT: one probe of the region's index per region.
        visible_here = Establishment.objects.filter(establishment_read_filter(user), region=OuterRef("pk"))
        regions = regions.filter(Q(pk__in=scope.region_ids) | Exists(visible_here))
    return regions.order_by("name")


def establishment_counts_by_region(user):
    """Per visible region: establishments in scope, split by sector (`hopen.sectors`, the ledger's breakdown: public,
    privé, ESPIC) — the home pages of ARS and DGOS. One query."""
    visible = establishment_read_filter(user)
    return (
        Region.objects.annotate(
            total=Count("establishments", filter=_prefixed(visible)),
            **{
                sector: Count("establishments", filter=_prefixed(visible & sector_q(sector)))
                for sector in SECTORS
            },
        )
        .filter(total__gt=0)
        .order_by("name")
    )


def _prefixed(condition: Q) -> Q:
    """The same filter, seen from Region through the `establishments` relation."""
    return Q(establishments__in=Establishment.objects.filter(condition))


def regions_without_ars_address(user):
    """A task on the platform administrator's home (issue 16): the regions whose ARS has no postal address — its
    letters print none until it is entered in the administration. Empty for everyone else."""
    if not can_manage_referential(user):
        return Region.objects.none()
    return Region.objects.filter(ars_address="").only("pk", "code", "name", "ars_name").order_by("name")

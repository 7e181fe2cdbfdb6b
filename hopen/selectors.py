"""Reads on the tenancy core, always scoped to the user by the permission policy."""

from django.db.models import Count, Q

from .models import Establishment, Region
from .permissions import establishment_read_filter, scope_of


def establishments_visible_to(user, *, search="", region=None, status=None, category=None, ght=None):
    """The establishments the user may read, filtered; one SQL query whatever the number of rows."""
    queryset = Establishment.objects.filter(establishment_read_filter(user)).select_related(
        "region", "legal_entity", "ght"
    )
    if search:
        queryset = search_establishments(queryset, search)
    if region:
        queryset = queryset.filter(region__code=region)
    if status:
        if status == "espic":
            queryset = queryset.filter(is_espic=True)
        else:
            queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category_code=category)
    if ght:
        queryset = queryset.filter(ght__code=ght)
    return queryset.order_by("name", "finess")


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
        regions = regions.filter(
            Q(pk__in=scope.region_ids)
            | Q(establishments__in=Establishment.objects.filter(establishment_read_filter(user)))
        ).distinct()
    return regions.order_by("name")


def establishment_counts_by_region(user):
    """Per visible region: establishments in scope, split by status (home pages of ARS and DGOS)."""
    visible = establishment_read_filter(user)
    return (
        Region.objects.annotate(
            total=Count("establishments", filter=_prefixed(visible)),
            public=Count("establishments", filter=_prefixed(visible) & Q(establishments__status="public")),
            private_for_profit=Count(
                "establishments", filter=_prefixed(visible) & Q(establishments__status="private_for_profit")
            ),
            private_non_profit=Count(
                "establishments", filter=_prefixed(visible) & Q(establishments__status="private_non_profit")
            ),
            clcc=Count("establishments", filter=_prefixed(visible) & Q(establishments__status="clcc")),
        )
        .filter(total__gt=0)
        .order_by("name")
    )


def _prefixed(condition: Q) -> Q:
    """The same filter, seen from Region through the `establishments` relation."""
    return Q(establishments__in=Establishment.objects.filter(condition))

"""The establishment filter form of every list page (establishments, attainment table, completeness)."""

from . import selectors
from .forms import EstablishmentFilterForm


def filtered_establishments(request, form_class=EstablishmentFilterForm):
    """(form, cleaned filters, establishments the user may read matching them).

    A value outside the offered choices (say a foreign region) drops that filter only; the valid ones still apply.
    """
    form = form_class(
        request.GET or None,
        regions=selectors.regions_visible_to(request.user),
        visible_establishments=selectors.establishments_visible_to(request.user),
    )
    form.is_valid()
    filters = getattr(form, "cleaned_data", {})
    establishments = selectors.establishments_visible_to(
        request.user,
        search=filters.get("q", ""),
        region=filters.get("region") or None,
        sector=filters.get("sector") or None,
        category=filters.get("category") or None,
        ght=filters.get("ght") or None,
    )
    return form, filters, establishments

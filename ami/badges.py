"""The badge of an ARS decision on a pre-candidature domain (§5.3.2 « Etape 1 »): one mapping for the list, where
the view builds the domain lines in Python (ami/views_ars.py), and the detail page (`{{ decision|decision_badge }}`)."""

from django.utils.html import format_html

from .models import Decision

_BADGES = {
    Decision.PRESELECTED: ("success", "Présélectionné"),
    Decision.REJECTED: ("error", "Non retenu"),
}
_PENDING = ("info", "En attente")


def decision_badge(decision) -> tuple[str, str]:
    """(DSFR badge variant, label) of a decision; a domain not decided yet is « En attente »."""
    return _BADGES.get(decision, _PENDING)


def decision_badge_html(decision) -> str:
    return format_html('<span class="fr-badge fr-badge--sm fr-badge--{}">{}</span>', *decision_badge(decision))

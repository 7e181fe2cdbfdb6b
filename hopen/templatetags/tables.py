"""Scrollable tables reachable by keyboard (RGAA 4.1 criterion 12.13 / WCAG 2.1.1, axe `scrollable-region-focusable`).

A DSFR table scrolls inside its `.fr-table__container` when it is wider than the screen (a ledger at 1 280 px, any
table on a phone). A keyboard user can scroll it only if the container takes the focus, and a screen reader user must
hear what it is: the container is a focusable, labelled region. One tag writes the three attributes so that every
table says it the same way:

    <div class="fr-table__container" {% table_region "Écritures du grand livre" %}>
    <div class="fr-table__container" {% table_region "Indicateurs du groupe" group.code %}>  (parts joined by a space)
"""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def table_region(*parts) -> str:
    label = " ".join(str(part) for part in parts if part not in (None, ""))
    return format_html('tabindex="0" role="region" aria-label="{}"', label)

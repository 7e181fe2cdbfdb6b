"""`{% load dashboard_rows %}`: the rows of the funding dashboard's long lists (annex 4 §3), written here as HTML.

Why not the template: the national page prints the 100 largest beneficiaries, 50 selected dossiers with their domains
and 100 slipped dates of each kind — several thousand cells, each a template lookup, a filter and an escape. One f-string
per row writes the same markup (every value escaped) in a fraction of the time (issue 17: the ARS
dashboard spent a third of its time in these loops). The records come from `funding.dashboard.lists` and
`.money`, their dates and counts already written in French; amounts are formatted here as the `euros` filter does.
"""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from hopen.formatting import french_euros

register = template.Library()

# Every value goes through `escape` (the standard library's, which Django's `escape` wraps: the same text, without the
# lazy-string and SafeString checks that cost more than the escaping itself on several thousand values). The rows
# are then marked safe once.
_TARGETS_BADGE = ' — <span class="fr-badge fr-badge--sm fr-badge--success fr-badge--no-icon">cibles atteintes</span>'
_PREREQUISITES_BADGES = {
    None: "—",
    True: '<p class="fr-badge fr-badge--sm fr-badge--success">Atteints</p>',
    False: '<p class="fr-badge fr-badge--sm fr-badge--warning">Non atteints</p>',
}


def _safe(rows) -> SafeString:
    return mark_safe("".join(rows))  # noqa: S308 — every value of the rows was escaped


def _region(region: str, national: bool) -> str:
    """The region under the establishment, on the national page only."""
    return f'<br><span class="fr-text--xs">{escape(region)}</span>' if national else ""


@register.filter
def beneficiary_rows(rows, national) -> SafeString:
    """The largest beneficiaries (`money.MoneyRow` with their `detail`): name, FINESS, GHT (and region on the national
    page), status and activities, then seed and usage committed and paid, and the refunds received."""
    def row_html(row):
        detail = row.detail
        place = detail["finess"] + (f" — GHT {detail['ght']}" if detail["ght"] else "")
        if national:
            place = f"{place} — {detail['region']}"
        amounts = "".join(
            f'<td class="hopen-number">{escape(french_euros(amount))}</td>'
            for amount in (row.seed_committed, row.seed_paid, row.usage_committed, row.usage_paid,
                           row.refunds_received)
        )
        return (
            f'<tr data-finess="{escape(detail["finess"])}"><th scope="row" class="fr-cell--multiline">'
            f'{escape(row.label)}<br><span class="fr-text--xs">{escape(place)}</span></th>'
            f'<td>{escape(detail["sector_label"])}<br><span class="fr-text--xs">{escape(detail["activities_text"])}'
            f"</span></td>{amounts}</tr>\n"
        )

    return _safe(row_html(row) for row in rows)


def _slipped_row(row, national: bool, domain: bool) -> str:
    """One slipped date: establishment (its region on the national page), dossier, the domain and its status for a
    target deadline (`domain`), the initial and current dates, the slip."""
    reference = escape(row.reference)
    code = escape(row.domain_code)
    return (
        f'<tr data-reference="{reference}"' + (f' data-domain="{code}">' if domain else ">")
        + f'<th scope="row" class="fr-cell--multiline">{escape(row.label)}{_region(row.region, national)}</th>'
        f'<td><a href="{escape(row.reviews_url)}">{reference}</a></td>'
        + (f'<td>{code} <span class="fr-text--xs">({escape(row.domain_status)})</span></td>' if domain else "")
        + f'<td>{escape(row.initial)}</td><td>{escape(row.current)}</td>'
        f'<td class="hopen-number">{escape(row.slip_text)}</td></tr>\n'
    )


@register.filter
def slipped_prerequisite_rows(rows, national) -> SafeString:
    """`lists.SlippedDate` of the prerequisites forecasts."""
    return _safe(_slipped_row(row, national, False) for row in rows)


@register.filter
def slipped_target_rows(rows, national) -> SafeString:
    """`lists.SlippedDate` of the domains' target deadlines."""
    return _safe(_slipped_row(row, national, True) for row in rows)


def _domain_line(domain) -> str:
    code = escape(domain.domain_code)
    return (
        f'<li data-domain="{code}"><strong>{code}</strong> {escape(domain.status)}'
        f'{_TARGETS_BADGE if domain.targets_reached else ""}, {escape(domain.deadline_text)}'
        f'<br><span class="fr-text--xs">{escape(domain.money_text)}</span></li>'
    )


@register.filter
def selected_dossier_rows(rows) -> SafeString:
    """`lists.SelectedDossier`: establishment, dossier and status, prerequisites (badge and forecast), and each
    selected domain with its status, targets, deadline and money."""
    def row_html(dossier):
        reference = escape(dossier.reference)
        forecast = dossier.prerequisites_forecast
        forecast = f'<br><span class="fr-text--xs">prévus le {escape(forecast)}</span>' if forecast else ""
        domains = "".join(_domain_line(domain) for domain in dossier.selected_list)
        return (
            f'<tr data-reference="{reference}"><th scope="row" class="fr-cell--multiline">'
            f'{escape(dossier.establishment)}<br><span class="fr-text--xs">{escape(dossier.detail)}</span></th>'
            f'<td class="fr-cell--multiline"><a href="{escape(dossier.reviews_url)}" '
            f'title="Revues de projet du dossier {reference}">{reference}</a><br>'
            f'<span class="fr-text--xs">{escape(dossier.status)}</span></td>'
            f"<td>{_PREREQUISITES_BADGES[dossier.prerequisites_reached]}{forecast}</td>"
            f'<td><ul class="hopen-domain-list">{domains}</ul></td></tr>\n'
        )

    return _safe(row_html(dossier) for dossier in rows)

"""The dashboard's long lists written as HTML rows (funding/templatetags/dashboard_rows.py, annex 4 §3): every value
escaped, the region only on the national page, the badges and the French amounts of the template they replace."""

import datetime
from decimal import Decimal

from django.template import Context, Template

from funding.dashboard.lists import DomainMoney, SelectedDomain, SelectedDossier, SlippedDate
from funding.dashboard.money import MoneyRow
from funding.templatetags import dashboard_rows

HOSTILE = '<script>alert("x")</script> & l\'hôpital'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; l&#x27;hôpital"


def _slipped(**extra):
    url = lambda reference: f"/revues/{reference}/"  # noqa: E731
    return SlippedDate.of(
        url, "HOP-2020-0001", HOSTILE, "G01", "Bretagne", datetime.date(2020, 6, 30), datetime.date(2021, 1, 1),
        **extra,
    )


def test_slipped_prerequisites_escape_every_value_and_show_the_region_on_the_national_page_only():
    national = dashboard_rows.slipped_prerequisite_rows([_slipped()], True)
    regional = dashboard_rows.slipped_prerequisite_rows([_slipped()], False)
    assert ESCAPED in national and "<script>" not in national
    assert "Bretagne" in national and "Bretagne" not in regional
    assert '<a href="/revues/HOP-2020-0001/">HOP-2020-0001</a>' in regional
    assert "<td>30/06/2020</td><td>01/01/2021</td>" in regional
    assert '<td class="hopen-number">185\u00a0jours</td>' in regional


def test_slipped_targets_carry_the_domain_and_its_status():
    row = dashboard_rows.slipped_target_rows([_slipped(code="D2", status="targets_reached")], False)
    assert 'data-domain="D2"' in row
    assert '<td>D2 <span class="fr-text--xs">(cibles atteintes)</span></td>' in row
    assert ESCAPED in row


def test_beneficiaries_print_french_amounts_and_the_ght():
    row = MoneyRow(
        "7", HOSTILE, seed_committed=Decimal("1234567.8"), usage_paid=Decimal("-0.001"),
        detail={
            "finess": "350000000", "region": "Bretagne", "ght": "G01", "sector": "public", "sector_label": "Public",
            "activities": ["MCO"], "activities_text": "MCO, SSR",
        },
    )
    html = dashboard_rows.beneficiary_rows([row], True)
    assert ESCAPED in html
    assert "350000000 — GHT G01 — Bretagne" in html
    assert '<td class="hopen-number">1\u00a0234\u00a0567,80\u00a0€</td>' in html
    assert html.count('<td class="hopen-number">0,00\u00a0€</td>') == 4  # « −0,00 » reads as zero
    assert "Bretagne" not in dashboard_rows.beneficiary_rows([row], False)


def _dossier(reached, *, forecast="30/06/2020", targets=True):
    domain = SelectedDomain(
        "D1", "sélectionné", targets, "échéance 31/12/2023", DomainMoney(), f"engagé {HOSTILE}",
    )
    return SelectedDossier(
        "HOP-2020-0002", "/revues/HOP-2020-0002/", "Sélectionné", HOSTILE, "350000000", reached, forecast, [domain],
    )


def test_selected_dossiers_badges_and_domains():
    reached = dashboard_rows.selected_dossier_rows([_dossier(True)])
    missed = dashboard_rows.selected_dossier_rows([_dossier(False, forecast="", targets=False)])
    unknown = dashboard_rows.selected_dossier_rows([_dossier(None)])
    assert "fr-badge--success\">Atteints</p><br><span class=\"fr-text--xs\">prévus le 30/06/2020</span>" in reached
    assert "cibles atteintes" in reached and "cibles atteintes" not in missed
    assert 'fr-badge--warning">Non atteints</p></td>' in missed
    assert "<td>—<br>" in unknown
    assert reached.count(ESCAPED) == 2 and "<script>" not in reached
    assert '<li data-domain="D1"><strong>D1</strong> sélectionné' in missed


def test_the_dashboard_template_prints_the_empty_rows_when_a_list_is_empty():
    template = Template(
        "{% load dashboard_rows %}{% if rows %}{{ rows|slipped_prerequisite_rows:True }}{% else %}vide{% endif %}"
    )
    assert template.render(Context({"rows": []})) == "vide"
    assert "HOP-2020-0001" in template.render(Context({"rows": [_slipped()]}))

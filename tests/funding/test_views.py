"""Funding pages: the establishment's « Estimation du soutien financier », the calculator, the DGOS regional shares,
and the Django admin of the funding data.

Sources (../shared/reference/000_eb8a7a77b11ba617.txt): annex 5, first section « Estimation du soutien
financier » (« l'activité combinée […] de l'établissement identifié, la catégorie de l'établissement et une
estimation par domaine du montant du soutien financier »); annex 3 §1 (combined activity), §3 (categories,
min–max per domain, advanced rate +20 % for D1 and D6, cap beyond 1 000 000); annex 2 §1 (regional shares).

The `tenants` fixture (tests/conftest.py): region A (32) with a GHT (support + member) and a clinic, region B (53)
with one hospital; one user per role.
"""

import html
import re
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from funding.models import AmountBand, CombinedActivity, GhtItGovernance, SoftwareVendor
from funding.services import combined_activity_override, combined_activity_refresh
from hopen.models import AuditRecord
from tests.factories import ActivityFiguresFactory, UserFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
ALL = {"support", "member", "clinic", "foreign"}
VISIBLE = {
    "editor": {"member"},
    "director": {"member"},
    "ght_director": {"support", "member"},
    "ars_a": {"support", "member", "clinic"},
    "ars_b": {"foreign"},
    "dgos": ALL,
    "auditor": ALL,
    "admin": ALL,
}
ROLES = list(VISIBLE)
CALCULATOR = "/financement/calculateur/"
REGIONAL = "/financement/repartition-regionale/"


def euros(text):
    """« 500 000,00 € » as the pages write it (no-break spaces)."""
    return text.replace(" ", NBSP)


def estimate_url(establishment):
    return f"/etablissements/{establishment.finess}/financement/"


def text_of(response):
    return html.unescape(response.content.decode())


def cell(response, domain, rate):
    """The amount shown for a domain and rate in the estimate table."""
    page = text_of(response)
    row = page.split(f'<tr data-domain="{domain}">', 1)[1].split("</tr>", 1)[0]
    return re.search(rf'data-rate="{rate}">(.*?)</td>', row, re.S).group(1).strip()


def input_value(response, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


@pytest.fixture
def activity(tenants, grid, hopen_envelope_table):
    """Combined activities computed by the service from SAE-like figures (annex 3 §1: 1 MCO day = 1)."""
    ActivityFiguresFactory(establishment=tenants.member, mco_full_days=600_000, mco_sessions=30_000)  # 615 000
    ActivityFiguresFactory(establishment=tenants.support, mco_full_days=200_000)
    ActivityFiguresFactory(establishment=tenants.clinic, mco_full_days=5_000)
    ActivityFiguresFactory(establishment=tenants.foreign, mco_full_days=180_000)
    combined_activity_refresh()
    return tenants


# --- Establishment page: scope ---------------------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_login(client, activity):
    for path in (estimate_url(activity.member), CALCULATOR, REGIONAL):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/compte/connexion/?next={quote(path)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALL))
def test_estimate_page_follows_the_reading_scope(client, activity, role, key):
    """Anyone who may read the establishment sees its estimate; outside the scope, 404 (existence not revealed)."""
    client.force_login(getattr(activity, role))
    response = client.get(estimate_url(getattr(activity, key)))
    assert response.status_code == (200 if key in VISIBLE[role] else 404)


def test_unknown_finess_answers_404(client, activity):
    client.force_login(activity.dgos)
    assert client.get("/etablissements/999999999/financement/").status_code == 404


# --- Establishment page: content -------------------------------------------------------------------------------------


def test_estimate_page_shows_combined_activity_source_category_and_amounts(client, activity):
    """615 000 is category D (230 000 and more); D1 standard = 425 000 + 150 000 × 385 000 / 770 000."""
    client.force_login(activity.director)
    response = client.get(estimate_url(activity.member))
    page = text_of(response)
    assert "<h1>Estimation du soutien financier</h1>" in page
    assert re.search(r'id="activite-combinee">615\xa0000<', page)
    assert "Calculée sur les données SAE 2023" in page
    assert re.search(r'id="categorie">D<', page)
    expected = {
        ("D1", "standard"): "500 000,00 €", ("D1", "advanced"): "600 000,00 €",
        ("D2", "standard"): "600 000,00 €", ("D3", "standard"): "525 000,00 €",
        ("D4", "standard"): "475 000,00 €", ("D5", "standard"): "325 000,00 €",
        ("D6", "standard"): "325 000,00 €", ("D6", "advanced"): "390 000,00 €",
        ("D7", "standard"): "287 500,00 €",
    }
    for (domain, rate), amount in expected.items():
        assert cell(response, domain, rate) == euros(amount), (domain, rate)
    for domain in ("D2", "D3", "D4", "D5", "D7"):
        assert "sans objet" in cell(response, domain, "advanced")
    assert "<strong>D1</strong> — Partager les résultats" in page  # domain labels of the annex-1 catalogue


def test_estimate_page_explains_the_rule_and_says_it_is_our_reading(client, activity):
    client.force_login(activity.editor)
    page = text_of(client.get(estimate_url(activity.member)))
    explanation = page.split('id="explication-montants"', 1)[1].split("</div>\n</div>", 1)[0]
    assert "annexe 3 §3" in explanation
    assert "+20" in explanation
    assert "notre lecture" in explanation
    assert "1 000 000".replace(" ", NBSP) in explanation


def test_estimate_page_details_the_combined_activity_terms(client, activity):
    """Annex 3 §1: « 1 séance MCO équivaut à 0,5 journée MCO »."""
    client.force_login(activity.editor)
    page = text_of(client.get(estimate_url(activity.member)))
    detail = page.split('id="detail-activite-combinee"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"MCO — séances</th><td[^>]*>30\xa0000</td><td[^>]*>×\xa00,5</td><td[^>]*>15\xa0000<", detail)
    assert re.search(r"Total</th><td[^>]*><strong>615\xa0000</strong>", detail)


def test_estimate_page_includes_the_eligibility_per_domain(client, activity):
    client.force_login(activity.ars_a)
    page = text_of(client.get(estimate_url(activity.member)))
    assert "Éligibilité par domaine" in page
    for domain in ("D1", "D7"):
        assert f'id="eligibilite-{domain}"' in page


def test_an_administrator_override_wins_and_is_labelled(client, activity):
    combined_activity_override(
        establishment=activity.clinic, value=Decimal("22500"), reason="Activité 2017 de l'ATIH", by=activity.admin
    )
    client.force_login(activity.ars_a)
    response = client.get(estimate_url(activity.clinic))
    page = text_of(response)
    assert re.search(r'id="activite-combinee">22\xa0500<', page)
    assert "Saisie par un administrateur (Activité 2017 de l'ATIH)" in page
    assert "La valeur calculée sur les données SAE 2023 (5\xa0000) est remplacée" in page
    assert re.search(r'id="categorie">C<', page)  # a boundary value belongs to the upper category
    assert cell(response, "D1", "standard") == euros("275 000,00 €")


def test_establishment_without_combined_activity_gets_a_clear_message(client, tenants, grid):
    client.force_login(tenants.dgos)
    response = client.get(estimate_url(tenants.foreign))
    assert response.status_code == 200
    assert "Activité combinée non calculée" in text_of(response)
    assert 'id="montants-estimes"' not in text_of(response)


def test_establishment_page_links_to_the_estimate(client, activity):
    client.force_login(activity.editor)
    page = text_of(client.get(f"/etablissements/{activity.member.finess}/"))
    assert f'href="{estimate_url(activity.member)}">Estimation du soutien financier</a>' in page


# --- Calculator ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_calculator_is_open_to_every_logged_in_user(client, tenants, grid, role):
    client.force_login(getattr(tenants, role))
    response = client.get(CALCULATOR, {"combined_activity": "615000"})
    assert response.status_code == 200
    assert cell(response, "D1", "standard") == euros("500 000,00 €")
    assert cell(response, "D1", "advanced") == euros("600 000,00 €")


def test_calculator_first_display_has_no_error_and_no_result(client, tenants, grid):
    client.force_login(tenants.editor)
    page = text_of(client.get(CALCULATOR))
    assert "fr-error-text" not in page and 'role="alert"' not in page
    assert 'id="resultat"' not in page


@pytest.mark.parametrize(
    "typed, combined, category, d1_standard",
    [
        ("0", "0", "A", "50 000,00 €"),
        ("6999,99", "6 999,99", "A", "169 999,83 €"),
        ("7000", "7 000", "B", "170 000,00 €"),  # boundary: upper category, same amount
        ("22 500", "22 500", "C", "275 000,00 €"),
        ("230000.00", "230 000", "D", "425 000,00 €"),
        ("615 000,00", "615 000", "D", "500 000,00 €"),
        ("1000000", "1 000 000", "D", "575 000,00 €"),
        ("1 500 000", "1 500 000", "D", "575 000,00 €"),  # cap beyond 1 000 000 (annex 3 §3)
    ],
)
def test_calculator_categories_and_amounts(client, tenants, grid, typed, combined, category, d1_standard):
    client.force_login(tenants.editor)
    response = client.get(CALCULATOR, {"combined_activity": typed})
    page = text_of(response)
    assert f'id="activite-combinee">{euros(combined)}<' in page
    assert f'id="categorie">{category}<' in page
    assert cell(response, "D1", "standard") == euros(d1_standard)


def test_calculator_from_activity_figures_applies_annex_3_section_1(client, tenants, grid):
    """Annex 3 §1: 1 000 days + 100 sessions × 0,5 + 10 ambulatory stays × 1,5 + 20 day stays
    + (40 SSR + 60 PSY + 80 HAD days) × 0,5 = 1 175."""
    client.force_login(tenants.editor)
    figures = {
        "mco_days": "1000", "mco_sessions": "100", "ambulatory_surgery_stays": "10", "other_day_stays": "20",
        "ssr_days": "40", "psy_days": "60", "had_days": "80",
    }
    response = client.get(CALCULATOR, figures)
    page = text_of(response)
    assert f'id="activite-combinee">{euros("1 175")}<' in page
    assert 'id="categorie">A<' in page
    # 50 000 + (170 000 − 50 000) × 1 175 / 7 000, rounded half-up to the cent
    assert cell(response, "D1", "standard") == euros("70 142,86 €")
    ambulatory = r"MCO — hospitalisations de jour de chirurgie ambulatoire</th><td[^>]*>10</td><td[^>]*>×\xa01,5<"
    assert re.search(ambulatory, page)
    for name, value in figures.items():
        assert input_value(response, name) == value  # the figures stay in the form


def test_calculator_accepts_a_single_figure_the_others_counting_as_zero(client, tenants, grid):
    client.force_login(tenants.editor)
    page = text_of(client.get(CALCULATOR, {"combined_activity": "", "ssr_days": "46 000"}))
    assert f'id="activite-combinee">{euros("23 000")}<' in page
    assert 'id="categorie">C<' in page


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"combined_activity": "-5"}, "combined_activity", "L'activité combinée ne peut pas être négative."),
        ({"combined_activity": "beaucoup"}, "combined_activity", "« beaucoup » n'est pas un nombre"),
        ({"combined_activity": "12,3,4"}, "combined_activity", "« 12,3,4 » n'est pas un nombre"),
        ({"combined_activity": "1e6"}, "combined_activity", "« 1e6 » n'est pas un nombre"),
        ({"combined_activity": "NaN"}, "combined_activity", "« NaN » n'est pas un nombre"),
        ({"combined_activity": "9" * 20}, "combined_activity", "Ce nombre est trop grand."),
        ({"mco_days": "-1", "ssr_days": "400"}, "mco_days", "ne peut pas être négatif"),
        ({"mco_days": "1000", "ssr_days": "douze"}, "ssr_days", "« douze » n'est pas un nombre"),
        ({"mco_days": "1000", "psy_days": "12,5"}, "psy_days", "« 12,5 » n'est pas un nombre entier"),
    ],
)
def test_calculator_errors_are_french_and_nothing_is_lost(client, tenants, grid, data, field, message):
    client.force_login(tenants.editor)
    response = client.get(CALCULATOR, data)
    assert response.status_code == 200
    page = text_of(response)
    error = page.split(f'id="id_{field}-erreur"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'aria-describedby="id_{field}-erreur"' in page
    assert 'id="resultat"' not in page
    for name, value in data.items():
        assert input_value(response, name) == value  # what was typed is shown back, wrong or not


def test_calculator_refuses_both_parts_at_once(client, tenants, grid):
    client.force_login(tenants.editor)
    response = client.get(CALCULATOR, {"combined_activity": "615000", "mco_days": "1000"})
    page = text_of(response)
    assert "Saisissez soit l'activité combinée, soit les données d'activité, pas les deux" in page
    assert 'id="resultat"' not in page
    assert input_value(response, "combined_activity") == "615000"
    assert input_value(response, "mco_days") == "1000"


def test_calculator_refuses_an_empty_submission(client, tenants, grid):
    client.force_login(tenants.editor)
    page = text_of(client.get(CALCULATOR, {"combined_activity": "", "mco_days": ""}))
    assert "Saisissez l'activité combinée, ou au moins une donnée d'activité." in page


def test_navigation_links_to_the_calculator(client, tenants, grid):
    client.force_login(tenants.editor)
    page = text_of(client.get(CALCULATOR))
    assert f'<a class="fr-nav__link" href="{CALCULATOR}" aria-current="page">Financement</a>' in page


# --- Regional shares (DGOS) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [("dgos", 200), ("auditor", 200), ("admin", 200), ("ars_a", 403), ("ars_b", 403), ("editor", 403),
     ("director", 403), ("ght_director", 403)],
)
def test_regional_shares_are_national(client, activity, role, status):
    client.force_login(getattr(activity, role))
    assert client.get(REGIONAL).status_code == status


def test_regional_shares_put_our_share_next_to_annex_2(client, activity):
    """Region 32: 615 000 + 200 000 + 5 000 = 820 000; region 53: 180 000; national 1 000 000 → 82 % / 18 %."""
    client.force_login(activity.dgos)
    page = text_of(client.get(REGIONAL))
    rows = page.split('id="parts-regionales"', 1)[1]
    assert rows.count("<tr data-region=") == 18
    hauts = rows.split('<tr data-region="32">', 1)[1].split("</tr>", 1)[0]
    assert "Hauts-de-France" in hauts
    assert '<td class="hopen-number">3</td>' in hauts
    assert '<td class="hopen-number" data-share="ours">82,00</td>' in hauts
    assert '<td class="hopen-number" data-share="annex">8,81</td>' in hauts
    assert "+73,19" in hauts and "écart" in hauts
    assert f"37{NBSP}018" in hauts  # annex 2 envelope, k€
    bretagne = rows.split('<tr data-region="53">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="hopen-number" data-share="ours">18,00</td>' in bretagne
    corse = rows.split('<tr data-region="94">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="hopen-number" data-share="ours">0,00</td>' in corse
    assert '<td class="hopen-number" data-share="annex">0,48</td>' in corse


def test_regional_shares_without_any_combined_activity(client, tenants, hopen_envelope_table):
    client.force_login(tenants.dgos)
    page = text_of(client.get(REGIONAL))
    assert "Aucune activité combinée n'est encore calculée" in page


def test_calculator_links_to_regional_shares_only_for_national_users(client, tenants, grid):
    client.force_login(tenants.dgos)
    assert f'href="{REGIONAL}"' in text_of(client.get(CALCULATOR))
    client.force_login(tenants.ars_a)
    assert f'href="{REGIONAL}"' not in text_of(client.get(CALCULATOR))


# --- Django admin ----------------------------------------------------------------------------------------------------


@pytest.fixture
def superuser(tenants):
    admin = tenants.admin
    admin.is_staff = admin.is_superuser = True
    admin.save()
    return admin


def admin_change_url(record):
    return f"/admin/funding/combinedactivity/{record.pk}/change/"


def test_admin_grid_is_read_only(client, superuser, grid):
    client.force_login(superuser)
    assert client.get("/admin/funding/amountband/").status_code == 200
    assert client.get("/admin/funding/fundingcategory/add/").status_code == 403
    band_id = AmountBand.objects.first().pk
    response = client.get(f"/admin/funding/amountband/{band_id}/change/")
    assert response.status_code == 200
    assert 'name="minimum"' not in response.content.decode()
    response = client.post(f"/admin/funding/amountband/{band_id}/change/", {"minimum": "1", "maximum": "2"})
    assert response.status_code == 403


def test_admin_override_goes_through_the_audited_service(client, superuser, activity):
    record = CombinedActivity.objects.get(establishment=activity.clinic)
    client.force_login(superuser)
    response = client.post(admin_change_url(record), {"override": "22500", "override_reason": "Chiffre ATIH 2017"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.override == Decimal("22500") and record.override_by == superuser
    audit = AuditRecord.objects.filter(action="combined_activity.override").get()
    assert audit.actor == superuser
    assert audit.changes == {"override": [None, "22500"], "override_reason": ["", "Chiffre ATIH 2017"]}
    # Cleared: back to the computed value, audited again.
    client.post(admin_change_url(record), {"override": "", "override_reason": ""})
    record.refresh_from_db()
    assert record.override is None and record.value == Decimal("5000.00")
    assert AuditRecord.objects.filter(action="combined_activity.override").count() == 2


def test_admin_override_errors_are_messages_not_server_errors(client, superuser, activity):
    record = CombinedActivity.objects.get(establishment=activity.clinic)
    client.force_login(superuser)
    response = client.post(admin_change_url(record), {"override": "-3", "override_reason": "x"})
    assert response.status_code == 200
    assert "L'activité combinée ne peut pas être négative." in text_of(response)
    response = client.post(admin_change_url(record), {"override": "1000", "override_reason": "  "})
    assert response.status_code == 200
    assert "Motivez l'activité combinée saisie." in text_of(response)
    record.refresh_from_db()
    assert record.override is None
    assert not AuditRecord.objects.filter(action="combined_activity.override").exists()


def test_admin_override_refused_by_the_service_is_shown(client, activity):
    """Staff with the Django permission but not platform administrator: the service refuses, the page says so."""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_combinedactivity", "change_combinedactivity"])
    )
    record = CombinedActivity.objects.get(establishment=activity.clinic)
    client.force_login(staff)
    response = client.post(admin_change_url(record), {"override": "1000", "override_reason": "essai"}, follow=True)
    assert response.status_code == 200
    page = text_of(response)
    assert "Seul un administrateur de la plateforme peut saisir l'activité combinée." in page
    assert "avec succès" not in page
    record.refresh_from_db()
    assert record.override is None


def test_admin_edits_software_vendors_with_an_audit_record(client, superuser):
    client.force_login(superuser)
    response = client.post(
        "/admin/funding/softwarevendor/add/", {"name": "Éditeur Santé", "relims_reference": "R-42", "qhn_engaged": "on"}
    )
    assert response.status_code == 302
    vendor = SoftwareVendor.objects.get(name="Éditeur Santé")
    assert vendor.is_referenced and vendor.qhn_engaged
    record = AuditRecord.objects.get(action="software_vendor.create")
    assert record.changes["relims_reference"] == [None, "R-42"]


def test_admin_ght_governance_stamps_who_validated_the_cio(client, superuser, tenants):
    client.force_login(superuser)
    response = client.post(
        "/admin/funding/ghtitgovernance/add/",
        {"ght": tenants.ght.pk, "cio_name": "Claire DSI", "cio_email": "dsi@ght.test",
         "cio_validated_at_0": "2020-03-01", "cio_validated_at_1": "10:00:00"},
    )
    assert response.status_code == 302, text_of(response)
    governance = GhtItGovernance.objects.get(ght=tenants.ght)
    assert governance.has_validated_cio and governance.cio_validated_by == superuser
    assert AuditRecord.objects.filter(action="ght_it_governance.create", object_id=str(governance.pk)).exists()
    assert client.get(f"/admin/funding/ghtitgovernance/{governance.pk}/change/").status_code == 200


def test_admin_master_plan_upload_is_stamped_and_never_linked(client, superuser, tenants, settings, tmp_path):
    """The GHT IT master plan (§5.3.1) is stored privately: the admin shows its name, never a download link."""
    root = tmp_path / "private-media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    client.force_login(superuser)
    plan = SimpleUploadedFile("sdsi.pdf", b"%PDF-1.4 schema directeur", content_type="application/pdf")
    response = client.post("/admin/funding/ghtitgovernance/add/", {"ght": tenants.ght.pk, "master_plan": plan})
    assert response.status_code == 302, text_of(response)
    governance = GhtItGovernance.objects.get(ght=tenants.ght)
    assert governance.has_master_plan
    assert governance.master_plan_uploaded_by == superuser and governance.master_plan_uploaded_at is not None
    assert (root / governance.master_plan.name).exists()
    page = text_of(client.get(f"/admin/funding/ghtitgovernance/{governance.pk}/change/"))
    assert governance.master_plan.name in page
    assert f'href="/{governance.master_plan.name}"' not in page and "fichier privé" in page


def test_admin_pages_render(client, superuser, activity):
    client.force_login(superuser)
    for path in (
        "/admin/funding/", "/admin/funding/combinedactivity/", "/admin/funding/fundingcategory/",
        "/admin/funding/softwarevendor/", "/admin/funding/ghtitgovernance/",
        admin_change_url(CombinedActivity.objects.first()),
        "/admin/funding/combinedactivity/?" + urlencode({"override__isempty": "0"}),
    ):
        assert client.get(path).status_code == 200, path

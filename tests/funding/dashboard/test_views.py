"""The dashboard pages (/pilotage/, /pilotage/<region>/) and the project review pages (annex 4 §3): scope of the
permission policy (ARS: own region, 404 elsewhere; DGOS: every region and the nation; establishments refused),
the key figures with their stable test ids, the chart without inline styles (CSP), the query counts, and the
review form."""

import datetime
import html
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from funding.models import DossierStatus, ProjectReview
from hopen.models import Role
from tests.factories import RegionFactory, user_with_role
from tests.funding.helpers_dashboard import MoneyWorld, bulk_region, domain, dossier_in_progress

pytestmark = pytest.mark.django_db
HOME = reverse("funding:dashboard")


def region_url(code):
    return reverse("funding:dashboard_region", args=[code])


@pytest.fixture
def world(tenants, catalogue):
    return MoneyWorld(tenants)


def figure(content: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}" data-value="([^"]*)"', content)
    assert match, f"{testid} absent"
    return match.group(1)


# --- Scope ------------------------------------------------------------------------------------------------------------


def test_ars_is_sent_to_its_region(client, world):
    client.force_login(world.tenants.ars_a)
    response = client.get(HOME)
    assert response.status_code == 302 and response.url == region_url("32")


def test_ars_of_another_region_gets_404(client, world):
    client.force_login(world.tenants.ars_b)
    assert client.get(region_url("32")).status_code == 404
    assert client.get(region_url("53")).status_code == 200


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishments_are_refused(client, world, role):
    client.force_login(getattr(world.tenants, role))
    assert client.get(HOME).status_code == 403
    assert client.get(region_url("32")).status_code == 404
    assert client.get(HOME, {"region": "32"}).status_code == 403


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(region_url("32"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_dgos_sees_the_nation_with_a_link_per_region_and_a_region_selector(client, world):
    client.force_login(world.tenants.dgos)
    response = client.get(HOME)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-scope="national"' in content
    assert f'href="{region_url("32")}"' in content and f'href="{region_url("53")}"' in content
    assert figure(content, "seed-committed") == "95000.00"
    assert 'id="choix-region"' in content
    response = client.get(HOME, {"region": "53"})
    assert response.status_code == 302 and response.url == region_url("53")
    assert client.get(region_url("53")).status_code == 200
    assert client.get(region_url("99")).status_code == 404


def test_navigation_link_for_ars_and_dgos_only(client, world):
    for user, expected in ((world.tenants.ars_a, True), (world.tenants.dgos, True), (world.tenants.editor, False)):
        client.force_login(user)
        assert ('id="lien-pilotage"' in client.get(reverse("home")).content.decode()) is expected


# --- Figures ----------------------------------------------------------------------------------------------------------


def test_region_page_shows_the_hand_computed_figures(client, world):
    client.force_login(world.tenants.ars_a)
    content = client.get(region_url("32")).content.decode()
    assert figure(content, "envelope-total") == "1000000.00"
    assert figure(content, "seed-committed") == "85000.00"
    assert figure(content, "seed-paid") == "60000.00"
    assert figure(content, "usage-committed") == "80000.00"
    assert figure(content, "usage-paid") == "80000.00"
    assert figure(content, "available") == "835000.00"
    assert figure(content, "repartition-statuts-public-committed") == "140000.00"
    assert figure(content, "repartition-activites-MCO-committed") == "165000.00"
    assert figure(content, "selected-dossiers") == "2"
    assert "compte dans chacune d'elles" in html.unescape(content)  # an establishment counts in each of its activities
    assert world.member_dossier.reference in content and "Clinique du Nord" in content
    slipped = content.split('id="decalages-prerequis"')[1].split("</table>")[0]
    assert world.member_dossier.reference in slipped and world.clinic_dossier.reference not in slipped
    assert "184\xa0jours" in slipped


def test_charts_are_server_side_svg_without_inline_style_or_script(client, world):
    client.force_login(world.tenants.ars_a)
    content = client.get(region_url("32")).content.decode()
    assert 'id="graphique-enveloppe"' in content and 'id="graphique-statuts"' in content
    assert "<svg" in content and "hopen-bar--paid" in content
    assert " style=" not in content
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)", content)


def test_dashboard_page_queries_do_not_grow_with_dossiers(client, tenants, catalogue, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = RegionFactory(code="11", name="Île-de-France"), RegionFactory(code="84", name="Auvergne")
    bulk_region(small, 3)
    bulk_region(large, 30)
    client.force_login(tenants.dgos)
    client.get(region_url("11"))  # the session's first request may refresh its expiry (one write): not counted
    counts = []
    for code in ("11", "84"):
        cache.clear()  # the figures computed, not read from the figure cache (tests/hopen/test_figure_cache.py)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(region_url(code)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    cache.clear()
    with django_assert_max_num_queries(19):
        client.get(region_url("84"))
    with django_assert_max_num_queries(19):
        client.get(HOME)


# --- Project reviews --------------------------------------------------------------------------------------------------


@pytest.fixture
def project(tenants, catalogue):  # the programme's calendar bounds a re-forecast target deadline (§5.3.1)
    dossier = dossier_in_progress(tenants.member)
    return dossier, domain(dossier, "D1")


def review_url(dossier):
    return reverse("funding:review_create", args=[dossier.reference])


def test_review_form_records_and_redirects_to_the_reviews(client, tenants, project):
    dossier, d1 = project
    client.force_login(tenants.ars_a)
    page = client.get(review_url(dossier)).content.decode()
    assert f'name="echeance_{d1.pk}"' in page and 'value="2022-06-30"' in page
    response = client.post(review_url(dossier), {
        "held_on": "2020-06-15", "participants": "ARS, établissement", "notes": "RAS",
        "prerequisites_forecast": "2020-12-31", f"echeance_{d1.pk}": "2022-12-31",
    })
    assert response.status_code == 302
    assert response.url == reverse("funding:dossier_reviews", args=[dossier.reference])
    d1.refresh_from_db()
    assert d1.target_deadline == datetime.date(2022, 12, 31)
    listing = client.get(response.url).content.decode()
    assert 'data-forecast="D1"' in listing and "30/06/2022 au 31/12/2022" in listing
    assert "Revue du 15/06/2020" in listing


def test_review_form_errors_are_shown(client, tenants, project):
    dossier, d1 = project
    client.force_login(tenants.director)
    response = client.post(review_url(dossier), {"held_on": "2020-06-15", "participants": "", f"echeance_{d1.pk}": ""})
    assert response.status_code == 400
    assert response.content.decode().count("fr-input-group--error") == 2  # participants and the D1 deadline
    # A rule of the service (a review is recorded once held) comes back on its field.
    response = client.post(
        review_url(dossier), {"held_on": "2099-01-01", "participants": "ARS", f"echeance_{d1.pk}": "2022-06-30"}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "fr-input-group--error" in content and "dans le futur" in content
    # An absurd year is a field error of the form (2000–2100), not a 500.
    response = client.post(
        review_url(dossier), {"held_on": "9999-01-01", "participants": "ARS", f"echeance_{d1.pk}": "0001-06-30"}
    )
    assert response.status_code == 400 and response.content.decode().count("Date invraisemblable") == 2
    assert not ProjectReview.objects.exists()


def test_review_of_a_dossier_not_in_progress_is_a_clear_refusal(client, tenants):
    dossier = dossier_in_progress(tenants.member, status=DossierStatus.UNDER_REVIEW)
    client.force_login(tenants.ars_a)
    assert 'id="revue-impossible"' in client.get(review_url(dossier)).content.decode()
    response = client.post(review_url(dossier), {"held_on": "2020-06-15", "participants": "ARS"})
    assert response.status_code == 409 and "n'est pas en cours" in html.unescape(response.content.decode())


def test_review_pages_follow_the_dossier_scope(client, tenants, project):
    dossier, _ = project
    clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    for user, form_status, list_status in (
        (tenants.ars_b, 404, 404), (clinic_director, 404, 404), (tenants.dgos, 403, 200), (tenants.editor, 200, 200),
    ):
        client.force_login(user)
        assert client.get(review_url(dossier)).status_code == form_status, user
        assert client.get(reverse("funding:dossier_reviews", args=[dossier.reference])).status_code == list_status


def test_reviews_list_include_renders_for_another_page(tenants, project):
    """H2's dossier page includes the list: `{% include "funding/reviews/_list.html" with reviews=… dossier=… %}`."""
    from django.template.loader import render_to_string

    from funding.reviews.selectors import dossier_reviews
    from funding.reviews.services import project_review_record

    dossier, d1 = project
    project_review_record(
        dossier=dossier, held_on=datetime.date(2020, 6, 15), participants="ARS", notes="", prerequisites_forecast=None,
        domain_deadlines={d1.pk: datetime.date(2022, 11, 30)}, by=tenants.ars_a,
    )
    rendered = render_to_string(
        "funding/reviews/_list.html", {"reviews": dossier_reviews(dossier), "dossier": dossier, "can_record_review": True}
    )
    assert 'id="nouvelle-revue"' in rendered and "reportée du 30/06/2022 au 30/11/2022" in rendered

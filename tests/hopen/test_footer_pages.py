"""The footer's pages and the page furniture checked by the accessibility pass (issue 16 item 6, RGAA 4.1)."""

import pytest
from django.template import Context, Template
from django.urls import reverse

pytestmark = pytest.mark.django_db

FOOTER = {
    "footer-accessibility-status": "Déclaration d'accessibilité",
    "footer-legal-notice": "Mentions légales",
    "footer-personal-data": "Données personnelles",
    "footer-sitemap": "Plan du site",
    "footer-cookie-management": "Gestion des cookies",
}


@pytest.mark.parametrize("name,title", FOOTER.items())
def test_footer_pages_are_public_and_linked_from_every_page(client, name, title):
    """The accessibility statement must be reachable from every page, before login too (RGAA, art. 47 of law
    2005-102): each footer link of the login page leads to its written page."""
    login = client.get(reverse("login")).content.decode()
    assert f'href="{reverse(name)}"' in login
    page = client.get(reverse(name))
    assert page.status_code == 200
    assert f"<h1>{title}</h1>" in page.content.decode()


def test_accessibility_statement_gives_the_honest_rgaa_status(client):
    """No RGAA audit yet: the status is « non conforme », in the statement and in the footer's link."""
    body = client.get(reverse("footer-accessibility-status")).content.decode()
    assert "La plateforme HOP'EN est non conforme" in body
    assert "Accessibilité : non conforme" in " ".join(body.split())


def test_skip_link_to_the_menu_only_when_the_menu_is_there(client, tenants):
    """RGAA 12.7: logged out the header has no menu, so no skip link points to `#fr-navigation`."""
    logged_out = client.get(reverse("login")).content.decode()
    assert 'href="#fr-navigation"' not in logged_out and 'id="fr-navigation"' not in logged_out
    client.force_login(tenants.editor)
    logged_in = client.get(reverse("footer-sitemap")).content.decode()
    assert 'href="#fr-navigation"' in logged_in and 'id="fr-navigation"' in logged_in


def test_table_region_is_focusable_labelled_and_escaped():
    """RGAA 12.13 (WCAG 2.1.1): a scrolling table's container takes the focus and says what it holds."""
    html = Template('{% load tables %}<div {% table_region "Écritures" code %}>').render(Context({"code": '<"D1">'}))
    assert html == '<div tabindex="0" role="region" aria-label="Écritures &lt;&quot;D1&quot;&gt;">'

"""The layout sections rendered once per process (hopen/layout_cache.py, templates/base.html: menu, footer, display
dialog): a page served from the stored sections is the page rendered afresh, whoever asks and wherever — the key
holds everything the sections read (issue 17: the fixed cost of every page)."""

import re

import pytest
from django.urls import reverse

from hopen import layout_cache
from indicators.loading import load_calendar, load_catalogue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Per-request tokens: the CSRF token of the logout form and the CSP nonce of the scripts.
TOKENS = re.compile(r'(name="csrfmiddlewaretoken" value=|nonce=)"[^"]*"')
ROLES = ("editor", "director", "ght_director", "ars_a", "dgos", "auditor", "admin")
PAGES = ("home", "establishment_list", "indicators:home", "ami:home", "funding:dossier_list", "notifications",
         "footer-accessibility-status")


def _html(client, url):
    response = client.get(url, follow=True)  # an establishment's « Indicateurs » leads to its own page
    assert response.status_code == 200, url
    return TOKENS.sub(r"\1", response.content.decode())


def test_every_role_and_page_gets_the_page_rendered_afresh(client, tenants):
    """Requests go round the roles and pages with the store kept, each compared with a render from an empty store:
    a section stored for one role or page and served to another would differ."""
    load_calendar()
    load_catalogue()  # the programme's pages need its catalogue
    tenants.admin.is_staff = True  # the administration link: one more menu flag
    tenants.admin.save()
    for name in PAGES:
        for role in ROLES:
            client.force_login(getattr(tenants, role))
            url = reverse(name)
            served = _html(client, url)
            layout_cache.clear()
            assert served == _html(client, url), (name, role)


def test_the_menu_marks_the_current_page_and_shows_each_role_its_own_items(client, tenants):
    client.force_login(tenants.dgos)
    client.get(reverse("home"))
    dossiers = client.get(reverse("funding:dossier_list")).content.decode()
    assert re.search(r'id="lien-dossiers" href="[^"]*" aria-current="page"', dossiers)
    assert 'id="lien-pilotage"' in dossiers
    client.force_login(tenants.editor)
    editor_home = client.get(reverse("home")).content.decode()
    assert 'id="lien-pilotage"' not in editor_home  # the DGOS's menu, stored first, is not served to the editor
    assert not re.search(r'id="lien-dossiers" href="[^"]*" aria-current="page"', editor_home)


def test_a_logged_out_page_has_no_menu(client, tenants):
    client.force_login(tenants.dgos)
    client.get(reverse("home"))
    client.logout()
    login = client.get(reverse("login")).content.decode()
    assert 'id="fr-navigation"' not in login
    assert 'id="footer"' in login


def test_the_store_is_bounded(monkeypatch):
    monkeypatch.setattr(layout_cache, "MAX_ENTRIES", 3)
    layout_cache.clear()
    for n in range(7):
        assert layout_cache.rendered_once("essai", (n,), lambda n=n: f"<p>{n}</p>") == f"<p>{n}</p>"
        assert len(layout_cache._store) <= 3
    calls = []
    assert layout_cache.rendered_once("essai", (6,), lambda: calls.append(1) or "autre") == "<p>6</p>"
    assert calls == []  # served from the store


def test_a_user_without_roles_gets_the_common_items_only(client, tenants):
    client.force_login(tenants.admin)
    client.get(reverse("home"))
    client.force_login(UserFactory())
    home = client.get(reverse("home")).content.decode()
    assert 'id="fr-navigation"' in home
    assert 'id="lien-referentiels"' not in home

"""The DSFR site configuration read once per process and minute (hopen/site_config.py, issue 17: the fixed cost of
every page), yet an edit shows at once in the process that made it and within a minute elsewhere."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from dsfr.models import DsfrConfig

from hopen import site_config

pytestmark = pytest.mark.django_db


def _config_queries(captured):
    return [q for q in captured.captured_queries if "dsfr_dsfrconfig" in q["sql"]]


def test_the_configuration_is_read_once_then_kept(client, django_user_model):
    user = django_user_model.objects.create_user(email="lecteur@example.test", password="x-Secret-2019")
    client.force_login(user)
    client.get("/accessibilite/")  # the first page reads it
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/accessibilite/")
    assert response.status_code == 200
    assert _config_queries(captured) == []
    assert response.context["SITE_CONFIG"] == DsfrConfig.objects.first()


def test_an_edit_shows_at_the_next_page(client, django_user_model):
    """The admin who sets a notice banner sees it at once (post_save empties the process's store)."""
    user = django_user_model.objects.create_user(email="admin-site@example.test", password="x-Secret-2019")
    client.force_login(user)
    client.get("/accessibilite/")
    config = DsfrConfig.objects.first()
    config.notice_title = "Maintenance prévue le 12 décembre"
    config.save()
    response = client.get("/accessibilite/")
    assert "Maintenance prévue le 12 décembre" in response.content.decode()


def test_an_edit_made_elsewhere_shows_after_max_age():
    """Another process's edit sends no signal here: the stored configuration is read again after MAX_AGE."""
    stored = site_config.current_site_config(now=lambda: 1000.0)
    DsfrConfig.objects.filter(pk=stored.pk).update(site_title="Titre modifié ailleurs")  # no signal
    assert site_config.current_site_config(now=lambda: 1000.0 + site_config.MAX_AGE - 1).site_title != (
        "Titre modifié ailleurs"
    )
    assert site_config.current_site_config(now=lambda: 1000.0 + site_config.MAX_AGE).site_title == (
        "Titre modifié ailleurs"
    )


def test_a_deleted_configuration_is_forgotten():
    assert site_config.current_site_config() is not None
    DsfrConfig.objects.all().delete()
    assert site_config.current_site_config() is None

"""The ARS's name and postal address (issue 16, item 5), printed on the letters it sends (annex 4 §1–§2): edited
in the administration by a platform administrator through the audited service, refused when incomplete (no
postal code and town line), never invented; a region without an address is a task on the administrator's home."""

import pytest
from django.urls import reverse

from hopen import selectors, services
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Region

ADDRESS = "556 avenue Willy Brandt\n59777 Euralille"


@pytest.fixture
def superuser(tenants):
    admin = tenants.admin
    admin.is_staff = admin.is_superuser = True
    admin.save()
    return admin


def change_url(region):
    return reverse("admin:hopen_region_change", args=[region.pk])


def test_the_admin_edit_goes_through_the_audited_service(client, tenants, superuser):
    client.force_login(superuser)
    response = client.post(
        change_url(tenants.region_a), {"ars_name": "ARS  Hauts-de-France", "ars_address": f"  {ADDRESS}\n\n"}
    )
    assert response.status_code == 302
    region = Region.objects.get(pk=tenants.region_a.pk)
    assert (region.ars_name, region.ars_address) == ("ARS Hauts-de-France", ADDRESS)
    record = AuditRecord.objects.get(action="region.set_ars_contact")
    assert record.actor_id == superuser.pk and record.object_id == str(region.pk)
    assert record.changes == {"ars_address": ["", ADDRESS]}


def test_an_address_without_postal_code_and_town_is_refused_on_the_form(client, tenants, superuser):
    client.force_login(superuser)
    response = client.post(change_url(tenants.region_a), {"ars_name": "ARS Hauts-de-France", "ars_address": "Lille"})
    assert response.status_code == 200
    assert "code postal et de la commune" in response.content.decode()
    assert Region.objects.get(pk=tenants.region_a.pk).ars_address == ""
    assert not AuditRecord.objects.filter(action="region.set_ars_contact").exists()


def test_the_region_name_is_not_editable_and_an_unchanged_save_writes_no_record(client, tenants, superuser):
    client.force_login(superuser)
    client.post(change_url(tenants.region_b), {"name": "Autre nom", "ars_name": "ARS Bretagne", "ars_address": ""})
    assert Region.objects.get(pk=tenants.region_b.pk).name == "Bretagne"
    assert not AuditRecord.objects.filter(action="region.set_ars_contact").exists()


def test_only_a_platform_administrator_edits_the_ars_contact(tenants):
    for user in (tenants.ars_a, tenants.dgos, tenants.director):
        with pytest.raises(PermissionRefused):
            services.region_set_ars_contact(region=tenants.region_a, ars_name="ARS X", ars_address=ADDRESS, by=user)
    with pytest.raises(ApplicationError, match="nom de l'ARS est obligatoire"):
        services.region_set_ars_contact(region=tenants.region_a, ars_name=" ", ars_address=ADDRESS, by=tenants.admin)
    assert Region.objects.get(pk=tenants.region_a.pk).ars_address == ""


@pytest.mark.parametrize(
    "address",
    ["8 rue Test\n35000 Rennes", "Bâtiment A\n8 rue Test\nCS 14253\n35042 Rennes Cedex", "CHU\nCS 14253 35042 Rennes Cedex"],
)
def test_complete_french_addresses_are_accepted(address):
    assert services.ars_contact_cleaned("ARS Bretagne", address)[1] == address


def test_the_administrator_home_lists_the_regions_without_address(client, tenants):
    services.region_set_ars_contact(region=tenants.region_a, ars_name="ARS Hauts-de-France", ars_address=ADDRESS, by=tenants.admin)
    assert list(selectors.regions_without_ars_address(tenants.admin)) == [tenants.region_b]
    client.force_login(tenants.admin)
    page = client.get(reverse("home")).content.decode()
    assert "1 adresse d'ARS à renseigner" in page
    assert f'href="{change_url(tenants.region_b)}"' in page
    assert f'href="{change_url(tenants.region_a)}"' not in page


def test_the_task_is_the_administrator_s_only(client, tenants):
    for user in (tenants.dgos, tenants.auditor, tenants.ars_b):
        assert not selectors.regions_without_ars_address(user).exists()
        client.force_login(user)
        assert "adresse d'ARS à renseigner" not in client.get(reverse("home")).content.decode()


def test_no_task_once_every_address_is_entered(client, tenants):
    Region.objects.update(ars_address=ADDRESS)
    client.force_login(tenants.admin)
    assert "tache-adresses-ars" not in client.get(reverse("home")).content.decode()

"""Demo accounts (`seed_demo`): the README's list, idempotent, never in production."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hopen.demo import DEMO_PASSWORD, seed_demo
from hopen.models import Role, RoleAssignment, User

pytestmark = pytest.mark.django_db


def test_seed_creates_the_documented_accounts_once(tenants):
    _, created = seed_demo()
    emails = set(User.objects.values_list("email", flat=True))
    for expected in (
        "dgos@demo.hopen.test",
        "auditeur@demo.hopen.test",
        "admin@demo.hopen.test",
        "ars-32@demo.hopen.test",
        "ars-53@demo.hopen.test",
        f"{tenants.support.finess}@demo.hopen.test",
        f"direction-{tenants.support.finess}@demo.hopen.test",
        f"{tenants.member.finess}@demo.hopen.test",
        f"direction-{tenants.member.finess}@demo.hopen.test",
    ):
        assert expected in emails
        assert expected in created
    director = User.objects.get(email=f"direction-{tenants.support.finess}@demo.hopen.test")
    assert director.check_password(DEMO_PASSWORD)
    assert RoleAssignment.objects.filter(user=director, role=Role.GHT_SUPPORT_DIRECTOR, ght=tenants.ght).exists()
    ars = User.objects.get(email="ars-32@demo.hopen.test")
    assert RoleAssignment.objects.filter(user=ars, role=Role.ARS_OFFICER, region=tenants.region_a).exists()

    users, assignments = User.objects.count(), RoleAssignment.objects.count()
    _, created_again = seed_demo()
    assert created_again == []
    assert (User.objects.count(), RoleAssignment.objects.count()) == (users, assignments)


def test_command_needs_imported_establishments(db):
    with pytest.raises(CommandError, match="import_sae"):
        call_command("seed_demo")


def test_command_is_refused_when_demo_data_is_not_allowed(tenants, settings):
    settings.HOPEN_DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="interdits"):
        call_command("seed_demo")

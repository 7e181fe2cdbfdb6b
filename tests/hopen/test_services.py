"""Role assignments: scope constraints in the database, guardian grants, audit records, referential corrections."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, EstablishmentUserObjectPermission, Role, RoleAssignment
from hopen.services import establishment_set_ght, ght_set_support, role_assign, role_revoke
from tests.factories import GhtFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_director_gets_view_enter_and_declare_grants_editor_no_declare(tenants):
    assert permissions.can_enter_establishment_data(tenants.editor, tenants.member)
    assert not permissions.can_declare_establishment_data(tenants.editor, tenants.member)
    assert permissions.can_declare_establishment_data(tenants.director, tenants.member)
    assert not permissions.can_enter_establishment_data(tenants.editor, tenants.support)


@pytest.mark.parametrize("reader", ["ars_a", "dgos", "auditor", "admin", "ght_director"])
def test_readers_never_write_establishment_data(tenants, reader):
    user = getattr(tenants, reader)
    assert permissions.can_view_establishment(user, tenants.member)
    assert not permissions.can_enter_establishment_data(user, tenants.member)


def test_superuser_reads_everything_but_writes_no_establishment_data(tenants):
    root = UserFactory(is_superuser=True)
    assert permissions.can_view_establishment(root, tenants.foreign)
    assert not permissions.can_enter_establishment_data(root, tenants.foreign)


def test_revoking_one_of_two_roles_keeps_the_other_grants(tenants):
    user = UserFactory()
    editor = role_assign(user=user, role=Role.ESTABLISHMENT_EDITOR, establishment=tenants.clinic, by=tenants.admin)
    director = role_assign(user=user, role=Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic, by=tenants.admin)
    role_revoke(assignment=director, by=tenants.admin)
    codenames = set(EstablishmentUserObjectPermission.objects.filter(user=user).values_list("permission__codename", flat=True))
    assert codenames == {"view_establishment", "enter_data"}
    role_revoke(assignment=editor, by=tenants.admin)
    assert not EstablishmentUserObjectPermission.objects.filter(user=user).exists()
    assert AuditRecord.objects.filter(action="role.revoke", actor=tenants.admin).count() == 2


def test_one_user_may_edit_two_sites_of_the_same_legal_entity(tenants):
    user = UserFactory()
    for establishment in (tenants.support, tenants.member):
        role_assign(user=user, role=Role.ESTABLISHMENT_EDITOR, establishment=establishment, by=tenants.admin)
    visible = set(permissions.establishments_readable_by(user).values_list("pk", flat=True))
    assert visible == {tenants.support.pk, tenants.member.pk}


@pytest.mark.parametrize(
    "role, scope",
    [
        (Role.ARS_OFFICER, {}),  # a region is required
        (Role.ESTABLISHMENT_EDITOR, {"region": "a"}),  # an establishment, not a region
        (Role.DGOS_OFFICER, {"region": "a"}),  # national roles take no scope
    ],
)
def test_scope_must_match_the_role(tenants, role, scope):
    scope = {key: tenants.region_a for key in scope}
    with pytest.raises(ValidationError, match="périmètre"):
        role_assign(user=UserFactory(), role=role, by=tenants.admin, **scope)


def test_database_refuses_a_scope_that_does_not_match_the_role(tenants):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=UserFactory(), role=Role.ARS_OFFICER)


def test_same_national_role_twice_is_refused_by_the_database(tenants):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=tenants.dgos, role=Role.DGOS_OFFICER)


def test_only_platform_admins_manage_the_referential(tenants):
    with pytest.raises(PermissionRefused):
        role_assign(user=UserFactory(), role=Role.DGOS_OFFICER, by=tenants.dgos)
    with pytest.raises(PermissionRefused):
        establishment_set_ght(establishment=tenants.clinic, ght=None, by=tenants.ars_a)


def test_ght_must_be_in_the_establishment_region(tenants):
    with pytest.raises(ApplicationError, match="sa région"):
        establishment_set_ght(establishment=tenants.foreign, ght=tenants.ght, by=tenants.admin)


def test_support_must_be_a_member(tenants):
    with pytest.raises(ApplicationError, match="membre"):
        ght_set_support(ght=tenants.ght, support=tenants.clinic, by=tenants.admin)
    ght_set_support(ght=tenants.ght, support=tenants.member, by=tenants.admin)
    tenants.ght.refresh_from_db()
    assert tenants.ght.support == tenants.member
    assert tenants.ght.support_source == "manual"


def test_support_leaving_its_ght_clears_the_support(tenants):
    other = GhtFactory(region=tenants.region_a)
    establishment_set_ght(establishment=tenants.support, ght=other, by=tenants.admin)
    tenants.ght.refresh_from_db()
    assert tenants.ght.support is None
    assert AuditRecord.objects.filter(action="ght.set_support", object_id=str(tenants.ght.pk)).exists()

"""Writes on the tenancy core. Each one checks its rules, writes its audit record in the same transaction."""

import re

from django.contrib.auth.models import Permission
from django.db import transaction

from . import permissions
from .audit import audit_record, diff, snapshot
from .exceptions import ApplicationError, PermissionRefused
from .models import (
    Establishment,
    EstablishmentUserObjectPermission,
    Ght,
    GhtMembershipSource,
    Region,
    RoleAssignment,
)


def _require_referential_manager(by):
    if by is not None and not permissions.can_manage_referential(by):
        raise PermissionRefused("Seul un administrateur de la plateforme peut modifier le référentiel.")


def _sync_establishment_grants(user, establishment):
    """Guardian grants on an establishment = the union of what the user's roles on it allow."""
    wanted = set()
    for role in RoleAssignment.objects.filter(user=user, establishment=establishment).values_list("role", flat=True):
        wanted.update(permissions.ESTABLISHMENT_ROLE_PERMISSIONS.get(role, ()))
    current = EstablishmentUserObjectPermission.objects.filter(user=user, content_object=establishment)
    current.exclude(permission__codename__in=wanted).delete()
    present = set(current.values_list("permission__codename", flat=True))
    for perm in Permission.objects.filter(content_type__app_label="hopen", codename__in=wanted - present):
        EstablishmentUserObjectPermission.objects.create(user=user, permission=perm, content_object=establishment)
    user.__dict__.pop("_hopen_object_perms", None)
    user.__dict__.pop("_hopen_scope", None)


@transaction.atomic
def role_assign(*, user, role, by=None, establishment=None, ght=None, region=None) -> RoleAssignment:
    """Give `user` a role in a scope. `by=None` only for system tasks (importer, demo seeding)."""
    _require_referential_manager(by)
    assignment = RoleAssignment(user=user, role=role, establishment=establishment, ght=ght, region=region, granted_by=by)
    assignment.full_clean()
    assignment.save()
    if establishment is not None:
        _sync_establishment_grants(user, establishment)
    user.__dict__.pop("_hopen_scope", None)
    audit_record(actor=by, action="role.assign", target=assignment, changes={"role": [None, str(assignment)]})
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment, by=None) -> None:
    _require_referential_manager(by)
    description = str(assignment)
    user, establishment = assignment.user, assignment.establishment
    audit_record(actor=by, action="role.revoke", target=assignment, changes={"role": [description, None]})
    assignment.delete()
    if establishment is not None:
        _sync_establishment_grants(user, establishment)
    user.__dict__.pop("_hopen_scope", None)


@transaction.atomic
def establishment_set_ght(*, establishment: Establishment, ght: Ght | None, by) -> Establishment:
    """An administrator corrects the GHT membership inferred from the SAE data; the importer keeps it."""
    _require_referential_manager(by)
    establishment = Establishment.objects.select_for_update().get(pk=establishment.pk)
    if ght is not None and ght.region_id != establishment.region_id:
        raise ApplicationError("Un établissement ne peut appartenir qu'à un GHT de sa région.")
    before = snapshot(establishment, ["ght", "ght_membership_source"])
    left = establishment.ght if establishment.ght_id and establishment.ght_id != getattr(ght, "pk", None) else None
    if left is not None and left.support_id == establishment.pk:
        # A support establishment that leaves its GHT stops being its support; the next import re-infers one.
        Ght.objects.filter(pk=left.pk).update(support=None, support_source="")
        audit_record(actor=by, action="ght.set_support", target=left, changes={"support": [establishment.pk, None]})
    establishment.ght = ght
    # Marked manual even when cleared, so that a later import does not re-infer what an administrator undid.
    establishment.ght_membership_source = GhtMembershipSource.MANUAL
    establishment.save(update_fields=["ght", "ght_membership_source"])
    audit_record(
        actor=by,
        action="establishment.set_ght",
        target=establishment,
        changes=diff(before, snapshot(establishment, ["ght", "ght_membership_source"])),
    )
    return establishment


@transaction.atomic
def ght_set_support(*, ght: Ght, support: Establishment | None, by) -> Ght:
    """The support establishment must be a member of its GHT."""
    _require_referential_manager(by)
    ght = Ght.objects.select_for_update().get(pk=ght.pk)
    if support is not None and support.ght_id != ght.pk:
        raise ApplicationError("L'établissement support doit être membre du GHT.")
    before = snapshot(ght, ["support", "support_source"])
    ght.support = support
    ght.support_source = GhtMembershipSource.MANUAL
    ght.save(update_fields=["support", "support_source"])
    audit_record(
        actor=by, action="ght.set_support", target=ght, changes=diff(before, snapshot(ght, ["support", "support_source"]))
    )
    return ght


# A French postal line: « 59000 Lille », « CS 12345 59000 Lille Cedex » (the town is printed before the letters' date).
POSTAL_LINE = re.compile(r"^(?:CS\s*\d+\s+)?\d{5}\s+\S.*$", re.IGNORECASE)


def ars_contact_cleaned(ars_name: str, ars_address: str) -> tuple[str, str]:
    """The ARS's name and postal address as stored (spaces tidied, blank lines dropped), or ApplicationError: a
    name is required (it signs the letters) and an address is complete — a street line, then the postal code and
    town — or empty (the letters then print no address block: never a guess)."""
    name = " ".join((ars_name or "").split())
    lines = [" ".join(line.split()) for line in (ars_address or "").splitlines()]
    lines = [line for line in lines if line]
    if not name:
        raise ApplicationError("Le nom de l'ARS est obligatoire : il signe les courriers.")
    if lines and (len(lines) < 2 or not POSTAL_LINE.match(lines[-1])):
        raise ApplicationError(
            "L'adresse de l'ARS doit finir par la ligne du code postal et de la commune (« 59000 Lille »), "
            "après au moins une ligne de voie."
        )
    return name, "\n".join(lines)


@transaction.atomic
def region_set_ars_contact(*, region: Region, ars_name: str, ars_address: str, by) -> Region:
    """The name and postal address of a region's ARS, printed on the letters it sends (annex 4 §1–§2: selection,
    funding decisions, refund claims). Edited by a platform administrator only (`ars_contact_cleaned`)."""
    _require_referential_manager(by)
    region = Region.objects.select_for_update().get(pk=region.pk)
    fields = ["ars_name", "ars_address"]
    before = snapshot(region, fields)
    region.ars_name, region.ars_address = ars_contact_cleaned(ars_name, ars_address)
    changes = diff(before, snapshot(region, fields))
    if changes:
        region.save(update_fields=fields)
        audit_record(actor=by, action="region.set_ars_contact", target=region, changes=changes)
    return region


@transaction.atomic
def export_record(*, export: str, fmt: str, region_codes: list[str], by) -> None:
    """A national export downloaded (issue 17): who took which table, in which format, over which regions — on the
    user's own trail (the export itself writes nothing)."""
    audit_record(
        actor=by, action="export.download", target=by,
        changes={"export": [None, export], "format": [None, fmt], "regions": [None, ", ".join(region_codes)]},
    )

"""Demo accounts for `make run` (never in production settings). All share one password, given in the README."""

from dataclasses import dataclass

from django.db import transaction

from .models import Establishment, EstablishmentStatus, Ght, Region, Role, RoleAssignment, User
from .services import role_assign

DEMO_PASSWORD = "demo-hopen-2019"
DEMO_DOMAIN = "demo.hopen.test"
# Regions whose real establishments get demo accounts: Hauts-de-France and Bretagne.
DEMO_ESTABLISHMENT_REGIONS = ("32", "53")


@dataclass
class DemoAccount:
    email: str
    role: str
    scope: str


def _user(email, first_name, last_name, created, *, is_staff=False, is_superuser=False):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, first_name=first_name, last_name=last_name, is_staff=is_staff,
            is_superuser=is_superuser,
        )
        created.append(email)
    return user


def _grant(user, role, **scope):
    exists = RoleAssignment.objects.filter(
        user=user, role=role, establishment=scope.get("establishment"), ght=scope.get("ght"), region=scope.get("region")
    ).exists()
    if not exists:
        role_assign(user=user, role=role, by=None, **scope)


def demo_establishments(region_code):
    """A GHT support establishment, one of its members, and one private establishment of the region."""
    ght = (
        Ght.objects.filter(region__code=region_code, support__isnull=False)
        .exclude(members__isnull=True)
        .order_by("code")
        .first()
    )
    chosen = []
    if ght is not None:
        chosen.append(ght.support)
        others = ght.members.exclude(pk=ght.support_id).order_by("finess")
        # Prefer another hospital of the GHT over another site of the support's own legal entity.
        member = others.exclude(legal_entity_id=ght.support.legal_entity_id).first() or others.first()
        if member:
            chosen.append(member)
    private = (
        Establishment.objects.filter(region__code=region_code)
        .exclude(status=EstablishmentStatus.PUBLIC)
        .filter(has_mco=True)
        .order_by("finess")
        .first()
    )
    if private:
        chosen.append(private)
    return ght, chosen


@transaction.atomic
def seed_demo() -> tuple[list[DemoAccount], list[str]]:
    """Create the demo accounts that are missing; return (all accounts, e-mails created now)."""
    created: list[str] = []
    accounts: list[DemoAccount] = []

    # Django admin models need model permissions: the demo administrator holds them all (superuser),
    # which still gives no right to write an establishment's data (hopen.permissions).
    admin = _user(f"admin@{DEMO_DOMAIN}", "Alice", "Administratrice", created, is_staff=True, is_superuser=True)
    _grant(admin, Role.PLATFORM_ADMIN)
    accounts.append(DemoAccount(admin.email, Role.PLATFORM_ADMIN.label, "national"))
    dgos = _user(f"dgos@{DEMO_DOMAIN}", "Damien", "Dgos", created)
    _grant(dgos, Role.DGOS_OFFICER)
    accounts.append(DemoAccount(dgos.email, Role.DGOS_OFFICER.label, "national"))
    auditor = _user(f"auditeur@{DEMO_DOMAIN}", "Aude", "Auditrice", created)
    _grant(auditor, Role.DGOS_AUDITOR)
    accounts.append(DemoAccount(auditor.email, Role.DGOS_AUDITOR.label, "national"))

    for region in Region.objects.order_by("code"):
        ars = _user(f"ars-{region.code}@{DEMO_DOMAIN}", "Agent", region.ars_name, created)
        _grant(ars, Role.ARS_OFFICER, region=region)
        accounts.append(DemoAccount(ars.email, Role.ARS_OFFICER.label, region.name))

    for region_code in DEMO_ESTABLISHMENT_REGIONS:
        ght, establishments = demo_establishments(region_code)
        for establishment in establishments:
            editor = _user(f"{establishment.finess.lower()}@{DEMO_DOMAIN}", "Saisie", establishment.name[:150], created)
            _grant(editor, Role.ESTABLISHMENT_EDITOR, establishment=establishment)
            accounts.append(DemoAccount(editor.email, Role.ESTABLISHMENT_EDITOR.label, str(establishment)))
            director = _user(
                f"direction-{establishment.finess.lower()}@{DEMO_DOMAIN}", "Direction", establishment.name[:150], created
            )
            _grant(director, Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)
            accounts.append(DemoAccount(director.email, Role.ESTABLISHMENT_DIRECTOR.label, str(establishment)))
            if ght is not None and establishment.pk == ght.support_id:
                _grant(director, Role.GHT_SUPPORT_DIRECTOR, ght=ght)
                accounts.append(DemoAccount(director.email, Role.GHT_SUPPORT_DIRECTOR.label, str(ght)))
    return accounts, created

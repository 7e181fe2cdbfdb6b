"""The one permission policy: who may read or write what.

Scopes come from role assignments (establishment / GHT / region / nation); per-establishment grants
are django-guardian object permissions (given by `hopen.services.role_assign`). Every view, export,
file download and API endpoint asks this module. An object outside the user's scope is reported as
missing (404), so that its existence is not revealed; a write by a read-only role is refused (403).
"""

from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404

from .models import (
    ESTABLISHMENT_ROLES,
    Establishment,
    EstablishmentUserObjectPermission,
    Region,
    Role,
)

VIEW_ESTABLISHMENT = "view_establishment"
ENTER_DATA = "enter_data"
DECLARE_DATA = "declare_data"

# Guardian permissions granted on the establishment for each establishment role.
ESTABLISHMENT_ROLE_PERMISSIONS = {
    Role.ESTABLISHMENT_EDITOR: (VIEW_ESTABLISHMENT, ENTER_DATA),
    Role.ESTABLISHMENT_DIRECTOR: (VIEW_ESTABLISHMENT, ENTER_DATA, DECLARE_DATA),
}


@dataclass(frozen=True)
class Scope:
    roles: frozenset = field(default_factory=frozenset)
    national: bool = False
    region_ids: frozenset = field(default_factory=frozenset)
    ght_ids: frozenset = field(default_factory=frozenset)
    establishment_ids: frozenset = field(default_factory=frozenset)

    @property
    def is_empty(self):
        return not (self.national or self.region_ids or self.ght_ids or self.establishment_ids)


def scope_of(user) -> Scope:
    """The user's scope, computed once per user object (one query for the roles)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    cached = getattr(user, "_hopen_scope", None)
    if cached is not None:
        return cached
    roles, regions, ghts, establishments = set(), set(), set(), set()
    for role, region_id, ght_id, establishment_id in user.role_assignments.values_list(
        "role", "region_id", "ght_id", "establishment_id"
    ):
        roles.add(role)
        if region_id:
            regions.add(region_id)
        if ght_id:
            ghts.add(ght_id)
        if establishment_id:
            establishments.add(establishment_id)
    national = bool(roles & {Role.DGOS_OFFICER, Role.DGOS_AUDITOR, Role.PLATFORM_ADMIN}) or user.is_superuser
    scope = Scope(frozenset(roles), national, frozenset(regions), frozenset(ghts), frozenset(establishments))
    user._hopen_scope = scope
    return scope


def _granted_establishments(user, codename):
    return EstablishmentUserObjectPermission.objects.filter(user=user, permission__codename=codename).values(
        "content_object_id"
    )


def establishment_read_filter(user) -> Q:
    """A Q object selecting the establishments the user may read (evaluated inside the caller's query)."""
    scope = scope_of(user)
    if scope.national:
        return Q()
    if scope.is_empty:
        return Q(pk__in=[])
    condition = Q(pk__in=_granted_establishments(user, VIEW_ESTABLISHMENT))
    if scope.region_ids:
        condition |= Q(region_id__in=scope.region_ids)
    if scope.ght_ids:
        condition |= Q(ght_id__in=scope.ght_ids)
    return condition


def can_view_establishment(user, establishment) -> bool:
    scope = scope_of(user)
    if scope.national:
        return True
    if establishment.region_id in scope.region_ids or (establishment.ght_id and establishment.ght_id in scope.ght_ids):
        return True
    return _has_object_permission(user, VIEW_ESTABLISHMENT, establishment)


def can_enter_establishment_data(user, establishment) -> bool:
    """Only the establishment's own roles write its data; ARS and DGOS read it."""
    return _has_object_permission(user, ENTER_DATA, establishment)


def can_declare_establishment_data(user, establishment) -> bool:
    return _has_object_permission(user, DECLARE_DATA, establishment)


def can_declare_values(user, establishment) -> bool:
    """The director declares; an editor may, when the establishment has no director account."""
    if can_declare_establishment_data(user, establishment):
        return True
    if not can_enter_establishment_data(user, establishment):
        return False
    return not establishment.role_assignments.filter(role=Role.ESTABLISHMENT_DIRECTOR, user__is_active=True).exists()


def can_enter_indicator_values(user, establishment) -> bool:
    """Draft indicator values: the establishment's own roles, or its GHT's support director (annex 5: the
    support establishment files for its members); declaring stays with the establishment (`can_declare_values`)."""
    if can_enter_establishment_data(user, establishment):
        return True
    return bool(establishment.ght_id) and establishment.ght_id in scope_of(user).ght_ids


def can_browse_audit_trail(user) -> bool:
    scope = scope_of(user)
    return user.is_superuser or bool(scope.roles & {Role.PLATFORM_ADMIN, Role.DGOS_AUDITOR})


def can_manage_referential(user) -> bool:
    """Correct the referential (GHT membership, support establishment, roles)."""
    return user.is_superuser or Role.PLATFORM_ADMIN in scope_of(user).roles


def can_import_referentials(user) -> bool:
    """Import the national referentials the rules read (earlier-programme results, RELIMS software vendors, §5.3.1):
    a DGOS officer or a platform administrator."""
    scope = scope_of(user)
    return getattr(user, "is_superuser", False) or bool(scope.roles & {Role.DGOS_OFFICER, Role.PLATFORM_ADMIN})


def has_establishment_role(user) -> bool:
    return bool(scope_of(user).roles & set(ESTABLISHMENT_ROLES))


def _has_object_permission(user, codename, establishment) -> bool:
    """Guardian grants only: superusers get no implicit write right on an establishment's data."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cache = user.__dict__.setdefault("_hopen_object_perms", {})
    if establishment.pk not in cache:
        cache[establishment.pk] = set(
            EstablishmentUserObjectPermission.objects.filter(user=user, content_object=establishment).values_list(
                "permission__codename", flat=True
            )
        )
    return codename in cache[establishment.pk]


def establishments_readable_by(user):
    """Every establishment the user may read, as a queryset."""
    return Establishment.objects.filter(establishment_read_filter(user))


def get_establishment_for_reading(user, finess) -> Establishment:
    """The establishment with this FINESS if the user may read it; 404 otherwise (existence not revealed)."""
    establishment = (
        establishments_readable_by(user)
        .select_related("region", "legal_entity", "ght", "ght__support")
        .filter(finess=str(finess).upper())
        .first()
    )
    if establishment is None:
        raise Http404("Établissement introuvable.")
    return establishment


# --- Dossiers and money (instruction §5.3.2 « Etape 2 », annexes 2 and 4) --------------------------------------


def dossier_read_filter(user) -> Q:
    """A Q object on `funding.Dossier`: national roles read every dossier; an ARS its region's; an establishment
    the dossiers it files or is a candidate member of; a GHT support director the dossiers of its GHT."""
    scope = scope_of(user)
    if scope.national:
        return Q()
    if scope.is_empty:
        return Q(pk__in=[])
    readable = establishments_readable_by(user).values("pk")
    condition = Q(establishment__in=readable) | Q(members__establishment__in=readable)
    if scope.region_ids:
        condition |= Q(region_id__in=scope.region_ids)
    if scope.ght_ids:
        condition |= Q(ght_id__in=scope.ght_ids)
    return condition


def dossiers_readable_by(user):
    from funding.models import Dossier

    matching = Dossier.objects.filter(dossier_read_filter(user)).values("pk")
    return Dossier.objects.filter(pk__in=matching)


def get_dossier_for_reading(user, reference):
    """The dossier with this reference if the user may read it; 404 otherwise (existence not revealed)."""
    dossier = (
        dossiers_readable_by(user)
        .select_related("establishment", "establishment__region", "ght", "ght__support", "region", "programme")
        .filter(reference=str(reference))
        .first()
    )
    if dossier is None:
        raise Http404("Dossier introuvable.")
    return dossier


def can_file_dossier(user, establishment) -> bool:
    """The establishment's director files its dossier (its editor when it has no director account, as for
    values); for a GHT dossier, the establishment is the GHT's support establishment (annex 3 §2)."""
    return can_declare_values(user, establishment) or (
        bool(establishment.ght_id)
        and establishment.ght_id in scope_of(user).ght_ids
        and establishment.ght.support_id == establishment.pk
    )


def can_prepare_dossier(user, establishment) -> bool:
    """Draft a dossier: the establishment's own roles, or its GHT's support director."""
    return can_enter_establishment_data(user, establishment) or (
        bool(establishment.ght_id) and establishment.ght_id in scope_of(user).ght_ids
    )


def may_prepare_some_dossier(user) -> bool:
    """Before reading a new dossier's body: does the user prepare dossiers anywhere (an establishment's own roles, a
    GHT support director)? A reader's creation is then refused (403) whatever its body says."""
    scope = scope_of(user)
    if scope.ght_ids:
        return True
    return _granted_establishments(user, ENTER_DATA).exists()


def can_manage_region_money(user, region) -> bool:
    """Decide on dossiers, seed and usage funding, refunds, quotas of a region: its ARS officers (annex 4)."""
    scope = scope_of(user)
    return Role.ARS_OFFICER in scope.roles and region.pk in scope.region_ids


def can_reissue_letter(user, dossier) -> bool:
    """Reissue a dossier's letter (its ARS's address was completed, its file was lost): the ARS of the region that
    sends it, or a platform administrator (who edits the ARS's address)."""
    return can_manage_region_money(user, dossier.region) or can_manage_referential(user)


def can_read_region_money(user, region) -> bool:
    scope = scope_of(user)
    return scope.national or (Role.ARS_OFFICER in scope.roles and region.pk in scope.region_ids)


def can_browse_envelopes(user) -> bool:
    """The envelope pages (annex 4 §3): the national roles and the ARS officers (each reads its own region)."""
    scope = scope_of(user)
    return scope.national or Role.ARS_OFFICER in scope.roles


def can_redeploy_envelopes(user) -> bool:
    """Annex 4 §1: « le ministère pourra redéployer une partie des fonds vers d'autres régions »."""
    return Role.DGOS_OFFICER in scope_of(user).roles


def can_delegate_credits(user) -> bool:
    """Annex 2 §3: the DGOS delegates the credits to the ARS by budget circular — the same national money role as
    the redeployment (the DGOS officer)."""
    return can_redeploy_envelopes(user)


def can_close_dossier(user, dossier) -> bool:
    """Closure (audit failure, abandonment): the region's ARS or the DGOS (officer or auditor)."""
    scope = scope_of(user)
    return can_manage_region_money(user, dossier.region) or bool(scope.roles & {Role.DGOS_OFFICER, Role.DGOS_AUDITOR})


# --- GHT IT governance (instruction §5.3.1 « Pour les GHT », annex 1 « déclinaison GHT ») ----------------------


def can_view_ght(user, ght) -> bool:
    """Read a GHT's IT governance: the national roles, the ARS of its region, its support director, and the users
    of any of its member establishments."""
    scope = scope_of(user)
    if scope.national or ght.region_id in scope.region_ids or ght.pk in scope.ght_ids:
        return True
    if scope.is_empty:
        return False
    return EstablishmentUserObjectPermission.objects.filter(
        user=user, permission__codename=VIEW_ESTABLISHMENT, content_object__ght_id=ght.pk
    ).exists()


def can_enter_ght_governance(user, ght) -> bool:
    """Deposit the SDSI, name the GHT CIO, enter GHT-level values (drafts): the support establishment's editor or
    director, or the GHT support director (§5.3.1: « déposé par l'établissement support »)."""
    if not ght.support_id:
        return False
    return ght.pk in scope_of(user).ght_ids or can_enter_establishment_data(user, ght.support)


def can_validate_ght_governance(user, ght) -> bool:
    """Validate the GHT CIO and declare the GHT-level values: the support establishment's director, or the GHT
    support director (§5.3.1: « un DSI de GHT validé par le directeur de l'établissement support »)."""
    if not ght.support_id:
        return False
    return ght.pk in scope_of(user).ght_ids or can_declare_establishment_data(user, ght.support)


def get_ght_for_reading(user, code):
    """The GHT with this code if the user may read it; 404 otherwise (existence not revealed)."""
    from .models import Ght

    ght = Ght.objects.select_related("region", "support").filter(code=str(code).upper()).first()
    if ght is None or not can_view_ght(user, ght):
        raise Http404("GHT introuvable.")
    return ght


# --- DGOS audits (instruction §5.2.1, annex 4 « procédure contradictoire ») -----------------------------------------

AUDIT_VISIBLE_TO_ESTABLISHMENT = ("awaiting_response", "concluded")  # from the draft findings on


def can_browse_audit_campaigns(user) -> bool:
    """The campaigns, their draws and their dashboard: the national roles."""
    return scope_of(user).national


def can_browse_audits(user) -> bool:
    """The audits menu: the national roles and the ARS officers (their region's audits); an establishment reaches its
    own audits from the notification of the draft findings."""
    scope = scope_of(user)
    return scope.national or Role.ARS_OFFICER in scope.roles


def can_create_audit_campaign(user) -> bool:
    """§5.2.1: « le pilotage d'actions de contrôle via des audits sur un échantillon aléatoire de dossiers »: the DGOS
    (officer or auditor) draws the campaigns; the ARS and the establishments do not."""
    return bool(scope_of(user).roles & {Role.DGOS_OFFICER, Role.DGOS_AUDITOR})


def can_conduct_audit(user) -> bool:
    """Check the lines, send the draft findings, decide: the DGOS auditor."""
    return Role.DGOS_AUDITOR in scope_of(user).roles


def audit_read_filter(user) -> Q:
    """A Q object on `audits.Audit`: the national roles read every audit; an ARS its region's; the establishment
    side (the establishment's roles, the GHT support director) its dossiers' audits once the draft findings are
    sent — never before (the draw is not announced)."""
    scope = scope_of(user)
    if scope.national:
        return Q()
    if scope.is_empty:
        return Q(pk__in=[])
    condition = Q(pk__in=[])
    if scope.region_ids and Role.ARS_OFFICER in scope.roles:
        condition |= Q(dossier__region_id__in=scope.region_ids)
    readable = establishments_readable_by(user).values("pk")
    own = Q(dossier__establishment__in=readable) | Q(dossier__members__establishment__in=readable)
    if scope.ght_ids:
        own |= Q(dossier__ght_id__in=scope.ght_ids)
    return condition | (own & Q(status__in=AUDIT_VISIBLE_TO_ESTABLISHMENT))


def can_respond_to_audit(user, audit) -> bool:
    """The establishment answers the draft findings: the roles that prepare its dossiers (the establishment's own
    roles, or the GHT support director for a GHT dossier)."""
    dossier = audit.dossier
    if can_prepare_dossier(user, dossier.establishment):
        return True
    return any(can_enter_establishment_data(user, m.establishment) for m in dossier.members.select_related("establishment"))


# --- National exports (issue 17: indicator values, dossiers with their ledger sums) ---------------------------------


def can_export_national_tables(user) -> bool:
    """The national exports of indicator values and of dossiers: the national roles (the nation, or one region) and
    the ARS officers (their region only); the establishments read their own figures on their pages."""
    scope = scope_of(user)
    return scope.national or (Role.ARS_OFFICER in scope.roles and bool(scope.region_ids))


def export_region_ids(user, region_code: str | None = None) -> frozenset | None:
    """The regions an export covers: None = the nation (national roles without filter). A region outside the
    user's scope, or unknown, raises Http404 (another tenant's data is not found, not forbidden)."""
    scope = scope_of(user)
    if not region_code:
        return None if scope.national else scope.region_ids
    region = Region.objects.filter(code=region_code).only("pk").first()
    if region is None or not (scope.national or region.pk in scope.region_ids):
        raise Http404("Région introuvable.")
    return frozenset({region.pk})

"""What the dossier services share: the rows locked in order, the audited fields, the people notified and the
collaborators (envelopes, letters) reached when called."""

import datetime

from django.urls import reverse
from django.utils import timezone

from funding import calendar
from hopen import permissions
from hopen.audit import snapshot
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Establishment, Role, User
from indicators import windows

from ..models import Dossier, DossierDomain

DOSSIER_FIELDS = [
    "status", "comment", "initialisation_requested_at", "initialised_at", "initialised_by", "transmitted_at",
    "transmitted_by", "review_started_at", "decided_at", "closed_at", "closed_by", "closure_kind", "closure_reason",
    "prerequisites_forecast_initial", "prerequisites_forecast",
]
DOMAIN_FIELDS = [
    "status", "rate", "target_deadline", "total_amount", "seed_amount", "seed_is_derogatory", "seed_paid_at",
    "usage_amount", "decision_reason", "refusal_kind", "decided_by", "decided_at", "targets_reached_at",
    "usage_notified_at", "usage_notified_by", "paid_at", "admitted_without_ami_reason", "admitted_without_ami_at",
    "admitted_without_ami_by",
]


# --- Collaborators written alongside (imported when called, so this module imports on its own) --------------------


def _envelopes():
    from envelopes import services

    return services


def _request_letter(*, dossier, kind, event_key, domain=None):
    from funding.letters.services import request_letter

    return request_letter(dossier=dossier, kind=kind, event_key=event_key, domain=domain)


# --- Helpers --------------------------------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def _date(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def _require_programme(programme):
    if programme is None:
        raise ApplicationError("Aucun programme n'est indiqué pour ce dossier (commande « load_programme »).")
    return programme


def _delay(code, programme):
    return calendar.programme_delay(code, programme)


def _require_filing_open(programme, now, action: str):
    """§5.3.2 « Etape 2 »: a dossier is filed within the programme's dossier window (`indicators.windows`); outside
    it `WindowClosed` (400, nothing written, nothing audited) with the closing date and the section."""
    return windows.require_open(programme, windows.DOSSIER_FILING, timezone.localdate(now), action=action)


def _targets_window(programme):
    """§5.3.1: the programme's usage-target window (target deadlines are bounded by it)."""
    return windows.programme_window(programme, windows.USAGE_TARGETS)


def _link(dossier) -> str:
    return reverse("funding:dossier_detail", args=[dossier.reference])


def _establishment_users(establishment_ids):
    return User.objects.filter(
        is_active=True,
        role_assignments__establishment_id__in=list(establishment_ids),
        role_assignments__role__in=[Role.ESTABLISHMENT_EDITOR, Role.ESTABLISHMENT_DIRECTOR],
    ).distinct()


def _ght_support_directors(ght_id):
    return User.objects.filter(
        is_active=True, role_assignments__role=Role.GHT_SUPPORT_DIRECTOR, role_assignments__ght_id=ght_id
    ).distinct()


def _ars_officers(region_id):
    return User.objects.filter(
        is_active=True, role_assignments__role=Role.ARS_OFFICER, role_assignments__region_id=region_id
    ).distinct()


def establishment_side(dossier):
    """The establishment's users (the filer's; for a GHT dossier also the GHT support directors) — the recipients of
    what is sent to the establishment's side of a dossier, here and in the audits (`audits.services`)."""
    users = list(_establishment_users([dossier.establishment_id]))
    if dossier.ght_id:
        users += list(_ght_support_directors(dossier.ght_id))
    return users


def _notify(recipients, message, dossier, *, exclude=None):
    from hopen.notifications import notify

    seen, unique = set(), []
    for user in recipients:
        if user.pk in seen or (exclude is not None and user.pk == exclude.pk):
            continue
        seen.add(user.pk)
        unique.append(user)
    notify(recipients=unique, message=message, link=_link(dossier), subject=f"HOP'EN — dossier {dossier.reference}")


def _lock_dossier(dossier_id) -> Dossier:
    """The dossier row, locked first (lock order: dossier, then domain, then envelope)."""
    return (
        Dossier.objects.select_for_update(of=("self",))
        .select_related("establishment", "establishment__ght", "establishment__region", "region", "ght", "programme")
        .get(pk=dossier_id)
    )


def _lock_domain(domain) -> tuple[Dossier, DossierDomain]:
    dossier = _lock_dossier(domain.dossier_id)
    locked = DossierDomain.objects.select_for_update(of=("self",)).get(pk=domain.pk)
    locked.dossier = dossier
    return dossier, locked


def _members(dossier) -> list[Establishment]:
    return list(
        Establishment.objects.filter(dossier_memberships__dossier=dossier).select_related("region").order_by("name")
    )


def _dossier_state(dossier) -> dict:
    return snapshot(dossier, DOSSIER_FIELDS)


def _domain_state(domain) -> dict:
    return snapshot(domain, DOMAIN_FIELDS)


def _domains_summary(dossier) -> list[str]:
    return [
        f"{d.domain_code} {d.rate} {d.target_deadline:%Y-%m-%d} {d.total_amount}"
        for d in dossier.domains.order_by("domain_code")
    ]


def _require_region_money(by, dossier, message):
    if not permissions.can_manage_region_money(by, dossier.region):
        raise PermissionRefused(message)

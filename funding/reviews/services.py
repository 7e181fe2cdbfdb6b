"""Project reviews (annex 4 §3: « Suivre l'avancement des projets via l'organisation de revues de projet
régionales a minima semestrielles »).

A review records its date, its participants, its notes and the new forecast dates: the date the establishment
expects to reach the HOP'EN prerequisites and, per selected domain, its target deadline. A changed date updates
`Dossier.prerequisites_forecast` / `DossierDomain.target_deadline`; the initial dates never change, and the gap
between the two is what the ARS's dashboard lists as « décalé » (`funding.dashboard.selectors`).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from funding.dossiers.models import Dossier, DossierStatus, DomainStatus
from funding.dossiers.rules import target_beyond_window_message
from hopen import permissions
from hopen.audit import audit_record, audit_record_many, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Role, User
from hopen.notifications import notify
from indicators import windows

from .models import ProjectReview, ProjectReviewForecast

REVIEW_REFUSED = (
    "Les revues de projet sont enregistrées par l'ARS de la région ou par l'établissement porteur du dossier."
)
NOT_IN_PROGRESS = (
    "Ce dossier n'est pas en cours : les revues de projet suivent les projets sélectionnés, entre la sélection "
    "et le versement du financement à l'usage (annexe 4 §3)."
)
# Domains whose target deadline a review may move: selected, targets not reached yet.
REVIEWABLE_DOMAIN_STATUSES = (DomainStatus.SELECTED,)


def can_record_review(user, dossier) -> bool:
    """The region's ARS officers, or the roles of the establishment that carries the dossier (its GHT support)."""
    return permissions.can_manage_region_money(user, dossier.region) or permissions.can_prepare_dossier(
        user, dossier.establishment
    )


def reviewable_domains(dossier) -> list:
    """The domains of the dossier whose target deadline a review may re-forecast (selected, targets not reached)."""
    return list(dossier.domains.filter(status__in=REVIEWABLE_DOMAIN_STATUSES).order_by("domain_code"))


def _establishment_users(dossier):
    users = User.objects.filter(
        is_active=True,
        role_assignments__establishment=dossier.establishment,
        role_assignments__role__in=[Role.ESTABLISHMENT_EDITOR, Role.ESTABLISHMENT_DIRECTOR],
    )
    if dossier.ght_id:
        users = users | User.objects.filter(
            is_active=True, role_assignments__ght_id=dossier.ght_id, role_assignments__role=Role.GHT_SUPPORT_DIRECTOR
        )
    return users.distinct()


def _ars_officers(region):
    return User.objects.filter(
        is_active=True, role_assignments__role=Role.ARS_OFFICER, role_assignments__region=region
    ).distinct()


def _french(value: datetime.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "non renseignée"


@transaction.atomic
def project_review_record(
    *,
    dossier: Dossier,
    held_on: datetime.date,
    participants: str,
    notes: str,
    prerequisites_forecast: datetime.date | None,
    domain_deadlines: dict[int, datetime.date],
    by,
) -> ProjectReview:
    """Annex 4 §3: record a project review of a dossier in progress, with its new forecast dates.

    `prerequisites_forecast`: the forecast date of attainment of the HOP'EN prerequisites (None: not discussed,
    unchanged). `domain_deadlines`: {DossierDomain pk: new target deadline} for selected domains of the dossier
    (an absent domain keeps its deadline). Only changed dates move the dossier's current dates; each change is
    kept on the review (`ProjectReviewForecast` with the previous deadline) and in the audit trail. A re-forecast
    deadline is bounded as at the filing (§5.3.1): not before the review's date, and within the programme's
    usage-target window (« avant le 1er janvier 2023 » for HOP'EN).
    The other party is notified: the establishment when the ARS records the review, the ARS otherwise.
    """
    dossier = (
        Dossier.objects.select_for_update(of=("self",))
        .select_related("establishment", "establishment__ght", "region", "programme")
        .get(pk=dossier.pk)
    )
    from_ars = permissions.can_manage_region_money(by, dossier.region)
    if not (from_ars or permissions.can_prepare_dossier(by, dossier.establishment)):
        raise PermissionRefused(REVIEW_REFUSED)
    if dossier.status != DossierStatus.IN_PROGRESS:
        raise ApplicationError(NOT_IN_PROGRESS)

    errors: dict[str, list[str]] = {}
    participants, notes = (participants or "").strip(), (notes or "").strip()
    if not participants:
        errors.setdefault("participants", []).append("Indiquez les participants de la revue.")
    if held_on is None:
        errors.setdefault("held_on", []).append("Indiquez la date de la revue.")
    elif held_on > timezone.localdate():
        errors.setdefault("held_on", []).append(
            "La date de la revue ne peut pas être dans le futur : une revue s'enregistre une fois tenue."
        )
    domains = {
        d.pk: d
        for d in dossier.domains.select_for_update(of=("self",)).filter(pk__in=list(domain_deadlines or {}))
    }
    targets_window = (
        windows.programme_window(dossier.programme, windows.USAGE_TARGETS) if domain_deadlines else None
    )
    for pk, deadline in (domain_deadlines or {}).items():
        domain = domains.get(int(pk))
        if domain is None:
            errors.setdefault("domain_deadlines", []).append("Ce domaine n'appartient pas au dossier.")
        elif deadline is None:
            errors.setdefault("domain_deadlines", []).append(f"{domain.domain_code} : indiquez l'échéance.")
        elif domain.status not in REVIEWABLE_DOMAIN_STATUSES and deadline != domain.target_deadline:
            errors.setdefault("domain_deadlines", []).append(
                f"{domain.domain_code} : l'échéance ne se modifie que pour un domaine sélectionné dont les cibles "
                f"ne sont pas encore atteintes ({domain.get_status_display().lower()})."
            )
        elif deadline != domain.target_deadline and held_on is not None and deadline < held_on:
            errors.setdefault("domain_deadlines", []).append(
                f"{domain.domain_code} : la nouvelle échéance ({_french(deadline)}) est antérieure à la revue du "
                f"{_french(held_on)}."
            )
        elif deadline != domain.target_deadline and not windows.date_within(targets_window, deadline):
            errors.setdefault("domain_deadlines", []).append(
                target_beyond_window_message(domain.domain_code, deadline, targets_window)
            )
    if errors:
        raise ValidationError(errors)

    review = ProjectReview.objects.create(
        dossier=dossier, held_on=held_on, participants=participants, notes=notes,
        prerequisites_forecast=prerequisites_forecast, recorded_by=by,
    )
    audit_record(
        actor=by, action="project_review.record", target=review,
        changes=diff({}, snapshot(review, ["held_on", "participants", "notes", "prerequisites_forecast"])),
    )

    changed = []  # human-readable lines for the notification
    dossier_before = snapshot(dossier, ["prerequisites_forecast"])
    if prerequisites_forecast is not None and prerequisites_forecast != dossier.prerequisites_forecast:
        changed.append(
            f"prérequis : {_french(dossier.prerequisites_forecast)} → {_french(prerequisites_forecast)}"
        )
        dossier.prerequisites_forecast = prerequisites_forecast
        if dossier.prerequisites_forecast_initial is None:
            # No date was announced with the dossier: the first one given at a review is the reference.
            dossier.prerequisites_forecast_initial = prerequisites_forecast
        dossier.updated_at = timezone.now()
        dossier.save(update_fields=["prerequisites_forecast", "prerequisites_forecast_initial", "updated_at"])
    forecasts, domain_changes = [], []
    for pk, deadline in sorted((domain_deadlines or {}).items(), key=lambda item: domains[int(item[0])].domain_code):
        domain = domains[int(pk)]
        if deadline == domain.target_deadline:
            continue
        before = snapshot(domain, ["target_deadline"])
        forecasts.append(
            ProjectReviewForecast(
                review=review, domain=domain, previous_deadline=domain.target_deadline, target_deadline=deadline
            )
        )
        changed.append(f"{domain.domain_code} : {_french(domain.target_deadline)} → {_french(deadline)}")
        domain.target_deadline = deadline
        domain.save(update_fields=["target_deadline"])
        domain_changes.append((domain, diff(before, snapshot(domain, ["target_deadline"]))))
    ProjectReviewForecast.objects.bulk_create(forecasts)
    dossier_changes = diff(dossier_before, snapshot(dossier, ["prerequisites_forecast"]))
    entries = ([(dossier, dossier_changes)] if dossier_changes else []) + domain_changes
    audit_record_many(actor=by, action="project_review.forecast_update", entries=entries)

    recipients = _ars_officers(dossier.region) if not from_ars else _establishment_users(dossier)
    summary = f" Nouvelles dates : {' ; '.join(changed)}." if changed else " Dates prévisionnelles inchangées."
    notify(
        recipients=[user for user in recipients if user.pk != by.pk],
        message=(
            f"Revue de projet du {_french(held_on)} enregistrée pour le dossier {dossier.reference} "
            f"({dossier.establishment.name}).{summary}"
        ),
        link=reverse("funding:dossier_reviews", args=[dossier.reference]),
        subject=f"HOP'EN — revue de projet du dossier {dossier.reference}",
    )
    return review

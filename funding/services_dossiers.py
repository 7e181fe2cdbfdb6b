"""Writes of the dossier workflow (instruction §5.3.2 « Etape 2 », annexes 2, 3 and 4): one service per transition
of the state machine declared in `funding.dossier_states`.

Every service: checks the permission (`hopen.permissions`), locks the dossier row first (`select_for_update`,
then the domain row; the envelope is locked after them, inside `envelopes.services`), asks the state machine
(`require_dossier_transition` / `require_domain_transition`: an impossible transition raises `TransitionRefused`,
HTTP 409), checks its preconditions (a clear French `ApplicationError` otherwise), writes, records the audit
trail in the same transaction (before → after), requests the letters of the decision (`funding.letters`) and
notifies the establishment and the ARS (in-app now, e-mail after commit).

Decisions documented here:
- Re-candidacy (annex 4 §1) is checked per candidate establishment and domain, at creation and again at
  transmission: a domain refused for that establishment cannot be presented again before
  `rules_dossiers.recandidacy_allowed_from`. An establishment cannot either present a domain already in one of
  its dossiers that is neither refused nor closed.
- Eligibility (§5.3.1) blocks the transmission when a candidate establishment is not eligible to apply on a domain
  of the dossier. A GHT dossier is filed by the support establishment, so it counts as validated by it.
- Seed funding (annex 2 §2, §5.1) is derogatory when a candidate establishment has not reached the HOP'EN
  prerequisites; it then needs the Hôpital numérique prerequisites and the derogatory deadline not passed.
- For a GHT dossier the domain's targets are reached when every candidate member has reached the prerequisites
  and the domain's targets; the usage funding is then notified once, to the support establishment (annex 3 §2).
- The usage funding is paid after the seed funding of the same domain, when there is one (annex 2 §2: « aucun
  versement intermédiaire entre l'amorçage éventuel et l'atteinte des cibles »).
"""

import datetime
import uuid
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.formatting import french_euros
from hopen.models import Establishment, Role, User
from indicators.models import Programme

from . import calendar
from .dossier_states import (
    TransitionRefused,
    dossier_status_after_decisions,
    require_dossier_transition,
    require_domain_transition,
)
from .models import CombinedActivity, SoftwareVendor
from .models_dossiers import (
    ClosureKind,
    DomainStatus,
    Dossier,
    DossierDomain,
    DossierDomainShare,
    DossierMember,
    DossierStatus,
    LetterKind,
    RefusalKind,
)
from .rules_dossiers import (
    DomainInput,
    domain_input_errors,
    domain_total,
    dossier_reference,
    member_amount,
    recandidacy_allowed_from,
    review_deadline,
    initialisation_deadline,
    seed_amount_errors,
    to_amount,
    usage_amount,
)
from .selectors import amount_grid
from .selectors_dossiers import (
    EDITABLE_STATUSES,
    SEED_PAYABLE_STATUSES,
    dossier_eligibility,
    eligibility_blockers,
    recandidacy_blocks,
)

HOPEN = "HOPEN"
DOSSIER_FIELDS = [
    "status", "comment", "initialisation_requested_at", "initialised_at", "initialised_by", "transmitted_at",
    "transmitted_by", "review_started_at", "decided_at", "closed_at", "closed_by", "closure_kind", "closure_reason",
    "prerequisites_forecast_initial", "prerequisites_forecast",
]
DOMAIN_FIELDS = [
    "status", "rate", "target_deadline", "total_amount", "seed_amount", "seed_is_derogatory", "seed_paid_at",
    "usage_amount", "decision_reason", "refusal_kind", "decided_by", "decided_at", "targets_reached_at",
    "usage_notified_at", "usage_notified_by", "paid_at",
]
__all__ = [
    "DomainInput", "TransitionRefused", "dossier_create", "dossier_request_initialisation", "dossier_initialise",
    "dossier_update", "dossier_transmit", "dossier_start_review", "domain_select", "domain_refuse",
    "domain_record_seed_payment", "domain_record_targets_reached", "domain_notify_usage",
    "domain_record_usage_payment", "dossier_close",
]


# --- Collaborators written alongside (imported when called, so this module imports on its own) --------------------


def _envelopes():
    from envelopes import services

    return services


def _request_letter(*, dossier, kind, event_key, domain=None):
    from .letters import request_letter

    return request_letter(dossier=dossier, kind=kind, event_key=event_key, domain=domain)


# --- Helpers --------------------------------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def _date(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def _programme() -> Programme:
    programme = Programme.objects.filter(code=HOPEN).first()
    if programme is None:
        raise ApplicationError("Le programme HOP'EN n'est pas chargé (commande « load_programme »).")
    return programme


def _delay(code):
    return calendar.programme_delay(code)


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


def _establishment_side(dossier):
    """The establishment's users (the filer's; for a GHT dossier also the GHT support directors)."""
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


# --- Creating and preparing a dossier -------------------------------------------------------------------------------


def _candidates(establishment, ght_members):
    """(GHT or None, candidate establishments). A GHT dossier is filed by the support establishment for candidate
    members of its GHT (annex 3 §2); otherwise the establishment is the only candidate."""
    if ght_members is None:
        return None, [establishment]
    ght = establishment.ght
    if ght is None or ght.support_id != establishment.pk:
        raise ApplicationError(
            f"{establishment.name} n'est pas l'établissement support d'un GHT : seul l'établissement support dépose "
            "un dossier de GHT pour ses établissements parties (annexe 3 §2)."
        )
    members = list(dict.fromkeys(ght_members))
    if not members:
        raise ApplicationError("Choisissez au moins un établissement candidat du GHT.")
    outsiders = [m.name for m in members if m.ght_id != ght.pk]
    if outsiders:
        raise ApplicationError(f"Ces établissements ne sont pas parties au GHT {ght.code} : {', '.join(outsiders)}.")
    return ght, members


def _lock_establishments(establishments):
    """Serialise the dossiers of the same establishments (creation, update, transmission): re-candidacy and
    duplicate checks then read a stable state."""
    ids = sorted({e.pk for e in establishments})
    list(Establishment.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk"))


def _vendors(domains) -> dict:
    ids = {int(v.pk if hasattr(v, "pk") else v) for d in domains for v in d.vendors}
    found = {v.pk: v for v in SoftwareVendor.objects.filter(pk__in=ids)} if ids else {}
    unknown = sorted(ids - set(found))
    if unknown:
        raise ApplicationError(f"Éditeur inconnu du référentiel RELIMS (identifiant {', '.join(map(str, unknown))}).")
    return found


def _shares(members, domains) -> dict:
    """{(establishment id, code): (combined activity, amount)}: annex 3 §2 flat amount of each candidate."""
    grid = amount_grid()
    if not grid.categories:
        raise ApplicationError("La grille des montants de l'annexe 3 n'est pas chargée : les montants ne peuvent pas être calculés.")
    activities = {
        record.establishment_id: record.value
        for record in CombinedActivity.objects.filter(establishment_id__in=[m.pk for m in members])
    }
    unknown = [m.name for m in members if activities.get(m.pk) is None]
    if unknown:
        raise ApplicationError(
            "Activité combinée inconnue, le montant forfaitaire ne peut pas être calculé (annexe 3 §1) : "
            f"{', '.join(unknown)}."
        )
    shares = {}
    for member in members:
        for domain in domains:
            try:
                amount = member_amount(activities[member.pk], domain.code, domain.rate, grid)
            except ValueError as error:
                raise ApplicationError(str(error)) from error
            shares[(member.pk, domain.code)] = (activities[member.pk], amount)
    return shares


def _check_domains(domains, today):
    errors = domain_input_errors(domains, today=today)
    if errors:
        raise ApplicationError(" ".join(m for messages in errors.values() for m in messages), extra={"errors": errors})


def _write_domains(dossier, domains, members):
    """Domains with their amounts (annex 3 §2: the total is the sum of the candidates' flat amounts)."""
    vendors = _vendors(domains)
    shares = _shares(members, domains)
    for domain in domains:
        total = domain_total(shares[(m.pk, domain.code)][1] for m in members)
        row = DossierDomain.objects.create(
            dossier=dossier, domain_code=domain.code, rate=domain.rate, target_deadline_initial=domain.target_deadline,
            target_deadline=domain.target_deadline, total_amount=total,
        )
        DossierDomainShare.objects.bulk_create(
            DossierDomainShare(
                domain=row, establishment=m, combined_activity=shares[(m.pk, domain.code)][0],
                amount=shares[(m.pk, domain.code)][1],
            )
            for m in members
        )
        chosen = [vendors[int(v.pk if hasattr(v, "pk") else v)] for v in domain.vendors]
        if chosen:
            row.vendors.set(chosen)


def _new_dossier(
    *, establishment, domains, by, ght_members, comment, status, now, prerequisites_forecast=None
) -> Dossier:
    if not permissions.can_prepare_dossier(by, establishment):
        raise PermissionRefused("Seul l'établissement (ou l'établissement support de son GHT) prépare ses dossiers.")
    programme = _programme()
    domains = list(domains)
    today = timezone.localdate(now)
    _check_domains(domains, today)
    ght, members = _candidates(establishment, ght_members)
    _lock_establishments([establishment, *members])
    errors = recandidacy_blocks(members, [d.code for d in domains], today)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"__all__": errors}})
    dossier = Dossier.objects.create(
        programme=programme, reference=f"tmp-{uuid.uuid4().hex}", establishment=establishment, ght=ght,
        region=establishment.region, status=status, comment=(comment or "").strip(), created_by=by, created_at=now,
        updated_at=now, initialisation_requested_at=now if status == DossierStatus.INITIALISATION_REQUESTED else None,
        # Annex 4 §3: the date announced now is the reference against which a later one is « décalée ».
        prerequisites_forecast_initial=prerequisites_forecast, prerequisites_forecast=prerequisites_forecast,
    )
    dossier.reference = dossier_reference(establishment.region.code, today.year, dossier.pk)
    dossier.save(update_fields=["reference"])
    DossierMember.objects.bulk_create(DossierMember(dossier=dossier, establishment=m) for m in members)
    _write_domains(dossier, domains, members)
    audit_record(
        actor=by, action="dossier.create", target=dossier,
        changes=diff({}, _dossier_state(dossier) | {
            "reference": dossier.reference, "members": [m.finess for m in members], "domains": _domains_summary(dossier),
        }),
    )
    return dossier


@transaction.atomic
def dossier_create(
    *, establishment, domains, by, ght_members=None, comment="", prerequisites_forecast=None, now=None
) -> Dossier:
    """§5.3.2 « Etape 2 »: the establishment (or, for a GHT, its support establishment for candidate members —
    annex 3 §2) prepares its dossier: domains with target deadline, rate and software vendors; the amount of each
    domain is the sum of the candidates' flat amounts (annex 3 §2)."""
    return _new_dossier(
        establishment=establishment, domains=domains, by=by, ght_members=ght_members, comment=comment,
        status=DossierStatus.DRAFT, now=_now(now), prerequisites_forecast=prerequisites_forecast,
    )


@transaction.atomic
def dossier_request_initialisation(
    *, establishment, domains, by, ght_members=None, comment="", prerequisites_forecast=None, now=None
) -> Dossier:
    """§5.3.2 « Etape 2 »: « L'ARS dispose d'un délai de 1 mois et demi pour initialiser le dossier d'un
    établissement / GHT qui en fait la demande » — the dossier waits for its ARS, which is notified."""
    now = _now(now)
    dossier = _new_dossier(
        establishment=establishment, domains=domains, by=by, ght_members=ght_members, comment=comment,
        status=DossierStatus.INITIALISATION_REQUESTED, now=now, prerequisites_forecast=prerequisites_forecast,
    )
    deadline = initialisation_deadline(timezone.localdate(now), _delay(calendar.ARS_INITIALISATION))
    _notify(
        _ars_officers(dossier.region_id),
        f"{establishment.name} demande l'initialisation de son dossier {dossier.reference} : l'ARS dispose d'un "
        f"mois et demi, jusqu'au {_date(deadline)} (instruction §5.3.2).",
        dossier,
    )
    return dossier


@transaction.atomic
def dossier_initialise(*, dossier, by, now=None) -> Dossier:
    """§5.3.2 « Etape 2 »: the ARS initialises the dossier requested; the establishment then completes and files it."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    _require_region_money(by, dossier, "Seule l'ARS de la région initialise le dossier d'un établissement.")
    target = require_dossier_transition(dossier.status, "initialise")
    before = _dossier_state(dossier)
    dossier.status, dossier.initialised_at, dossier.initialised_by, dossier.updated_at = target, now, by, now
    dossier.save()
    audit_record(actor=by, action="dossier.initialise", target=dossier, changes=diff(before, _dossier_state(dossier)))
    _notify(
        _establishment_side(dossier),
        f"L'ARS a initialisé le dossier {dossier.reference} : complétez-le puis transmettez-le.",
        dossier,
    )
    return dossier


@transaction.atomic
def dossier_update(
    *, dossier, domains, by, comment=None, ght_members=None, prerequisites_forecast=None, now=None
) -> Dossier:
    """Replace the domains (and the candidates of a GHT dossier) while the dossier is being prepared: by the
    establishment, or by the ARS while it initialises a dossier it was asked to."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    may_prepare = permissions.can_prepare_dossier(by, dossier.establishment)
    ars_initialising = (
        dossier.status == DossierStatus.INITIALISATION_REQUESTED and permissions.can_manage_region_money(by, dossier.region)
    )
    if not (may_prepare or ars_initialising):
        raise PermissionRefused("Seul l'établissement (ou l'ARS qui l'initialise) modifie ce dossier.")
    if dossier.status not in EDITABLE_STATUSES:
        raise TransitionRefused(
            f"Impossible de modifier le dossier : le dossier est « {DossierStatus(dossier.status).label} »."
        )
    domains = list(domains)
    today = timezone.localdate(now)
    _check_domains(domains, today)
    if dossier.ght_id:
        _, members = _candidates(dossier.establishment, ght_members if ght_members is not None else _members(dossier))
    else:
        members = [dossier.establishment]
    _lock_establishments([dossier.establishment, *members])
    errors = recandidacy_blocks(members, [d.code for d in domains], today, exclude_dossier=dossier)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"__all__": errors}})
    before = _dossier_state(dossier) | {
        "members": sorted(m.finess for m in _members(dossier)), "domains": _domains_summary(dossier),
    }
    dossier.domains.all().delete()
    dossier.members.all().delete()
    DossierMember.objects.bulk_create(DossierMember(dossier=dossier, establishment=m) for m in members)
    _write_domains(dossier, domains, members)
    if comment is not None:
        dossier.comment = comment.strip()
    if prerequisites_forecast is not None:  # still in preparation: the announced date is still the reference
        dossier.prerequisites_forecast_initial = dossier.prerequisites_forecast = prerequisites_forecast
    dossier.updated_at = now
    dossier.save()
    after = _dossier_state(dossier) | {"members": sorted(m.finess for m in members), "domains": _domains_summary(dossier)}
    audit_record(actor=by, action="dossier.update", target=dossier, changes=diff(before, after))
    return dossier


# --- Transmission and review ----------------------------------------------------------------------------------------


@transaction.atomic
def dossier_transmit(*, dossier, by, now=None) -> Dossier:
    """§5.3.2 « Etape 2 »: the establishment (its director; for a GHT, the support establishment) files its dossier
    with the ARS, which then has four months to decide (annex 4 §1). Refused when a candidate establishment is not
    eligible to apply on one of its domains (§5.3.1), or when a re-candidacy delay runs (annex 4 §1)."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    if not permissions.can_file_dossier(by, dossier.establishment):
        raise PermissionRefused(
            "La transmission revient à la direction de l'établissement (pour un GHT, à l'établissement support)."
        )
    target = require_dossier_transition(dossier.status, "transmit")
    today = timezone.localdate(now)
    members = _members(dossier)
    codes = list(dossier.domains.values_list("domain_code", flat=True))
    if not codes:
        raise ApplicationError("Le dossier ne porte sur aucun domaine : choisissez au moins un domaine avant de le transmettre.")
    _lock_establishments([dossier.establishment, *members])
    errors = recandidacy_blocks(members, codes, today, exclude_dossier=dossier)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"__all__": errors}})
    verdicts = dossier_eligibility(dossier, members, today=today)
    if verdicts is None:
        raise ApplicationError(
            "Le référentiel d'indicateurs HOP'EN n'est pas chargé : l'éligibilité ne peut pas être établie."
        )
    blockers = eligibility_blockers(dossier, members, verdicts)
    if blockers:
        raise ApplicationError(
            "Le dossier ne peut pas être transmis : conditions d'éligibilité non remplies (instruction §5.3.1). "
            + " ".join(blockers),
            extra={"reasons": blockers},
        )
    before = _dossier_state(dossier)
    dossier.status, dossier.transmitted_at, dossier.transmitted_by, dossier.updated_at = target, now, by, now
    dossier.save()
    audit_record(actor=by, action="dossier.transmit", target=dossier, changes=diff(before, _dossier_state(dossier)))
    deadline = review_deadline(today, _delay(calendar.ARS_DECISION))
    _notify(
        [*_ars_officers(dossier.region_id), *_establishment_side(dossier)],
        f"Dossier {dossier.reference} de {dossier.establishment.name} transmis à l'ARS le {_date(today)} : décision "
        f"attendue au plus tard le {_date(deadline)}, faute de quoi il est refusé (annexe 4 §1).",
        dossier, exclude=by,
    )
    return dossier


@transaction.atomic
def dossier_start_review(*, dossier, by, now=None) -> Dossier:
    """Annex 4 §1: the ARS opens the review of a transmitted dossier (the four months run from the transmission)."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    _require_region_money(by, dossier, "Seule l'ARS de la région instruit ce dossier.")
    target = require_dossier_transition(dossier.status, "start_review")
    before = _dossier_state(dossier)
    dossier.status, dossier.review_started_at, dossier.updated_at = target, now, now
    dossier.save()
    audit_record(actor=by, action="dossier.start_review", target=dossier, changes=diff(before, _dossier_state(dossier)))
    _notify(_establishment_side(dossier), f"L'ARS a ouvert l'instruction du dossier {dossier.reference}.", dossier)
    return dossier


# --- Decisions per domain (annex 4 §1, annex 2 §2) -------------------------------------------------------------------


def _seed_is_derogatory(dossier, members, today) -> bool:
    """§5.1: seed funding before the HOP'EN prerequisites are reached is derogatory, open only to establishments that
    have reached the Hôpital numérique prerequisites, and only until the derogatory deadline (01/01/2021)."""
    from .selectors_eligibility import derogatory_deadline
    from .selectors_progress import hn_prerequisites_reached, prerequisites_reached

    reached = prerequisites_reached([m.pk for m in members])
    behind = [m for m in members if not reached.get(m.pk)]
    if not behind:
        return False
    names = ", ".join(m.name for m in behind)
    deadline = derogatory_deadline()
    if today >= deadline:
        raise ApplicationError(
            f"Amorçage impossible : les prérequis HOP'EN ne sont pas atteints ({names}) et le délai dérogatoire est "
            f"échu (avant le {_date(deadline)}, instruction §5.1 et annexe 2 §2). Sélectionnez le domaine sans "
            "amorçage."
        )
    hn = hn_prerequisites_reached([m.pk for m in behind])
    without_hn = [m.name for m in behind if not hn.get(m.pk)]
    if without_hn:
        raise ApplicationError(
            "Amorçage dérogatoire impossible : les prérequis HOP'EN ne sont pas atteints et les prérequis Hôpital "
            f"numérique non plus ({', '.join(without_hn)}) ; l'amorçage en amont des prérequis HOP'EN suppose "
            "l'atteinte des prérequis Hôpital numérique (instruction §5.1). Sélectionnez le domaine sans amorçage."
        )
    return True


def _conclude_if_decided(dossier, by, now):
    """Annex 4 §1: when no domain is pending any more, the dossier is in progress (one domain selected at least:
    « l'ARS peut décider de sélectionner seulement une partie des domaines ») or refused; the selection letter,
    the funding agreement and a seed decision per domain with seed funding are requested."""
    domains = list(dossier.domains.all())
    target = dossier_status_after_decisions(d.status for d in domains)
    if target is None:
        return None
    require_dossier_transition(dossier.status, "decide")
    before = _dossier_state(dossier)
    dossier.status, dossier.decided_at, dossier.updated_at = target, now, now
    dossier.save()
    audit_record(actor=by, action="dossier.decide", target=dossier, changes=diff(before, _dossier_state(dossier)))
    from .letters import decision_letter_requests, request_letters

    request_letters(decision_letter_requests(dossier, domains))
    selected = [d.domain_code for d in domains if d.status == DomainStatus.SELECTED]
    refused = [d.domain_code for d in domains if d.status == DomainStatus.REFUSED]
    if target == DossierStatus.IN_PROGRESS:
        text = f"Décision de l'ARS sur le dossier {dossier.reference} : domaine(s) sélectionné(s) {', '.join(selected)}"
        text += f" ; refusé(s) {', '.join(refused)}." if refused else "."
    else:
        text = f"Décision de l'ARS sur le dossier {dossier.reference} : dossier refusé ({', '.join(refused)})."
    _notify([*_establishment_side(dossier), *_ars_officers(dossier.region_id)], text, dossier, exclude=by)
    return target


@transaction.atomic
def domain_select(*, domain, seed_amount, by, reason="", now=None) -> DossierDomain:
    """Annex 4 §1 and annex 2 §2: the region's ARS selects a domain and sets its seed funding (any amount from 0 to
    the domain's total, deducted from it), committed on the regional envelope — derogatory when the candidates have
    not reached the HOP'EN prerequisites (§5.1; the limits are checked under the envelope lock)."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "La sélection revient à l'ARS de la région du dossier.")
    target = require_domain_transition(domain.status, dossier.status, "select")
    errors = seed_amount_errors(seed_amount, domain.total_amount)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"seed_amount": errors}})
    seed = to_amount(seed_amount)
    derogatory = _seed_is_derogatory(dossier, _members(dossier), timezone.localdate(now)) if seed > 0 else False
    before = _domain_state(domain)
    domain.status, domain.seed_amount, domain.seed_is_derogatory = target, seed, derogatory
    domain.decision_reason, domain.refusal_kind = (reason or "").strip(), ""
    domain.decided_by, domain.decided_at = by, now
    domain.save()
    if seed > 0:
        _envelopes().seed_commit(
            dossier_domain=domain, amount=seed, is_derogatory=derogatory, by=by, on=timezone.localdate(now)
        )
    audit_record(actor=by, action="dossier_domain.select", target=domain, changes=diff(before, _domain_state(domain)))
    if _conclude_if_decided(dossier, by, now) is None:
        text = f"Domaine {domain.domain_code} du dossier {dossier.reference} sélectionné par l'ARS"
        text += f" (amorçage {french_euros(seed)}{', dérogatoire' if derogatory else ''})." if seed > 0 else "."
        _notify(_establishment_side(dossier), text, dossier)
    return domain


@transaction.atomic
def domain_refuse(*, domain, reason, refusal_kind, by, now=None) -> DossierDomain:
    """Annex 4 §1: « L'ARS doit indiquer à l'établissement / GHT les raisons de son refus » — the reason is
    mandatory, and its kind (financial, or feasibility / other) sets when the establishment may apply again."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "Le refus revient à l'ARS de la région du dossier.")
    target = require_domain_transition(domain.status, dossier.status, "refuse")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Le motif du refus est obligatoire : il est communiqué à l'établissement (annexe 4 §1).",
            extra={"errors": {"reason": ["Le motif du refus est obligatoire."]}},
        )
    if refusal_kind not in RefusalKind.values:
        raise ApplicationError(
            "Précisez la nature du refus : motif financier, ou faisabilité et autre motif (annexe 4 §1).",
            extra={"errors": {"refusal_kind": ["Choisissez la nature du refus."]}},
        )
    before = _domain_state(domain)
    domain.status, domain.decision_reason, domain.refusal_kind = target, reason, refusal_kind
    domain.seed_amount, domain.seed_is_derogatory = Decimal("0.00"), False
    domain.decided_by, domain.decided_at = by, now
    domain.save()
    audit_record(actor=by, action="dossier_domain.refuse", target=domain, changes=diff(before, _domain_state(domain)))
    if _conclude_if_decided(dossier, by, now) is None:
        text = f"Domaine {domain.domain_code} du dossier {dossier.reference} refusé par l'ARS : {reason}"
        delay = calendar.programme_delays().get(calendar.RECANDIDACY)
        if delay is not None:
            allowed = recandidacy_allowed_from(timezone.localdate(now), refusal_kind, delay)
            text += f" Nouvelle candidature possible à partir du {_date(allowed)} (annexe 4 §1)."
        _notify(_establishment_side(dossier), text, dossier)
    return domain


# --- Funding of a selected domain (annex 2 §2) ----------------------------------------------------------------------


@transaction.atomic
def domain_record_seed_payment(*, domain, by, now=None) -> DossierDomain:
    """Annex 2 §2: « Le financement consacré à l'amorçage correspond au versement d'une partie du soutien financier
    total lors de la sélection du dossier » — the ARS records the payment of the seed it decided."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "Le versement de l'amorçage revient à l'ARS de la région du dossier.")
    if dossier.status != DossierStatus.IN_PROGRESS:
        raise TransitionRefused(
            f"Impossible d'enregistrer le versement de l'amorçage : le dossier est « {DossierStatus(dossier.status).label} »."
        )
    if domain.status not in SEED_PAYABLE_STATUSES:
        raise TransitionRefused(
            f"Impossible d'enregistrer le versement de l'amorçage : le domaine est « {DomainStatus(domain.status).label} »."
        )
    if domain.seed_amount <= 0:
        raise ApplicationError(f"Aucun amorçage n'a été décidé pour le domaine {domain.domain_code}.")
    if domain.seed_paid_at is not None:
        raise TransitionRefused(
            f"L'amorçage du domaine {domain.domain_code} est déjà versé (le {_date(timezone.localdate(domain.seed_paid_at))})."
        )
    before = _domain_state(domain)
    _envelopes().seed_pay(dossier_domain=domain, by=by, on=timezone.localdate(now))
    domain.seed_paid_at = now
    domain.save()
    audit_record(actor=by, action="dossier_domain.seed_payment", target=domain, changes=diff(before, _domain_state(domain)))
    _notify(
        _establishment_side(dossier),
        f"Amorçage de {french_euros(domain.seed_amount)} versé pour le domaine {domain.domain_code} du dossier "
        f"{dossier.reference}.",
        dossier,
    )
    return domain


def progress_gaps(members, domain_code) -> list[str]:
    """Annex 2 §2: what stops the usage funding of a domain — every candidate must have reached the HOP'EN
    prerequisites and the domain's usage targets (declared values); one French line per gap."""
    from .selectors_progress import domain_targets_reached, prerequisites_reached

    ids = [m.pk for m in members]
    prerequisites = prerequisites_reached(ids)
    targets = domain_targets_reached(ids, [domain_code])
    gaps = []
    without_prerequisites = [m.name for m in members if not prerequisites.get(m.pk)]
    if without_prerequisites:
        gaps.append(f"prérequis HOP'EN (P1 à P4) non atteints : {', '.join(without_prerequisites)}")
    without_targets = [m.name for m in members if not targets.get((m.pk, domain_code))]
    if without_targets:
        gaps.append(f"cibles d'usage du domaine {domain_code} non atteintes : {', '.join(without_targets)}")
    return gaps


@transaction.atomic
def domain_record_targets_reached(*, domain, by, now=None) -> DossierDomain:
    """Annex 2 §2: « les soutiens financiers ne sont notifiés qu'une fois les seuils de prérequis et les valeurs
    cibles d'usage atteints par l'établissement, toutes activités confondues » — recorded by the establishment
    (its director; the GHT support establishment) or the ARS, from the declared values of every candidate."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    if not (
        permissions.can_file_dossier(by, dossier.establishment) or permissions.can_manage_region_money(by, dossier.region)
    ):
        raise PermissionRefused("L'atteinte des cibles est constatée par la direction de l'établissement ou par l'ARS.")
    target = require_domain_transition(domain.status, dossier.status, "reach_targets")
    gaps = progress_gaps(_members(dossier), domain.domain_code)
    if gaps:
        raise ApplicationError(
            f"Les cibles du domaine {domain.domain_code} ne peuvent pas être constatées d'après les valeurs "
            f"déclarées : {' ; '.join(gaps)} (annexe 2 §2).",
            extra={"reasons": gaps},
        )
    before = _domain_state(domain)
    domain.status, domain.targets_reached_at = target, now
    domain.save()
    audit_record(actor=by, action="dossier_domain.reach_targets", target=domain, changes=diff(before, _domain_state(domain)))
    _notify(
        [*_ars_officers(dossier.region_id), *_establishment_side(dossier)],
        f"Prérequis et cibles d'usage du domaine {domain.domain_code} atteints (dossier {dossier.reference}) : le "
        "financement à l'usage peut être notifié.",
        dossier, exclude=by,
    )
    return domain


@transaction.atomic
def domain_notify_usage(*, domain, by, now=None) -> DossierDomain:
    """Annex 2 §2: the usage funding of a domain — « le soutien financier (montant de l'amorçage soustrait si
    applicable) » — notified by the ARS when its targets are reached, « par domaine, même si les cibles d'usage ne
    sont pas atteintes pour un autre domaine », and committed on the regional envelope."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "La notification du financement à l'usage revient à l'ARS de la région.")
    target = require_domain_transition(domain.status, dossier.status, "notify_usage")
    amount = usage_amount(domain.total_amount, domain.seed_amount)
    before = _domain_state(domain)
    domain.status, domain.usage_amount = target, amount
    domain.usage_notified_at, domain.usage_notified_by = now, by
    domain.save()
    if amount > 0:
        _envelopes().usage_commit(dossier_domain=domain, amount=amount, by=by, on=timezone.localdate(now))
    audit_record(actor=by, action="dossier_domain.notify_usage", target=domain, changes=diff(before, _domain_state(domain)))
    _request_letter(
        dossier=dossier, kind=LetterKind.USAGE_NOTIFICATION, event_key=f"usage:{domain.pk}", domain=domain
    )
    _notify(
        _establishment_side(dossier),
        f"Financement à l'usage de {french_euros(amount)} notifié pour le domaine {domain.domain_code} du dossier "
        f"{dossier.reference}.",
        dossier,
    )
    return domain


@transaction.atomic
def domain_record_usage_payment(*, domain, by, now=None) -> DossierDomain:
    """Annex 2 §2: the usage funding notified is paid; when every selected domain is paid the dossier is completed."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "Le versement du financement à l'usage revient à l'ARS de la région.")
    target = require_domain_transition(domain.status, dossier.status, "pay_usage")
    if domain.seed_amount > 0 and domain.seed_paid_at is None:
        raise ApplicationError(
            f"Enregistrez d'abord le versement de l'amorçage du domaine {domain.domain_code} "
            f"({french_euros(domain.seed_amount)}) : le financement à l'usage en est le solde (annexe 2 §2)."
        )
    before = _domain_state(domain)
    if domain.usage_amount and domain.usage_amount > 0:
        _envelopes().usage_pay(dossier_domain=domain, by=by, on=timezone.localdate(now))
    domain.status, domain.paid_at = target, now
    domain.save()
    audit_record(actor=by, action="dossier_domain.usage_payment", target=domain, changes=diff(before, _domain_state(domain)))
    statuses = list(dossier.domains.values_list("status", flat=True))
    completed = all(s in (DomainStatus.PAID, DomainStatus.REFUSED) for s in statuses)
    if completed:
        dossier_before = _dossier_state(dossier)
        dossier.status = require_dossier_transition(dossier.status, "complete")
        dossier.updated_at = now
        dossier.save()
        audit_record(actor=by, action="dossier.complete", target=dossier, changes=diff(dossier_before, _dossier_state(dossier)))
    text = (
        f"Financement à l'usage de {french_euros(domain.usage_amount or Decimal('0'))} versé pour le domaine "
        f"{domain.domain_code} du dossier {dossier.reference}."
    )
    if completed:
        text += " Tous les domaines sélectionnés sont versés : le dossier est soldé."
    _notify(_establishment_side(dossier), text, dossier)
    return domain


# --- Closure (annex 4) ----------------------------------------------------------------------------------------------


@transaction.atomic
def dossier_close(*, dossier, kind, reason, by, now=None) -> Dossier:
    """Annex 4: « l'établissement / GHT voit son dossier clôturé. Il remboursera les montants perçus au titre de
    l'amorçage et de l'usage s'ils ont été perçus » — closure for an audit failure or an abandonment: the amounts
    committed and not paid return to the envelope; after an audit failure the amounts paid are claimed back
    (one refund claim letter per claim)."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    if not permissions.can_close_dossier(by, dossier):
        raise PermissionRefused("La clôture d'un dossier revient à l'ARS de la région ou à la DGOS.")
    target = require_dossier_transition(dossier.status, "close")
    reason = (reason or "").strip()
    if kind not in ClosureKind.values:
        raise ApplicationError(
            "Précisez le motif de clôture : contrôle non conforme ou abandon du projet.",
            extra={"errors": {"kind": ["Choisissez le motif de clôture."]}},
        )
    if not reason:
        raise ApplicationError(
            "Expliquez la clôture : l'explication est communiquée à l'établissement.",
            extra={"errors": {"reason": ["L'explication de la clôture est obligatoire."]}},
        )
    domains = list(DossierDomain.objects.select_for_update(of=("self",)).filter(dossier=dossier).order_by("pk"))
    envelopes = _envelopes()
    envelopes.commitments_release(dossier=dossier, reason=reason, by=by)
    claims = []
    if kind == ClosureKind.AUDIT_FAILURE:
        claims = envelopes.refund_claims_for(
            dossier_domains=domains, pots={"seed", "usage"}, reason=reason, key_prefix="audit-refund", by=by
        )
    before = _dossier_state(dossier)
    dossier.status, dossier.closed_at, dossier.closed_by = target, now, by
    dossier.closure_kind, dossier.closure_reason, dossier.updated_at = kind, reason, now
    dossier.save()
    audit_record(actor=by, action="dossier.close", target=dossier, changes=diff(before, _dossier_state(dossier)))
    by_pk = {d.pk: d for d in domains}
    for entry in claims:
        _request_letter(
            dossier=dossier, kind=LetterKind.REFUND_CLAIM, event_key=f"refund:{entry.pk}",
            domain=by_pk.get(entry.dossier_domain_id),
        )
    text = f"Dossier {dossier.reference} clôturé ({ClosureKind(kind).label}) : {reason}"
    if claims:
        total = sum((entry.amount for entry in claims), Decimal("0.00"))
        text += f" Remboursement demandé : {french_euros(total)}."
    _notify([*_establishment_side(dossier), *_ars_officers(dossier.region_id)], text, dossier, exclude=by)
    return dossier

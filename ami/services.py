"""Writes on AMI pre-candidatures: entry by the establishment, validation by its director then by the GHT
support establishment, ARS pre-selection decisions, and the comment thread. Each write is audited."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Role, User
from hopen.notifications import notify
from indicators.models import Programme, SemesterRange
from indicators.windows import AMI_FILING, WindowClosed, programme_windows

from .estimates import refresh_estimates
from .models import Decision, FilingStatus, PreCandidature, PreCandidatureComment, PreCandidatureDomain, Position
from .rules import AmiFilingState, ami_filing_state, priority_errors, semester_in_range

FIELDS = [
    "position", "hn_prerequisites_reached", "hn_prerequisites_forecast", "hopen_prerequisites_forecast",
    "referent_name", "referent_function", "referent_email", "referent_phone", "legal_representative_name",
    "legal_representative_function", "comment", "investment_amount", "business_stakes", "status", "is_late",
]


@dataclass
class DomainChoice:
    domain_code: str
    forecast_semester: str
    priority: int
    planning: str = ""


@dataclass
class PreCandidatureInput:
    position: str = Position.NONE
    hn_prerequisites_reached: bool | None = None
    hn_prerequisites_forecast: str = ""
    hopen_prerequisites_forecast: str = ""
    domains: list[DomainChoice] = field(default_factory=list)
    referent_name: str = ""
    referent_function: str = ""
    referent_email: str = ""
    referent_phone: str = ""
    legal_representative_name: str = ""
    legal_representative_function: str = ""
    comment: str = ""
    investment_amount: Decimal | None = None
    business_stakes: str = ""


def _range(programme, code):
    semester_range = SemesterRange.objects.filter(programme=programme, code=code).first()
    if semester_range is None:
        raise ApplicationError(f"Le calendrier du programme ne définit pas la plage « {code} ».")
    return semester_range


def input_errors(programme: Programme, data: PreCandidatureInput) -> dict[str, list[str]]:
    """Every problem with the input, by field, in French (annex 5 choices, 004 priorities)."""
    errors: dict[str, list[str]] = {}
    prerequisites = _range(programme, "prerequisites-forecast")
    domains_range = _range(programme, "domain-forecast")
    if data.position not in Position.values:
        errors.setdefault("position", []).append("Choisissez un positionnement : Aucune, En projet ou Définitive.")
    for name in ("hopen_prerequisites_forecast", "hn_prerequisites_forecast"):
        value = getattr(data, name)
        if value and not semester_in_range(value, prerequisites.first, prerequisites.last):
            errors.setdefault(name, []).append(
                f"Semestre « {value} » hors du calendrier : choisissez entre {prerequisites.first} et {prerequisites.last}."
            )
    if data.hn_prerequisites_reached is not False and data.hn_prerequisites_forecast:
        errors.setdefault("hn_prerequisites_forecast", []).append(
            "La période prévisionnelle d'atteinte des prérequis HN ne se renseigne que s'ils ne sont pas atteints."
        )
    codes = [d.domain_code for d in data.domains]
    if len(codes) != len(set(codes)):
        errors.setdefault("domains", []).append("Chaque domaine ne peut être choisi qu'une fois.")
    for choice in data.domains:
        if choice.domain_code not in {f"D{i}" for i in range(1, 8)}:
            errors.setdefault("domains", []).append(f"Domaine inconnu « {choice.domain_code} ».")
        if not semester_in_range(choice.forecast_semester, domains_range.first, domains_range.last):
            errors.setdefault("domains", []).append(
                f"{choice.domain_code} : semestre « {choice.forecast_semester} » hors du calendrier "
                f"(entre {domains_range.first} et {domains_range.last})."
            )
    if data.domains:
        for message in priority_errors([d.priority for d in data.domains]):
            errors.setdefault("domains", []).append(message)
    if data.investment_amount is not None and data.investment_amount < 0:
        errors.setdefault("investment_amount", []).append("Le montant de l'investissement ne peut pas être négatif.")
    return errors


def pre_candidature_of(establishment, programme) -> PreCandidature:
    """The establishment's pre-candidature on `programme` (created empty on first access: the tab always exists)."""
    pre_candidature, _ = PreCandidature.objects.get_or_create(establishment=establishment, programme=programme)
    return pre_candidature


def filing_state(programme, day: datetime.date) -> AmiFilingState:
    """§5.3.2 « Etape 1 »: the AMI windows of the programme on `day` (on time, late, or refused) — one query."""
    windows = programme_windows(programme)
    if AMI_FILING not in windows:
        raise ApplicationError(
            f"Le calendrier du programme {programme.name} ne déclare pas la fenêtre de dépôt des pré-candidatures : "
            "l'administrateur doit la charger avec le programme."
        )
    return ami_filing_state(windows, day)


def require_filing_open(programme, day: datetime.date, action: str) -> AmiFilingState:
    """The filing state if a pre-candidature may be saved or filed on `day`; else `WindowClosed` (date, section)."""
    state = filing_state(programme, day)
    if not state.is_open:
        raise WindowClosed(state.state, action)
    return state


def _domains_snapshot(pre_candidature):
    return [
        f"{d.domain_code} {d.forecast_semester} priorité {d.priority}"
        for d in pre_candidature.domains.order_by("priority")
    ]


SAVE_ACTION = "Enregistrement de la pré-candidature"
FILING_ACTION = "Dépôt de la pré-candidature"


@transaction.atomic
def pre_candidature_save(
    *, establishment, programme: Programme, data: PreCandidatureInput, by, now: datetime.datetime | None = None
) -> PreCandidature:
    """Annex 5: « Les items sont renseignés par l'établissement et modifiables uniquement par lui »; only while the
    AMI windows are open (§5.3.2 « Etape 1 »): a closed window refuses the draft too, nothing written."""
    if not permissions.can_enter_establishment_data(by, establishment):
        raise PermissionRefused("Seul l'établissement renseigne et modifie sa pré-candidature (annexe 5).")
    now = now or timezone.now()
    require_filing_open(programme, timezone.localdate(now), SAVE_ACTION)
    pre_candidature = PreCandidature.objects.select_for_update().get(pk=pre_candidature_of(establishment, programme).pk)
    if pre_candidature.status != FilingStatus.DRAFT:
        raise ApplicationError("La pré-candidature est déjà validée : elle ne peut plus être modifiée.")
    errors = input_errors(programme, data)
    if errors:
        raise ValidationError(errors)
    before = snapshot(pre_candidature, FIELDS) | {"domains": _domains_snapshot(pre_candidature)}
    for name in FIELDS[:-2]:
        value = getattr(data, name)
        setattr(pre_candidature, name, value.strip() if isinstance(value, str) else value)
    pre_candidature.updated_at = now
    pre_candidature.full_clean(exclude=["establishment", "programme", "validated_by", "support_validated_by"])
    pre_candidature.save()
    pre_candidature.domains.all().delete()
    PreCandidatureDomain.objects.bulk_create(
        PreCandidatureDomain(
            pre_candidature=pre_candidature, domain_code=c.domain_code, forecast_semester=c.forecast_semester,
            priority=c.priority, planning=c.planning.strip(),
        )
        for c in data.domains
    )
    refresh_estimates(pre_candidature_ids=[pre_candidature.pk])
    after = snapshot(pre_candidature, FIELDS) | {"domains": _domains_snapshot(pre_candidature)}
    audit_record(actor=by, action="pre_candidature.save", target=pre_candidature, changes=diff(before, after))
    return pre_candidature


def _needs_support_validation(establishment) -> bool:
    """Annex 5 / §5.3.2: public members of a GHT also need the support establishment's director's validation."""
    ght = establishment.ght
    return ght is not None and ght.support_id is not None and ght.support_id != establishment.pk


def _support_directors(ght):
    return User.objects.filter(
        is_active=True, role_assignments__role=Role.GHT_SUPPORT_DIRECTOR, role_assignments__ght=ght
    ).distinct()


def _establishment_users(establishment):
    return User.objects.filter(
        is_active=True,
        role_assignments__establishment=establishment,
        role_assignments__role__in=[Role.ESTABLISHMENT_EDITOR, Role.ESTABLISHMENT_DIRECTOR],
    ).distinct()


def _ars_officers(region):
    return User.objects.filter(is_active=True, role_assignments__role=Role.ARS_OFFICER, role_assignments__region=region).distinct()


def _link(pre_candidature):
    return reverse("ami:tab", args=[pre_candidature.establishment.finess])


def _file(pre_candidature, now, filing: AmiFilingState):
    pre_candidature.status = FilingStatus.FILED
    pre_candidature.filed_at = now
    pre_candidature.is_late = filing.is_late


@transaction.atomic
def pre_candidature_validate(*, pre_candidature: PreCandidature, by, now: datetime.datetime | None = None) -> PreCandidature:
    """The establishment's director validates; a GHT member then waits for its support establishment."""
    now = now or timezone.now()
    pre_candidature = PreCandidature.objects.select_for_update(of=("self",)).select_related(
        "establishment__ght", "programme"
    ).get(pk=pre_candidature.pk)
    establishment = pre_candidature.establishment
    if not permissions.can_enter_establishment_data(by, establishment):
        raise PermissionRefused("Seul l'établissement valide sa pré-candidature.")
    if not permissions.can_declare_values(by, establishment):
        raise PermissionRefused("La validation revient au directeur de l'établissement.")
    if pre_candidature.status != FilingStatus.DRAFT:
        raise ApplicationError("La pré-candidature est déjà validée.")
    filing = require_filing_open(pre_candidature.programme, timezone.localdate(now), FILING_ACTION)
    if not pre_candidature.domains.exists():
        raise ApplicationError("Choisissez au moins un domaine (avec son semestre prévisionnel) avant de valider.")
    before = snapshot(pre_candidature, FIELDS)
    pre_candidature.validated_by, pre_candidature.validated_at = by, now
    if _needs_support_validation(establishment):
        pre_candidature.status = FilingStatus.AWAITING_SUPPORT
    else:
        _file(pre_candidature, now, filing)
    pre_candidature.save()
    audit_record(actor=by, action="pre_candidature.validate", target=pre_candidature, changes=diff(before, snapshot(pre_candidature, FIELDS)))
    if pre_candidature.status == FilingStatus.AWAITING_SUPPORT:
        notify(
            recipients=_support_directors(establishment.ght),
            message=f"La pré-candidature de {establishment.name} attend la validation de l'établissement support.",
            link=_link(pre_candidature),
        )
    else:
        notify(
            recipients=_ars_officers(establishment.region),
            message=f"Nouvelle pré-candidature déposée : {establishment.name}{' (tardive)' if pre_candidature.is_late else ''}.",
            link=_link(pre_candidature),
        )
    return pre_candidature


@transaction.atomic
def pre_candidature_validate_as_support(*, pre_candidature: PreCandidature, by, now=None) -> PreCandidature:
    """The GHT support establishment's director validates a member's pre-candidature: it is then filed."""
    now = now or timezone.now()
    pre_candidature = PreCandidature.objects.select_for_update(of=("self",)).select_related(
        "establishment__ght", "programme"
    ).get(pk=pre_candidature.pk)
    establishment = pre_candidature.establishment
    if not permissions.can_view_establishment(by, establishment):
        raise PermissionRefused("Action non autorisée.")
    if establishment.ght_id is None or establishment.ght_id not in permissions.scope_of(by).ght_ids:
        raise PermissionRefused("Seul le directeur de l'établissement support du GHT valide cette pré-candidature.")
    if pre_candidature.status != FilingStatus.AWAITING_SUPPORT:
        raise ApplicationError("Cette pré-candidature n'attend pas la validation de l'établissement support.")
    filing = require_filing_open(pre_candidature.programme, timezone.localdate(now), FILING_ACTION)
    before = snapshot(pre_candidature, FIELDS)
    pre_candidature.support_validated_by, pre_candidature.support_validated_at = by, now
    _file(pre_candidature, now, filing)
    pre_candidature.save()
    audit_record(
        actor=by, action="pre_candidature.validate_as_support", target=pre_candidature,
        changes=diff(before, snapshot(pre_candidature, FIELDS)),
    )
    notify(
        recipients=list(_establishment_users(establishment)) + list(_ars_officers(establishment.region)),
        message=f"Pré-candidature de {establishment.name} validée par l'établissement support et déposée.",
        link=_link(pre_candidature),
    )
    return pre_candidature


def can_decide(user, establishment) -> bool:
    """ARS pre-selection: the ARS officers of the establishment's region."""
    return establishment.region_id in permissions.scope_of(user).region_ids and Role.ARS_OFFICER in permissions.scope_of(user).roles


@transaction.atomic
def pre_candidature_decide(
    *, domain: PreCandidatureDomain, decision: str, reason: str, by, now: datetime.datetime | None = None
) -> PreCandidatureDomain:
    """Per domain, the ARS pre-selects or rejects (reason mandatory on rejection); the establishment is notified.
    `now`: the date of the decision (the demo data dates it in the AMI's calendar)."""
    domain = PreCandidatureDomain.objects.select_for_update(of=("self",)).select_related(
        "pre_candidature__establishment", "pre_candidature__programme"
    ).get(pk=domain.pk)
    establishment = domain.pre_candidature.establishment
    if not permissions.can_view_establishment(by, establishment):
        raise PermissionRefused("Action non autorisée.")
    if not can_decide(by, establishment):
        raise PermissionRefused("La présélection revient à l'ARS de la région de l'établissement.")
    if domain.pre_candidature.status != FilingStatus.FILED:
        raise ApplicationError("La pré-candidature n'est pas encore déposée.")
    if decision not in (Decision.PRESELECTED, Decision.REJECTED):
        raise ValidationError({"decision": "Choisissez « présélectionner » ou « ne pas retenir »."})
    if decision == Decision.REJECTED and not reason.strip():
        raise ValidationError({"decision_reason": "Le motif est obligatoire pour ne pas retenir un domaine."})
    before = snapshot(domain, ["decision", "decision_reason"])
    domain.decision, domain.decision_reason = decision, reason.strip()
    domain.decided_by, domain.decided_at = by, now or timezone.now()
    domain.save()
    audit_record(actor=by, action="pre_candidature.decide", target=domain, changes=diff(before, snapshot(domain, ["decision", "decision_reason"])))
    label = "présélectionné" if decision == Decision.PRESELECTED else f"non retenu ({domain.decision_reason})"
    notify(
        recipients=_establishment_users(establishment),
        message=f"AMI {domain.pre_candidature.programme.name} — domaine {domain.domain_code} de {establishment.name} : {label} par l'ARS.",
        link=_link(domain.pre_candidature),
    )
    return domain


@transaction.atomic
def pre_candidature_comment(*, pre_candidature: PreCandidature, body: str, by) -> PreCandidatureComment:
    """The establishment and its ARS exchange on the pre-candidature; the other side is notified."""
    establishment = pre_candidature.establishment
    from_establishment = permissions.can_enter_establishment_data(by, establishment)
    from_ars = can_decide(by, establishment)
    if not (from_establishment or from_ars):
        raise PermissionRefused("Seuls l'établissement et son ARS échangent sur cette pré-candidature.")
    if not body.strip():
        raise ValidationError({"body": "Le message est vide."})
    comment = PreCandidatureComment.objects.create(pre_candidature=pre_candidature, author=by, body=body.strip())
    audit_record(actor=by, action="pre_candidature.comment", target=comment, changes={"body": [None, comment.body]})
    recipients = _ars_officers(establishment.region) if from_establishment else _establishment_users(establishment)
    notify(
        recipients=[u for u in recipients if u.pk != by.pk],
        message=f"Nouveau message sur la pré-candidature AMI de {establishment.name}.",
        link=_link(pre_candidature),
    )
    return comment



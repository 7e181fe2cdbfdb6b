"""Filing a dossier (instruction §5.3.2 « Etape 2 »): creation, initialisation asked of and done by the ARS, update
while in preparation, transmission to the ARS (eligibility §5.3.1, re-candidacy annex 4 §1) and start of review."""

import uuid

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from funding import calendar
from funding.eligibility.models import SoftwareVendor
from funding.models import CombinedActivity
from funding.selectors import amount_grid
from hopen import permissions
from hopen.audit import audit_record, diff
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Establishment
from indicators import windows

from .. import gates
from ..gate_facts import advanced_rate_refusals, ami_preselections
from ..models import Dossier, DossierDomain, DossierDomainShare, DossierMember, DossierStatus
from ..rules import (
    domain_input_errors,
    domain_total,
    dossier_reference,
    member_amount,
    review_deadline,
    initialisation_deadline,
)
from ..selectors import EDITABLE_STATUSES, dossier_eligibility, eligibility_blockers, recandidacy_blocks
from ..states import TransitionRefused, require_dossier_transition
from .common import (
    _ars_officers,
    _date,
    _delay,
    _domains_summary,
    _dossier_state,
    establishment_side,
    _lock_dossier,
    _members,
    _notify,
    _now,
    _require_filing_open,
    _require_programme,
    _require_region_money,
    _targets_window,
)


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


def _shares(members, domains, programme) -> dict:
    """{(establishment id, code): (combined activity, amount)}: annex 3 §2 flat amount of each candidate, from the
    programme's grid."""
    grid = amount_grid(programme)
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


def _check_domains(domains, today, programme):
    """The domains as typed; a target deadline is not past and within the programme's usage-target window
    (§5.3.1, « Instruction, §5.3.1 » for HOP'EN)."""
    errors = domain_input_errors(
        domains, today=today, targets_window=_targets_window(programme),
        advanced_domains=(programme.advanced_rate_indicators or {}).keys(),
    )
    if errors:
        raise ApplicationError(" ".join(m for messages in errors.values() for m in messages), extra={"errors": errors})


def _require_ami_preselection(programme, members, codes, today, *, admitted=frozenset(), filing=True):
    """§5.3.2 « Etape 2 »: each domain pre-selected at the AMI for each candidate (`gates.ami_preselection_gate`),
    or admitted by the ARS without it; while the late candidature window is open a dossier being filed may name such
    a domain — the ARS admits it before the transmission (§5.3.2 « Exceptionnellement … »)."""
    late_open = filing and windows.programme_window(programme, windows.AMI_LATE_FILING).is_open(today)
    gates.require(
        gates.ami_preselection_gate(
            [(m.pk, m.name) for m in members], codes,
            preselected=ami_preselections([m.pk for m in members], codes, programme=programme),
            admitted=admitted, late_window_open=late_open,
        ),
        "Dépôt du dossier" if filing else "Envoi du dossier à l'ARS",
    )


def _require_advanced_rate(programme, members, rates, action):
    """Annex 3 §3: an advanced rate only when the programme's structured-format indicator of the domain is declared
    reached by every candidate (`gate_facts.advanced_rate_refusals`); `rates`: [(domain code, rate)]."""
    gates.require(advanced_rate_refusals(programme, members, rates), action)


def _write_domains(dossier, domains, members, admissions=None):
    """Domains with their amounts (annex 3 §2: the total is the sum of the candidates' flat amounts)."""
    vendors = _vendors(domains)
    shares = _shares(members, domains, dossier.programme)
    for domain in domains:
        total = domain_total(shares[(m.pk, domain.code)][1] for m in members)
        row = DossierDomain.objects.create(
            dossier=dossier, domain_code=domain.code, rate=domain.rate, target_deadline_initial=domain.target_deadline,
            target_deadline=domain.target_deadline, total_amount=total, **(admissions or {}).get(domain.code, {}),
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
    *, establishment, domains, by, ght_members, comment, status, now, programme, action, prerequisites_forecast=None
) -> Dossier:
    if not permissions.can_prepare_dossier(by, establishment):
        raise PermissionRefused("Seul l'établissement (ou l'établissement support de son GHT) prépare ses dossiers.")
    programme = _require_programme(programme)
    _require_filing_open(programme, now, action)
    domains = list(domains)
    today = timezone.localdate(now)
    _check_domains(domains, today, programme)
    ght, members = _candidates(establishment, ght_members)
    _lock_establishments([establishment, *members])
    errors = recandidacy_blocks(members, [d.code for d in domains], today, programme=programme)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"__all__": errors}})
    _require_ami_preselection(programme, members, [d.code for d in domains], today)
    _require_advanced_rate(programme, members, [(d.code, d.rate) for d in domains], "Dépôt du dossier")
    dossier = Dossier.objects.create(
        programme=programme, reference=f"tmp-{uuid.uuid4().hex}", establishment=establishment, ght=ght,
        region=establishment.region, status=status, comment=(comment or "").strip(), created_by=by, created_at=now,
        updated_at=now, initialisation_requested_at=now if status == DossierStatus.INITIALISATION_REQUESTED else None,
        # Annex 4 §3: the date announced now is the reference against which a later one is « décalée ».
        prerequisites_forecast_initial=prerequisites_forecast, prerequisites_forecast=prerequisites_forecast,
    )
    dossier.reference = dossier_reference(programme.code, establishment.region.code, today.year, dossier.pk)
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
    *, establishment, domains, by, programme, ght_members=None, comment="", prerequisites_forecast=None, now=None
) -> Dossier:
    """§5.3.2 « Etape 2 »: the establishment (or, for a GHT, its support establishment for candidate members —
    annex 3 §2) prepares its dossier on `programme`: domains with target deadline, rate and software vendors; the
    amount of each domain is the sum of the candidates' flat amounts (annex 3 §2). Refused outside the programme's
    dossier window (§5.3.2: « jusqu'au 31/12/2021 » for HOP'EN) and for a target deadline beyond its usage-target
    window (§5.3.1)."""
    return _new_dossier(
        establishment=establishment, domains=domains, by=by, ght_members=ght_members, comment=comment,
        status=DossierStatus.DRAFT, now=_now(now), programme=programme, action="Dépôt du dossier",
        prerequisites_forecast=prerequisites_forecast,
    )


@transaction.atomic
def dossier_request_initialisation(
    *, establishment, domains, by, programme, ght_members=None, comment="", prerequisites_forecast=None, now=None
) -> Dossier:
    """§5.3.2 « Etape 2 »: « L'ARS dispose d'un délai de 1 mois et demi pour initialiser le dossier d'un
    établissement / GHT qui en fait la demande » — the dossier waits for its ARS, which is notified. A filing too:
    refused outside the programme's dossier window."""
    now = _now(now)
    dossier = _new_dossier(
        establishment=establishment, domains=domains, by=by, ght_members=ght_members, comment=comment,
        status=DossierStatus.INITIALISATION_REQUESTED, now=now, programme=programme,
        action="Dépôt de la demande d'initialisation", prerequisites_forecast=prerequisites_forecast,
    )
    deadline = initialisation_deadline(timezone.localdate(now), _delay(calendar.ARS_INITIALISATION, dossier.programme))
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
        establishment_side(dossier),
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
    _check_domains(domains, today, dossier.programme)
    if dossier.ght_id:
        _, members = _candidates(dossier.establishment, ght_members if ght_members is not None else _members(dossier))
    else:
        members = [dossier.establishment]
    _lock_establishments([dossier.establishment, *members])
    errors = recandidacy_blocks(
        members, [d.code for d in domains], today, programme=dossier.programme, exclude_dossier=dossier
    )
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"__all__": errors}})
    admissions = {  # an ARS admission without AMI pre-selection stays with its domain (§5.3.2)
        row["domain_code"]: {k: v for k, v in row.items() if k != "domain_code"}
        for row in dossier.domains.filter(admitted_without_ami_at__isnull=False).values(
            "domain_code", "admitted_without_ami_reason", "admitted_without_ami_at", "admitted_without_ami_by_id"
        )
    }
    _require_ami_preselection(dossier.programme, members, [d.code for d in domains], today, admitted=set(admissions))
    _require_advanced_rate(dossier.programme, members, [(d.code, d.rate) for d in domains], "Modification du dossier")
    before = _dossier_state(dossier) | {
        "members": sorted(m.finess for m in _members(dossier)), "domains": _domains_summary(dossier),
    }
    dossier.domains.all().delete()
    dossier.members.all().delete()
    DossierMember.objects.bulk_create(DossierMember(dossier=dossier, establishment=m) for m in members)
    _write_domains(dossier, domains, members, admissions)
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
    eligible to apply on one of its domains (§5.3.1), when a domain names no software vendor (§5.3.1: the RELIMS / QHN
    rule applies to the vendors picked — `gates.vendors_named_gate`), when a re-candidacy delay runs (annex 4 §1), or
    when a domain was neither pre-selected at the AMI for a candidate nor admitted without it by the ARS (§5.3.2)."""
    now = _now(now)
    dossier = _lock_dossier(dossier.pk)
    if not permissions.can_file_dossier(by, dossier.establishment):
        raise PermissionRefused(
            "La transmission revient à la direction de l'établissement (pour un GHT, à l'établissement support)."
        )
    target = require_dossier_transition(dossier.status, "transmit")
    _require_filing_open(dossier.programme, now, "Envoi du dossier à l'ARS")
    today = timezone.localdate(now)
    members = _members(dossier)
    rows = list(
        dossier.domains.annotate(vendor_count=Count("vendors")).order_by("domain_code")
        .values_list("domain_code", "admitted_without_ami_at", "vendor_count", "rate")
    )
    codes = [code for code, _, _, _ in rows]
    if not codes:
        raise ApplicationError("Le dossier ne porte sur aucun domaine : choisissez au moins un domaine avant de le transmettre.")
    gates.require(gates.vendors_named_gate([(code, n) for code, _, n, _ in rows]), "Envoi du dossier à l'ARS")
    _lock_establishments([dossier.establishment, *members])
    errors = recandidacy_blocks(members, codes, today, programme=dossier.programme, exclude_dossier=dossier)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"__all__": errors}})
    _require_ami_preselection(
        dossier.programme, members, codes, today, admitted={code for code, at, _, _ in rows if at}, filing=False
    )
    _require_advanced_rate(dossier.programme, members, [(code, rate) for code, _, _, rate in rows], "Envoi du dossier à l'ARS")
    verdicts = dossier_eligibility(dossier, members, today=today)
    if verdicts is None:
        raise ApplicationError(
            f"Le référentiel d'indicateurs du programme {dossier.programme.name} n'est pas chargé : l'éligibilité ne "
            "peut pas être établie."
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
    deadline = review_deadline(today, _delay(calendar.ARS_DECISION, dossier.programme))
    _notify(
        [*_ars_officers(dossier.region_id), *establishment_side(dossier)],
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
    _notify(establishment_side(dossier), f"L'ARS a ouvert l'instruction du dossier {dossier.reference}.", dossier)
    return dossier

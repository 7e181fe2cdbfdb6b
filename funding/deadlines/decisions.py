"""The ARS's delays on a dossier (annex 4 §1, instruction §5.3.2 « Etape 2 »): jobs a–c of the sweep — the refusal
by silence after four months, the reminder before it, the alert on an initialisation not done in time."""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from funding.calendar import ARS_DECISION, ARS_DECISION_REMINDER, ARS_INITIALISATION
from funding.dossiers.models import (
    SILENCE_REFUSAL_REASON,
    DomainStatus,
    Dossier,
    DossierDomain,
    DossierStatus,
    RefusalKind,
)
from funding.dossiers.states import dossier_status_after_decisions
from funding.letters.services import decision_letter_requests, request_letters
from hopen.audit import audit_record_many

from .common import (
    AWAITING_DECISION,
    Event,
    Note,
    _ars_officers,
    _column,
    _day,
    _dossier_link,
    _dossier_parties,
    _due_on,
    add_counts,
    logger,
    notify_many,
    programmes_with_delays,
    record_events,
)
from .models import DeadlineEvent, DeadlineEventKind

# --- a. Silence of the ARS: refusal after four months (annex 4 §1) ----------------------------------------------------


@transaction.atomic
def refuse_silent_dossiers(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §1: « L'ARS doit se prononcer au bout de quatre mois au plus tard (à compter de la transmission du
    dossier […]). Au-delà de quatre mois, le dossier est considéré comme refusé par l'ARS » — for every programme,
    with its delay."""
    counts = {"dossiers": 0, "domains": 0, "notifications": 0, "letters": 0}
    for programme, delays in programmes_with_delays():
        add_counts(counts, _refuse_silent_dossiers(as_of, programme, delays[ARS_DECISION]))
    return counts


def _refuse_silent_dossiers(as_of, programme, delay) -> dict[str, int]:
    now = timezone.now()
    dossiers = list(
        Dossier.objects.select_for_update(of=("self",))
        .select_related("establishment")
        .filter(programme=programme, status__in=AWAITING_DECISION, transmitted_at__isnull=False)
        .alias(decision_due=_due_on(_column(Dossier, "transmitted_at"), delay))
        # « au bout de quatre mois au plus tard » is the last day to decide; « au-delà », the day after, refused.
        .filter(decision_due__lt=as_of)
        .order_by("pk")
    )
    counts = {"dossiers": 0, "domains": 0, "notifications": 0, "letters": 0}
    if not dossiers:
        return counts
    by_id = {dossier.pk: dossier for dossier in dossiers}
    domains = list(DossierDomain.objects.filter(dossier_id__in=by_id).order_by("pk"))
    pending = [domain for domain in domains if domain.status == DomainStatus.PENDING]
    statuses = defaultdict(list)
    for domain in domains:
        refused = domain.status == DomainStatus.PENDING
        statuses[domain.dossier_id].append(DomainStatus.REFUSED if refused else domain.status)
    outcome = {pk: dossier_status_after_decisions(statuses[pk]) or DossierStatus.REFUSED for pk in by_id}
    for status in (DossierStatus.REFUSED, DossierStatus.IN_PROGRESS):
        ids = [pk for pk, target in outcome.items() if target == status]
        if ids:
            Dossier.objects.filter(pk__in=ids, status__in=AWAITING_DECISION).update(
                status=status, decided_at=now, updated_at=now
            )
    if pending:
        DossierDomain.objects.filter(pk__in=[d.pk for d in pending], status=DomainStatus.PENDING).update(
            status=DomainStatus.REFUSED, decision_reason=SILENCE_REFUSAL_REASON,
            refusal_kind=RefusalKind.FEASIBILITY, refused_for_silence=True, decided_at=now,
        )
    inserted = record_events(
        [
            Event(DeadlineEventKind.SILENCE_REFUSAL, f"silence_refusal:{d.pk}", dossier_id=d.pk, region_id=d.region_id,
                  detail=f"Transmis le {_day(timezone.localdate(d.transmitted_at))} ; {SILENCE_REFUSAL_REASON}.")
            for d in dossiers
        ],
        as_of,
    )
    # The dossiers are locked and re-checked: every one of them is this run's (the events only back it up).
    dossier_entries = []
    for dossier in dossiers:
        before = dossier.status
        dossier.status, dossier.decided_at, dossier.updated_at = outcome[dossier.pk], now, now
        dossier_entries.append((dossier, {"status": [before, dossier.status], "decided_at": [None, now]}))
    domain_entries = []
    for domain in pending:
        domain.dossier = by_id[domain.dossier_id]
        domain.status, domain.decision_reason, domain.refusal_kind = (
            DomainStatus.REFUSED, SILENCE_REFUSAL_REASON, RefusalKind.FEASIBILITY,
        )
        domain.refused_for_silence, domain.decided_at = True, now
        domain_entries.append((domain, {
            "status": [DomainStatus.PENDING, DomainStatus.REFUSED], "decision_reason": ["", SILENCE_REFUSAL_REASON],
            "refusal_kind": ["", RefusalKind.FEASIBILITY], "refused_for_silence": [False, True],
            "decided_at": [None, now],
        }))
    audit_record_many(actor=None, action="dossier.refuse_for_silence", entries=dossier_entries)
    audit_record_many(actor=None, action="dossier_domain.refuse_for_silence", entries=domain_entries)

    fresh = [d for d in dossiers if f"silence_refusal:{d.pk}" in inserted]
    refused_codes = defaultdict(list)
    for domain in pending:
        refused_codes[domain.dossier_id].append(domain.domain_code)
    side, by_region = _dossier_parties(fresh)
    notes = []
    for d in fresh:
        codes = ", ".join(refused_codes[d.pk]) or "aucun domaine en attente"
        silence = (f"Dossier {d.reference} ({d.establishment.name}) : sans décision de l'ARS dans le délai de quatre "
                   f"mois après sa transmission du {_day(timezone.localdate(d.transmitted_at))}")
        notes.append(Note(
            [*side[d.pk], *by_region[d.region_id].values()],
            f"{silence}, il est réputé refusé (annexe 4 §1) — domaines refusés : {codes}."
            if d.status == DossierStatus.REFUSED else
            f"{silence}, les domaines encore en attente sont réputés refusés (annexe 4 §1) : {codes} ; les domaines "
            "sélectionnés le restent.",
            _dossier_link(d.reference),
        ))
    counts["notifications"] = notify_many(notes, subject="HOP'EN — dossier refusé faute de décision de l'ARS")
    domains_of = defaultdict(list)
    for domain in domains:
        domains_of[domain.dossier_id].append(domain)
    counts["letters"] = request_letters(
        [request for d in fresh for request in decision_letter_requests(d, domains_of[d.pk])]
    )
    counts["dossiers"], counts["domains"] = len(dossiers), len(pending)
    logger.info(
        "Refus implicite (annexe 4 §1) au %s : %s dossier(s), %s domaine(s) refusé(s) : %s",
        as_of, len(dossiers), len(pending),
        ", ".join(d.reference for d in dossiers[:20]) + ("…" if len(dossiers) > 20 else ""),
    )
    return counts


# --- b. Reminder to the ARS: three months and three weeks after transmission ------------------------------------------


@transaction.atomic
def remind_ars_of_pending_decisions(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §1: a reminder to the ARS a week before the four months, while the dossier awaits its decision — for
    every programme, with its delays."""
    counts = {"dossiers": 0, "notifications": 0}
    for programme, delays in programmes_with_delays():
        add_counts(counts, _remind_ars_of_pending_decisions(as_of, programme, delays))
    return counts


def _remind_ars_of_pending_decisions(as_of, programme, delays) -> dict[str, int]:
    transmitted = _column(Dossier, "transmitted_at")
    dossiers = list(
        Dossier.objects.select_related("establishment")
        .filter(programme=programme, status__in=AWAITING_DECISION, transmitted_at__isnull=False)
        .alias(reminder_due=_due_on(transmitted, delays[ARS_DECISION_REMINDER]))
        .annotate(decision_due=_due_on(transmitted, delays[ARS_DECISION]))
        .filter(reminder_due__lte=as_of, decision_due__gte=as_of)
        .filter(~Exists(DeadlineEvent.objects.filter(kind=DeadlineEventKind.REVIEW_REMINDER, dossier=OuterRef("pk"))))
        .order_by("pk")
    )
    inserted = record_events(
        [Event(DeadlineEventKind.REVIEW_REMINDER, f"review_reminder:{d.pk}", dossier_id=d.pk, region_id=d.region_id,
               detail=f"Décision attendue avant le {_day(d.decision_due)}.") for d in dossiers],
        as_of,
    )
    fresh = [d for d in dossiers if f"review_reminder:{d.pk}" in inserted]
    by_region = _ars_officers({d.region_id for d in fresh})
    notes = [
        Note(
            list(by_region[d.region_id].values()),
            f"Rappel : le dossier {d.reference} ({d.establishment.name}), transmis le "
            f"{_day(timezone.localdate(d.transmitted_at))}, attend votre décision. Sans décision au plus "
            f"tard le {_day(d.decision_due)}, il sera réputé refusé (annexe 4 §1).",
            _dossier_link(d.reference),
        )
        for d in fresh
    ]
    notifications = notify_many(notes, subject="HOP'EN — dossier en attente de décision")
    logger.info("Rappel à l'ARS (3 mois et 3 semaines) au %s : %s dossier(s).", as_of, len(fresh))
    return {"dossiers": len(fresh), "notifications": notifications}


# --- c. Initialisation requested and not done within a month and a half ---------------------------------------------


@transaction.atomic
def alert_overdue_initialisations(as_of: datetime.date) -> dict[str, int]:
    """§5.3.2 « Etape 2 »: the ARS has « un délai de 1 mois et demi pour initialiser le dossier » — for every
    programme, with its delay."""
    counts = {"dossiers": 0, "notifications": 0}
    for programme, delays in programmes_with_delays():
        add_counts(counts, _alert_overdue_initialisations(as_of, programme, delays[ARS_INITIALISATION]))
    return counts


def _alert_overdue_initialisations(as_of, programme, delay) -> dict[str, int]:
    requested = _column(Dossier, "initialisation_requested_at")
    dossiers = list(
        Dossier.objects.select_related("establishment")
        .filter(
            programme=programme, status=DossierStatus.INITIALISATION_REQUESTED, initialisation_requested_at__isnull=False
        )
        .annotate(initialisation_due=_due_on(requested, delay))
        .filter(initialisation_due__lt=as_of)  # the ARS may still initialise on the last day of its 1.5 months
        .filter(~Exists(DeadlineEvent.objects.filter(
            kind=DeadlineEventKind.INITIALISATION_OVERDUE, dossier=OuterRef("pk"))))
        .order_by("pk")
    )
    inserted = record_events(
        [Event(DeadlineEventKind.INITIALISATION_OVERDUE, f"initialisation_overdue:{d.pk}", dossier_id=d.pk,
               region_id=d.region_id, detail=f"Initialisation attendue au plus tard le {_day(d.initialisation_due)}.")
         for d in dossiers],
        as_of,
    )
    fresh = [d for d in dossiers if f"initialisation_overdue:{d.pk}" in inserted]
    side, by_region = _dossier_parties(fresh)
    notes = [
        Note(
            [*by_region[d.region_id].values(), *side[d.pk]],
            f"Le dossier {d.reference} de {d.establishment.name}, dont l'initialisation a été demandée à l'ARS le "
            f"{_day(timezone.localdate(d.initialisation_requested_at))}, n'est toujours pas initialisé : le délai "
            f"d'un mois et demi a expiré le {_day(d.initialisation_due)} (§5.3.2).",
            _dossier_link(d.reference),
        )
        for d in fresh
    ]
    notifications = notify_many(notes, subject="HOP'EN — initialisation de dossier en retard")
    logger.info("Initialisations en retard (1,5 mois) au %s : %s dossier(s).", as_of, len(fresh))
    return {"dossiers": len(fresh), "notifications": notifications}

"""The daily deadline sweep of the dossiers (annexes 2 and 4 of the instruction): each job is a set-based
function of the date `as_of`, idempotent and enforced by the database.

Jobs, in the order `run_deadlines` runs them (each in its own transaction):

a. `refuse_silent_dossiers` — annex 4 §1 « Au-delà de quatre mois, le dossier est considéré comme refusé par
   l'ARS »: a dossier transmitted or under review whose transmission date + four months (delay
   `ars-decision`) — the last day the ARS may decide — is before `as_of` is refused, its pending domains with the reason
   « absence de décision de l'ARS dans le délai de quatre mois » (kind « faisabilité ou autre motif »: the
   re-candidacy delay of six months applies). A dossier one domain of which the ARS already selected goes
   « en cours » instead (annex 4 §1: « l'ARS peut décider de sélectionner seulement une partie des domaines »):
   only its pending domains are refused. The selection letter is requested.
b. `remind_ars_of_pending_decisions` — three months and three weeks after the transmission (delay
   `ars-decision-reminder`), a reminder to the ARS officers of the region, once per dossier.
c. `alert_overdue_initialisations` — §5.3.2 « Etape 2 »: the ARS has a month and a half (delay
   `ars-initialisation`) to initialise a dossier an establishment asked for; past it, an alert once.
d. `claim_refunds_for_unmet_prerequisites` — annex 2 §2 « Les prérequis doivent être atteints au plus tard le
   01 janvier 2021. Si les prérequis ne sont pas atteints à date par l'établissement, il remboursera les
   montants perçus au titre de l'amorçage »: from the derogatory deadline of the programme calendar, a refund
   claim of the seed paid for every domain of a dossier not closed one candidate establishment of which has
   not reached the HOP'EN prerequisites (for a GHT dossier, each candidate member: annex 3 §2 — the support
   establishment receives the sum, the members' commitments are individual), and its letter.
e. `alert_target_deadlines` — annex 4 §3 (follow-up of the dates of attainment of the targets): three months
   (delay `target-deadline-alert`) before a selected domain's target deadline and once it has passed; the same
   around the programme's deadline of the usage targets (§5.3.1 « avant le 1er janvier 2023 », calendar code
   `usage-targets-deadline`). A re-forecast deadline (project review) is a new deadline: its alerts are new.
f. `remind_annual_reports` — annex 4 §3: the ARS sends the DGOS its yearly report « avant le 31 janvier de
   l'année suivante »: a reminder to the ARS officers of every region from 21 days before (delay
   `annual-report-reminder`), once per region and year.

Exactly once, even when two sweeps run at the same time: every action is recorded by a `DeadlineEvent` whose
unique `key` names it; the events are inserted with ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key`` and
only the run that inserted an event notifies, writes letters or claims (a concurrent run waits on the unique
index, then inserts nothing). The silence refusal is moreover guarded by the dossier rows, locked
(``SELECT … FOR UPDATE``) and re-checked on their status; refund claims by the ledger's unique idempotency key.

A constant number of queries whatever the number of dossiers: reads of whole sets, bulk updates, one insert of
the events, one of the notifications (`Notification` rows; their e-mails leave after the commit), one of the
letters, and the audit records through `hopen.audit.audit_record_many` (which inserts by batches of 1,000).
The delays are computed by PostgreSQL with the arithmetic of `funding.calendar.add_delay` (months first, clamped
to the end of the month, then days).
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateField, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from hopen.audit import audit_record_many
from hopen.formatting import french_euros
from hopen.models import ESTABLISHMENT_ROLES, Notification, Region, Role, RoleAssignment
from hopen.notifications import email_after_commit
from indicators.models import ProgrammeDeadline

from .calendar import (
    ANNUAL_REPORT_REMINDER,
    ARS_DECISION,
    ARS_DECISION_REMINDER,
    ARS_INITIALISATION,
    TARGET_DEADLINE_ALERT,
    Delay,
    programme_delays,
)
from .dossier_states import DOSSIER_TRANSITIONS, dossier_status_after_decisions
from .letters import LetterRequest, decision_letter_requests, request_letters
from .models_dossiers import (
    SILENCE_REFUSAL_REASON,
    DeadlineEvent,
    DeadlineEventKind,
    DomainStatus,
    Dossier,
    DossierDomain,
    DossierMember,
    DossierStatus,
    LetterKind,
    RefusalKind,
)
from .selectors_eligibility import HOPEN, derogatory_deadline
from .selectors_progress import prerequisites_reached

logger = logging.getLogger(__name__)

USAGE_TARGETS_DEADLINE = "usage-targets-deadline"
# §5.3.1 « avant le 1er janvier 2023 »: used only if the programme calendar is not loaded.
DEFAULT_USAGE_TARGETS_DEADLINE = datetime.date(2023, 1, 1)
REFUND_KEY_PREFIX = "prerequisites-refund"
REFUND_REASON = (
    "Prérequis HOP'EN non atteints à l'échéance du {deadline} : remboursement de l'amorçage perçu (annexe 2 §2)."
)
ANNUAL_REPORT_MONTH_DAY = (1, 31)  # annex 4 §3 « avant le 31 janvier de l'année suivante »
# Statuses of a dossier still waiting for the ARS's decision (annex 4 §1).
AWAITING_DECISION = sorted(DOSSIER_TRANSITIONS["refuse_for_silence"][0])


# --- Helpers ---------------------------------------------------------------------------------------------------------


def _day(value: datetime.date) -> str:
    return f"{value:%d/%m/%Y}"


def _due_on(column: str, delay: Delay, *, local_date_of_timestamp: bool = True, sign: str = "+") -> RawSQL:
    """`column`'s (local) date shifted by `delay`, computed by PostgreSQL: a date plus an interval adds the
    months first, clamped to the month's last day, then the days — `funding.calendar.add_delay`'s arithmetic."""
    day = f"({column} AT TIME ZONE %s)::date" if local_date_of_timestamp else f"{column}"
    params = [settings.TIME_ZONE] if local_date_of_timestamp else []
    return RawSQL(
        f"({day} {sign} make_interval(months => %s, days => %s))::date",
        [*params, delay.months, delay.days],
        output_field=DateField(),
    )


def _column(model, field: str) -> str:
    return f'"{model._meta.db_table}"."{model._meta.get_field(field).column}"'


def _delays() -> dict[str, Delay]:
    delays = programme_delays(HOPEN)
    missing = [code for code in (ARS_DECISION, ARS_DECISION_REMINDER, ARS_INITIALISATION, TARGET_DEADLINE_ALERT,
                                 ANNUAL_REPORT_REMINDER) if code not in delays]
    if missing:
        from hopen.exceptions import ApplicationError

        raise ApplicationError(
            f"Le calendrier du programme ne définit pas les délais {', '.join(missing)} (load_programme)."
        )
    return delays


@dataclass(frozen=True)
class Event:
    kind: str
    key: str
    dossier_id: int | None = None
    domain_id: int | None = None
    region_id: int | None = None
    detail: str = ""


def record_events(events: list[Event], as_of: datetime.date) -> set[str]:
    """Insert the events and return the keys this call inserted (one query). A key already recorded — by an
    earlier run, or by a concurrent one that commits first (the insert waits on the unique index) — is skipped:
    only the caller that gets a key back acts on it."""
    if not events:
        return set()
    events = sorted({event.key: event for event in events}.values(), key=lambda event: event.key)
    table = DeadlineEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (kind, key, dossier_id, domain_id, region_id, detail, as_of, created_at)
            SELECT t.kind, t.key, t.dossier_id, t.domain_id, t.region_id, t.detail, %s, %s
            FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[])
                AS t(kind, key, dossier_id, domain_id, region_id, detail)
            ORDER BY t.key
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """,
            [
                as_of, timezone.now(),
                [e.kind for e in events], [e.key for e in events], [e.dossier_id for e in events],
                [e.domain_id for e in events], [e.region_id for e in events], [e.detail for e in events],
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def _ars_officers(region_ids) -> dict:
    """{region id: {user id: its active ARS officers}} (1 query)."""
    by_region = defaultdict(dict)
    assignments = RoleAssignment.objects.filter(
        role=Role.ARS_OFFICER, region_id__in=set(region_ids), user__is_active=True
    ).select_related("user")
    for assignment in assignments:
        by_region[assignment.region_id][assignment.user_id] = assignment.user
    return by_region


def _dossier_parties(dossiers) -> tuple[dict, dict]:
    """({dossier id: the establishment side — its editors and directors, and for a GHT dossier the GHT's support
    directors, as `funding.services_dossiers` notifies them}, {region id: its ARS officers}) — one query."""
    dossiers = list(dossiers)
    establishment_ids = {d.establishment_id for d in dossiers}
    ght_ids = {d.ght_id for d in dossiers if d.ght_id}
    region_ids = {d.region_id for d in dossiers}
    condition = Q(role__in=ESTABLISHMENT_ROLES, establishment_id__in=establishment_ids)
    condition |= Q(role=Role.ARS_OFFICER, region_id__in=region_ids)
    if ght_ids:
        condition |= Q(role=Role.GHT_SUPPORT_DIRECTOR, ght_id__in=ght_ids)
    by_establishment, by_ght, by_region = defaultdict(dict), defaultdict(dict), defaultdict(dict)
    if dossiers:
        for assignment in RoleAssignment.objects.filter(condition, user__is_active=True).select_related("user"):
            target = {Role.ARS_OFFICER: (by_region, assignment.region_id),
                      Role.GHT_SUPPORT_DIRECTOR: (by_ght, assignment.ght_id)}.get(
                assignment.role, (by_establishment, assignment.establishment_id))
            target[0][target[1]][assignment.user_id] = assignment.user
    side = {
        d.pk: list({**by_establishment[d.establishment_id], **(by_ght[d.ght_id] if d.ght_id else {})}.values())
        for d in dossiers
    }
    return side, by_region


@dataclass
class Note:
    users: list
    message: str
    link: str = ""


def notify_many(notes: list[Note], *, subject: str = "HOP'EN — échéance") -> int:
    """`hopen.notifications.notify` for many messages at once: one insert of the in-app notifications, each
    message's e-mail after the commit. Returns the number of notifications."""
    rows, emails = [], []
    for note in notes:
        users = list({user.pk: user for user in note.users if user is not None and user.is_active}.values())
        rows.extend(Notification(recipient=user, message=note.message[:500], link=note.link) for user in users)
        emails.append((note, [user.email for user in users]))
    if rows:
        Notification.objects.bulk_create(rows)
    for note, addresses in emails:
        email_after_commit(subject=subject, body=f"{note.message}\n\n{note.link}".strip(), recipients=addresses)
    return len(rows)


def _dossier_link(reference: str) -> str:
    return reverse("funding:dossier_detail", args=[reference])


# --- a. Silence of the ARS: refusal after four months (annex 4 §1) ----------------------------------------------------


@transaction.atomic
def refuse_silent_dossiers(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §1: « L'ARS doit se prononcer au bout de quatre mois au plus tard (à compter de la transmission du
    dossier […]). Au-delà de quatre mois, le dossier est considéré comme refusé par l'ARS »."""
    delay = _delays()[ARS_DECISION]
    now = timezone.now()
    dossiers = list(
        Dossier.objects.select_for_update(of=("self",))
        .select_related("establishment")
        .filter(status__in=AWAITING_DECISION, transmitted_at__isnull=False)
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
    """Annex 4 §1: a reminder to the ARS a week before the four months, while the dossier awaits its decision."""
    delays = _delays()
    transmitted = _column(Dossier, "transmitted_at")
    dossiers = list(
        Dossier.objects.select_related("establishment")
        .filter(status__in=AWAITING_DECISION, transmitted_at__isnull=False)
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
    """§5.3.2 « Etape 2 »: the ARS has « un délai de 1 mois et demi pour initialiser le dossier »."""
    delay = _delays()[ARS_INITIALISATION]
    requested = _column(Dossier, "initialisation_requested_at")
    dossiers = list(
        Dossier.objects.select_related("establishment")
        .filter(status=DossierStatus.INITIALISATION_REQUESTED, initialisation_requested_at__isnull=False)
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


# --- d. Refund of the seed when the prerequisites are not reached at the deadline (annex 2 §2) ------------------------


@transaction.atomic
def claim_refunds_for_unmet_prerequisites(as_of: datetime.date) -> dict[str, int]:
    """Annex 2 §2: « Les prérequis doivent être atteints au plus tard le 01 janvier 2021. Si les prérequis ne
    sont pas atteints à date par l'établissement, il remboursera les montants perçus au titre de l'amorçage ».
    From the deadline day on (« au plus tard le 01 janvier 2021 »), read as in `funding.eligibility`."""
    from envelopes.models import EntryKind, LedgerEntry

    counts = {"domains": 0, "claims": 0, "notifications": 0, "letters": 0}
    deadline = derogatory_deadline()
    if as_of < deadline:
        return counts
    domains = list(
        DossierDomain.objects.select_related("dossier__establishment")
        .filter(Exists(LedgerEntry.objects.filter(dossier_domain=OuterRef("pk"), kind=EntryKind.SEED_PAYMENT)))
        .exclude(dossier__status=DossierStatus.CLOSED)
        .filter(~Exists(DeadlineEvent.objects.filter(
            kind=DeadlineEventKind.PREREQUISITES_REFUND, domain=OuterRef("pk"))))
        .order_by("pk")
    )
    if not domains:
        return counts
    dossier_ids = {domain.dossier_id for domain in domains}
    members = defaultdict(set)
    for dossier_id, establishment_id in DossierMember.objects.filter(dossier_id__in=dossier_ids).values_list(
        "dossier_id", "establishment_id"
    ):
        members[dossier_id].add(establishment_id)
    for domain in domains:
        members[domain.dossier_id] = members[domain.dossier_id] or {domain.dossier.establishment_id}
    reached = prerequisites_reached({pk for ids in members.values() for pk in ids})
    unmet = {
        dossier_id: sorted(pk for pk in ids if not reached.get(pk)) for dossier_id, ids in members.items()
    }
    due = [domain for domain in domains if unmet[domain.dossier_id]]
    inserted = record_events(
        [Event(DeadlineEventKind.PREREQUISITES_REFUND, f"prerequisites_refund:{d.pk}", dossier_id=d.dossier_id,
               domain_id=d.pk, region_id=d.dossier.region_id,
               detail=f"Prérequis HOP'EN non atteints au {_day(deadline)} ({len(unmet[d.dossier_id])} "
                      f"établissement(s) candidat(s)).")
         for d in due],
        as_of,
    )
    fresh = [d for d in due if f"prerequisites_refund:{d.pk}" in inserted]
    if not fresh:
        return counts
    from envelopes.services import refund_claims_for

    claims = refund_claims_for(
        dossier_domains=fresh, pots={"seed"}, reason=REFUND_REASON.format(deadline=_day(deadline)),
        key_prefix=REFUND_KEY_PREFIX, by=None,
    )
    by_id = {domain.pk: domain for domain in fresh}
    claimed = defaultdict(list)
    for entry in claims:
        claimed[entry.dossier_domain_id].append(entry)
    counts["letters"] = request_letters([
        LetterRequest(by_id[entry.dossier_domain_id].dossier, LetterKind.REFUND_CLAIM, f"refund:{entry.pk}",
                      by_id[entry.dossier_domain_id])
        for entry in claims
    ])
    dossiers = {d.dossier_id: d.dossier for d in fresh}
    side, by_region = _dossier_parties(dossiers.values())
    notes = []
    for domain in fresh:
        if not claimed[domain.pk]:
            continue
        dossier = domain.dossier
        amount = sum(entry.amount for entry in claimed[domain.pk])
        notes.append(Note(
            [*side[dossier.pk], *by_region[dossier.region_id].values()],
            f"Dossier {dossier.reference}, domaine {domain.domain_code} : les prérequis HOP'EN n'étaient pas atteints "
            f"au {_day(deadline)} ; le remboursement de l'amorçage perçu ({french_euros(amount)}) est demandé "
            "(annexe 2 §2).",
            _dossier_link(dossier.reference),
        ))
    counts["notifications"] = notify_many(notes, subject="HOP'EN — demande de remboursement de l'amorçage")
    counts["domains"], counts["claims"] = len(fresh), len(claims)
    logger.info(
        "Prérequis non atteints à l'échéance du %s (au %s) : %s domaine(s), %s demande(s) de remboursement.",
        deadline, as_of, len(fresh), len(claims),
    )
    return counts


# --- e. Target deadlines of the selected domains and of the programme ----------------------------------------------


def _usage_targets_deadline() -> datetime.date:
    day = (
        ProgrammeDeadline.objects.filter(programme__code=HOPEN, code=USAGE_TARGETS_DEADLINE)
        .values_list("date", flat=True)
        .first()
    )
    return day or DEFAULT_USAGE_TARGETS_DEADLINE


@transaction.atomic
def alert_target_deadlines(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §3 (« La liste des établissements / GHT dont la date d'atteinte des cibles est décalée ») and §5.3.1
    (« l'atteinte des cibles d'usage […] avant le 1er janvier 2023 »): alerts to the establishment and to its ARS
    before and after a selected domain's target deadline, and around the programme's deadline.

    A domain's deadline is the last day to reach its targets: it has passed the day after. The programme's is
    « avant le 1er janvier 2023 »: it has passed on that day."""
    delay = _delays()[TARGET_DEADLINE_ALERT]
    programme_deadline = _usage_targets_deadline()
    programme_alert_from = delay.before(programme_deadline)
    programme_phase = (
        "passed" if as_of >= programme_deadline else "soon" if as_of >= programme_alert_from else None
    )
    condition = Q(target_deadline__lt=as_of) | Q(alert_from__lte=as_of)
    domains = list(
        DossierDomain.objects.select_related("dossier__establishment")
        .filter(status=DomainStatus.SELECTED)
        .exclude(dossier__status=DossierStatus.CLOSED)
        .alias(alert_from=_due_on(_column(DossierDomain, "target_deadline"), delay, local_date_of_timestamp=False,
                                  sign="-"))
        .filter(condition if programme_phase is None else Q())
        .order_by("pk")
    )
    events, messages = [], {}
    for domain in domains:
        dossier, deadline = domain.dossier, domain.target_deadline
        label = f"Dossier {dossier.reference} ({dossier.establishment.name}), domaine {domain.domain_code}"
        phase = "passed" if deadline < as_of else "soon" if delay.before(deadline) <= as_of else None
        if phase:
            kind = (DeadlineEventKind.TARGET_DEADLINE_PASSED if phase == "passed"
                    else DeadlineEventKind.TARGET_DEADLINE_SOON)
            key = f"{kind}:{domain.pk}:{deadline:%Y-%m-%d}"
            events.append(Event(kind, key, dossier_id=dossier.pk, domain_id=domain.pk, region_id=dossier.region_id,
                                detail=f"Échéance des cibles : {_day(deadline)}."))
            messages[key] = (domain, (
                f"{label} : l'échéance d'atteinte des cibles d'usage du {_day(deadline)} est dépassée sans que "
                "leur atteinte ait été constatée (annexe 4 §3)." if phase == "passed" else
                f"{label} : l'échéance d'atteinte des cibles d'usage est le {_day(deadline)} (annexe 4 §3)."
            ))
        if programme_phase:
            kind = (DeadlineEventKind.PROGRAMME_DEADLINE_PASSED if programme_phase == "passed"
                    else DeadlineEventKind.PROGRAMME_DEADLINE_SOON)
            key = f"{kind}:{domain.pk}:{programme_deadline:%Y-%m-%d}"
            events.append(Event(kind, key, dossier_id=dossier.pk, domain_id=domain.pk, region_id=dossier.region_id,
                                detail=f"Échéance du programme : {_day(programme_deadline)}."))
            messages[key] = (domain, (
                f"{label} : les cibles d'usage devaient être atteintes avant le {_day(programme_deadline)} (§5.3.1) "
                "et leur atteinte n'a pas été constatée." if programme_phase == "passed" else
                f"{label} : les cibles d'usage doivent être atteintes avant le {_day(programme_deadline)} (§5.3.1)."
            ))
    inserted = record_events(events, as_of)
    fresh = [(key, *messages[key]) for key in sorted(inserted)]
    dossiers = {domain.dossier_id: domain.dossier for _, domain, _ in fresh}
    side, by_region = _dossier_parties(dossiers.values())
    notes = [
        Note(
            [*side[domain.dossier_id], *by_region[domain.dossier.region_id].values()],
            message, _dossier_link(domain.dossier.reference),
        )
        for _, domain, message in fresh
    ]
    notifications = notify_many(notes, subject="HOP'EN — échéance d'atteinte des cibles")
    by_kind = defaultdict(int)
    for key in inserted:
        by_kind[key.split(":", 1)[0]] += 1
    logger.info("Échéances des cibles au %s : %s alerte(s) %s.", as_of, len(inserted), dict(by_kind))
    return {
        "target_soon": by_kind[DeadlineEventKind.TARGET_DEADLINE_SOON],
        "target_passed": by_kind[DeadlineEventKind.TARGET_DEADLINE_PASSED],
        "programme_soon": by_kind[DeadlineEventKind.PROGRAMME_DEADLINE_SOON],
        "programme_passed": by_kind[DeadlineEventKind.PROGRAMME_DEADLINE_PASSED],
        "notifications": notifications,
    }


# --- f. The ARS's annual report before 31 January (annex 4 §3) --------------------------------------------------------


@transaction.atomic
def remind_annual_reports(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §3: « L'ARS contribue au pilotage national du programme en fournissant à la DGOS […] une synthèse
    […] avant le 31 janvier de l'année suivante »: from 21 days before 31 January to that day, once per region
    and year."""
    deadline = datetime.date(as_of.year, *ANNUAL_REPORT_MONTH_DAY)
    if not _delays()[ANNUAL_REPORT_REMINDER].before(deadline) <= as_of <= deadline:
        return {"regions": 0, "notifications": 0}
    regions = list(Region.objects.order_by("pk"))
    inserted = record_events(
        [Event(DeadlineEventKind.ANNUAL_REPORT_REMINDER, f"annual_report_reminder:{region.pk}:{as_of.year}",
               region_id=region.pk, detail=f"Rapport annuel {as_of.year - 1} attendu avant le {_day(deadline)}.")
         for region in regions],
        as_of,
    )
    fresh = [r for r in regions if f"annual_report_reminder:{r.pk}:{as_of.year}" in inserted]
    by_region = _ars_officers({region.pk for region in fresh})
    notes = [
        Note(
            list(by_region[region.pk].values()),
            f"Rappel : le rapport annuel de l'{region.ars_name} sur l'exécution du programme HOP'EN en "
            f"{as_of.year - 1} (état d'avancement, moyens engagés, éléments significatifs par dossier et synthèse) "
            f"est à transmettre à la DGOS avant le {_day(deadline)} (annexe 4 §3).",
        )
        for region in fresh
    ]
    notifications = notify_many(notes, subject="HOP'EN — rapport annuel de l'ARS")
    logger.info("Rappel du rapport annuel %s au %s : %s région(s).", as_of.year - 1, as_of, len(fresh))
    return {"regions": len(fresh), "notifications": notifications}


# --- The sweep -----------------------------------------------------------------------------------------------------

JOBS = (
    ("silence_refusals", refuse_silent_dossiers),
    ("review_reminders", remind_ars_of_pending_decisions),
    ("initialisation_alerts", alert_overdue_initialisations),
    ("prerequisites_refunds", claim_refunds_for_unmet_prerequisites),
    ("target_alerts", alert_target_deadlines),
    ("annual_report_reminders", remind_annual_reports),
)


def run_deadlines(as_of: datetime.date | None = None) -> dict[str, dict[str, int]]:
    """Run every job for `as_of` (today by default), in order, each in its own transaction:
    {job name: its counts}."""
    as_of = as_of or timezone.localdate()
    results = {}
    for name, job in JOBS:
        results[name] = job(as_of)
    logger.info("Échéances du %s traitées : %s", as_of, results)
    return results

"""The audits' job of the daily deadline sweep (`funding.deadlines.sweep` runs it after the dossiers' jobs): the
contradictory procedure's response deadline (programme delays `audit-response` and `audit-response-reminder`).

- From the reminder delay before the deadline until the deadline, an audit whose draft findings await an answer
  reminds the establishment side, once (event `audit-response-reminder:<audit>`).
- The day after the deadline without an answer, the auditor who sent the findings (every DGOS auditor if none) is
  told that the audit may be concluded without it, once (event `audit-response-overdue:<audit>`) — the decision
  service itself reads the deadline, so a missed sweep never blocks the auditor.

Exactly once, even for two sweeps at the same time: only the run that inserts an event (``INSERT … ON CONFLICT (key)
DO NOTHING RETURNING key``) notifies. A constant number of queries per programme whatever the number of audits.
"""

import datetime

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from funding.calendar import Delay
from funding.deadlines.common import Note, _dossier_parties, notify_many
from hopen.models import Role, RoleAssignment
from indicators.models import ProgrammeDelay

from .models import Audit, AuditDeadlineEvent, AuditStatus

RESPONSE_DELAY, REMINDER_DELAY = "audit-response", "audit-response-reminder"


def _record(keys: dict, as_of: datetime.date) -> set[str]:
    """Insert {key: audit id} as events; the keys this call inserted."""
    if not keys:
        return set()
    ordered = sorted(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {AuditDeadlineEvent._meta.db_table} (key, audit_id, as_of, created_at)
            SELECT t.key, t.audit_id, %s, %s FROM unnest(%s::varchar[], %s::bigint[]) AS t(key, audit_id)
            ORDER BY t.key
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """,
            [as_of, timezone.now(), ordered, [keys[k] for k in ordered]],
        )
        return {row[0] for row in cursor.fetchall()}


def _reminder_delays() -> dict:
    """{programme id: Delay before the deadline} of the programmes whose calendar declares both audit delays."""
    rows = ProgrammeDelay.objects.filter(code__in=(RESPONSE_DELAY, REMINDER_DELAY)).values_list(
        "programme_id", "code", "months", "days"
    )
    found = {}
    for programme_id, code, months, days in rows:
        found.setdefault(programme_id, {})[code] = Delay(months, days)
    return {pk: delays[REMINDER_DELAY] for pk, delays in found.items() if len(delays) == 2}


@transaction.atomic
def remind_audit_responses(as_of: datetime.date) -> dict[str, int]:
    counts = {"reminders": 0, "overdue": 0, "notifications": 0}
    waiting = Audit.objects.filter(status=AuditStatus.AWAITING_RESPONSE, responded_at__isnull=True).select_related(
        "dossier", "findings_sent_by"
    )
    for programme_id, reminder in _reminder_delays().items():
        audits = [
            audit for audit in waiting.filter(campaign__programme_id=programme_id, response_due_on__lte=reminder.after(as_of))
        ]
        if not audits:
            continue
        remind = {f"audit-response-reminder:{a.pk}": a for a in audits if a.response_due_on >= as_of}
        overdue = {f"audit-response-overdue:{a.pk}": a for a in audits if a.response_due_on < as_of}
        inserted = _record({k: a.pk for k, a in {**remind, **overdue}.items()}, as_of)
        side, _ = _dossier_parties([a.dossier for a in audits])
        auditors = None
        notes = []
        for key, audit in remind.items():
            if key in inserted:
                counts["reminders"] += 1
                notes.append(Note(
                    side[audit.dossier_id],
                    f"Contrôle du dossier {audit.dossier.reference} : votre réponse aux constats provisoires est "
                    f"attendue au plus tard le {audit.response_due_on:%d/%m/%Y}.",
                    reverse("audits:audit", args=[audit.pk]),
                ))
        for key, audit in overdue.items():
            if key in inserted:
                counts["overdue"] += 1
                if audit.findings_sent_by is None and auditors is None:
                    auditors = [
                        a.user for a in RoleAssignment.objects.filter(role=Role.DGOS_AUDITOR, user__is_active=True)
                        .select_related("user")
                    ]
                notes.append(Note(
                    [audit.findings_sent_by] if audit.findings_sent_by else auditors,
                    f"Contrôle du dossier {audit.dossier.reference} : délai de réponse expiré le "
                    f"{audit.response_due_on:%d/%m/%Y} sans réponse — le contrôle peut être conclu.",
                    reverse("audits:audit", args=[audit.pk]),
                ))
        counts["notifications"] += notify_many(notes, subject="HOP'EN — contrôle : procédure contradictoire")
    return counts

"""What the jobs of the deadline sweep share: the events that make each action happen once (`record_events`),
the recipients of a dossier read in one query, the batched notifications, PostgreSQL's delay arithmetic."""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import DateField, Q
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from funding.calendar import (
    ANNUAL_REPORT_REMINDER,
    ARS_DECISION,
    ARS_DECISION_REMINDER,
    ARS_INITIALISATION,
    TARGET_DEADLINE_ALERT,
    Delay,
)
from funding.dossiers.states import DOSSIER_TRANSITIONS
from hopen.models import ESTABLISHMENT_ROLES, Notification, Role, RoleAssignment
from hopen.notifications import absolute_link, emails_after_commit
from indicators.models import ProgrammeDelay

from .models import DeadlineEvent

logger = logging.getLogger("funding.deadlines")

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


SWEEP_DELAYS = (ARS_DECISION, ARS_DECISION_REMINDER, ARS_INITIALISATION, TARGET_DEADLINE_ALERT, ANNUAL_REPORT_REMINDER)


def programmes_with_delays() -> list[tuple]:
    """[(programme, {code: Delay})] of every programme whose calendar declares delays (an earlier programme such as
    Hôpital numérique declares none: it has no dossier to sweep), by code — one query. Each job runs once per
    programme, with that programme's delays, on that programme's dossiers: a constant number of queries per
    programme whatever the number of dossiers."""
    programmes, delays = {}, defaultdict(dict)
    for row in ProgrammeDelay.objects.select_related("programme").order_by("programme__code", "code"):
        programmes[row.programme_id] = row.programme
        delays[row.programme_id][row.code] = Delay(row.months, row.days)
    result = []
    for pk, programme in programmes.items():
        missing = [code for code in SWEEP_DELAYS if code not in delays[pk]]
        if missing:
            from hopen.exceptions import ApplicationError

            raise ApplicationError(
                f"Le calendrier du programme {programme.code} ne définit pas les délais {', '.join(missing)} "
                "(load_programme)."
            )
        result.append((programme, delays[pk]))
    return result


def add_counts(total: dict, counts: dict) -> dict:
    """Sum the counts of a job's runs on each programme."""
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value
    return total


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
    directors, as `funding.dossiers.services` notifies them}, {region id: its ARS officers}) — one query."""
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
    message's e-mail after the commit (one outbox insert for all). Returns the number of notifications."""
    rows, emails = [], []
    for note in notes:
        users = list({user.pk: user for user in note.users if user is not None and user.is_active}.values())
        rows.extend(Notification(recipient=user, message=note.message[:500], link=note.link) for user in users)
        emails.append((note, [user.email for user in users]))
    if rows:
        Notification.objects.bulk_create(rows)
    emails_after_commit(
        [(subject, f"{note.message}\n\n{absolute_link(note.link)}".strip(), addresses) for note, addresses in emails]
    )
    return len(rows)


def _dossier_link(reference: str) -> str:
    return reverse("funding:dossier_detail", args=[reference])

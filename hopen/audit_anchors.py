"""Daily anchors of the audit trail: the day's last hash and count, kept apart from the trail and in the log.

The chain's links alone cannot reveal that its latest records were deleted (the survivors still link to each
other) nor that a record was rewritten with every following hash recomputed. Once a day has ended, its anchor
pins the trail as it stood: `verify_chain` (hopen/audit.py) then checks that the anchored record is still there,
with the same hash and the same number of records before it. The anchor table refuses UPDATE, DELETE and
TRUNCATE (migration hopen 0005) and the application's database role may only add to it; the log line is the copy
that survives even the database owner.

What an anchor cannot cover: the records of the day not yet ended (the window of at most one day, which the
append-only trigger and the least-privilege role protect).
"""

import datetime
import logging

from django.db import connection, transaction
from django.utils import timezone

from .audit import AUDIT_CHAIN_LOCK_ID, GENESIS_HASH
from .exceptions import ApplicationError
from .models import AuditAnchor, AuditRecord

logger = logging.getLogger("hopen.audit.anchor")
ONE_DAY = datetime.timedelta(days=1)


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of `day` in the platform's time zone (Europe/Paris): a day is a day of the French calendar."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _last_ended_day(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now) - ONE_DAY


def audit_anchor_day(*, day: datetime.date, now: datetime.datetime | None = None) -> tuple[AuditAnchor, bool]:
    """Anchor the trail at the end of `day`; return (anchor, created). Idempotent: a day is anchored once, a
    second call returns the existing anchor and writes nothing."""
    now = now or timezone.now()
    if day > _last_ended_day(now):
        raise ApplicationError(f"Le {day:%d/%m/%Y} n'est pas terminé : sa piste d'audit ne peut pas encore être ancrée.")
    with transaction.atomic():
        # The appenders' lock: no record can slip in between the count and the anchor.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_ID])
        existing = AuditAnchor.objects.filter(day=day).first()
        if existing is not None:
            return existing, False
        later = AuditAnchor.objects.filter(day__gt=day).order_by("day").first()
        if later is not None:
            raise ApplicationError(
                f"Le {later.day:%d/%m/%Y} est déjà ancré : une ancre ne se pose pas après coup sur un jour antérieur."
            )
        start, end = _day_start(day), _day_start(day + ONE_DAY)
        # Records are stamped under the appenders' lock, so their times follow their ids.
        last = AuditRecord.objects.filter(at__lt=end).order_by("-id").values("id", "hash").first()
        anchor = AuditAnchor.objects.create(
            day=day,
            last_record_id=last["id"] if last else None,
            last_hash=last["hash"] if last else GENESIS_HASH,
            count=AuditRecord.objects.filter(at__gte=start, at__lt=end).count(),
            total=AuditRecord.objects.filter(id__lte=last["id"]).count() if last else 0,
            created_at=now,
        )
    logger.info(
        "Ancre de la piste d'audit du %s : %s trace(s) ce jour, %s depuis l'origine, dernière trace n° %s, "
        "empreinte %s",
        anchor.day.isoformat(), anchor.count, anchor.total, anchor.last_record_id, anchor.last_hash,
    )
    return anchor, True


def audit_anchor_pending_days(*, now: datetime.datetime | None = None) -> list[AuditAnchor]:
    """Anchor every ended day not anchored yet, oldest first (a beat run missed during an outage is caught up):
    from the day after the latest anchor, or from the day of the first record, up to yesterday."""
    now = now or timezone.now()
    until = _last_ended_day(now)
    latest = AuditAnchor.objects.order_by("-day").values_list("day", flat=True).first()
    if latest is not None:
        day = latest + ONE_DAY
    else:
        first_at = AuditRecord.objects.order_by("id").values_list("at", flat=True).first()
        day = min(timezone.localdate(first_at), until) if first_at else until
    created = []
    while day <= until:
        anchor, was_created = audit_anchor_day(day=day, now=now)
        if was_created:
            created.append(anchor)
        day += ONE_DAY
    return created

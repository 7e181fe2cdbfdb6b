"""Services hand work to Celery by the task's name, through a transactional outbox (issue 15 §7).

Why by name: a Celery task module is a thin wrapper that imports services; if a service imported a task
module back (even inside a function) every service ⇄ task pair would be an import circle. Through Celery's
``send_task`` the dependency goes one way only: tasks → services.

Why an outbox: the task is a row (`hopen.models.OutboxMessage`) written in the transaction of the write that
decided it, so a rolled-back write sends nothing and a committed one loses nothing, even with Redis down:

1. `enqueue_on_commit` inserts the row (``ON CONFLICT (key) DO NOTHING``: one message per key);
2. after the commit the row is published at once; a broker outage is caught, counted on the row
   (``attempts``, ``last_error``) and logged — the committed write never becomes an error page;
3. the relay (`relay`, run every few seconds by ``manage.py relay_outbox --every N``, a process of its own
   next to the worker: a Celery beat task would need the very broker that is down) sends the pending rows
   once the broker answers; each successful publication also relays the rows left behind for a while.

No message leaves twice: a row is published only while locked (``SELECT … FOR UPDATE SKIP LOCKED``) and still
unsent, and marked sent in that same transaction. The one remaining window (the broker took the message, then
the database failed before the commit) is closed by the consumers: letters are generated once per letter,
e-mails carry their outbox key and are sent once per key (`run_once`).
"""

import datetime
import logging
import uuid
from dataclasses import dataclass, field

from celery import current_app
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# Publication must fail fast when the broker is down (the row waits for the relay): a single reconnection attempt,
# which also refreshes a pooled connection broken by a broker restart. Nobody waits for these tasks' results:
# no subscription to the result backend either.
PUBLISH_OPTIONS = {
    "ignore_result": True,
    "retry": True,
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
}
# Errors meaning "the broker is not there": the rest of a relay run would fail the same way.
BROKER_DOWN = (OperationalError, OSError)
RELAY_BATCH = 100
# After each successful publication, the rows older than this are relayed too (younger ones are still being
# published by their own transaction's callback).
RELAY_ON_ENQUEUE_AGE = datetime.timedelta(seconds=30)
RELAY_ON_ENQUEUE_BATCH = 20
# Sent rows are kept this long (a redelivered e-mail finds its `consumed_at`), then purged by the relay command.
SENT_RETENTION = datetime.timedelta(days=30)


def enqueue(task_name: str, /, *args, **kwargs) -> None:
    """Hand the task to the broker now (the outbox's publication; also usable outside any transaction)."""
    current_app.send_task(task_name, args=list(args), kwargs=kwargs, **PUBLISH_OPTIONS)


@dataclass(frozen=True)
class Task:
    """A task to record in the outbox: its registered name, its kwargs (JSON), its idempotence key (optional)."""

    name: str
    kwargs: dict = field(default_factory=dict)
    key: str | None = None


def enqueue_on_commit(task_name: str, /, *, using: str | None = None, key: str | None = None, **kwargs) -> str:
    """Record the task ``task_name`` with ``kwargs`` in the outbox of the current transaction; publish it after
    the commit. Returns the message's key.

    ``task_name`` is the task's registered name (``"funding.tasks.generate_letter"``); ``key`` makes the message
    idempotent (the same key recorded twice is one message; random when not given). Outside a transaction the
    row is committed and published at once.
    """
    return enqueue_many_on_commit([Task(task_name, kwargs, key)], using=using)[0]


def enqueue_many_on_commit(tasks: list[Task], *, using: str | None = None) -> list[str]:
    """`enqueue_on_commit` for many tasks at once (the deadline sweep): one insert, one publication after the
    commit — a constant number of queries in the caller's transaction. Returns the keys."""
    db = using or DEFAULT_DB_ALIAS
    rows = [
        OutboxMessage(key=task.key or f"{task.name}:{uuid.uuid4().hex}", task_name=task.name, kwargs=task.kwargs)
        for task in tasks
    ]
    if not rows:
        return []
    OutboxMessage.objects.using(db).bulk_create(rows, ignore_conflicts=True)
    keys = [row.key for row in rows]

    def publish() -> None:
        sent = 0
        for start in range(0, len(keys), RELAY_BATCH):
            chunk = keys[start:start + RELAY_BATCH]
            result = publish_pending(OutboxMessage.objects.using(db).filter(key__in=chunk), using=db, limit=len(chunk))
            sent += result.sent
            if result.broker_down:
                return
        if sent:
            _relay_left_behind(db)

    # Django logs a failing robust callback by its __qualname__: the name says which messages wait.
    publish.__qualname__ = f"publish({keys[0]!r}{f' and {len(keys) - 1} more' if len(keys) > 1 else ''})"
    transaction.on_commit(publish, using=db, robust=True)
    return keys


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0
    broker_down: bool = False


def publish_pending(queryset, *, using: str = DEFAULT_DB_ALIAS, limit: int = RELAY_BATCH, now=None) -> RelayResult:
    """Publish the unsent messages of ``queryset`` (at most ``limit``, oldest first), each once.

    The rows are locked ``FOR UPDATE SKIP LOCKED``: a row another process is publishing is skipped, and one it
    has published is no longer unsent when we get its lock. Stops at the first sign that the broker is down;
    another error (a message the broker refuses) is recorded on its row and the others go on.
    """
    result = RelayResult()
    with transaction.atomic(using=using):
        rows = list(queryset.filter(sent_at__isnull=True).select_for_update(skip_locked=True).order_by("pk")[:limit])
        touched = []
        for row in rows:
            row.attempts += 1
            touched.append(row)
            try:
                enqueue(row.task_name, *row.args, **row.kwargs)
            except BROKER_DOWN as error:
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
                result.failed += 1
                result.broker_down = True
                logger.warning("Broker injoignable : le message %s attend dans la boîte d'envoi (%s).", row.key, error)
                break
            except Exception as error:  # noqa: BLE001 — one bad message must not block the others
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
                result.failed += 1
                logger.exception("Message %s refusé : il reste dans la boîte d'envoi.", row.key)
            else:
                row.sent_at = now or timezone.now()
                row.last_error = ""
                result.sent += 1
        OutboxMessage.objects.using(using).bulk_update(touched, ["sent_at", "attempts", "last_error"])
    return result


def relay(*, using: str = DEFAULT_DB_ALIAS, batch: int = RELAY_BATCH, older_than=None, limit: int | None = None) -> RelayResult:
    """Send every pending message (oldest first, by batches), or those created before ``older_than``; stops when
    the broker is down. A message that failed for another reason is tried once per run (the cursor moves on)."""
    total = RelayResult()
    last_pk = 0
    while limit is None or total.sent + total.failed < limit:
        pending = OutboxMessage.objects.using(using).filter(pk__gt=last_pk)
        if older_than is not None:
            pending = pending.filter(created_at__lt=older_than)
        size = batch if limit is None else min(batch, limit - total.sent - total.failed)
        ids = list(pending.filter(sent_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        result = publish_pending(OutboxMessage.objects.using(using).filter(pk__in=ids), using=using, limit=size)
        total.sent += result.sent
        total.failed += result.failed
        if result.broker_down:
            total.broker_down = True
            break
        last_pk = ids[-1]
    return total


def _relay_left_behind(db: str) -> None:
    """The broker answers again: send a few of the messages an outage left behind (the relay does the rest)."""
    older_than = timezone.now() - RELAY_ON_ENQUEUE_AGE
    if OutboxMessage.objects.using(db).filter(sent_at__isnull=True, created_at__lt=older_than).exists():
        relay(using=db, batch=RELAY_ON_ENQUEUE_BATCH, older_than=older_than, limit=RELAY_ON_ENQUEUE_BATCH)


def purge_sent(*, now=None, using: str = DEFAULT_DB_ALIAS) -> int:
    """Delete the messages sent more than `SENT_RETENTION` ago."""
    limit = (now or timezone.now()) - SENT_RETENTION
    deleted, _ = OutboxMessage.objects.using(using).filter(sent_at__lt=limit).delete()
    return deleted


def run_once(key: str | None, work):
    """Run ``work()`` once per outbox message ``key`` (the consumer's side of "none twice"): a redelivered
    message whose work is already done returns None. The message's row is locked while the work runs, so two
    deliveries at once run it once; if the work raises, nothing is marked and the retry runs it again."""
    if not key:
        return work()
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().filter(key=key).first()
        if row is not None and row.consumed_at is not None:
            logger.info("Message %s déjà traité le %s : ignoré.", key, row.consumed_at)
            return None
        result = work()
        if row is not None:
            OutboxMessage.objects.filter(pk=row.pk).update(consumed_at=timezone.now())
        return result

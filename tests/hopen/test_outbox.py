"""Redis down loses nothing (issue 15 §7): the transactional outbox of the Celery tasks (`hopen.tasking`).

A throwaway `redis-server` (its own port, no persistence) is the broker; the tests stop it in the middle of real
writes and prove that, once it is back and the relay has run, every message reached it exactly once.
"""

import base64
import datetime
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest
import redis
from celery import Celery
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from funding.dossiers.services import dossier_start_review
from funding.letters import services as letters
from funding.models import DossierLetter, LetterKind
from hopen import tasking
from hopen.models import Notification, OutboxMessage
from hopen.notifications import SEND_EMAIL_TASK, email_after_commit
from hopen.tasks import send_email
from tests.factories_dossiers import DossierFactory

QUEUE = "outbox-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayRedis:
    """A `redis-server` of the test's own, started and stopped by it (nothing saved: a restart starts empty)."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server ne répond pas sur le port {self.port}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # an outage, not a clean shutdown
            self.process.wait(timeout=10)
        self.process = None

    def take_messages(self) -> list[tuple[str, dict]]:
        """The consumer's side: every task message of the queue, removed from it — (task name, kwargs)."""
        client = redis.Redis.from_url(self.url)
        raw = client.lrange(QUEUE, 0, -1)
        client.delete(QUEUE)
        messages = []
        for item in raw:
            envelope = json.loads(item)
            args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
            messages.append((envelope["headers"]["task"], kwargs))
        return messages


@pytest.fixture
def broker(monkeypatch):
    """The throwaway Redis, and Celery publishing to it (`hopen.tasking` sends through `current_app`)."""
    server = ThrowawayRedis(6399 if _port_is_free(6399) else free_port())
    server.start()
    app = Celery("hopen-outbox-test", broker=server.url, set_as_current=False)
    app.conf.task_default_queue = QUEUE
    app.conf.broker_connection_timeout = 2
    monkeypatch.setattr(tasking, "current_app", app)
    yield server
    server.stop()
    app.close()


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def world(tenants, catalogue):
    """Transmitted dossiers of « CH Membre », each to be opened for review by the ARS of region A (annex 4 §1)."""
    return [DossierFactory(establishment=tenants.member, status="transmitted", transmitted_at=timezone.now()) for _ in range(6)]


def decide(dossier, ars):
    """Two real writes about a dossier: the ARS opens its review (notifications and an e-mail to the establishment)
    and, in one transaction, the selection letter is requested (its PDF generation is a task)."""
    dossier_start_review(dossier=dossier, by=ars)
    with transaction.atomic():
        letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")


def assert_each_message_once(messages):
    """Every outbox row reached the broker exactly once, and the broker received nothing else."""
    keys = [kwargs.get("message_key") or f"letter:{kwargs['letter_id']}" for _name, kwargs in messages]
    assert len(keys) == len(set(keys)), "a message reached the broker twice"
    assert sorted(keys) == sorted(OutboxMessage.objects.values_list("key", flat=True))
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_redis_killed_during_writes_loses_no_message_and_sends_none_twice(broker, world, tenants):
    """Issue 15 §7: writes go on while Redis is down; once it is back, the relay sends what waited — 0 lost,
    none twice — and a second relay run sends nothing."""
    delivered = []
    for dossier in world[:2]:
        decide(dossier, tenants.ars_a)
    delivered += broker.take_messages()  # the worker took these before the outage
    assert len(delivered) == 4

    broker.stop()
    started = time.monotonic()
    for dossier in world[2:5]:
        decide(dossier, tenants.ars_a)  # the writes succeed: nothing raised
    assert time.monotonic() - started < 30
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert waiting.count() == 6 and all(row.attempts >= 1 and row.last_error for row in waiting)
    call_command("relay_outbox")  # the relay finds the broker down: the rows stay
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 6

    broker.start()
    decide(world[5], tenants.ars_a)  # a write after the restart is published at once
    call_command("relay_outbox")
    delivered += broker.take_messages()
    call_command("relay_outbox")  # a second run sends nothing
    assert broker.take_messages() == []

    assert len(delivered) == 12
    assert_each_message_once(delivered)
    assert sorted(name for name, _ in delivered) == sorted([SEND_EMAIL_TASK] * 6 + [letters.GENERATE_LETTER_TASK] * 6)
    assert {kwargs["letter_id"] for name, kwargs in delivered if name == letters.GENERATE_LETTER_TASK} == set(
        DossierLetter.objects.values_list("pk", flat=True)
    )
    # Each e-mail copies the in-app notifications of its write (the establishment's editor and director).
    assert Notification.objects.count() == 12
    mailed = [kwargs for name, kwargs in delivered if name == SEND_EMAIL_TASK]
    assert all(sorted(kwargs["recipients"]) == sorted([tenants.editor.email, tenants.director.email]) for kwargs in mailed)


@pytest.mark.django_db(transaction=True)
def test_concurrent_and_repeated_relays_send_each_message_once(broker):
    """`SELECT … FOR UPDATE SKIP LOCKED`: two relays at once, then a third, send 40 waiting messages once in all."""
    broker.stop()
    for n in range(40):
        email_after_commit(subject=f"Message {n}", body="…", recipients=["es@test.fr"])  # autocommit: at once
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 40
    broker.start()
    results = []

    def run():
        try:
            results.append(tasking.relay(batch=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(result.sent for result in results) == 40
    assert tasking.relay().sent == 0
    assert_each_message_once(broker.take_messages())


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_email_is_sent_once(broker):
    """The consumer's side: an e-mail message delivered twice (the broker took it, the commit marking it sent
    failed) sends one e-mail; a failing send marks nothing, so its retry sends it."""
    mail.outbox.clear()
    email_after_commit(subject="Décision ARS", body="Votre dossier est sélectionné.", recipients=["es@test.fr"])
    ((_name, kwargs),) = broker.take_messages()
    assert send_email.run(**kwargs) == 1
    assert send_email.run(**kwargs) is None
    assert [message.subject for message in mail.outbox] == ["Décision ARS"]
    assert OutboxMessage.objects.get(key=kwargs["message_key"]).consumed_at is not None


def test_rolled_back_write_leaves_no_message_and_a_key_is_one_message(db, sent_tasks, django_capture_on_commit_callbacks):
    """Issue 15 §7: the message is a row of the write's transaction — rolled back with it; the same key twice
    (a letter requested twice) is one message."""
    with pytest.raises(RuntimeError), transaction.atomic():
        email_after_commit(subject="Jamais", body="…", recipients=["es@test.fr"])
        raise RuntimeError
    assert not OutboxMessage.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            tasking.enqueue_on_commit("funding.tasks.generate_letter", key="letter:7", letter_id=7)
            tasking.enqueue_on_commit("funding.tasks.generate_letter", key="letter:7", letter_id=7)
    assert sent_tasks == [("funding.tasks.generate_letter", {"letter_id": 7})]
    assert OutboxMessage.objects.get().sent_at is not None


def test_each_publication_also_relays_the_messages_an_outage_left_behind(
    db, sent_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    """The retry on each new enqueue: once the broker answers again, a new message's publication also sends the
    messages waiting for longer than `RELAY_ON_ENQUEUE_AGE` (younger ones are their own transaction's)."""
    real_app = tasking.current_app
    monkeypatch.setattr(tasking, "current_app", type("Down", (), {"send_task": _broker_down})())
    with django_capture_on_commit_callbacks(execute=True):
        old = tasking.enqueue_on_commit("hopen.tasks.verify_audit_chain")
        young = tasking.enqueue_on_commit("indicators.tasks.requeue_pending_evidence")
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 2
    OutboxMessage.objects.filter(key=old).update(created_at=timezone.now() - tasking.RELAY_ON_ENQUEUE_AGE * 2)
    monkeypatch.setattr(tasking, "current_app", real_app)  # the `sent_tasks` recorder: the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        tasking.enqueue_on_commit("funding.tasks.run_deadlines_task")
    assert [name for name, _ in sent_tasks] == ["funding.tasks.run_deadlines_task", "hopen.tasks.verify_audit_chain"]
    assert list(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("key", flat=True)) == [young]


def test_sent_messages_are_purged_after_the_retention(db, sent_tasks, django_capture_on_commit_callbacks):
    """Sent rows are kept `SENT_RETENTION` (a redelivery still finds its key), then purged; pending ones never."""
    with django_capture_on_commit_callbacks(execute=True):
        tasking.enqueue_on_commit("hopen.tasks.verify_audit_chain")
    tasking.enqueue_on_commit("hopen.tasks.verify_audit_chain", key="waiting")  # its commit never comes
    later = timezone.now() + tasking.SENT_RETENTION + datetime.timedelta(days=1)
    assert tasking.purge_sent(now=timezone.now()) == 0
    assert tasking.purge_sent(now=later) == 1
    assert list(OutboxMessage.objects.values_list("key", flat=True)) == ["waiting"]


def _broker_down(*args, **kwargs):
    raise OSError("Connection refused")

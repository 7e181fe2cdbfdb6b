"""A real round trip: task sent after commit, through Redis, executed by a Celery worker (no eager mode)."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import transaction

from hopen.celery import app
from hopen.notifications import email_after_commit
from hopen.tasks import send_email, verify_audit_chain


@pytest.fixture(scope="module")
def celery_worker():
    assert not app.conf.task_always_eager
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING") as worker:
        yield worker


@pytest.mark.django_db(transaction=True)
def test_email_leaves_only_after_commit_through_the_worker(celery_worker):
    mail.outbox.clear()
    with transaction.atomic():
        email_after_commit(subject="Décision ARS", body="Votre dossier a été sélectionné.", recipients=["es@test.fr"])
        assert mail.outbox == []  # nothing leaves before the commit
    result = send_email.delay(subject="Deuxième", body="Corps", recipients=["ars@test.fr"])
    assert result.get(timeout=20) == 1
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == ["Deuxième", "Décision ARS"]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_sends_nothing(celery_worker):
    mail.outbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        email_after_commit(subject="Jamais", body="…", recipients=["es@test.fr"])
        raise RuntimeError
    # A task sent afterwards runs; the rolled-back one never was sent.
    assert send_email.delay(subject="Témoin", body="…", recipients=["x@test.fr"]).get(timeout=20) == 1
    assert [message.subject for message in mail.outbox] == ["Témoin"]


@pytest.mark.django_db(transaction=True)
def test_audit_chain_verification_task_runs_on_the_worker(celery_worker):
    assert verify_audit_chain.delay().get(timeout=20) == {"checked": 0, "breaks": []}

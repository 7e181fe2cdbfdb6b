"""Two declarations of one establishment at the same time, on two connections (issue 17: « one writer » of the
attainment state; indicators/state/writer.py `_lock`).

Each declaration refreshes the establishment's state from the history inside its own transaction. Without the
per-establishment lock, the second refresh would read the history before the first declaration commits and write a
state that misses it (one declared value instead of two) or collide with the first one's rows. The lock makes the
second refresh wait for the first commit; PostgreSQL's READ COMMITTED then lets its statements see it.

Through the services, the audit trail's lock (taken by the declaration's audit record, before the refresh) already
serialises two declarations; the writer's own lock is what protects a refresh that no audited write precedes — the
second test drives the writer directly.
"""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from indicators.models import EstablishmentState, IndicatorValue, ValueStatus
from indicators.services import value_declare, value_save_draft
from indicators.state.writer import rebuild_attainment, refresh_attainment
from tests.indicators.conftest import hopen_programme, indicator
from tests.indicators.state.test_writer import document_on, reached

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30  # seconds: a deadlock or a lost wake-up fails the test instead of hanging it


def _drafts_with_documents(tenants):
    drafts = {}
    for code in ("P1.1", "P1.2"):
        drafts[code] = value_save_draft(
            establishment=tenants.member, indicator=indicator(code), data=reached(code), by=tenants.editor
        )
        document_on(drafts[code], tenants.editor)
    return drafts


def _declare_then_refresh(value, by):
    """A history write that leaves no audit record (so takes no audit lock), then the writer — as one transaction's
    body."""
    IndicatorValue.objects.filter(pk=value.pk).update(
        status=ValueStatus.DECLARED, declared_by=by, declared_at=timezone.now()
    )
    refresh_attainment(establishment_ids=[value.establishment_id], programme_ids=[hopen_programme().pk])


def _race(first_body, second_body):
    """Runs `first_body` in a transaction held open until the second one has had a second to finish (it must not),
    then commits it; returns the errors of both."""
    first_declared, release_first, second_done = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def first():
        try:
            with transaction.atomic():
                first_body()
                first_declared.set()
                assert release_first.wait(WAIT)  # holds its transaction (and the establishment's lock) open
        except Exception as exc:  # noqa: BLE001 — reported by the assertions below
            errors.append(repr(exc))
            first_declared.set()
        finally:
            connection.close()

    def second():
        try:
            assert first_declared.wait(WAIT)
            with transaction.atomic():
                second_body()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            second_done.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        assert first_declared.wait(WAIT)
        # The second one cannot finish while the first one's transaction is open: it waits on the lock.
        assert not second_done.wait(1.0), "la seconde écriture n'a pas attendu la première"
    finally:
        release_first.set()
        for thread in threads:
            thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def _assert_both_counted(tenants):
    state = EstablishmentState.objects.get(establishment=tenants.member, programme=hopen_programme())
    assert state.declared_count == 2
    assert state.documented_count == 2
    assert rebuild_attainment(check=True) == []


def test_a_second_declaration_waits_for_the_first_and_counts_it(tenants, catalogue):
    drafts = _drafts_with_documents(tenants)
    errors = _race(
        lambda: value_declare(value=drafts["P1.1"], by=tenants.director),
        lambda: value_declare(value=drafts["P1.2"], by=tenants.director),
    )
    assert errors == []
    _assert_both_counted(tenants)


def test_the_writer_serialises_two_refreshes_of_one_establishment(tenants, catalogue):
    drafts = _drafts_with_documents(tenants)
    errors = _race(
        lambda: _declare_then_refresh(drafts["P1.1"], tenants.director),
        lambda: _declare_then_refresh(drafts["P1.2"], tenants.director),
    )
    assert errors == []
    _assert_both_counted(tenants)

"""The audit trail resists its database's owner (issue 15, item 3): append-only tables, a chain covering every
column, and daily anchors that reveal a truncated tail or a rewritten, re-hashed record."""

import datetime
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from hopen.audit import GENESIS_HASH, HASH_VERSION, _hash_of, audit_record, record_hash, verify_chain
from hopen.audit_anchors import audit_anchor_day
from hopen.exceptions import ApplicationError
from hopen.models import AuditAnchor, AuditRecord
from tests.factories import EstablishmentFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TOMORROW_NOON = timezone.make_aware(datetime.datetime.combine(TODAY + datetime.timedelta(days=1), datetime.time(12)))


@pytest.fixture
def trail():
    """Five records written by the services' path, by two people."""
    establishment = EstablishmentFactory()
    alice, bob = UserFactory(), UserFactory()
    with transaction.atomic():
        for number in range(5):
            audit_record(actor=alice if number % 2 else bob, action="test.write", target=establishment,
                         changes={"n": [number, number + 1]})
    return list(AuditRecord.objects.order_by("id"))


def _without_triggers():
    """What only the database's owner can do once the triggers exist: stop them for this transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")


def _sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _append(*, at, actor=None, hash_version=HASH_VERSION):
    """A record chained onto the trail with a chosen time (a past day) or hash format (a legacy record)."""
    previous = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
    record = AuditRecord(at=at, actor=actor, actor_email=getattr(actor, "email", ""), action="test.write",
                         object_type="hopen.region", object_id="1", object_repr="x", changes={"a": [1, 2]},
                         previous_hash=previous, hash_version=hash_version)
    record.hash = _hash_of(record)
    record.save()
    return record


@pytest.mark.parametrize("statement", [
    "UPDATE {table} SET {column} = {column}",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
])
@pytest.mark.parametrize("table, column", [("hopen_auditrecord", "action"), ("hopen_auditanchor", "last_hash")])
def test_the_database_refuses_to_change_the_trail_or_its_anchors(trail, statement, table, column):
    """Issue 15 §3: append-only at the database, as the ledger — even raw SQL by the superuser is refused."""
    audit_anchor_day(day=TODAY, now=TOMORROW_NOON)
    _sql("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred foreign-key check of this transaction
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        _sql(statement.format(table=table, column=column))
    assert AuditRecord.objects.count() == 5 and AuditAnchor.objects.count() == 1


def test_a_changed_actor_is_detected(trail):
    """The chain covers every column, the actor's id included (issue 15 §3)."""
    victim = trail[2]
    other = UserFactory()
    _without_triggers()
    _sql("UPDATE hopen_auditrecord SET actor_id = %s WHERE id = %s", [other.pk, victim.pk])
    _, breaks = verify_chain()
    assert [(b.record_id, "modifiée" in b.reason) for b in breaks] == [(victim.pk, True)]


def test_a_truncated_tail_is_detected_by_the_anchor(trail, capsys):
    """Deleting the latest records leaves a chain whose links all hold; the day's anchor still names its last
    record and count (issue 15 §3)."""
    anchor, _ = audit_anchor_day(day=TODAY, now=TOMORROW_NOON)
    assert (anchor.last_record_id, anchor.last_hash, anchor.total) == (trail[-1].pk, trail[-1].hash, 5)
    _without_triggers()
    _sql("DELETE FROM hopen_auditrecord WHERE id >= %s", [trail[3].pk])
    checked, breaks = verify_chain()
    assert checked == 3
    assert trail[-1].pk in [b.record_id for b in breaks]
    assert any("disparu" in b.reason for b in breaks)
    with pytest.raises(Exception, match="Piste d'audit altérée"):
        call_command("verify_audit_chain")


def test_without_an_anchor_the_same_truncation_would_pass(trail):
    """Why the anchor exists: the links alone accept a trail cut short."""
    _without_triggers()
    _sql("DELETE FROM hopen_auditrecord WHERE id >= %s", [trail[3].pk])
    assert verify_chain() == (3, [])


def test_a_rewritten_record_with_recomputed_hashes_is_detected_by_the_anchor(trail):
    """Rewriting a record and recomputing every following hash keeps every link valid, but the anchored record's
    hash no longer matches the anchor (issue 15 §3)."""
    audit_anchor_day(day=TODAY, now=TOMORROW_NOON)
    _without_triggers()
    previous = trail[0].hash
    for record in trail[1:]:
        record.previous_hash = previous
        if record.pk == trail[1].pk:
            record.changes = {"n": ["falsifié", "falsifié"]}
        record.hash = _hash_of(record)
        _sql("UPDATE hopen_auditrecord SET changes = %s, previous_hash = %s, hash = %s WHERE id = %s",
             [json.dumps(record.changes), record.previous_hash, record.hash, record.pk])
        previous = record.hash
    _, breaks = verify_chain()
    assert [b.record_id for b in breaks] == [trail[-1].pk]
    assert "ancre du" in breaks[0].reason


def test_legacy_records_keep_their_original_hash_and_verify(db):
    """Records written before the hardening keep format 1 (actor's id not covered) and still verify."""
    legacy = _append(at=timezone.now(), hash_version=1)
    assert legacy.hash == record_hash(
        previous_hash=GENESIS_HASH, at=legacy.at, actor_email="", action="test.write", object_type="hopen.region",
        object_id="1", object_repr="x", changes={"a": [1, 2]}, hash_version=1,
    )
    _append(at=timezone.now())
    assert verify_chain() == (2, [])


def test_a_record_downgraded_to_the_legacy_format_is_detected(db):
    """A version-1 record after a version-2 one is a rewrite (the weaker format would hide an actor change)."""
    _append(at=timezone.now())
    downgraded = _append(at=timezone.now(), hash_version=1)
    _, breaks = verify_chain()
    assert [(b.record_id, "format" in b.reason) for b in breaks] == [(downgraded.pk, True)]


def test_the_anchor_command_is_idempotent_per_day(db, caplog):
    """One anchor per ended day, written to its table and the log; a second run writes nothing."""
    now = timezone.now()
    _append(at=now - datetime.timedelta(days=3))
    _append(at=now - datetime.timedelta(days=2))
    _append(at=now - datetime.timedelta(days=2))
    with caplog.at_level(logging.INFO, logger="hopen.audit.anchor"):
        call_command("anchor_audit_chain", stdout=io.StringIO())
    anchors = list(AuditAnchor.objects.order_by("day"))
    assert [(a.day, a.count, a.total) for a in anchors] == [
        (TODAY - datetime.timedelta(days=3), 1, 1),
        (TODAY - datetime.timedelta(days=2), 2, 3),
        (TODAY - datetime.timedelta(days=1), 0, 3),
    ]
    assert anchors[1].last_hash == anchors[2].last_hash == AuditRecord.objects.order_by("-id").first().hash
    assert sum("Ancre de la piste d'audit" in r.getMessage() for r in caplog.records) == 3
    out = io.StringIO()
    call_command("anchor_audit_chain", stdout=out)
    call_command("anchor_audit_chain", "--day", str(TODAY - datetime.timedelta(days=2)), stdout=out)
    assert AuditAnchor.objects.count() == 3
    assert "déjà ancrée" in out.getvalue()
    assert verify_chain() == (3, [])


def test_a_day_not_ended_cannot_be_anchored(trail):
    with pytest.raises(ApplicationError, match="n'est pas terminé"):
        audit_anchor_day(day=TODAY)
    assert not AuditAnchor.objects.exists()


def test_the_anchor_is_scheduled_daily_just_after_midnight(db):
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", stdout=io.StringIO())
    task = PeriodicTask.objects.get(task="hopen.tasks.anchor_audit_chain")
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("0", "10", "Europe/Paris")


def test_a_person_who_wrote_in_the_trail_cannot_be_deleted(trail):
    """The chain covers the actor's id, so the record cannot lose it: deactivate, never delete."""
    with pytest.raises(ProtectedError):
        trail[0].actor.delete()

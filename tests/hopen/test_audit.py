"""The audit trail: one record per write, in the same transaction, chained by SHA-256 and verifiable."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from hopen.audit import audit_record, diff, verify_chain
from hopen.models import AuditRecord, Role
from hopen.services import establishment_set_ght, role_assign
from tests.factories import EstablishmentFactory, GhtFactory, UserFactory

pytestmark = pytest.mark.django_db


def _three_records(tenants):
    other_ght = GhtFactory(region=tenants.region_a)
    establishment_set_ght(establishment=tenants.clinic, ght=other_ght, by=tenants.admin)
    establishment_set_ght(establishment=tenants.clinic, ght=None, by=tenants.admin)
    role_assign(user=UserFactory(), role=Role.ARS_OFFICER, region=tenants.region_b, by=tenants.admin)


def test_service_writes_who_what_and_before_after(tenants):
    other_ght = GhtFactory(region=tenants.region_a)
    establishment_set_ght(establishment=tenants.clinic, ght=other_ght, by=tenants.admin)
    record = AuditRecord.objects.first()
    assert record.actor == tenants.admin
    assert record.actor_email == tenants.admin.email
    assert record.action == "establishment.set_ght"
    assert (record.object_type, record.object_id) == ("hopen.establishment", str(tenants.clinic.pk))
    assert record.changes == {"ght": [None, other_ght.pk], "ght_membership_source": ["", "manual"]}


def test_record_is_rolled_back_with_the_write(tenants):
    before = AuditRecord.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=tenants.admin, action="test.write", target=tenants.clinic, changes={"x": [1, 2]})
        raise RuntimeError("the write fails after its audit record")
    assert AuditRecord.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction():
    establishment = EstablishmentFactory()
    with pytest.raises(RuntimeError, match="transaction"):
        audit_record(actor=None, action="test", target=establishment)
    assert not AuditRecord.objects.exists()


def test_records_cannot_be_updated_or_deleted_through_the_orm(tenants):
    _three_records(tenants)
    record = AuditRecord.objects.first()
    record.action = "falsified"
    with pytest.raises(RuntimeError):
        record.save()
    with pytest.raises(RuntimeError):
        record.delete()


def test_intact_chain_verifies(tenants):
    _three_records(tenants)
    checked, breaks = verify_chain()
    assert checked == AuditRecord.objects.count() >= 3
    assert breaks == []


def _without_triggers():
    """An edit at the database level, as the database's owner could do it once it stops the append-only triggers
    for its transaction (tests/hopen/test_audit_hardening.py proves that they refuse it otherwise)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")


def test_tampered_record_is_detected(tenants, capsys):
    _three_records(tenants)
    victim = AuditRecord.objects.order_by("id")[2]
    _without_triggers()
    AuditRecord.objects.filter(pk=victim.pk).update(changes={"ght": [None, None]})
    checked, breaks = verify_chain()
    assert [b.record_id for b in breaks] == [victim.pk]
    assert "modifiée" in breaks[0].reason
    with pytest.raises(CommandError, match="1 anomalie"):
        call_command("verify_audit_chain")
    assert f"Trace n° {victim.pk}" in capsys.readouterr().err


def test_deleted_record_is_detected(tenants):
    _three_records(tenants)
    victim = AuditRecord.objects.order_by("id")[1]
    _without_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM hopen_auditrecord WHERE id = %s", [victim.pk])
    _, breaks = verify_chain()
    assert len(breaks) == 1
    assert "rompu" in breaks[0].reason


def test_rehashed_forgery_is_still_detected_by_the_next_link(tenants):
    """Rewriting a record and recomputing its own hash breaks the link held by the following record."""
    from hopen.audit import _hash_of

    _three_records(tenants)
    records = list(AuditRecord.objects.order_by("id"))
    victim = records[1]
    victim.changes = {"forged": [1, 2]}
    forged_hash = _hash_of(victim)
    _without_triggers()
    AuditRecord.objects.filter(pk=victim.pk).update(changes=victim.changes, hash=forged_hash)
    _, breaks = verify_chain()
    assert [b.record_id for b in breaks] == [records[2].pk]


def test_command_reports_an_intact_chain(tenants, capsys):
    _three_records(tenants)
    call_command("verify_audit_chain")
    assert "Piste d'audit intègre" in capsys.readouterr().out


def test_diff_keeps_only_changed_fields():
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == {"b": [2, 3]}

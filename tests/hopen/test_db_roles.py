"""The application's PostgreSQL role (issue 15, item 3): it writes the platform's data but can neither change
nor delete an audit record or a ledger entry, nor change the schema — created in the test database by
`create_app_role`, inside the test's transaction (roles and grants roll back with it)."""

import io
import os
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, ProgrammingError, connection, transaction

from hopen.audit import audit_record, verify_chain
from hopen.models import AuditRecord
from tests.factories import EstablishmentFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLE = f"hopen_app_test_{os.getpid()}"  # roles are shared by the cluster: one per test process


@pytest.fixture
def app_role():
    out = io.StringIO()
    call_command("create_app_role", "--role", ROLE, "--password", "mot-de-passe-de-test", stdout=out)
    assert "créé" in out.getvalue()
    return ROLE


def _as_app_role(statement, params=None):
    """Run one statement as the application's role, in a savepoint: a refusal rolls the savepoint back, and with
    it the SET ROLE, so the test goes on as the superuser."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{ROLE}"')
        cursor.execute(statement, params)
        cursor.execute("RESET ROLE")


def _current_user():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


@pytest.fixture
def records():
    establishment, author = EstablishmentFactory(), UserFactory()
    with transaction.atomic():
        audit_record(actor=author, action="test.write", target=establishment, changes={"x": [1, 2]})
    return AuditRecord.objects.all()


@pytest.mark.parametrize("statement", [
    "UPDATE hopen_auditrecord SET actor_id = NULL",
    "DELETE FROM hopen_auditrecord",
    "TRUNCATE hopen_auditrecord",
    "UPDATE hopen_auditanchor SET last_hash = ''",
    "DELETE FROM hopen_auditanchor",
    "UPDATE envelopes_ledgerentry SET amount = 0",
    "DELETE FROM envelopes_ledgerentry",
    "UPDATE envelopes_beneficiary_money SET seed_paid = 0",  # the ledger's sums: its trigger's only
    "DELETE FROM envelopes_beneficiary_money",
    "INSERT INTO envelopes_beneficiary_money (envelope_id, establishment_id, sector, seed_committed, seed_paid, "
    "usage_committed, usage_paid, refunds_claimed, refunds_received) VALUES (1, 1, '', 0, 0, 0, 0, 0, 0)",
    "ALTER TABLE hopen_auditrecord DISABLE TRIGGER USER",  # no way round the trigger either
    "CREATE TABLE hopen_intrus (id int)",  # no DDL
    "DELETE FROM django_migrations",
])
def test_the_app_role_cannot_change_the_trail_the_ledger_or_the_schema(records, app_role, statement):
    with pytest.raises(ProgrammingError, match="permission denied|must be owner|droit refusé|doit être le propriétaire"):
        _as_app_role(statement)
    assert _current_user() != ROLE
    assert records.count() == 1


def test_the_app_role_still_appends_to_the_trail_and_writes_data(records, app_role):
    """Least privilege, not no privilege: the services' writes and their audit records still go through."""
    establishment = EstablishmentFactory()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{ROLE}"')
        cursor.execute("UPDATE hopen_establishment SET name = 'CH renommé' WHERE id = %s", [establishment.pk])
        audit_record(actor=None, action="test.rename", target=establishment, changes={"name": ["a", "b"]})
        cursor.execute("RESET ROLE")
    assert records.count() == 2
    assert verify_chain()[1] == []


def test_the_command_is_idempotent_and_refuses_the_owner_itself(app_role):
    out = io.StringIO()
    call_command("create_app_role", "--role", ROLE, stdout=out)
    assert "mis à jour" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s", [ROLE])
        assert cursor.fetchone() == (False, False, False)
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(Exception, match="différer du propriétaire"):
        call_command("create_app_role", "--role", owner, stdout=io.StringIO())


def test_a_refused_write_is_refused_before_the_trigger(records, app_role):
    """The refusal comes from the privileges (permission denied), not only from the trigger: it holds even for
    a table whose trigger the owner has stopped."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    with pytest.raises(DatabaseError, match="permission denied|droit refusé"):
        _as_app_role("DELETE FROM hopen_auditrecord")


def test_a_ledger_entry_of_the_app_role_still_updates_the_sums_it_may_not_write(app_role, tenants):
    """The ledger's trigger writes the sums per beneficiary as the table's owner (SECURITY DEFINER, envelopes 0005):
    the application's role appends the entry, the sums follow, though the role may not write them itself."""
    from envelopes.models import BeneficiaryMoney
    from tests.factories_dossiers import open_envelope

    envelope = open_envelope(tenants.region_a)
    establishment = EstablishmentFactory(region=tenants.region_a)
    _as_app_role(
        "INSERT INTO envelopes_ledgerentry (envelope_id, sequence, kind, pot, amount, effective_on, establishment_id, "
        "sector, is_derogatory, label, reference, seed_available_after, usage_available_after, created_at) "
        "VALUES (%s, 5, 'seed_payment', 'seed', 12.50, CURRENT_DATE, %s, '', false, 'Versement', '', 0, 0, now())",
        [envelope.pk, establishment.pk],
    )
    assert _current_user() != ROLE
    assert BeneficiaryMoney.objects.get(envelope=envelope, establishment=establishment).seed_paid == Decimal("12.50")

"""The ledger is append-only in the database itself: UPDATE and DELETE on its entries raise (annex 2 ledger rule)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION envelopes_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Le grand livre est en ajout seul : % interdit sur une écriture.', TG_OP
        USING ERRCODE = 'raise_exception';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER envelopes_ledger_append_only
    BEFORE UPDATE OR DELETE ON envelopes_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION envelopes_ledger_append_only();
CREATE TRIGGER envelopes_ledger_no_truncate
    BEFORE TRUNCATE ON envelopes_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION envelopes_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS envelopes_ledger_no_truncate ON envelopes_ledgerentry;
DROP TRIGGER IF EXISTS envelopes_ledger_append_only ON envelopes_ledgerentry;
DROP FUNCTION IF EXISTS envelopes_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("envelopes", "0002_ledger_links")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]

"""Audit-trail hardening (issue 15, item 3).

- `hash_version`: the records already written keep their original hash, marked version 1 (the format that left
  out the actor's id); new records are version 2, covering every column (hopen/audit.py explains why no re-hash).
  The column is added with default 1 (existing rows), then the model's default becomes 2.
- `actor` is PROTECT: the chain covers the actor's id and the table refuses UPDATE, so SET_NULL could no longer run.
- `AuditAnchor`: the daily anchors (hopen/audit_anchors.py).
- Both tables refuse UPDATE, DELETE and TRUNCATE in the database itself, as the ledger does (envelopes 0003).
  The triggers are created last: the column added above is filled by ALTER TABLE, not by row updates.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY_TABLES = ("hopen_auditrecord", "hopen_auditanchor")

FORWARD = """
CREATE OR REPLACE FUNCTION hopen_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'La piste d''audit est en ajout seul : % interdit sur %.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'raise_exception';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION hopen_audit_append_only();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION hopen_audit_append_only();
"""
    for table in APPEND_ONLY_TABLES
)

BACKWARD = "".join(
    f"""
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
"""
    for table in APPEND_ONLY_TABLES
) + "DROP FUNCTION IF EXISTS hopen_audit_append_only();"


class Migration(migrations.Migration):
    dependencies = [("hopen", "0004_region_ars_address")]

    operations = [
        migrations.AddField(
            model_name="auditrecord",
            name="hash_version",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="format d'empreinte"),
        ),
        migrations.AlterField(
            model_name="auditrecord",
            name="hash_version",
            field=models.PositiveSmallIntegerField(default=2, verbose_name="format d'empreinte"),
        ),
        migrations.AlterField(
            model_name="auditrecord",
            name="actor",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(unique=True, verbose_name="jour")),
                ("last_record_id", models.BigIntegerField(blank=True, null=True, verbose_name="dernière trace")),
                ("last_hash", models.CharField(max_length=64, verbose_name="dernière empreinte")),
                ("count", models.PositiveIntegerField(verbose_name="traces du jour")),
                ("total", models.PositiveBigIntegerField(verbose_name="traces depuis l'origine")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="ancrée le")),
            ],
            options={
                "verbose_name": "ancre de la piste d'audit",
                "verbose_name_plural": "ancres de la piste d'audit",
                "ordering": ["-day"],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]

"""The ledger's sums per envelope, beneficiary and sector, kept on write (issue 17): a statement trigger on the ledger adds
each insert's entries to them in the same transaction, whatever inserts them. SECURITY DEFINER: the trigger writes
the table as its owner, the application's role may only read it (hopen.db_roles.READ_ONLY_TABLES). The kinds and
columns are envelopes.models.MONEY_COLUMNS at the time of this migration (frozen here, as migrations are);
envelopes.beneficiary_money rebuilds and checks the same sums from the ledger.
"""

import django.db.models.deletion
from django.db import migrations, models

COLUMNS = {
    "seed_commitment": "seed_committed", "seed_payment": "seed_paid",
    "usage_commitment": "usage_committed", "usage_payment": "usage_paid",
    "refund_claim": "refunds_claimed", "refund_received": "refunds_received",
}
NAMES = ", ".join(COLUMNS.values())
KINDS = ", ".join(f"'{kind}'" for kind in COLUMNS)


def _sums(source: str) -> str:
    sums = ", ".join(f"coalesce(sum(amount) FILTER (WHERE kind = '{kind}'), 0)" for kind in COLUMNS)
    return f"""
    SELECT envelope_id, establishment_id, sector, {sums}
      FROM {source}
     WHERE establishment_id IS NOT NULL AND kind IN ({KINDS})
     GROUP BY envelope_id, establishment_id, sector"""


FORWARD = f"""
CREATE FUNCTION envelopes_beneficiary_money_add() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO envelopes_beneficiary_money AS kept (envelope_id, establishment_id, sector, {NAMES})
    {_sums("added")}
    ON CONFLICT (envelope_id, establishment_id, sector) DO UPDATE SET
    {", ".join(f"{name} = kept.{name} + EXCLUDED.{name}" for name in COLUMNS.values())};
    RETURN NULL;
END;
$$;
CREATE TRIGGER envelopes_beneficiary_money
    AFTER INSERT ON envelopes_ledgerentry REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION envelopes_beneficiary_money_add();
INSERT INTO envelopes_beneficiary_money (envelope_id, establishment_id, sector, {NAMES})
{_sums("envelopes_ledgerentry")};
"""

BACKWARD = """
DROP TRIGGER IF EXISTS envelopes_beneficiary_money ON envelopes_ledgerentry;
DROP FUNCTION IF EXISTS envelopes_beneficiary_money_add();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('envelopes', '0004_ledger_delegations_deductions'),
        ('hopen', '0007_establishment_name_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='BeneficiaryMoney',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sector', models.CharField(blank=True, choices=[('public', 'Public'), ('private', 'Privé'), ('espic', 'ESPIC')], max_length=8, verbose_name='secteur')),
                ('seed_committed', models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name='amorçage engagé')),
                ('seed_paid', models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name='amorçage versé')),
                ('usage_committed', models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name='usage engagé')),
                ('usage_paid', models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name='usage versé')),
                ('refunds_claimed', models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name='remboursements demandés')),
                ('refunds_received', models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name='remboursements reçus')),
                ('envelope', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='envelopes.envelope')),
                ('establishment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='hopen.establishment')),
            ],
            options={
                'verbose_name': "montants d'un bénéficiaire",
                'verbose_name_plural': 'montants des bénéficiaires',
                'db_table': 'envelopes_beneficiary_money',
                'constraints': [models.UniqueConstraint(fields=('envelope', 'establishment', 'sector'), name='beneficiary_money_unique')],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]

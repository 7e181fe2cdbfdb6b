from django.core.management.base import BaseCommand

from envelopes.beneficiary_money import rebuild
from hopen.db_roles import use_owner_role
from hopen.management.rebuild_report import RebuildMessages, report_rebuild

MESSAGES = RebuildMessages(
    check_failed="{n} écart(s) entre les montants tenus et le grand livre.",
    check_passed="Les montants tenus par bénéficiaire sont égaux à ceux du grand livre.",
    rebuilt="Montants par bénéficiaire reconstruits : {n} écart(s) corrigé(s).",
    unchanged="Les montants tenus étaient déjà égaux à ceux du grand livre : rien à modifier.",
)


class Command(BaseCommand):
    help = (
        "Recalcule depuis le grand livre les montants tenus par bénéficiaire (engagés, versés, remboursements, par "
        "enveloppe et secteur) et les compare à ceux que tient le déclencheur du grand livre ; les remplace s'ils "
        "diffèrent (en tant que propriétaire du schéma, MIGRATION_DATABASE_URL). --check : compare seulement (code de "
        "sortie 1 en cas d'écart)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="comparer sans rien modifier")

    def handle(self, *args, **options):
        if not options["check"]:
            use_owner_role()  # the application's role may only read the table
        differences = rebuild(check=options["check"])
        report_rebuild(self.stdout, differences, check=options["check"], messages=MESSAGES)

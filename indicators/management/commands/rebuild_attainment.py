from django.core.management.base import BaseCommand, CommandError

from hopen.management.rebuild_report import RebuildMessages, report_rebuild
from indicators.models import Programme
from indicators.state.writer import rebuild_attainment

MESSAGES = RebuildMessages(
    check_failed="{n} écart(s) entre l'état d'atteinte et l'historique.",
    check_passed="L'état d'atteinte est égal à celui que donne l'historique.",
    rebuilt="État d'atteinte reconstruit : {n} écart(s) corrigé(s).",
    unchanged="L'état d'atteinte était déjà égal à celui que donne l'historique : rien à modifier.",
)


class Command(BaseCommand):
    help = (
        "Recalcule l'état d'atteinte des indicateurs (valeurs déclarées en vigueur, groupes, prérequis) depuis "
        "l'historique des valeurs et le compare à l'état tenu à chaque déclaration ; le remplace s'il diffère. "
        "--check : compare seulement (code de sortie 1 en cas d'écart)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--programme", help="code du programme (par défaut : tous)")
        parser.add_argument("--check", action="store_true", help="comparer sans rien modifier")

    def handle(self, *args, **options):
        programme_ids = None
        if options["programme"]:
            programme = Programme.objects.filter(code=options["programme"]).first()
            if programme is None:
                raise CommandError(f"Programme inconnu : {options['programme']}")
            programme_ids = [programme.pk]
        differences = rebuild_attainment(programme_ids=programme_ids, check=options["check"])
        report_rebuild(self.stdout, differences, check=options["check"], messages=MESSAGES)

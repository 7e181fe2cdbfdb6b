import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from funding.deadlines.sweep import run_deadlines

LABELS = {
    "silence_refusals": "Refus implicites (annexe 4 §1)",
    "review_reminders": "Rappels à l'ARS (3 mois et 3 semaines)",
    "initialisation_alerts": "Initialisations en retard (1,5 mois)",
    "prerequisites_refunds": "Remboursements : prérequis non atteints à l'échéance",
    "target_alerts": "Alertes d'échéance des cibles",
    "annual_report_reminders": "Rappels du rapport annuel de l'ARS",
}
COUNT_LABELS = {
    "dossiers": "dossier(s)",
    "domains": "domaine(s)",
    "claims": "demande(s) de remboursement",
    "letters": "courrier(s)",
    "notifications": "notification(s)",
    "regions": "région(s)",
    "target_soon": "échéance(s) proche(s)",
    "target_passed": "échéance(s) dépassée(s)",
    "programme_soon": "échéance(s) du programme proche(s)",
    "programme_passed": "échéance(s) du programme dépassée(s)",
}


class Command(BaseCommand):
    help = "Traite les échéances des dossiers (refus implicite, rappels, alertes, remboursements) à une date donnée."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="date de référence AAAA-MM-JJ (aujourd'hui par défaut)")

    def handle(self, *args, as_of=None, **options):
        try:
            day = datetime.date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"Date invalide « {as_of} » : attendu AAAA-MM-JJ.") from exc
        results = run_deadlines(day)
        self.stdout.write(f"Échéances au {day:%d/%m/%Y} :")
        for job, counts in results.items():
            detail = ", ".join(f"{n} {COUNT_LABELS.get(name, name)}" for name, n in counts.items())
            self.stdout.write(f"- {LABELS.get(job, job)} : {detail}")

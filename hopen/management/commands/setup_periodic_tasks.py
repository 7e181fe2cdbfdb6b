import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

# The schedule lives in code and is written to django-celery-beat's tables, where beat reads it.
PERIODIC_TASKS = [
    {
        "name": "Ancre quotidienne de la piste d'audit",
        "task": "hopen.tasks.anchor_audit_chain",
        "crontab": {"minute": "10", "hour": "0"},
    },
    {
        "name": "Vérification nocturne de la piste d'audit",
        "task": "hopen.tasks.verify_audit_chain",
        "crontab": {"minute": "30", "hour": "2"},
    },
    {
        "name": "Relance de l'analyse antivirus des pièces restées en attente",
        "task": "indicators.tasks.requeue_pending_evidence",
        "crontab": {"minute": "*/15", "hour": "*"},
    },
    {
        "name": "Échéances des dossiers (refus implicite, rappels, alertes, remboursements)",
        "task": "funding.tasks.run_deadlines_task",
        "crontab": {"minute": "45", "hour": "2"},
    },
]


class Command(BaseCommand):
    help = "Déclare les tâches périodiques (Celery beat) de la plateforme."

    @transaction.atomic
    def handle(self, *args, **options):
        for spec in PERIODIC_TASKS:
            schedule, _ = CrontabSchedule.objects.get_or_create(
                timezone="Europe/Paris", day_of_week="*", day_of_month="*", month_of_year="*", **spec["crontab"]
            )
            _, created = PeriodicTask.objects.update_or_create(
                name=spec["name"],
                defaults={"task": spec["task"], "crontab": schedule, "interval": None, "kwargs": json.dumps({})},
            )
            self.stdout.write(f"{'Créée' if created else 'À jour'} : {spec['name']}")

from django.core.management.base import BaseCommand

from funding.services import combined_activity_refresh


class Command(BaseCommand):
    help = "Calcule l'activité combinée (annexe 3 §1) de chaque établissement à partir de ses données d'activité."

    def handle(self, *args, **options):
        counts = combined_activity_refresh()
        self.stdout.write(
            f"Activité combinée : {counts['created']} créée(s), {counts['updated']} modifiée(s), "
            f"{counts['unchanged']} inchangée(s)."
        )

from django.core.management.base import BaseCommand

from indicators.loading import load_calendar, load_catalogue


class Command(BaseCommand):
    help = "Charge les règles du programme depuis fixtures/ : calendrier, catalogue des indicateurs (annexe 1)."

    def handle(self, *args, **options):
        for name, loader in (("calendrier", load_calendar), ("catalogue", load_catalogue)):
            counts = loader()
            self.stdout.write(
                f"Programme — {name} : {counts['created']} créé(s), {counts['updated']} modifié(s), "
                f"{counts['unchanged']} inchangé(s)."
            )

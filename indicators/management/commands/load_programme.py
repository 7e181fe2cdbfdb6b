from django.core.management.base import BaseCommand

from funding.loading import load_amount_grid
from indicators.loading import load_calendar, load_catalogue


class Command(BaseCommand):
    help = "Charge les règles du programme depuis fixtures/ : calendrier, catalogue des indicateurs (annexe 1), grille des montants (annexe 3)."

    def handle(self, *args, **options):
        loaders = (("calendrier", load_calendar), ("catalogue", load_catalogue), ("grille des montants", load_amount_grid))
        for name, loader in loaders:
            counts = loader()
            self.stdout.write(
                f"Programme — {name} : {counts['created']} créé(s), {counts['updated']} modifié(s), "
                f"{counts['unchanged']} inchangé(s)."
            )

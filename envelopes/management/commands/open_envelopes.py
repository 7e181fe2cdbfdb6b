from django.core.management.base import BaseCommand

from envelopes.loading import load_all_programme_envelopes


class Command(BaseCommand):
    help = (
        "Ouvre les enveloppes régionales de chaque programme chargé (HOP'EN : annexe 2, dotations amorçage 20 % / "
        "usage 80 %). Idempotent."
    )

    def handle(self, *args, **options):
        counts = load_all_programme_envelopes()
        self.stdout.write(
            f"Enveloppes régionales : {counts['envelopes']} ouverte(s), {counts['allocations']} dotation(s) inscrite(s)"
            + (f" ; régions absentes : {', '.join(counts['missing_regions'])}" if counts["missing_regions"] else "")
            + "."
        )

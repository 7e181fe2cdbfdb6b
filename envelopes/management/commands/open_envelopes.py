from django.core.management.base import BaseCommand

from envelopes.loading import load_envelopes


class Command(BaseCommand):
    help = "Ouvre les enveloppes régionales de l'annexe 2 (dotations amorçage 20 % / usage 80 %). Idempotent."

    def handle(self, *args, **options):
        counts = load_envelopes()
        self.stdout.write(
            f"Enveloppes régionales : {counts['envelopes']} ouverte(s), {counts['allocations']} dotation(s) inscrite(s)"
            + (f" ; régions absentes : {', '.join(counts['missing_regions'])}" if counts["missing_regions"] else "")
            + "."
        )

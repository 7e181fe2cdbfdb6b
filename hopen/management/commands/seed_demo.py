from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from funding.demo import seed_demo_dossiers
from funding.demo_referentials import seed_demo_referentials
from hopen.demo import DEMO_PASSWORD, seed_demo
from hopen.models import Establishment


class Command(BaseCommand):
    help = "Crée les comptes et les dossiers de démonstration (jamais en production)."

    def handle(self, *args, **options):
        if not getattr(settings, "HOPEN_DEMO_DATA_ALLOWED", False):
            raise CommandError("Les comptes de démonstration sont interdits avec ces réglages (production).")
        if not Establishment.objects.exists():
            raise CommandError("Aucun établissement : lancez d'abord `python manage.py import_sae`.")
        accounts, created = seed_demo()
        self.stdout.write(f"Comptes de démonstration : {len(created)} créé(s), mot de passe commun « {DEMO_PASSWORD} ».")
        if options["verbosity"] >= 1:
            for account in accounts:
                self.stdout.write(f"  {account.email:<42} {account.role:<45} {account.scope}")
        for line in seed_demo_referentials():
            self.stdout.write(f"Référentiels de démonstration (fictifs) — {line}")
        skipped: list[str] = []
        references = seed_demo_dossiers(skipped=skipped)
        listed = f" ({', '.join(references)})" if references else ""
        self.stdout.write(f"Dossiers de démonstration : {len(references)} créé(s){listed}.")
        for reason in skipped:
            self.stdout.write(f"  non créés — {reason}")

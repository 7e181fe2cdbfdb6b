from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hopen.importers.sae import SaeFormatError, import_sae


class Command(BaseCommand):
    help = "Importe les régions, GHT, entités juridiques, établissements et activités depuis les fichiers SAE (DREES)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(settings.HOPEN_SAE_DIR), help="Dossier des fichiers SAE (…_2023r.csv).")

    def handle(self, *args, **options):
        directory = Path(options["dir"])
        if not directory.is_dir():
            raise CommandError(f"Dossier SAE introuvable : {directory}")
        try:
            report = import_sae(directory)
        except SaeFormatError as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
        if options["verbosity"] >= 2:
            self.stdout.write("Établissements dans le champ du programme, par région :")
            for region, count in sorted(report.in_scope_by_region.items()):
                self.stdout.write(f"  {region} : {count}")

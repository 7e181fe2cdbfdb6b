from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indicators.programme_file import load_hopen_files, load_programme_file, programme_files


class Command(BaseCommand):
    help = (
        "Charge les règles des programmes depuis fixtures/ : calendrier (fenêtres, délais), catalogue des indicateurs, "
        "grille des montants, table des enveloppes régionales. Sans argument : HOP'EN puis chaque fichier de "
        "fixtures/programmes/. Avec des chemins : ces fichiers de programme seulement. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="fichiers de programme (JSON) à charger")

    def handle(self, *args, **options):
        if options["files"]:
            batches = []
            for name in options["files"]:
                path = Path(name)
                if not path.is_file():
                    raise CommandError(f"Fichier de programme introuvable : {name}")
                batches.append((path.name, load_programme_file(path)))
        else:
            batches = [("HOP'EN", load_hopen_files())] + [(p.name, load_programme_file(p)) for p in programme_files()]
        for label, result in batches:
            for section, counts in result.items():
                self.stdout.write(
                    f"{label} — {section} : {counts['created']} créé(s), {counts['updated']} modifié(s), "
                    f"{counts['unchanged']} inchangé(s)."
                )

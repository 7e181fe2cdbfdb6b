from django.core.management.base import BaseCommand, CommandError

from hopen.audit import verify_chain


class Command(BaseCommand):
    help = "Vérifie l'intégrité de la piste d'audit (chaînage des empreintes SHA-256)."

    def handle(self, *args, **options):
        checked, breaks = verify_chain()
        for chain_break in breaks:
            self.stderr.write(f"Trace n° {chain_break.record_id} : {chain_break.reason}")
        if breaks:
            raise CommandError(f"Piste d'audit altérée : {len(breaks)} anomalie(s) sur {checked} trace(s).")
        self.stdout.write(f"Piste d'audit intègre : {checked} trace(s) vérifiée(s).")

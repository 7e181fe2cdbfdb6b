import datetime

from django.core.management.base import BaseCommand, CommandError

from hopen.audit_anchors import audit_anchor_day, audit_anchor_pending_days
from hopen.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Ancre la piste d'audit : pour chaque jour terminé non encore ancré (ou le jour --day), écrit la dernière "
        "empreinte et le nombre de traces dans la table des ancres et dans le journal. Sans effet sur un jour déjà ancré."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", type=datetime.date.fromisoformat, help="jour à ancrer (AAAA-MM-JJ), terminé")

    def handle(self, *args, day=None, **options):
        try:
            if day is not None:
                anchor, created = audit_anchor_day(day=day)
                anchors = [anchor] if created else []
            else:
                anchors = audit_anchor_pending_days()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for anchor in anchors:
            self.stdout.write(f"Ancre du {anchor.day:%d/%m/%Y} : {anchor.total} trace(s), empreinte {anchor.last_hash}")
        if not anchors:
            self.stdout.write("Aucun jour à ancrer : la piste d'audit est déjà ancrée.")

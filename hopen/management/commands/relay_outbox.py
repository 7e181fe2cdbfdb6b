"""The outbox relay (issue 15 §7): sends the Celery tasks an outage of the broker left in the outbox.

A process of its own (`scripts/launch.py run`, the `outbox` service of docker-compose.yml), not a Celery beat
task: beat needs the very broker whose outage it would repair. Several relays may run at once: rows are taken
``FOR UPDATE SKIP LOCKED`` (`hopen.tasking.publish_pending`).
"""

import logging
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from hopen.tasking import purge_sent, relay

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Envoie au broker (Redis) les tâches restées dans la boîte d'envoi ; --every N : toutes les N secondes."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Relancer toutes les N secondes (0 : une fois).")

    def handle(self, *args, every=0, **options):
        self.verbosity = options["verbosity"]
        if not every:
            self.run_once()
            return
        while True:
            try:
                self.run_once()
            except DatabaseError:
                # The database may be down too: wait and try again, the rows are still there.
                logger.exception("Relais de la boîte d'envoi : base de données injoignable.")
            close_old_connections()
            time.sleep(every)

    def run_once(self):
        result = relay()
        purged = purge_sent()
        if result.sent or result.failed or purged or self.verbosity > 1:
            state = " ; broker injoignable, nouvel essai au prochain passage" if result.broker_down else ""
            self.stdout.write(
                f"Boîte d'envoi : {result.sent} message(s) envoyé(s), {result.failed} échec(s), "
                f"{purged} message(s) ancien(s) purgé(s){state}."
            )

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from hopen.db_roles import app_role_create, use_owner_role


class Command(BaseCommand):
    help = (
        "Crée (ou remet en état) le rôle PostgreSQL de l'application — l'utilisateur de DATABASE_URL — et ses "
        "droits : lecture et écriture des tables, ajout seul sur la piste d'audit, ses ancres et le grand livre, "
        "aucun droit sur le schéma. S'exécute sous le rôle propriétaire (MIGRATION_DATABASE_URL) ; idempotent."
    )
    # The checks would connect as the application's role, which this command may be about to create.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--role", help="nom du rôle (par défaut l'utilisateur de DATABASE_URL)")
        parser.add_argument("--password", help="mot de passe (par défaut celui de DATABASE_URL)")

    def handle(self, *args, role=None, password=None, **options):
        role = role or settings.APP_DATABASE_USER
        password = password or (settings.APP_DATABASE_PASSWORD if role == settings.APP_DATABASE_USER else None)
        if not role:
            raise CommandError("Aucun rôle : DATABASE_URL ne nomme pas d'utilisateur et --role est absent.")
        use_owner_role(DEFAULT_DB_ALIAS)
        try:
            with transaction.atomic(), connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                created = app_role_create(cursor=cursor, role=role, password=password)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Rôle de l'application « {role} » {'créé' if created else 'mis à jour'}, droits appliqués.")

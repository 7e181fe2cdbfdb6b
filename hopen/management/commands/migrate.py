"""`migrate` as the owner role: with MIGRATION_DATABASE_URL set, the migrations run as the schema's owner, then
the application role's privileges are re-applied to the tables they created (hopen/db_roles.py)."""

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from hopen.db_roles import app_role_grant, use_owner_role


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Avec MIGRATION_DATABASE_URL, s'exécute sous le rôle propriétaire."

    def execute(self, *args, **options):
        # Before the system checks, which already connect (the app role may not exist yet on a first deployment).
        as_owner = options.get("database", DEFAULT_DB_ALIAS) == DEFAULT_DB_ALIAS and use_owner_role(DEFAULT_DB_ALIAS)
        output = super().execute(*args, **options)
        if as_owner:
            self._grant_app_role()
        return output

    def _grant_app_role(self):
        connection = connections[DEFAULT_DB_ALIAS]
        role = settings.APP_DATABASE_USER
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                self.stdout.write(f"Rôle de l'application « {role} » absent : lancez « manage.py create_app_role ».")
                return
            app_role_grant(cursor=cursor, role=role)
        self.stdout.write(f"Droits du rôle de l'application « {role} » appliqués.")

"""Two PostgreSQL roles: the owner of the schema, for migrations only, and the application's role.

The application connects with `DATABASE_URL` as a role that owns nothing: it reads and writes the tables, but may
not change the schema (no CREATE on the schema, not the owner of any table, so no ALTER/DROP and no way to disable a
trigger), may not change the migration history, and may only add to the append-only tables (the audit trail, its
anchors, the envelopes' ledger): no UPDATE, DELETE or TRUNCATE on them, on top of their triggers. Migrations run as
the owner, `MIGRATION_DATABASE_URL` (`manage.py migrate` switches to it, then re-applies the grants); the role is
created by `manage.py create_app_role`.
"""

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

# Tables the application may only add to (their triggers refuse UPDATE/DELETE/TRUNCATE for everyone).
APPEND_ONLY_MODELS = ("hopen.AuditRecord", "hopen.AuditAnchor", "envelopes.LedgerEntry")
# Tables the application may only read.
# The sums kept per beneficiary are written by the ledger's trigger only (as its owner, envelopes migration 0005).
READ_ONLY_TABLES = ("django_migrations", "envelopes_beneficiary_money")
ROLE_ATTRIBUTES = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
OWNER_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def use_owner_role(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """Point `alias` at the owner role of `MIGRATION_DATABASE_URL` (if configured), as Django's test runner points
    it at the test database: close, change the connection parameters, reconnect lazily. Returns whether it did."""
    owner = getattr(settings, "MIGRATION_DATABASE", None)
    if not owner:
        return False
    connection = connections[alias]
    connection.close()
    connection.settings_dict.update({key: owner[key] for key in OWNER_KEYS if key in owner})
    return True


def _run(cursor, statement) -> None:
    cursor.execute(statement.as_string(cursor.connection) if isinstance(statement, sql.Composable) else statement)


def app_role_create(*, cursor, role: str, password: str | None) -> bool:
    """Create the application's role (or reset its attributes and password); return whether it was created."""
    cursor.execute("SELECT current_user")
    if cursor.fetchone()[0] == role:
        raise ValueError("Le rôle de l'application doit différer du propriétaire qui exécute les migrations.")
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    by_superuser = cursor.fetchone()[0]
    cursor.execute("SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    exists = row is not None
    attributes = ROLE_ATTRIBUTES
    if exists and not by_superuser:
        # Only a superuser may even restate NOSUPERUSER on an existing role: check those attributes instead.
        if row[0]:
            raise ValueError(f"Le rôle « {role} » existe avec des attributs privilégiés (superutilisateur, réplication "
                             "ou contournement des règles de sécurité des lignes) : un superutilisateur doit les retirer.")
        attributes = "NOCREATEDB NOCREATEROLE NOINHERIT"
    statement = sql.SQL("{verb} ROLE {role} LOGIN " + attributes).format(
        verb=sql.SQL("ALTER" if exists else "CREATE"), role=sql.Identifier(role)
    )
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    _run(cursor, statement)
    app_role_grant(cursor=cursor, role=role)
    return not exists


def app_role_grant(*, cursor, role: str) -> None:
    """(Re-)apply the application role's privileges on every table of the schema; idempotent."""
    cursor.execute("SELECT current_database(), current_schema(), current_setting('server_version_num')::int")
    database, schema, version = cursor.fetchone()
    ident = {"role": sql.Identifier(role), "schema": sql.Identifier(schema), "db": sql.Identifier(database)}
    statements = [
        "GRANT CONNECT ON DATABASE {db} TO {role}",
        "REVOKE CREATE ON DATABASE {db} FROM {role}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "REVOKE CREATE ON SCHEMA {schema} FROM {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # Tables created by later migrations (by the role running this) are usable at once; `migrate` then
        # re-applies this function, which withdraws what an append-only table must not allow.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    if version < 150000:  # before PostgreSQL 15 every role could create tables in `public`
        statements.append("REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    for statement in statements:
        _run(cursor, sql.SQL(statement).format(**ident))
    for table in READ_ONLY_TABLES:
        _run(cursor, sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), ident["role"]))
    for label in APPEND_ONLY_MODELS:
        table = apps.get_model(label)._meta.db_table
        _run(cursor, sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), ident["role"]))

"""The platform's write version: one number that changes whenever anything is written, for caches of figures.

`write_version()` is the highest audit record id (`SELECT max(id)` on `hopen.AuditRecord`, one backward step of the
primary-key index). It is an exact version of everything a page reads, not an approximation:

- every write leaves an audit record in its own transaction (the guide's rule: services call `hopen.audit`), so a
  committed write has raised the highest committed id;
- `hopen.audit.audit_record_many` takes `pg_advisory_xact_lock(AUDIT_CHAIN_LOCK_ID)` before the ids are drawn from
  the sequence, and PostgreSQL releases a transaction's locks only after its commit is visible. Ids are therefore
  handed out in commit order: when a reader sees id n committed, every record (and every write) below n is already
  committed and visible too. A reader never sees a version that counts a write it cannot see yet, and two readers
  that see the same version see the same data;
- a rolled-back transaction burns sequence values but leaves no record: the version does not move, and nothing
  changed either.

Read the version *before* the figures: a write committed between the two is then in the figures (newer than the
version says, never older), and the next request, seeing the higher version, recomputes. Writes that bypass the
services (raw SQL, a restored dump, bench data generated without audit) are not seen: `hopen.figure_cache` bounds
the life of its entries for that reason.
"""

from django.db import connection

from .models import AuditRecord

_REQUEST_ATTRIBUTE = "_hopen_write_version"


def write_version() -> int:
    """The highest committed audit record id (0 on an empty trail) — one index-only query."""
    table = connection.ops.quote_name(AuditRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {table}")  # noqa: S608 (the model's own table name)
        return cursor.fetchone()[0] or 0


def request_write_version(request) -> int:
    """`write_version()` read once per request: the sections of one page are cached under the same version."""
    version = getattr(request, _REQUEST_ATTRIBUTE, None)
    if version is None:
        version = write_version()
        setattr(request, _REQUEST_ATTRIBUTE, version)
    return version

"""The audit trail: one mechanism every service uses to record its writes.

Each record holds who, when, what object and what changed (before → after). Records are chained:
each one stores the hash of the previous one, so rewriting or deleting a past record breaks the
chain, which `python manage.py verify_audit_chain` detects.

Hash format (`AuditRecord.hash_version`): version 2 covers every column of the record (the actor's id and
the version included; the primary key is only the order of the chain, which the links already fix);
version 1, the format of the records written before the hardening (issue 15), left out the actor's id.
Those records keep their version and their original hash instead of being re-hashed by the migration: a
re-hash would launder any earlier tampering and invalidate every hash already copied out of the database.
A version never goes down along the chain, so a record cannot be downgraded to the weaker format
without rewriting every record after it, which the daily anchors (`hopen.audit_anchors`) detect.
"""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.forms.models import model_to_dict

from .models import AuditAnchor, AuditRecord

GENESIS_HASH = "0" * 64
HASH_VERSION = 2
# Serialises appends so that two concurrent writers never chain onto the same previous record.
AUDIT_CHAIN_LOCK_ID = 7_042_019


class AuditJSONEncoder(DjangoJSONEncoder):
    """Related objects are recorded by primary key, as `model_to_dict` does."""

    def default(self, o):
        if isinstance(o, Model):
            return o.pk
        return super().default(o)


def _canonical(value) -> str:
    return json.dumps(value, cls=AuditJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _jsonable(value):
    return json.loads(_canonical(value))


def record_hash(
    *, previous_hash, at, actor_email, action, object_type, object_id, object_repr, changes, actor_id=None,
    hash_version=HASH_VERSION,
) -> str:
    payload = {
        "previous_hash": previous_hash,
        "at": at.isoformat(),
        "actor_email": actor_email,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "object_repr": object_repr,
        "changes": changes,
    }
    if hash_version >= 2:
        payload |= {"hash_version": hash_version, "actor_id": None if actor_id is None else str(actor_id)}
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def snapshot(instance, fields=None) -> dict:
    """The audited state of a model instance: its field values, JSON-ready."""
    return _jsonable(model_to_dict(instance, fields=fields))


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for every field whose value changed (an absent field, None and "" are all empty)."""

    def normalised(value):
        return None if value in (None, "") else value

    keys = sorted(set(before) | set(after))
    return {
        key: [before.get(key), after.get(key)]
        for key in keys
        if normalised(before.get(key)) != normalised(after.get(key))
    }


def audit_record(*, actor, action: str, target, changes: dict | None = None) -> AuditRecord:
    """Append one record to the audit trail, inside the caller's transaction.

    `target` is the model instance written; `changes` maps field names to [before, after].
    """
    return audit_record_many(actor=actor, action=action, entries=[(target, changes)])[0]


@dataclass(frozen=True)
class ChainBreak:
    record_id: int
    reason: str


def verify_chain(batch_size: int = 2000) -> tuple[int, list[ChainBreak]]:
    """Re-compute every hash in order and check the daily anchors; return (records checked, breaks found).

    The links detect a record modified, deleted or inserted in the middle; the anchors (the last hash and
    the count of each ended day, kept apart and in the log) detect what the links alone cannot: the latest
    records deleted, or a record rewritten with every following hash recomputed."""
    breaks: list[ChainBreak] = []
    anchors = {anchor.last_record_id: anchor for anchor in AuditAnchor.objects.exclude(last_record_id=None)}
    expected_previous = GENESIS_HASH
    highest_version = 1
    checked = 0
    for record in AuditRecord.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        if record.previous_hash != expected_previous:
            breaks.append(ChainBreak(record.id, "le lien vers la trace précédente est rompu (trace supprimée ou insérée)"))
        if record.hash_version < highest_version or record.hash_version > HASH_VERSION:
            breaks.append(ChainBreak(record.id, "le format d'empreinte ne suit pas celui des traces précédentes (trace réécrite)"))
        elif _hash_of(record) != record.hash:
            breaks.append(ChainBreak(record.id, "le contenu ne correspond plus à son empreinte (trace modifiée)"))
        highest_version = max(highest_version, record.hash_version)
        anchor = anchors.pop(record.id, None)
        if anchor is not None and (anchor.last_hash != record.hash or anchor.total != checked):
            breaks.append(ChainBreak(record.id, f"la piste ne correspond plus à l'ancre du {anchor.day:%d/%m/%Y} "
                                                "(trace réécrite, supprimée ou insérée avant elle)"))
        expected_previous = record.hash
    for anchor in anchors.values():
        breaks.append(ChainBreak(anchor.last_record_id, f"la dernière trace ancrée le {anchor.day:%d/%m/%Y} a disparu "
                                                        "(fin de la piste supprimée)"))
    latest = AuditAnchor.objects.order_by("-day").first()
    if latest is not None and checked < latest.total:
        breaks.append(ChainBreak(latest.last_record_id or 0, f"la piste compte {checked} trace(s), moins que les "
                                                             f"{latest.total} ancrée(s) le {latest.day:%d/%m/%Y}"))
    return checked, breaks


def audit_record_many(*, actor, action: str, entries, batch_size: int | None = 1000, copy: bool = False) -> list[AuditRecord]:
    """Append records for many writes at once (importers): `entries` is an iterable of (target, changes).
    `copy=True` writes them with one `COPY` (an import of tens of thousands of rows: one statement whatever their
    number, a third of the time of an INSERT); the records returned then have no primary key."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("La piste d'audit s'écrit dans la transaction des écritures qu'elle trace.")
    entries = list(entries)
    if not entries:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_ID])
    previous = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
    records = []
    for target, changes in entries:
        record = AuditRecord(
            actor=actor if getattr(actor, "pk", None) else None,
            actor_email=getattr(actor, "email", "") or "",
            action=action,
            object_type=target._meta.label_lower,
            object_id=str(target.pk),
            object_repr=str(target)[:255],
            changes=_jsonable(changes or {}),
            previous_hash=previous,
            hash_version=HASH_VERSION,
        )
        record.hash = _hash_of(record)
        previous = record.hash
        records.append(record)
    if copy:
        _copy_records(records)
        return records
    return AuditRecord.objects.bulk_create(records, batch_size=batch_size)


COPY_COLUMNS = (
    "at", "actor_id", "actor_email", "action", "object_type", "object_id", "object_repr", "changes", "previous_hash",
    "hash_version", "hash",
)


def _copy_records(records) -> None:
    table = connection.ops.quote_name(AuditRecord._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(  # Django logs it as one query (debug cursor)
        f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
    ) as copy:
        for record in records:
            copy.write_row([
                record.at, record.actor_id, record.actor_email, record.action, record.object_type, record.object_id,
                record.object_repr, _canonical(record.changes), record.previous_hash, record.hash_version, record.hash,
            ])


def _hash_of(record: AuditRecord) -> str:
    return record_hash(
        previous_hash=record.previous_hash,
        at=record.at,
        actor_email=record.actor_email,
        action=record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        object_repr=record.object_repr,
        changes=record.changes,
        actor_id=record.actor_id,
        hash_version=record.hash_version,
    )

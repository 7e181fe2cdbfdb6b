"""How an audit record reads, in French: the one formatter of the audit trail page, its exports and every history
panel (dossier, indicator value, pre-candidature, GHT governance).

An action by its label, a field by its label, a value by its kind (`hopen.audit_registry`): amounts in euros
(« 1 000,50 € »), dates « 05/12/2026 », moments in local time (Europe/Paris) « 05/12/2026 11:00 », choices by their
label, yes/no, related objects by their name. The related objects of a whole page are named with one query per
model, whatever the number of records (`present`).
"""

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from .audit_registry import BOOLEAN, CHOICE, DATE, DATETIME, EUROS, NUMBER, PERCENT, RELATED, FieldSpec, registry
from .formatting import french_euros, french_number

EMPTY = "—"
SYSTEM = "système"
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ChangeRow:
    key: str
    label: str
    before: str
    after: str

    @property
    def text(self) -> str:
        return f"{self.label} : {self.before} → {self.after}"


@dataclass
class AuditLine:
    record: object
    at: datetime.datetime
    actor: str
    actor_email: str
    action_label: str
    object_type_label: str
    object_label: str
    rows: list[ChangeRow] = field(default_factory=list)

    @property
    def changes_text(self) -> str:
        return " ; ".join(row.text for row in self.rows)


def local_moment(moment: datetime.datetime) -> str:
    """« 05/12/2026 11:00 » in the platform's time zone (Europe/Paris)."""
    return f"{timezone.localtime(moment) if timezone.is_aware(moment) else moment:%d/%m/%Y %H:%M}"


def _number(value) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    decimals = max(0, -number.as_tuple().exponent) if isinstance(number.as_tuple().exponent, int) else 0
    if decimals == 0 and abs(number) < 10000:  # a year, a version, a priority: no thousands separator
        return str(int(number))
    return french_number(number, decimals)


def _text(value) -> str:
    """A value of no declared kind: an ISO moment or day recorded by the JSON encoder still reads in French."""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, str):
        if ISO_MOMENT.match(value):
            moment = parse_datetime(value)
            if moment is not None:
                return local_moment(moment)
        if ISO_DAY.match(value):
            day = parse_date(value)
            if day is not None:
                return f"{day:%d/%m/%Y}"
    if isinstance(value, dict):
        return ", ".join(f"{k} : {_text(v)}" for k, v in value.items()) or EMPTY
    return str(value)


def format_value(spec: FieldSpec, value, names: dict | None = None) -> str:
    """One recorded value as the pages show it (`names`: {(model label, str(pk)): name} from `related_names`)."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, list):
        return " ; ".join(format_value(spec, item, names) for item in value)
    if spec.format is not None:
        return spec.format(value)
    kind = spec.kind
    if isinstance(value, bool) or kind == BOOLEAN:
        return "Oui" if value in (True, "true", "True", 1) else "Non"
    if kind == CHOICE and spec.choices:
        return spec.choices.get(str(value), str(value))
    if kind == RELATED and spec.related:
        name = (names or {}).get((spec.related, str(value)))
        return name if name is not None else f"n° {value}"
    if kind == EUROS:
        try:
            return french_euros(Decimal(str(value)))
        except (InvalidOperation, ValueError):
            return str(value)
    if kind == NUMBER:
        return _number(value)
    if kind == PERCENT:
        return f"{_number(value)}\u00a0%"
    if kind == DATETIME and isinstance(value, str):
        moment = parse_datetime(value)
        return local_moment(moment) if moment else value
    if kind == DATE and isinstance(value, str):
        day = parse_date(value[:10])
        return f"{day:%d/%m/%Y}" if day else value
    return _text(value)


def _ids(value):
    if isinstance(value, list):
        for item in value:
            yield from _ids(item)
    elif isinstance(value, (int, str)) and not isinstance(value, bool) and str(value):
        yield str(value)


def related_names(records, skip=()) -> dict:
    """{(model label, str(pk)): name} of every related object the records' changes name: one query per model
    (none for the keys the panel does not show, `skip`)."""
    reg = registry()
    wanted = defaultdict(set)
    for record in records:
        for key, pair in (record.changes or {}).items():
            if key in skip:
                continue
            spec = reg.field(record.object_type, key)
            if spec.kind == RELATED and spec.related:
                wanted[spec.related].update(_ids(list(pair) if isinstance(pair, (list, tuple)) else [pair]))
    names = {}
    for label, ids in wanted.items():
        model = reg.model_of(label)
        if model is None:
            continue
        keys = [pk for pk in ids if _valid_pk(model, pk)]
        if not keys:
            continue
        queryset = model._default_manager.filter(pk__in=keys)
        relations = reg.name_relations.get(label, ())
        if relations:
            queryset = queryset.select_related(*relations)
        for obj in queryset:
            names[(label, str(obj.pk))] = _name_of(obj)
    return names


def _valid_pk(model, value) -> bool:
    try:
        model._meta.pk.to_python(value)
    except Exception:  # a value recorded under another shape (a code instead of an id): shown as recorded
        return False
    return True


def _name_of(obj) -> str:
    full_name = getattr(obj, "get_full_name", None)
    if callable(full_name):
        return full_name() or str(obj)
    return str(obj)


def change_rows(record, names: dict, skip=()) -> list[ChangeRow]:
    reg = registry()
    rows = []
    for key, pair in (record.changes or {}).items():
        if key in skip:
            continue
        before, after = (list(pair) + [None, None])[:2] if isinstance(pair, (list, tuple)) else (None, pair)
        spec = reg.field(record.object_type, key)
        rows.append(ChangeRow(key, spec.label, format_value(spec, before, names), format_value(spec, after, names)))
    return rows


def actor_of(record) -> str:
    """The author as a person reads it: « Prénom Nom » when the account has a name, its e-mail otherwise."""
    actor = record._state.fields_cache.get("actor")  # only when the caller selected it: never one query per line
    if actor is not None:
        return actor.get_full_name() or actor.email
    return record.actor_email or SYSTEM


def present(records, *, skip=()) -> list[AuditLine]:
    """The records as they read (select_related("actor") on the caller's queryset names the authors for free)."""
    reg = registry()
    records = list(records)
    names = related_names(records, skip)
    return [
        AuditLine(
            record=record,
            at=timezone.localtime(record.at),
            actor=actor_of(record),
            actor_email=record.actor_email,
            action_label=reg.action_label(record.action),
            object_type_label=reg.object_type_label(record.object_type),
            object_label=record.object_repr,
            rows=change_rows(record, names, skip),
        )
        for record in records
    ]

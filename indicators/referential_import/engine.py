"""The engine of a referential import: read a file into lines, plan every line (dry run), apply a valid plan.

Queries, whatever the number of lines: the spec's lookups (`ReferentialSpec.context`), one for the existing rows,
then, when applying, one `INSERT` for the new rows, one `INSERT … ON CONFLICT DO UPDATE` for the changed ones and
the audit records (`hopen.audit.audit_record_many`, one `COPY`). `bulk_update` is not used: its `CASE WHEN` per
row makes PostgreSQL scan the whole list for every row (quadratic on 60,000 lines); an upsert on the unique key
writes the same values in linear time.
"""

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from hopen.audit import audit_record_many
from hopen.exceptions import ApplicationError
from indicators.bulk import parsing
from indicators.bulk.plans import CREATE, UNCHANGED, UPDATE, Plan

ACTION_LABELS = {CREATE: "Création", UPDATE: "Modification", UNCHANGED: "Inchangée"}
FORMULA = "commence par « = » : les formules ne sont pas acceptées, saisissez la valeur elle-même"


class ReferentialSpec:
    """What one referential's file holds and how a line becomes a row. Subclasses set the attributes and implement
    `context`, `check`, `existing` (and may refine `display`)."""

    code = ""  # stable key (session, cache, audit)
    title = ""  # « Résultats des programmes antérieurs »
    model = None
    columns: tuple = ()  # the template's header, in order: a contract with the users' spreadsheets
    required_columns: tuple = ()
    date_columns: tuple = ()  # read an XLSX number formatted as a date as JJ/MM/AAAA
    unique_fields: tuple = ()  # the model's unique key: idempotence and the upsert's conflict target
    fields: tuple = ()  # the fields an import may change on an existing row
    audit_only: tuple = ()  # values kept in the audit record only (a column the model has no field for)
    field_labels: dict = {}
    max_rows = 70_000  # spreadsheet rows, header and blank rows included
    audit_action = ""  # "prior_result.import" → ".create" / ".update"
    file_stem = ""  # name of the template file
    help_lines: tuple = ()
    sheet_title = "Import"

    def context(self, lines):
        """Everything `check` needs from the database, in a fixed number of queries (e.g. the FINESS of the file)."""
        return None

    def check(self, cells: dict, context) -> tuple:
        """(key, values, messages) for one line's cells (column → text), without any query. `values` maps model
        field names to the values of the row (foreign keys as objects); `messages` is empty for a valid line."""
        raise NotImplementedError

    def existing(self, keys: set, context) -> dict:
        """{key: instance} of the rows already stored for `keys`, one query."""
        raise NotImplementedError

    def label(self, cells: dict) -> str:
        """What a line is about, for the tables of the pages (« 010000024 — HN — Prérequis atteints »)."""
        return " — ".join(cells.get(column, "") for column in self.required_columns if cells.get(column))

    def display(self, name, value) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return "oui" if value else "non"
        if hasattr(value, "strftime"):
            return value.strftime("%d/%m/%Y")
        return str(value)


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a file: its row number in the spreadsheet (header = 1) and its cells as text."""

    line: int
    cells: dict


@dataclass(slots=True)
class Change:
    line: int
    label: str
    key: tuple
    action: str
    values: dict
    instance: object = None  # the row stored, for an update or an unchanged line
    differences: list = field(default_factory=list)  # [(field, before, after)]

    @property
    def action_label(self) -> str:
        return ACTION_LABELS[self.action]


@dataclass(slots=True)
class LineError:
    line: int
    label: str
    messages: list

    @property
    def message(self) -> str:
        return " ; ".join(self.messages)


@dataclass
class ImportPlan(Plan):
    def as_report(self) -> dict:
        """The API's answer: counts and every bad line."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [{"line": error.line, "message": error.message} for error in self.errors],
        }


# --- Reading ------------------------------------------------------------------------------------------------------


def read_lines(spec: ReferentialSpec, content: bytes, filename: str) -> list[Line]:
    """Every non-blank line of the file, as text per column of the spec. ApplicationError for a whole-file problem
    (see `indicators.bulk.parsing.read_rows`) or a header without the required columns."""
    rows = parsing.read_rows(content, filename, max_rows=spec.max_rows, formulas_as_text=True)
    header = next(rows, None)
    if header is None:
        raise ApplicationError("Le fichier est vide.")
    positions = {}
    for index, cell in enumerate(header[1]):
        column = parsing.normalized_word(parsing.cell_text(cell))
        if column in spec.columns and column not in positions:
            positions[column] = index
    missing = [column for column in spec.required_columns if column not in positions]
    if missing:
        raise ApplicationError(
            "Ce fichier ne suit pas le modèle : colonne(s) manquante(s) en ligne 1 : "
            f"{', '.join(missing)}. La première ligne du modèle est : {';'.join(spec.columns)}."
        )
    lines = []
    for number, cells in rows:
        texts = {
            column: parsing.cell_text(cells[index] if index < len(cells) else None, date=column in spec.date_columns)
            for column, index in positions.items()
        }
        if any(texts.values()):
            lines.append(Line(number, texts))
    if not lines:
        raise ApplicationError("Le fichier ne contient aucune ligne après la ligne des noms de colonnes.")
    return lines


# --- Planning (dry run) -------------------------------------------------------------------------------------------


def plan_import(spec: ReferentialSpec, lines: list[Line]) -> ImportPlan:
    """Check every line and say what it would do; write nothing. Queries: the spec's context, the existing rows."""
    context = spec.context(lines)
    checked = []
    for line in lines:
        formulas = [f"{column} : « {text[:40]} » {FORMULA}" for column, text in line.cells.items() if text[:1] == "="]
        key, values, messages = spec.check(line.cells, context)
        checked.append((line, key, values, formulas + list(messages)))
    existing = spec.existing({key for _, key, _, messages in checked if not messages}, context)
    plan = ImportPlan()
    first_line_of = {}
    for line, key, values, messages in checked:
        label = spec.label(line.cells)
        if not messages and key in first_line_of:
            messages.append(f"doublon de la ligne {first_line_of[key]}")
        if messages:
            plan.errors.append(LineError(line.line, label, messages))
            continue
        first_line_of[key] = line.line
        instance = existing.get(key)
        if instance is None:
            plan.changes.append(Change(line.line, label, key, CREATE, values))
            continue
        differences = [
            (name, getattr(instance, name), values[name])
            for name in spec.fields
            if name in values and getattr(instance, name) != values[name]
        ]
        plan.changes.append(Change(line.line, label, key, UPDATE if differences else UNCHANGED, values, instance,
                                   differences))
    return plan


# --- Applying -----------------------------------------------------------------------------------------------------


def apply_import(spec: ReferentialSpec, plan: ImportPlan, *, by, filename: str = "", sha256: str = "") -> ImportPlan:
    """Write every change of a valid plan in one transaction, with one audit record per row written."""
    if not plan.is_valid:
        raise ApplicationError("Le fichier contient des lignes en erreur : rien n'a été enregistré.")
    creates = [change for change in plan.changes if change.action == CREATE]
    updates = [change for change in plan.changes if change.action == UPDATE]
    if not creates and not updates:
        return plan
    origin = f"{filename} (SHA-256 {sha256[:16]}…)" if sha256 else filename
    manager = spec.model.objects
    try:
        with transaction.atomic():
            new_rows = manager.bulk_create([spec.model(**_stored(spec, change.values)) for change in creates])
            changed_rows = []
            for change in updates:
                for name, value in _stored(spec, change.values).items():
                    setattr(change.instance, name, value)  # foreign keys as objects: str() needs no query
                changed_rows.append(change.instance)
            if changed_rows:
                manager.bulk_create(
                    changed_rows, update_conflicts=True, unique_fields=spec.unique_fields, update_fields=spec.fields
                )
            entries = [
                (
                    row,
                    {
                        **{name: [None, _plain(value)] for name, value in change.values.items() if value not in (None, "")},
                        "import": [None, origin],
                    },
                )
                for change, row in zip(creates, new_rows, strict=True)
            ]
            audit_record_many(actor=by, action=f"{spec.audit_action}.create", entries=entries, copy=True)
            entries = [
                (
                    change.instance,
                    {
                        **{name: [_plain(old), _plain(new)] for name, old, new in change.differences},
                        **{name: [None, change.values[name]] for name in spec.audit_only if change.values.get(name)},
                        "import": [None, origin],
                    },
                )
                for change in updates
            ]
            audit_record_many(actor=by, action=f"{spec.audit_action}.update", entries=entries, copy=True)
    except IntegrityError as exc:
        raise ApplicationError(
            "Les données ont changé pendant l'import (un autre import en parallèle ?) : rien n'a été enregistré. "
            "Déposez de nouveau le fichier."
        ) from exc
    return plan


def _stored(spec, values: dict) -> dict:
    return {name: value for name, value in values.items() if name not in spec.audit_only}


def _plain(value):
    """A foreign key as its primary key in the audit trail (the record's JSON encoder does the same)."""
    return getattr(value, "pk", value)


def import_file(spec: ReferentialSpec, content: bytes, filename: str, *, by, dry_run: bool, sha256: str = ""):
    """Read, plan and — unless `dry_run` or a line is in error — apply. Returns the plan (the API's report)."""
    with without_cyclic_gc():
        plan = plan_import(spec, read_lines(spec, content, filename))
        if not dry_run and plan.is_valid:
            apply_import(spec, plan, by=by, filename=filename, sha256=sha256)
    return plan


@contextmanager
def without_cyclic_gc():
    """An import allocates a few hundred thousand long-lived objects (lines, changes, rows, audit records): the cyclic
    garbage collector would walk them again and again for nothing (about a third of the time of a 60,000-line file).
    Reference counting still frees everything; the collector is back on (if it was) when the import ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

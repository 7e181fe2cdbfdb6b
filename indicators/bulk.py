"""Bulk entry of indicator values: a CSV or XLSX template of the indicators, filled in a spreadsheet and uploaded back.

§5.3.1 of the instruction measures the prerequisites "via la saisie par l'établissement / GHT de la valeur des
indicateurs" of annex 1, and the permission policy (`can_enter_indicator_values`) lets a GHT's support director
enter the members' values: an establishment downloads one row per indicator of the catalogue in force; the
director of a GHT's support establishment, one row per member × indicator.

The rules, each in one place below:

- `bulk_parse` reads a whole file (CSV with `;` or `,`, with or without BOM, UTF-8 or Windows-1252; or XLSX) into
  raw text lines; only whole-file problems (too large, unreadable, missing columns) raise `ApplicationError`.
- `bulk_plan` checks every line (establishment in the user's perimeter, indicator of the catalogue, dates and
  numbers, `value_input_errors`, duplicates, values already declared) and says what each valid line would do; it
  writes nothing, and costs a fixed number of queries whatever the number of lines.
- `bulk_apply` writes a valid plan as drafts through `value_save_draft` (which asks the permission policy and audits
  each write) in ONE transaction: one failing line rolls every line back. Declaring stays with the director, on the
  indicator page.
"""

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field

import openpyxl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError
from hopen.models import Establishment

from .attainment import rate_percent
from .models import Indicator, IndicatorValue, TargetKind, ValueKind, ValueStatus
from .selectors import HOPEN, latest_declared_values
from .services import ValueInput, value_input_errors, value_save_draft

# The template's columns, in order. Their French names are a contract with the users' spreadsheets: keep them stable.
COLUMNS = [
    "finess", "etablissement", "indicateur", "libelle", "nature_cible", "date_mesure", "nature_valeur",
    "numerateur", "denominateur", "existe", "description", "motif_non_applicable", "commentaire",
]
REQUIRED_COLUMNS = ["finess", "indicateur", "date_mesure", "nature_valeur"]
# Column read back → BulkLine attribute; the other columns (etablissement, libelle, nature_cible) are for the reader.
FIELD_OF_COLUMN = {
    "finess": "finess",
    "indicateur": "indicator_code",
    "date_mesure": "measured_on",
    "nature_valeur": "kind",
    "numerateur": "numerator",
    "denominateur": "denominator",
    "existe": "exists",
    "description": "description",
    "motif_non_applicable": "not_applicable_reason",
    "commentaire": "comment",
}
# ValueInput field → column, to name the column in the messages of `value_input_errors`.
COLUMN_OF_INPUT = {
    "measured_on": "date_mesure",
    "kind": "nature_valeur",
    "numerator": "numerateur",
    "denominator": "denominateur",
    "exists": "existe",
    "not_applicable_reason": "motif_non_applicable",
    "description": "description",
    "comment": "commentaire",
}
TEXT_OF_KIND = {ValueKind.RATE: "taux", ValueKind.EXISTENCE: "existence", ValueKind.NOT_APPLICABLE: "non_applicable"}
TEXT_OF_TARGET = {TargetKind.RATE: "taux", TargetKind.EXISTENCE: "existence"}
KIND_OF_TEXT = {
    "taux": ValueKind.RATE,
    "rate": ValueKind.RATE,
    "existence": ValueKind.EXISTENCE,
    "non_applicable": ValueKind.NOT_APPLICABLE,
    "not_applicable": ValueKind.NOT_APPLICABLE,
    "na": ValueKind.NOT_APPLICABLE,
    "non_concerne": ValueKind.NOT_APPLICABLE,
    "non_applicable_non_concerne": ValueKind.NOT_APPLICABLE,
}
BOOLEAN_OF_TEXT = {
    "oui": True, "o": True, "yes": True, "vrai": True, "true": True, "1": True,
    "non": False, "n": False, "no": False, "faux": False, "false": False, "0": False,
}
SHEET_TITLE = "Indicateurs"
HELP_SHEET_TITLE = "Mode d'emploi"
# Bounds on what one file may hold: a GHT of 100 establishments × 41 indicators still fits.
MAX_LINES = 5_000
MAX_ROWS = 50_000  # rows scanned, blank ones included
MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024  # a larger inflated workbook is a zip bomb, not a template
XLSX_UNREADABLE = "Fichier Excel illisible : enregistrez-le de nouveau au format .xlsx ou .csv."
OUT_OF_SCOPE = "établissement inconnu ou hors de votre périmètre"
ALREADY_DECLARED = "déjà déclarée : corrigez-la depuis la page de l'indicateur"
# A spreadsheet runs a cell beginning with one of these as a formula: the CSV template quotes such text with "'".
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("etablissement", "libelle", "description", "motif_non_applicable", "commentaire")


# --- Reading a file ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkLine:
    """One line of an uploaded file, as text; `line` is its row number in the spreadsheet (header = 1)."""

    line: int
    finess: str = ""
    indicator_code: str = ""
    measured_on: str = ""
    kind: str = ""
    numerator: str = ""
    denominator: str = ""
    exists: str = ""
    description: str = ""
    not_applicable_reason: str = ""
    comment: str = ""

    @property
    def is_ignored(self) -> bool:
        """A line whose nature_valeur is empty is not an entry (the template lists indicators not yet entered)."""
        return not self.kind.strip()

    @property
    def has_figures(self) -> bool:
        return any(
            getattr(self, name).strip()
            for name in ("measured_on", "numerator", "denominator", "exists", "not_applicable_reason")
        )

    def as_dict(self) -> dict:
        return asdict(self)


def bulk_parse(file_bytes: bytes, filename: str) -> list[BulkLine]:
    """Every non-blank line of a CSV or XLSX file, as text. Raises ApplicationError if the file cannot be used."""
    limit = settings.EVIDENCE_MAX_UPLOAD_SIZE
    if len(file_bytes) > limit:
        raise ApplicationError(f"Le fichier dépasse la taille maximale autorisée ({size_label(limit)}).")
    if not file_bytes:
        raise ApplicationError("Le fichier est vide.")
    name = (filename or "").lower()
    if file_bytes.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(file_bytes)
    elif file_bytes.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise ApplicationError(
            "Le format Excel 97-2003 (.xls) n'est pas lu : enregistrez le fichier au format .xlsx ou .csv."
        )
    elif name.endswith(".xlsx"):
        raise ApplicationError(XLSX_UNREADABLE)
    else:
        rows = _csv_rows(file_bytes)
    return _lines_of(rows)


def _lines_of(rows) -> list[BulkLine]:
    rows = iter(rows)
    header = next(rows, None)
    if header is None:
        raise ApplicationError("Le fichier est vide.")
    _, header_cells = header
    positions = {}
    for index, cell in enumerate(header_cells):
        column = _normalized_word(_cell_text(cell, ""))
        if column in COLUMNS and column not in positions:
            positions[column] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise ApplicationError(
            "Ce fichier ne suit pas le modèle : colonne(s) manquante(s) en ligne 1 : "
            f"{', '.join(missing)}. Téléchargez le modèle et complétez-le sans modifier la première ligne."
        )
    lines = []
    for number, cells in rows:
        texts = {
            column: _unguarded(_cell_text(cells[index] if index < len(cells) else None, column))
            for column, index in positions.items()
        }
        if not any(texts.values()):
            continue  # a blank row of the spreadsheet
        if len(lines) >= MAX_LINES:
            raise ApplicationError(
                f"Le fichier compte plus de {MAX_LINES} lignes : découpez-le en plusieurs fichiers."
            )
        lines.append(BulkLine(line=number, **{FIELD_OF_COLUMN[c]: t for c, t in texts.items() if c in FIELD_OF_COLUMN}))
    return lines


def _csv_rows(file_bytes: bytes):
    try:
        text = file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = file_bytes.decode("cp1252")  # what French Excel writes for "CSV (séparateur : point-virgule)"
        except UnicodeDecodeError as exc:
            raise ApplicationError(
                "Fichier illisible : enregistrez-le au format CSV UTF-8 (séparateur point-virgule) ou .xlsx."
            ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= max(first_line.count(","), 1) else ","
    return _bounded(_csv_records(text, delimiter))


def _csv_records(text, delimiter):
    number = 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            yield number, row
    except csv.Error as exc:
        raise ApplicationError(f"Fichier CSV illisible vers la ligne {number + 1} : {exc}.") from exc


def _xlsx_rows(file_bytes: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(file_bytes)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise ApplicationError("Ce classeur est trop volumineux une fois décompressé : découpez-le.")
        workbook = openpyxl.load_workbook(io.BytesIO(file_bytes), read_only=True, data_only=True)
    except ApplicationError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many types on a damaged or disguised file
        raise ApplicationError(XLSX_UNREADABLE) from exc
    return _bounded(_xlsx_records(workbook))


def _xlsx_records(workbook):
    try:
        sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    except ApplicationError:
        raise
    except Exception as exc:
        raise ApplicationError(XLSX_UNREADABLE) from exc
    finally:
        workbook.close()


def _bounded(rows):
    """Rows, refusing a sheet longer than MAX_ROWS (blank rows included) rather than scanning it for ever."""
    for number, row in rows:
        if number > MAX_ROWS:
            raise ApplicationError(f"Le fichier compte plus de {MAX_ROWS} lignes : découpez-le en plusieurs fichiers.")
        yield number, row


def _cell_text(value, column: str) -> str:
    """A cell as the text a user would have typed: XLSX dates as JJ/MM/AAAA, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        if column == "date_mesure" and 1 <= value < 2_958_466:  # a date typed in a cell formatted as a number
            return from_excel(value).strftime("%d/%m/%Y")
        if float(value).is_integer():
            return str(int(value))
        return str(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _unguarded(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        return text[1:]
    return text


def _normalized_word(text: str) -> str:
    """Lower case, without accents, words joined by "_": « Non applicable » → non_applicable."""
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[\s\-/']+", "_", text).strip("_")


def normalized_finess(text: str) -> str:
    """A spreadsheet opening a CSV drops the leading zero of FINESS numbers such as 020000162: put it back."""
    finess = re.sub(r"\s+", "", text).upper()
    if finess.isdigit() and len(finess) == 8:
        finess = "0" + finess
    return finess


def parse_date(text: str) -> datetime.date:
    """JJ/MM/AAAA (also J/M/AA, with "." or "-") or AAAA-MM-JJ; ValueError otherwise."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})", text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        if year < 100:
            year += 2000
        return datetime.date(year, month, day)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?", text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return datetime.date(year, month, day)
    raise ValueError(text)


def parse_integer(text: str) -> int:
    """An integer, allowing thousands separators ("1 234") and a zero decimal part ("12,0"); ValueError otherwise."""
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text)
    match = re.fullmatch(r"([+-]?\d+)(?:[.,]0+)?", cleaned)
    if not match:
        raise ValueError(text)
    return int(match.group(1))


# --- Checking the lines -------------------------------------------------------------------------------------------

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTION_LABELS = {CREATE: "Nouveau brouillon", UPDATE: "Brouillon modifié", UNCHANGED: "Inchangée"}
FIELD_LABELS = {
    "kind": "nature",
    "numerator": "numérateur",
    "denominator": "dénominateur",
    "exists": "existe",
    "description": "description",
    "not_applicable_reason": "motif de non-applicabilité",
    "comment": "commentaire",
}


@dataclass
class BulkChange:
    """What a valid line would do: create a draft, update the draft (with its differences), or nothing."""

    line: int
    establishment: Establishment
    indicator: Indicator
    data: ValueInput
    action: str
    before: str = ""
    after: str = ""
    differences: list = field(default_factory=list)  # [(label, before, after)] for an update
    existing_status: str = ""  # "draft" or "declared" when a value exists for this date

    @property
    def action_label(self) -> str:
        if self.action == UNCHANGED and self.existing_status == ValueStatus.DECLARED:
            return "Inchangée (déjà déclarée)"
        return ACTION_LABELS[self.action]


@dataclass
class BulkError:
    line: int
    finess: str
    indicator_code: str
    messages: list
    # (finess, code) of the indicator page where a declared value is corrected; set only within the perimeter.
    correct_on: tuple | None = None

    @property
    def message(self) -> str:
        return " ; ".join(self.messages)


@dataclass
class BulkPlan:
    changes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    # Lines without nature_valeur but with figures: ignored as the rule says, listed so that nothing goes unnoticed.
    ignored_with_figures: list = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def writes(self) -> list:
        return [change for change in self.changes if change.action != UNCHANGED]

    def count(self, action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def created(self) -> int:
        return self.count(CREATE)

    @property
    def updated(self) -> int:
        return self.count(UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def summary(self) -> str:
        return summary_of(self.created, self.updated, self.unchanged)


def summary_of(created: int, updated: int, unchanged: int) -> str:
    """ "3 nouveaux brouillons, 1 brouillon modifié, 0 ligne inchangée" (in French, 0 and 1 take the singular)."""
    return ", ".join([
        counted(created, "nouveau brouillon", "nouveaux brouillons"),
        counted(updated, "brouillon modifié", "brouillons modifiés"),
        counted(unchanged, "ligne inchangée", "lignes inchangées"),
    ])


def counted(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number < 2 else plural}"


def bulk_establishments(user, establishment) -> list[Establishment]:
    """The establishments a bulk file on `establishment`'s page covers, among those the user may enter.

    For a GHT support director (§5.3.1: "saisie par l'établissement / GHT") the page of the support establishment
    covers every member; otherwise the establishment alone. Empty for read-only roles.
    """
    ght = establishment.ght
    if ght is not None and ght.support_id == establishment.pk and ght.pk in permissions.scope_of(user).ght_ids:
        candidates = sorted(
            Establishment.objects.filter(ght=ght).select_related("ght"),
            key=lambda member: (member.pk != establishment.pk, member.name, member.finess),
        )
    else:
        candidates = [establishment]
    return [candidate for candidate in candidates if permissions.can_enter_indicator_values(user, candidate)]


def current_indicators() -> list[Indicator]:
    """The indicators of the catalogue in force, in catalogue order (one query)."""
    return list(
        Indicator.objects.filter(catalogue__programme__code=HOPEN, catalogue__is_current=True)
        .select_related("group")
        .order_by("group__position", "position")
    )


def bulk_plan(*, lines, by, establishments=None) -> BulkPlan:
    """Check every line and say what it would change; write nothing.

    `establishments` bounds the file to a page's perimeter (see `bulk_establishments`); without it, a line may name
    any establishment the user may enter. A FINESS outside that perimeter gets the same message whether it exists or
    not. Queries: indicators, establishments (when not given), existing values — not one per line.
    """
    plan = BulkPlan()
    indicators = {indicator.code.upper(): indicator for indicator in current_indicators()}
    entries = [line for line in lines if not line.is_ignored]
    plan.ignored_with_figures = [line.line for line in lines if line.is_ignored and line.has_figures]
    if establishments is None:
        wanted = {normalized_finess(line.finess) for line in entries}
        establishments = Establishment.objects.filter(finess__in=wanted)
    perimeter = {
        establishment.finess: establishment
        for establishment in establishments
        if permissions.can_enter_indicator_values(by, establishment)
    }

    checked = []  # (line, establishment, indicator, data, messages)
    for line in entries:
        messages, establishment, indicator, data = _check_line(line, perimeter, indicators)
        checked.append((line, establishment, indicator, data, messages))

    existing = _existing_values(
        {(e.pk, i.pk, d.measured_on) for _, e, i, d, m in checked if not m and e and i and d.measured_on}
    )
    first_line_of = {}
    for line, establishment, indicator, data, messages in checked:
        change = None
        if not messages:
            key = (establishment.pk, indicator.pk, data.measured_on)
            if key in first_line_of:
                messages.append(
                    f"doublon de la ligne {first_line_of[key]} (même établissement, indicateur et date de mesure)"
                )
            else:
                first_line_of[key] = line.line
                change = _change_of(line, establishment, indicator, data, existing.get(key, {}), messages)
        if messages:
            correct_on = (establishment.finess, indicator.code) if ALREADY_DECLARED in messages else None
            plan.errors.append(BulkError(line.line, line.finess, line.indicator_code, messages, correct_on))
        elif change is not None:
            plan.changes.append(change)
    return plan


def _check_line(line: BulkLine, perimeter: dict, indicators: dict):
    """Parse and check one line against the perimeter, the catalogue and `value_input_errors` (no query)."""
    messages = []
    establishment = perimeter.get(normalized_finess(line.finess))
    if establishment is None:
        messages.append(f"finess « {line.finess} » : {OUT_OF_SCOPE}" if line.finess else "finess : colonne vide")
    code = line.indicator_code.strip().upper()
    indicator = indicators.get(code)
    if indicator is None:
        messages.append(
            f"indicateur « {line.indicator_code} » inconnu dans le catalogue en vigueur"
            if code
            else "indicateur : colonne vide"
        )
    parse_failed = set()
    measured_on = None
    if not line.measured_on.strip():
        messages.append("date_mesure : la date de mesure est obligatoire (JJ/MM/AAAA)")
        parse_failed.add("measured_on")
    else:
        try:
            measured_on = parse_date(line.measured_on)
        except ValueError:
            messages.append(f"date_mesure : « {line.measured_on} » n'est pas une date valide (JJ/MM/AAAA)")
            parse_failed.add("measured_on")
    kind = KIND_OF_TEXT.get(_normalized_word(line.kind), "")
    if not kind:
        messages.append(f"nature_valeur : « {line.kind} » inconnue (taux, existence ou non_applicable)")
        parse_failed.add("kind")
    numerator = denominator = exists = None
    if kind == ValueKind.RATE:
        numerator = _integer(line.numerator, "numerateur", messages, parse_failed, "numerator")
        denominator = _integer(line.denominator, "denominateur", messages, parse_failed, "denominator")
    elif kind == ValueKind.EXISTENCE and line.exists.strip():
        exists = BOOLEAN_OF_TEXT.get(_normalized_word(line.exists))
        if exists is None:
            messages.append(f"existe : « {line.exists} » — répondez oui ou non")
            parse_failed.add("exists")
    data = ValueInput(
        measured_on=measured_on,
        kind=kind,
        numerator=numerator,
        denominator=denominator,
        exists=exists,
        description=line.description,
        not_applicable_reason=line.not_applicable_reason,
        comment=line.comment,
    )
    if indicator is not None:
        for name, message in value_input_errors(indicator, data).items():
            if name not in parse_failed:
                messages.append(f"{COLUMN_OF_INPUT.get(name, name)} : {message}")
    return messages, establishment, indicator, data


def _integer(text, column, messages, parse_failed, name):
    if not text.strip():
        return None  # value_input_errors says what is expected
    try:
        return parse_integer(text)
    except ValueError:
        messages.append(f"{column} : « {text} » n'est pas un nombre entier")
        parse_failed.add(name)
        return None


def _existing_values(keys) -> dict:
    """{(establishment id, indicator id, date): {status: value}}: the drafts and declared values of `keys`, one query."""
    if not keys:
        return {}
    values = IndicatorValue.objects.filter(
        establishment_id__in={k[0] for k in keys},
        indicator_id__in={k[1] for k in keys},
        measured_on__in={k[2] for k in keys},
        status__in=[ValueStatus.DRAFT, ValueStatus.DECLARED],
    )
    found = {}
    for value in values:
        key = (value.establishment_id, value.indicator_id, value.measured_on)
        if key in keys:
            found.setdefault(key, {})[value.status] = value
    return found


def _comparable(kind, numerator, denominator, exists, description, not_applicable_reason, comment) -> dict:
    """The fields a draft would hold, normalised as `services._apply` stores them."""
    return {
        "kind": kind,
        "numerator": numerator if kind == ValueKind.RATE else None,
        "denominator": denominator if kind == ValueKind.RATE else None,
        "exists": exists if kind == ValueKind.EXISTENCE else None,
        "description": _text(description),
        "not_applicable_reason": _text(not_applicable_reason) if kind == ValueKind.NOT_APPLICABLE else "",
        "comment": _text(comment),
    }


def _text(value) -> str:
    """Text as compared: trimmed, line ends as a spreadsheet gives them back ("\n")."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _comparable_input(data: ValueInput) -> dict:
    return _comparable(
        data.kind, data.numerator, data.denominator, data.exists, data.description, data.not_applicable_reason,
        data.comment,
    )


def _comparable_value(value: IndicatorValue) -> dict:
    return _comparable(
        value.kind, value.numerator, value.denominator, value.exists, value.description, value.not_applicable_reason,
        value.comment,
    )


def _change_of(line, establishment, indicator, data, existing: dict, messages) -> BulkChange | None:
    after = _comparable_input(data)
    change = BulkChange(
        line=line.line, establishment=establishment, indicator=indicator, data=data, action=CREATE,
        after=display_of(after),
    )
    current = existing.get(ValueStatus.DRAFT) or existing.get(ValueStatus.DECLARED)
    if current is None:
        return change
    before = _comparable_value(current)
    change.before = display_of(before)
    change.existing_status = current.status
    if before == after:
        change.action = UNCHANGED
        return change
    if current.status == ValueStatus.DECLARED:
        # value_save_draft would refuse it: a declared value is corrected, with its reason, on the indicator page.
        messages.append(ALREADY_DECLARED)
        return None
    change.action = UPDATE
    change.differences = [
        (FIELD_LABELS[name], _field_text(name, before[name]), _field_text(name, after[name]))
        for name in FIELD_LABELS
        if before[name] != after[name]
    ]
    return change


def display_of(values: dict) -> str:
    """A value as the pages show it: "80,0 % (8 / 10)", "Oui", "Non applicable"."""
    kind = values["kind"]
    if kind == ValueKind.RATE:
        numerator, denominator = values["numerator"], values["denominator"]
        try:
            percent = f"{rate_percent(numerator, denominator)} % ".replace(".", ",")
        except (TypeError, ValueError):
            percent = ""
        return f"{percent}({numerator} / {denominator})"
    if kind == ValueKind.EXISTENCE:
        return "Oui" if values["exists"] else "Non"
    return "Non applicable"


def _field_text(name, value) -> str:
    if value is None or value == "":
        return "—"
    if name == "kind":
        return TEXT_OF_KIND.get(value, value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


# --- Writing --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    created: int
    updated: int
    unchanged: int

    @property
    def summary(self) -> str:
        return summary_of(self.created, self.updated, self.unchanged)


class BulkApplyError(ApplicationError):
    """A line refused at write time; every line of the file was rolled back."""

    def __init__(self, line: int, reason: str):
        super().__init__(
            f"Ligne {line} : {reason.rstrip('. ')}. Aucune valeur du fichier n'a été enregistrée.", {"line": line}
        )
        self.line = line
        self.reason = reason


def bulk_apply(*, plan: BulkPlan, by, establishment=None, filename: str = "", sha256: str = "") -> BulkResult:
    """Write every change of a valid plan as drafts, all or nothing.

    Each write goes through `value_save_draft` (permission policy, `value_input_errors`, audit record). When
    `establishment` (the page's) is given, one more audit record notes the file, its SHA-256 and the counts.
    """
    if not plan.is_valid:
        raise ApplicationError("Le fichier contient des lignes en erreur : aucune valeur n'a été enregistrée.")
    current = None
    try:
        with transaction.atomic():
            for change in plan.writes:
                current = change
                value_save_draft(
                    establishment=change.establishment, indicator=change.indicator, data=change.data, by=by
                )
            if establishment is not None and plan.writes:
                audit_record(
                    actor=by,
                    action="indicator_value.bulk_import",
                    target=establishment,
                    changes={
                        "fichier": [None, filename],
                        "sha256": [None, sha256],
                        "brouillons_crees": [None, plan.created],
                        "brouillons_modifies": [None, plan.updated],
                    },
                )
    except ValidationError as exc:
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        messages = [
            f"{COLUMN_OF_INPUT[name]} : {' '.join(errors)}" if name in COLUMN_OF_INPUT else " ".join(errors)
            for name, errors in by_field.items()
        ]
        raise BulkApplyError(current.line, " ; ".join(messages)) from exc
    except ApplicationError as exc:
        if current is None:
            raise
        raise BulkApplyError(current.line, exc.message) from exc
    return BulkResult(created=plan.created, updated=plan.updated, unchanged=plan.unchanged)


# --- The template ---------------------------------------------------------------------------------------------------


def template_rows(*, establishments) -> list[dict]:
    """One row per establishment × indicator of the catalogue in force, pre-filled with the latest value: the draft
    if any (the latest date), else the latest declared value — so that users edit rather than retype. 3 queries."""
    indicators = current_indicators()
    establishment_ids = [establishment.pk for establishment in establishments]
    indicator_ids = [indicator.pk for indicator in indicators]
    drafts = {
        (value.establishment_id, value.indicator_id): value
        for value in IndicatorValue.objects.filter(
            establishment_id__in=establishment_ids, indicator_id__in=indicator_ids, status=ValueStatus.DRAFT
        )
        .order_by("establishment_id", "indicator_id", "-measured_on")
        .distinct("establishment_id", "indicator_id")
    }
    declared = latest_declared_values(establishment_ids, indicator_ids)
    rows = []
    for establishment in establishments:
        for indicator in indicators:
            key = (establishment.pk, indicator.pk)
            value = drafts.get(key) or declared.get(key)
            row = {
                "finess": establishment.finess,
                "etablissement": establishment.name,
                "indicateur": indicator.code,
                "libelle": indicator.label,
                "nature_cible": TEXT_OF_TARGET.get(indicator.target_kind, indicator.target_kind),
                "date_mesure": None,
                "nature_valeur": "",
                "numerateur": None,
                "denominateur": None,
                "existe": "",
                "description": "",
                "motif_non_applicable": "",
                "commentaire": "",
            }
            if value is not None:
                row.update(
                    date_mesure=value.measured_on,
                    nature_valeur=TEXT_OF_KIND.get(value.kind, value.kind),
                    numerateur=value.numerator,
                    denominateur=value.denominator,
                    existe="" if value.exists is None else ("oui" if value.exists else "non"),
                    description=value.description,
                    motif_non_applicable=value.not_applicable_reason,
                    commentaire=value.comment,
                )
            rows.append(row)
    return rows


def template_csv(rows) -> bytes:
    """UTF-8 with BOM and ";" separator: what French Excel opens as columns, accents intact."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(column, row[column]) for column in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_cell(column, value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if column in TEXT_COLUMNS and text.startswith(FORMULA_PREFIXES):
        return "'" + text  # read back without the quote by bulk_parse
    return text


HELP_LINES = [
    "Saisie en masse des indicateurs HOP'EN",
    "",
    "Une ligne par établissement et par indicateur du catalogue en vigueur, pré-remplie avec la dernière valeur "
    "(le brouillon s'il existe, sinon la dernière valeur déclarée).",
    "Ne modifiez pas la première ligne (noms des colonnes) ni les colonnes finess et indicateur.",
    "date_mesure : JJ/MM/AAAA, pas dans le futur.",
    "nature_valeur : taux, existence ou non_applicable (seuls les indicateurs des domaines D1 à D7 "
    "peuvent être non applicables). Une ligne sans nature_valeur est ignorée.",
    "taux : numerateur et denominateur entiers, numerateur ≤ denominateur, denominateur > 0.",
    "existence : existe = oui ou non.",
    "non_applicable : motif_non_applicable obligatoire.",
    "Les valeurs importées sont enregistrées en brouillon : la déclaration se fait ensuite sur la page de chaque "
    "indicateur, par la direction de l'établissement.",
    "Une valeur déjà déclarée ne se modifie pas par import : corrigez-la depuis la page de l'indicateur.",
]


def template_xlsx(rows) -> bytes:
    """The same template as an Excel workbook: bold frozen header, real dates, lists for nature_valeur and existe."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    date_column = COLUMNS.index("date_mesure") + 1
    for row_number, row in enumerate(rows, start=2):
        for column_number, column in enumerate(COLUMNS, start=1):
            value = row[column]
            cell = sheet.cell(row=row_number, column=column_number)
            if isinstance(value, str):
                if value:
                    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    cell.data_type = "s"  # text stays text, even "=…": no formula runs in the user's spreadsheet
            else:
                cell.value = value
            if column_number == date_column:
                cell.number_format = "DD/MM/YYYY"
            elif column == "finess":
                cell.number_format = "@"
    last_row = max(len(rows) + 1, 2)
    for column, choices in (("nature_valeur", "taux,existence,non_applicable"), ("existe", "oui,non")):
        validation = DataValidation(
            type="list",
            formula1=f'"{choices}"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Valeur non prévue",
            error=f"Choisissez : {choices.replace(',', ', ')}.",
        )
        letter = get_column_letter(COLUMNS.index(column) + 1)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)
    widths = {"etablissement": 32, "libelle": 60, "description": 40, "motif_non_applicable": 30, "commentaire": 30}
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(column, max(len(column) + 2, 12))
    help_sheet = workbook.create_sheet(HELP_SHEET_TITLE)
    for text in HELP_LINES:
        help_sheet.append([text])
    help_sheet["A1"].font = Font(bold=True)
    help_sheet.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def size_label(size: int) -> str:
    """20971520 → "20 Mo"; 2048 → "2 Ko"; 200 → "200 octets"."""
    for unit, factor in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".replace(".0", "").replace(".", ",") + f" {unit}"
    return f"{size} octets"

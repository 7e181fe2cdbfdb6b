"""Reading a bulk file: the template's columns and their words, a CSV or XLSX file read into text lines.

Only whole-file problems (too large, unreadable, missing columns) raise `ApplicationError`; each line's content is
checked by `planning`.
"""

import csv
import datetime
import io
import re
import unicodedata
from dataclasses import asdict, dataclass

import openpyxl
from django.conf import settings
from openpyxl.utils.datetime import from_excel

from hopen.exceptions import ApplicationError

from ..file_safety import check_import
from ..models import ValueKind

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
# Bounds on what one file may hold: a GHT of 100 establishments × 41 indicators still fits.
MAX_LINES = 5_000
MAX_ROWS = 50_000  # rows scanned, blank ones included
XLSX_UNREADABLE = "Fichier Excel illisible : enregistrez-le de nouveau au format .xlsx ou .csv."
CSV_UNREADABLE = (
    "Fichier illisible : enregistrez-le au format CSV UTF-8 (séparateur point-virgule) ou .xlsx "
    "(encodages acceptés : UTF-8, Latin-1 / Windows-1252)."
)
NOT_TABULAR = "Ce fichier n'est ni un fichier CSV ni un classeur Excel (.xlsx) : déposez le modèle complété."
# Files that are plainly not a table, whatever their name: PDF, PNG, JPEG, GIF, gzip, 7z, RAR, ODF/OLE handled above.
BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")
NOT_TABULAR_EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "gif", "doc", "docx", "odt", "ods", "zip", "gz", "json", "xml"}
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
    return _lines_of(read_rows(file_bytes, filename))


def read_rows(file_bytes: bytes, filename: str, *, max_rows: int = MAX_ROWS, formulas_as_text: bool = False):
    """The rows of a CSV or XLSX file as (row number, cells), header included, read lazily; shared by every import.

    Raises ApplicationError for a whole-file problem: too large, empty, not a CSV or XLSX file, an encoding other than
    UTF-8 or Windows-1252/Latin-1, more than `max_rows` rows; a hostile file (`indicators.file_safety.check_import`:
    zip bomb, macros, external links, XML entities, a virus found by ClamAV). `formulas_as_text` gives an XLSX formula
    cell as its formula ("=A1+1") rather than its last computed value, so that the caller can refuse it.
    """
    limit = settings.EVIDENCE_MAX_UPLOAD_SIZE
    if len(file_bytes) > limit:
        raise ApplicationError(f"Le fichier dépasse la taille maximale autorisée ({size_label(limit)}).")
    if not file_bytes:
        raise ApplicationError("Le fichier est vide.")
    check_import(file_bytes, filename, unreadable=XLSX_UNREADABLE)
    name = (filename or "").lower()
    if file_bytes.startswith(b"PK\x03\x04"):
        return _xlsx_rows(file_bytes, max_rows=max_rows, data_only=not formulas_as_text)
    if file_bytes.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise ApplicationError(
            "Le format Excel 97-2003 (.xls) n'est pas lu : enregistrez le fichier au format .xlsx ou .csv."
        )
    if name.endswith(".xlsx"):
        raise ApplicationError(XLSX_UNREADABLE)
    if file_bytes.startswith(BINARY_SIGNATURES) or (name.rpartition(".")[2] in NOT_TABULAR_EXTENSIONS and "." in name):
        raise ApplicationError(NOT_TABULAR)
    return _csv_rows(file_bytes, max_rows=max_rows)


def _lines_of(rows) -> list[BulkLine]:
    rows = iter(rows)
    header = next(rows, None)
    if header is None:
        raise ApplicationError("Le fichier est vide.")
    _, header_cells = header
    positions = {}
    for index, cell in enumerate(header_cells):
        column = normalized_word(_cell_text(cell, ""))
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


def _csv_rows(file_bytes: bytes, *, max_rows: int = MAX_ROWS):
    if file_bytes.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in file_bytes[:4096]:
        raise ApplicationError(CSV_UNREADABLE)  # UTF-16/32 or binary: cp1252 would "decode" it into noise
    try:
        text = file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = file_bytes.decode("cp1252")  # what French Excel writes for "CSV (séparateur : point-virgule)"
        except UnicodeDecodeError as exc:
            raise ApplicationError(CSV_UNREADABLE) from exc
    if "\x00" in text:
        raise ApplicationError(CSV_UNREADABLE)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= max(first_line.count(","), 1) else ","
    return _bounded(_csv_records(text, delimiter), max_rows)


def _csv_records(text, delimiter):
    number = 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            yield number, row
    except csv.Error as exc:
        raise ApplicationError(f"Fichier CSV illisible vers la ligne {number + 1} : {exc}.") from exc


def _xlsx_rows(file_bytes: bytes, *, max_rows: int = MAX_ROWS, data_only: bool = True):
    # The container was bounded and checked by `check_import`; openpyxl parses with defusedxml (no entities).
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(file_bytes), read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl and zipfile raise many types on a damaged or disguised file
        raise ApplicationError(XLSX_UNREADABLE) from exc
    return _bounded(_xlsx_records(workbook), max_rows)


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


def _bounded(rows, max_rows=MAX_ROWS):
    """Rows, refusing a sheet longer than `max_rows` (blank rows included) rather than scanning it for ever."""
    for number, row in rows:
        if number > max_rows:
            raise ApplicationError(f"Le fichier compte plus de {max_rows} lignes : découpez-le en plusieurs fichiers.")
        yield number, row


def _cell_text(value, column: str) -> str:
    return cell_text(value, date=column == "date_mesure")


def cell_text(value, *, date: bool = False) -> str:
    """A cell as the text a user would have typed: XLSX dates as JJ/MM/AAAA, whole numbers without ".0"; `date`
    reads a number as the date Excel shows when the cell is formatted as one."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        if date and 1 <= value < 2_958_466:  # a date typed in a cell formatted as a number
            return from_excel(value).strftime("%d/%m/%Y")
        if float(value).is_integer():
            return str(int(value))
        return str(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _unguarded(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        return text[1:]
    return text


def normalized_word(text: str) -> str:
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


def size_label(size: int) -> str:
    """20971520 → "20 Mo"; 2048 → "2 Ko"; 200 → "200 octets"."""
    for unit, factor in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".replace(".0", "").replace(".", ",") + f" {unit}"
    return f"{size} octets"

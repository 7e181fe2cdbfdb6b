"""The bulk template (CSV or XLSX): one row per establishment × indicator of the catalogue in force, pre-filled."""

import csv
import datetime
import io

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..models import IndicatorValue, TargetKind, ValueStatus
from ..state.selectors import current_declared_values
from .parsing import COLUMNS, FORMULA_PREFIXES, SHEET_TITLE, TEXT_COLUMNS
from .planning import TEXT_OF_KIND, current_indicators

TEXT_OF_TARGET = {TargetKind.RATE: "taux", TargetKind.EXISTENCE: "existence"}
HELP_SHEET_TITLE = "Mode d'emploi"


def template_rows(*, establishments, programme) -> list[dict]:
    """One row per establishment × indicator of `programme`'s catalogue in force, pre-filled with the latest value:
    the draft if any (the latest date), else the latest declared value — so that users edit rather than retype.
    3 queries."""
    indicators = current_indicators(programme)
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
    declared = current_declared_values(establishment_ids, indicator_ids)  # the attainment state, kept on write
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


HELP_TITLE = "Saisie en masse des indicateurs — {programme}"
HELP_LINES = [
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


def template_xlsx(rows, *, programme_name: str = "") -> bytes:
    """The same template as an Excel workbook: bold frozen header, real dates, lists for nature_valeur and existe.
    `programme_name` titles the help sheet (the programme whose catalogue the rows follow)."""
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
    for text in [HELP_TITLE.format(programme=programme_name or "catalogue en vigueur"), *HELP_LINES]:
        help_sheet.append([text])
    help_sheet["A1"].font = Font(bold=True)
    help_sheet.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

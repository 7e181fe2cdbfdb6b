"""The dry run of a bulk file: every line checked, what each valid line would change, the lines in error.

Writes nothing, and costs a fixed number of queries whatever the number of lines.
"""

from dataclasses import dataclass, field
from typing import ClassVar

from hopen import permissions
from hopen.models import Establishment
from hopen.validation import CONTROL_CHARACTER_ERROR, has_control_character, sane_date_error

from ..attainment import rate_percent
from ..models import Indicator, IndicatorValue, ValueKind, ValueStatus
from ..services import ValueInput, value_input_errors
from .plans import CREATE, UNCHANGED, UPDATE, Plan
from .parsing import (
    BOOLEAN_OF_TEXT, FIELD_OF_COLUMN, KIND_OF_TEXT, BulkLine, normalized_finess, normalized_word, parse_date, parse_integer,
)

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
OUT_OF_SCOPE = "établissement inconnu ou hors de votre périmètre"
ALREADY_DECLARED = "déjà déclarée : corrigez-la depuis la page de l'indicateur"


# --- Checking the lines -------------------------------------------------------------------------------------------

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
class BulkPlan(Plan):
    # Lines without nature_valeur but with figures: ignored as the rule says, listed so that nothing goes unnoticed.
    ignored_with_figures: list = field(default_factory=list)
    WORDS: ClassVar[tuple] = (("nouveau brouillon", "nouveaux brouillons"), ("brouillon modifié", "brouillons modifiés"),
                              ("ligne inchangée", "lignes inchangées"))


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


def current_indicators(programme) -> list[Indicator]:
    """The indicators of the programme's catalogue in force, in catalogue order (one query)."""
    return list(
        Indicator.objects.filter(catalogue__programme=programme, catalogue__is_current=True)
        .select_related("group")
        .order_by("group__position", "position")
    )


def bulk_plan(*, lines, by, programme, establishments=None) -> BulkPlan:
    """Check every line and say what it would change; write nothing.

    The file targets `programme`'s catalogue in force: an indicator code is looked up there only, so a value lands
    in that programme's catalogue and no other.
    `establishments` bounds the file to a page's perimeter (see `bulk_establishments`); without it, a line may name
    any establishment the user may enter. A FINESS outside that perimeter gets the same message whether it exists or
    not. Queries: indicators, establishments (when not given), existing values — not one per line.
    """
    plan = BulkPlan()
    indicators = {indicator.code.upper(): indicator for indicator in current_indicators(programme)}
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
    hostile = [column for column, name in FIELD_OF_COLUMN.items() if has_control_character(getattr(line, name))]
    if hostile:  # a NUL would pass every check below and be refused by PostgreSQL at the confirmation
        return [f"{column} : {CONTROL_CHARACTER_ERROR}" for column in hostile], None, None, None
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
        if sane_date_error(measured_on):
            messages.append(f"date_mesure : {sane_date_error(measured_on)}")
            parse_failed.add("measured_on")
            measured_on = None
    kind = KIND_OF_TEXT.get(normalized_word(line.kind), "")
    if not kind:
        messages.append(f"nature_valeur : « {line.kind} » inconnue (taux, existence ou non_applicable)")
        parse_failed.add("kind")
    numerator = denominator = exists = None
    if kind == ValueKind.RATE:
        numerator = _integer(line.numerator, "numerateur", messages, parse_failed, "numerator")
        denominator = _integer(line.denominator, "denominateur", messages, parse_failed, "denominator")
    elif kind == ValueKind.EXISTENCE and line.exists.strip():
        exists = BOOLEAN_OF_TEXT.get(normalized_word(line.exists))
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

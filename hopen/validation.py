"""Field rules shared by every form, serializer and importer (pure: plain values in, French reasons out)."""

import datetime
import re

# C0 controls and DEL; tab, line feed and carriage return are ordinary text (text areas, pasted cells).
_FIELD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHARACTER_ERROR = "caractère de contrôle interdit (octet nul ou caractère invisible) : retapez la valeur"

SANE_YEARS = (2000, 2100)  # a programme date outside these years is a typing error (year 1, 9999), not a plan


def has_control_character(value: str) -> bool:
    """A character no field accepts: PostgreSQL refuses NUL in text, and the others have no place in typed text."""
    return bool(_FIELD_CONTROL.search(value))


def sane_date_error(day: datetime.date | None) -> str | None:
    """A date typed in a form or the API or read from an imported file (measure, target deadline, review, forecast,
    delegation) outside 2000–2100: its French error. The programme started in 2018 (Instruction, §1) and plans a few
    years ahead; a year 1 or 9999 would otherwise reach the nightly deadline sweep. The programme's own bounds (§5.3.1
    usage-target window) are checked by the services."""
    if day is None or SANE_YEARS[0] <= day.year <= SANE_YEARS[1]:
        return None
    return f"Date invraisemblable ({day:%d/%m/%Y}) : saisissez une date entre {SANE_YEARS[0]} et {SANE_YEARS[1]}."


def validate_sane_date(day) -> None:
    """Django / DRF validator of `sane_date_error` (a field error, never a 500)."""
    from django.core.exceptions import ValidationError

    error = sane_date_error(day)
    if error:
        raise ValidationError(error, code="date_out_of_range")

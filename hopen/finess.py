"""FINESS numbers (Fichier national des établissements sanitaires et sociaux).

A FINESS number has 9 characters: the department (two digits, or 2A/2B for Corsica), six
digits, and a Luhn check digit. For Corsica the Luhn check holds when 2A is read as 21 and 2B
as 22 (true of every Corsican number of the SAE 2023 data, see tests/hopen/test_finess.py).
"""

import re

from django.core.exceptions import ValidationError

FINESS_PATTERN = re.compile(r"^(?:\d{2}|2A|2B)\d{7}$")
CORSICA_DIGITS = {"2A": "21", "2B": "22"}


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def finess_error(value) -> str | None:
    """The French message explaining why `value` is not a FINESS number, or None when it is one."""
    text = "" if value is None else str(value).strip().upper()
    if len(text) != 9:
        return f"Le numéro FINESS « {text} » doit comporter 9 caractères (il en a {len(text)})."
    if not FINESS_PATTERN.match(text):
        return (
            f"Le numéro FINESS « {text} » doit commencer par un code de département "
            "(deux chiffres, ou 2A/2B pour la Corse) suivi de 7 chiffres."
        )
    digits = CORSICA_DIGITS.get(text[:2], text[:2]) + text[2:]
    if not luhn_is_valid(digits):
        return f"Le numéro FINESS « {text} » est invalide : la clé de contrôle (dernier chiffre) ne correspond pas."
    return None


def is_valid_finess(value) -> bool:
    return finess_error(value) is None


def validate_finess(value) -> None:
    """Django validator: raises a ValidationError with a clear French message."""
    message = finess_error(value)
    if message:
        raise ValidationError(message, code="invalid_finess")

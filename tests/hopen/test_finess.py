"""FINESS validation against every real number of the SAE 2023 data and against corrupted ones."""

import csv

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from hopen.finess import finess_error, is_valid_finess, validate_finess


def real_finess_numbers():
    with (settings.HOPEN_SAE_DIR / "ID_2023r.csv").open(encoding="latin-1", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return {row["fi"] for row in rows} | {row["fi_ej"] for row in rows}


REAL = sorted(real_finess_numbers())


def test_every_real_finess_number_is_valid():
    assert len(REAL) > 5000
    invalid = [number for number in REAL if not is_valid_finess(number)]
    assert invalid == []


def test_corsican_numbers_validate_with_2a_read_as_21_and_2b_as_22():
    corsican = [number for number in REAL if number[:2] in {"2A", "2B"}]
    assert len(corsican) == 64
    assert all(is_valid_finess(number) for number in corsican)


@pytest.mark.parametrize("position", range(9))
def test_changing_any_single_digit_of_a_real_number_is_detected(position):
    """Luhn detects every single-digit substitution: try all of them on 200 real numbers."""
    for number in REAL[::len(REAL) // 200][:200]:
        if not number[position].isdigit():
            continue
        for replacement in "0123456789":
            if replacement == number[position]:
                continue
            corrupted = number[:position] + replacement + number[position + 1:]
            if position < 2 and not corrupted[:2].isdigit():
                continue
            assert not is_valid_finess(corrupted), corrupted


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "9 caractères"),
        ("01000002", "9 caractères"),
        ("0100000240", "9 caractères"),
        ("2C0000024", "code de département"),
        ("0A0000024", "code de département"),
        ("01000A024", "code de département"),
        ("010000025", "clé de contrôle"),
    ],
)
def test_bad_numbers_get_a_clear_french_message(value, message):
    assert message in finess_error(value)
    with pytest.raises(ValidationError) as excinfo:
        validate_finess(value)
    assert excinfo.value.code == "invalid_finess"


def test_lowercase_corsican_prefix_is_accepted():
    corsican = next(number for number in REAL if number.startswith("2A"))
    assert is_valid_finess(corsican.lower())

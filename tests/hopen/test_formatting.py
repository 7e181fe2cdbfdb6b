"""French presentation helpers (hopen.formatting): the one way amounts and dates are written on pages and letters."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hopen.formatting import NBSP, french_date, french_euros, french_number


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234567.89"), "1 234 567,89 €"),
        (Decimal("1234.56"), "1 234,56 €"),
        (Decimal("999.5"), "999,50 €"),
        (Decimal("0"), "0,00 €"),
        (Decimal("0.005"), "0,01 €"),  # half up, to the cent
        (Decimal("-0.001"), "0,00 €"),  # never « -0,00 »
        (Decimal("-420000000"), "-420 000 000,00 €"),
        (40000, "40 000,00 €"),
    ],
)
def test_french_euros(amount, expected):
    assert french_euros(amount) == expected.replace(" ", NBSP)


def test_thousands_and_euro_sign_are_held_by_no_break_spaces():
    assert french_euros(Decimal("1234567.89")) == "1\u00a0234\u00a0567,89\u00a0€"
    assert french_number(Decimal("49777"), 0) == "49\u00a0777"
    assert french_euros(Decimal("40000"), 0) == "40\u00a0000\u00a0€"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2026, 11, 25), "25 novembre 2026"),
        (datetime.date(2021, 1, 1), "1er janvier 2021"),
        (datetime.date(2020, 8, 2), "2 août 2020"),
        (datetime.date(2019, 2, 28), "28 février 2019"),
    ],
)
def test_french_date(day, expected):
    assert french_date(day) == expected


def test_french_date_of_an_aware_datetime_is_the_local_day(settings):
    settings.TIME_ZONE = "Europe/Paris"
    late_utc = datetime.datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))  # already 1 January in Paris
    assert french_date(late_utc) == "1er janvier 2027"

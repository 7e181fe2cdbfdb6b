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
        (Decimal("-420000000"), "\u2212420 000 000,00 €"),  # the minus sign U+2212
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


# --- Issue 16: counts, percentages, k€, signs, SVG numbers (one module for pages, charts and letters) ----------------

from django.template import Context, Template  # noqa: E402

from hopen.formatting import (  # noqa: E402
    MINUS,
    french_count,
    french_keur,
    french_percent,
    french_quantity,
    french_signed,
    svg_number,
)


def test_a_negative_number_takes_the_minus_sign_not_the_hyphen():
    assert french_number(Decimal("-0.13")) == f"{MINUS}0,13"
    assert french_euros(Decimal("-420000000")) == f"{MINUS}420{NBSP}000{NBSP}000,00{NBSP}€"
    assert french_signed(Decimal("0.13")) == "+0,13" and french_signed(Decimal("-0.13")) == f"{MINUS}0,13"
    assert french_signed(Decimal("0")) == "0,00"


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 établissement"), (1, "1 établissement"), (2, "2 établissements"), (12345, "12 345 établissements")]
)
def test_a_count_is_singular_below_two_and_has_no_decimals(count, expected):
    assert french_count(count, "établissement") == expected.replace(" ", NBSP)


def test_quantities_percentages_and_thousands_of_euros():
    assert french_quantity(Decimal("166463.00")) == f"166{NBSP}463"  # a count of days, not money
    assert french_quantity(Decimal("1234.50")) == f"1{NBSP}234,5"
    assert french_percent(90) == f"90{NBSP}%" and french_percent(Decimal("95.04"), 1) == f"95,0{NBSP}%"
    assert french_keur(Decimal("37018")) == f"37{NBSP}018{NBSP}k€"


@pytest.mark.parametrize(("value", "expected"), [(1412, "1412"), (1412.0, "1412"), (87.5, "87.5"), (Decimal("-0.001"), "0")])
def test_svg_numbers_are_never_localised(value, expected):
    assert svg_number(value) == expected


def test_template_filters_use_the_same_functions(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    html = Template(
        '{% load money %}{{ w|svg }}|{{ n|count:"établissement" }}|{{ p|percent }}|{{ k|keur }}|{{ a|euros }}|{{ none|euros }}'
    ).render(Context({"w": 1412.5, "n": 0, "p": 90, "k": 37018, "a": Decimal("-1.5"), "none": None}))
    assert html == f"1412.5|0{NBSP}établissement|90{NBSP}%|37{NBSP}018{NBSP}k€|{MINUS}1,50{NBSP}€|"

"""French presentation of numbers, amounts, percentages, counts and dates: the one place pages (template filters of
`hopen.templatetags.money`), charts and PDF letters use.

Pure functions (no database, no locale machinery): « 1 234 567,89 € », « 90 % », « 37 018 k€ », « 0 établissement »,
« −0,13 », « 25 novembre 2026 ». Thousands are separated by a no-break space (U+00A0, `NBSP`), the euro and percent
signs follow a no-break space, the decimal mark is a comma, a negative number takes the minus sign U+2212 (`MINUS`,
the typographic sign, not the hyphen), amounts are rounded half up to the cent (Decimal, never float). A count
has no decimals; a noun after a count is singular below two (« 0 établissement, 1 établissement, 2 établissements »).

SVG geometry is never written by these functions: an attribute (`viewBox`, `x`, `width`…) needs the plain machine
number « 1412.5 », which `svg_number` writes (Django's USE_THOUSAND_SEPARATOR would otherwise print « 1 412,5 »).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
MINUS = "\u2212"

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)


_QUANTA = {decimals: Decimal(1).scaleb(-decimals) for decimals in range(7)}
# Python's « , » grouping and « . » decimal point, turned French in one pass (a page prints hundreds of amounts).
_FRENCH_MARKS = str.maketrans({",": NBSP, ".": ","})


def french_number(value, decimals: int = 2) -> str:
    """« 123 456,78 »: no-break space between groups of thousands, decimal comma, rounded half up."""
    quantum = _QUANTA.get(decimals) or Decimal(1).scaleb(-decimals)
    number = Decimal(str(value) if isinstance(value, float) else value).quantize(quantum, rounding=ROUND_HALF_UP)
    text = format(number, ",f").translate(_FRENCH_MARKS)
    if text.startswith("-"):
        return text[1:] if number == 0 else MINUS + text[1:]  # « −0,00 » reads as zero
    return text


def french_euros(amount, decimals: int = 2) -> str:
    """« 1 234 567,89 € » (`decimals=0` for « 40 000 € »)."""
    return f"{french_number(amount, decimals)}{NBSP}€"


def french_keur(amount_keur) -> str:
    """« 37 018 k€ »: an amount the texts print in thousands of euros (annex 2's envelopes), no decimals."""
    return f"{french_number(amount_keur, 0)}{NBSP}k€"


def french_integer(value) -> str:
    """« 166 463 »: a count (days, establishments, stays) — rounded half up, never decimals."""
    return french_number(value, 0)


def french_quantity(value, max_decimals: int = 2) -> str:
    """« 166 463 » or « 1 234,5 »: a measured quantity whose decimals are shown only when it has some (the combined
    activity is a weighted count of days: « 166 463,00 » would read as money)."""
    text = french_number(value, max_decimals)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def french_percent(value, decimals: int = 0) -> str:
    """« 90 % », « 95,5 % » (`decimals=1`): the percent sign after a no-break space, as the French typography wants
    it; the same number of decimals for every percentage of a page (the caller passes it)."""
    return f"{french_number(value, decimals)}{NBSP}%"


def french_signed(value, decimals: int = 2) -> str:
    """« +0,13 », « −0,13 », « 0,00 »: a difference, its sign always written (U+2212 for the minus)."""
    text = french_number(value, decimals)
    return text if text.startswith(MINUS) or not text.strip("0," + NBSP) else "+" + text


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """The noun after a count, French rule: singular for 0 and 1 (« 0 établissement »), plural from 2."""
    return singular if abs(Decimal(str(count) if isinstance(count, float) else count)) < 2 else (plural_form or singular + "s")


def french_count(count, singular: str, plural_form: str | None = None) -> str:
    """« 0 établissement », « 1 établissement », « 12 345 établissements »."""
    return f"{french_integer(count)}{NBSP}{plural(count, singular, plural_form)}"


def svg_number(value) -> str:
    """A number for an SVG attribute: plain digits, a dot, no grouping, no trailing zeros (« 1412 », « 87.5 »)."""
    number = Decimal(str(value) if isinstance(value, float) else value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def french_date(day) -> str:
    """« 25 novembre 2026 », « 1er janvier 2021 » (a datetime is taken in the current time zone)."""
    if isinstance(day, datetime.datetime):
        from django.utils import timezone

        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    ordinal = "1er" if day.day == 1 else str(day.day)
    return f"{ordinal} {MONTHS[day.month - 1]} {day.year}"

"""French presentation of numbers, amounts and dates: the one place pages, template filters and PDF letters use.

Pure functions (no database, no locale machinery): « 1 234 567,89 € », « 25 novembre 2026 ». Thousands are
separated by a no-break space (U+00A0, `NBSP`), the euro sign follows a no-break space, the decimal mark is a
comma, amounts are rounded half up to the cent (Decimal, never float).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)


def french_number(value, decimals: int = 2) -> str:
    """« 123 456,78 »: no-break space between groups of thousands, decimal comma, rounded half up."""
    quantum = Decimal(1).scaleb(-decimals)
    text = f"{Decimal(str(value) if isinstance(value, float) else value).quantize(quantum, rounding=ROUND_HALF_UP):f}"
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    if sign and Decimal(text) == 0:
        sign = ""  # « -0,00 » reads as zero
    return sign + NBSP.join(groups) + ("," + fraction if fraction else "")


def french_euros(amount, decimals: int = 2) -> str:
    """« 1 234 567,89 € » (`decimals=0` for « 40 000 € »)."""
    return f"{french_number(amount, decimals)}{NBSP}€"


def french_date(day) -> str:
    """« 25 novembre 2026 », « 1er janvier 2021 » (a datetime is taken in the current time zone)."""
    if isinstance(day, datetime.datetime):
        from django.utils import timezone

        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    ordinal = "1er" if day.day == 1 else str(day.day)
    return f"{ordinal} {MONTHS[day.month - 1]} {day.year}"

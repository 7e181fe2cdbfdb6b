"""Measurement periods: a date is shown with its half-year, e.g. 12/03/2020 → "2020 S1"."""

import datetime
import re

SEMESTER_PATTERN = re.compile(r"^(\d{4}) S([12])$")


def semester_of(day: datetime.date) -> str:
    return f"{day.year} S{1 if day.month <= 6 else 2}"


def semester_bounds(label: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of a half-year label such as "2020 S2"."""
    match = SEMESTER_PATTERN.match(label.strip())
    if not match:
        raise ValueError(f"Semestre invalide « {label} » (attendu : « 2020 S1 »).")
    year, half = int(match.group(1)), int(match.group(2))
    if half == 1:
        return datetime.date(year, 1, 1), datetime.date(year, 6, 30)
    return datetime.date(year, 7, 1), datetime.date(year, 12, 31)


def semesters_between(first: str, last: str) -> list[str]:
    """Every half-year label from `first` to `last` inclusive: ranges of the programme calendar."""
    start, _ = semester_bounds(first)
    end, _ = semester_bounds(last)
    labels, year, half = [], start.year, 1 if start.month == 1 else 2
    while (year, half) <= (end.year, 1 if end.month == 1 else 2):
        labels.append(f"{year} S{half}")
        year, half = (year, 2) if half == 1 else (year + 1, 1)
    return labels

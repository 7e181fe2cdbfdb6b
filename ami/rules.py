"""Pure rules of the AMI (instruction §5.3.2 « Etape 1 », annex 5)."""

import datetime
from enum import Enum

from indicators.periods import semesters_between


class Timeliness(str, Enum):
    ON_TIME = "on_time"
    LATE = "late"
    REFUSED = "refused"


def filing_timeliness(day: datetime.date, ami_deadline: datetime.date, late_deadline: datetime.date) -> Timeliness:
    """§5.3.2: « au plus tard le 30 juin 2019 »; later candidatures « jusqu'au 31/12/2021 »; after that, refused."""
    if day <= ami_deadline:
        return Timeliness.ON_TIME
    if day <= late_deadline:
        return Timeliness.LATE
    return Timeliness.REFUSED


def semester_in_range(label: str, first: str, last: str) -> bool:
    """Annex 5: the forecast semesters offered are those of the calendar's range (e.g. 2019 S1 … 2022 S2)."""
    return label in semesters_between(first, last)


def priority_errors(priorities: list[int]) -> list[str]:
    """004 « Candidatures »: the establishment ranks its chosen domains, 1..n, each rank once."""
    expected = list(range(1, len(priorities) + 1))
    if sorted(priorities) != expected:
        return [f"Les rangs de priorité des domaines choisis doivent être 1 à {len(priorities)}, chacun une seule fois."]
    return []

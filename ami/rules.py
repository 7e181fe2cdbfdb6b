"""Pure rules of the AMI (instruction §5.3.2 « Etape 1 », annex 5)."""

import datetime
from dataclasses import dataclass
from enum import Enum

from indicators.periods import semester_of, semesters_between
from indicators.windows import AMI_FILING, AMI_LATE_FILING, Window, WindowState, window_state


class Timeliness(str, Enum):
    ON_TIME = "on_time"
    LATE = "late"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"


@dataclass(frozen=True)
class AmiFilingState:
    """Whether a pre-candidature may be saved and filed on a day, with the window to cite (its date, its section)."""

    timeliness: Timeliness
    state: WindowState

    @property
    def is_open(self) -> bool:
        return self.timeliness in (Timeliness.ON_TIME, Timeliness.LATE)

    @property
    def is_late(self) -> bool:
        return self.timeliness == Timeliness.LATE

    @property
    def banner(self) -> str:
        """What the tab says up front, in French, with the date and the section."""
        window = self.state.window
        if self.timeliness == Timeliness.ON_TIME:
            return f"Dépôt des pré-candidatures ouvert jusqu'au {window.last_day:%d/%m/%Y} inclus ({window.citation})."
        if self.timeliness == Timeliness.LATE:
            return (
                f"Dépôt tardif ouvert jusqu'au {window.last_day:%d/%m/%Y} inclus ({window.citation}) : "
                "la pré-candidature sera signalée tardive."
            )
        if self.timeliness == Timeliness.NOT_YET_OPEN:
            return (
                f"Dépôt des pré-candidatures ouvert à partir du {window.opens:%d/%m/%Y} ({window.citation}) : "
                "la pré-candidature ne peut pas encore être déposée ni modifiée."
            )
        return (
            f"Dépôt des pré-candidatures clos depuis le {window.last_day:%d/%m/%Y} ({window.citation}) : "
            "la pré-candidature ne peut plus être déposée ni modifiée."
        )


def ami_filing_state(windows: dict[str, Window], day: datetime.date) -> AmiFilingState:
    """§5.3.2 « Etape 1 »: on time while the AMI window is open (HOP'EN: « au plus tard le 30 juin 2019 »); late
    while the late window is (HOP'EN: « jusqu'au 31/12/2021 »), flagged so; otherwise refused — the window cited is
    the one that opens next, or the last one that closed. `windows`: `indicators.windows.programme_windows`."""
    ami = windows[AMI_FILING]
    late = windows.get(AMI_LATE_FILING)
    ami_state = window_state(ami, day)
    if ami_state.is_open:
        return AmiFilingState(Timeliness.ON_TIME, ami_state)
    if ami_state.not_yet_open:
        return AmiFilingState(Timeliness.NOT_YET_OPEN, ami_state)
    if late is None:
        return AmiFilingState(Timeliness.CLOSED, ami_state)
    late_state = window_state(late, day)
    if late_state.is_open:
        return AmiFilingState(Timeliness.LATE, late_state)
    return AmiFilingState(Timeliness.NOT_YET_OPEN if late_state.not_yet_open else Timeliness.CLOSED, late_state)


def semester_in_range(label: str, first: str, last: str) -> bool:
    """Annex 5: the forecast semesters offered are those of the calendar's range (e.g. 2019 S1 … 2022 S2)."""
    return label in semesters_between(first, last)


def semesters_offered(first: str, last: str, day: datetime.date) -> list[str]:
    """The forecast semesters offered on `day`: those of the calendar's range that are not already past (the
    current semester and later). A forecast is a future date: « 2021 S1 » is no forecast in 2026."""
    current = semester_of(day)
    return [label for label in semesters_between(first, last) if _key(label) >= _key(current)]


def _key(label: str) -> tuple[int, int]:
    year, _, half = label.partition(" S")
    return int(year), int(half)


def priority_errors(priorities: list[int]) -> list[str]:
    """004 « Candidatures »: the establishment ranks its chosen domains, 1..n, each rank once."""
    expected = list(range(1, len(priorities) + 1))
    if sorted(priorities) != expected:
        return [f"Les rangs de priorité des domaines choisis doivent être 1 à {len(priorities)}, chacun une seule fois."]
    return []

"""Calendar windows of a programme: « is this window open on this date, and if not, since or until when? »

One rule for every filing: the services ask it before they write (AMI save and validation, dossier creation and
transmission, target dates), the pages ask it to show the state up front (banner, disabled buttons, semesters
offered), the API lists it (`GET /api/v1/programmes/`). The windows are data of the programme
(`ProgrammeDeadline` rows, loaded from the programme's fixture); this module never names a programme.

HOP'EN's windows, from the instruction: AMI « au plus tard le 30 juin 2019 » and late candidatures « jusqu'au
31/12/2021 » (§5.3.2 Étape 1); Étape 2 opens in the second half of 2019 (§5.3.2); prerequisites « avant le
1er janvier 2021 » (§5.3.1, annex 2); usage targets « avant le 1er janvier 2023 » (§5.3.1).
"""

import datetime
from dataclasses import dataclass

from hopen.exceptions import ApplicationError

from .models import Closing, ProgrammeDeadline

# The window codes the code reads (the fixture may declare others, which the API lists all the same).
AMI_FILING = "ami-deadline"
AMI_LATE_FILING = "late-candidature-deadline"
DOSSIER_FILING = "dossier-filing"
PREREQUISITES_DEROGATORY = "prerequisites-derogatory-deadline"
USAGE_TARGETS = "usage-targets-deadline"
ARS_PROGRAMMING = "ars-programming-deadline"

ONE_DAY = datetime.timedelta(days=1)


def _d(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


@dataclass(frozen=True)
class Window:
    code: str
    label: str
    opens: datetime.date | None
    closes: datetime.date  # as the text states it (« avant le 1er janvier 2023 » → 2023-01-01)
    closing: str  # Closing.ON: the closing day is included; Closing.BEFORE: it is not
    source: str

    @property
    def last_day(self) -> datetime.date:
        """The last day on which the window is open."""
        return self.closes if self.closing == Closing.ON else self.closes - ONE_DAY

    @property
    def citation(self) -> str:
        """The section the window comes from (« Instruction, §5.3.2 »), without the quoted words."""
        return self.source.split(" : ")[0].strip() or self.source

    def is_open(self, on: datetime.date) -> bool:
        return (self.opens is None or on >= self.opens) and on <= self.last_day

    def state(self, on: datetime.date) -> "WindowState":
        return window_state(self, on)


@dataclass(frozen=True)
class WindowState:
    window: Window
    on: datetime.date
    is_open: bool
    not_yet_open: bool
    message: str  # French, with the date and the section

    @property
    def is_closed(self) -> bool:
        return not self.is_open and not self.not_yet_open


def window_state(window: Window, on: datetime.date) -> WindowState:
    """Pure: the state of `window` on the day `on`, with its message.

    « Dépôt des pré-candidatures (AMI) : ouvert jusqu'au 30/06/2019 inclus (Instruction, §5.3.2 « Etape 1 »). »
    « … : clos depuis le 31/12/2021 (…). » — the date named is the last day the window was open.
    """
    if window.opens is not None and on < window.opens:
        text = f"ouvre le {_d(window.opens)}"
        return WindowState(window, on, False, True, f"{window.label} : {text} ({window.citation}).")
    if on <= window.last_day:
        text = f"ouvert jusqu'au {_d(window.last_day)} inclus"
        return WindowState(window, on, True, False, f"{window.label} : {text} ({window.citation}).")
    text = f"clos depuis le {_d(window.last_day)}"
    return WindowState(window, on, False, False, f"{window.label} : {text} ({window.citation}).")


class WindowClosed(ApplicationError):
    """A filing outside its window: a 400 in the API, the form's error on the pages; nothing is written."""

    def __init__(self, state: WindowState, action: str = ""):
        message = f"{action} refusé : {state.message}" if action else state.message
        super().__init__(
            message,
            extra={"reasons": [{"code": f"window_closed:{state.window.code}", "section": state.window.citation,
                                "message": state.message}]},
        )
        self.state = state


def programme_windows(programme) -> dict[str, Window]:
    """{code: Window} of a programme (one query)."""
    rows = ProgrammeDeadline.objects.filter(programme=programme).values_list(
        "code", "label", "opens", "date", "closing", "source"
    )
    return {row[0]: Window(*row) for row in rows}


def programme_window(programme, code: str) -> Window:
    window = programme_windows(programme).get(code)
    if window is None:
        raise ApplicationError(
            f"Le calendrier du programme {programme.code} ne déclare pas la fenêtre « {code} » : "
            "l'administrateur doit la charger avec le programme."
        )
    return window


def require_open(programme, code: str, on: datetime.date, *, action: str = "") -> Window:
    """The window if it is open on `on`; else `WindowClosed` with the date and the section."""
    window = programme_window(programme, code)
    state = window_state(window, on)
    if not state.is_open:
        raise WindowClosed(state, action)
    return window


def date_within(window: Window, day: datetime.date) -> bool:
    """A date the texts bound by a window (a target deadline « avant le 1er janvier 2023 »)."""
    return day <= window.last_day

"""The shape of a work queue (« À faire ») line, shared by the queue selectors of every app.

Each app computes its own lines (`indicators.queues`, `ami.queues`, `funding.dossiers.queues`, …) from plain ids and
the programme, with a constant number of queries; `hopen.work_queues` assembles them per role for the home pages.
A line is a count with a link to the list (or the page) where the work is done; some lines also list their first
objects, each with its deadline and the days left (annex 4 §1, §5.3.2).
"""

import datetime
from dataclasses import dataclass, field

ITEMS_SHOWN = 10  # objects listed under a line; the count and the link give the rest


@dataclass(frozen=True)
class QueueItem:
    """One object of a line: what it is, where it is, and its deadline when the text sets one."""

    label: str
    url: str
    deadline: datetime.date | None = None
    days_left: int | None = None  # negative once the deadline has passed

    @property
    def is_overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def days_left_label(self) -> str:
        """« 12 jours restants », « dernier jour », « dépassée de 3 jours »."""
        if self.days_left is None:
            return ""
        if self.days_left == 0:
            return "dernier jour"
        if self.days_left < 0:
            late = -self.days_left
            return f"dépassée de {late} jour{'s' if late > 1 else ''}"
        return f"{self.days_left} jour{'s' if self.days_left > 1 else ''} restant{'s' if self.days_left > 1 else ''}"


@dataclass(frozen=True)
class Task:
    """A line of a work queue. `code` is stable (templates and tests find the line by it); `label` is the French
    sentence shown after the count; `source` cites the text that makes it a task; `alert` marks a passed deadline."""

    code: str
    count: int
    label: str
    url: str
    source: str = ""
    items: tuple = field(default_factory=tuple)
    alert: bool = False


def days_left(deadline: datetime.date | None, today: datetime.date) -> int | None:
    return None if deadline is None else (deadline - today).days


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 valeur », « 3 valeurs » — the noun only, the count is shown apart."""
    return singular if count == 1 else (plural_form or f"{singular}s")

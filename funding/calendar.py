"""The programme's delays (ProgrammeDelay, fixtures/programme_calendar.json) as date arithmetic.

`add_delay` is pure; `programme_delays` reads the delays of a programme once (one query).
"""

import datetime
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from indicators.models import ProgrammeDelay

# Codes of fixtures/programme_calendar.json "delays".
ARS_DECISION = "ars-decision"  # annex 4 §1: four months, silence = refusal
ARS_DECISION_REMINDER = "ars-decision-reminder"  # 3 months and 3 weeks
ARS_INITIALISATION = "ars-initialisation"  # §5.3.2 « Etape 2 »: 1.5 months
RECANDIDACY = "recandidacy-after-refusal"  # annex 4 §1: six months
TARGET_DEADLINE_ALERT = "target-deadline-alert"
ANNUAL_REPORT_REMINDER = "annual-report-reminder"


@dataclass(frozen=True)
class Delay:
    months: int = 0
    days: int = 0

    def after(self, day: datetime.date) -> datetime.date:
        return add_delay(day, self)

    def before(self, day: datetime.date) -> datetime.date:
        return day - relativedelta(months=self.months, days=self.days)


def add_delay(day: datetime.date, delay: Delay) -> datetime.date:
    """Months first (clamped to the month's last day: 31 Oct + 4 months = 28/29 Feb), then days."""
    return day + relativedelta(months=delay.months) + relativedelta(days=delay.days)


def programme_delays(programme) -> dict[str, Delay]:
    """{code: Delay} of a programme (a `Programme`; one query)."""
    rows = ProgrammeDelay.objects.filter(programme=programme).values_list("code", "months", "days")
    return {code: Delay(months, days) for code, months, days in rows}


def programme_delay(code: str, programme) -> Delay:
    delays = programme_delays(programme)
    if code not in delays:
        from hopen.exceptions import ApplicationError

        raise ApplicationError(f"Le calendrier du programme ne définit pas le délai « {code} » (load_programme).")
    return delays[code]

"""Calendar windows (issue 11): one rule answers « open on this date? since / until when? », with the section.

HOP'EN's windows come from the instruction: AMI « au plus tard le 30 juin 2019 » and late candidatures
« jusqu'au 31/12/2021 » (§5.3.2 Étape 1); Étape 2 « ouverte à partir du second semestre 2019 » (§5.3.2); usage
targets « avant le 1er janvier 2023 » (§5.3.1).
"""

import datetime

import pytest

from indicators.loading import load_calendar
from indicators.models import Closing, Programme
from indicators.windows import (
    AMI_FILING,
    AMI_LATE_FILING,
    DOSSIER_FILING,
    USAGE_TARGETS,
    Window,
    WindowClosed,
    date_within,
    programme_windows,
    require_open,
    window_state,
)

D = datetime.date
AMI = Window("ami-deadline", "Dépôt des pré-candidatures (AMI)", None, D(2019, 6, 30), Closing.ON,
             "Instruction, §5.3.2 « Etape 1 » : « au plus tard le 30 juin 2019 »")
TARGETS = Window("usage-targets-deadline", "Atteinte des cibles d'usage", None, D(2023, 1, 1), Closing.BEFORE,
                 "Instruction, §5.3.1 : « avant le 1er janvier 2023 »")
STEP_2 = Window("dossier-filing", "Dépôt des dossiers", D(2019, 7, 1), D(2021, 12, 31), Closing.ON,
                "Instruction, §5.3.2 : « ouverte à partir du second semestre 2019 »")


def test_au_plus_tard_le_includes_the_closing_day():
    assert window_state(AMI, D(2019, 6, 30)).is_open
    closed = window_state(AMI, D(2019, 7, 1))
    assert not closed.is_open and closed.is_closed
    assert closed.message == (
        "Dépôt des pré-candidatures (AMI) : clos depuis le 30/06/2019 (Instruction, §5.3.2 « Etape 1 »)."
    )


def test_avant_le_excludes_the_closing_day():
    assert TARGETS.last_day == D(2022, 12, 31)
    assert window_state(TARGETS, D(2022, 12, 31)).is_open
    assert not window_state(TARGETS, D(2023, 1, 1)).is_open
    assert date_within(TARGETS, D(2022, 12, 31)) and not date_within(TARGETS, D(2023, 1, 1))


def test_a_window_not_yet_open_says_when_it_opens():
    state = window_state(STEP_2, D(2019, 6, 30))
    assert not state.is_open and state.not_yet_open and not state.is_closed
    assert state.message == "Dépôt des dossiers : ouvre le 01/07/2019 (Instruction, §5.3.2)."
    assert window_state(STEP_2, D(2019, 7, 1)).message == (
        "Dépôt des dossiers : ouvert jusqu'au 31/12/2021 inclus (Instruction, §5.3.2)."
    )


@pytest.mark.django_db
def test_hopen_calendar_today_refuses_with_the_date_and_the_section():
    load_calendar()
    hopen = Programme.objects.get(code="HOPEN")
    windows = programme_windows(hopen)
    assert {AMI_FILING, AMI_LATE_FILING, DOSSIER_FILING, USAGE_TARGETS} <= set(windows)
    with pytest.raises(WindowClosed) as refused:
        require_open(hopen, DOSSIER_FILING, D(2026, 12, 5), action="Création du dossier")
    assert refused.value.message == (
        "Création du dossier refusé : Dépôt des dossiers de candidature (Étape 2) : clos depuis le 31/12/2021 "
        "(Instruction, §5.3.2)."
    )
    assert refused.value.extra["reasons"] == [{
        "code": "window_closed:dossier-filing", "section": "Instruction, §5.3.2",
        "message": "Dépôt des dossiers de candidature (Étape 2) : clos depuis le 31/12/2021 (Instruction, §5.3.2).",
    }]
    assert require_open(hopen, DOSSIER_FILING, D(2021, 12, 31)).code == DOSSIER_FILING
    with pytest.raises(WindowClosed):
        require_open(hopen, DOSSIER_FILING, D(2019, 6, 30))

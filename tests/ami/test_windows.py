"""The AMI filing windows (instruction §5.3.2 « Etape 1 »), enforced by the services and shown up front on the tab.

HOP'EN: pre-candidatures « au plus tard le 30 juin 2019 », late candidatures « jusqu'au 31/12/2021 »; on today's date
its AMI is closed — saving a draft and validating are refused with the date and the section, nothing written. The
demonstration campaign (fixtures/programmes/demo-2026.json) is open today: the same code files on it, scoped to it.
"""

import datetime
import re
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from ami.models import FilingStatus, PreCandidature
from ami.services import DomainChoice, PreCandidatureInput, pre_candidature_validate, pre_candidature_validate_as_support
from hopen.models import AuditRecord, Role
from indicators.periods import semester_of, semesters_between
from indicators.windows import WindowClosed
from tests.ami.conftest import ON_TIME, save_draft
from tests.ami.test_api import PAYLOAD, ami_url, token_client, validate_url
from tests.ami.test_ars import ami_world  # noqa: F401  (fixture)
from tests.ami.test_tab import ami, form_data, private_root, tab_url, text_of  # noqa: F401  (fixtures)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

NOW = "ami.services.timezone.now"
DEMO = "DEMO2026"


def at(day: datetime.date) -> datetime.datetime:
    """Noon in Paris on `day` (the windows are counted in local days)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


def select_options(page: str, name: str) -> list[str]:
    select = page.split(f'name="{name}"')[1].split("</select>")[0]
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


# --- HOP'EN today: closed, refused, nothing written -----------------------------------------------------------------


def test_hopen_today_saving_a_draft_is_refused_with_the_date_and_the_section_nothing_written(ami_world, ami_input):
    """§5.3.2: late candidatures « jusqu'au 31/12/2021 »; today even a draft is refused — no row, no audit record."""
    t = ami_world
    with pytest.raises(WindowClosed) as excinfo:
        save_draft(establishment=t.member, data=ami_input(), by=t.editor, now=timezone.now())
    assert "31/12/2021" in excinfo.value.message and "§5.3.2" in excinfo.value.message
    assert excinfo.value.message.startswith("Enregistrement de la pré-candidature refusé")
    assert not PreCandidature.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="pre_candidature").exists()


def test_hopen_today_validation_is_refused_with_the_date_and_the_section_nothing_written(ami_world, ami_input):
    """§5.3.2: a draft saved in 2019 cannot be filed today, by the director nor by the GHT support."""
    t = ami_world
    pre = save_draft(establishment=t.member, data=ami_input(), by=t.editor)
    with pytest.raises(WindowClosed) as excinfo:
        pre_candidature_validate(pre_candidature=pre, by=t.director)
    assert "clos depuis le 31/12/2021" in excinfo.value.message and "§5.3.2" in excinfo.value.message
    pre.refresh_from_db()
    assert (pre.status, pre.validated_at) == (FilingStatus.DRAFT, None)
    assert not AuditRecord.objects.filter(action="pre_candidature.validate").exists()

    pre = pre_candidature_validate(pre_candidature=pre, by=t.director, now=ON_TIME)
    assert pre.status == FilingStatus.AWAITING_SUPPORT
    with pytest.raises(WindowClosed, match="31/12/2021"):
        pre_candidature_validate_as_support(pre_candidature=pre, by=t.ght_director)
    pre.refresh_from_db()
    assert pre.status == FilingStatus.AWAITING_SUPPORT
    assert not AuditRecord.objects.filter(action="pre_candidature.validate_as_support").exists()


# --- Boundaries of HOP'EN's windows ---------------------------------------------------------------------------------


def test_5_3_2_boundaries_last_day_on_time_next_day_late_day_after_the_late_window_refused(ami_world, ami_input):
    """« au plus tard le 30 juin 2019 » (day included): on time; 01/07/2019: late; « jusqu'au 31/12/2021 »
    included: late; 01/01/2022: refused, for the draft and the filing alike."""
    t = ami_world
    last_day, next_day = at(datetime.date(2019, 6, 30)), at(datetime.date(2019, 7, 1))
    late_last, after = at(datetime.date(2021, 12, 31)), at(datetime.date(2022, 1, 1))

    pre = save_draft(establishment=t.member, data=ami_input(), by=t.editor, now=last_day)
    pre = pre_candidature_validate(pre_candidature=pre, by=t.director, now=last_day)
    pre = pre_candidature_validate_as_support(pre_candidature=pre, by=t.ght_director, now=last_day)
    assert (pre.status, pre.is_late) == (FilingStatus.FILED, False)

    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.clinic)
    pre = save_draft(establishment=t.clinic, data=ami_input(), by=director, now=next_day)
    pre = pre_candidature_validate(pre_candidature=pre, by=director, now=next_day)
    assert (pre.status, pre.is_late) == (FilingStatus.FILED, True)

    foreign_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    pre = save_draft(establishment=t.foreign, data=ami_input(), by=foreign_director, now=late_last)
    with pytest.raises(WindowClosed, match="clos depuis le 31/12/2021"):
        save_draft(establishment=t.foreign, data=ami_input(position="planned"), by=foreign_director, now=after)
    with pytest.raises(WindowClosed, match="clos depuis le 31/12/2021"):
        pre_candidature_validate(pre_candidature=pre, by=foreign_director, now=after)
    pre = pre_candidature_validate(pre_candidature=pre, by=foreign_director, now=late_last)
    assert (pre.status, pre.is_late, pre.position) == (FilingStatus.FILED, True, "final")


# --- The tab says it up front ---------------------------------------------------------------------------------------


def test_hopen_today_the_tab_shows_the_closed_banner_and_disabled_actions_before_any_typing(client, ami):
    """§5.3.2: the establishment learns that the AMI is closed when it opens the tab, not at the director's last
    click: banner, read-only form with no semester offered, disabled buttons with the reason."""
    save_draft(establishment=ami.clinic, data=_hopen_input(), by=ami.clinic_editor)
    client.force_login(ami.clinic_editor)
    page = text_of(client.get(tab_url(ami.clinic)))
    banner = page.split('id="fenetre-depot"')[1].split("</div>")[0]
    assert 'data-state="closed"' in banner
    assert (
        "Dépôt des pré-candidatures clos depuis le 31/12/2021 (Instruction, §5.3.2) : la pré-candidature ne peut plus "
        "être déposée ni modifiée." in banner
    )
    assert page.index('id="fenetre-depot"') < page.index('id="formulaire-ami"')
    assert re.search(r'<button[^>]*id="enregistrer"[^>]*disabled', page)
    assert 'id="enregistrer-fermeture"' in page
    assert re.search(r'<input type="text" name="referent_name"[^>]*disabled', page)
    assert re.search(r'<select name="D2_semester"[^>]*disabled', page)
    assert select_options(page, "D1_semester") == []  # no semester offered while closed
    assert select_options(page, "D2_semester") == ["2021 S1"]  # the saved choice is still shown
    assert "Claire Martin" in page

    client.force_login(ami.clinic_director)
    page = text_of(client.get(tab_url(ami.clinic)))
    assert re.search(r'<button[^>]*id="valider"[^>]*disabled[^>]*aria-describedby="validation-fermeture"', page)
    assert 'name="action" value="validate"' not in page
    assert "clos depuis le 31/12/2021" in page.split('id="validation-fermeture"')[1].split("</p>")[0]


def test_hopen_today_the_support_queue_shows_the_closed_window_and_a_disabled_validation(client, ami):
    """§5.3.2: the GHT support director's validation files the pre-candidature — refused outside the window, which
    the queue says before the click."""
    pre = save_draft(establishment=ami.member, data=_hopen_input(), by=ami.editor)
    pre_candidature_validate(pre_candidature=pre, by=ami.director, now=ON_TIME)
    client.force_login(ami.ght_director)
    page = text_of(client.get(reverse("ami:support_queue")))
    assert "clos depuis le 31/12/2021 (Instruction, §5.3.2)" in page.split('id="fenetre-depot"')[1].split("</div>")[0]
    waiting = page.split('id="en-attente"')[1].split("</table>")[0]
    assert ami.member.name in waiting and "disabled" in waiting and 'name="pre_candidature"' not in waiting


def test_hopen_today_a_save_posted_anyway_is_refused_with_the_form_error_nothing_written(client, ami):
    client.force_login(ami.clinic_editor)
    response = client.post(tab_url(ami.clinic), form_data())
    assert response.status_code == 409
    error = text_of(response).split('id="erreur-action"')[1].split("</div>")[0]
    assert "Enregistrement de la pré-candidature refusé" in error and "31/12/2021" in error and "§5.3.2" in error
    assert not PreCandidature.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="pre_candidature").exists()


def test_late_window_banner_says_the_filing_will_be_flagged_late(client, ami):
    """§5.3.2 « Exceptionnellement, […] jusqu'au 31/12/2021 »: inside the late window the tab says so up front."""
    client.force_login(ami.clinic_editor)
    with mock.patch(NOW, return_value=at(datetime.date(2020, 3, 1))):
        page = text_of(client.get(tab_url(ami.clinic)))
    client.force_login(ami.clinic_editor)
    banner = page.split('id="fenetre-depot"')[1].split("</div>")[0]
    assert 'data-state="late"' in banner
    assert "Dépôt tardif ouvert jusqu'au 31/12/2021 inclus (Instruction, §5.3.2) : la pré-candidature sera signalée tardive." in banner
    # the semesters offered are those of the range from the current one (2020 S1) on
    assert select_options(page, "D1_semester") == semesters_between("2020 S1", "2022 S2")
    assert not re.search(r'<button[^>]*id="enregistrer"[^>]*disabled', page)


def test_a_past_semester_posted_to_the_tab_is_refused(client, ami):
    """Annex 5 choices are offered from the current semester on: on 01/03/2020, « 2019 S2 » is past."""
    client.force_login(ami.clinic_editor)
    with mock.patch(NOW, return_value=at(datetime.date(2020, 3, 1))):
        response = client.post(tab_url(ami.clinic), form_data(D2_semester="2019 S2"))
    client.force_login(ami.clinic_editor)
    assert response.status_code == 400
    assert "D2 : semestre « 2019 S2 » passé : choisissez entre 2020 semestre 1 et 2022 semestre 2." in text_of(response)
    assert not PreCandidature.objects.exists()


# --- The demonstration campaign, open today -------------------------------------------------------------------------


def _next(semester: str) -> str:
    year, half = int(semester[:4]), int(semester[-1])
    return f"{year} S2" if half == 1 else f"{year + 1} S1"


def test_demo_campaign_files_today_on_the_page_and_its_ars_lists_it_under_that_programme_only(
    client, ami, demo_programme
):
    """The demonstration campaign (AMI open until 31/03/2027) on the same code: the editor saves, the director
    validates today; the ARS of the region lists it under DEMO2026, not under HOP'EN; semesters start now."""
    current = semester_of(timezone.localdate())
    client.force_login(ami.clinic_editor)
    response = client.get(tab_url(ami.clinic), {"programme": DEMO})
    page = text_of(response)
    assert "Campagne de démonstration 2026–2028 (fictive), appel à manifestation d'intérêt" in page
    banner = page.split('id="fenetre-depot"')[1].split("</div>")[0]
    assert 'data-state="on_time"' in banner and "ouvert jusqu'au 31/03/2027 inclus" in banner
    offered = select_options(page, "D1_semester")
    assert offered[0] == current and offered[-1] == "2028 S2"
    assert select_options(page, "hopen_prerequisites_forecast")[0] == current

    data = form_data(
        hn_prerequisites_forecast=current, hopen_prerequisites_forecast=_next(current),
        D2_semester=current, D3_semester=_next(current),
    )
    response = client.post(f"{tab_url(ami.clinic)}?programme={DEMO}", data)
    assert response.status_code == 302, text_of(response)
    pre = PreCandidature.objects.get(establishment=ami.clinic)
    assert pre.programme == demo_programme and pre.domains.count() == 2

    client.force_login(ami.clinic_director)
    response = client.post(f"{tab_url(ami.clinic)}?programme={DEMO}", {"action": "validate"})
    assert response.status_code == 302
    pre.refresh_from_db()
    assert (pre.status, pre.is_late) == (FilingStatus.FILED, False)

    client.force_login(ami.ars_a)
    listed = client.get(reverse("ami:ars_list"), {"programme": DEMO})
    assert [row["pre_candidature"].pk for row in listed.context["rows"]] == [pre.pk]
    assert "Campagne de démonstration 2026–2028 (fictive)" in text_of(listed)
    hopen = client.get(reverse("ami:ars_list"), {"programme": "HOPEN"})
    assert hopen.context["rows"] == []
    client.force_login(ami.ars_b)
    assert client.get(reverse("ami:ars_list"), {"programme": DEMO}).context["rows"] == []


# --- API -----------------------------------------------------------------------------------------------------------


def test_api_write_on_a_closed_window_answers_400_with_detail_and_reasons_nothing_written(ami_world, ami_input):
    """Bad input of the issue: « a write on a closed window answers 400 (API) […] with the date and the section;
    nothing is written »."""
    t = ami_world
    response = token_client(t.editor).put(ami_url(t.member), PAYLOAD, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "31/12/2021" in body["detail"] and "§5.3.2" in body["detail"]
    assert body["reasons"] == [{
        "code": "window_closed:late-candidature-deadline",
        "section": "Instruction, §5.3.2",
        "message": "Dépôt des candidatures tardives : clos depuis le 31/12/2021 (Instruction, §5.3.2).",
    }]
    assert not PreCandidature.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="pre_candidature").exists()

    save_draft(establishment=t.member, data=ami_input(), by=t.editor)
    response = token_client(t.director).post(validate_url(t.member))
    assert response.status_code == 400 and response.json()["reasons"][0]["section"] == "Instruction, §5.3.2"
    assert PreCandidature.objects.get().status == FilingStatus.DRAFT


def test_api_writes_on_the_demo_campaign_today_with_the_programme_parameter(ami_world, demo_programme):
    t = ami_world
    current = semester_of(timezone.localdate())
    payload = {
        **PAYLOAD, "hn_prerequisites_forecast": current, "hopen_prerequisites_forecast": current,
        "domains": [{"domain_code": "D2", "forecast_semester": current, "priority": 1}],
    }
    response = token_client(t.editor).put(f"{ami_url(t.member)}?programme={DEMO}", payload, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["programme"] == DEMO
    response = token_client(t.director).post(f"{validate_url(t.member)}?programme={DEMO}")
    assert response.status_code == 200 and response.json()["filing_status"] == "awaiting_support"
    # HOP'EN's pre-candidature of the same establishment is another one, untouched
    assert token_client(t.editor).get(ami_url(t.member)).json()["id"] is None
    assert PreCandidature.objects.get().programme == demo_programme
    assert token_client(t.editor).get(f"{ami_url(t.member)}?programme=NOPE").status_code == 404


def _hopen_input():
    return PreCandidatureInput(
        position="final", hn_prerequisites_reached=True, hopen_prerequisites_forecast="2020 S2",
        domains=[DomainChoice("D2", "2021 S1", 1)], referent_name="Claire Martin",
    )

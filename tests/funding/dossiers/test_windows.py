"""The programme's windows on the dossiers (instruction §5.3.2 « Etape 2 », §5.3.1), asked of `indicators.windows` by
the services and shown up front by the pages: dossier filing (creation, initialisation request, transmission) only
within the programme's dossier window — HOP'EN's closed on 31/12/2021 —, target deadlines within its usage-target
window (« avant le 1er janvier 2023 »); and a second programme (the demonstration campaign, open today) working
through the same code, scoped by `?programme=`."""

import datetime
import html
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from funding.deadlines.sweep import run_deadlines
from funding.dossiers import services
from funding.dossiers.rules import DomainInput
from funding.models import DeadlineEvent, Dossier, DossierStatus
from hopen.models import AuditRecord
from indicators import windows
from indicators.models import IndicatorValue
from tests.factories import attainment_synced
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, hopen_programme
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    GROUPS,
    NOW,
    PREREQUISITES,
    domains,
    preselect,
    world,
)
from tests.indicators.conftest import indicator

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
CREATE = reverse("funding:dossier_create")
LIST = reverse("funding:dossier_list")


def at(day, hour=10):
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def detail(dossier):
    return reverse("funding:dossier_detail", args=[dossier.reference])


def counts():
    return Dossier.objects.count(), AuditRecord.objects.count()


# --- HOP'EN today: the dossier window closed on 31/12/2021 (§5.3.2) ---------------------------------------------------


def test_hopen_today_dossier_creation_is_refused_with_the_closing_date_and_section_nothing_written(world):
    """§5.3.2: HOP'EN's candidatures are transmitted « jusqu'au 31/12/2021 »; today a creation is refused, with the
    date and the section, and neither the dossier nor an audit record is written."""
    t = world
    before = counts()
    with pytest.raises(windows.WindowClosed) as refused:
        services.dossier_create(
            programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_editor,
        )
    assert "31/12/2021" in refused.value.message and "§5.3.2" in refused.value.message
    assert refused.value.extra["reasons"][0]["code"] == "window_closed:dossier-filing"
    assert counts() == before


def test_an_initialisation_request_is_a_filing_refused_outside_the_window(world):
    """§5.3.2: asking the ARS to initialise a dossier is filing it: refused after 31/12/2021, nothing written."""
    t = world
    before = counts()
    with pytest.raises(windows.WindowClosed, match="31/12/2021"):
        services.dossier_request_initialisation(
            programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_editor,
        )
    assert counts() == before


def test_creation_is_refused_before_the_window_opens_and_accepted_on_its_first_day(world):
    """§5.3.2: Étape 2 opens « à partir du second semestre 2019 » (01/07/2019)."""
    t = world
    with pytest.raises(windows.WindowClosed, match="ouvre le 01/07/2019"):
        services.dossier_create(
            programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_editor,
            now=at(datetime.date(2019, 6, 30)),
        )
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_editor,
        now=at(datetime.date(2019, 7, 1)),
    )
    assert dossier.reference.startswith("HOPEN-32-2019-")


def test_transmission_is_accepted_on_the_last_day_of_the_window_and_refused_the_day_after(world):
    """§5.3.2 « jusqu'au 31/12/2021 »: transmitted on 31/12/2021 (the last day, included), refused on 01/01/2022."""
    t = world
    late = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", vendors=[t.vendor.pk]),
        by=t.clinic_director, now=NOW,
    )
    with pytest.raises(windows.WindowClosed) as refused:
        services.dossier_transmit(dossier=late, by=t.clinic_director, now=at(datetime.date(2022, 1, 1), hour=0))
    assert "clos depuis le 31/12/2021" in refused.value.message and "§5.3.2" in refused.value.message
    late.refresh_from_db()
    assert late.status == DossierStatus.DRAFT and late.transmitted_at is None
    assert not AuditRecord.objects.filter(action="dossier.transmit").exists()
    dossier = services.dossier_transmit(dossier=late, by=t.clinic_director, now=at(datetime.date(2021, 12, 31), hour=23))
    assert dossier.status == DossierStatus.TRANSMITTED


def test_a_target_deadline_after_the_usage_target_window_is_refused_at_creation(world):
    """§5.3.1: the usage targets are reached « avant le 1er janvier 2023 »: a domain's target deadline of 31/12/2022
    is accepted, 01/01/2023 refused with the date and the section, nothing written."""
    t = world
    before = counts()
    with pytest.raises(Exception) as refused:
        services.dossier_create(
            programme=hopen_programme(), establishment=t.clinic, by=t.clinic_editor, now=NOW,
            domains=domains("D2", deadline=datetime.date(2023, 1, 1)),
        )
    message = refused.value.message
    assert "01/01/2023" in message and "31/12/2022" in message and "Instruction, §5.3.1" in message
    assert refused.value.extra["errors"]["D2"] == [message]
    assert counts() == before
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, by=t.clinic_editor, now=NOW,
        domains=domains("D2", deadline=datetime.date(2022, 12, 31)),
    )
    assert dossier.domains.get().target_deadline == datetime.date(2022, 12, 31)


def test_the_api_answers_400_with_detail_and_reasons_when_the_window_is_closed(world):
    """§5.3.2: a write on a closed window answers 400 `{"detail", "reasons"}`; nothing is written."""
    t = world
    client = APIClient()
    client.force_authenticate(t.clinic_director)
    before = counts()
    response = client.post("/api/v1/dossiers/", {
        "establishment": t.clinic.finess,
        "domains": [{"domain_code": "D2", "target_deadline": "2022-06-30", "vendors": [t.vendor.pk]}],
    }, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "31/12/2021" in body["detail"] and "§5.3.2" in body["detail"]
    assert body["reasons"] == [{
        "code": "window_closed:dossier-filing", "section": "Instruction, §5.3.2",
        "message": "Dépôt des dossiers de candidature (Étape 2) : clos depuis le 31/12/2021 (Instruction, §5.3.2).",
    }]
    assert counts() == before


def test_the_dossier_form_shows_the_closed_window_and_disables_the_button(client, world):
    """§5.3.2: the page says before any typing that the filing closed on 31/12/2021, and the button is disabled with
    its reason."""
    t = world
    client.force_login(t.clinic_director)
    page = client.get(CREATE, {"finess": t.clinic.finess}).content.decode()
    assert 'data-testid="filing-banner" data-open="false"' in page
    assert "Dépôt des dossiers clos depuis le 31/12/2021 (Instruction, §5.3.2)" in page
    button = page.split('data-testid="create-dossier"', 1)[1].split(">", 1)[0]
    assert "disabled" in button
    assert 'data-testid="create-disabled-reason"' in page


def test_the_dossier_form_shows_the_open_window(client, world, hopen_filing_open):
    t = world
    client.force_login(t.clinic_director)
    page = html.unescape(client.get(CREATE, {"finess": t.clinic.finess}).content.decode())
    last_day = timezone.localdate() + datetime.timedelta(days=730)
    assert f"Dépôt des dossiers ouvert jusqu'au {last_day:%d/%m/%Y}" in page
    assert "disabled" not in page.split('data-testid="create-dossier"', 1)[1].split(">", 1)[0]


def test_the_transmit_button_of_a_draft_is_disabled_with_the_reason_once_the_window_closed(client, world):
    t = world
    draft = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", vendors=[t.vendor.pk]),
        by=t.clinic_director, now=NOW,
    )
    client.force_login(t.clinic_director)
    page = client.get(detail(draft)).content.decode()
    assert "Dépôt des dossiers clos depuis le 31/12/2021 (Instruction, §5.3.2)" in page
    assert "disabled" in page.split('data-testid="transmit-dossier"', 1)[1].split(">", 1)[0]
    assert 'data-testid="transmit-dossier-disabled-reason"' in page
    response = client.post(detail(draft), {"action": "transmit"})
    assert response.status_code == 400 and "31/12/2021" in response.content.decode()


# --- The demonstration campaign, open today, through the same code ------------------------------------------------


def declare_on(programme_code, establishment, code, *, reached, by):
    ind = indicator(code, programme_code)
    fields = {"kind": ind.target_kind}
    if ind.target_kind == "rate":
        fields |= {"numerator": 100 if reached else 0, "denominator": 100}
    else:
        fields |= {"exists": reached}
    return attainment_synced(IndicatorValue.objects.create(
        establishment=establishment, indicator=ind, measured_on=timezone.localdate() - datetime.timedelta(days=10),
        status="declared", created_by=by, declared_by=by, declared_at=timezone.now(), **fields,
    ))


@pytest.fixture
def campaign(world, demo_programme):
    """The clinic eligible on the demonstration campaign's own catalogue (§5.3.1: its values are declared on it)."""
    t = world
    for code in PREREQUISITES:
        declare_on("DEMO2026", t.clinic, code, reached=True, by=t.clinic_director)
    for code in GROUPS["D2"]:
        declare_on("DEMO2026", t.clinic, code, reached=False, by=t.clinic_director)
    preselect(t.clinic, "D2", programme=demo_programme)  # §5.3.2: the campaign's AMI pre-selected D2
    return demo_programme


def test_a_dossier_of_the_demo_campaign_is_created_and_transmitted_today(world, campaign):
    """The campaign's dossier window is open today (01/10/2026–30/06/2028): the same services create and transmit the
    dossier, with the campaign's grid and catalogue; its reference names the campaign."""
    t = world
    deadline = datetime.date(2028, 12, 31)  # « avant le 01/01/2029 »
    dossier = services.dossier_create(
        programme=campaign, establishment=t.clinic, by=t.clinic_director,
        domains=[DomainInput(code="D2", target_deadline=deadline, vendors=[t.vendor.pk])],
    )
    assert dossier.reference.startswith(f"DEMO2026-32-{timezone.localdate().year}-")
    assert dossier.domains.get().total_amount > Decimal("0")
    dossier = services.dossier_transmit(dossier=dossier, by=t.clinic_director)
    assert dossier.status == DossierStatus.TRANSMITTED and dossier.programme == campaign
    with pytest.raises(Exception, match="31/12/2028"):
        services.dossier_create(
            programme=campaign, establishment=t.clinic, by=t.clinic_director,
            domains=[DomainInput(code="D3", target_deadline=datetime.date(2029, 1, 1))],
        )


def test_the_dossier_list_shows_the_dossiers_of_the_programme_in_the_url_only(client, world, demo_programme):
    t = world
    hopen = DossierFactory(establishment=t.clinic, reference="HOPEN-32-2020-09999")
    DossierDomainFactory(dossier=hopen)
    demo = DossierFactory(establishment=t.clinic, programme=demo_programme, reference="DEMO2026-32-2026-09999")
    DossierDomainFactory(dossier=demo)
    client.force_login(t.clinic_director)
    page = client.get(LIST, {"programme": "DEMO2026"}).content.decode()
    assert "DEMO2026-32-2026-09999" in page and "HOPEN-32-2020-09999" not in page
    page = client.get(LIST, {"programme": "HOPEN"}).content.decode()
    assert "HOPEN-32-2020-09999" in page and "DEMO2026-32-2026-09999" not in page
    api = APIClient()
    api.force_authenticate(t.clinic_director)
    listed = api.get("/api/v1/dossiers/", {"programme": "DEMO2026"}).json()["results"]
    assert [d["reference"] for d in listed] == ["DEMO2026-32-2026-09999"]


def test_the_sweep_handles_every_programme_with_its_own_delays(world, demo_programme):
    """Annex 4 §1: a dossier of each programme undecided four months after its transmission is refused by the same
    sweep, each with its programme's delay."""
    t = world
    hopen = DossierFactory(establishment=t.clinic, status="transmitted", transmitted_at=at(datetime.date(2026, 7, 1)))
    DossierDomainFactory(dossier=hopen)
    demo = DossierFactory(
        establishment=t.foreign, programme=demo_programme, status="transmitted",
        transmitted_at=at(datetime.date(2026, 7, 2)),
    )
    DossierDomainFactory(dossier=demo)
    results = run_deadlines(datetime.date(2026, 11, 2))  # 01/07 + 4 months = 01/11: refused the day after
    assert results["silence_refusals"]["dossiers"] == 1
    results = run_deadlines(datetime.date(2026, 11, 3))
    assert results["silence_refusals"]["dossiers"] == 1
    hopen.refresh_from_db(), demo.refresh_from_db()
    assert (hopen.status, demo.status) == (DossierStatus.REFUSED, DossierStatus.REFUSED)
    # Each programme has its own annual report reminder (annex 4 §3).
    run_deadlines(datetime.date(2027, 1, 20))
    keys = set(DeadlineEvent.objects.filter(kind="annual_report_reminder").values_list("key", flat=True))
    assert {key.split(":")[1] for key in keys} == {"HOPEN", "DEMO2026"}

"""The work queues (« À faire ») of each role's home (`hopen.work_queues`): what waits, counted within the user's
scope, with links and deadlines (§5.3.1, §5.3.2, annex 2 §2, annex 4 §1 and §3), in a constant number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ami.models import FilingStatus, PreCandidature, PreCandidatureDomain
from funding.dossiers.models import DomainStatus, DossierStatus
from funding.models import DossierDomainShare
from hopen import work_queues
from hopen.selectors import establishments_held_by
from indicators.models import Programme
from indicators.services import value_declare, value_save_draft
from tests.factories import EstablishmentFactory, user_with_role
from tests.factories_dossiers import DossierDomainFactory, DossierFactory
from tests.indicators.conftest import existence, indicator, rate

TODAY = datetime.date(2026, 2, 9)


def at(day: datetime.date, hour=10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.timezone.utc)


def queue_of(user, today=TODAY):
    return work_queues.work_queue_of(
        user, list(establishments_held_by(user)), Programme.objects.get(code="HOPEN"), today=today
    )


def lines(user, today=TODAY) -> dict:
    return {task.code: task for task in queue_of(user, today).tasks}


def pre_candidature(establishment, status=FilingStatus.DRAFT, *, domains=("D2",)):
    filed = status == FilingStatus.FILED
    pc = PreCandidature.objects.create(
        establishment=establishment, programme=Programme.objects.get(code="HOPEN"), status=status,
        validated_at=at(TODAY) if status != FilingStatus.DRAFT else None, filed_at=at(TODAY) if filed else None,
    )
    for priority, code in enumerate(domains, start=1):
        PreCandidatureDomain.objects.create(pre_candidature=pc, domain_code=code, forecast_semester="2027 S1", priority=priority)
    return pc


# --- Editor → director hand-off (§5.3.1) ------------------------------------------------------------------------------


def test_a_draft_entered_by_the_editor_waits_for_the_director_then_a_missing_document_is_flagged(tenants, catalogue):
    """§5.3.1: the editor enters, the director declares; a declared prerequisite needs its justificatory documents."""
    value = value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(95, 100), by=tenants.editor)

    editor, director = lines(tenants.editor), lines(tenants.director)
    assert editor["values_draft"].count == 1
    assert "à déclarer par la direction" in editor["values_draft"].label
    assert director["values_draft"].count == 1 and "par la direction" not in director["values_draft"].label
    assert director["values_draft"].url == reverse("indicators:dashboard", args=[tenants.member.finess])
    assert "prerequisite_documents" not in director

    value_declare(value=value, by=tenants.director)
    director = lines(tenants.director)
    assert "values_draft" not in director
    assert director["prerequisite_documents"].count == 1
    # Another establishment's users see nothing of it.
    clinic_editor = user_with_role("establishment_editor", establishment=tenants.clinic)
    assert queue_of(clinic_editor).tasks == []


def test_an_editor_without_director_declares_herself(tenants, catalogue):
    """`permissions.can_declare_values`: an establishment without a director account declares through its editor."""
    editor = user_with_role("establishment_editor", establishment=tenants.clinic)
    value_save_draft(establishment=tenants.clinic, indicator=indicator("P1.1"), data=rate(95, 100), by=editor)
    assert lines(editor)["values_draft"].label.endswith("à déclarer")


# --- AMI (§5.3.2 « Etape 1 ») -----------------------------------------------------------------------------------------


def test_the_pre_candidature_goes_from_editor_to_director_to_ght_support(tenants, hopen_filing_open):
    pc = pre_candidature(tenants.member)
    assert "à valider par la direction" in lines(tenants.editor)["ami_to_validate"].label
    director = lines(tenants.director)
    assert director["ami_to_validate"].label == "pré-candidature AMI à valider"
    assert director["ami_to_validate"].url == reverse("ami:tab", args=[tenants.member.finess])

    pc.status, pc.validated_at = FilingStatus.AWAITING_SUPPORT, at(TODAY)
    pc.save()
    assert "ami_to_validate" not in lines(tenants.director)
    support = lines(tenants.ght_director)
    assert support["ami_support"].count == 1 and support["ami_support"].url == reverse("ami:support_queue")


def test_a_pre_candidature_without_domain_is_still_in_preparation(tenants, hopen_filing_open):
    pre_candidature(tenants.member, domains=())
    assert lines(tenants.director)["ami_draft"].label.endswith("aucun domaine choisi")


def test_no_ami_line_once_the_window_is_closed(tenants, catalogue):
    """HOP'EN's AMI closed on 31/12/2021 (§5.3.2): validating is refused, so it is no work to do."""
    pre_candidature(tenants.member)
    assert "ami_to_validate" not in lines(tenants.director, today=datetime.date(2026, 2, 9))


def test_the_ars_sees_the_filed_pre_candidatures_of_its_region_to_decide(tenants, catalogue):
    pre_candidature(tenants.member, FilingStatus.FILED)
    pre_candidature(tenants.foreign, FilingStatus.FILED)
    task = lines(tenants.ars_a)["ami_to_decide"]
    assert task.count == 1
    assert task.url == reverse("ami:ars_list") + "?filing=filed&decision=pending"
    assert lines(tenants.dgos)["ami_to_decide"].count == 2


# --- Dossiers: establishment side (§5.3.2 « Etape 2 », annex 2 §2) ----------------------------------------------------


def test_the_director_transmits_the_dossier_and_records_the_targets(tenants, hopen_filing_open):
    draft = DossierFactory(establishment=tenants.member, status=DossierStatus.DRAFT)
    running = DossierFactory(establishment=tenants.member, status=DossierStatus.IN_PROGRESS, transmitted_at=at(TODAY))
    DossierDomainFactory(dossier=running, status=DomainStatus.SELECTED, target_deadline=TODAY + datetime.timedelta(days=30))

    editor, director = lines(tenants.editor), lines(tenants.director)
    assert "à transmettre par la direction" in editor["dossier_to_transmit"].label
    assert "targets_to_record" not in editor
    assert director["dossier_to_transmit"].label.endswith("à transmettre à l'ARS")
    assert [item.label.split(" — ")[0] for item in director["dossier_to_transmit"].items] == [f"Dossier {draft.reference}"]
    targets = director["targets_to_record"]
    assert targets.count == 1 and not targets.alert
    assert targets.items[0].deadline == TODAY + datetime.timedelta(days=30) and targets.items[0].days_left == 30


# --- Dossiers: ARS side (annex 4 §1, §5.3.2, annex 4 §3) --------------------------------------------------------------


def test_the_ars_sees_each_dossier_with_its_deadline_and_days_left(tenants, catalogue):
    """Annex 4 §1: four months from the transmission; §5.3.2: 1.5 months from the request of initialisation."""
    transmitted = DossierFactory(
        establishment=tenants.member, status=DossierStatus.TRANSMITTED, transmitted_at=at(datetime.date(2026, 1, 10))
    )
    DossierFactory(establishment=tenants.support, status=DossierStatus.UNDER_REVIEW, transmitted_at=at(datetime.date(2025, 10, 1)))
    DossierFactory(
        establishment=tenants.clinic, status=DossierStatus.INITIALISATION_REQUESTED,
        initialisation_requested_at=at(datetime.date(2026, 1, 5)),
    )
    DossierFactory(establishment=tenants.foreign, status=DossierStatus.TRANSMITTED, transmitted_at=at(datetime.date(2026, 1, 10)))

    ars = lines(tenants.ars_a)
    item = ars["dossier_transmitted"].items[0]
    assert ars["dossier_transmitted"].count == 1 and transmitted.reference in item.label
    assert item.deadline == datetime.date(2026, 5, 10) and item.days_left == 90
    assert ars["dossier_transmitted"].url == reverse("funding:dossier_list") + "?status=transmitted"
    review = ars["dossier_under_review"].items[0]
    assert review.deadline == datetime.date(2026, 2, 1) and review.days_left == -8 and ars["dossier_under_review"].alert
    assert review.days_left_label == "dépassée de 8 jours"
    initialisation = ars["dossier_initialisation"].items[0]
    assert initialisation.deadline == datetime.date(2026, 2, 20) and initialisation.days_left == 11
    assert lines(tenants.ars_b)["dossier_transmitted"].count == 1
    assert "dossier_under_review" not in lines(tenants.ars_b)


def test_usage_to_notify_and_overdue_targets(tenants, catalogue):
    """Annex 2 §2: a share whose targets are reached waits for its usage funding; annex 4 §3: a passed target
    deadline is flagged."""
    running = DossierFactory(establishment=tenants.member, status=DossierStatus.IN_PROGRESS, transmitted_at=at(TODAY))
    late = DossierDomainFactory(dossier=running, domain_code="D1", status=DomainStatus.SELECTED,
                                target_deadline=TODAY - datetime.timedelta(days=3))
    reached = DossierDomainFactory(dossier=running, domain_code="D2", status=DomainStatus.TARGETS_REACHED)
    DossierDomainShare.objects.filter(domain=reached).update(targets_reached_at=at(TODAY))

    ars = lines(tenants.ars_a)
    assert ars["usage_ready"].count == 1 and "D2" in ars["usage_ready"].items[0].label
    assert ars["targets_overdue"].count == 1 and ars["targets_overdue"].alert
    assert ars["targets_overdue"].items[0].deadline == late.target_deadline
    director = lines(tenants.director)
    assert director["targets_to_record"].alert and director["targets_to_record"].items[0].days_left == -3
    assert "usage_ready" not in lines(tenants.ars_b)
    national = lines(tenants.dgos)
    assert national["targets_overdue"].count == 1 and national["targets_overdue"].items == ()


# --- Pages and queries ----------------------------------------------------------------------------------------------


def _arrange_ars_work(tenants, n):
    for _ in range(n):
        member = EstablishmentFactory(region=tenants.region_a)
        DossierFactory(establishment=member, status=DossierStatus.TRANSMITTED, transmitted_at=at(TODAY))
        DossierFactory(establishment=member, status=DossierStatus.UNDER_REVIEW, transmitted_at=at(TODAY))
        DossierFactory(establishment=member, status=DossierStatus.INITIALISATION_REQUESTED, initialisation_requested_at=at(TODAY))
        running = DossierFactory(establishment=member, status=DossierStatus.IN_PROGRESS, transmitted_at=at(TODAY))
        DossierDomainFactory(dossier=running, domain_code="D1", status=DomainStatus.SELECTED)
        reached = DossierDomainFactory(dossier=running, status=DomainStatus.TARGETS_REACHED)
        DossierDomainShare.objects.filter(domain=reached).update(targets_reached_at=at(TODAY))
        pre_candidature(member, FilingStatus.FILED)


def _home_queries(client, user) -> int:
    client.force_login(user)
    client.get(reverse("home"))  # warm-up: the session's expiry and the per-process site configuration
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("n", [1, 12])
def test_the_ars_home_costs_a_constant_number_of_queries(client, tenants, catalogue, n, django_assert_max_num_queries):
    _arrange_ars_work(tenants, n)
    client.force_login(tenants.ars_a)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("home"))
    text = response.content.decode()
    assert f'data-task="dossier_transmitted" data-count="{n}"' in text
    assert f'data-task="usage_ready" data-count="{n}"' in text
    assert f'data-task="ami_to_decide" data-count="{n}"' in text


def test_the_homes_cost_the_same_queries_for_one_object_and_many(client, tenants, hopen_filing_open):
    _arrange_ars_work(tenants, 1)
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(95, 100), by=tenants.editor)
    DossierFactory(establishment=tenants.member, status=DossierStatus.DRAFT)
    pre_candidature(tenants.member)
    counts_one = {u: _home_queries(client, getattr(tenants, u)) for u in ("ars_a", "director", "ght_director", "dgos")}
    _arrange_ars_work(tenants, 8)
    for code in ("P1.2", "P1.3", "P2.1"):
        value_save_draft(establishment=tenants.member, indicator=indicator(code),
                         data=rate(9, 10) if indicator(code).target_kind == "rate" else existence(True), by=tenants.editor)
    for _ in range(4):
        DossierFactory(establishment=tenants.member, status=DossierStatus.DRAFT)
    counts_many = {u: _home_queries(client, getattr(tenants, u)) for u in counts_one}
    assert counts_many == counts_one


def test_each_home_shows_its_queue_with_links(client, tenants, hopen_filing_open):
    DossierFactory(establishment=tenants.member, status=DossierStatus.TRANSMITTED, transmitted_at=timezone.now())
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.1"), data=rate(95, 100), by=tenants.editor)
    client.force_login(tenants.ars_a)
    page = client.get(reverse("home")).content.decode()
    assert 'id="a-faire"' in page and "instruction à ouvrir" in page and "jours restants" in page
    client.force_login(tenants.director)
    page = client.get(reverse("home")).content.decode()
    assert reverse("indicators:dashboard", args=[tenants.member.finess]) in page and "à déclarer" in page
    client.force_login(user_with_role("establishment_editor", establishment=tenants.clinic))
    assert "Rien ne vous attend" in client.get(reverse("home")).content.decode()

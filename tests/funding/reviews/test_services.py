"""Project reviews (funding.reviews.services, annex 4 §3 « revues de projet régionales a minima semestrielles »):
who records them, on which dossiers, what a new forecast date changes (the current date, never the initial one),
the audit trail and the notification of the other party; and how a review feeds the dashboard's slipped lists."""

import datetime

import pytest

from tests.factories_dossiers import hopen_programme
from django.core.exceptions import ValidationError
from django.utils import timezone

from funding.dashboard.selectors import dashboard, dashboard_scope
from funding.models import DossierStatus, DomainStatus, ProjectReview, ProjectReviewForecast
from funding.reviews.services import project_review_record
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Notification, Role
from tests.factories import user_with_role
from tests.funding.helpers_dashboard import INITIAL_DEADLINE, INITIAL_PREREQUISITES, domain, dossier_in_progress

pytestmark = pytest.mark.django_db
HELD_ON = datetime.date(2020, 6, 15)
LATER = datetime.date(2021, 3, 31)


@pytest.fixture
def project(tenants, catalogue):  # the programme's calendar bounds a re-forecast target deadline (§5.3.1)
    dossier = dossier_in_progress(tenants.member)
    d1 = domain(dossier, "D1")
    d2 = domain(dossier, "D2")
    return dossier, d1, d2


def record(dossier, by, **overrides):
    arguments = dict(
        dossier=dossier, held_on=HELD_ON, participants="ARS : Mme Martin\nCH Membre : M. Durand (DSI)",
        notes="Retard du déploiement du DPI.", prerequisites_forecast=LATER, domain_deadlines={}, by=by,
    )
    arguments.update(overrides)
    return project_review_record(**arguments)


def test_ars_records_a_review_with_new_forecast_dates(tenants, project):
    dossier, d1, d2 = project
    new_deadline = datetime.date(2022, 12, 31)
    review = record(dossier, tenants.ars_a, domain_deadlines={d1.pk: new_deadline, d2.pk: INITIAL_DEADLINE})
    dossier.refresh_from_db(), d1.refresh_from_db(), d2.refresh_from_db()
    assert (review.held_on, review.prerequisites_forecast, review.recorded_by) == (HELD_ON, LATER, tenants.ars_a)
    assert "M. Durand" in review.participants
    assert (dossier.prerequisites_forecast, dossier.prerequisites_forecast_initial) == (LATER, INITIAL_PREREQUISITES)
    assert (d1.target_deadline, d1.target_deadline_initial) == (new_deadline, INITIAL_DEADLINE)
    assert d2.target_deadline == INITIAL_DEADLINE
    # Only the changed deadline is kept on the review, with the date it replaces.
    assert list(ProjectReviewForecast.objects.values_list("domain__domain_code", "previous_deadline", "target_deadline")) == [
        ("D1", INITIAL_DEADLINE, new_deadline)
    ]


def test_a_reforecast_target_deadline_is_bounded_by_the_usage_target_window(tenants, project):
    """§5.3.1 « avant le 1er janvier 2023 » (HOP'EN): at a review, 31/12/2022 is accepted, 01/01/2023 refused with its
    date and its section, and nothing is written; a date before the review is refused too."""
    dossier, d1, _ = project
    with pytest.raises(ValidationError) as refused:
        record(dossier, tenants.ars_a, domain_deadlines={d1.pk: datetime.date(2023, 1, 1)})
    (message,) = refused.value.message_dict["domain_deadlines"]
    assert "01/01/2023" in message and "31/12/2022" in message and "Instruction, §5.3.1" in message
    assert not ProjectReview.objects.exists()
    with pytest.raises(ValidationError, match="antérieure à la revue du 15/06/2020"):
        record(dossier, tenants.ars_a, domain_deadlines={d1.pk: datetime.date(2020, 6, 14)})
    record(dossier, tenants.ars_a, domain_deadlines={d1.pk: datetime.date(2022, 12, 31)})
    d1.refresh_from_db()
    assert d1.target_deadline == datetime.date(2022, 12, 31)


def test_review_is_audited_with_the_dates_before_and_after(tenants, project):
    dossier, d1, _ = project
    review = record(dossier, tenants.ars_a, domain_deadlines={d1.pk: datetime.date(2022, 11, 30)})
    created = AuditRecord.objects.get(action="project_review.record", object_id=str(review.pk))
    assert created.changes["held_on"] == [None, "2020-06-15"]
    updates = {
        (r.object_type, r.object_id): r.changes for r in AuditRecord.objects.filter(action="project_review.forecast_update")
    }
    assert updates[("funding.dossier", str(dossier.pk))] == {"prerequisites_forecast": ["2020-06-30", "2021-03-31"]}
    assert updates[("funding.dossierdomain", str(d1.pk))] == {"target_deadline": ["2022-06-30", "2022-11-30"]}
    assert all(r.actor == tenants.ars_a for r in AuditRecord.objects.filter(action__startswith="project_review."))


def test_ars_review_notifies_the_establishment(tenants, project, django_capture_on_commit_callbacks):
    dossier, _, _ = project
    with django_capture_on_commit_callbacks() as callbacks:
        record(dossier, tenants.ars_a)
    notified = set(Notification.objects.values_list("recipient", flat=True))
    assert {tenants.editor.pk, tenants.director.pk} <= notified
    assert tenants.ars_a.pk not in notified
    message = Notification.objects.filter(recipient=tenants.director).get().message
    assert dossier.reference in message and "prérequis : 30/06/2020 → 31/03/2021" in message
    assert len(callbacks) == 1  # the e-mail goes out after commit


def test_establishment_review_notifies_the_ars(tenants, project):
    dossier, _, _ = project
    record(dossier, tenants.director, prerequisites_forecast=None)
    assert Notification.objects.filter(recipient=tenants.ars_a).count() == 1
    assert not Notification.objects.filter(recipient=tenants.ars_b).exists()
    assert not Notification.objects.filter(recipient=tenants.director).exists()
    assert "Dates prévisionnelles inchangées" in Notification.objects.get(recipient=tenants.ars_a).message
    dossier.refresh_from_db()
    assert dossier.prerequisites_forecast == INITIAL_PREREQUISITES  # None: not discussed, unchanged


def test_ght_support_director_records_a_review_of_a_ght_dossier(tenants):
    dossier = dossier_in_progress(tenants.support, ght=tenants.ght)
    review = record(dossier, tenants.ght_director)
    assert review.pk


@pytest.mark.parametrize("role", ["ars_b", "dgos", "auditor", "admin"])
def test_others_may_not_record_a_review(tenants, project, role):
    dossier, _, _ = project
    with pytest.raises(PermissionRefused):
        record(dossier, getattr(tenants, role))
    assert not ProjectReview.objects.exists()


def test_another_establishment_may_not_record_a_review(tenants, project):
    dossier, _, _ = project
    clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    with pytest.raises(PermissionRefused):
        record(dossier, clinic_director)


@pytest.mark.parametrize("status", [DossierStatus.DRAFT, DossierStatus.UNDER_REVIEW, DossierStatus.COMPLETED])
def test_only_dossiers_in_progress_are_reviewed(tenants, status):
    dossier = dossier_in_progress(tenants.member, status=status)
    with pytest.raises(ApplicationError, match="n'est pas en cours"):
        record(dossier, tenants.ars_a)
    assert not ProjectReview.objects.exists()


def test_input_errors_are_reported_by_field(tenants, project):
    dossier, _, _ = project
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        record(dossier, tenants.ars_a, participants="  ", held_on=tomorrow)
    assert set(error.value.message_dict) == {"participants", "held_on"}
    assert not ProjectReview.objects.exists()


def test_a_domain_of_another_dossier_is_refused(tenants, project):
    dossier, _, _ = project
    other = domain(dossier_in_progress(tenants.clinic), "D3")
    with pytest.raises(ValidationError) as error:
        record(dossier, tenants.ars_a, domain_deadlines={other.pk: LATER})
    assert "n'appartient pas au dossier" in str(error.value.message_dict["domain_deadlines"])
    other.refresh_from_db()
    assert other.target_deadline == INITIAL_DEADLINE


def test_a_domain_whose_targets_are_reached_keeps_its_deadline(tenants, project):
    dossier, d1, _ = project
    d1.status = DomainStatus.TARGETS_REACHED
    d1.save()
    with pytest.raises(ValidationError, match="cibles"):
        record(dossier, tenants.ars_a, domain_deadlines={d1.pk: LATER})


def test_a_review_feeds_the_slipped_lists_and_an_earlier_date_leaves_them(tenants, project):
    dossier, d1, _ = project
    scope = dashboard_scope(tenants.ars_a, tenants.region_a.code)
    assert dashboard(tenants.ars_a, scope, programme=hopen_programme()).slipped_prerequisites_count == 0
    record(dossier, tenants.ars_a, domain_deadlines={d1.pk: datetime.date(2022, 9, 30)})
    data = dashboard(tenants.ars_a, scope, programme=hopen_programme())
    assert [d.reference for d in data.slipped_prerequisites] == [dossier.reference]
    assert [d.domain_code for d in data.slipped_targets] == ["D1"]
    record(dossier, tenants.ars_a, prerequisites_forecast=datetime.date(2020, 5, 31),
           domain_deadlines={d1.pk: INITIAL_DEADLINE})
    data = dashboard(tenants.ars_a, scope, programme=hopen_programme())
    assert (data.slipped_prerequisites_count, data.slipped_targets_count) == (0, 0)
    dossier.refresh_from_db()
    assert dossier.prerequisites_forecast_initial == INITIAL_PREREQUISITES


def test_without_an_announced_date_the_first_review_date_is_the_reference(tenants, project):
    dossier, _, _ = project
    dossier.prerequisites_forecast = dossier.prerequisites_forecast_initial = None
    dossier.save()
    scope = dashboard_scope(tenants.ars_a, tenants.region_a.code)

    record(dossier, tenants.ars_a, prerequisites_forecast=datetime.date(2020, 9, 30))
    dossier.refresh_from_db()
    assert dossier.prerequisites_forecast_initial == datetime.date(2020, 9, 30)
    assert dashboard(tenants.ars_a, scope, programme=hopen_programme()).slipped_prerequisites_count == 0

    record(dossier, tenants.ars_a, prerequisites_forecast=LATER)
    assert [d.reference for d in dashboard(tenants.ars_a, scope, programme=hopen_programme()).slipped_prerequisites] == [dossier.reference]

"""The audits' job of the deadline sweep: the reminder before the response deadline, then the auditor told the
audit may be concluded — each once, even run twice."""

import datetime

import pytest

from audits import services
from audits.deadlines import remind_audit_responses
from audits.models import AuditDeadlineEvent
from funding.deadlines.sweep import run_deadlines
from hopen.models import Notification
from tests.factories_dossiers import hopen_programme

from .factories import audit_ready_for_decision, campaign_input, funded_dossier

pytestmark = pytest.mark.django_db
SENT = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)  # due 02/04/2026 (one month)


@pytest.fixture
def audit(world):
    funded_dossier(world.clinic, "D2")
    campaign = services.campaign_create(programme=hopen_programme(), data=campaign_input(), by=world.dgos)
    return audit_ready_for_decision(campaign.audits.get(), auditor=world.auditor, now=SENT)


def test_reminder_a_week_before_then_overdue_each_once(world, audit):
    t = world
    assert audit.response_due_on == datetime.date(2026, 4, 2)
    assert remind_audit_responses(datetime.date(2026, 3, 25)) == {"reminders": 0, "overdue": 0, "notifications": 0}
    first = remind_audit_responses(datetime.date(2026, 3, 26))
    assert (first["reminders"], first["overdue"]) == (1, 0)
    assert Notification.objects.filter(recipient=t.clinic_director, message__contains="au plus tard le 02/04/2026").count() == 1
    assert remind_audit_responses(datetime.date(2026, 3, 27))["reminders"] == 0
    assert remind_audit_responses(datetime.date(2026, 4, 2))["overdue"] == 0  # the deadline day is still open
    overdue = run_deadlines(datetime.date(2026, 4, 3))["audit_responses"]
    assert (overdue["reminders"], overdue["overdue"]) == (0, 1)
    assert Notification.objects.filter(recipient=t.auditor, message__contains="peut être conclu").count() == 1
    assert run_deadlines(datetime.date(2026, 4, 4))["audit_responses"]["overdue"] == 0
    assert AuditDeadlineEvent.objects.count() == 2


def test_no_reminder_once_answered(world, audit):
    services.response_record(audit=audit, text="Réponse", by=world.clinic_director, now=SENT)
    assert remind_audit_responses(datetime.date(2026, 3, 30)) == {"reminders": 0, "overdue": 0, "notifications": 0}

"""AMI services (§5.3.2 « Etape 1 », annex 5): entry, validation, GHT support validation, deadlines, decisions."""

import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from ami.models import Decision, FilingStatus, PreCandidature
from ami.rules import Timeliness, ami_filing_state, priority_errors, semester_in_range, semesters_offered
from ami.services import (
    DomainChoice,
    pre_candidature_comment,
    pre_candidature_decide,
    pre_candidature_of,
    pre_candidature_validate,
    pre_candidature_validate_as_support,
)
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Notification, Role
from indicators.windows import AMI_FILING, AMI_LATE_FILING, Window
from tests.ami.conftest import LATE, ON_TIME, TOO_LATE, hopen_programme, save_draft
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


HOPEN_AMI_WINDOWS = {
    AMI_FILING: Window(AMI_FILING, "Dépôt des pré-candidatures (AMI)", None, datetime.date(2019, 6, 30), "on",
                       "Instruction, §5.3.2 « Etape 1 » : « au plus tard le 30 juin 2019 »"),
    AMI_LATE_FILING: Window(AMI_LATE_FILING, "Dépôt des candidatures tardives", datetime.date(2019, 7, 1),
                            datetime.date(2021, 12, 31), "on", "Instruction, §5.3.2 : « jusqu'au 31/12/2021 »"),
}


def test_5_3_2_filing_deadlines():
    """§5.3.2 « Etape 1 »: « au plus tard le 30 juin 2019 » on time; late « jusqu'au 31/12/2021 »; then refused."""
    def timeliness(day):
        return ami_filing_state(HOPEN_AMI_WINDOWS, day).timeliness

    assert timeliness(datetime.date(2019, 6, 30)) == Timeliness.ON_TIME
    assert timeliness(datetime.date(2019, 7, 1)) == Timeliness.LATE
    assert timeliness(datetime.date(2021, 12, 31)) == Timeliness.LATE
    assert timeliness(datetime.date(2022, 1, 1)) == Timeliness.CLOSED


def test_5_3_2_filing_state_names_the_window_to_cite_and_the_banner():
    """§5.3.2: the state cites the window in force (its last day, its section) — the banner of the tab says it."""
    on_time = ami_filing_state(HOPEN_AMI_WINDOWS, datetime.date(2019, 5, 15))
    assert on_time.is_open and not on_time.is_late
    assert on_time.banner == "Dépôt des pré-candidatures ouvert jusqu'au 30/06/2019 inclus (Instruction, §5.3.2 « Etape 1 »)."
    late = ami_filing_state(HOPEN_AMI_WINDOWS, datetime.date(2020, 3, 1))
    assert late.is_open and late.is_late
    assert late.banner == (
        "Dépôt tardif ouvert jusqu'au 31/12/2021 inclus (Instruction, §5.3.2) : la pré-candidature sera signalée tardive."
    )
    closed = ami_filing_state(HOPEN_AMI_WINDOWS, datetime.date(2026, 12, 5))
    assert not closed.is_open and closed.state.window.code == AMI_LATE_FILING
    assert closed.banner == (
        "Dépôt des pré-candidatures clos depuis le 31/12/2021 (Instruction, §5.3.2) : la pré-candidature ne peut plus "
        "être déposée ni modifiée."
    )
    demo = {
        AMI_FILING: Window(AMI_FILING, "AMI", datetime.date(2026, 9, 1), datetime.date(2027, 3, 31), "on", "Campagne"),
    }
    not_yet = ami_filing_state(demo, datetime.date(2026, 8, 31))
    assert not not_yet.is_open and not_yet.timeliness == Timeliness.NOT_YET_OPEN
    assert "à partir du 01/09/2026" in not_yet.banner
    assert ami_filing_state(demo, datetime.date(2026, 9, 1)).is_open
    assert ami_filing_state(demo, datetime.date(2027, 4, 1)).timeliness == Timeliness.CLOSED  # no late window


def test_annex_5_semesters_offered_are_not_already_past():
    """Annex 5 ranges, from the current semester on: a forecast is never a past semester."""
    assert semesters_offered("2026 S2", "2028 S2", datetime.date(2026, 12, 5)) == [
        "2026 S2", "2027 S1", "2027 S2", "2028 S1", "2028 S2",
    ]
    assert semesters_offered("2026 S2", "2028 S2", datetime.date(2027, 1, 1))[0] == "2027 S1"
    assert semesters_offered("2026 S2", "2028 S2", datetime.date(2027, 6, 30))[0] == "2027 S1"
    assert semesters_offered("2019 S1", "2022 S2", datetime.date(2026, 12, 5)) == []


def test_rules_for_semesters_and_priorities():
    assert semester_in_range("2022 S2", "2019 S1", "2022 S2")
    assert not semester_in_range("2023 S1", "2019 S1", "2022 S2")
    assert priority_errors([2, 1, 3]) == []
    assert priority_errors([1, 1]) and priority_errors([1, 3])


def test_editor_saves_and_every_change_is_audited(tenants, catalogue, ami_input):
    pre = save_draft(establishment=tenants.member, data=ami_input(), by=tenants.editor)
    assert [d.domain_code for d in pre.domains.all()] == ["D2", "D3"]
    save_draft(establishment=tenants.member, data=ami_input(position="planned"), by=tenants.editor)
    records = AuditRecord.objects.filter(action="pre_candidature.save").order_by("id")
    assert records.count() == 2
    assert records[1].changes == {"position": ["final", "planned"]}


@pytest.mark.parametrize("reader", ["ars_a", "dgos", "auditor", "ght_director"])
def test_annex_5_only_the_establishment_writes(tenants, catalogue, ami_input, reader):
    with pytest.raises(PermissionRefused):
        save_draft(establishment=tenants.member, data=ami_input(), by=getattr(tenants, reader))


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"hopen_prerequisites_forecast": "2021 S2"}, "hopen_prerequisites_forecast"),  # range ends 2021 S1
        ({"domains": [DomainChoice("D2", "2023 S1", 1)]}, "domains"),  # range ends 2022 S2
        ({"domains": [DomainChoice("D2", "2021 S1", 1), DomainChoice("D3", "2021 S1", 1)]}, "domains"),
        ({"domains": [DomainChoice("D2", "2021 S1", 1), DomainChoice("D2", "2021 S2", 2)]}, "domains"),
        ({"hn_prerequisites_reached": True, "hn_prerequisites_forecast": "2020 S1"}, "hn_prerequisites_forecast"),
    ],
)
def test_annex_5_choices_are_validated(tenants, catalogue, ami_input, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        save_draft(establishment=tenants.member, data=ami_input(**overrides), by=tenants.editor)
    assert field in excinfo.value.message_dict


def test_director_validates_on_time_independent_establishment_is_filed(tenants, catalogue, ami_input):
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.clinic)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    pre = save_draft(establishment=tenants.clinic, data=ami_input(), by=editor)
    with pytest.raises(PermissionRefused, match="directeur"):
        pre_candidature_validate(pre_candidature=pre, by=editor, now=ON_TIME)
    pre = pre_candidature_validate(pre_candidature=pre, by=director, now=ON_TIME)
    assert (pre.status, pre.is_late, pre.filed_at) == (FilingStatus.FILED, False, ON_TIME)
    assert Notification.objects.filter(recipient=tenants.ars_a).exists()
    with pytest.raises(ApplicationError, match="déjà validée"):
        save_draft(establishment=tenants.clinic, data=ami_input(), by=editor)


def test_ght_member_is_filed_only_after_the_support_validates(tenants, catalogue, ami_input):
    pre = save_draft(establishment=tenants.member, data=ami_input(), by=tenants.editor)
    pre = pre_candidature_validate(pre_candidature=pre, by=tenants.director, now=ON_TIME)
    assert pre.status == FilingStatus.AWAITING_SUPPORT and pre.filed_at is None
    assert Notification.objects.filter(recipient=tenants.ght_director).exists()
    with pytest.raises(PermissionRefused):
        pre_candidature_validate_as_support(pre_candidature=pre, by=tenants.ars_a, now=ON_TIME)
    pre = pre_candidature_validate_as_support(pre_candidature=pre, by=tenants.ght_director, now=LATE)
    assert (pre.status, pre.is_late) == (FilingStatus.FILED, True)


def test_5_3_2_late_filing_is_flagged_and_after_the_late_deadline_refused(tenants, catalogue, ami_input):
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.clinic)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    pre = save_draft(establishment=tenants.clinic, data=ami_input(), by=editor)
    with pytest.raises(ApplicationError, match="clos depuis le 31/12/2021"):
        pre_candidature_validate(pre_candidature=pre, by=director, now=TOO_LATE)
    pre.refresh_from_db()
    assert pre.status == FilingStatus.DRAFT
    with mock.patch("ami.services.timezone.now", return_value=LATE):
        pre = pre_candidature_validate(pre_candidature=pre, by=director)
    assert pre.is_late and pre.status == FilingStatus.FILED


def test_validation_needs_at_least_one_domain(tenants, catalogue, ami_input):
    pre = save_draft(establishment=tenants.member, data=ami_input(domains=[]), by=tenants.editor)
    with pytest.raises(ApplicationError, match="au moins un domaine"):
        pre_candidature_validate(pre_candidature=pre, by=tenants.director, now=ON_TIME)


def _filed(tenants, ami_input):
    pre = save_draft(establishment=tenants.member, data=ami_input(), by=tenants.editor)
    pre = pre_candidature_validate(pre_candidature=pre, by=tenants.director, now=ON_TIME)
    return pre_candidature_validate_as_support(pre_candidature=pre, by=tenants.ght_director, now=ON_TIME)


def test_ars_preselects_some_domains_and_rejects_others_with_a_reason(tenants, catalogue, ami_input):
    pre = _filed(tenants, ami_input)
    d2, d3 = pre.domains.order_by("priority")
    with pytest.raises(ValidationError, match="motif"):
        pre_candidature_decide(domain=d3, decision=Decision.REJECTED, reason=" ", by=tenants.ars_a)
    pre_candidature_decide(domain=d2, decision=Decision.PRESELECTED, reason="", by=tenants.ars_a)
    pre_candidature_decide(domain=d3, decision=Decision.REJECTED, reason="Enveloppe régionale atteinte", by=tenants.ars_a)
    assert dict(pre.domains.values_list("domain_code", "decision")) == {"D2": "preselected", "D3": "rejected"}
    messages = list(Notification.objects.filter(recipient=tenants.editor).values_list("message", flat=True))
    assert any("D3" in m and "Enveloppe régionale atteinte" in m for m in messages)


@pytest.mark.parametrize("user", ["ars_b", "dgos", "director"])
def test_only_the_regions_ars_decides(tenants, catalogue, ami_input, user):
    domain = _filed(tenants, ami_input).domains.first()
    with pytest.raises(PermissionRefused):
        pre_candidature_decide(domain=domain, decision=Decision.PRESELECTED, reason="", by=getattr(tenants, user))


def test_no_decision_before_filing(tenants, catalogue, ami_input):
    pre = save_draft(establishment=tenants.member, data=ami_input(), by=tenants.editor)
    with pytest.raises(ApplicationError, match="pas encore déposée"):
        pre_candidature_decide(domain=pre.domains.first(), decision=Decision.PRESELECTED, reason="", by=tenants.ars_a)


def test_thread_between_establishment_and_ars_notifies_the_other_side(tenants, catalogue, ami_input):
    pre = pre_candidature_of(tenants.member, hopen_programme())
    pre_candidature_comment(pre_candidature=pre, body="Pouvez-vous préciser le planning D3 ?", by=tenants.ars_a)
    assert Notification.objects.filter(recipient=tenants.editor).count() == 1
    pre_candidature_comment(pre_candidature=pre, body="Planning joint.", by=tenants.editor)
    assert Notification.objects.filter(recipient=tenants.ars_a).count() == 1
    with pytest.raises(PermissionRefused):
        pre_candidature_comment(pre_candidature=pre, body="Bonjour", by=tenants.ars_b)
    assert PreCandidature.objects.get(pk=pre.pk).comments.count() == 2

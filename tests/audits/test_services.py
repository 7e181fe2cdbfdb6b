"""The audits' services: campaign and draw (§5.2.1), checklist, findings, contradictory procedure and decision
(annex 4) — closure through the dossiers' closure service and refund claims on the ledger."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from audits import services
from audits.models import Audit, AuditCampaign, AuditLetter, AuditLine, AuditStatus
from envelopes.ledger import balances_of
from envelopes.models import EntryKind, LedgerEntry
from funding.models import DossierStatus
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Notification
from tests.factories import EstablishmentFactory
from tests.factories_dossiers import hopen_programme

from .factories import audit_ready_for_decision, campaign_input, funded_dossier, paid_dossier

pytestmark = pytest.mark.django_db


def nothing_written():
    return (AuditCampaign.objects.count(), Audit.objects.count(), AuditLine.objects.count())


# --- Campaign and draw ------------------------------------------------------------------------------------------------


def test_a_campaign_stores_its_draw_and_generates_each_checklist(world):
    t = world
    for _ in range(3):
        funded_dossier(t.clinic, "D2")
    funded_dossier(t.foreign, "D3")
    campaign = services.campaign_create(
        programme=hopen_programme(), data=campaign_input(size=2, seed=9, strata=["region"]), by=t.dgos
    )
    assert (campaign.population_count, campaign.sample_size, campaign.seed) == (4, 2, 9)
    assert len(campaign.population_fingerprint) == 64
    assert campaign.strata_table == [
        {"key": ["32"], "label": "32", "population": 3, "drawn": 2},
        {"key": ["53"], "label": "53", "population": 1, "drawn": 0},
    ]
    assert campaign.audits.count() == 2
    audit = campaign.audits.first()
    # 15 prerequisite indicators + D2's indicators, for the one candidate establishment; the declared value kept.
    lines = list(audit.lines.select_related("indicator", "value"))
    assert {line.group_code for line in lines} == {"P1", "P2", "P3", "P4", "D2"}
    assert all(line.establishment_id == t.clinic.pk for line in lines)
    p11 = next(line for line in lines if line.indicator.code == "P1.1")
    assert p11.value is not None and p11.value.indicator.code == "P1.1" and p11.value.establishment_id == t.clinic.pk
    assert AuditRecord.objects.filter(action="audit_campaign.create", object_id=str(campaign.pk)).exists()
    assert AuditRecord.objects.filter(action="audit.draw").count() == 2


def test_only_the_dgos_creates_a_campaign_and_bad_input_writes_nothing(world):
    t = world
    funded_dossier(t.clinic, "D2")
    for user in (t.ars_a, t.director, t.admin):
        with pytest.raises(PermissionRefused):
            services.campaign_create(programme=hopen_programme(), data=campaign_input(), by=user)
    with pytest.raises(ApplicationError, match="dépasse la population"):
        services.campaign_create(programme=hopen_programme(), data=campaign_input(size=2), by=t.dgos)
    with pytest.raises(ApplicationError, match="population est vide"):
        services.campaign_create(programme=hopen_programme(), data=campaign_input(regions=("53",)), by=t.dgos)
    assert nothing_written() == (0, 0, 0)
    assert not AuditRecord.objects.filter(action__startswith="audit").exists()


def test_filters_rate_and_the_exclusion_of_recently_audited_dossiers(world):
    t = world
    first = funded_dossier(t.clinic, "D2")
    funded_dossier(t.clinic, "D3")
    funded_dossier(t.foreign, "D2")
    funded_dossier(t.clinic, "D2", status=DossierStatus.DRAFT)  # not selected: never in the population
    campaign = services.campaign_create(
        programme=hopen_programme(), data=campaign_input(domains=("D2",), regions=("32",)), by=t.dgos
    )
    assert campaign.population_count == 1
    assert list(campaign.audits.values_list("dossier", flat=True)) == [first.pk]
    again = services.campaign_create(
        programme=hopen_programme(), data=campaign_input(rate=Decimal("50"), exclude=True), by=t.auditor
    )
    assert (again.population_count, again.sample_size, again.recent_months) == (2, 1, 24)
    assert first.pk not in again.audits.values_list("dossier", flat=True)


# --- Findings, contradictory procedure -------------------------------------------------------------------------------


def _one_audit(t, dossier=None):
    dossier = dossier or funded_dossier(t.clinic, "D2")
    campaign = services.campaign_create(programme=hopen_programme(), data=campaign_input(), by=t.dgos)
    return campaign.audits.get(dossier=dossier)


def test_findings_are_the_auditors_and_a_failing_line_needs_a_comment(world):
    t = world
    audit = _one_audit(t)
    line = audit.lines.first()
    with pytest.raises(PermissionRefused):
        services.findings_record(audit=audit, findings=[services.FindingInput(line.pk, "conform")], by=t.dgos)
    with pytest.raises(ApplicationError, match="commentaire obligatoire"):
        services.findings_record(audit=audit, findings=[services.FindingInput(line.pk, "non_conform")], by=t.auditor)
    services.findings_record(audit=audit, findings=[services.FindingInput(line.pk, "document_missing", "Aucune pièce")], by=t.auditor)
    line.refresh_from_db()
    audit.refresh_from_db()
    assert (line.finding, line.comment, line.checked_by, audit.status) == ("document_missing", "Aucune pièce", t.auditor, AuditStatus.UNDER_REVIEW)
    assert AuditRecord.objects.get(action="audit_line.check").changes["finding"] == ["pending", "document_missing"]
    with pytest.raises(ApplicationError, match="restent à vérifier"):
        services.findings_send(audit=audit, by=t.auditor)


def test_sending_the_draft_findings_sets_the_deadline_from_the_programme_delay(world, sent_tasks):
    t = world
    audit = _one_audit(t)
    sent = datetime.datetime(2026, 1, 31, 9, 0, tzinfo=datetime.timezone.utc)
    audit = audit_ready_for_decision(audit, auditor=t.auditor, now=sent)
    assert audit.status == AuditStatus.AWAITING_RESPONSE
    assert audit.response_due_on == datetime.date(2026, 2, 28)  # one month (`audit-response`), clamped to February's end
    assert AuditLetter.objects.filter(audit=audit, kind="draft_findings").exists()
    assert Notification.objects.filter(recipient=t.clinic_director, message__contains="28/02/2026").exists()


def test_the_answer_is_flagged_late_and_refused_once_concluded(world):
    t = world
    audit = audit_ready_for_decision(_one_audit(t), auditor=t.auditor)
    with pytest.raises(PermissionRefused):
        services.response_record(audit=audit, text="Réponse", by=t.foreign_director)
    audit = services.response_record(audit=audit, text="Nos pièces sont jointes.", by=t.clinic_director)
    assert (audit.response_late, audit.responded_by) == (True, t.clinic_director)
    services.decision_record(audit=audit, decision="conform", reason="Pièces probantes", by=t.auditor)
    with pytest.raises(ApplicationError, match="conclu"):
        services.response_record(audit=audit, text="Trop tard", by=t.clinic_director)
    audit.refresh_from_db()
    assert audit.response_text == "Nos pièces sont jointes."


def test_no_decision_without_findings_nor_before_the_deadline_without_an_answer(world):
    t = world
    audit = _one_audit(t)
    with pytest.raises(ApplicationError, match="Aucun constat"):
        services.decision_record(audit=audit, decision="non_conform", reason="x", by=t.auditor)
    audit = audit_ready_for_decision(audit, auditor=t.auditor, now=timezone.now())
    with pytest.raises(ApplicationError, match="peut répondre jusqu'au"):
        services.decision_record(audit=audit, decision="non_conform", reason="x", by=t.auditor)
    audit.refresh_from_db()
    assert (audit.status, audit.decision) == (AuditStatus.AWAITING_RESPONSE, "")


def test_conform_decision_closes_the_audit_and_leaves_the_dossier(world):
    t = world
    audit = audit_ready_for_decision(_one_audit(t), auditor=t.auditor, failing=False)
    with pytest.raises(ApplicationError, match="au moins un constat non conforme"):
        services.decision_record(audit=audit, decision="non_conform", reason="x", by=t.auditor)
    audit = services.decision_record(audit=audit, decision="conform", reason="Conforme", by=t.auditor)
    assert audit.status == AuditStatus.CONCLUDED
    audit.dossier.refresh_from_db()
    assert audit.dossier.status == DossierStatus.IN_PROGRESS
    with pytest.raises(ApplicationError, match="déjà conclu"):
        services.decision_record(audit=audit, decision="non_conform", reason="x", by=t.auditor)


def test_non_conform_decision_closes_the_dossier_and_claims_each_payment_once(world):
    t = world
    dossier = paid_dossier(t)
    payments = LedgerEntry.objects.filter(dossier_domain__dossier=dossier, kind__in=[EntryKind.SEED_PAYMENT, EntryKind.USAGE_PAYMENT])
    assert sorted(payments.values_list("pot", "amount")) == [("seed", Decimal("50000.00")), ("usage", Decimal("200000.00"))]
    audit = audit_ready_for_decision(_one_audit(t, dossier), auditor=t.auditor)
    before = balances_of([t.envelope_a.pk])[t.envelope_a.pk]
    services.decision_record(audit=audit, decision="non_conform", reason="P1.1 non justifié", by=t.auditor)
    dossier.refresh_from_db()
    assert (dossier.status, dossier.closure_kind, dossier.closed_by) == (DossierStatus.CLOSED, "audit_failure", t.auditor)
    assert "P1.1 non justifié" in dossier.closure_reason
    claims = LedgerEntry.objects.filter(kind=EntryKind.REFUND_CLAIM, dossier_domain__dossier=dossier)
    assert sorted(claims.values_list("pot", "amount")) == [("seed", Decimal("50000.00")), ("usage", Decimal("200000.00"))]
    after = balances_of([t.envelope_a.pk])[t.envelope_a.pk]
    assert after.refunds_claimed - before.refunds_claimed == Decimal("250000.00")
    assert AuditLetter.objects.filter(audit=audit, kind="final_decision").exists()
    assert AuditRecord.objects.filter(action="audit.decide", object_id=str(audit.pk)).exists()
    assert AuditRecord.objects.filter(action="dossier.close", object_id=str(dossier.pk)).exists()


def test_the_response_delay_is_programme_data_a_successor_programme_included(demo_programme):
    from funding.calendar import Delay, programme_delay

    for programme in (hopen_programme(), demo_programme):
        assert programme_delay(services.RESPONSE_DELAY, programme) == Delay(months=1)
        assert programme_delay(services.RESPONSE_REMINDER, programme) == Delay(days=7)


def test_a_ght_dossier_checks_every_member_and_its_support_answers(world):
    t = world
    dossier = funded_dossier(t.support, "D2", members=[t.support, t.member])
    campaign = services.campaign_create(programme=hopen_programme(), data=campaign_input(), by=t.dgos)
    audit = campaign.audits.get()
    assert audit.dossier == dossier
    assert set(audit.lines.values_list("establishment", flat=True)) == {t.support.pk, t.member.pk}
    assert audit.lines.filter(establishment=t.member, indicator__code="D2.2").exists()
    audit = audit_ready_for_decision(audit, auditor=t.auditor)
    assert Notification.objects.filter(recipient=t.ght_director, message__contains="constats provisoires").exists()
    audit = services.response_record(audit=audit, text="Réponse du support du GHT", by=t.ght_director)
    assert audit.responded_by == t.ght_director

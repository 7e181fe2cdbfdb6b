"""The advanced rate (annex 3 §3): « Un forfait avancé qui intègre un bonus de +20 % du forfait standard. Ce forfait
concerne les dossiers pour lesquels les cibles d'usage sont atteintes en intégrant » the structured format — D1:
CDAR2 niveau 3 (indicator D1.3), D6: the structured discharge letter (indicator D6.1). Granted only when the
programme's structured-format indicator is declared reached by every candidate; its amount is 1.2 × the standard
amount, rounded once."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from funding.dossiers import gates, services
from funding.dossiers.gates import DomainFacts, GateRefused, MemberFacts
from funding.dossiers.rules import DomainInput
from funding.models import Dossier
from hopen.models import AuditRecord
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import GROUPS, NOW, declare, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("hopen_filing_open")

CODE = "advanced_rate_structured_format:D1"


# --- The gate, pure ---------------------------------------------------------------------------------------------------


def test_annex_3_3_a_standard_rate_is_never_refused_by_the_advanced_rate_gate():
    assert gates.advanced_rate_gate("D1", "standard", "D1.3", [("CH A", False)]) == []


def test_annex_3_3_advanced_rate_needs_the_structured_format_indicator_of_every_candidate():
    assert gates.advanced_rate_gate("D1", "advanced", "D1.3", [("CH A", True), ("CH B", True)]) == []
    [refusal] = gates.advanced_rate_gate("D1", "advanced", "D1.3", [("CH A", True), ("CH B", False)])
    assert (refusal.code, refusal.section) == (CODE, "annexe 3 §3")
    assert "D1.3" in refusal.message and "CH B" in refusal.message and "CH A" not in refusal.message


def test_annex_3_3_no_advanced_rate_where_the_programme_offers_none():
    [refusal] = gates.advanced_rate_gate("D2", "advanced", "", [("CH A", True)])
    assert refusal.code == "advanced_rate_not_offered:D2"


def test_annex_3_3_the_usage_notification_rechecks_the_structured_format():
    def facts(reached):
        member = MemberFacts(
            establishment_id=1, name="CH A", prerequisites_reached=True, hn_prerequisites_reached=True,
            targets_reached=True, ami_preselected=True, structured_format_reached=reached,
        )
        return DomainFacts(
            today=datetime.date(2021, 6, 1), derogatory_deadline=datetime.date(2021, 1, 1), dossier_status="in_progress",
            domain_code="D1", members=(member,), rate="advanced", structured_format_indicator="D1.3",
        )

    assert gates.usage_notification_gate(facts(True)) == []
    assert [r.code for r in gates.usage_notification_gate(facts(False))] == [CODE]


# --- Through the filing services --------------------------------------------------------------------------------------


def eligible_on_d1(t):
    """§5.3.1: the clinic (already eligible on D2, D3 in the world) declares the D1 indicators not reached."""
    for code in GROUPS["D1"]:
        declare(t.clinic, code, reached=False, by=t.clinic_director)


def d1(rate, t):
    return [DomainInput(code="D1", target_deadline=datetime.date(2021, 12, 31), rate=rate, vendors=[t.vendor.pk])]


@pytest.mark.django_db
def test_annex_3_3_filing_an_advanced_rate_without_the_structured_format_writes_nothing(world):
    t = world
    eligible_on_d1(t)  # D1.1–D1.5 declared not reached
    with pytest.raises(GateRefused) as refused:
        services.dossier_create(
            programme=hopen_programme(), establishment=t.clinic, domains=d1("advanced", t), by=t.clinic_director, now=NOW
        )
    assert [r.code for r in refused.value.refusals] == [CODE]
    assert not Dossier.objects.exists() and not AuditRecord.objects.filter(action="dossier.create").exists()
    # the standard rate is filed: the same candidate, the same day
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=d1("standard", t), by=t.clinic_director, now=NOW
    )
    assert dossier.domains.get().total_amount == Decimal("170000.00")  # category B lower bound, D1 standard


@pytest.mark.django_db
def test_annex_3_3_advanced_amount_is_1_2_times_the_standard_once_the_structured_format_is_declared(client, world):
    t = world
    eligible_on_d1(t)
    declare(t.clinic, "D1.3", reached=True, by=t.clinic_director, day=datetime.date(2020, 2, 1))
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=d1("advanced", t), by=t.clinic_director, now=NOW
    )
    domain = dossier.domains.get()
    assert (domain.rate, domain.total_amount) == ("advanced", Decimal("204000.00"))  # 1.2 × 170 000
    # a later declaration that the format is no longer in place stops the transmission (re-checked, annex 3 §3)
    declare(t.clinic, "D1.3", reached=False, by=t.clinic_director, day=datetime.date(2020, 2, 20))
    client.force_login(t.clinic_director)
    page = client.get(reverse("funding:dossier_detail", args=[dossier.reference])).content.decode()
    assert 'data-testid="transmit-dossier" disabled' in page  # the page says what the service answers
    reason = page.split('data-testid="transmit-dossier-disabled-reason">', 1)[1].split("</p>", 1)[0]
    assert "D1.3" in reason and "(annexe 3 §3)" in reason
    with pytest.raises(GateRefused) as refused:
        services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)
    assert CODE in [r.code for r in refused.value.refusals]
    dossier.refresh_from_db()
    assert dossier.status == "draft"

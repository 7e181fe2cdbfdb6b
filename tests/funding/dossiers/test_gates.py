"""The money gates as pure functions (funding.dossiers.gates): each refusal at its boundary, with its section."""

import datetime
from decimal import Decimal

import pytest

from funding.dossiers import gates
from funding.dossiers.gates import DomainFacts, MemberFacts, ReasonFacts
from hopen.validation import sane_date_error
from funding.eligibility.prerequisites import IndicatorState, prerequisite_gaps, prerequisites_met
from indicators.attainment import Attainment

DEADLINE = datetime.date(2021, 1, 1)
BEFORE, ON = datetime.date(2020, 12, 31), DEADLINE


def member(**kwargs):
    fields = {"establishment_id": 1, "name": "CH A", "prerequisites_reached": True, "hn_prerequisites_reached": True,
              "targets_reached": True, "ami_preselected": True}
    return MemberFacts(**(fields | kwargs))


def facts(*members, status="under_review", today=BEFORE, **kwargs):
    return DomainFacts(
        today=today, derogatory_deadline=DEADLINE, dossier_status=status, domain_code="D2",
        members=members or (member(),), **kwargs,
    )


def codes(refusals):
    return [r.code for r in refusals]


NOT_FUNDABLE = ReasonFacts("hn_prerequisites_not_reached", "5.3.1, note 3", "HN non atteints", "not_fundable")
INELIGIBLE = ReasonFacts("project_finished", "5.3.1", "Projet terminé", "ineligible")
INFORMATION = ReasonFacts("hopen_prerequisites_pending", "5.3.1", "À justifier", "information")


# --- Selection (annex 4 §1) and seed commitment (§5.3.1, §5.1) -----------------------------------------------------


@pytest.mark.parametrize("status, refused", [("transmitted", True), ("under_review", False), ("draft", True)])
def test_annex_4_1_selection_only_under_review(status, refused):
    refusals = gates.seed_commitment_gate(facts(status=status), Decimal("0"))
    assert codes(refusals) == (["dossier_not_under_review"] if refused else [])
    assert all(r.section == "annexe 4 §1" for r in refusals)


def test_5_3_1_a_seed_is_refused_when_the_verdict_is_not_fundable_but_a_selection_without_seed_is_not():
    blocked = facts(member(reasons=(NOT_FUNDABLE, INFORMATION)))
    assert codes(gates.seed_commitment_gate(blocked, Decimal("0.01"))) == ["not_fundable:hn_prerequisites_not_reached"]
    assert gates.seed_commitment_gate(blocked, Decimal("0")) == []
    assert gates.seed_commitment_gate(facts(member(reasons=(INFORMATION,))), Decimal("1")) == []


def test_5_3_1_an_ineligible_reason_refuses_the_seed_at_selection_only():
    finished = facts(member(reasons=(INELIGIBLE,)))
    assert codes(gates.seed_commitment_gate(finished, Decimal("1"))) == ["not_eligible:project_finished"]
    # after the selection only the funding conditions count: reaching the targets finishes the project
    assert gates.usage_notification_gate(finished) == []


def test_5_1_derogatory_seed_before_the_deadline_with_hn_prerequisites():
    behind = member(prerequisites_reached=False)
    assert gates.seed_commitment_gate(facts(behind, today=BEFORE), Decimal("1")) == []
    assert gates.seed_is_derogatory(facts(behind))
    assert codes(gates.seed_commitment_gate(facts(behind, today=ON), Decimal("1"))) == ["derogatory_seed_deadline_passed"]
    without_hn = member(prerequisites_reached=False, hn_prerequisites_reached=False)
    assert codes(gates.seed_commitment_gate(facts(without_hn), Decimal("1"))) == ["derogatory_seed_without_hn"]
    assert not gates.seed_is_derogatory(facts(member()))


def test_every_refusal_is_returned_at_once_with_the_member_named_in_a_ght_dossier():
    refusals = gates.seed_commitment_gate(
        facts(member(reasons=(NOT_FUNDABLE,)), member(establishment_id=2, name="CH B"), status="transmitted", ght=True),
        Decimal("1000"),
    )
    assert codes(refusals) == ["dossier_not_under_review", "not_fundable:hn_prerequisites_not_reached"]
    assert refusals[1].message.startswith("CH A — D2 : ")


# --- After the selection (annex 2 §2) ------------------------------------------------------------------------------


def test_annex_2_2_seed_payment_needs_the_funding_conditions():
    assert gates.seed_payment_gate(facts()) == []
    assert codes(gates.seed_payment_gate(facts(member(reasons=(NOT_FUNDABLE,))))) == [
        "not_fundable:hn_prerequisites_not_reached"
    ]


@pytest.mark.parametrize("gate", [gates.targets_reached_gate, gates.usage_notification_gate])
def test_annex_2_2_targets_and_usage_need_prerequisites_and_targets_of_every_candidate(gate):
    assert gate(facts(member(), member(establishment_id=2, name="CH B"))) == []
    refusals = gate(facts(member(prerequisites_reached=False), member(establishment_id=2, name="CH B", targets_reached=False)))
    assert codes(refusals) == ["prerequisites_not_reached", "targets_not_reached"]
    assert "CH A" in refusals[0].message and "CH B" in refusals[1].message
    assert refusals[0].section == "5.3.1, annexe 2 §2"


def test_annex_2_2_usage_is_paid_after_the_seed():
    assert codes(gates.usage_payment_gate(facts(seed_amount=Decimal("10"), seed_paid=False))) == ["seed_not_paid"]
    assert gates.usage_payment_gate(facts(seed_amount=Decimal("10"), seed_paid=True)) == []
    assert gates.usage_payment_gate(facts(seed_amount=Decimal("0"))) == []
    assert codes(gates.usage_payment_gate(facts(member(reasons=(NOT_FUNDABLE,))))) == [
        "not_fundable:hn_prerequisites_not_reached"
    ]


def test_an_unknown_eligibility_refuses_the_money():
    assert codes(gates.seed_payment_gate(facts(eligibility_known=False))) == ["eligibility_unknown"]


# --- AMI pre-selection (§5.3.2) ------------------------------------------------------------------------------------


def test_5_3_2_a_domain_needs_the_ami_preselection_of_each_candidate():
    members = [(1, "CH A"), (2, "CH B")]
    both = {(1, "D2"), (2, "D2")}
    assert gates.ami_preselection_gate(members, ["D2"], preselected=both) == []
    refusals = gates.ami_preselection_gate(members, ["D2", "D3"], preselected={(1, "D2")})
    assert codes(refusals) == ["no_ami_preselection:D2", "no_ami_preselection:D3"]
    assert "CH B" in refusals[0].message and "CH A" not in refusals[0].message and refusals[0].section == "5.3.2"


def test_5_3_2_late_candidature_admitted_by_the_ars_or_waiting_for_it_in_the_late_window():
    members = [(1, "CH A")]
    assert gates.ami_preselection_gate(members, ["D2"], preselected=set(), admitted={"D2"}) == []
    assert gates.ami_preselection_gate(members, ["D2"], preselected=set(), late_window_open=True) == []


@pytest.mark.parametrize("seed", [Decimal("0"), Decimal("0.01")])
def test_5_3_2_the_selection_re_checks_the_ami_preselection_of_every_candidate_with_or_without_seed(seed):
    """§5.3.2 « Etape 2 »: the selection (with or without seed) is refused when one candidate lacks the domain's AMI
    pre-selection — the boundary is one member of two."""
    ght = dict(ght=True)
    both = facts(member(), member(establishment_id=2, name="CH B"), **ght)
    one_missing = facts(member(), member(establishment_id=2, name="CH B", ami_preselected=False), **ght)
    assert gates.seed_commitment_gate(both, seed) == []
    refusals = gates.seed_commitment_gate(one_missing, seed)
    assert codes(refusals) == ["no_ami_preselection:D2"]
    assert refusals[0].section == "5.3.2" and "CH B" in refusals[0].message and "CH A" not in refusals[0].message
    assert codes(gates.selection_refusals(one_missing)) == ["no_ami_preselection:D2"]
    assert all(gates.locks_selection(r) for r in refusals)


def test_5_3_2_a_domain_admitted_without_ami_by_the_ars_may_be_selected():
    """§5.3.2 « Exceptionnellement … si l'ARS et son enveloppe régionale le permettent »: the ARS's admission
    replaces the pre-selection at the selection too."""
    missing = member(ami_preselected=False)
    assert codes(gates.seed_commitment_gate(facts(missing), Decimal("0"))) == ["no_ami_preselection:D2"]
    assert gates.seed_commitment_gate(facts(missing, admitted_without_ami=True), Decimal("0")) == []
    # both refusals of the selection itself, in order: « en instruction » then the AMI
    assert codes(gates.selection_refusals(facts(missing, status="transmitted"))) == [
        "dossier_not_under_review", "no_ami_preselection:D2",
    ]


# --- Refunds (annex 2 §2) ------------------------------------------------------------------------------------------


def test_annex_2_2_refund_claim_from_the_deadline_day_on_a_seed_paid_when_a_candidate_lacks_the_prerequisites():
    due = gates.RefundClaimFacts(as_of=ON, deadline=DEADLINE, paid=Decimal("1"), behind=("CH A",))
    assert gates.refund_claim_gate(due) == []
    assert codes(gates.refund_claim_gate(gates.RefundClaimFacts(BEFORE, DEADLINE, Decimal("1"), ("CH A",)))) == [
        "refund_deadline_not_reached"
    ]
    assert codes(gates.refund_claim_gate(gates.RefundClaimFacts(ON, DEADLINE, Decimal("0"), ("CH A",)))) == [
        "refund_nothing_paid"
    ]
    assert codes(gates.refund_claim_gate(gates.RefundClaimFacts(ON, DEADLINE, Decimal("1"), ()))) == [
        "refund_prerequisites_reached"
    ]


def test_annex_2_2_refund_receipt_never_above_what_the_claim_awaits():
    receipt = gates.RefundReceiptFacts
    assert gates.refund_receipt_gate(receipt(True, Decimal("10.00"), Decimal("10.00"))) == []
    assert codes(gates.refund_receipt_gate(receipt(True, Decimal("10.01"), Decimal("10.00")))) == ["refund_exceeds_outstanding"]
    assert codes(gates.refund_receipt_gate(receipt(True, Decimal("0"), Decimal("10.00")))) == ["refund_amount_not_positive"]
    assert codes(gates.refund_receipt_gate(receipt(False, Decimal("1"), Decimal("10.00")))) == ["refund_not_a_claim"]


def test_gate_refused_carries_every_reason_for_the_api():
    error = gates.GateRefused([gates.Refusal("a", "5.3.1", "Un."), gates.Refusal("b", "5.1", "Deux.")], "Action")
    assert error.message == "Action refusé : Un. Deux."
    assert error.extra == {"reasons": [{"code": "a", "section": "5.3.1", "message": "Un."},
                                       {"code": "b", "section": "5.1", "message": "Deux."}]}


# --- Prerequisites reached: values and documents (§5.3.1), one rule ------------------------------------------------


def test_5_3_1_prerequisites_are_reached_with_values_and_documents():
    reached = [IndicatorState(f"P{i}", Attainment.REACHED, 1) for i in range(15)]
    assert prerequisites_met(reached, expected=15)
    without_document = [*reached[:14], IndicatorState("P14", Attainment.REACHED, 0)]
    assert prerequisite_gaps(without_document).without_documents == (without_document[14],)
    assert not prerequisites_met(without_document)
    assert not prerequisites_met([*reached[:14], IndicatorState("P14", Attainment.NOT_APPLICABLE, 1)])
    assert not prerequisites_met([*reached[:14], IndicatorState("P14", Attainment.MISSING, 0)])
    assert not prerequisites_met(reached[:14], expected=15)
    assert not prerequisites_met([])


# --- Sane dates ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year, ok", [(1, False), (1999, False), (2000, True), (2100, True), (2101, False), (9999, False)])
def test_dates_outside_2000_2100_are_typing_errors(year, ok):
    assert (sane_date_error(datetime.date(year, 6, 30)) is None) is ok

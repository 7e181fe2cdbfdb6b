"""Pure rules of the GHT governance (annex 1 « déclinaison GHT », §5.3.1 « Pour les GHT »)."""

import datetime

import pytest

from funding.ght.rules import convergence_entered, governance_facts, is_declined_at_ght_level, master_plan_validated


@pytest.mark.parametrize("text, declined", [
    ("Ce référentiel d’identités est unique au sein du GHT.", True),
    ("Applicable par établissement et par GHT si des pôles inter-établissements existent.", True),
    ("Applicable par établissement.", False),
    ("Le taux est calculé par établissement.", False),
    ("Applicable par établissement. Le DPO peut cependant être mutualisé.", False),
    ("", False),
    (None, False),
])
def test_an_indicator_is_declined_at_ght_level_when_its_text_names_the_ght(text, declined):
    assert is_declined_at_ght_level(text) is declined


def test_the_sdsi_counts_when_present_not_infected_and_validated():
    day = datetime.date(2019, 9, 12)
    assert master_plan_validated("clean", day) and master_plan_validated("pending", day)
    assert not master_plan_validated("infected", day)
    assert not master_plan_validated("clean", None) and not master_plan_validated(None, day)


def test_convergence_is_the_entry_of_every_declined_indicator():
    assert convergence_entered(24, 24) and convergence_entered(0, 0)
    assert not convergence_entered(24, 23)


def test_facts_without_governance():
    facts = governance_facts(plan_scan_status=None, plan_validated_on=None, declined_count=1, declared_count=0,
                             governance=None)
    assert not (facts.master_plan_uploaded or facts.convergence_indicators_entered or facts.cio_validated)

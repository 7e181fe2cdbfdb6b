"""Pure rules of the seed funding limits: annex 2 §2 (20 % pot), §5.1 (derogatory 30 % / 50 %), 004 (sector
quotas, equal split between public, private and ESPIC)."""

from decimal import Decimal

import pytest

from envelopes.rules import (
    derogatory_ceiling,
    derogatory_refusal,
    quotas_refusal,
    sector_ceiling,
    sector_of,
    sector_quota_refusal,
    seed_breakdown_from_rows,
    seed_commitment_refusal,
    seed_pot_refusal,
    usage_pot_refusal,
)

NBSP = "\u00a0"
D = Decimal


@pytest.mark.parametrize(
    ("status", "is_espic", "sector"),
    [
        ("public", False, "public"),
        ("private_for_profit", False, "private"),
        ("private_non_profit", True, "espic"),
        ("private_non_profit", False, "private"),
        ("clcc", False, "espic"),
        ("clcc", True, "espic"),
    ],
)
def test_sector_of_an_establishment(status, is_espic, sector):
    # 004: « public, privé et Espic »; a CLCC is an ESPIC by law; a non-profit without the qualification is private.
    assert sector_of(status, is_espic) == sector


def test_seed_pot_allows_exactly_what_is_left_and_refuses_one_cent_more():
    # Annex 2 §2: « Les financements consacrés à l'amorçage ne pourront dépasser 20% de l'enveloppe régionale ».
    assert seed_pot_refusal(D("40000.00"), D("40000.00")) is None
    message = seed_pot_refusal(D("40000.01"), D("40000.00"))
    assert message.startswith("Crédits d'amorçage insuffisants")
    assert f"40{NBSP}000,01{NBSP}€ demandés" in message
    assert f"40{NBSP}000,00{NBSP}€ disponibles" in message
    assert "20 %" in message


def test_derogatory_ceiling_is_30_percent_then_50_percent_of_the_seed_credits():
    # §5.1: « 30% des crédits d'amorçage de la région, et jusqu'à 50% si […] insuffisant ».
    assert derogatory_ceiling(D("100000.00"), raised=False) == D("30000.00")
    assert derogatory_ceiling(D("100000.00"), raised=True) == D("50000.00")
    assert derogatory_ceiling(D("100.03"), raised=False) == D("30.00")  # to the cent below


def test_derogatory_refusal_names_the_ceiling_and_how_to_raise_it():
    assert derogatory_refusal(D("10000"), seed_total=D("100000"), derogatory_used=D("20000"), raised=False) is None
    message = derogatory_refusal(D("10000.01"), seed_total=D("100000"), derogatory_used=D("20000"), raised=False)
    assert "Plafond de l'amorçage dérogatoire dépassé" in message
    assert f"plafond de 30{NBSP}000,00{NBSP}€ (30 %" in message
    assert "porter ce plafond à 50 %" in message
    raised = derogatory_refusal(D("30000.01"), seed_total=D("100000"), derogatory_used=D("20000"), raised=True)
    assert f"plafond de 50{NBSP}000,00{NBSP}€ (50 %" in raised
    assert "porter ce plafond" not in raised
    assert derogatory_refusal(D("30000"), seed_total=D("100000"), derogatory_used=D("20000"), raised=True) is None


def test_sector_quota_refusal():
    # 004: a third of the seed credits per sector when split equally.
    assert sector_ceiling(D("100000.00"), D("33.33")) == D("33330.00")
    assert sector_quota_refusal(D("1"), sector="public", seed_total=D("100000"), share_percent=None, sector_used=D("99999")) is None
    assert sector_quota_refusal(D("3330"), sector="espic", seed_total=D("100000"), share_percent=D("33.33"), sector_used=D("30000")) is None
    message = sector_quota_refusal(
        D("3330.01"), sector="espic", seed_total=D("100000"), share_percent=D("33.33"), sector_used=D("30000")
    )
    assert "Quota d'amorçage du secteur ESPIC dépassé" in message
    assert f"quota de 33{NBSP}330,00{NBSP}€ (33,33 %" in message


def test_seed_commitment_checks_the_pot_then_the_derogatory_ceiling_then_the_quota():
    common = dict(seed_total=D("100000"), raised=False, sector="private", sector_used=D("0"))
    assert "Crédits d'amorçage insuffisants" in seed_commitment_refusal(
        D("50000"), seed_available=D("40000"), is_derogatory=True, derogatory_used=D("0"), share_percent=D("10"), **common
    )
    assert "dérogatoire" in seed_commitment_refusal(
        D("35000"), seed_available=D("40000"), is_derogatory=True, derogatory_used=D("0"), share_percent=D("10"), **common
    )
    assert "Quota" in seed_commitment_refusal(
        D("35000"), seed_available=D("40000"), is_derogatory=False, derogatory_used=D("0"), share_percent=D("10"), **common
    )
    assert seed_commitment_refusal(
        D("35000"), seed_available=D("40000"), is_derogatory=False, derogatory_used=D("90000"), share_percent=None, **common
    ) is None
    assert "positif" in seed_commitment_refusal(
        D("0"), seed_available=D("40000"), is_derogatory=False, derogatory_used=D("0"), share_percent=None, **common
    )


def test_usage_pot_refusal():
    assert usage_pot_refusal(D("400000"), D("400000")) is None
    assert "Crédits d'usage insuffisants" in usage_pot_refusal(D("400000.01"), D("400000"))
    assert "positif" in usage_pot_refusal(D("-1"), D("400000"))


def test_quotas_are_shares_of_at_most_100_percent_in_all():
    assert quotas_refusal({"public": D("33.34"), "private": D("33.33"), "espic": D("33.33")}) is None
    assert quotas_refusal({"public": None, "private": D("50")}) is None
    assert "100,01 %" in quotas_refusal({"public": D("50"), "private": D("50.01")})
    assert "entre 0 et 100 %" in quotas_refusal({"public": D("-1")})
    assert "Secteur inconnu" in quotas_refusal({"hospital": D("10")})


def test_seed_breakdown_nets_corrections_and_refunds_per_sector_and_for_derogatory_seed():
    rows = [
        ("seed_commitment", "public", False, D("10000")),
        ("seed_commitment", "public", True, D("5000")),
        ("seed_commitment", "espic", True, D("2000")),
        ("refund_received", "espic", True, D("500")),
    ]
    breakdown = seed_breakdown_from_rows(rows)
    assert breakdown.sector_used("public") == D("15000")
    assert breakdown.sector_used("espic") == D("1500")
    assert breakdown.sector_used("private") == D("0")
    assert breakdown.derogatory_used == D("6500")

"""Pure rules of the dossier workflow (funding.dossiers.rules) — annex 4 §1 (re-candidacy, four months), §5.3.2
« Etape 2 » (1.5 months to initialise), annex 2 §2 (usage = total − seed), annex 3 §2 (GHT sums)."""

import datetime
from decimal import Decimal

import pytest

from funding.calendar import Delay
from funding.dossiers.rules import (
    DomainInput,
    domain_input_errors,
    domain_total,
    dossier_reference,
    initialisation_deadline,
    member_amount,
    recandidacy_allowed_from,
    recandidacy_message,
    review_deadline,
    seed_amount_errors,
    target_deadline_passed,
    to_amount,
    usage_amount,
)
from funding.rules import Band, Category
from funding.selectors import AmountGrid

SIX_MONTHS = Delay(months=6)
FOUR_MONTHS = Delay(months=4)
ONE_AND_A_HALF_MONTHS = Delay(months=1, days=15)
D = datetime.date


# --- Annex 4 §1: re-candidacy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "refused_on, allowed",
    [
        (D(2020, 3, 2), D(2020, 9, 2)),
        (D(2020, 8, 31), D(2021, 2, 28)),  # months first, clamped to the month's last day
        (D(2019, 12, 31), D(2020, 6, 30)),
    ],
)
def test_annex_4_1_feasibility_refusal_allows_a_new_candidacy_six_months_later(refused_on, allowed):
    """« Soit après un délai minimum de six mois permettant à l'établissement / GHT de mieux justifier de la
    faisabilité de son projet »."""
    assert recandidacy_allowed_from(refused_on, "feasibility", SIX_MONTHS) == allowed


@pytest.mark.parametrize(
    "refused_on, allowed",
    [(D(2020, 3, 2), D(2021, 1, 1)), (D(2020, 12, 31), D(2021, 1, 1)), (D(2021, 1, 1), D(2022, 1, 1))],
)
def test_annex_4_1_financial_refusal_allows_a_new_candidacy_the_following_year(refused_on, allowed):
    """« Soit l'année suivante dans le cas où le dossier a été refusé pour des motifs financiers »."""
    assert recandidacy_allowed_from(refused_on, "financial", SIX_MONTHS) == allowed


def test_annex_4_1_the_delay_comes_from_the_programme_calendar():
    assert recandidacy_allowed_from(D(2020, 3, 2), "feasibility", Delay(months=3)) == D(2020, 6, 2)


def test_annex_4_1_recandidacy_message_names_the_domain_the_dates_and_the_rule():
    message = recandidacy_message("D2", D(2020, 3, 2), "financial", D(2021, 1, 1))
    assert "D2" in message and "02/03/2020" in message and "01/01/2021" in message
    assert "motif financier" in message and "annexe 4 §1" in message


def test_annex_4_1_review_deadline_is_four_months_after_transmission():
    assert review_deadline(D(2020, 3, 2), FOUR_MONTHS) == D(2020, 7, 2)
    assert review_deadline(D(2020, 10, 31), FOUR_MONTHS) == D(2021, 2, 28)


def test_5_3_2_initialisation_deadline_is_one_month_and_a_half_after_the_request():
    assert initialisation_deadline(D(2020, 3, 2), ONE_AND_A_HALF_MONTHS) == D(2020, 4, 17)


@pytest.mark.parametrize(
    "selected, reached_at, today, passed",
    [
        (True, None, D(2021, 12, 31), False),  # the deadline is the last day to reach the targets
        (True, None, D(2022, 1, 1), True),
        (True, datetime.datetime(2021, 6, 1, tzinfo=datetime.UTC), D(2022, 1, 1), False),  # reached in time
        (False, None, D(2022, 1, 1), False),  # pending, refused or past the targets: nothing to flag
    ],
)
def test_annex_4_3_a_selected_domains_target_deadline_has_passed_the_day_after_it(selected, reached_at, today, passed):
    """Annex 4 §3: the establishments whose target date slips are followed; the page flags the passed deadline."""
    assert target_deadline_passed(
        selected=selected, target_deadline=D(2021, 12, 31), targets_reached_at=reached_at, today=today
    ) is passed


# --- Annex 2 §2: seed and usage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total, seed, usage",
    [
        (Decimal("250000.00"), Decimal("50000.00"), Decimal("200000.00")),
        (Decimal("250000.00"), Decimal("0"), Decimal("250000.00")),
        (Decimal("250000.00"), Decimal("250000.00"), Decimal("0.00")),
        (Decimal("123456.78"), Decimal("99999.99"), Decimal("23456.79")),
    ],
)
def test_annex_2_2_usage_amount_is_the_total_minus_the_seed(total, seed, usage):
    """« Le montant de l'amorçage est à défalquer du montant du soutien financier total »."""
    assert usage_amount(total, seed) == usage
    assert usage_amount(total, seed) + seed == total


@pytest.mark.parametrize("seed", [Decimal("-1"), Decimal("250000.01")])
def test_annex_2_2_usage_amount_refuses_a_seed_outside_the_total(seed):
    with pytest.raises(ValueError, match="entre 0 et le soutien financier total"):
        usage_amount(Decimal("250000.00"), seed)


def test_annex_2_2_seed_above_or_below_twenty_percent_of_the_total_is_accepted():
    """« l'ARS peut notifier […] un financement d'amorçage d'un montant supérieur ou inférieur à 20 % »."""
    assert seed_amount_errors("10000", Decimal("250000")) == []
    assert seed_amount_errors("200 000,00", Decimal("250000")) == []
    assert seed_amount_errors("0", Decimal("250000")) == []


def test_annex_2_2_seed_above_the_total_or_negative_or_not_a_number_is_refused():
    (above,) = seed_amount_errors("250000.01", Decimal("250000"))
    assert "ne peut pas dépasser" in above and "250\u00a0000,00\u00a0€" in above
    assert seed_amount_errors("-5", Decimal("250000")) == ["Le montant de l'amorçage ne peut pas être négatif."]
    assert seed_amount_errors("beaucoup", Decimal("250000")) == ["Montant invalide : « beaucoup »."]


def test_to_amount_reads_french_and_international_numbers():
    assert to_amount("1 234,5") == Decimal("1234.50")
    assert to_amount("1\u202f234.505") == Decimal("1234.51")
    assert to_amount(Decimal("7")) == Decimal("7.00")
    with pytest.raises(ValueError):
        to_amount("NaN")


# --- Annex 3 §2: flat amounts and GHT sums -------------------------------------------------------------------------

GRID = AmountGrid(
    categories=[Category("A", Decimal(0), Decimal(7000)), Category("B", Decimal(7000), Decimal(22500))],
    bands={
        ("D2", "standard"): [Band("A", Decimal(100000), Decimal(250000)), Band("B", Decimal(250000), Decimal(350000))],
        ("D1", "standard"): [Band("A", Decimal(100000), Decimal(250000)), Band("B", Decimal(250000), Decimal(350000))],
    },
    advanced_bonus_percent=Decimal("20"),
    advanced_indicators={"D1": "D1.3"},
)


def test_annex_3_2_member_amount_follows_the_grid_for_the_domain_and_rate():
    assert member_amount(Decimal(7000), "D2", "standard", GRID) == Decimal("250000.00")
    assert member_amount(Decimal(3500), "D2", "standard", GRID) == Decimal("175000.00")
    # Annex 3 §3: the advanced rate is the standard amount + 20 %, rounded once.
    assert member_amount(Decimal(7000), "D1", "advanced", GRID) == Decimal("300000.00")
    assert member_amount(Decimal(1), "D1", "advanced", GRID) == Decimal("120025.72")  # 1.2 × 100 021,43


def test_annex_3_2_member_amount_without_a_band_is_refused():
    with pytest.raises(ValueError, match="forfait « advanced » pour D2"):
        member_amount(Decimal(7000), "D2", "advanced", GRID)


def test_annex_3_2_a_ght_domain_total_is_the_sum_of_its_members_amounts():
    """« une somme des soutiens financiers est ensuite effectuée au niveau du GHT »."""
    shares = [member_amount(Decimal(v), "D2", "standard", GRID) for v in (7000, 3500, 22500)]
    assert domain_total(shares) == Decimal("250000.00") + Decimal("175000.00") + Decimal("350000.00")
    assert domain_total([Decimal("250000.00")]) == Decimal("250000.00")


# --- Input of the domains -------------------------------------------------------------------------------------------


def test_domain_input_errors_accepts_valid_domains():
    domains = [DomainInput("D2", D(2021, 6, 30)), DomainInput("D1", D(2021, 6, 30), rate="advanced")]
    assert domain_input_errors(domains, today=D(2020, 3, 2), advanced_domains={"D1", "D6"}) == {}


def test_domain_input_errors_in_french_by_domain():
    errors = domain_input_errors(
        [
            DomainInput("D2", None),
            DomainInput("D3", D(2020, 1, 1)),
            DomainInput("D4", D(2021, 1, 1), rate="advanced"),
            DomainInput("D8", D(2021, 1, 1)),
            DomainInput("D5", D(2021, 1, 1)),
            DomainInput("D5", D(2021, 1, 1)),
        ],
        today=D(2020, 3, 2), advanced_domains={"D1", "D6"},
    )
    assert errors["D2"] == ["D2 : indiquez l'échéance d'atteinte des cibles d'usage."]
    assert errors["D3"] == ["D3 : l'échéance d'atteinte des cibles (01/01/2020) est déjà passée."]
    assert errors["D4"] == ["D4 : le programme ne prévoit de forfait avancé que pour D1, D6 (annexe 3 §3)."]
    assert errors["D5"] == ["Le domaine D5 est choisi plusieurs fois."]
    assert errors["__all__"] == ["Domaine inconnu « D8 » : choisissez entre D1 et D7."]


def test_domain_input_errors_no_domain():
    assert domain_input_errors([], today=D(2020, 3, 2)) == {"__all__": ["Choisissez au moins un domaine fonctionnel (D1 à D7)."]}


def test_dossier_reference_is_programme_region_year_and_number():
    assert dossier_reference("HOPEN", "32", 2020, 42) == "HOPEN-32-2020-00042"
    assert dossier_reference("DEMO2026", "53", 2026, 7) == "DEMO2026-53-2026-00007"


def test_a_target_deadline_after_the_usage_target_window_is_refused_with_its_date_and_section():
    """§5.3.1 « avant le 1er janvier 2023 »: 31/12/2022 is the last accepted target deadline."""
    from indicators.windows import Window

    window = Window("usage-targets-deadline", "Atteinte des cibles d'usage des domaines", None, D(2023, 1, 1), "before",
                    "Instruction, §5.3.1 : « avant le 1er janvier 2023 »")
    last = [DomainInput(code="D2", target_deadline=D(2022, 12, 31))]
    assert domain_input_errors(last, today=D(2020, 3, 2), targets_window=window) == {}
    after = [DomainInput(code="D2", target_deadline=D(2023, 1, 1))]
    assert domain_input_errors(after, today=D(2020, 3, 2), targets_window=window) == {"D2": [
        "D2 : l'échéance d'atteinte des cibles (01/01/2023) dépasse la date limite du programme : cibles d'usage "
        "atteintes au plus tard le 31/12/2022 (Instruction, §5.3.1)."
    ]}

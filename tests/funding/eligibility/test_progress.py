"""Progress selectors (funding.eligibility.progress): HOP'EN prerequisites (§5.3.1, annex 2 §2), Hôpital numérique
prerequisites (§5.3.1 note 3) and the usage targets of a domain (annex 2 §2 « les valeurs cibles d'usage
atteints […] toutes activités confondues »), from declared values entered through the indicator services."""

import datetime

import pytest

from tests.factories_dossiers import hopen_programme

from funding.eligibility.progress import domain_targets_reached, hn_prerequisites_reached, prerequisites_reached
from hopen.models import Role
from indicators.models import PriorProgrammeResult, Programme
from tests.factories import EstablishmentFactory, user_with_role
from tests.funding.dossier_scene import add_document
from tests.indicators.conftest import declared, existence, indicator, not_applicable, rate

PREREQUISITE_CODES = (
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2",
    "P4.3",
)
D5_CODES = ("D5.1", "D5.2", "D5.3")
LATER = datetime.date(2020, 9, 15)


class Staff:
    """An establishment with its editor and its director (who declares)."""

    def __init__(self, establishment):
        self.establishment = establishment
        self.editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=establishment)
        self.director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)

    @property
    def pk(self):
        return self.establishment.pk

    def declare(self, code, reached=True, *, day=datetime.date(2020, 3, 15), document=None):
        """Declare `code` reached or not (a rate of 100 % or 0 %, or an existence), or "na" for not applicable; a
        prerequisite with its justificatory document unless told (§5.3.1: values and documents)."""
        if reached == "na":
            data = not_applicable(day=day)
        elif indicator(code).target_kind == "rate":
            data = rate(100 if reached else 0, 100, day=day)
        else:
            data = existence(bool(reached), day=day)
        value = declared(self.establishment, code, data, editor=self.editor, director=self.director)
        if document if document is not None else code.startswith("P"):
            add_document(value, by=self.editor)
        return value


@pytest.fixture
def hospital(tenants, catalogue):
    return Staff(tenants.member)


@pytest.fixture
def clinic(tenants, catalogue):
    return Staff(tenants.clinic)


def hn(establishment, kind="prerequisites_reached", achieved=True, programme="HN"):
    return PriorProgrammeResult.objects.create(
        establishment=establishment, programme=Programme.objects.get(code=programme), kind=kind, achieved=achieved
    )


# --- HOP'EN prerequisites ---------------------------------------------------------------------------------------


def test_prerequisites_all_fifteen_reached_are_reached(hospital, clinic):
    for code in PREREQUISITE_CODES:
        hospital.declare(code)
    assert prerequisites_reached([hospital.pk, clinic.pk], programme=hopen_programme()) == {hospital.pk: True, clinic.pk: False}


def test_5_3_1_prerequisites_reached_need_their_justificatory_documents(hospital):
    """§5.3.1: « la valeur des indicateurs et la totalité des pièces justificatives » — the same rule as eligibility
    (`funding.eligibility.prerequisites`): one prerequisite declared reached without its document is not reached."""
    for code in PREREQUISITE_CODES:
        hospital.declare(code, document=code != "P2.5")
    assert prerequisites_reached([hospital.pk], programme=hopen_programme()) == {hospital.pk: False}
    hospital.declare("P2.5", day=LATER)
    assert prerequisites_reached([hospital.pk], programme=hopen_programme()) == {hospital.pk: True}


def test_prerequisites_one_not_reached_is_not_reached(hospital):
    for code in PREREQUISITE_CODES:
        hospital.declare(code, reached=code != "P3.4")
    assert prerequisites_reached([hospital.pk], programme=hopen_programme()) == {hospital.pk: False}


def test_prerequisites_one_missing_is_not_reached(hospital):
    for code in PREREQUISITE_CODES[1:]:
        hospital.declare(code)
    assert prerequisites_reached([hospital.pk], programme=hopen_programme()) == {hospital.pk: False}


def test_prerequisites_the_latest_declared_value_counts(hospital):
    for code in PREREQUISITE_CODES:
        hospital.declare(code)
    hospital.declare("P1.1", reached=False, day=LATER)
    assert prerequisites_reached([hospital.pk], programme=hopen_programme()) == {hospital.pk: False}
    hospital.declare("P1.1", reached=True, day=LATER + datetime.timedelta(days=30))
    assert prerequisites_reached([hospital.pk], programme=hopen_programme()) == {hospital.pk: True}


def test_prerequisites_of_no_establishment_is_empty_without_query(django_assert_num_queries, catalogue):
    programme = hopen_programme()
    with django_assert_num_queries(0):
        assert prerequisites_reached([], programme=programme) == {}


# --- Hôpital numérique prerequisites ----------------------------------------------------------------------------


def test_hn_prerequisites_reached_from_the_osis_result(tenants, catalogue):
    hn(tenants.member, achieved=True)
    hn(tenants.clinic, achieved=False)
    hn(tenants.support, kind="indicators_complete", achieved=True)  # another result: not the prerequisites
    ids = [tenants.member.pk, tenants.clinic.pk, tenants.support.pk, tenants.foreign.pk]
    assert hn_prerequisites_reached(ids, programme=hopen_programme()) == {
        tenants.member.pk: True, tenants.clinic.pk: False, tenants.support.pk: False, tenants.foreign.pk: False,
    }


def test_hn_prerequisites_of_another_programme_do_not_count(tenants, catalogue):
    hn(tenants.member, programme="HOPEN")
    assert hn_prerequisites_reached([tenants.member.pk], programme=hopen_programme()) == {tenants.member.pk: False}


# --- Usage targets of a domain ----------------------------------------------------------------------------------


def test_domain_targets_reached_when_every_indicator_of_the_group_is_reached(hospital, clinic):
    for code in D5_CODES:
        hospital.declare(code)
    clinic.declare("D5.1")
    clinic.declare("D5.2", reached=False)
    clinic.declare("D5.3")
    assert domain_targets_reached([hospital.pk, clinic.pk], ["D5", "D2"], programme=hopen_programme()) == {
        (hospital.pk, "D5"): True, (hospital.pk, "D2"): False, (clinic.pk, "D5"): False, (clinic.pk, "D2"): False,
    }


def test_domain_targets_one_not_applicable_and_the_others_reached_are_reached(hospital):
    hospital.declare("D5.1")
    hospital.declare("D5.2", reached="na")
    hospital.declare("D5.3")
    assert domain_targets_reached([hospital.pk], ["D5"], programme=hopen_programme()) == {(hospital.pk, "D5"): True}


def test_domain_targets_a_missing_indicator_leaves_them_not_reached(hospital):
    hospital.declare("D5.1")
    hospital.declare("D5.3")
    assert domain_targets_reached([hospital.pk], ["D5"], programme=hopen_programme()) == {(hospital.pk, "D5"): False}


def test_domain_targets_the_latest_declared_value_counts(hospital):
    for code in D5_CODES:
        hospital.declare(code, reached=code != "D5.2")
    assert domain_targets_reached([hospital.pk], ["D5"], programme=hopen_programme()) == {(hospital.pk, "D5"): False}
    hospital.declare("D5.2", day=LATER)
    assert domain_targets_reached([hospital.pk], ["d5"], programme=hopen_programme()) == {(hospital.pk, "D5"): True}


def test_domain_targets_an_unknown_domain_is_not_reached(hospital):
    assert domain_targets_reached([hospital.pk], ["D9"], programme=hopen_programme()) == {(hospital.pk, "D9"): False}


# --- A constant number of queries -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 12])
def test_selectors_use_a_constant_number_of_queries(tenants, catalogue, django_assert_num_queries, count):
    hospital = Staff(tenants.member)
    for code in PREREQUISITE_CODES + D5_CODES:
        hospital.declare(code)
    ids = [hospital.pk] + [EstablishmentFactory(region=tenants.region_a).pk for _ in range(count - 1)]
    programme = hopen_programme()
    with django_assert_num_queries(1):  # the attainment state, kept on every declaration
        reached = prerequisites_reached(ids, programme=programme)
    with django_assert_num_queries(1):
        hn_prerequisites_reached(ids, programme=programme)
    with django_assert_num_queries(1):
        targets = domain_targets_reached(ids, ["D1", "D2", "D3", "D4", "D5", "D6", "D7"], programme=programme)
    assert reached[hospital.pk] and sum(reached.values()) == 1
    assert targets[(hospital.pk, "D5")] and sum(targets.values()) == 1
    assert len(targets) == 7 * count

"""Eligibility of a project on a domain — instruction DGOS §5.3.1 « Les conditions de financement » and its note 3
(../shared/reference/000_eb8a7a77b11ba617.txt, lines ~345–430).

First the pure function (`funding.eligibility.rules.eligibility`), one rule at a time, each with the case where it
holds and the case where it does not; then the selector that gathers its inputs from the database
(`funding.eligibility.selectors`), then the partial shown on the establishment's page.
"""

import dataclasses
import datetime
import re

import pytest

from tests.factories_dossiers import hopen_programme
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from funding.eligibility.rules import (
    ApplicationFacts,
    Effect,
    EligibilityInputs,
    GhtFacts,
    HnResults,
    IndicatorState,
    VendorFacts,
    VerdictsByDomain,
    eligibility,
)
from funding.eligibility.selectors import Application, eligibility_for_establishment, establishment_eligibility
from funding.models import SoftwareVendor
from hopen.models import Role
from indicators.attainment import Attainment
from indicators.models import Evidence, IndicatorValue, PriorProgrammeResult, Programme, ProgrammeDeadline
from indicators.services import value_correct, value_declare
from tests.factories import attainment_synced, user_with_role
from tests.indicators.conftest import indicator, rate

R, N, NA, M = Attainment.REACHED, Attainment.NOT_REACHED, Attainment.NOT_APPLICABLE, Attainment.MISSING
BEFORE = datetime.date(2020, 12, 31)
DEADLINE = datetime.date(2021, 1, 1)
PREREQUISITE_CODES = (
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2",
    "P4.3",
)
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


# --- Pure function: inputs where every rule holds -------------------------------------------------------------------


def states(domain, *attainments, documents=0):
    return tuple(IndicatorState(f"{domain}.{i}", a, documents) for i, a in enumerate(attainments, start=1))


PREREQUISITES_OK = tuple(IndicatorState(code, R, 1) for code in PREREQUISITE_CODES)
HN_OK = HnResults(prerequisites_reached=True, indicators_complete=True)
GOOD_VENDOR = VendorFacts("Éditeur référencé", referenced=True, qhn_engaged=True)
SUPPORT_OK = GhtFacts(
    is_support=True, master_plan_uploaded=True, convergence_indicators_entered=True, cio_validated=True
)


def make(domain="D2", *, indicators=None, **changes) -> EligibilityInputs:
    """Inputs where every rule of §5.3.1 holds (two indicators not reached, all prerequisites reached and justified,
    HN results complete, an application naming a referenced vendor), then `changes`."""
    base = EligibilityInputs(
        domain=domain,
        today=BEFORE,
        derogatory_deadline=DEADLINE,
        indicators=indicators if indicators is not None else states(domain, N, N, R, R),
        prerequisites=PREREQUISITES_OK,
        hn=HN_OK,
        application=ApplicationFacts(vendors=(GOOD_VENDOR,)),
    )
    return dataclasses.replace(base, **changes)


def reasons_of(verdict, code):
    return [reason for reason in verdict.reasons if reason.code == code]


def test_inputs_where_every_rule_holds_are_eligible_and_fundable_without_reason():
    verdict = eligibility(make())
    assert (verdict.domain, verdict.eligible_to_apply, verdict.fundable, verdict.reasons) == ("D2", True, True, ())
    assert verdict.status == "fundable"


def test_unknown_domain_is_refused():
    with pytest.raises(ValueError, match="Domaine inconnu"):
        eligibility(make("D8"))


# --- Rule 1: « au moins deux indicateurs du domaine ne sont pas atteints d'après les saisies sur oSIS » ------------


def test_5_3_1_two_indicators_not_reached_project_is_eligible():
    verdict = eligibility(make(indicators=states("D2", N, N, R, M)))
    assert verdict.eligible_to_apply
    assert not reasons_of(verdict, "fewer_than_two_indicators_not_reached")


def test_5_3_1_two_indicators_not_reached_one_only_is_ineligible():
    verdict = eligibility(make(indicators=states("D2", N, R, R, R)))
    (reason,) = reasons_of(verdict, "fewer_than_two_indicators_not_reached")
    assert (reason.section, reason.effect) == ("5.3.1", Effect.INELIGIBLE)
    assert reason.message == (
        "Le projet doit encore avoir au moins deux indicateurs du domaine dont la cible reste à atteindre, d'après "
        "les valeurs déclarées ; ici, seul D2.1 n'atteint pas encore sa cible."
    )
    assert not verdict.eligible_to_apply and not verdict.fundable
    assert verdict.status == "ineligible"


def test_5_3_1_two_indicators_not_reached_a_missing_value_does_not_count():
    """« d'après les saisies sur oSIS »: an indicator without a declared value is not « non atteint »."""
    verdict = eligibility(make(indicators=states("D2", N, M, M, R)))
    (reason,) = reasons_of(verdict, "fewer_than_two_indicators_not_reached")
    assert "2 indicateurs sans valeur déclarée (D2.2, D2.3) ne comptent pas" in reason.message
    assert not verdict.eligible_to_apply


def test_5_3_1_two_indicators_not_reached_nothing_declared_is_ineligible():
    verdict = eligibility(make(indicators=states("D2", M, M, M, M)))
    (reason,) = reasons_of(verdict, "fewer_than_two_indicators_not_reached")
    assert "ici, aucun n'a encore sa cible à atteindre" in reason.message
    assert "4 indicateurs sans valeur déclarée" in reason.message
    # Issue 16: said positively, never « … ne sont pas atteints … : aucun indicateur non atteint ».
    assert "ne sont pas atteints" not in reason.message and "aucun indicateur non atteint" not in reason.message


def test_5_3_1_finished_project_all_indicators_reached_is_ineligible():
    """« Les projets terminés (mesurés par l'atteinte des valeurs cibles pour l'ensemble des indicateurs d'usage)
    sont en revanche inéligibles »."""
    verdict = eligibility(make(indicators=states("D2", R, R, R, R)))
    assert verdict.codes == ["project_finished"]
    assert not verdict.eligible_to_apply


def test_5_3_1_finished_project_one_not_applicable_and_the_others_reached_is_finished():
    verdict = eligibility(make("D5", indicators=states("D5", R, NA, R)))
    assert verdict.codes == ["project_finished"]


def test_5_3_1_finished_project_not_finished_while_a_value_is_missing():
    verdict = eligibility(make(indicators=states("D2", R, R, R, M)))
    assert "project_finished" not in verdict.codes
    assert "fewer_than_two_indicators_not_reached" in verdict.codes


# --- Rule 2: « Si plus d'un indicateur par domaine est non applicable/non concerné […] le projet est inéligible » --


def test_5_3_1_not_applicable_one_indicator_is_admitted():
    verdict = eligibility(make(indicators=states("D2", N, N, NA, R)))
    assert verdict.eligible_to_apply and verdict.reasons == ()


def test_5_3_1_not_applicable_more_than_one_indicator_is_ineligible():
    verdict = eligibility(make(indicators=states("D2", N, N, NA, NA)))
    (reason,) = reasons_of(verdict, "more_than_one_indicator_not_applicable")
    assert (reason.section, reason.effect) == ("5.3.1", Effect.INELIGIBLE)
    assert reason.message == (
        "Plus d'un indicateur du domaine est déclaré non applicable (D2.3, D2.4) : le projet est inéligible pour "
        "ce domaine (un seul indicateur non applicable y est compatible avec l'éligibilité)."
    )
    assert not verdict.eligible_to_apply


# --- Rule 3: « L'absence d'aide au titre du programme Hôpital Numérique dans le domaine […] excepté […] GHT » ------


def test_5_3_1_hn_funding_received_in_another_domain_is_no_obstacle():
    verdict = eligibility(make(hn=dataclasses.replace(HN_OK, funding_received=frozenset({"D3"}))))
    assert verdict.eligible_to_apply and verdict.reasons == ()


def test_5_3_1_hn_funding_received_in_the_domain_is_ineligible():
    verdict = eligibility(make(hn=dataclasses.replace(HN_OK, funding_received=frozenset({"D2"}))))
    (reason,) = reasons_of(verdict, "hn_funding_already_received")
    assert reason.effect == Effect.INELIGIBLE
    assert "stratégie de convergence du GHT" in reason.message
    assert not verdict.eligible_to_apply


def test_5_3_1_hn_funding_received_exception_for_a_ght_convergence_reapplication():
    verdict = eligibility(make(
        hn=dataclasses.replace(HN_OK, funding_received=frozenset({"D2"})),
        ght=SUPPORT_OK,
        application=ApplicationFacts(vendors=(GOOD_VENDOR,), convergence_reapplication=True),
    ))
    assert verdict.codes == ["hn_funding_convergence_exception"]
    assert verdict.reasons[0].effect == Effect.INFORMATION
    assert verdict.eligible_to_apply and verdict.fundable


def test_5_3_1_hn_funding_received_exception_needs_a_ght():
    verdict = eligibility(make(
        hn=dataclasses.replace(HN_OK, funding_received=frozenset({"D2"})),
        application=ApplicationFacts(vendors=(GOOD_VENDOR,), convergence_reapplication=True),
    ))
    (reason,) = reasons_of(verdict, "hn_funding_already_received")
    assert "partie à aucun GHT" in reason.message
    assert not verdict.eligible_to_apply


def test_5_3_1_hn_funding_received_without_application_the_exception_is_not_declared():
    verdict = eligibility(make(
        hn=dataclasses.replace(HN_OK, funding_received=frozenset({"D2"})), application=None,
        ght=SUPPORT_OK,
    ))
    assert "hn_funding_already_received" in verdict.codes


# --- Rule 4: D6 and D7 « ouverts aux établissements / GHT ayant atteint les cibles d'usage HN […] D2 ou D3 » ------


@pytest.mark.parametrize("domain", ["D6", "D7"])
@pytest.mark.parametrize("hn_domain", ["D2", "D3"])
def test_5_3_1_d6_d7_open_after_hn_usage_targets_of_d2_or_d3(domain, hn_domain):
    hn = dataclasses.replace(HN_OK, usage_targets_reached=frozenset({hn_domain}))
    verdict = eligibility(make(domain, hn=hn))
    assert verdict.eligible_to_apply and verdict.reasons == ()


@pytest.mark.parametrize("domain", ["D6", "D7"])
def test_5_3_1_d6_d7_closed_without_hn_usage_targets_of_d2_or_d3(domain):
    hn = dataclasses.replace(HN_OK, usage_targets_reached=frozenset({"D1", "D4"}))
    verdict = eligibility(make(domain, hn=hn))
    (reason,) = reasons_of(verdict, "d6_d7_require_hn_d2_or_d3")
    assert reason.effect == Effect.INELIGIBLE
    assert "conjointement avec D2 ou D3" in reason.message
    assert not verdict.eligible_to_apply


def test_5_3_1_d6_d7_joint_candidature_with_d3_in_the_same_application():
    """« Il est, en revanche, possible de s'engager sur ces domaines de façon conjointe »."""
    verdict = eligibility(make("D7", joint_domains=frozenset({"D3", "D4"})))
    assert verdict.codes == ["d6_d7_joint_candidature"]
    assert "conjointement avec D3" in verdict.reasons[0].message
    assert verdict.eligible_to_apply and verdict.fundable


def test_5_3_1_d6_d7_joint_candidature_with_another_domain_does_not_open_d6():
    verdict = eligibility(make("D6", joint_domains=frozenset({"D1"})))
    assert "d6_d7_require_hn_d2_or_d3" in verdict.codes


def test_5_3_1_d6_d7_rule_does_not_concern_the_other_domains():
    assert eligibility(make("D4")).reasons == ()


# --- Rule 5: « La saisie de l'ensemble des indicateurs (prérequis et domaines) Hôpital Numérique dans oSIS » -------


def test_5_3_1_hn_indicators_all_entered_is_no_obstacle():
    assert "hn_indicators_incomplete" not in eligibility(make()).codes


@pytest.mark.parametrize("complete, wording", [(False, "n'ont pas tous été saisis"), (None, "Aucun résultat")])
def test_5_3_1_hn_indicators_not_all_entered_is_ineligible(complete, wording):
    verdict = eligibility(make(hn=dataclasses.replace(HN_OK, indicators_complete=complete)))
    (reason,) = reasons_of(verdict, "hn_indicators_incomplete")
    assert reason.effect == Effect.INELIGIBLE and wording in reason.message
    assert not verdict.eligible_to_apply


# --- Rule 6: HN prerequisites, note 3: not needed to pre-apply, needed before funding ------------------------------


def test_5_3_1_note_3_hn_prerequisites_reached_is_fundable():
    verdict = eligibility(make())
    assert verdict.fundable and "hn_prerequisites_not_reached" not in verdict.codes


@pytest.mark.parametrize("reached", [False, None])
def test_5_3_1_note_3_hn_prerequisites_not_reached_may_apply_but_is_not_fundable(reached):
    """« L'atteinte des prérequis Hôpital Numérique n'est pas indispensable pour pré-candidater […]. En revanche, les
    financements ne pourront être délégués que lorsque ces prérequis seront atteints »."""
    verdict = eligibility(make(hn=dataclasses.replace(HN_OK, prerequisites_reached=reached)))
    (reason,) = reasons_of(verdict, "hn_prerequisites_not_reached")
    assert (reason.section, reason.effect) == ("5.3.1, note 3", Effect.NOT_FUNDABLE)
    assert "pré-candidature reste possible" in reason.message
    assert verdict.eligible_to_apply and not verdict.fundable
    assert verdict.status == "eligible"


def test_5_3_1_an_ineligible_project_is_never_fundable():
    hn = dataclasses.replace(HN_OK, prerequisites_reached=None)
    verdict = eligibility(make(indicators=states("D2", R, R, R, R), hn=hn))
    assert not verdict.eligible_to_apply and not verdict.fundable


# --- Rule 7: HOP'EN prerequisites, declared and justified at deposit or before the derogatory deadline -----------


def with_prerequisite(code, **changes):
    return tuple(dataclasses.replace(s, **changes) if s.code == code else s for s in PREREQUISITES_OK)


def test_5_3_1_hopen_prerequisites_declared_reached_and_justified_are_compliant():
    verdict = eligibility(make(today=datetime.date(2022, 6, 1)))
    assert verdict.fundable and verdict.reasons == ()


@pytest.mark.parametrize(
    "prerequisites, wording",
    [
        (with_prerequisite("P2.4", attainment=M, documents=0), "1 indicateur non déclaré (P2.4)"),
        (with_prerequisite("P3.3", attainment=N), "1 indicateur non atteint (P3.3)"),
        (with_prerequisite("P4.1", documents=0), "1 indicateur sans pièce justificative (P4.1)"),
        (PREREQUISITES_OK[:13], "2 indicateurs non déclarés"),
    ],
)
def test_5_3_1_hopen_prerequisites_not_compliant_before_the_deadline_is_pending(prerequisites, wording):
    """« […] au moment du dépôt de dossier ou, de façon dérogatoire, avant le 1er janvier 2021 dernier délai »."""
    verdict = eligibility(make(prerequisites=prerequisites, today=BEFORE))
    (reason,) = reasons_of(verdict, "hopen_prerequisites_pending")
    assert reason.effect == Effect.INFORMATION
    assert wording in reason.message and "avant le 01/01/2021" in reason.message
    assert verdict.eligible_to_apply and verdict.fundable


@pytest.mark.parametrize("today", [DEADLINE, datetime.date(2021, 6, 30)])
def test_5_3_1_hopen_prerequisites_not_compliant_from_the_deadline_is_not_fundable(today):
    verdict = eligibility(make(prerequisites=with_prerequisite("P1.1", documents=0), today=today))
    (reason,) = reasons_of(verdict, "hopen_prerequisites_not_met")
    assert reason.effect == Effect.NOT_FUNDABLE and "délai dérogatoire échu" in reason.message
    assert verdict.eligible_to_apply and not verdict.fundable


def test_5_3_1_hopen_prerequisites_deadline_comes_from_the_inputs():
    verdict = eligibility(make(
        prerequisites=with_prerequisite("P1.1", documents=0), today=BEFORE,
        derogatory_deadline=datetime.date(2020, 7, 1),
    ))
    assert "hopen_prerequisites_not_met" in verdict.codes


# --- Rule 8: vendors referenced in RELIMS and engaged in the QHN certification ------------------------------------


def test_5_3_1_vendors_referenced_and_engaged_are_accepted():
    assert eligibility(make()).reasons == ()


def test_5_3_1_vendors_without_application_are_to_check_at_deposit():
    verdict = eligibility(make(application=None))
    assert verdict.codes == ["vendors_to_check_at_deposit"]
    assert verdict.reasons[0].effect == Effect.INFORMATION
    assert verdict.eligible_to_apply and verdict.fundable


def test_5_3_1_vendors_none_named_in_the_application_is_informative():
    # Issue 13: a draft may name no vendor yet — « à vérifier au dépôt »; the transmission refuses a domain naming
    # none (funding.dossiers.gates.vendors_named_gate, code vendors_not_named, the single place of that rule).
    verdict = eligibility(make(application=ApplicationFacts(vendors=())))
    assert verdict.codes == ["vendors_to_check_at_deposit"] and verdict.eligible_to_apply and verdict.fundable
    assert verdict.reasons[0].effect == Effect.INFORMATION


def test_5_3_1_vendors_not_referenced_in_relims_is_ineligible():
    vendors = (GOOD_VENDOR, VendorFacts("Logiciel Inconnu", referenced=False, qhn_engaged=True))
    verdict = eligibility(make(application=ApplicationFacts(vendors=vendors)))
    (reason,) = reasons_of(verdict, "vendors_not_referenced_in_relims")
    assert reason.effect == Effect.INELIGIBLE and "Logiciel Inconnu" in reason.message
    assert "Éditeur référencé" not in reason.message
    assert not verdict.eligible_to_apply


def test_5_3_1_vendors_not_engaged_in_qhn_is_ineligible():
    vendors = (VendorFacts("Éditeur Sans Label", referenced=True, qhn_engaged=False),)
    verdict = eligibility(make(application=ApplicationFacts(vendors=vendors)))
    assert verdict.codes == ["vendors_not_qhn_engaged"]
    assert "Qualité Hôpital numérique" in verdict.reasons[0].message
    assert not verdict.eligible_to_apply


# --- Rule 9: GHT members also justify the master plan, convergence indicators, support's validation, GHT CIO ------

GHT_OK = dataclasses.replace(SUPPORT_OK, is_support=False)
VALIDATED = ApplicationFacts(vendors=(GOOD_VENDOR,), validated_by_support=True)


def test_5_3_1_ght_rules_do_not_concern_an_establishment_outside_a_ght():
    assert eligibility(make(ght=None)).reasons == ()


def test_5_3_1_ght_member_with_every_justification_is_fundable():
    verdict = eligibility(make(ght=GHT_OK, application=VALIDATED))
    assert verdict.fundable and verdict.reasons == ()


@pytest.mark.parametrize(
    "missing, code",
    [
        ("master_plan_uploaded", "ght_master_plan_missing"),
        ("convergence_indicators_entered", "ght_convergence_indicators_missing"),
        ("cio_validated", "ght_cio_not_validated"),
    ],
)
def test_5_3_1_ght_member_missing_a_justification_is_not_fundable(missing, code):
    ght = dataclasses.replace(GHT_OK, **{missing: False})
    verdict = eligibility(make(ght=ght, application=VALIDATED))
    (reason,) = reasons_of(verdict, code)
    assert (reason.section, reason.effect) == ("5.3.1 (GHT)", Effect.NOT_FUNDABLE)
    assert verdict.eligible_to_apply and not verdict.fundable


def test_5_3_1_ght_member_application_not_validated_by_the_support_is_ineligible():
    verdict = eligibility(make(ght=GHT_OK, application=ApplicationFacts(vendors=(GOOD_VENDOR,))))
    assert verdict.codes == ["ght_application_not_validated_by_support"]
    assert not verdict.eligible_to_apply


def test_5_3_1_ght_member_without_application_the_support_validation_is_to_check():
    verdict = eligibility(make(ght=GHT_OK, application=None))
    assert set(verdict.codes) == {"ght_support_validation_to_check", "vendors_to_check_at_deposit"}
    assert verdict.fundable


def test_5_3_1_ght_support_establishment_validates_its_own_application():
    not_validated = ApplicationFacts(vendors=(GOOD_VENDOR,), validated_by_support=False)
    verdict = eligibility(make(ght=dataclasses.replace(GHT_OK, is_support=True), application=not_validated))
    assert verdict.reasons == ()


def test_every_reason_has_a_code_a_section_and_a_french_message():
    verdict = eligibility(EligibilityInputs(
        domain="D6", today=DEADLINE, derogatory_deadline=DEADLINE, indicators=states("D6", R, NA, NA),
        hn=HnResults(funding_received=frozenset({"D6"})), ght=GhtFacts(),
        application=ApplicationFacts(vendors=(VendorFacts("X", False, False),)),
    ))
    assert len(verdict.reasons) >= 10
    for reason in verdict.reasons:
        assert re.fullmatch(r"[a-z0-9_]+", reason.code)
        assert reason.section.startswith("5.3.1")
        assert reason.message.endswith(".") and reason.message[0].isupper()
    assert len(set(verdict.codes)) == len(verdict.codes)


# --- Selector: inputs from the database ---------------------------------------------------------------------------


@pytest.fixture
def private_media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)},
    }}
    return tmp_path


def declare_row(establishment, code, *, reached=True, by, day=datetime.date(2020, 3, 15), kind=None):
    """A declared value written directly (the services are exercised elsewhere): reached or not."""
    ind = indicator(code)
    kind = kind or ind.target_kind
    fields = {"kind": kind}
    if kind == "rate":
        fields |= {"numerator": 100 if reached else 0, "denominator": 100}
    elif kind == "existence":
        fields |= {"exists": reached}
    else:
        fields |= {"not_applicable_reason": "Activité absente"}
    return attainment_synced(IndicatorValue.objects.create(
        establishment=establishment, indicator=ind, measured_on=day, status="declared", created_by=by,
        declared_by=by, declared_at=timezone.now(), **fields,
    ))


def add_document(value, *, by, deleted=False, infected=False):
    return attainment_synced(Evidence.objects.create(
        value=value, file=ContentFile(PDF, name="piece.pdf"), original_name="piece.pdf", size=len(PDF),
        content_type="application/pdf", sha256="a" * 64, uploaded_by=by,
        scan_status="infected" if infected else "clean",
        deleted_at=timezone.now() if deleted else None, deleted_by=by if deleted else None,
    ))


def hn_result(establishment, kind, domain="", achieved=True):
    return PriorProgrammeResult.objects.create(
        establishment=establishment, programme=Programme.objects.get(code="HN"), kind=kind, domain_code=domain,
        achieved=achieved,
    )


@pytest.fixture
def scene(tenants, catalogue, private_media):
    """The clinic (outside any GHT): HN complete and reached, the 15 prerequisites reached with a document,
    D2.2 and D2.3 not reached, D2.4 reached; D3 all reached (finished)."""
    clinic = tenants.clinic
    tenants.clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=clinic)
    by = tenants.clinic_director
    hn_result(clinic, "prerequisites_reached")
    hn_result(clinic, "indicators_complete")
    tenants.prerequisites = {}
    for code in PREREQUISITE_CODES:
        value = declare_row(clinic, code, by=by)
        add_document(value, by=by)
        tenants.prerequisites[code] = value
    declare_row(clinic, "D2.2", reached=False, by=by)
    declare_row(clinic, "D2.3", reached=False, by=by)
    declare_row(clinic, "D2.4", by=by)
    for code in ("D3.1", "D3.2", "D3.3", "D3.4", "D3.5"):
        declare_row(clinic, code, by=by)
    return tenants


def test_selector_gives_a_verdict_per_domain_from_the_declared_values(scene):
    verdicts = eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())
    assert list(verdicts) == ["D1", "D2", "D3", "D4", "D5", "D6", "D7"]
    assert verdicts["D2"].label == "Développer le dossier patient informatisé et interopérable et le DMP"
    assert verdicts["D2"].eligible_to_apply and verdicts["D2"].fundable
    assert verdicts["D2"].codes == ["vendors_to_check_at_deposit"]
    assert verdicts["D3"].codes[0] == "project_finished"
    assert "fewer_than_two_indicators_not_reached" in verdicts["D1"].codes  # nothing declared in D1


def test_selector_uses_the_latest_declared_value(scene):
    """A declared correction supersedes the earlier version: D2.2 reached now, one indicator not reached left."""
    director = scene.clinic_director
    earlier = IndicatorValue.objects.get(establishment=scene.clinic, indicator__code="D2.2")
    correction = value_correct(value=earlier, reason="Erreur de saisie", data=rate(99, 100), by=director)
    value_declare(value=correction, by=director)
    verdicts = eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())
    assert "fewer_than_two_indicators_not_reached" in verdicts["D2"].codes
    declare_row(scene.clinic, "D2.5", reached=False, by=director, day=datetime.date(2020, 6, 1))
    assert eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())["D2"].eligible_to_apply


def test_selector_not_applicable_values_are_counted_per_domain(scene):
    declare_row(scene.clinic, "D2.5", by=scene.clinic_director, kind="not_applicable")
    declare_row(scene.clinic, "D2.4", by=scene.clinic_director, kind="not_applicable", day=datetime.date(2020, 6, 1))
    verdict = eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())["D2"]
    assert "more_than_one_indicator_not_applicable" in verdict.codes


@pytest.mark.parametrize("deleted, infected", [(True, False), (False, True)])
def test_selector_a_deleted_or_infected_document_does_not_justify_a_prerequisite(scene, deleted, infected):
    value = scene.prerequisites["P3.2"]
    Evidence.objects.filter(value=value).delete()  # add_document below refreshes the state
    add_document(value, by=scene.clinic_director, deleted=deleted, infected=infected)
    verdicts = eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())
    (reason,) = reasons_of(verdicts["D2"], "hopen_prerequisites_pending")
    assert "1 indicateur sans pièce justificative (P3.2)" in reason.message
    verdicts = eligibility_for_establishment(scene.clinic, today=DEADLINE, programme=hopen_programme())
    assert "hopen_prerequisites_not_met" in verdicts["D2"].codes and not verdicts["D2"].fundable


def test_selector_reads_the_derogatory_deadline_from_the_programme_calendar(scene):
    Evidence.objects.filter(value=scene.prerequisites["P1.1"]).delete()
    attainment_synced(scene.prerequisites["P1.1"])
    assert "hopen_prerequisites_pending" in eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())["D2"].codes
    ProgrammeDeadline.objects.filter(code="prerequisites-derogatory-deadline").update(date=datetime.date(2020, 6, 1))
    assert "hopen_prerequisites_not_met" in eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())["D2"].codes


def test_selector_hn_results_use_hopen_domain_codes(scene):
    hn_result(scene.clinic, "funding_received", "D2")
    hn_result(scene.clinic, "usage_targets_reached", "D3")
    PriorProgrammeResult.objects.filter(establishment=scene.clinic, kind="prerequisites_reached").update(achieved=False)
    verdicts = eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())
    assert "hn_funding_already_received" in verdicts["D2"].codes
    assert "d6_d7_require_hn_d2_or_d3" not in verdicts["D6"].codes
    assert "hn_prerequisites_not_reached" in verdicts["D4"].codes


def test_selector_without_hn_results_the_hn_criteria_are_not_established(tenants, catalogue):
    verdicts = eligibility_for_establishment(tenants.clinic, today=BEFORE, programme=hopen_programme())
    assert {"hn_indicators_incomplete", "hn_prerequisites_not_reached"} <= set(verdicts["D2"].codes)


def test_selector_application_vendors_are_looked_up_in_relims(scene):
    SoftwareVendor.objects.create(name="Éditeur Référencé", relims_reference="R-001", qhn_engaged=True)
    SoftwareVendor.objects.create(name="Éditeur Sans Label", relims_reference="R-002", qhn_engaged=False)
    vendors = ("éditeur référencé", "Éditeur Sans Label", "Inconnu SA")
    application = Application(domains=frozenset({"D2"}), vendors=vendors)
    verdict = eligibility_for_establishment(scene.clinic, application=application, today=BEFORE, programme=hopen_programme())["D2"]
    assert set(verdict.codes) == {"vendors_not_referenced_in_relims", "vendors_not_qhn_engaged"}
    assert "Inconnu SA" in reasons_of(verdict, "vendors_not_referenced_in_relims")[0].message
    assert "Éditeur Sans Label" in reasons_of(verdict, "vendors_not_qhn_engaged")[0].message
    good = Application(domains=frozenset({"D2"}), vendors=("Éditeur Référencé",))
    assert eligibility_for_establishment(scene.clinic, application=good, today=BEFORE, programme=hopen_programme())["D2"].reasons == ()


def test_selector_d6_joint_candidature_needs_d2_itself_eligible(scene):
    for code in ("D6.1", "D6.2"):
        declare_row(scene.clinic, code, reached=False, by=scene.clinic_director)
    vendor = SoftwareVendor.objects.create(name="Éditeur", relims_reference="R-1", qhn_engaged=True)
    with_d2 = Application(domains=frozenset({"D2", "D6"}), vendors=(vendor,))
    verdicts = eligibility_for_establishment(scene.clinic, application=with_d2, today=BEFORE, programme=hopen_programme())
    assert verdicts["D6"].codes == ["d6_d7_joint_candidature"] and verdicts["D6"].eligible_to_apply
    with_d3 = Application(domains=frozenset({"D3", "D6"}), vendors=(vendor,))  # D3 is finished: ineligible
    verdicts = eligibility_for_establishment(scene.clinic, application=with_d3, today=BEFORE, programme=hopen_programme())
    assert "d6_d7_require_hn_d2_or_d3" in verdicts["D6"].codes


def test_selector_ght_member_reads_the_ght_it_governance(tenants, catalogue):
    member, director = tenants.member, tenants.director
    verdict = eligibility_for_establishment(member, today=BEFORE, programme=hopen_programme())["D2"]
    assert {"ght_master_plan_missing", "ght_convergence_indicators_missing", "ght_cio_not_validated",
            "ght_support_validation_to_check"} <= set(verdict.codes)
    # What the GHT page writes (funding.ght): a validated SDSI, a validated CIO, every GHT-level value declared.
    from tests.funding.ght.scene import complete_governance

    complete_governance(tenants.ght, director)
    verdict = eligibility_for_establishment(member, today=BEFORE, programme=hopen_programme())["D2"]
    assert not {"ght_master_plan_missing", "ght_convergence_indicators_missing", "ght_cio_not_validated"} & set(
        verdict.codes
    )
    not_validated = Application(vendors=(), validated_by_support=False)
    verdict = eligibility_for_establishment(member, application=not_validated, today=BEFORE, programme=hopen_programme())["D2"]
    assert "ght_application_not_validated_by_support" in verdict.codes
    support_verdict = eligibility_for_establishment(tenants.support, application=not_validated, today=BEFORE, programme=hopen_programme())["D2"]
    assert "ght_application_not_validated_by_support" not in support_verdict.codes


def test_selector_a_private_establishment_has_no_ght_requirement(tenants, catalogue):
    verdict = eligibility_for_establishment(tenants.clinic, today=BEFORE, programme=hopen_programme())["D2"]
    assert not [code for code in verdict.codes if code.startswith("ght_")]


def test_selector_makes_a_constant_number_of_queries(scene, django_assert_num_queries):
    programme = hopen_programme()
    application = Application(domains=frozenset({"D2", "D6"}), vendors=("A", "B"))
    with django_assert_num_queries(7):  # catalogue 3, values with documents 1, HN 1, deadline 1, vendors 1
        eligibility_for_establishment(scene.clinic, application=application, today=BEFORE, programme=programme)
    for code in ("D1.1", "D1.2", "D4.1", "D4.2", "D5.1", "D6.1", "D7.1"):
        add_document(declare_row(scene.clinic, code, reached=False, by=scene.clinic_director), by=scene.clinic_director)
    with django_assert_num_queries(7):
        eligibility_for_establishment(scene.clinic, application=application, today=BEFORE, programme=programme)
    with django_assert_num_queries(7):  # a GHT member: + its GHT and IT governance, no vendor named by name
        eligibility_for_establishment(scene.member, today=BEFORE, programme=programme)


def test_selector_for_a_user_answers_404_outside_the_scope(tenants, catalogue):
    from django.http import Http404

    establishment, verdicts = establishment_eligibility(tenants.ars_a, tenants.member.finess, today=BEFORE, programme=hopen_programme())
    assert establishment == tenants.member and len(verdicts) == 7
    with pytest.raises(Http404):
        establishment_eligibility(tenants.ars_b, tenants.member.finess, programme=hopen_programme())
    with pytest.raises(Http404):
        establishment_eligibility(tenants.editor, tenants.clinic.finess, programme=hopen_programme())


# --- The partial --------------------------------------------------------------------------------------------------


def test_partial_shows_each_domain_verdict_and_its_reasons_in_french():
    verdicts = {
        "D2": eligibility(make(domain_label="Dossier patient")),
        "D4": eligibility(make("D4", indicators=states("D4", R, R, R, R))),
        "D6": eligibility(make(
            "D6", hn=dataclasses.replace(HN_OK, prerequisites_reached=False, usage_targets_reached=frozenset({"D2"}))
        )),
    }
    html = render_to_string("funding/_eligibility.html", {"verdicts": verdicts})
    assert 'data-domain="D2" data-eligibility="fundable"' in html
    assert 'data-domain="D4" data-eligibility="ineligible"' in html
    assert 'data-domain="D6" data-eligibility="eligible"' in html
    assert "Dossier patient" in html and "Toutes les conditions vérifiées sont remplies." in html
    assert "Ne peut pas candidater" in html and "Non finançable" in html
    assert 'data-reason="project_finished"' in html and "le projet est terminé" in html
    assert 'data-reason="hn_prerequisites_not_reached"' in html and "Instruction, § 5.3.1, note 3" in html
    assert "fr-badge--error" in html and "fr-badge--warning" in html
    assert "style=" not in html and "<script" not in html


def test_partial_with_the_selector_verdicts(scene):
    verdicts = eligibility_for_establishment(scene.clinic, today=BEFORE, programme=hopen_programme())
    html = render_to_string("funding/_eligibility.html", {"verdicts": verdicts})
    assert html.count("data-domain=") == 7
    # Establishment-wide conditions (here: vendors to check at deposit) show once, above the table.
    assert list(verdicts.common_reasons) == [verdicts["D2"].reasons[0]]
    assert 'id="eligibilite-conditions-communes"' in html
    assert html.count('data-reason="vendors_to_check_at_deposit"') == 1
    assert html.count("Aucun motif propre au domaine.") == 1  # D2: nothing but the common reason
    assert html.count('data-reason="project_finished"') == 1  # D3


def test_verdicts_by_domain_name_the_reasons_every_domain_shares():
    d2 = eligibility(make(application=None, hn=dataclasses.replace(HN_OK, prerequisites_reached=False)))
    d4 = eligibility(make("D4", indicators=states("D4", R, R, R, R), application=None,
                          hn=dataclasses.replace(HN_OK, prerequisites_reached=False)))
    verdicts = VerdictsByDomain(D2=d2, D4=d4)
    assert [r.code for r in verdicts.common_reasons] == ["hn_prerequisites_not_reached", "vendors_to_check_at_deposit"]
    assert VerdictsByDomain(D2=d2).common_reasons == ()


def test_partial_without_verdicts():
    assert "L'éligibilité n'a pas pu être établie." in render_to_string("funding/_eligibility.html", {"verdicts": {}})


"""The attainment state kept on write: visible in the declaration's own transaction, constant queries, constraints."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from indicators.attainment import Attainment
from indicators.evidence import evidence_delete, evidence_record_scan
from indicators.loading import FIXTURES, load_catalogue, read_fixture
from indicators.models import (
    CurrentValue,
    Evidence,
    EstablishmentState,
    GroupState,
    IndicatorValue,
    ScanStatus,
    ValueStatus,
)
from indicators.services import value_correct, value_declare, value_save_draft
from indicators.state.selectors import current_values, prerequisites_met_ids
from indicators.state.writer import refresh_attainment
from tests.factories import EstablishmentFactory, Role, user_with_role
from tests.indicators.conftest import existence, hopen_programme, indicator, not_applicable, rate

PREREQUISITES = ["P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6",
                 "P4.1", "P4.2", "P4.3"]


def reached(code, day=datetime.date(2020, 3, 15)):
    return rate(100, 100, day=day) if indicator(code).target_kind == "rate" else existence(True, day=day)


def document_on(draft, by):
    """A justificatory document of a draft (what `evidence_upload` leaves; the file itself is never read here)."""
    return Evidence.objects.create(
        value=draft, file="evidence/test/piece", original_name="piece.pdf", size=12, content_type="application/pdf",
        sha256=f"{draft.pk:064d}", uploaded_by=by, scan_status=ScanStatus.CLEAN,
    )


def declare_with_document(tenants, code, data=None):
    draft = value_save_draft(establishment=tenants.member, indicator=indicator(code), data=data or reached(code), by=tenants.editor)
    document = document_on(draft, tenants.editor)
    return value_declare(value=draft, by=tenants.director), document


def state(tenants):
    return EstablishmentState.objects.filter(establishment=tenants.member, programme=hopen_programme()).first()


def test_a_declaration_is_in_the_state_inside_its_own_transaction(tenants, catalogue):
    d11 = indicator("D1.1")
    with transaction.atomic():
        draft = value_save_draft(establishment=tenants.member, indicator=d11, data=rate(95, 100), by=tenants.editor)
        assert not CurrentValue.objects.exists()  # a draft is not declared
        declared = value_declare(value=draft, by=tenants.director)
        row = CurrentValue.objects.get(establishment=tenants.member, indicator=d11)  # same transaction, no batch
        assert (row.value_id, row.numerator, row.denominator) == (declared.pk, 95, 100)
        assert row.attainment == Attainment.REACHED.value and row.document_count == 0
        assert row.programme == hopen_programme() and row.declared_at == declared.declared_at
        established = state(tenants)
        assert (established.declared_count, established.reached_count, established.documented_count) == (1, 1, 0)
        assert established.prerequisites == Attainment.MISSING.value and not established.prerequisites_met
        d1 = GroupState.objects.get(establishment=tenants.member, group__code="D1")
        assert d1.attainment == Attainment.MISSING.value and (d1.declared_count, d1.reached_count) == (1, 1)
        # every group of the catalogue has its row once something is declared
        assert GroupState.objects.filter(establishment=tenants.member).count() == 11


def test_a_declared_correction_replaces_the_current_value(tenants, catalogue):
    d11 = indicator("D1.1")
    first = value_declare(
        value=value_save_draft(establishment=tenants.member, indicator=d11, data=rate(95, 100), by=tenants.editor),
        by=tenants.director,
    )
    correction = value_correct(value=first, reason="Erreur de saisie", data=rate(50, 100), by=tenants.editor)
    assert CurrentValue.objects.get(indicator=d11).value_id == first.pk  # a pending correction changes nothing
    value_declare(value=correction, by=tenants.director)
    row = CurrentValue.objects.get(establishment=tenants.member, indicator=d11)
    assert row.value_id == correction.pk and row.attainment == Attainment.NOT_REACHED.value
    assert IndicatorValue.objects.get(pk=first.pk).status == ValueStatus.SUPERSEDED
    assert state(tenants).reached_count == 0


def test_a_later_measurement_wins_an_earlier_one_does_not(tenants, catalogue):
    d11 = indicator("D1.1")
    for day, numerator in ((datetime.date(2020, 6, 1), 10), (datetime.date(2019, 6, 1), 100)):
        value_declare(
            value=value_save_draft(establishment=tenants.member, indicator=d11, data=rate(numerator, 100, day=day),
                                   by=tenants.editor),
            by=tenants.director,
        )
    row = CurrentValue.objects.get(indicator=d11)
    assert row.measured_on == datetime.date(2020, 6, 1) and row.attainment == Attainment.NOT_REACHED.value


def test_the_last_declaration_counts_every_declared_value(tenants, catalogue):
    """« Dernière déclaration »: an earlier date of measurement declared after a later one still counts."""
    d11 = indicator("D1.1")
    for day in (datetime.date(2020, 6, 1), datetime.date(2019, 6, 1)):
        later = value_declare(
            value=value_save_draft(establishment=tenants.member, indicator=d11, data=rate(1, 2, day=day), by=tenants.editor),
            by=tenants.director,
        )
    assert CurrentValue.objects.get(indicator=d11).measured_on == datetime.date(2020, 6, 1)
    assert state(tenants).last_declared_at == later.declared_at


def all_prerequisites_with_documents(tenants):
    return {code: declare_with_document(tenants, code) for code in PREREQUISITES}


def test_prerequisites_met_follow_values_and_documents(tenants, catalogue):
    """§5.3.1: « la valeur des indicateurs et la totalité des pièces justificatives »."""
    declared = all_prerequisites_with_documents(tenants)
    assert state(tenants).prerequisites_met and state(tenants).prerequisites == Attainment.REACHED.value
    assert prerequisites_met_ids(hopen_programme(), [tenants.member.pk, tenants.clinic.pk]) == {tenants.member.pk}
    assert GroupState.objects.filter(establishment=tenants.member, attainment="reached").count() == 4
    assert state(tenants).groups_reached == 4 and state(tenants).documented_count == 15

    # An infected verdict takes the document out: the prerequisites are no longer met, at once.
    value, document = declared["P2.4"]
    evidence_record_scan(evidence=document, status=ScanStatus.INFECTED, detail="Eicar-Signature")
    assert CurrentValue.objects.get(value=value).document_count == 0
    assert not state(tenants).prerequisites_met and state(tenants).prerequisites == Attainment.REACHED.value


def test_a_document_deleted_from_a_correction_unmeets_the_prerequisites(tenants, catalogue):
    declared = all_prerequisites_with_documents(tenants)
    value, _ = declared["P1.1"]
    correction = value_correct(value=value, reason="Nouveau décompte", data=reached("P1.1"), by=tenants.editor)
    (carried,) = correction.documents.all()  # the documents go with the correction…
    evidence_delete(evidence=carried, by=tenants.editor)  # …until the user removes them
    assert state(tenants).prerequisites_met  # the draft is not in force yet
    value_declare(value=correction, by=tenants.director)
    assert not state(tenants).prerequisites_met
    assert current_values([tenants.member.pk], [indicator("P1.1").pk])[(tenants.member.pk, indicator("P1.1").pk)].document_count == 0


def test_a_not_applicable_domain_indicator(tenants, catalogue):
    target = catalogue.filter(not_applicable_allowed=True).first()
    value_declare(
        value=value_save_draft(establishment=tenants.member, indicator=target, data=not_applicable(), by=tenants.editor),
        by=tenants.director,
    )
    row = CurrentValue.objects.get(indicator=target)
    assert row.attainment == Attainment.NOT_APPLICABLE.value and row.kind == "not_applicable"
    group = GroupState.objects.get(establishment=tenants.member, group=target.group)
    assert group.attainment == Attainment.MISSING.value and (group.declared_count, group.reached_count) == (1, 0)


def test_a_changed_threshold_recomputes_the_programme(tenants, catalogue):
    value_declare(
        value=value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(50, 100), by=tenants.editor),
        by=tenants.director,
    )
    assert CurrentValue.objects.get(indicator=indicator("D1.1")).attainment == Attainment.NOT_REACHED.value
    data = read_fixture(FIXTURES / "hopen_catalogue.json")
    for item in data["indicators"]:
        if item["code"] == "D1.1":
            item["target_threshold_percent"] = 40
    load_catalogue(data=data)
    assert CurrentValue.objects.get(indicator=indicator("D1.1")).attainment == Attainment.REACHED.value


def scatter(tenants, establishments):
    """Declared values (prerequisites with documents, a domain) for each establishment, written directly."""
    by = tenants.director
    now = timezone.now()
    for establishment in establishments:
        for code in PREREQUISITES + ["D1.1", "D1.2", "D1.3"]:
            target = indicator(code)
            fields = {"numerator": 10, "denominator": 10} if target.target_kind == "rate" else {"exists": True}
            for day in (datetime.date(2019, 3, 1), datetime.date(2020, 3, 1)):
                value = IndicatorValue.objects.create(
                    establishment=establishment, indicator=target, measured_on=day, kind=target.target_kind,
                    status=ValueStatus.DECLARED, created_by=by, declared_by=by, declared_at=now, **fields,
                )
                document_on(value, by)


@pytest.mark.parametrize("count", [3, 30])
def test_the_writer_runs_a_constant_number_of_queries(tenants, catalogue, count):
    establishments = [EstablishmentFactory(region=tenants.region_a) for _ in range(count)]
    scatter(tenants, establishments)
    ids = [e.pk for e in establishments]
    with CaptureQueriesContext(connection) as queries:
        refresh_attainment(establishment_ids=ids)
    # lock (1), catalogues in force (2), latest declared values with documents (1), last declarations (1),
    # delete (3), insert (3)
    assert len(queries) == 11
    assert EstablishmentState.objects.filter(establishment_id__in=ids, prerequisites_met=True).count() == count
    assert CurrentValue.objects.filter(establishment_id__in=ids).count() == 18 * count
    programme_id = hopen_programme().pk
    with CaptureQueriesContext(connection) as again:
        refresh_attainment(establishment_ids=ids, programme_ids=[programme_id])
    assert len(again) == 11


def test_a_declaration_costs_the_same_queries_whatever_the_establishment_has_declared(tenants, catalogue):
    def declaring(code):
        draft = value_save_draft(establishment=tenants.member, indicator=indicator(code), data=reached(code), by=tenants.editor)
        with CaptureQueriesContext(connection) as queries:
            value_declare(value=draft, by=tenants.director)
        return len(queries)

    declaring("P1.1")  # warms the permission caches of the users
    first = declaring("P1.2")
    for code in PREREQUISITES[2:-1]:
        declare_with_document(tenants, code)
    assert declaring("P4.3") == first


@pytest.mark.parametrize(
    "model, fields",
    [
        (EstablishmentState, {"declared_count": 1, "reached_count": 2, "documented_count": 0, "groups_reached": 0,
                              "prerequisites": "missing", "prerequisites_met": False}),
        (EstablishmentState, {"declared_count": 2, "reached_count": 1, "documented_count": 3, "groups_reached": 0,
                              "prerequisites": "missing", "prerequisites_met": False}),
        (EstablishmentState, {"declared_count": 0, "reached_count": 0, "documented_count": 0, "groups_reached": 0,
                              "prerequisites": "missing", "prerequisites_met": False}),
        (EstablishmentState, {"declared_count": 15, "reached_count": 15, "documented_count": 15, "groups_reached": 4,
                              "prerequisites": "not_reached", "prerequisites_met": True}),
    ],
)
def test_the_database_backs_the_counts(tenants, catalogue, model, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(programme=hopen_programme(), establishment=tenants.member, **fields)


def test_the_database_backs_the_group_counts_and_one_row_per_pair(tenants, catalogue):
    group = indicator("D1.1").group
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupState.objects.create(programme=hopen_programme(), establishment=tenants.member, group=group,
                                  attainment="reached", declared_count=2, reached_count=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupState.objects.create(programme=hopen_programme(), establishment=tenants.member, group=group,
                                  attainment="missing", declared_count=1, reached_count=2)
    value_declare(
        value=value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(1, 2), by=tenants.editor),
        by=tenants.director,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupState.objects.create(programme=hopen_programme(), establishment=tenants.member, group=group,
                                  attainment="missing", declared_count=1, reached_count=0)


def test_other_establishments_keep_their_state(tenants, catalogue):
    clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    value_declare(
        value=value_save_draft(establishment=tenants.clinic, indicator=indicator("D2.2"), data=reached("D2.2"), by=clinic_director),
        by=clinic_director,
    )
    declare_with_document(tenants, "P1.1")
    assert EstablishmentState.objects.filter(establishment=tenants.clinic).count() == 1
    assert CurrentValue.objects.filter(establishment=tenants.clinic).count() == 1

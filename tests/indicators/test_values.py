"""Entering, declaring and correcting indicator values (services), with their audit trail."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Role
from hopen.services import role_revoke
from indicators.models import IndicatorValue, ValueStatus
from indicators.services import ValueInput, value_correct, value_declare, value_save_draft
from tests.indicators.conftest import declared, existence, indicator, not_applicable, rate

pytestmark = pytest.mark.django_db


def test_draft_then_update_then_declare(tenants, catalogue):
    value = value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(80, 100), by=tenants.editor)
    assert (value.status, value.version, value.percentage, value.semester) == ("draft", 1, 80, "2020 S1")
    same = value_save_draft(
        establishment=tenants.member, indicator=indicator("D1.1"), data=rate(95, 100, comment="Après déploiement"),
        by=tenants.editor,
    )
    assert same.pk == value.pk and same.numerator == 95 and same.comment == "Après déploiement"
    value_declare(value=same, by=tenants.director)
    same.refresh_from_db()
    assert same.status == ValueStatus.DECLARED and same.declared_by == tenants.director
    actions = list(AuditRecord.objects.filter(object_type="indicators.indicatorvalue").values_list("action", flat=True))
    assert sorted(actions) == ["indicator_value.declare", "indicator_value.save_draft", "indicator_value.save_draft"]
    update = AuditRecord.objects.filter(action="indicator_value.save_draft").order_by("id")[1]
    assert update.changes["numerator"] == [80, 95]


def test_declared_value_is_locked_and_corrected_by_a_new_version(tenants, catalogue):
    first = declared(tenants.member, "D1.1", rate(80, 100), editor=tenants.editor, director=tenants.director)
    with pytest.raises(ApplicationError, match="Corriger"):
        value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(85, 100), by=tenants.editor)
    with pytest.raises(ValidationError, match="motif"):
        value_correct(value=first, reason="  ", data=rate(85, 100), by=tenants.editor)
    correction = value_correct(value=first, reason="Erreur de comptage", data=rate(85, 100), by=tenants.editor)
    assert (correction.version, correction.previous, correction.status) == (2, first, "draft")
    first.refresh_from_db()
    assert first.status == ValueStatus.DECLARED  # still the declared figure until the correction is declared
    value_declare(value=correction, by=tenants.director)
    first.refresh_from_db()
    assert first.status == ValueStatus.SUPERSEDED and first.numerator == 80
    assert IndicatorValue.objects.filter(establishment=tenants.member, status="declared").get() == correction
    with pytest.raises(ApplicationError, match="déjà en cours|Seule une valeur déclarée"):
        value_correct(value=first, reason="encore", data=rate(86, 100), by=tenants.editor)


@pytest.mark.parametrize(
    "code, data, field, message",
    [
        ("D1.1", rate(101, 100), "numerator", "dépasser"),
        ("D1.1", rate(1, 0), "denominator", "strictement positif"),
        ("D1.1", existence(True), "kind", "attend un taux"),
        ("P1.2", rate(1, 2), "kind", "attend oui ou non"),
        ("P1.2", ValueInput(measured_on=datetime.date(2020, 1, 1), kind="existence"), "exists", "oui ou non"),
        ("P1.1", not_applicable(), "kind", "ne peut pas être déclaré non applicable"),
        ("D1.2", not_applicable(reason=" "), "not_applicable_reason", "obligatoire"),
        ("D1.1", rate(1, 2, day=datetime.date(2999, 1, 1)), "measured_on", "futur"),
    ],
)
def test_each_kind_is_validated_with_a_clear_message(tenants, catalogue, code, data, field, message):
    with pytest.raises(ValidationError) as excinfo:
        value_save_draft(establishment=tenants.member, indicator=indicator(code), data=data, by=tenants.editor)
    assert message in " ".join(excinfo.value.message_dict[field])
    assert not IndicatorValue.objects.exists()


def test_not_applicable_domain_indicator_with_reason(tenants, catalogue):
    value = declared(tenants.member, "D1.2", not_applicable(), editor=tenants.editor, director=tenants.director)
    assert value.display == "Non applicable" and value.numerator is None


def test_database_backs_the_rate_rule(tenants, catalogue):
    with pytest.raises(IntegrityError), transaction.atomic():
        IndicatorValue.objects.create(
            establishment=tenants.member, indicator=indicator("D1.1"), measured_on=datetime.date(2020, 1, 1),
            kind="rate", numerator=5, denominator=4, created_by=tenants.editor,
        )


@pytest.mark.parametrize("reader", ["ars_a", "dgos", "auditor", "admin"])
def test_readers_cannot_enter_values(tenants, catalogue, reader):
    with pytest.raises(PermissionRefused):
        value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(1, 2), by=getattr(tenants, reader))


def test_editor_cannot_enter_for_another_establishment(tenants, catalogue):
    with pytest.raises(PermissionRefused):
        value_save_draft(establishment=tenants.clinic, indicator=indicator("D1.1"), data=rate(1, 2), by=tenants.editor)


def test_ght_support_director_enters_drafts_for_members_but_does_not_declare(tenants, catalogue):
    value = value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(1, 2), by=tenants.ght_director)
    with pytest.raises(PermissionRefused, match="direction"):
        value_declare(value=value, by=tenants.ght_director)


def test_director_declares_and_editor_only_when_there_is_no_director(tenants, catalogue):
    value = value_save_draft(establishment=tenants.member, indicator=indicator("D1.1"), data=rate(1, 2), by=tenants.editor)
    with pytest.raises(PermissionRefused, match="direction"):
        value_declare(value=value, by=tenants.editor)
    for assignment in tenants.director.role_assignments.filter(role=Role.ESTABLISHMENT_DIRECTOR):
        role_revoke(assignment=assignment, by=tenants.admin)
    tenants.editor.__dict__.pop("_hopen_object_perms", None)
    assert value_declare(value=value, by=tenants.editor).status == ValueStatus.DECLARED


def test_declaring_twice_is_refused(tenants, catalogue):
    value = declared(tenants.member, "P1.2", existence(True), editor=tenants.editor, director=tenants.director)
    with pytest.raises(ApplicationError, match="déjà déclarée"):
        value_declare(value=value, by=tenants.director)


def test_values_of_different_dates_are_separate_series(tenants, catalogue):
    declared(tenants.member, "D1.1", rate(50, 100, day=datetime.date(2019, 12, 1)), editor=tenants.editor, director=tenants.director)
    declared(tenants.member, "D1.1", rate(95, 100, day=datetime.date(2020, 9, 1)), editor=tenants.editor, director=tenants.director)
    assert IndicatorValue.objects.filter(status="declared").count() == 2

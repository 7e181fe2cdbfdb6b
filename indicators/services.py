"""Writes on indicator values. Each checks the permission policy and its rules, and leaves its audit record."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record, diff, snapshot
from hopen.exceptions import ApplicationError, PermissionRefused

from .models import Indicator, IndicatorValue, ValueKind, ValueStatus
from .state.writer import refresh_attainment

VALUE_FIELDS = [
    "measured_on", "kind", "numerator", "denominator", "exists", "description", "not_applicable_reason", "comment",
    "status", "version", "correction_reason",
]


@dataclass
class ValueInput:
    """What the user typed for one value (form, API or bulk file alike)."""

    measured_on: datetime.date
    kind: str
    numerator: int | None = None
    denominator: int | None = None
    exists: bool | None = None
    description: str = ""
    not_applicable_reason: str = ""
    comment: str = ""


def value_input_errors(indicator: Indicator, data: ValueInput) -> dict[str, str]:
    """Every problem with `data` for `indicator`, as {field: French message} (empty when valid)."""
    errors = {}
    today = timezone.localdate()
    if data.measured_on is None:
        errors["measured_on"] = "La date de mesure est obligatoire."
    elif data.measured_on > today:
        errors["measured_on"] = "La date de mesure ne peut pas être dans le futur."
    if data.kind not in ValueKind.values:
        errors["kind"] = "Choisissez la nature de la valeur."
        return errors
    if data.kind == ValueKind.NOT_APPLICABLE:
        if not indicator.not_applicable_allowed:
            errors["kind"] = f"L'indicateur {indicator.code} ne peut pas être déclaré non applicable."
        if not data.not_applicable_reason.strip():
            errors["not_applicable_reason"] = "Le motif de non-applicabilité est obligatoire."
    elif data.kind != indicator.target_kind:
        expected = "un taux (numérateur / dénominateur)" if indicator.target_kind == "rate" else "oui ou non (existence)"
        errors["kind"] = f"L'indicateur {indicator.code} attend {expected}."
    elif data.kind == ValueKind.RATE:
        if data.denominator is None or data.denominator <= 0:
            errors["denominator"] = "Le dénominateur doit être un entier strictement positif."
        if data.numerator is None or data.numerator < 0:
            errors["numerator"] = "Le numérateur doit être un entier positif ou nul."
        elif data.denominator and data.numerator > data.denominator:
            errors["numerator"] = "Le numérateur ne peut pas dépasser le dénominateur."
    elif data.kind == ValueKind.EXISTENCE and data.exists is None:
        errors["exists"] = "Indiquez si l'élément existe (oui ou non)."
    return errors


def _apply(value: IndicatorValue, data: ValueInput):
    value.measured_on = data.measured_on
    value.kind = data.kind
    value.numerator = data.numerator if data.kind == ValueKind.RATE else None
    value.denominator = data.denominator if data.kind == ValueKind.RATE else None
    value.exists = data.exists if data.kind == ValueKind.EXISTENCE else None
    value.description = data.description.strip()
    value.not_applicable_reason = data.not_applicable_reason.strip() if data.kind == ValueKind.NOT_APPLICABLE else ""
    value.comment = data.comment.strip()
    value.updated_at = timezone.now()


def _check_input(indicator, data):
    errors = value_input_errors(indicator, data)
    if errors:
        raise ValidationError(errors)


def _save(value):
    try:
        value.full_clean(exclude=["establishment", "indicator", "created_by", "previous"])
        with transaction.atomic():
            value.save()
    except IntegrityError as exc:  # a concurrent request created the same draft or version
        raise ApplicationError("Cette valeur vient d'être modifiée par ailleurs : rechargez la page.") from exc


@transaction.atomic
def value_save_draft(*, establishment, indicator: Indicator, data: ValueInput, by) -> IndicatorValue:
    """Create the draft for this date of measurement, or update it. A declared value is corrected, not edited."""
    if not permissions.can_enter_indicator_values(by, establishment):
        raise PermissionRefused("Seuls les utilisateurs de l'établissement peuvent saisir ses indicateurs.")
    _check_input(indicator, data)
    period = IndicatorValue.objects.select_for_update().filter(
        establishment=establishment, indicator=indicator, measured_on=data.measured_on
    )
    draft = period.filter(status=ValueStatus.DRAFT).first()
    if draft is None and period.filter(status=ValueStatus.DECLARED).exists():
        raise ApplicationError(
            "Une valeur a déjà été déclarée pour cette date de mesure : utilisez « Corriger » en indiquant le motif."
        )
    if draft is None:
        draft = IndicatorValue(establishment=establishment, indicator=indicator, created_by=by)
        before = {}
    else:
        before = snapshot(draft, VALUE_FIELDS)
    _apply(draft, data)
    _save(draft)
    audit_record(actor=by, action="indicator_value.save_draft", target=draft, changes=diff(before, snapshot(draft, VALUE_FIELDS)))
    return draft


@transaction.atomic
def value_correct(*, value: IndicatorValue, reason: str, data: ValueInput, by) -> IndicatorValue:
    """A declared value stays as it is; the correction is a new draft version carrying its reason."""
    value = IndicatorValue.objects.select_for_update(of=("self",)).select_related("establishment", "indicator").get(pk=value.pk)
    if not permissions.can_enter_indicator_values(by, value.establishment):
        raise PermissionRefused("Seuls les utilisateurs de l'établissement peuvent corriger ses indicateurs.")
    if value.status != ValueStatus.DECLARED:
        raise ApplicationError("Seule une valeur déclarée se corrige ; un brouillon se modifie directement.")
    if hasattr(value, "correction"):
        raise ApplicationError("Une correction de cette valeur est déjà en cours : modifiez-la ou déclarez-la.")
    if not reason.strip():
        raise ValidationError({"correction_reason": "Le motif de la correction est obligatoire."})
    if data.measured_on != value.measured_on:
        raise ValidationError({"measured_on": "Une correction porte sur la même date de mesure que la valeur corrigée."})
    _check_input(value.indicator, data)
    correction = IndicatorValue(
        establishment=value.establishment,
        indicator=value.indicator,
        created_by=by,
        version=value.version + 1,
        previous=value,
        correction_reason=reason.strip(),
    )
    _apply(correction, data)
    _save(correction)
    # The justificatory documents stay with the corrected figures unless the user removes them.
    for document in value.documents.filter(deleted_at__isnull=True):
        source = document.pk
        document.pk = None
        document.value = correction
        document.save()
        audit_record(
            actor=by, action="evidence.carry_over", target=document,
            changes={"value": [value.pk, correction.pk], "copied_from": [None, source]},
        )
    audit_record(
        actor=by,
        action="indicator_value.correct",
        target=correction,
        changes=diff(snapshot(value, VALUE_FIELDS), snapshot(correction, VALUE_FIELDS)),
    )
    return correction


@transaction.atomic
def value_declare(*, value: IndicatorValue, by) -> IndicatorValue:
    """Declaring locks the value; a declared correction supersedes the version it corrects."""
    value = (
        IndicatorValue.objects.select_for_update(of=("self",))
        .select_related("establishment", "indicator__catalogue")
        .get(pk=value.pk)
    )
    if not permissions.can_enter_indicator_values(by, value.establishment):
        raise PermissionRefused("Vous consultez les indicateurs de cet établissement en lecture seule.")
    if not permissions.can_declare_values(by, value.establishment):
        raise PermissionRefused("La déclaration revient à la direction de l'établissement.")
    if value.status != ValueStatus.DRAFT:
        raise ApplicationError("Cette valeur est déjà déclarée.")
    _check_input(value.indicator, _input_of(value))
    before = snapshot(value, VALUE_FIELDS)
    if value.previous_id:
        previous = IndicatorValue.objects.select_for_update().get(pk=value.previous_id)
        previous.status = ValueStatus.SUPERSEDED
        previous.save(update_fields=["status"])
        audit_record(
            actor=by, action="indicator_value.supersede", target=previous,
            changes={"status": [ValueStatus.DECLARED, ValueStatus.SUPERSEDED]},
        )
    value.status = ValueStatus.DECLARED
    value.declared_by = by
    value.declared_at = timezone.now()
    value.save(update_fields=["status", "declared_by", "declared_at"])
    audit_record(actor=by, action="indicator_value.declare", target=value, changes=diff(before, snapshot(value, VALUE_FIELDS)))
    # The attainment state follows in the same transaction: the next request of any page sees this declaration.
    refresh_attainment(establishment_ids=[value.establishment_id], programme_ids=[value.indicator.catalogue.programme_id])
    return value


def _input_of(value: IndicatorValue) -> ValueInput:
    return ValueInput(
        measured_on=value.measured_on, kind=value.kind, numerator=value.numerator, denominator=value.denominator,
        exists=value.exists, description=value.description, not_applicable_reason=value.not_applicable_reason,
        comment=value.comment,
    )

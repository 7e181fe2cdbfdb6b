"""Writes of the GHT-level values (annex 1 « déclinaison GHT », §5.3.1 « la saisie des indicateurs de convergence »).

Like the establishments' values (`indicators.services`): the support establishment (editor, director, or the GHT
support director) enters a draft; the director (or the GHT support director) declares it, which locks it; a
declared value is corrected by a new version with its reason, the previous one kept as superseded once the
correction is declared. Documents go through the private-document path of the justificatory documents, on drafts
only. Every write leaves its audit record (the history shown on the page).
"""

from django.db import transaction
from django.utils import timezone

from hopen.audit import audit_record, audit_record_many, snapshot
from hopen.exceptions import ApplicationError
from indicators.evidence import evidence_check_file, refuse_duplicate, store_uploaded_document
from indicators.models import ValueKind, ValueStatus

from .models import GhtIndicatorValue, GhtValueDocument
from .rules import is_declined_at_ght_level
from .services import check_may_enter, check_may_validate, locked_ght

VALUE_FIELDS = ["kind", "exists", "description", "not_applicable_reason", "comment"]
LOCKED_MESSAGE = (
    "Cette valeur GHT est déclarée : elle est verrouillée. Pour la modifier, corrigez-la (bouton « Corriger ») en "
    "indiquant le motif."
)


def _check_indicator(indicator) -> None:
    if not indicator.catalogue.is_current:
        raise ApplicationError(f"L'indicateur {indicator.code} n'appartient pas au catalogue en vigueur du programme.")
    if not is_declined_at_ght_level(indicator.ght_declination):
        raise ApplicationError(
            f"L'indicateur {indicator.code} n'a pas de déclinaison au niveau du GHT (annexe 1) : il se renseigne par "
            "établissement."
        )


def _clean(indicator, *, kind, exists, description, not_applicable_reason, comment) -> dict:
    description, comment = str(description or "").strip(), str(comment or "").strip()
    reason = str(not_applicable_reason or "").strip()
    if kind == ValueKind.EXISTENCE:
        if exists is None:
            raise ApplicationError("Indiquez si l'exigence GHT est satisfaite (oui ou non).")
        return {"kind": kind, "exists": bool(exists), "description": description, "not_applicable_reason": "",
                "comment": comment}
    if kind == ValueKind.NOT_APPLICABLE:
        if not indicator.not_applicable_allowed:
            raise ApplicationError(f"L'indicateur {indicator.code} ne peut pas être déclaré non applicable.")
        if not reason:
            raise ApplicationError("Le motif de non-applicabilité est obligatoire.")
        return {"kind": kind, "exists": None, "description": description, "not_applicable_reason": reason,
                "comment": comment}
    raise ApplicationError("Choisissez la nature de la valeur : exigence satisfaite (oui / non) ou non applicable.")


@transaction.atomic
def ght_value_save(*, ght, indicator, by, kind, exists=None, description="", not_applicable_reason="", comment=""):
    """Create the GHT-level draft of an indicator, or update it. A declared value is corrected, not edited."""
    ght = locked_ght(ght)
    check_may_enter(by, ght)
    _check_indicator(indicator)
    data = _clean(indicator, kind=kind, exists=exists, description=description,
                  not_applicable_reason=not_applicable_reason, comment=comment)
    current = list(GhtIndicatorValue.objects.select_for_update().filter(
        ght=ght, indicator=indicator, status__in=[ValueStatus.DRAFT, ValueStatus.DECLARED]
    ))
    draft = next((v for v in current if v.status == ValueStatus.DRAFT), None)
    if draft is None:
        if any(v.status == ValueStatus.DECLARED for v in current):
            raise ApplicationError(LOCKED_MESSAGE)
        draft = GhtIndicatorValue.objects.create(ght=ght, indicator=indicator, created_by=by, **data)
        audit_record(actor=by, action="ght.value_create", target=draft, changes={
            key: [None, value] for key, value in snapshot(draft, ["ght", "indicator", "version", *VALUE_FIELDS]).items()
        })
        return draft
    before = snapshot(draft, VALUE_FIELDS)
    for key, value in data.items():
        setattr(draft, key, value)
    changes = {k: [before.get(k), v] for k, v in snapshot(draft, VALUE_FIELDS).items() if before.get(k) != v}
    if changes:
        draft.updated_at = timezone.now()
        draft.save(update_fields=[*VALUE_FIELDS, "updated_at"])
        audit_record(actor=by, action="ght.value_update", target=draft, changes=changes)
    return draft


def _declare(value, by, now) -> list:
    """Declare a locked draft; its previous version (if any) becomes superseded. Returns the audit entries."""
    entries = []
    if value.previous_id:
        previous = GhtIndicatorValue.objects.select_for_update().get(pk=value.previous_id)
        if previous.status == ValueStatus.DECLARED:
            previous.status = ValueStatus.SUPERSEDED
            previous.save(update_fields=["status"])
            entries.append((previous, {"status": [ValueStatus.DECLARED, ValueStatus.SUPERSEDED]}))
    value.status, value.declared_by, value.declared_at, value.updated_at = ValueStatus.DECLARED, by, now, now
    value.save(update_fields=["status", "declared_by", "declared_at", "updated_at"])
    entries.append((value, {"status": [ValueStatus.DRAFT, ValueStatus.DECLARED], "declared_by": [None, by.pk],
                            "declared_at": [None, now]}))
    return entries


@transaction.atomic
def ght_value_declare(*, value, by) -> GhtIndicatorValue:
    """The support establishment's director declares a GHT-level draft (locked from then on)."""
    ght = locked_ght(value.ght)
    check_may_validate(by, ght)
    value = GhtIndicatorValue.objects.select_for_update().select_related("indicator__catalogue").get(pk=value.pk, ght=ght)
    if value.status != ValueStatus.DRAFT:
        raise ApplicationError("Cette valeur GHT n'est pas un brouillon : elle est déjà déclarée.")
    _check_indicator(value.indicator)
    for previous, changes in _declare(value, by, timezone.now())[:-1]:
        audit_record(actor=by, action="ght.value_supersede", target=previous, changes=changes)
    audit_record(actor=by, action="ght.value_declare", target=value, changes={
        "status": [ValueStatus.DRAFT, ValueStatus.DECLARED], "declared_by": [None, by.pk],
        "declared_at": [None, value.declared_at],
    })
    return value


@transaction.atomic
def ght_values_declare_all(*, ght, indicators, by) -> list:
    """Declare every GHT-level draft of `indicators` (the catalogue in force's, declined at GHT level) at once."""
    ght = locked_ght(ght)
    check_may_validate(by, ght)
    drafts = list(
        GhtIndicatorValue.objects.select_for_update()
        .filter(ght=ght, indicator__in=[i.pk for i in indicators if is_declined_at_ght_level(i.ght_declination)],
                indicator__catalogue__is_current=True, status=ValueStatus.DRAFT)
        .order_by("indicator_id")
    )
    if not drafts:
        raise ApplicationError("Aucun brouillon à déclarer.")
    now = timezone.now()
    entries = [entry for draft in drafts for entry in _declare(draft, by, now)]
    audit_record_many(actor=by, action="ght.value_declare", entries=entries)
    return drafts


@transaction.atomic
def ght_value_correct(*, value, reason, by) -> GhtIndicatorValue:
    """Open a correction of a declared GHT-level value: a new draft version with its reason (the declared one stays
    in force until the correction is declared)."""
    ght = locked_ght(value.ght)
    check_may_enter(by, ght)
    value = GhtIndicatorValue.objects.select_for_update().select_related("indicator__catalogue").get(pk=value.pk, ght=ght)
    reason = str(reason or "").strip()
    if value.status != ValueStatus.DECLARED:
        raise ApplicationError("Seule une valeur GHT déclarée se corrige ; un brouillon se modifie directement.")
    if not reason:
        raise ApplicationError("Indiquez le motif de la correction.")
    if GhtIndicatorValue.objects.filter(ght=ght, indicator=value.indicator, status=ValueStatus.DRAFT).exists():
        raise ApplicationError("Une correction de cette valeur est déjà en cours.")
    _check_indicator(value.indicator)
    correction = GhtIndicatorValue.objects.create(
        ght=ght, indicator=value.indicator, created_by=by, version=value.version + 1, previous=value,
        correction_reason=reason, **{key: getattr(value, key) for key in VALUE_FIELDS},
    )
    audit_record(actor=by, action="ght.value_correct", target=correction, changes={
        "previous": [None, value.pk], "version": [None, correction.version], "correction_reason": [None, reason],
    })
    return correction


@transaction.atomic
def ght_value_document_upload(*, value, uploaded_file, by) -> GhtValueDocument:
    """Attach a justificatory document to a GHT-level draft."""
    ght = locked_ght(value.ght)
    check_may_enter(by, ght)
    value = GhtIndicatorValue.objects.select_for_update().get(pk=value.pk, ght=ght)
    if value.status != ValueStatus.DRAFT:
        raise ApplicationError(LOCKED_MESSAGE)
    checked = evidence_check_file(uploaded_file)
    refuse_duplicate(value.documents.all(), checked, " pour cette valeur")
    return store_uploaded_document(
        GhtValueDocument(value=value), uploaded_file=uploaded_file, checked=checked, by=by,
        action="ght.value_document_upload", owner=("value", value.pk),
        scan_task="funding.ght.tasks.scan_value_document", scan_argument="document_id",
    )

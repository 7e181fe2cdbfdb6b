"""Writes of the GHT governance (§5.3.1 « Pour les GHT »): the master plan (SDSI) and the GHT CIO.

Each service is keyword-only and atomic, asks the permission policy (`hopen.permissions.can_view_ght`,
`can_enter_ght_governance`, `can_validate_ght_governance`) and writes its audit record in the same transaction.

- SDSI: « déposé par l'établissement support » — its editor or director (or the GHT support director) deposits it
  through the private-document path of the justificatory documents (`indicators.evidence`: type sniffed from the
  content, HTML/SVG refused, size limit, sanitised name, random storage key, SHA-256, virus scan after commit,
  soft delete) and records the date the GHT validated it (not in the future).
- CIO: « la nomination d'un DSI de GHT validé par le directeur de l'établissement support » — the support's editor
  or director names the CIO; only the director (or the GHT support director) validates; naming another CIO, or
  changing the e-mail, withdraws the validation.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from funding.eligibility.models import GhtItGovernance
from hopen import permissions
from hopen.audit import audit_record, diff
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Ght
from indicators.evidence import evidence_check_file, refuse_duplicate, store_uploaded_document
from indicators.models import ScanStatus

from .models import GhtMasterPlan, GhtValueDocument

logger = logging.getLogger(__name__)

READ_ONLY_MESSAGE = (
    "Seul l'établissement support du GHT (saisie ou direction) renseigne la gouvernance SI du GHT ; les établissements "
    "membres, l'ARS et la DGOS la consultent."
)
DIRECTOR_ONLY_MESSAGE = (
    "Seul le directeur de l'établissement support du GHT valide le DSI de GHT et déclare les valeurs GHT "
    "(instruction, §5.3.1)."
)
NO_SUPPORT_MESSAGE = "Ce GHT n'a pas d'établissement support : sa gouvernance SI ne peut pas être renseignée."


def locked_ght(ght) -> Ght:
    """The GHT row, locked: every governance write of a GHT is serialised on it."""
    return Ght.objects.select_for_update(of=("self",)).select_related("support").get(pk=ght.pk)


def check_may_enter(by, ght) -> None:
    if not permissions.can_view_ght(by, ght):
        raise PermissionRefused("Action non autorisée.")
    if not ght.support_id:
        raise ApplicationError(NO_SUPPORT_MESSAGE)
    if not permissions.can_enter_ght_governance(by, ght):
        raise PermissionRefused(READ_ONLY_MESSAGE)


def check_may_validate(by, ght) -> None:
    check_may_enter(by, ght)
    if not permissions.can_validate_ght_governance(by, ght):
        raise PermissionRefused(DIRECTOR_ONLY_MESSAGE)


def _check_validation_date(validated_on) -> None:
    if validated_on is None:
        return
    if not isinstance(validated_on, datetime.date):
        raise ApplicationError("Indiquez la date de validation du schéma directeur au format JJ/MM/AAAA.")
    if validated_on > timezone.localdate():
        raise ApplicationError(
            f"La date de validation du schéma directeur ({validated_on:%d/%m/%Y}) ne peut pas être dans le futur."
        )


# --- Master plan (SDSI) -------------------------------------------------------------------------------------------


@transaction.atomic
def master_plan_upload(*, ght, uploaded_file, by, validated_on=None) -> GhtMasterPlan:
    """Deposit a new version of the GHT's SDSI (it becomes the current one), with its validation date if known."""
    ght = locked_ght(ght)
    check_may_enter(by, ght)
    _check_validation_date(validated_on)
    checked = evidence_check_file(uploaded_file)
    refuse_duplicate(GhtMasterPlan.objects.filter(ght=ght), checked, " pour ce GHT")
    document = store_uploaded_document(
        GhtMasterPlan(ght=ght, validated_on=validated_on), uploaded_file=uploaded_file, checked=checked, by=by,
        action="ght.master_plan_upload", owner=("ght", ght.pk),
        scan_task="funding.ght.tasks.scan_master_plan", scan_argument="document_id",
    )
    if validated_on is not None:
        audit_record(actor=by, action="ght.master_plan_validation", target=document,
                     changes={"validated_on": [None, validated_on]})
    return document


@transaction.atomic
def master_plan_record_validation(*, document, validated_on, by) -> GhtMasterPlan:
    """Record (or correct) the date the GHT validated its SDSI."""
    ght = locked_ght(document.ght)
    check_may_enter(by, ght)
    if validated_on is None:
        raise ApplicationError("Indiquez la date de validation du schéma directeur.")
    _check_validation_date(validated_on)
    document = GhtMasterPlan.objects.select_for_update().get(pk=document.pk, ght=ght)
    if document.deleted_at is not None:
        raise ApplicationError(f"Le document « {document.original_name} » a été supprimé.")
    before = document.validated_on
    if before == validated_on:
        return document
    document.validated_on = validated_on
    document.save(update_fields=["validated_on"])
    audit_record(actor=by, action="ght.master_plan_validation", target=document,
                 changes={"validated_on": [before, validated_on]})
    return document


@transaction.atomic
def master_plan_delete(*, document, by) -> GhtMasterPlan:
    """Hide a deposited SDSI (a wrong file); the row and the file stay for the audit trail."""
    ght = locked_ght(document.ght)
    check_may_enter(by, ght)
    document = GhtMasterPlan.objects.select_for_update().get(pk=document.pk, ght=ght)
    if document.deleted_at is not None:
        raise ApplicationError(f"Le document « {document.original_name} » a déjà été supprimé.")
    document.deleted_at = timezone.now()
    document.deleted_by = by
    document.save(update_fields=["deleted_at", "deleted_by"])
    audit_record(actor=by, action="ght.master_plan_delete", target=document,
                 changes={"deleted_at": [None, document.deleted_at], "deleted_by": [None, by.pk]})
    return document


# --- GHT CIO ------------------------------------------------------------------------------------------------------


def _locked_governance(ght) -> GhtItGovernance:
    governance, _ = GhtItGovernance.objects.select_for_update().get_or_create(ght=ght)
    return governance


@transaction.atomic
def cio_name(*, ght, name, email="", by) -> GhtItGovernance:
    """Name the GHT CIO (the support establishment); another name or e-mail withdraws the director's validation."""
    ght = locked_ght(ght)
    check_may_enter(by, ght)
    name, email = " ".join(str(name or "").split()), str(email or "").strip().lower()
    if not name:
        raise ApplicationError("Indiquez le nom du DSI de GHT.")
    governance = _locked_governance(ght)
    before = {"cio_name": governance.cio_name, "cio_email": governance.cio_email,
              "cio_validated_by": governance.cio_validated_by_id, "cio_validated_at": governance.cio_validated_at}
    if governance.cio_name == name and governance.cio_email == email:
        return governance
    governance.cio_name, governance.cio_email = name, email
    governance.cio_validated_by, governance.cio_validated_at = None, None
    governance.save(update_fields=["cio_name", "cio_email", "cio_validated_by", "cio_validated_at"])
    after = {"cio_name": name, "cio_email": email, "cio_validated_by": None, "cio_validated_at": None}
    audit_record(actor=by, action="ght.cio_name", target=governance, changes=diff(before, after))
    return governance


@transaction.atomic
def cio_validate(*, ght, by) -> GhtItGovernance:
    """The support establishment's director validates the named GHT CIO (§5.3.1)."""
    ght = locked_ght(ght)
    check_may_validate(by, ght)
    governance = _locked_governance(ght)
    if not governance.cio_name:
        raise ApplicationError("Aucun DSI de GHT n'est nommé : nommez-le avant de le valider.")
    if governance.cio_validated_at is not None:
        raise ApplicationError(
            f"Le DSI de GHT {governance.cio_name} est déjà validé (le "
            f"{timezone.localtime(governance.cio_validated_at):%d/%m/%Y})."
        )
    governance.cio_validated_by, governance.cio_validated_at = by, timezone.now()
    governance.save(update_fields=["cio_validated_by", "cio_validated_at"])
    audit_record(actor=by, action="ght.cio_validate", target=governance, changes={
        "cio_validated_by": [None, by.pk], "cio_validated_at": [None, governance.cio_validated_at],
    })
    return governance


# --- Virus scan verdicts (system writes) ------------------------------------------------------------------------


SCAN_MODELS = {"master_plan": GhtMasterPlan, "value_document": GhtValueDocument}


@transaction.atomic
def record_scan(*, kind: str, document_id: int, status: str, detail: str = ""):
    """Record the antivirus verdict of an SDSI (`kind` "master_plan") or a GHT value document ("value_document").
    An infected file is never served and no longer counts."""
    if status not in (ScanStatus.CLEAN, ScanStatus.INFECTED, ScanStatus.NOT_SCANNED):
        raise ValueError(f"Statut d'analyse inattendu : {status!r}")
    document = SCAN_MODELS[kind].objects.select_for_update().get(pk=document_id)
    before = [document.scan_status, document.scan_detail]
    document.scan_status = status
    document.scan_detail = (detail or "")[:255]
    document.scanned_at = timezone.now()
    document.save(update_fields=["scan_status", "scan_detail", "scanned_at"])
    audit_record(actor=None, action=f"ght.{kind}_scan", target=document,
                 changes={"scan_status": [before[0], status], "scan_detail": [before[1], document.scan_detail]})
    if status == ScanStatus.INFECTED:
        logger.warning("Document GHT %s %s infecté : %s", kind, document.pk, detail)
    return document

"""Confirming a bulk file: a valid plan written as drafts, all or nothing."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from hopen.audit import audit_record
from hopen.exceptions import ApplicationError

from ..services import value_save_draft
from .planning import COLUMN_OF_INPUT, BulkPlan
from .plans import summary_of


@dataclass(frozen=True)
class BulkResult:
    created: int
    updated: int
    unchanged: int

    @property
    def summary(self) -> str:
        return summary_of(self.created, self.updated, self.unchanged, BulkPlan.WORDS)


class BulkApplyError(ApplicationError):
    """A line refused at write time; every line of the file was rolled back."""

    def __init__(self, line: int, reason: str):
        super().__init__(
            f"Ligne {line} : {reason.rstrip('. ')}. Aucune valeur du fichier n'a été enregistrée.", {"line": line}
        )
        self.line = line
        self.reason = reason


def bulk_apply(*, plan: BulkPlan, by, establishment=None, filename: str = "", sha256: str = "") -> BulkResult:
    """Write every change of a valid plan as drafts, all or nothing.

    Each write goes through `value_save_draft` (permission policy, `value_input_errors`, audit record). When
    `establishment` (the page's) is given, one more audit record notes the file, its SHA-256 and the counts.
    """
    if not plan.is_valid:
        raise ApplicationError("Le fichier contient des lignes en erreur : aucune valeur n'a été enregistrée.")
    current = None
    try:
        with transaction.atomic():
            for change in plan.writes:
                current = change
                value_save_draft(
                    establishment=change.establishment, indicator=change.indicator, data=change.data, by=by
                )
            if establishment is not None and plan.writes:
                audit_record(
                    actor=by,
                    action="indicator_value.bulk_import",
                    target=establishment,
                    changes={
                        "fichier": [None, filename],
                        "sha256": [None, sha256],
                        "brouillons_crees": [None, plan.created],
                        "brouillons_modifies": [None, plan.updated],
                    },
                )
    except ValidationError as exc:
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        messages = [
            f"{COLUMN_OF_INPUT[name]} : {' '.join(errors)}" if name in COLUMN_OF_INPUT else " ".join(errors)
            for name, errors in by_field.items()
        ]
        raise BulkApplyError(current.line, " ; ".join(messages)) from exc
    except ApplicationError as exc:
        if current is None:
            raise
        raise BulkApplyError(current.line, exc.message) from exc
    return BulkResult(created=plan.created, updated=plan.updated, unchanged=plan.unchanged)

"""Writes on combined activity: the computation over the imported figures, and an administrator's override."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ami.estimates import refresh_estimates
from hopen import permissions
from hopen.audit import audit_record, audit_record_many
from hopen.exceptions import PermissionRefused
from hopen.models import ActivityFigures

from .models import CombinedActivity
from .rules import activity_inputs_from_sae, combined_activity

FIGURE_FIELDS = [
    "mco_full_days", "mco_sessions", "mco_ambulatory_surgery_stays", "mco_medicine_day_stays",
    "mco_obstetrics_day_stays", "ssr_full_days", "ssr_partial_days", "psy_full_time_days",
    "psy_other_full_time_days", "psy_day_attendances", "psy_night_attendances", "had_days",
]


@transaction.atomic
def combined_activity_refresh(*, by=None) -> dict:
    """Annex 3 §1 for every establishment, from its latest activity figures. Idempotent; overrides are kept."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    latest = (
        ActivityFigures.objects.order_by("establishment_id", "-source_year").distinct("establishment_id")
    )
    existing = {c.establishment_id: c for c in CombinedActivity.objects.select_for_update()}
    created, updated, entries = [], [], []
    for figures in latest:
        value = combined_activity(activity_inputs_from_sae(**{f: getattr(figures, f) for f in FIGURE_FIELDS}))
        current = existing.get(figures.establishment_id)
        if current is None:
            created.append(CombinedActivity(establishment_id=figures.establishment_id, source_year=figures.source_year, computed=value))
        elif (current.computed, current.source_year) != (value, figures.source_year):
            entries.append((current, {"computed": [current.computed, value], "source_year": [current.source_year, figures.source_year]}))
            current.computed, current.source_year, current.computed_at = value, figures.source_year, timezone.now()
            updated.append(current)
        else:
            counts["unchanged"] += 1
    created = CombinedActivity.objects.bulk_create(created, batch_size=1000)
    CombinedActivity.objects.bulk_update(updated, ["computed", "source_year", "computed_at"], batch_size=1000)
    entries += [(c, {"computed": [None, c.computed], "source_year": [None, c.source_year]}) for c in created]
    audit_record_many(actor=by, action="combined_activity.compute", entries=entries)
    # The AMI lines' annex-3 estimates follow the figure (an overridden figure wins: its lines do not move).
    refresh_estimates(establishment_ids=[c.establishment_id for c in created + updated])
    counts["created"], counts["updated"] = len(created), len(updated)
    return counts


@transaction.atomic
def combined_activity_override(*, establishment, value: Decimal | None, reason: str, by) -> CombinedActivity:
    """An administrator enters another figure (e.g. the programme's 2017 national one); it wins. None removes it."""
    if not permissions.can_manage_referential(by):
        raise PermissionRefused("Seul un administrateur de la plateforme peut saisir l'activité combinée.")
    record = CombinedActivity.objects.select_for_update().get(establishment=establishment)
    if value is not None and (value < 0 or not reason.strip()):
        raise ValidationError({"override": "L'activité combinée saisie doit être positive et motivée."})
    before = [record.override, record.override_reason]
    record.override = value
    record.override_reason = reason.strip() if value is not None else ""
    record.override_by = by if value is not None else None
    record.override_at = timezone.now() if value is not None else None
    record.save()
    refresh_estimates(establishment_ids=[establishment.pk])
    audit_record(
        actor=by, action="combined_activity.override", target=record,
        changes={"override": [before[0], record.override], "override_reason": [before[1], record.override_reason]},
    )
    return record

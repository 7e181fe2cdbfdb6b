"""The ARS's settings of its envelope (§5.1, 004): the derogatory seed ceiling and the sector quotas."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from hopen import permissions
from hopen.audit import audit_record, diff, snapshot
from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros

from ..ledger import balances_of
from ..models import Envelope, SectorQuota
from ..rules import CENT, SECTOR_LABELS, SECTORS, quotas_refusal, sector_ceiling
from ..selectors import seed_breakdown_of
from .common import REGION_MONEY_REFUSED, _lock, _reason, _require


@transaction.atomic
def derogatory_ceiling_raise(*, envelope, reason, by) -> Envelope:
    """§5.1: derogatory seed funding up to 50 % of the region's seed credits « si le nombre d'établissements ayant
    atteint les prérequis HOP'EN est insuffisant », which the region's ARS records with its reason."""
    region = envelope.region
    _require(permissions.can_manage_region_money(by, region), REGION_MONEY_REFUSED)
    reason = _reason(reason)
    envelope = _lock([envelope.pk])[envelope.pk]
    if envelope.derogatory_ceiling_raised:
        raise ApplicationError("Le plafond de l'amorçage dérogatoire est déjà porté à 50 %.")
    fields = ["derogatory_ceiling_raised", "derogatory_ceiling_reason", "derogatory_ceiling_raised_by", "derogatory_ceiling_raised_at"]
    before = snapshot(envelope, fields)
    envelope.derogatory_ceiling_raised = True
    envelope.derogatory_ceiling_reason = reason
    envelope.derogatory_ceiling_raised_by = by
    envelope.derogatory_ceiling_raised_at = timezone.now()
    envelope.save(update_fields=fields)
    audit_record(actor=by, action="envelope.derogatory_ceiling_raise", target=envelope, changes=diff(before, snapshot(envelope, fields)))
    return envelope


@transaction.atomic
def sector_quotas_set(*, envelope, quotas: dict, by) -> list[SectorQuota]:
    """004: the share (%) of the region's seed credits reserved to each sector; `quotas` maps "public", "private"
    and "espic" to a percentage, or None (or absent) for no quota. A quota below what the sector already uses is
    refused (its balance would be negative)."""
    region = envelope.region
    _require(permissions.can_manage_region_money(by, region), REGION_MONEY_REFUSED)
    wanted = {}
    for sector, share in quotas.items():
        if share in (None, ""):
            wanted[sector] = None
            continue
        try:
            wanted[sector] = Decimal(str(share)).quantize(CENT)
        except (InvalidOperation, TypeError, ValueError):
            raise ApplicationError(f"Quota invalide pour le secteur {SECTOR_LABELS.get(sector, sector)} : « {share} ».") from None
    refusal = quotas_refusal(wanted)
    if refusal:
        raise ApplicationError(refusal)
    _lock([envelope.pk])
    balances = balances_of([envelope.pk])[envelope.pk]
    breakdown = seed_breakdown_of([envelope.pk])[envelope.pk]
    for sector, share in wanted.items():
        if share is None:
            continue
        ceiling, used = sector_ceiling(balances.seed_total, share), breakdown.sector_used(sector)
        if ceiling < used:
            raise ApplicationError(
                f"Le quota du secteur {SECTOR_LABELS[sector]} ({french_euros(ceiling)}) serait inférieur à l'amorçage "
                f"déjà engagé pour ce secteur ({french_euros(used)})."
            )
    existing = {q.sector: q for q in SectorQuota.objects.filter(envelope=envelope)}
    before = {f"quota_{s}": (str(existing[s].share_percent) if s in existing else None) for s in SECTORS}
    now = timezone.now()
    for sector in SECTORS:
        share = wanted.get(sector)
        quota = existing.get(sector)
        if share is None:
            if quota is not None:
                quota.delete()
                existing.pop(sector)
        elif quota is None:
            existing[sector] = SectorQuota.objects.create(envelope=envelope, sector=sector, share_percent=share, set_by=by, set_at=now)
        elif quota.share_percent != share:
            quota.share_percent, quota.set_by, quota.set_at = share, by, now
            quota.save(update_fields=["share_percent", "set_by", "set_at"])
    after = {f"quota_{s}": (str(existing[s].share_percent) if s in existing else None) for s in SECTORS}
    changes = diff(before, after)
    if changes:
        audit_record(actor=by, action="envelope.sector_quotas_set", target=envelope, changes=changes)
    return [existing[s] for s in SECTORS if s in existing]

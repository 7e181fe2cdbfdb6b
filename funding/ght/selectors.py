"""Reads of the GHT governance: the facts eligibility needs (for many GHTs at once) and the GHT page.

Constant numbers of queries: `ghts_with_facts` one; `governance_page` a fixed handful whatever the number of
values, versions and documents.
"""

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from hopen.audit_display import present
from hopen.models import AuditRecord, Ght

from funding.eligibility.models import GhtItGovernance
from indicators.models import ValueStatus
from indicators.selectors import current_catalogue

from .models import GhtIndicatorValue, GhtMasterPlan, GhtValueDocument
from .rules import GovernanceFacts, governance_facts as facts_of, is_declined_at_ght_level


def declined_indicators(indicators) -> list:
    """The indicators (of a catalogue) declined at GHT level, in catalogue order."""
    return [indicator for indicator in indicators if is_declined_at_ght_level(indicator.ght_declination)]


def ghts_with_facts(ght_ids, *, declined_indicator_ids) -> dict:
    """{GHT id: (GHT, GovernanceFacts)} for §5.3.1; `declined_indicator_ids`: the indicators declined at GHT level in
    the programme's catalogue in force (the caller has the catalogue) — one query (the GHT with its CIO, its current
    SDSI's scan status and validation date, its count of declared GHT-level values), none without GHT."""
    ght_ids, declined_indicator_ids = set(ght_ids), list(declined_indicator_ids)
    if not ght_ids:
        return {}
    plan = GhtMasterPlan.objects.filter(ght=OuterRef("pk"), deleted_at__isnull=True).order_by("-uploaded_at", "-id")
    declared = (
        GhtIndicatorValue.objects.filter(
            ght=OuterRef("pk"), indicator_id__in=declined_indicator_ids, status=ValueStatus.DECLARED
        )
        .order_by()
        .values("ght")
        .annotate(n=Count("indicator", distinct=True))
        .values("n")
    )
    ghts = Ght.objects.filter(pk__in=ght_ids).select_related("it_governance").annotate(
        plan_scan_status=Subquery(plan.values("scan_status")[:1]),
        plan_validated_on=Subquery(plan.values("validated_on")[:1]),
        declared_count=Coalesce(Subquery(declared, output_field=IntegerField()), Value(0)),
    )
    return {
        ght.pk: (ght, facts_of(
            plan_scan_status=ght.plan_scan_status, plan_validated_on=ght.plan_validated_on,
            declined_count=len(declined_indicator_ids), declared_count=ght.declared_count,
            governance=getattr(ght, "it_governance", None),
        ))
        for ght in ghts
    }


# --- The GHT page ------------------------------------------------------------------------------------------------


@dataclass
class IndicatorRow:
    indicator: object
    draft: object = None
    declared: object = None
    versions: list = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.declared is not None and self.draft is None:
            return "declared"
        if self.draft is not None:
            return "draft"
        return "missing"


@dataclass
class GovernancePage:
    ght: object
    programme: object
    governance: object
    master_plans: list
    current_master_plan: object
    rows: list
    facts: GovernanceFacts
    members: list
    history: list = field(default_factory=list)

    @property
    def declared_count(self) -> int:
        return sum(1 for row in self.rows if row.declared is not None)

    @property
    def draft_count(self) -> int:
        return sum(1 for row in self.rows if row.draft is not None)


def _documents_prefetch():
    return Prefetch(
        "documents", queryset=GhtValueDocument.objects.select_related("uploaded_by").order_by("uploaded_at", "id")
    )


def governance_page(ght, *, programme) -> GovernancePage:
    """Everything the GHT page shows for `programme` (its catalogue in force). The GHT must already be in the
    caller's scope (`hopen.permissions.get_ght_for_reading`)."""
    catalogue = current_catalogue(programme)
    indicators = declined_indicators(catalogue.indicators.all())
    governance = GhtItGovernance.objects.select_related("cio_validated_by").filter(ght=ght).first()
    master_plans = list(
        GhtMasterPlan.objects.filter(ght=ght, deleted_at__isnull=True)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-id")
    )
    values = (
        GhtIndicatorValue.objects.filter(ght=ght, indicator__in=[indicator.pk for indicator in indicators])
        .select_related("created_by", "declared_by")
        .prefetch_related(_documents_prefetch())
        .order_by("indicator_id", "-version")
    )
    rows = {indicator.pk: IndicatorRow(indicator) for indicator in indicators}
    for value in values:
        row = rows[value.indicator_id]
        row.versions.append(value)
        value.visible_documents = [d for d in value.documents.all() if d.deleted_at is None]
        if value.status == ValueStatus.DRAFT:
            row.draft = value
        elif value.status == ValueStatus.DECLARED:
            row.declared = value
    current = master_plans[0] if master_plans else None
    facts = facts_of(
        plan_scan_status=current.scan_status if current else None,
        plan_validated_on=current.validated_on if current else None,
        declined_count=len(rows),
        declared_count=sum(1 for row in rows.values() if row.declared is not None),
        governance=governance,
    )
    members = list(ght.members.order_by("name").only("finess", "name", "city", "ght_id"))
    history = governance_history(
        governance, master_plans, [value for row in rows.values() for value in row.versions]
    )
    return GovernancePage(ght, programme, governance, master_plans, current, list(rows.values()), facts, members, history)


HISTORY_LENGTH = 100
# The storage key of a file says nothing to the page's reader; the GHT is the page's own.
HIDDEN_KEYS = ("file", "ght", "ght_id")


def governance_history(governance, master_plans, values) -> list:
    """The latest audit records of the GHT's governance (CIO, SDSI documents, GHT-level values), read as the audit
    trail reads them (`hopen.audit_display`, labels in `funding.ght.audit_labels`): one query for the records and
    their authors, one per kind of related object their changes name."""
    targets = [
        (GhtMasterPlan, [d.pk for d in master_plans]),
        (GhtIndicatorValue, [v.pk for v in values]),
        (GhtValueDocument, [d.pk for v in values for d in v.documents.all()]),
    ]
    if governance is not None:
        targets.append((GhtItGovernance, [governance.pk]))
    condition = Q(pk__in=[])
    for model, ids in targets:
        if ids:
            condition |= Q(object_type=model._meta.label_lower, object_id__in=[str(pk) for pk in ids])
    records = AuditRecord.objects.filter(condition).select_related("actor").order_by("-at", "-id")[:HISTORY_LENGTH]
    return present(records, skip=HIDDEN_KEYS)

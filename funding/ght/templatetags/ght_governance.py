"""`{% load ght_governance %}` — `verdict|needs_ght_governance`: does an eligibility verdict say the GHT's own
conditions of §5.3.1 (SDSI, convergence indicators, CIO) are missing? The pages then link to the GHT page."""

from django import template

register = template.Library()

GOVERNANCE_REASONS = frozenset({"ght_master_plan_missing", "ght_convergence_indicators_missing", "ght_cio_not_validated"})


@register.filter
def needs_ght_governance(verdicts) -> bool:
    """True for a Verdict, or an iterable of verdicts or of (member, verdict) pairs, with one of the GHT governance
    reasons."""
    if verdicts is None:
        return False
    items = [verdicts] if hasattr(verdicts, "reasons") else list(verdicts)
    items = [item[-1] if isinstance(item, tuple) else item for item in items]
    return any(reason.code in GOVERNANCE_REASONS for verdict in items for reason in verdict.reasons)

"""Writes on the regional envelopes (annex 2, annex 4, §5.1, 004): every movement of money, the derogatory ceiling
and the sector quotas. The ledger is written through `envelopes.ledger` only.

Each service checks the permission policy, locks the envelope rows, reads the balances under the lock, checks the
programme's limits (pure rules of `envelopes.rules`), appends its entries (`append_many(..., locked=True)`) and
writes its audit record, all in the caller's transaction. A correction is a new entry of the same kind with a
negative amount that points to the entry it corrects (`corrects`); nothing is ever updated or deleted.

Lock order, the same in every service here: the audit chain's advisory lock first (every write ends by auditing,
and a dossier service may already have audited before calling us), then the envelope rows in id order. Two
writers therefore never wait for each other in opposite orders.

One module per responsibility: `commitments` (seed and usage commitments within the limits — the delegated credits
included — payments, release), `delegations` (the DGOS's delegations of credits, annex 2 §3), `refunds`,
`redeployment` (between regions), `corrections` (of ledger entries), `limits` (the derogatory ceiling and the sector
quotas), and what they share in `common`. The services are re-exported here: callers (dossiers, deadlines,
pages) write `from envelopes.services import seed_commit`.
"""

from .commitments import commitments_release, seed_commit, seed_pay, share_key, usage_commit, usage_pay
from .common import (
    ALLOCATION_CORRECTION_REFUSED,
    REDEPLOYMENT_REFUSED,
    REFUND_REFUSED,
    REGION_MONEY_REFUSED,
    RELEASE_REFUSED,
)
from .corrections import entry_correct
from .delegations import DELEGATION_REFUSED, credits_delegate, delegated_credits_check
from .limits import derogatory_ceiling_raise, sector_quotas_set
from .redeployment import redeploy
from .refunds import ShareClaim, refund_claims_for, refund_receive, seed_refund_claims_for_shares, share_claim_key

__all__ = [
    "ALLOCATION_CORRECTION_REFUSED",
    "DELEGATION_REFUSED",
    "REDEPLOYMENT_REFUSED",
    "REFUND_REFUSED",
    "REGION_MONEY_REFUSED",
    "RELEASE_REFUSED",
    "commitments_release",
    "credits_delegate",
    "delegated_credits_check",
    "derogatory_ceiling_raise",
    "entry_correct",
    "redeploy",
    "refund_claims_for",
    "refund_receive",
    "sector_quotas_set",
    "seed_commit",
    "seed_pay",
    "seed_refund_claims_for_shares",
    "share_claim_key",
    "share_key",
    "ShareClaim",
    "usage_commit",
    "usage_pay",
]

"""Audit trail vocabulary of the envelopes and their ledger (annex 2): each movement of money and each limit set
(`hopen.audit_registry`)."""

from hopen.audit_registry import EUROS, FieldLabel

ACTIONS = {
    "envelope.open": "Enveloppe régionale ouverte",
    "envelope.derogatory_ceiling_raise": "Plafond de l'amorçage dérogatoire relevé",
    "envelope.sector_quotas_set": "Quotas sectoriels d'amorçage fixés",
    "ledger.delegate": "Crédits délégués",
    "ledger.seed_commit": "Amorçage engagé",
    "ledger.usage_commit": "Financement à l'usage engagé",
    "ledger.seed_pay": "Amorçage versé",
    "ledger.usage_pay": "Financement à l'usage versé",
    "ledger.commitments_release": "Engagements libérés",
    "ledger.redeploy": "Crédits redéployés",
    "ledger.refund_claim": "Remboursement demandé",
    "ledger.refund_receive": "Remboursement reçu",
    "ledger.refund_deduct": "Remboursement déduit",
    "ledger.correct": "Écriture corrigée",
}

OBJECT_TYPES = {"envelopes.ledgerentry": "Écriture du registre des enveloppes"}

FIELDS = {
    "envelopes.ledgerentry": {
        "envelope": "enveloppe",
        "dossier_domain": "domaine du dossier",
        "counterpart": "écriture de contrepartie",
        "corrects": "écriture corrigée",
        "idempotency_key": "clé d'unicité",
        "created_by": "écrit par",
        "seed_available_after": FieldLabel("amorçage disponible après", kind=EUROS),
        "usage_available_after": FieldLabel("usage disponible après", kind=EUROS),
    },
    "envelopes.envelope": {
        "derogatory_ceiling_raised_by": "plafond dérogatoire relevé par",
        "derogatory_ceiling_raised_at": "plafond dérogatoire relevé le",
        "quotas": "quotas sectoriels",
    },
    "envelopes.sectorquota": {"envelope": "enveloppe", "set_by": "fixé par", "set_at": "fixé le"},
}

REGION_PATHS = {
    "envelopes.envelope": "region",
    "envelopes.ledgerentry": "envelope__region",
    "envelopes.sectorquota": "envelope__region",
}

NAME_RELATIONS = {
    "envelopes.envelope": ("region", "programme"),
    "envelopes.ledgerentry": (),
}

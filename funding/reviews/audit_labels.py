"""Audit trail vocabulary of the project reviews (annex 4 §3) (`hopen.audit_registry`)."""

ACTIONS = {
    "project_review.record": "Revue de projet enregistrée",
    "project_review.forecast_update": "Échéance des cibles déplacée par une revue de projet",
}

OBJECT_TYPES = {"funding.projectreviewforecast": "Prévision d'une revue de projet"}

FIELDS = {
    "funding.projectreview": {"participants": "participants", "recorded_by": "enregistrée par",
                              "recorded_at": "enregistrée le"},
    "funding.projectreviewforecast": {"review": "revue de projet", "domain": "domaine du dossier"},
}

REGION_PATHS = {
    "funding.projectreview": "dossier__region",
    "funding.projectreviewforecast": "review__dossier__region",
}

"""Audit trail vocabulary of the indicators: programmes loaded from their file, indicator values (draft → declared
→ superseded), their justificatory documents, the earlier-programme results imported (`hopen.audit_registry`)."""

from hopen.audit_registry import FieldLabel

from .evidence import format_size

ACTIONS = {
    "programme.load": "Programme chargé depuis son fichier",
    "indicator_value.save_draft": "Brouillon de valeur enregistré",
    "indicator_value.bulk_import": "Brouillon de valeur importé (saisie en masse)",
    "indicator_value.declare": "Valeur déclarée",
    "indicator_value.correct": "Correction de valeur saisie",
    "indicator_value.supersede": "Valeur remplacée par sa correction",
    "evidence.upload": "Pièce justificative déposée",
    "evidence.delete": "Pièce justificative supprimée",
    "evidence.scan": "Analyse antivirus d'une pièce justificative",
    "evidence.carry_over": "Pièce justificative reprise sur la correction",
    "attainment_state.rebuild": "État d'atteinte des indicateurs reconstruit depuis l'historique",
    "prior_result.import": "Résultat d'un programme antérieur enregistré (données de démonstration)",
    "prior_result.import.create": "Résultat d'un programme antérieur importé",
    "prior_result.import.update": "Résultat d'un programme antérieur mis à jour",
}

FIELDS = {
    "indicators.indicatorvalue": {
        "description": "description",
        "version": "version",
        "previous": "version corrigée",
        "source": "source",
    },
    "indicators.evidence": {"value": "valeur justifiée", "size": FieldLabel("taille", format=format_size)},
    "indicators.priorprogrammeresult": {"source": "source"},
    "indicators.indicator": {"group": "groupe d'indicateurs", "catalogue": "version du catalogue"},
    "indicators.indicatorgroup": {"catalogue": "version du catalogue"},
}

REGION_PATHS = {
    "indicators.indicatorvalue": "establishment__region",
    "indicators.evidence": "value__establishment__region",
    "indicators.priorprogrammeresult": "establishment__region",
}

NAME_RELATIONS = {
    "indicators.indicatorvalue": ("indicator", "establishment"),
    "indicators.priorprogrammeresult": ("establishment", "programme"),
    "indicators.catalogueversion": ("programme",),
}

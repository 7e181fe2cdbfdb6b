"""Audit trail vocabulary of the GHT IT governance entered by the GHT (§5.3.1 « Pour les GHT »): SDSI documents,
the GHT CIO, GHT-level indicator values and their documents (`hopen.audit_registry`)."""

from hopen.audit_registry import FieldLabel
from indicators.evidence import format_size

ACTIONS = {
    "ght.master_plan_upload": "SDSI du GHT déposé",
    "ght.master_plan_validation": "Date de validation du SDSI du GHT renseignée",
    "ght.master_plan_delete": "SDSI du GHT supprimé",
    "ght.master_plan_scan": "Analyse antivirus d'un SDSI du GHT",
    "ght.cio_name": "DSI du GHT nommé",
    "ght.cio_validate": "Nomination du DSI du GHT validée",
    "ght.value_create": "Brouillon de valeur GHT créé",
    "ght.value_update": "Brouillon de valeur GHT modifié",
    "ght.value_declare": "Valeur GHT déclarée",
    "ght.value_supersede": "Valeur GHT remplacée par sa correction",
    "ght.value_correct": "Correction de valeur GHT saisie",
    "ght.value_document_upload": "Pièce justificative d'une valeur GHT déposée",
    "ght.value_document_scan": "Analyse antivirus d'une pièce justificative GHT",
}

FIELDS = {
    "ght.ghtmasterplan": {"ght": "GHT", "size": FieldLabel("taille", format=format_size)},
    "ght.ghtindicatorvalue": {"ght": "GHT", "description": "description", "version": "version",
                              "previous": "version corrigée"},
    "ght.ghtvaluedocument": {"value": "valeur GHT justifiée", "size": FieldLabel("taille", format=format_size)},
}

REGION_PATHS = {
    "ght.ghtmasterplan": "ght__region",
    "ght.ghtindicatorvalue": "ght__region",
    "ght.ghtvaluedocument": "value__ght__region",
}

NAME_RELATIONS = {"ght.ghtindicatorvalue": ("indicator", "ght")}

"""Audit trail vocabulary of the PDF letters (`hopen.audit_registry`)."""

from hopen.audit_registry import FieldLabel
from indicators.evidence import format_size

ACTIONS = {
    "dossier_letter.generate": "Courrier généré",
    "dossier_letter.reissue": "Courrier réédité (daté de la décision qu'il porte)",
}

FIELDS = {
    "funding.dossierletter": {
        "sha256": "empreinte SHA-256 du fichier",
        "size": FieldLabel("taille", format=format_size),
        "domain": "domaine du dossier",
    },
}

REGION_PATHS = {"funding.dossierletter": "dossier__region"}

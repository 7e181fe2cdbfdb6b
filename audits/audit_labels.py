"""Audit trail vocabulary of the DGOS audits (`hopen.audit_registry`)."""

from hopen.audit_registry import FieldLabel
from indicators.evidence import format_size

ACTIONS = {
    "audit_campaign.create": "Campagne de contrôle créée (tirage au sort)",
    "audit.draw": "Dossier tiré au sort pour un contrôle",
    "audit.start": "Contrôle commencé",
    "audit_line.check": "Ligne de contrôle vérifiée",
    "audit.send_findings": "Constats provisoires envoyés (procédure contradictoire)",
    "audit.respond": "Réponse de l'établissement aux constats",
    "audit.response_document": "Pièce jointe à la réponse déposée",
    "audit.response_document_scan": "Pièce jointe à la réponse analysée par l'antivirus",
    "audit.decide": "Contrôle conclu",
    "audit_letter.generate": "Courrier de contrôle généré",
}

FIELDS = {
    "audits.auditcampaign": {
        "programme": "programme",
        "sample": "dossiers tirés",
        "population_count": "population",
        "population_fingerprint": "empreinte de la population",
    },
    "audits.audit": {
        "dossier": FieldLabel("dossier", related="funding.dossier"),
        "lines": "lignes de contrôle",
    },
    "audits.auditresponsedocument": {
        "audit": "contrôle",
        "size": FieldLabel("taille", format=format_size),
    },
    "audits.auditletter": {
        "sha256": "empreinte SHA-256 du fichier",
        "size": FieldLabel("taille", format=format_size),
    },
}

REGION_PATHS = {
    "audits.audit": "dossier__region",
    "audits.auditline": "audit__dossier__region",
    "audits.auditletter": "audit__dossier__region",
    "audits.auditresponsedocument": "audit__dossier__region",
}

NAME_RELATIONS = {
    "audits.audit": ("dossier",),
    "audits.auditline": ("indicator", "establishment"),
}

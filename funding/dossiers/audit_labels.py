"""Audit trail vocabulary of the dossiers (annex 4): filing, transmission, ARS decisions per domain, refusals for
silence, follow-up (seed payment, targets, usage funding), each member's share, closure (`hopen.audit_registry`)."""

from hopen.audit_registry import FieldLabel

from .rules import ADVANCED, STANDARD

ACTIONS = {
    "dossier.create": "Dossier créé",
    "dossier.update": "Dossier modifié",
    "dossier.initialise": "Dossier initialisé par l'ARS",
    "dossier.transmit": "Dossier transmis à l'ARS",
    "dossier.start_review": "Instruction du dossier ouverte",
    "dossier.decide": "Décision de l'ARS sur le dossier",
    "dossier.refuse_for_silence": "Dossier refusé implicitement (silence de l'ARS)",
    "dossier.complete": "Dossier soldé",
    "dossier.close": "Dossier clôturé",
    "dossier_domain.select": "Domaine sélectionné",
    "dossier_domain.refuse": "Domaine refusé",
    "dossier_domain.refuse_for_silence": "Domaine refusé implicitement (silence de l'ARS)",
    "dossier_domain.admit_without_ami": "Domaine admis sans présélection AMI",
    "dossier_domain.seed_payment": "Amorçage versé",
    "dossier_domain.reach_targets": "Cibles du domaine atteintes",
    "dossier_domain.notify_usage": "Financement à l'usage notifié",
    "dossier_domain.usage_payment": "Financement à l'usage versé",
    "dossier_domain_share.reach_targets": "Cibles atteintes par un établissement partie",
    "dossier_domain_share.notify_usage": "Financement à l'usage notifié à un établissement partie",
    "dossier_domain_share.usage_payment": "Financement à l'usage versé à un établissement partie",
}

OBJECT_TYPES = {"funding.dossierdomainshare": "Part d'un établissement dans un domaine"}

FIELDS = {
    "funding.dossier": {
        "reference": "référence",
        "members": "établissements candidats",
        "domains": "domaines (code, forfait, échéance des cibles, montant)",
        "initialised_by": "initialisé par",
        "transmitted_by": "transmis par",
        "closed_by": "clôturé par",
    },
    "funding.dossierdomain": {
        "rate": FieldLabel("forfait", choices=((STANDARD, "forfait standard"), (ADVANCED, "forfait avancé"))),
        "usage_notified_by": "financement à l'usage notifié par",
        "admitted_without_ami_by": "admis sans présélection AMI par",
    },
    "funding.dossierdomainshare": {
        "domain": "domaine du dossier",
        "usage_notified_by": "financement à l'usage notifié par",
    },
    "funding.dossiermember": {"dossier": "dossier"},
}

REGION_PATHS = {
    "funding.dossier": "region",
    "funding.dossierdomain": "dossier__region",
    "funding.dossierdomainshare": "domain__dossier__region",
    "funding.dossiermember": "dossier__region",
}

NAME_RELATIONS = {
    "funding.dossierdomain": ("dossier",),
    "funding.dossierdomainshare": ("domain__dossier", "establishment"),
}

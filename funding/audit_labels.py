"""Audit trail vocabulary of the estimate (annex 3): combined activity computed and overridden, and the
referentials edited in the administration (`funding/admin.py`, `AuditedAdminMixin`) (`hopen.audit_registry`)."""

from hopen.audit_registry import NUMBER, FieldLabel

ACTIONS = {
    "combined_activity.compute": "Activité combinée calculée",
    "combined_activity.override": "Activité combinée saisie par un administrateur",
    "software_vendor.create": "Éditeur de logiciel ajouté (administration)",
    "software_vendor.update": "Éditeur de logiciel modifié (administration)",
    "software_vendor.delete": "Éditeur de logiciel supprimé (administration)",
    "ght_it_governance.create": "Gouvernance SI du GHT créée (administration)",
    "ght_it_governance.update": "Gouvernance SI du GHT modifiée (administration)",
    "ght_it_governance.delete": "Gouvernance SI du GHT supprimée (administration)",
}

FIELDS = {
    "funding.combinedactivity": {
        "computed": FieldLabel("activité combinée calculée", kind=NUMBER),
        "override": FieldLabel("activité combinée saisie", kind=NUMBER),
        "override_by": "saisie par",
    },
    "funding.ghtitgovernance": {
        "master_plan_uploaded_at": "SDSI déposé le",
        "master_plan_uploaded_by": "SDSI déposé par",
    },
    "funding.deadlineevent": {"domain": "domaine du dossier", "created_at": "traitée le"},
    "funding.fundingcategory": {"programme": "programme"},
}

REGION_PATHS = {
    "funding.combinedactivity": "establishment__region",
    "funding.ghtitgovernance": "ght__region",
}

NAME_RELATIONS = {"funding.combinedactivity": ("establishment",), "funding.ghtitgovernance": ("ght",)}

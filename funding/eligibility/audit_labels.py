"""Audit trail vocabulary of the eligibility referentials: the RELIMS software vendors imported
(`vendors_import.py`) (`hopen.audit_registry`)."""

ACTIONS = {
    "software_vendor.import.create": "Éditeur de logiciel importé (RELIMS)",
    "software_vendor.import.update": "Éditeur de logiciel mis à jour (RELIMS)",
}

"""The sector of an establishment — public, privé, ESPIC — the one breakdown of every page, filter and figure.

004 « Répartition identique entre les secteurs public, privé et Espic » and §5.1 « statuts d'établissements
(publics, privés, ESPIC) »: the ledger's sector quotas, the dashboards, the AMI balance, the homes' tables and the
establishment filters all split the establishments this way (a second breakdown — public / privé lucratif / privé
non lucratif / CLCC — gave other totals on other pages).

Public establishments are the public sector; ESPIC-qualified establishments and the CLCCs (ESPIC by law,
art. L. 6161-5 CSP) the ESPIC sector; every other private establishment, for-profit or not, the private sector.
"""

from django.db.models import Q

PUBLIC, PRIVATE, ESPIC = "public", "private", "espic"
SECTORS = (PUBLIC, PRIVATE, ESPIC)
SECTOR_LABELS = {PUBLIC: "public", PRIVATE: "privé", ESPIC: "ESPIC"}
SECTOR_CHOICES = [(PUBLIC, "Public"), (PRIVATE, "Privé"), (ESPIC, "ESPIC")]


def sector_of(status: str, is_espic: bool) -> str:
    """The sector of one establishment from its legal status and its ESPIC qualification."""
    if status == "public":
        return PUBLIC
    if is_espic or status == "clcc":
        return ESPIC
    return PRIVATE


def sector_q(sector: str, prefix: str = "") -> Q:
    """The same rule as a database filter (`prefix` « establishments__ » from a region): `sector_of` in SQL."""
    espic = Q(**{f"{prefix}is_espic": True}) | Q(**{f"{prefix}status": "clcc"})
    public = Q(**{f"{prefix}status": "public"})
    if sector == PUBLIC:
        return public
    if sector == ESPIC:
        return espic & ~public
    return ~public & ~espic

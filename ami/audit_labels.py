"""Audit trail vocabulary of the AMI pre-candidatures (annex 5): filing, validations, ARS decisions, messages,
complementary documents and the regional programming (`hopen.audit_registry`)."""

import re

from hopen.audit_registry import TEXT, FieldLabel
from indicators.evidence import format_size

from .forms import semester_label

ACTIONS = {
    "pre_candidature.save": "Pré-candidature enregistrée",
    "pre_candidature.validate": "Pré-candidature validée par la direction de l'établissement",
    "pre_candidature.validate_as_support": "Pré-candidature validée par l'établissement support du GHT",
    "pre_candidature.decide": "Présélection décidée par l'ARS",
    "pre_candidature.comment": "Message envoyé sur la pré-candidature",
    "pre_candidature.attachment_upload": "Pièce complémentaire déposée",
    "pre_candidature.attachment_delete": "Pièce complémentaire supprimée",
    "pre_candidature.attachment_scan": "Analyse antivirus d'une pièce complémentaire",
    "ami.programming_transmitted": "Programmation pluriannuelle transmise à la DGOS",
}

SEMESTER = FieldLabel("", format=lambda value: semester_label(str(value)))
DOMAIN_CHOICE = re.compile(r"^(?P<code>\S+) (?P<semester>\d{4} S\d) priorité (?P<priority>\d+)$")


def domain_summary(value) -> str:
    """One chosen domain as `ami.services` records it (« D2 2021 S1 priorité 1 »), read as annex 5 lists it:
    « D2 (2021 semestre 1, priorité 1) »; a value of another shape is shown as recorded."""
    match = DOMAIN_CHOICE.match(str(value))
    if match is None:
        return str(value)
    return f"{match['code']} ({semester_label(match['semester'])}, priorité {match['priority']})"


FIELDS = {
    "ami.precandidature": {
        # A list of summaries, not the reverse relation's ids: formatted, never looked up.
        "domains": FieldLabel("domaines (semestre, priorité)", kind=TEXT, format=domain_summary),
        "hn_prerequisites_forecast": FieldLabel(
            "période prévisionnelle d'atteinte des prérequis HN", format=SEMESTER.format
        ),
        "hopen_prerequisites_forecast": FieldLabel(
            "période prévisionnelle d'atteinte des prérequis HOP'EN", format=SEMESTER.format
        ),
        "support_validated_by": "validé par l'établissement support",
    },
    "ami.precandidaturedomain": {
        "pre_candidature": "pré-candidature",
        "forecast_semester": FieldLabel("semestre prévisionnel d'atteinte des cibles", format=SEMESTER.format),
    },
    "ami.precandidaturecomment": {"pre_candidature": "pré-candidature", "body": "message", "author": "auteur"},
    "ami.precandidatureattachment": {
        "pre_candidature": "pré-candidature",
        "size": FieldLabel("taille", format=format_size),
    },
}

REGION_PATHS = {
    "ami.precandidature": "establishment__region",
    "ami.precandidaturedomain": "pre_candidature__establishment__region",
    "ami.precandidaturecomment": "pre_candidature__establishment__region",
    "ami.precandidatureattachment": "pre_candidature__establishment__region",
}

NAME_RELATIONS = {"ami.precandidature": ("programme", "establishment")}

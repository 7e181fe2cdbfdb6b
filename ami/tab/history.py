"""The history of a pre-candidature shown on its tab: its audit records and those of its domains, messages and
documents, each change as the page shows it.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hopen.models import AuditRecord, User
from indicators.evidence import format_size

from ..forms import amount_text, semester_label
from ..models import PreCandidature, PreCandidatureAttachment, PreCandidatureComment, PreCandidatureDomain

ACTION_LABELS = {
    "pre_candidature.save": "Pré-candidature enregistrée",
    "pre_candidature.validate": "Validée par la direction de l'établissement",
    "pre_candidature.validate_as_support": "Validée par l'établissement support du GHT",
    "pre_candidature.decide": "Décision de l'ARS",
    "pre_candidature.comment": "Message envoyé",
    "pre_candidature.attachment_upload": "Pièce complémentaire déposée",
    "pre_candidature.attachment_delete": "Pièce complémentaire supprimée",
    "pre_candidature.attachment_scan": "Analyse antivirus d'une pièce",
}
EXTRA_FIELD_LABELS = {
    "domains": "domaines (semestre, priorité)",
    "body": "message",
    "scan_detail": "résultat de l'analyse",
    "file": "fichier stocké",
}
HISTORY_MODELS = {
    "ami.precandidature": PreCandidature,
    "ami.precandidaturedomain": PreCandidatureDomain,
    "ami.precandidaturecomment": PreCandidatureComment,
    "ami.precandidatureattachment": PreCandidatureAttachment,
}
SUBJECT_TYPES = {"ami.precandidaturedomain", "ami.precandidatureattachment"}
USER_FIELDS = {"deleted_by", "validated_by", "support_validated_by", "decided_by", "uploaded_by", "author"}
HISTORY_LIMIT = 300


def _field_label(model, name) -> str:
    if name in EXTRA_FIELD_LABELS:
        return EXTRA_FIELD_LABELS[name]
    try:
        return str(model._meta.get_field(name).verbose_name)
    except (FieldDoesNotExist, AttributeError):
        return name


def _display(model, name, value, users) -> str:
    """A recorded value as the page shows it: choices by their label, yes/no, dates, users by name."""
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, list):
        return " ; ".join(str(v) for v in value) or "—"
    if name in USER_FIELDS:
        user = users.get(value)
        return user.get_full_name() if user else f"utilisateur n° {value}"
    if name.endswith("_at") and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            return f"{timezone.localtime(moment):%d/%m/%Y %H:%M}"
    if name == "size" and isinstance(value, int):
        return format_size(value)
    if name == "investment_amount":
        return f"{_grouped(value)}\u00a0€"
    try:
        field = model._meta.get_field(name)
    except (FieldDoesNotExist, AttributeError):
        field = None
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if name.endswith("forecast") or name == "forecast_semester":
        return semester_label(str(value))
    return str(value)


def _grouped(value) -> str:
    try:
        return amount_text(Decimal(str(value)), "\u00a0")
    except (InvalidOperation, ValueError):
        return str(value)


def _field_order(model) -> dict:
    order = {field.name: i for i, field in enumerate(model._meta.fields)} if model else {}
    order.setdefault("domains", order.get("hopen_prerequisites_forecast", 0) + 0.5)
    return order


def history(pre_candidature, domains, comments, attachments) -> list:
    """Audit records of the pre-candidature and of its domains, messages and documents (newest first)."""
    if pre_candidature.pk is None:
        return []
    condition = Q(object_type="ami.precandidature", object_id=str(pre_candidature.pk))
    for object_type, objects in (
        ("ami.precandidaturedomain", domains),
        ("ami.precandidaturecomment", comments),
        ("ami.precandidatureattachment", attachments),
    ):
        ids = [str(o.pk) for o in objects]
        if ids:
            condition |= Q(object_type=object_type, object_id__in=ids)
    records = list(AuditRecord.objects.filter(condition).order_by("-id")[:HISTORY_LIMIT])
    user_ids = {
        value
        for record in records
        for name, pair in (record.changes or {}).items()
        if name in USER_FIELDS
        for value in pair
        if isinstance(value, int)
    }
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    for record in records:
        model = HISTORY_MODELS.get(record.object_type)
        record.action_label = ACTION_LABELS.get(record.action, record.action)
        order = _field_order(model)
        record.change_rows = [
            (_field_label(model, name), _display(model, name, before, users), _display(model, name, after, users))
            for name, (before, after) in sorted((record.changes or {}).items(), key=lambda item: order.get(item[0], 999))
            if name not in {"file", "pre_candidature"}
        ]
        record.subject = record.object_repr if record.object_type in SUBJECT_TYPES else ""
    return records

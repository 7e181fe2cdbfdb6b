"""The audit trail as auditors browse it: the records the user may read, the filters of the page (who, action,
object type, date range, region) and the rows of its CSV/XLSX export — the page and the export read the same
filtered queryset, so an export holds exactly what the page lists."""

import datetime
from itertools import islice

import django_filters
from django import forms
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from . import exports, permissions
from .audit_display import present
from .audit_registry import registry
from .models import AuditRecord, Region

EXPORT_CHUNK = 2000
EXPORT_COLUMNS = [
    exports.Column("Date (heure de Paris)", exports.DATETIME, 18),
    exports.Column("Auteur", exports.TEXT, 26),
    exports.Column("Adresse électronique de l'auteur", exports.TEXT, 30),
    exports.Column("Action", exports.TEXT, 40),
    exports.Column("Code de l'action", exports.TEXT, 28),
    exports.Column("Type d'objet", exports.TEXT, 24),
    exports.Column("Objet", exports.TEXT, 36),
    exports.Column("Identifiant de l'objet", exports.TEXT, 12),
    exports.Column("Modifications (avant → après)", exports.TEXT, 80),
    exports.Column("Empreinte SHA-256", exports.TEXT, 66),
]


def audit_records_for(user):
    """Every record the user may browse: the whole trail for the roles of `can_browse_audit_trail` (national
    roles: administrators and DGOS auditors), none for anyone else."""
    if not permissions.can_browse_audit_trail(user):
        return AuditRecord.objects.none()
    return AuditRecord.objects.all()


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AuditTrailFilter(django_filters.FilterSet):
    """The filters of the page and of its export (GET parameters, so a filtered view can be bookmarked)."""

    q = django_filters.CharFilter(method="filter_search", label="Recherche (auteur, action ou objet)")
    actor = django_filters.CharFilter(method="filter_actor", label="Auteur (adresse électronique ou nom)")
    action = django_filters.ChoiceFilter(label="Action", empty_label="Toutes les actions")
    object_type = django_filters.ChoiceFilter(label="Type d'objet", empty_label="Tous les types")
    start = django_filters.DateFilter(
        method="filter_start", label="Du", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = django_filters.DateFilter(
        method="filter_end", label="Au (inclus)", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    region = django_filters.ModelChoiceFilter(
        queryset=Region.objects.order_by("name"), method="filter_region", label="Région", empty_label="Toutes",
    )

    class Meta:
        model = AuditRecord
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reg = registry()
        self.filters["action"].extra["choices"] = sorted(reg.actions.items(), key=lambda pair: pair[1].lower())
        self.filters["object_type"].extra["choices"] = reg.object_type_choices()

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        codes = [code for code, label in registry().actions.items() if value.lower() in label.lower()]
        return queryset.filter(
            Q(actor_email__icontains=value) | Q(action__icontains=value) | Q(action__in=codes)
            | Q(object_repr__icontains=value)
        )

    def filter_actor(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q(actor_email__icontains=value)
        for word in value.split():
            condition |= Q(actor__first_name__icontains=word) | Q(actor__last_name__icontains=word)
        return queryset.filter(condition)

    def filter_start(self, queryset, name, value):
        return queryset.filter(at__gte=_local_midnight(value))

    def filter_end(self, queryset, name, value):
        return queryset.filter(at__lt=_local_midnight(value + datetime.timedelta(days=1)))

    def filter_region(self, queryset, name, value):
        """Records of an object of the region: each object type follows its declared path to its region
        (`REGION_PATHS` of the apps' `audit_labels.py`); one query, the subqueries run inside it."""
        reg = registry()
        condition = Q(pk__in=[])
        for object_type, path in sorted(reg.region_paths.items()):
            model = reg.model_of(object_type)
            if model is None:
                continue
            ids = (
                model._default_manager.filter(**{path: value.pk if path == "pk" else value})
                .annotate(audit_object_id=Cast("pk", CharField()))
                .values("audit_object_id")
            )
            condition |= Q(object_type=object_type, object_id__in=ids)
        return queryset.filter(condition)


def filtered_records(user, params) -> AuditTrailFilter:
    return AuditTrailFilter(params, queryset=audit_records_for(user).select_related("actor"))


def export_rows(queryset):
    """The export's rows, read by chunks (a server-side cursor): each chunk names its related objects at once."""
    iterator = queryset.iterator(chunk_size=EXPORT_CHUNK)
    while chunk := list(islice(iterator, EXPORT_CHUNK)):
        for line in present(chunk):
            record = line.record
            yield [
                line.at, line.actor, record.actor_email, line.action_label, record.action, line.object_type_label,
                line.object_label, record.object_id, line.changes_text, record.hash,
            ]


def export_response(fmt: str, queryset):
    return exports.table_response(
        fmt, exports.export_filename("piste-audit"), "Piste d'audit", EXPORT_COLUMNS, export_rows(queryset)
    )

"""API v1 of the indicators: thin views calling the permission policy, the selectors and the services.

Out-of-scope establishments and values answer 404 (`hopen.permissions`); writes by read-only roles
(ARS, DGOS) answer 403 before their body is even read; business-rule refusals come from the services
(ApplicationError → 400, validation errors → 400 with one French message per field, PermissionRefused → 403,
see `hopen.api.exception_handler`). Justificatory documents are listed here but downloaded only through
the protected page view (`indicators:evidence_download`), never through the API.
"""

import dataclasses
from decimal import Decimal

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hopen import permissions
from hopen.exceptions import PermissionRefused
from hopen.input_guard import GuardedFormParser, GuardedMultiPartParser
from hopen.validation import validate_sane_date

from . import selectors
from .state.selectors import current_declared_values
from .attainment import Attainment
from .evidence import READ_ONLY_MESSAGE, evidence_upload
from .models import Evidence, Indicator, IndicatorValue, TargetKind, ValueKind, ValueStatus
from .services import ValueInput, value_correct, value_declare, value_save_draft

TAG = "indicateurs"
ATTAINMENT_CHOICES = [(a.value, a.label) for a in Attainment]
ENTRY_REFUSED = "Seuls les utilisateurs de l'établissement peuvent saisir ses indicateurs."
POSITIVE_INTEGER_MAX = 2_147_483_647  # PostgreSQL integer (PositiveIntegerField)
VALUE_INPUT_FIELDS = [f.name for f in dataclasses.fields(ValueInput)]

ERRORS_400 = OpenApiResponse(description="Saisie invalide : un message en français par champ, ou `detail`.")
ERRORS_403 = OpenApiResponse(description="Lecture seule (ARS, DGOS) ou déclaration réservée à la direction.")
ERRORS_404 = OpenApiResponse(description="Établissement, indicateur ou valeur introuvable ou hors de votre périmètre.")


# --- Reads shared by the views ------------------------------------------------------------------------------------


def _current_indicator(programme, code) -> Indicator:
    """The indicator with this code in the catalogue in force of `programme` (the request's); 404 for an unknown
    code."""
    indicator = (
        Indicator.objects.select_related("group")
        .filter(catalogue__programme=programme, catalogue__is_current=True, code=str(code).upper())
        .first()
    )
    if indicator is None:
        raise Http404("Indicateur inconnu dans le catalogue en vigueur du programme.")
    return indicator


def _values_with_documents():
    live_documents = Evidence.objects.filter(deleted_at__isnull=True).select_related("uploaded_by")
    return IndicatorValue.objects.select_related(
        "establishment", "indicator", "created_by", "declared_by"
    ).prefetch_related(Prefetch("documents", queryset=live_documents, to_attr="live_documents"))


def _value_of_indicator(establishment, indicator, value_id) -> IndicatorValue:
    value = _values_with_documents().filter(pk=value_id, establishment=establishment, indicator=indicator).first()
    if value is None:
        raise Http404("Valeur introuvable.")
    return value


def _value_readable_by(user, value_id) -> IndicatorValue:
    """A value is looked up only among the establishments the user may read: 404 otherwise."""
    value = (
        IndicatorValue.objects.select_related("establishment", "indicator")
        .filter(pk=value_id, establishment__in=permissions.establishments_readable_by(user))
        .first()
    )
    if value is None:
        raise Http404("Valeur introuvable.")
    return value


def _require_entry_right(user, establishment):
    """Readers of the establishment (ARS, DGOS) get 403 before any input is examined."""
    if not permissions.can_enter_indicator_values(user, establishment):
        raise PermissionRefused(ENTRY_REFUSED)


def indicator_overview(establishment, programme):
    """`programme`'s catalogue in force with the establishment's latest declared values (of that catalogue's
    indicators only), attainments and drafts.

    A constant number of queries whatever the number of values: catalogue (3), latest declared
    values (1, through the attainment state kept on write), their declarers (1), indicators having a draft (1).
    """
    catalogue = selectors.current_catalogue(programme)
    indicators = list(catalogue.indicators.all())
    latest = current_declared_values([establishment.pk], [i.pk for i in indicators])
    values = {indicator_id: value for (_, indicator_id), value in latest.items()}
    prefetch_related_objects(list(values.values()), "declared_by")
    with_draft = set(
        IndicatorValue.objects.filter(
            establishment=establishment, indicator__in=indicators, status=ValueStatus.DRAFT
        ).values_list("indicator_id", flat=True)
    )
    attainments = selectors.group_attainments(catalogue, values)
    return {
        "establishment": establishment,
        "catalogue": catalogue,
        "prerequisites": attainments["prerequisites"],
        "groups": [
            {"group": group, "attainment": attainments.get(group.code, Attainment.MISSING)}
            for group in catalogue.groups.all()
        ],
        "indicators": [
            {
                "indicator": indicator,
                "value": values.get(indicator.pk),
                "attainment": selectors.attainment_of(indicator, values.get(indicator.pk)),
                "has_draft": indicator.pk in with_draft,
            }
            for indicator in indicators
        ],
    }


# --- Serializers ---------------------------------------------------------------------------------------------------


class AttainmentField(serializers.ChoiceField):
    """An `indicators.attainment.Attainment`, written as its code (reached, not_reached, not_applicable, missing)."""

    def __init__(self, **kwargs):
        super().__init__(choices=ATTAINMENT_CHOICES, **kwargs)

    def to_representation(self, value):
        return getattr(value, "value", value)


class AttainmentLabelField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return value.label


class DeclaredValueSerializer(serializers.ModelSerializer):
    """A value as the indicator list shows it (the latest declared one)."""

    percentage = serializers.DecimalField(
        max_digits=4, decimal_places=1, min_value=Decimal(0), max_value=Decimal(100), read_only=True, allow_null=True,
        help_text="Taux en %, arrondi au dixième (l'atteinte compare la fraction exacte au seuil).",
    )
    semester = serializers.CharField(read_only=True)
    declared_by = serializers.EmailField(source="declared_by.email", allow_null=True, default=None, read_only=True)

    class Meta:
        model = IndicatorValue
        fields = [
            "id", "measured_on", "semester", "kind", "numerator", "denominator", "percentage", "exists", "description",
            "not_applicable_reason", "comment", "version", "declared_at", "declared_by",
        ]


def evidence_download_url(document) -> str | None:
    """The protected download view (same permission policy as the pages); None while the file may not be served."""
    if not document.is_downloadable:
        return None
    try:
        return reverse("indicators:evidence_download", args=[document.pk])
    except NoReverseMatch:  # the download view is not installed
        return None


class EvidenceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")
    uploaded_by = serializers.EmailField(source="uploaded_by.email")
    scan_status_label = serializers.CharField(source="get_scan_status_display")
    download_url = serializers.SerializerMethodField(
        help_text="Lien de téléchargement (vue protégée) ; null tant que l'analyse antivirus n'est pas concluante."
    )

    class Meta:
        model = Evidence
        fields = [
            "id", "name", "size", "content_type", "sha256", "scan_status", "scan_status_label", "uploaded_at",
            "uploaded_by", "download_url",
        ]

    def get_download_url(self, document) -> str | None:
        return evidence_download_url(document)


@extend_schema_field(
    {"type": "string", "description": "`draft` (brouillon), `declared` (déclarée) ou `superseded` (remplacée)"}
)
class ValueStatusField(serializers.CharField):
    """A plain string in the schema: an enum named "status" would collide with the establishments' legal status
    (`StatusEnum`) until SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] names both."""


class IndicatorValueSerializer(DeclaredValueSerializer):
    """One version of a value (draft, declared or superseded), with its documents."""

    establishment = serializers.CharField(source="establishment.finess")
    indicator = serializers.CharField(source="indicator.code")
    status = ValueStatusField()
    status_label = serializers.CharField(source="get_status_display")
    previous = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # null: the first version
    created_by = serializers.EmailField(source="created_by.email")
    attainment = serializers.SerializerMethodField()
    documents = EvidenceSerializer(many=True, source="live_documents")

    class Meta(DeclaredValueSerializer.Meta):
        fields = [
            "id", "establishment", "indicator", "status", "status_label", "version", "previous", "correction_reason",
            "measured_on", "semester", "kind", "numerator", "denominator", "percentage", "exists", "description",
            "not_applicable_reason", "comment", "attainment", "created_at", "created_by", "updated_at",
            "declared_at", "declared_by", "documents",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=ATTAINMENT_CHOICES))
    def get_attainment(self, value) -> str:
        return selectors.attainment_of(value.indicator, value).value


class ValueInputSerializer(serializers.Serializer):
    """Types only; the programme's rules (fraction, existence, non-applicability, date) are the service's."""

    measured_on = serializers.DateField(label="Date de mesure", validators=[validate_sane_date])
    kind = serializers.ChoiceField(choices=ValueKind.choices, label="Nature de la valeur")
    numerator = serializers.IntegerField(
        label="Numérateur", required=False, allow_null=True, default=None, max_value=POSITIVE_INTEGER_MAX
    )
    denominator = serializers.IntegerField(
        label="Dénominateur", required=False, allow_null=True, default=None, max_value=POSITIVE_INTEGER_MAX
    )
    exists = serializers.BooleanField(label="Existe", required=False, allow_null=True, default=None)
    description = serializers.CharField(label="Description", required=False, allow_blank=True, default="")
    not_applicable_reason = serializers.CharField(
        label="Motif de non-applicabilité", required=False, allow_blank=True, default=""
    )
    comment = serializers.CharField(label="Commentaire", required=False, allow_blank=True, default="")

    def value_input(self) -> ValueInput:
        return ValueInput(**{name: self.validated_data[name] for name in VALUE_INPUT_FIELDS})


class CorrectionInputSerializer(ValueInputSerializer):
    correction_reason = serializers.CharField(label="Motif de la correction", allow_blank=True)
    measured_on = serializers.DateField(
        label="Date de mesure", required=False, validators=[validate_sane_date], help_text="Par défaut, celle de la valeur corrigée."
    )


class GroupAttainmentSerializer(serializers.Serializer):
    code = serializers.CharField(source="group.code")
    kind = serializers.CharField(source="group.kind")
    label = serializers.CharField(source="group.label")
    attainment = AttainmentField()
    attainment_label = AttainmentLabelField(source="attainment")


class IndicatorRowSerializer(serializers.Serializer):
    code = serializers.CharField(source="indicator.code")
    group = serializers.CharField(source="indicator.group.code")
    label = serializers.CharField(source="indicator.label")
    target_text = serializers.CharField(source="indicator.target_text")
    target_kind = serializers.ChoiceField(source="indicator.target_kind", choices=TargetKind.choices)
    target_threshold = serializers.DecimalField(
        source="indicator.target_threshold", max_digits=5, decimal_places=2, allow_null=True
    )
    not_applicable_allowed = serializers.BooleanField(source="indicator.not_applicable_allowed")
    latest_declared = DeclaredValueSerializer(source="value", allow_null=True)
    attainment = AttainmentField()
    attainment_label = AttainmentLabelField(source="attainment")
    has_draft = serializers.BooleanField(help_text="Un brouillon attend d'être déclaré (toutes dates de mesure).")


class CatalogueSerializer(serializers.Serializer):
    programme = serializers.CharField(source="programme.code")
    programme_name = serializers.CharField(source="programme.name")
    code = serializers.CharField()
    label = serializers.CharField()


class EstablishmentRefSerializer(serializers.Serializer):
    finess = serializers.CharField()
    name = serializers.CharField()


class PrerequisitesSerializer(serializers.Serializer):
    attainment = AttainmentField(source="*")
    attainment_label = AttainmentLabelField(source="*")


class IndicatorOverviewSerializer(serializers.Serializer):
    establishment = EstablishmentRefSerializer()
    catalogue = CatalogueSerializer()
    prerequisites = PrerequisitesSerializer(help_text="Prérequis P1–P4 : atteints seulement si les 15 le sont (§5.3.1).")
    groups = GroupAttainmentSerializer(many=True)
    indicators = IndicatorRowSerializer(many=True)


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(label="Fichier", allow_empty_file=False)


# --- Views ---------------------------------------------------------------------------------------------------------

FINESS = OpenApiParameter("finess", str, OpenApiParameter.PATH, description="Numéro FINESS géographique (ET).")
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="Code de l'indicateur (annexe 1), par ex. « D1.1 ».")
VALUE_ID = OpenApiParameter("value_id", int, OpenApiParameter.PATH, description="Identifiant de la version de valeur.")
PROGRAMME = OpenApiParameter(
    "programme", str, description="Code du programme (par défaut celui en cours) : le catalogue en vigueur de ce "
    "programme, ses seuls indicateurs et leurs valeurs. Code inconnu : 404.",
)


class EstablishmentIndicatorsApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="establishment_indicators_list", parameters=[FINESS, PROGRAMME],
        summary="Indicateurs de l'établissement et leur atteinte",
        description=(
            "Le catalogue en vigueur (annexe 1) avec, pour chaque indicateur, la dernière valeur déclarée, son "
            "atteinte (`reached`, `not_reached`, `not_applicable`, `missing`) et la présence d'un brouillon ; "
            "l'atteinte de chaque prérequis / domaine et des prérequis dans leur ensemble (§5.3.1)."
        ),
        responses={200: IndicatorOverviewSerializer, 404: ERRORS_404},
    )
    def get(self, request, finess):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        return Response(IndicatorOverviewSerializer(indicator_overview(establishment, request.programme)).data)


class IndicatorValuesApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="establishment_indicator_values_list", parameters=[FINESS, CODE, PROGRAMME],
        summary="Toutes les versions des valeurs d'un indicateur",
        description="Brouillons, valeurs déclarées et remplacées, de la plus récente à la plus ancienne, avec leurs pièces.",
        responses={200: IndicatorValueSerializer(many=True), 404: ERRORS_404},
    )
    def get(self, request, finess, code):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        indicator = _current_indicator(request.programme, code)
        values = _values_with_documents().filter(establishment=establishment, indicator=indicator)
        values = values.order_by("-measured_on", "-version", "-id")
        return Response(IndicatorValueSerializer(values, many=True).data)

    @extend_schema(
        tags=[TAG], operation_id="establishment_indicator_values_save_draft", parameters=[FINESS, CODE, PROGRAMME],
        summary="Créer ou modifier le brouillon d'une date de mesure",
        description=(
            "Crée le brouillon de cette date de mesure (201) ou le met à jour (200). Une valeur déjà déclarée "
            "pour cette date se corrige (`correct/`) : 400. Réservé aux utilisateurs de l'établissement."
        ),
        request=ValueInputSerializer,
        responses={
            201: IndicatorValueSerializer, 200: IndicatorValueSerializer, 400: ERRORS_400, 403: ERRORS_403,
            404: ERRORS_404,
        },
    )
    def post(self, request, finess, code):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        indicator = _current_indicator(request.programme, code)
        _require_entry_right(request.user, establishment)
        data = ValueInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value_input = data.value_input()
        existed = IndicatorValue.objects.filter(
            establishment=establishment, indicator=indicator, measured_on=value_input.measured_on,
            status=ValueStatus.DRAFT,
        ).exists()
        draft = value_save_draft(establishment=establishment, indicator=indicator, data=value_input, by=request.user)
        value = _value_of_indicator(establishment, indicator, draft.pk)
        return Response(
            IndicatorValueSerializer(value).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )


class IndicatorValueDeclareApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="establishment_indicator_value_declare", parameters=[FINESS, CODE, VALUE_ID, PROGRAMME],
        summary="Déclarer un brouillon",
        description=(
            "La déclaration verrouille la valeur ; elle revient à la direction de l'établissement (à un "
            "éditeur seulement si l'établissement n'a pas de compte de direction). Déclarer une correction "
            "remplace la version corrigée."
        ),
        request=None,
        responses={200: IndicatorValueSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request, finess, code, value_id):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        indicator = _current_indicator(request.programme, code)
        value = _value_of_indicator(establishment, indicator, value_id)
        value_declare(value=value, by=request.user)
        return Response(IndicatorValueSerializer(_value_of_indicator(establishment, indicator, value.pk)).data)


class IndicatorValueCorrectApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="establishment_indicator_value_correct", parameters=[FINESS, CODE, VALUE_ID, PROGRAMME],
        summary="Corriger une valeur déclarée",
        description=(
            "La valeur déclarée reste inchangée ; la correction est une nouvelle version en brouillon portant "
            "son motif, qui remplace la précédente une fois déclarée. Les pièces non supprimées la suivent."
        ),
        request=CorrectionInputSerializer,
        responses={201: IndicatorValueSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request, finess, code, value_id):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        indicator = _current_indicator(request.programme, code)
        value = _value_of_indicator(establishment, indicator, value_id)
        _require_entry_right(request.user, establishment)
        data = CorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data.validated_data.setdefault("measured_on", value.measured_on)
        correction = value_correct(
            value=value, reason=data.validated_data["correction_reason"], data=data.value_input(), by=request.user
        )
        return Response(
            IndicatorValueSerializer(_value_of_indicator(establishment, indicator, correction.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class IndicatorValueDocumentsApi(APIView):
    parser_classes = [GuardedMultiPartParser, GuardedFormParser]  # hopen/input_guard.py

    @extend_schema(
        tags=[TAG], operation_id="indicator_value_documents_list", parameters=[VALUE_ID],
        summary="Pièces justificatives d'une valeur",
        description="Les pièces non supprimées ; le téléchargement passe par `download_url` (vue protégée).",
        responses={200: EvidenceSerializer(many=True), 404: ERRORS_404},
    )
    def get(self, request, value_id):
        value = _value_readable_by(request.user, value_id)
        documents = value.documents.filter(deleted_at__isnull=True).select_related("uploaded_by")
        return Response(EvidenceSerializer(documents, many=True).data)

    @extend_schema(
        tags=[TAG], operation_id="indicator_value_documents_upload", parameters=[VALUE_ID],
        summary="Déposer une pièce justificative",
        description="Envoi `multipart/form-data`, champ `file`. Réservé aux utilisateurs de l'établissement.",
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request, value_id):
        value = _value_readable_by(request.user, value_id)
        if not permissions.can_enter_indicator_values(request.user, value.establishment):
            raise PermissionRefused(READ_ONLY_MESSAGE)
        data = EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = evidence_upload(value=value, uploaded_file=data.validated_data["file"], by=request.user)
        document = Evidence.objects.select_related("uploaded_by").get(pk=document.pk)
        return Response(EvidenceSerializer(document).data, status=status.HTTP_201_CREATED)

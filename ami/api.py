"""API v1 of the AMI (instruction §5.3.2 « Etape 1 », annexes 4 and 5), served under /api/v1/ (ami/api_urls.py).

Thin views over the permission policy, the selectors and the services, with the pages' rules:

- `GET/PUT establishments/{finess}/ami/`: anyone who reads the establishment reads its pre-candidature (the ARS
  and the DGOS included); only the establishment's own roles write it (`pre_candidature_save`), so a reader's PUT
  answers 403 before its body is read; an establishment out of scope answers 404.
- `POST establishments/{finess}/ami/validate/`: the director validates; a GHT member's pre-candidature then waits
  for its support establishment's director, who validates it through the same endpoint.
- `GET ami/`: the pre-candidatures of the ARS's region, or the nation for the DGOS (filters as on the page:
  `region`, `domain`, …); 403 for other roles.
- `POST ami/{id}/decisions/`: the region's ARS pre-selects or rejects one domain (reason mandatory on rejection).
- `GET ami/export.csv` and `ami/export.xlsx`: the annex-5 export, the same streaming code as the page.
"""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from funding.selectors import amount_grid
from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused

from . import exports, selectors
from .forms_ars import filtered_pre_candidatures
from .models import DOMAIN_CODES, Decision, FilingStatus, Position, PreCandidature, PreCandidatureDomain
from .services import (
    DomainChoice,
    PreCandidatureInput,
    can_decide,
    pre_candidature_decide,
    pre_candidature_save,
    pre_candidature_validate,
    pre_candidature_validate_as_support,
)

TAG = "AMI"
WRITE_REFUSED = "Seul l'établissement renseigne et modifie sa pré-candidature (annexe 5)."
ERRORS_400 = OpenApiResponse(description="Saisie invalide ou refusée par une règle du programme : message en français.")
ERRORS_403 = OpenApiResponse(description="Lecture seule (ARS, DGOS), ou rôle sans accès à cette ressource.")
ERRORS_404 = OpenApiResponse(description="Établissement ou pré-candidature introuvable ou hors de votre périmètre.")
FINESS = OpenApiParameter("finess", str, OpenApiParameter.PATH, description="Numéro FINESS géographique (ET).")
PRE_CANDIDATURE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Identifiant de la pré-candidature.")
PROGRAMME = OpenApiParameter(
    "programme", str, description="Code du programme (`GET /api/v1/programmes/`) ; par défaut, celui de la session ou "
    "le programme par défaut. Code inconnu : 404.",
)
LIST_FILTERS = [
    PROGRAMME,
    OpenApiParameter("region", str, description="Code INSEE de région (DGOS ; une ARS ne voit que la sienne)."),
    OpenApiParameter("domain", str, enum=[code for code, _ in DOMAIN_CODES], description="Domaine demandé."),
    OpenApiParameter("decision", str, enum=Decision.values, description="Décision de l'ARS sur ce domaine."),
    OpenApiParameter("position", str, enum=Position.values, description="Positionnement de l'établissement."),
    OpenApiParameter(
        "filing", str, enum=[code for code, _ in selectors.FILING_CHOICES],
        description="Dépôt : `filed` (par défaut), `awaiting_support`, `draft` ou `all`.",
    ),
    OpenApiParameter(
        "sector", str, enum=["public", "private", "espic"],
        description="Secteur de l'établissement (public, privé, ESPIC — les CLCC sont des ESPIC ; hopen.sectors).",
    ),
    OpenApiParameter("activity", str, enum=list(selectors.ACTIVITY_FIELDS), description="Activité de l'établissement."),
    OpenApiParameter("category", str, description="Catégorie FINESS."),
    OpenApiParameter("ght", str, description="Code court du GHT."),
    OpenApiParameter("late", str, enum=[selectors.YES, selectors.NO], description="Candidature tardive (oui / non)."),
    OpenApiParameter("q", str, description="Nom, commune ou FINESS."),
]


# --- Serializers ---------------------------------------------------------------------------------------------------


class DomainSerializer(serializers.ModelSerializer):
    decision_label = serializers.CharField(source="get_decision_display", read_only=True)
    decided_by = serializers.EmailField(source="decided_by.email", allow_null=True, default=None, read_only=True)

    class Meta:
        model = PreCandidatureDomain
        fields = [
            "domain_code", "forecast_semester", "priority", "planning", "decision", "decision_label",
            "decision_reason", "decided_at", "decided_by",
        ]


class PreCandidatureSerializer(serializers.ModelSerializer):
    """The tab's four sections and its complementary elements, with the filing state and the ARS decisions."""

    id = serializers.IntegerField(allow_null=True, read_only=True)
    establishment = serializers.CharField(source="establishment.finess")
    establishment_name = serializers.CharField(source="establishment.name")
    region = serializers.CharField(source="establishment.region.code")
    programme = serializers.CharField(source="programme.code")
    position_label = serializers.CharField(source="get_position_display")
    filing_status = serializers.CharField(source="status", help_text="`draft`, `awaiting_support` ou `filed`.")
    filing_status_label = serializers.CharField(source="get_status_display")
    validated_by = serializers.EmailField(source="validated_by.email", allow_null=True, default=None)
    support_validated_by = serializers.EmailField(source="support_validated_by.email", allow_null=True, default=None)
    domains = serializers.SerializerMethodField()

    class Meta:
        model = PreCandidature
        fields = [
            "id", "establishment", "establishment_name", "region", "programme", "position", "position_label",
            "hn_prerequisites_reached", "hn_prerequisites_forecast", "hopen_prerequisites_forecast", "domains",
            "referent_name", "referent_function", "referent_email", "referent_phone", "legal_representative_name",
            "legal_representative_function", "comment", "investment_amount", "business_stakes", "filing_status",
            "filing_status_label", "is_late", "validated_at", "validated_by", "support_validated_at",
            "support_validated_by", "filed_at", "updated_at",
        ]

    @extend_schema(responses=DomainSerializer(many=True))
    def get_domains(self, pre_candidature) -> list:
        domains = pre_candidature.domains.all() if pre_candidature.pk else []
        return DomainSerializer(domains, many=True).data


class DomainInputSerializer(serializers.Serializer):
    domain_code = serializers.ChoiceField(choices=DOMAIN_CODES, label="Domaine")
    forecast_semester = serializers.CharField(label="Semestre prévisionnel d'atteinte des cibles", max_length=7)
    priority = serializers.IntegerField(label="Priorité", min_value=1, max_value=7)
    planning = serializers.CharField(label="Planning et périodes d'observation", required=False, allow_blank=True, default="")


class PreCandidatureInputSerializer(serializers.Serializer):
    """Types only; the programme's rules (calendar ranges, priorities) are the service's (annex 5, 004)."""

    position = serializers.ChoiceField(choices=Position.choices, default=Position.NONE)
    hn_prerequisites_reached = serializers.BooleanField(allow_null=True, required=False, default=None)
    hn_prerequisites_forecast = serializers.CharField(max_length=7, required=False, allow_blank=True, default="")
    hopen_prerequisites_forecast = serializers.CharField(max_length=7, required=False, allow_blank=True, default="")
    domains = DomainInputSerializer(many=True, required=False, default=list)
    referent_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    referent_function = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    referent_email = serializers.EmailField(required=False, allow_blank=True, default="")
    referent_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    legal_representative_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    legal_representative_function = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    investment_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, default=None
    )
    business_stakes = serializers.CharField(required=False, allow_blank=True, default="")

    def input(self) -> PreCandidatureInput:
        data = dict(self.validated_data)
        domains = [DomainChoice(**choice) for choice in data.pop("domains")]
        return PreCandidatureInput(domains=domains, **data)


@extend_schema_field({"type": "string", "pattern": "^D[1-7]$", "description": "Domaine, de D1 à D7."})
class DomainCodeField(serializers.ChoiceField):
    """D1–D7 as a pattern in the schema (an enum here would give the choices of `domain_code` a second name)."""

    def __init__(self, **kwargs):
        super().__init__(choices=DOMAIN_CODES, **kwargs)


class DecisionInputSerializer(serializers.Serializer):
    domain = DomainCodeField(label="Domaine")
    decision = serializers.ChoiceField(
        choices=[(Decision.PRESELECTED, "Présélectionner"), (Decision.REJECTED, "Ne pas retenir")], label="Décision"
    )
    reason = serializers.CharField(label="Motif (obligatoire pour ne pas retenir)", required=False, allow_blank=True, default="")


# --- Reads shared by the views --------------------------------------------------------------------------------------


def _pre_candidatures():
    return PreCandidature.objects.select_related(
        "establishment__region", "programme", "validated_by", "support_validated_by"
    ).prefetch_related("domains__decided_by")


def _pre_candidature_of(establishment, programme):
    """The establishment's pre-candidature on the request's programme; an unsaved empty one when it has none (a read
    writes nothing)."""
    found = _pre_candidatures().filter(establishment=establishment, programme=programme).first()
    if found is not None:
        return found
    return PreCandidature(establishment=establishment, programme=programme)


def _require_browse(user):
    if not selectors.can_browse_pre_candidatures(user):
        raise PermissionRefused(selectors.LIST_REFUSED)


# --- Views ---------------------------------------------------------------------------------------------------------


class EstablishmentPreCandidatureApi(APIView):
    # JSON only: a form body cannot carry the nested `domains`, which a multipart PUT silently dropped (415 now).
    parser_classes = [JSONParser]

    @extend_schema(
        tags=[TAG], operation_id="establishment_ami_read", parameters=[FINESS, PROGRAMME],
        summary="Pré-candidature AMI de l'établissement",
        description="Les quatre sections de l'onglet (annexe 5), les éléments complémentaires, le dépôt et les "
        "décisions de l'ARS par domaine. `id` vaut null tant que l'établissement n'a rien saisi.",
        responses={200: PreCandidatureSerializer, 404: ERRORS_404},
    )
    def get(self, request, finess):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        return Response(PreCandidatureSerializer(_pre_candidature_of(establishment, request.programme)).data)

    @extend_schema(
        tags=[TAG], operation_id="establishment_ami_save", parameters=[FINESS, PROGRAMME],
        summary="Enregistrer la pré-candidature (établissement)",
        description="Remplace la saisie (domaines compris) tant que la pré-candidature n'est pas validée. Réservé "
        "aux utilisateurs de l'établissement : « modifiables uniquement par lui » (annexe 5).",
        request=PreCandidatureInputSerializer,
        responses={200: PreCandidatureSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def put(self, request, finess):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        if not permissions.can_enter_establishment_data(request.user, establishment):
            raise PermissionRefused(WRITE_REFUSED)
        data = PreCandidatureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = pre_candidature_save(
            establishment=establishment, programme=request.programme, data=data.input(), by=request.user
        )
        return Response(PreCandidatureSerializer(_pre_candidatures().get(pk=saved.pk)).data)


class EstablishmentPreCandidatureValidateApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="establishment_ami_validate", parameters=[FINESS, PROGRAMME],
        summary="Valider la pré-candidature (direction, puis établissement support du GHT)",
        description="En préparation : validation par la direction de l'établissement ; un membre public d'un GHT "
        "attend ensuite la validation du directeur de l'établissement support, qui valide par ce même point "
        "d'entrée (§5.3.2). Pendant la fenêtre de l'AMI du programme : dans les délais ; pendant celle des "
        "candidatures tardives : tardif ; en dehors : refusé (400, `reasons`), rien n'est écrit.",
        request=None,
        responses={200: PreCandidatureSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request, finess):
        establishment = permissions.get_establishment_for_reading(request.user, finess)
        pre_candidature = _pre_candidatures().filter(establishment=establishment, programme=request.programme).first()
        if pre_candidature is None:
            if not permissions.can_enter_establishment_data(request.user, establishment):
                raise PermissionRefused("Seul l'établissement valide sa pré-candidature.")
            raise ApplicationError("Aucune pré-candidature à valider : renseignez d'abord l'onglet AMI.")
        if pre_candidature.status == FilingStatus.AWAITING_SUPPORT:
            pre_candidature_validate_as_support(pre_candidature=pre_candidature, by=request.user)
        else:
            pre_candidature_validate(pre_candidature=pre_candidature, by=request.user)
        return Response(PreCandidatureSerializer(_pre_candidatures().get(pk=pre_candidature.pk)).data)


class PreCandidatureListApi(generics.ListAPIView):
    serializer_class = PreCandidatureSerializer
    pagination_class = PageNumberPagination
    filter_backends = []  # the page's filter form, through `filtered_pre_candidatures`

    def get_queryset(self):
        _require_browse(self.request.user)
        _, _, _, pre_candidatures = filtered_pre_candidatures(self.request)
        return pre_candidatures.select_related("programme", "validated_by", "support_validated_by")

    @extend_schema(
        tags=[TAG], operation_id="ami_list", parameters=LIST_FILTERS,
        summary="Pré-candidatures de la région (ARS) ou nationales (DGOS)",
        description="Mêmes filtres que la page des pré-candidatures ; une valeur hors de vos choix (une autre "
        "région pour une ARS) est ignorée. Réservé aux ARS et à la DGOS.",
        responses={200: PreCandidatureSerializer(many=True), 403: ERRORS_403},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PreCandidatureDecisionApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="ami_decide", parameters=[PRE_CANDIDATURE_ID],
        summary="Décision de l'ARS sur un domaine",
        description="Présélectionner (`preselected`) ou ne pas retenir (`rejected`, motif obligatoire) un domaine "
        "d'une pré-candidature déposée ; l'ARS peut ne retenir qu'une partie des domaines (annexe 4 §1). "
        "L'établissement est notifié.",
        request=DecisionInputSerializer,
        responses={200: DomainSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request, id):
        pre_candidature = selectors.pre_candidature_for_reading(request.user, id)
        if not can_decide(request.user, pre_candidature.establishment):
            raise PermissionRefused("La présélection revient à l'ARS de la région de l'établissement.")
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        domain = next(
            (d for d in pre_candidature.domains.all() if d.domain_code == data.validated_data["domain"]), None
        )
        if domain is None:
            raise ApplicationError(f"La pré-candidature ne porte pas sur le domaine {data.validated_data['domain']}.")
        decided = pre_candidature_decide(
            domain=domain, decision=data.validated_data["decision"], reason=data.validated_data["reason"],
            by=request.user,
        )
        return Response(DomainSerializer(PreCandidatureDomain.objects.select_related("decided_by").get(pk=decided.pk)).data)


def _export(request, fmt):
    _require_browse(request.user)
    _, filters, ami_filters, pre_candidatures = filtered_pre_candidatures(request)
    scope = permissions.scope_of(request.user)
    if scope.national:
        codes = [filters["region"]] if filters.get("region") else None
    else:
        codes = [region.code for region in selectors.regions_browsable_by(request.user)]
    filename = exports.export_filename("ami-pre-candidatures", codes)
    return exports.pre_candidatures_export(fmt, pre_candidatures, ami_filters, amount_grid(request.programme), filename)


class PreCandidatureExportCsvApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="ami_export_csv", parameters=LIST_FILTERS,
        summary="Export CSV des pré-candidatures (annexe 5)",
        description="Une ligne par établissement et par domaine, en-têtes en français, UTF-8 avec BOM, séparateur "
        "« ; », produit en flux. ARS : sa région ; DGOS : nationale ou filtrée par région.",
        responses={(200, "text/csv"): OpenApiTypes.BINARY, 403: ERRORS_403},
    )
    def get(self, request):
        return _export(request, exports.CSV)


class PreCandidatureExportXlsxApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="ami_export_xlsx", parameters=LIST_FILTERS,
        summary="Export XLSX des pré-candidatures (annexe 5)",
        description="Les mêmes lignes que l'export CSV, dans un classeur Excel.",
        responses={(200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY, 403: ERRORS_403},
    )
    def get(self, request):
        return _export(request, exports.XLSX)


urlpatterns = [
    path("establishments/<str:finess>/ami/", EstablishmentPreCandidatureApi.as_view(), name="api_establishment_ami"),
    path(
        "establishments/<str:finess>/ami/validate/",
        EstablishmentPreCandidatureValidateApi.as_view(),
        name="api_establishment_ami_validate",
    ),
    path("ami/", PreCandidatureListApi.as_view(), name="api_ami_list"),
    path("ami/export.csv", PreCandidatureExportCsvApi.as_view(), name="api_ami_export_csv"),
    path("ami/export.xlsx", PreCandidatureExportXlsxApi.as_view(), name="api_ami_export_xlsx"),
    path("ami/<int:id>/decisions/", PreCandidatureDecisionApi.as_view(), name="api_ami_decisions"),
]

"""API v1 of the DGOS audits (instruction §5.2.1, annex 4), served under /api/v1/. Thin views over the selectors
(scoped: an audit out of the user's scope answers 404) and the services.

- `GET /audit-campaigns/`, `POST /audit-campaigns/` (DGOS; others 403), `GET /audit-campaigns/{id}/`;
- `GET /audits/`, `GET /audits/{id}/` (DGOS: all; ARS: its region's; establishment: its own, from the draft
  findings on);
- `POST /audits/{id}/findings/` (auditor: lines checked, `send` to open the contradictory procedure),
  `POST /audits/{id}/response/` (the establishment), `POST /audits/{id}/decision/` (auditor).
"""

from django.db import transaction
from django.db.models import Prefetch
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.sectors import SECTORS
from indicators.models import Programme

from . import selectors, services
from .models import Audit, AuditDecision, AuditStatus, Finding, StratumDimension

TAG = "Contrôles"
ERRORS_400 = OpenApiResponse(description="Saisie invalide ou refusée : message en français, rien n'est enregistré.")
ERRORS_403 = OpenApiResponse(description="Rôle sans droit sur cette action.")
ERRORS_404 = OpenApiResponse(description="Contrôle ou campagne introuvable ou hors de votre périmètre.")
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Identifiant.")


# --- Serializers ---------------------------------------------------------------------------------------------------


class FiltersSerializer(serializers.Serializer):
    regions = serializers.ListField(child=serializers.CharField(max_length=3), required=False, default=list)
    statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=["in_progress", "completed"]), required=False, default=list
    )
    sectors = serializers.ListField(child=serializers.ChoiceField(choices=list(SECTORS)), required=False, default=list)
    # Domain codes are the programme's catalogue's (data, not D1…D7 here): a code of no selected domain draws nothing.
    domains = serializers.ListField(child=serializers.CharField(max_length=8), required=False, default=list)
    usage_notified_or_paid = serializers.BooleanField(required=False, default=False)


class CampaignCreateSerializer(serializers.Serializer):
    programme = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=200)
    sample_size = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=100000)
    sample_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, default=None, help_text="Taux en %."
    )
    seed = serializers.IntegerField(min_value=0, max_value=services.MAX_SEED)
    filters = FiltersSerializer(required=False, default=dict)
    strata = serializers.ListField(
        child=serializers.ChoiceField(choices=StratumDimension.values), required=False, default=list, max_length=2
    )
    exclude_recently_audited = serializers.BooleanField(required=False, default=False)


class StratumSerializer(serializers.Serializer):
    key = serializers.ListField(child=serializers.CharField())
    label = serializers.CharField()
    population = serializers.IntegerField()
    drawn = serializers.IntegerField()


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    programme = serializers.CharField(source="programme.code")
    name = serializers.CharField()
    seed = serializers.IntegerField()
    sample_size = serializers.IntegerField()
    sample_rate = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    population_count = serializers.IntegerField()
    population_fingerprint = serializers.CharField(help_text="SHA-256 des références triées de la population.")
    filters = serializers.DictField()
    strata = serializers.ListField(child=serializers.CharField())
    exclude_recently_audited = serializers.BooleanField()
    strata_table = StratumSerializer(many=True)
    sample = serializers.SerializerMethodField(help_text="Références des dossiers tirés, triées.")
    created_at = serializers.DateTimeField()

    def get_sample(self, campaign) -> list[str]:
        prefetched = getattr(campaign, "_prefetched_objects_cache", {}).get("audits")
        if prefetched is not None:  # the list: one query for every campaign's audits
            return sorted(audit.dossier.reference for audit in prefetched)
        return sorted(campaign.audits.values_list("dossier__reference", flat=True))


class LineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    establishment = serializers.CharField(source="establishment.finess")
    indicator = serializers.CharField(source="indicator.code")
    group = serializers.CharField(source="group_code")
    value_id = serializers.IntegerField(allow_null=True)
    measured_on = serializers.DateField(source="value.measured_on", allow_null=True, default=None)
    finding = serializers.CharField()
    comment = serializers.CharField()


class AuditSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    dossier = serializers.CharField(source="dossier.reference")
    region = serializers.CharField(source="dossier.region.code")
    stratum = serializers.CharField()
    status = serializers.CharField(help_text="Statut : " + ", ".join(AuditStatus.values) + ".")
    findings_sent_at = serializers.DateTimeField(allow_null=True)
    response_due_on = serializers.DateField(allow_null=True)
    responded_at = serializers.DateTimeField(allow_null=True)
    response_late = serializers.BooleanField()
    decision = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)


class AuditDetailSerializer(AuditSerializer):
    response_text = serializers.CharField()
    decision_reason = serializers.CharField()
    lines = LineSerializer(many=True, source="lines.all")


class FindingLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    finding = serializers.ChoiceField(choices=[Finding.CONFORM, Finding.NON_CONFORM, Finding.DOCUMENT_MISSING])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class FindingsSerializer(serializers.Serializer):
    lines = FindingLineSerializer(many=True, required=False, default=list)
    send = serializers.BooleanField(required=False, default=False, help_text="Envoyer les constats provisoires.")


class ResponseSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=AuditDecision.values)
    reason = serializers.CharField(max_length=5000)


# --- Views ---------------------------------------------------------------------------------------------------------


class CampaignListApi(APIView):
    @extend_schema(tags=[TAG], operation_id="audit_campaign_list", summary="Campagnes de contrôle (DGOS)",
                   responses={200: CampaignSerializer(many=True), 403: ERRORS_403})
    def get(self, request):
        if not permissions.can_browse_audit_campaigns(request.user):
            raise PermissionRefused("Les campagnes de contrôle sont réservées à la DGOS.")
        campaigns = selectors.campaigns_visible_to(request.user)
        audits = Prefetch("audits", queryset=Audit.objects.select_related("dossier").only("campaign_id", "dossier__reference"))
        return Response(CampaignSerializer(campaigns.prefetch_related(audits), many=True).data)

    @extend_schema(
        tags=[TAG], operation_id="audit_campaign_create", summary="Créer une campagne (tirage au sort)",
        description="Tire au sort `sample_size` dossiers (ou `sample_rate` %) parmi les dossiers financés du programme "
        "répondant aux filtres, par strates (`region`, `sector`) avec allocation proportionnelle ; même population, "
        "taille, strates et graine → même échantillon (§5.2.1).",
        request=CampaignCreateSerializer, responses={201: CampaignSerializer, 400: ERRORS_400, 403: ERRORS_403},
    )
    def post(self, request):
        if not permissions.can_create_audit_campaign(request.user):  # permission before the body
            raise PermissionRefused(services.CREATE_REFUSED)
        data = CampaignCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        programme = Programme.objects.filter(code=values["programme"].upper()).first()
        if programme is None:
            raise ApplicationError(f"Programme inconnu : {values['programme']}.")
        f = values["filters"]
        campaign = services.campaign_create(
            programme=programme, by=request.user,
            data=services.CampaignInput(
                name=values["name"], seed=values["seed"], sample_size=values["sample_size"],
                sample_rate=values["sample_rate"], strata=tuple(values["strata"]),
                exclude_recently_audited=values["exclude_recently_audited"],
                filters=selectors.PopulationFilters(
                    regions=tuple(f.get("regions", ())), statuses=tuple(f.get("statuses", ())),
                    sectors=tuple(f.get("sectors", ())), domains=tuple(f.get("domains", ())),
                    usage_notified_or_paid=f.get("usage_notified_or_paid", False),
                ),
            ),
        )
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    @extend_schema(tags=[TAG], operation_id="audit_campaign_read", parameters=[ID], summary="Une campagne",
                   responses={200: CampaignSerializer, 404: ERRORS_404})
    def get(self, request, pk):
        return Response(CampaignSerializer(selectors.campaign_for_reading(request.user, pk)).data)


class AuditListApi(generics.ListAPIView):
    serializer_class = AuditSerializer

    def get_queryset(self):
        audits = selectors.audits_visible_to(self.request.user)
        campaign = self.request.query_params.get("campaign", "")
        if campaign.isdigit():
            audits = audits.filter(campaign_id=int(campaign))
        return audits.order_by("campaign_id", "dossier__reference")

    @extend_schema(
        tags=[TAG], operation_id="audit_list", summary="Contrôles",
        parameters=[OpenApiParameter("campaign", int, description="Campagne.")],
        description="DGOS : tous ; ARS : ceux de sa région ; établissement : les siens, dès les constats provisoires.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _detail(user, pk):
    return AuditDetailSerializer(selectors.audit_for_reading(user, pk)).data


class AuditDetailApi(APIView):
    @extend_schema(tags=[TAG], operation_id="audit_read", parameters=[ID], summary="Un contrôle et sa grille",
                   responses={200: AuditDetailSerializer, 404: ERRORS_404})
    def get(self, request, pk):
        return Response(_detail(request.user, pk))


WRITE_RESPONSES = {200: AuditDetailSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404}


class AuditFindingsApi(APIView):
    @extend_schema(tags=[TAG], operation_id="audit_findings", parameters=[ID], request=FindingsSerializer,
                   summary="Constats de l'auditeur", responses=WRITE_RESPONSES,
                   description="Chaque ligne : conforme, non conforme ou pièce manquante (commentaire obligatoire pour "
                   "un constat défavorable) ; `send` envoie les constats provisoires à l'établissement avec le délai "
                   "de réponse du programme (procédure contradictoire).")
    def post(self, request, pk):
        audit = selectors.audit_for_reading(request.user, pk)
        if not permissions.can_conduct_audit(request.user):
            raise PermissionRefused(services.CONDUCT_REFUSED)
        data = FindingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lines, send = data.validated_data["lines"], data.validated_data["send"]
        if not lines and not send:
            raise ApplicationError("Indiquez des constats (`lines`) ou l'envoi des constats provisoires (`send`).")
        with transaction.atomic():  # the lines and their sending together, or nothing
            if lines:
                services.findings_record(audit=audit, by=request.user, findings=[
                    services.FindingInput(line["id"], line["finding"], line["comment"]) for line in lines
                ])
            if send:
                services.findings_send(audit=audit, by=request.user)
        return Response(_detail(request.user, pk))


class AuditResponseApi(APIView):
    @extend_schema(tags=[TAG], operation_id="audit_response", parameters=[ID], request=ResponseSerializer,
                   summary="Réponse de l'établissement", responses=WRITE_RESPONSES,
                   description="Acceptée jusqu'à la décision ; marquée hors délai après l'échéance.")
    def post(self, request, pk):
        audit = selectors.audit_for_reading(request.user, pk)
        if not permissions.can_respond_to_audit(request.user, audit):
            raise PermissionRefused(services.RESPOND_REFUSED)
        data = ResponseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.response_record(audit=audit, text=data.validated_data["text"], by=request.user)
        return Response(_detail(request.user, pk))


class AuditDecisionApi(APIView):
    @extend_schema(tags=[TAG], operation_id="audit_decision", parameters=[ID], request=DecisionSerializer,
                   summary="Décision finale", responses=WRITE_RESPONSES,
                   description="`non_conform` : le dossier est clôturé « contrôle non conforme » et les montants versés "
                   "(amorçage, usage) sont demandés en remboursement (annexe 4).")
    def post(self, request, pk):
        audit = selectors.audit_for_reading(request.user, pk)
        if not permissions.can_conduct_audit(request.user):
            raise PermissionRefused(services.CONDUCT_REFUSED)
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.decision_record(
            audit=audit, decision=data.validated_data["decision"], reason=data.validated_data["reason"], by=request.user
        )
        return Response(_detail(request.user, pk))


urlpatterns = [
    path("audit-campaigns/", CampaignListApi.as_view(), name="api_audit_campaigns"),
    path("audit-campaigns/<int:pk>/", CampaignDetailApi.as_view(), name="api_audit_campaign"),
    path("audits/", AuditListApi.as_view(), name="api_audits"),
    path("audits/<int:pk>/", AuditDetailApi.as_view(), name="api_audit"),
    path("audits/<int:pk>/findings/", AuditFindingsApi.as_view(), name="api_audit_findings"),
    path("audits/<int:pk>/response/", AuditResponseApi.as_view(), name="api_audit_response"),
    path("audits/<int:pk>/decision/", AuditDecisionApi.as_view(), name="api_audit_decision"),
]

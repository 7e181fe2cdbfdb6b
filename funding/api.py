"""API v1: estimate of the financial support (annex 3), concatenated under /api/v1/.

`GET /api/v1/funding/estimate/?combined_activity=615000` (any authenticated user) or `?finess=<FINESS>` (an
establishment in the caller's scope — 404 outside it — with its combined activity). A thin view: the query is
checked here, the selectors compute (`funding.selectors.estimate`, rules in `funding.rules`).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from hopen import permissions
from hopen.exceptions import ApplicationError
from hopen.finess import finess_error

from .forms import COMBINED_ACTIVITY_MAX, parse_non_negative
from .models import CombinedActivity
from .selectors import amount_grid, estimate

TAG = "financements"
AMOUNT = {"max_digits": 12, "decimal_places": 2}
MISSING_QUERY = (
    "Indiquez l'activité combinée (paramètre combined_activity, par exemple 615000) "
    "ou le numéro FINESS d'un établissement (paramètre finess)."
)
BOTH_GIVEN = "Indiquez soit l'activité combinée (combined_activity), soit un numéro FINESS (finess), pas les deux."
NO_COMBINED_ACTIVITY = "Aucune activité combinée n'est calculée pour cet établissement (pas de données d'activité)."


class GridMissing(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "La grille des montants de l'annexe 3 n'est pas chargée (commande load_programme)."
    default_code = "grid_missing"


class StandardAmountSerializer(serializers.Serializer):
    standard = serializers.DecimalField(**AMOUNT, help_text="Forfait standard estimé, en euros.")


class AdvancedAmountSerializer(StandardAmountSerializer):
    advanced = serializers.DecimalField(
        **AMOUNT, help_text="Forfait avancé estimé (bonus de +20 % du forfait standard, annexe 3 §3), en euros."
    )


class DomainAmountsSerializer(serializers.Serializer):
    D1 = AdvancedAmountSerializer()
    D2 = StandardAmountSerializer()
    D3 = StandardAmountSerializer()
    D4 = StandardAmountSerializer()
    D5 = StandardAmountSerializer()
    D6 = AdvancedAmountSerializer()
    D7 = StandardAmountSerializer()


class EstimateSerializer(serializers.Serializer):
    combined_activity = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Activité combinée (annexe 3 §1), en équivalents journées MCO."
    )
    category = serializers.CharField(help_text="Catégorie d'établissements (annexe 3 §3) : A, B, C ou D.")
    domains = DomainAmountsSerializer(
        help_text="Montant estimé par domaine. Le montant par établissement est notre lecture de l'annexe 3 : "
        "progression linéaire, dans la catégorie, du minimum (borne basse) au maximum (borne haute, 1 000 000 pour "
        "la catégorie D), le maximum au-delà."
    )


class FundingEstimateApi(APIView):
    class FilterSerializer(serializers.Serializer):
        combined_activity = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="Activité combinée, nombre positif ou nul (par exemple 615000 ou 615000.50).",
        )
        finess = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="Numéro FINESS géographique (ET) d'un établissement de votre périmètre.",
        )

    @extend_schema(
        tags=[TAG],
        operation_id="funding_estimate",
        summary="Estimation du soutien financier par domaine (annexe 3)",
        description=(
            "Catégorie et montant estimé par domaine D1 à D7 (forfait standard ; forfait avancé pour D1 et D6) "
            "pour une activité combinée saisie (`combined_activity`) ou pour celle d'un établissement de votre "
            "périmètre (`finess`). Montants en euros, chaînes décimales à deux décimales."
        ),
        parameters=[FilterSerializer],
        responses={
            200: EstimateSerializer,
            400: OpenApiResponse(description="Paramètre absent, négatif ou non numérique ; FINESS invalide."),
            404: OpenApiResponse(
                description="Établissement introuvable, hors de votre périmètre ou sans activité combinée."
            ),
        },
    )
    def get(self, request):
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        text = (query.validated_data.get("combined_activity") or "").strip()
        finess = (query.validated_data.get("finess") or "").strip()
        if text and finess:
            raise ApplicationError(BOTH_GIVEN)
        if finess:
            value = self._combined_activity_of(request.user, finess)
        elif text:
            try:
                value = parse_non_negative(text, maximum=COMBINED_ACTIVITY_MAX)
            except DjangoValidationError as error:
                raise serializers.ValidationError({"combined_activity": error.messages}) from None
        else:
            raise ApplicationError(MISSING_QUERY)
        grid = amount_grid(request.programme)
        if not grid.categories:
            raise GridMissing()
        result = estimate(value, grid)
        data = {"combined_activity": result.combined_activity, "category": result.category, "domains": result.domains}
        return Response(EstimateSerializer(data).data)

    @staticmethod
    def _combined_activity_of(user, finess):
        problem = finess_error(finess)
        if problem:
            raise serializers.ValidationError({"finess": [problem]})
        establishment = permissions.get_establishment_for_reading(user, finess)
        record = CombinedActivity.objects.filter(establishment=establishment).first()
        if record is None:
            raise Http404(NO_COMBINED_ACTIVITY)
        return record.value


urlpatterns = [
    path("funding/estimate/", FundingEstimateApi.as_view(), name="api_funding_estimate"),
]

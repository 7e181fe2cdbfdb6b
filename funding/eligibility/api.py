"""API v1: eligibility of an establishment's projects per domain (§5.3.1), concatenated under /api/v1/.

A thin view: the permission policy finds the establishment (404 outside the user's scope; any role that reads
the establishment may call it), the selector gathers the inputs, the pure function of `funding.eligibility.rules`
decides.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .rules import Effect
from .selectors import establishment_eligibility

TAG = "financements"


class EligibilityReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Code stable de la règle, par ex. `fewer_than_two_indicators_not_reached`.")
    section = serializers.CharField(help_text="Section de l'instruction d'où vient la règle (« 5.3.1, note 3 »…).")
    message = serializers.CharField(help_text="Explication en français.")
    effect = serializers.ChoiceField(
        choices=[(effect.value, effect.label) for effect in Effect],
        help_text="`ineligible` : la candidature n'est pas recevable ; `not_fundable` : le financement ne peut pas "
        "être délégué ; `information` : à vérifier ou échéance encore ouverte, sans effet bloquant.",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["effect"] = getattr(instance.effect, "value", instance.effect)
        return data


class EligibilityVerdictSerializer(serializers.Serializer):
    domain = serializers.CharField(help_text="Domaine fonctionnel HOP'EN (D1 à D7).")
    label = serializers.CharField(help_text="Libellé du domaine.")
    eligible_to_apply = serializers.BooleanField(help_text="L'établissement peut (pré-)candidater sur le domaine.")
    fundable = serializers.BooleanField(help_text="Le financement pourrait être délégué (note 3 du §5.3.1).")
    reasons = EligibilityReasonSerializer(many=True)


FINESS = OpenApiParameter("finess", str, OpenApiParameter.PATH, description="Numéro FINESS géographique (ET).")


class EstablishmentEligibilityApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="establishment_eligibility_list", parameters=[FINESS],
        summary="Éligibilité de l'établissement par domaine (§5.3.1)",
        description=(
            "Pour chaque domaine D1 à D7 : l'établissement peut-il candidater (`eligible_to_apply`), le financement "
            "peut-il être délégué (`fundable`), et chaque motif avec son code, la section de l'instruction et un "
            "message en français. Calculé sans dossier : les éditeurs (RELIMS, QHN) et la validation par "
            "l'établissement support sont « à vérifier au dépôt »."
        ),
        responses={
            200: EligibilityVerdictSerializer(many=True),
            404: OpenApiResponse(description="Établissement introuvable ou hors de votre périmètre."),
        },
    )
    def get(self, request, finess):
        _, verdicts = establishment_eligibility(request.user, finess, programme=request.programme)
        return Response(EligibilityVerdictSerializer(list(verdicts.values()), many=True).data)


urlpatterns = [
    path(
        "establishments/<str:finess>/eligibility/",
        EstablishmentEligibilityApi.as_view(),
        name="api_establishment_eligibility",
    ),
]

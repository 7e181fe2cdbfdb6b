"""API v1 of the tenancy core: thin views calling the permission policy and the selectors."""

import django_filters
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import permissions, selectors
from .accounts.client import client_ip
from .accounts.lockout import lockout_message
from .accounts.tokens import api_token_issue
from .finess import finess_error
from .models import ActivityFigures, Establishment


class LockedOut(exceptions.APIException):
    status_code = 429
    default_code = "locked_out"


class TokenObtainView(APIView):
    """POST e-mail and password, get a new API token of the account and its expiry.

    Throttled per client address (`token` rate) and guarded by the login lockout (django-axes: per account and per
    address); the token is stored hashed and expires (8 h for people, longer for declared service accounts)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "token"

    class TokenRequestSerializer(serializers.Serializer):
        email = serializers.EmailField(label="Adresse électronique")
        password = serializers.CharField(label="Mot de passe", style={"input_type": "password"}, trim_whitespace=False)

    class TokenResponseSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires = serializers.DateTimeField()

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, 400: OpenApiResponse(description="Identifiants incorrects"),
                   429: OpenApiResponse(description="Trop de tentatives : réessayer plus tard")},
        auth=[],
    )
    def post(self, request):
        data = self.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The Django request, not DRF's: axes marks it as locked out, and its middleware answers from that mark.
        http_request = request._request
        user = authenticate(
            http_request, username=data.validated_data["email"], password=data.validated_data["password"]
        )
        if getattr(http_request, "axes_locked_out", False):
            raise LockedOut(lockout_message())
        if user is None or not user.is_active:
            raise serializers.ValidationError({"detail": "Adresse électronique ou mot de passe incorrect."})
        token, key = api_token_issue(user=user, client_ip=client_ip(request))
        return Response(self.TokenResponseSerializer({"token": key, "expires": token.expiry}).data)


class EstablishmentFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__code", label="Code INSEE de région")
    status = django_filters.ChoiceFilter(choices=selectors.STATUS_FILTER_CHOICES, method="filter_status", label="Statut")
    category = django_filters.CharFilter(field_name="category_code", label="Catégorie FINESS")
    ght = django_filters.CharFilter(field_name="ght__code", label="Code court du GHT")
    search = django_filters.CharFilter(method="filter_search", label="Nom, commune ou FINESS")

    class Meta:
        model = Establishment
        fields = ["region", "status", "category", "ght", "search"]

    def filter_status(self, queryset, name, value):
        return selectors.filter_by_status(queryset, value)

    def filter_search(self, queryset, name, value):
        return selectors.search_establishments(queryset, value)


class ActivityFiguresSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityFigures
        exclude = ["id", "establishment"]


class EstablishmentSerializer(serializers.ModelSerializer):
    legal_entity_finess = serializers.CharField(source="legal_entity.finess")
    region = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")
    ght = serializers.CharField(source="ght.code", allow_null=True, default=None)
    activities = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Establishment
        fields = [
            "finess", "name", "legal_entity_finess", "status", "is_espic", "category_code", "category_label",
            "region", "region_name", "department", "city", "ght", "activities",
        ]


class EstablishmentDetailSerializer(EstablishmentSerializer):
    activity_figures = ActivityFiguresSerializer(many=True)

    class Meta(EstablishmentSerializer.Meta):
        fields = EstablishmentSerializer.Meta.fields + ["ght_membership_source", "activity_figures"]


class EstablishmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Establishments the caller may read, scoped exactly like the pages."""

    lookup_field = "finess"
    filterset_class = EstablishmentFilter

    def get_queryset(self):
        queryset = selectors.establishments_visible_to(self.request.user)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("activity_figures")
        return queryset

    def get_serializer_class(self):
        return EstablishmentDetailSerializer if self.action == "retrieve" else EstablishmentSerializer

    def get_object(self):
        problem = finess_error(self.kwargs["finess"])
        if problem:
            raise serializers.ValidationError({"finess": [problem]})
        establishment = permissions.get_establishment_for_reading(self.request.user, self.kwargs["finess"])
        return self.get_queryset().get(pk=establishment.pk)

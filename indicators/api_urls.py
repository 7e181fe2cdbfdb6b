"""Indicators API v1 (included under /api/v1/)."""

from django.urls import path

from . import api, api_programmes
from .prior_results.urls import api_urlpatterns as prior_results_api

VALUES = "establishments/<str:finess>/indicators/<str:code>/values/"

urlpatterns = [
    path("programmes/", api_programmes.ProgrammeListApi.as_view(), name="api_programmes"),
    path(
        "establishments/<str:finess>/indicators/",
        api.EstablishmentIndicatorsApi.as_view(),
        name="api_establishment_indicators",
    ),
    path(VALUES, api.IndicatorValuesApi.as_view(), name="api_indicator_values"),
    path(f"{VALUES}<int:value_id>/declare/", api.IndicatorValueDeclareApi.as_view(), name="api_indicator_value_declare"),
    path(f"{VALUES}<int:value_id>/correct/", api.IndicatorValueCorrectApi.as_view(), name="api_indicator_value_correct"),
    path(
        "indicator-values/<int:value_id>/documents/",
        api.IndicatorValueDocumentsApi.as_view(),
        name="api_indicator_value_documents",
    ),
] + prior_results_api

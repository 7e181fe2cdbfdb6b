from django.urls import include, path

from . import views_entry

app_name = "indicators"

urlpatterns = [
    path(
        "etablissements/<str:finess>/indicateurs/<str:code>/",
        views_entry.indicator_detail,
        name="indicator_detail",
    ),
    path("", include("indicators.urls_dashboard")),
    path("", include("indicators.urls_evidence")),
    path("", include("indicators.urls_bulk")),
    path("", include("indicators.prior_results.urls")),
]

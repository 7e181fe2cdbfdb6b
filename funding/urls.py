from django.urls import include, path

app_name = "funding"

urlpatterns = [
    path("", include("funding.urls_pages")),
    path("", include("funding.urls_dossiers")),
    path("", include("funding.urls_letters")),
    path("", include("funding.urls_dashboard")),
]

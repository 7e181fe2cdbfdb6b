from django.urls import include, path

app_name = "funding"

urlpatterns = [path("", include("funding.urls_pages"))]

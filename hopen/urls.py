from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from . import api_views, views, views_notifications
from .accounts import reset as password_reset
from .forms import EmailAuthenticationForm

router = DefaultRouter()
router.register("establishments", api_views.EstablishmentViewSet, basename="establishment")

auth_patterns = [
    path(
        "connexion/",
        auth_views.LoginView.as_view(authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/oubli/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe/oubli/envoye/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/nouveau/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("compte/", include(auth_patterns)),
    path("etablissements/", views.establishment_list, name="establishment_list"),
    path("etablissements/<str:finess>/", views.establishment_detail, name="establishment_detail"),
    path("piste-audit/", views.audit_trail, name="audit_trail"),
    path("notifications/", views_notifications.notifications, name="notifications"),
    path("notifications/tout-lu/", views_notifications.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/lue/", views_notifications.notification_read, name="notification_read"),
    path("piste-audit/export/", views.audit_trail_export, name="audit_trail_export"),
    path("", include("hopen.footer_pages")),
    path("", include("indicators.urls")),
    path("", include("funding.urls")),
    path("", include("ami.urls")),
    path("", include("envelopes.urls")),
    path("", include("audits.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", api_views.TokenObtainView.as_view(), name="api_token"),
    path("api/v1/", include("indicators.api_urls")),
    path("api/v1/", include("funding.api_urls")),
    path("api/v1/", include("ami.api_urls")),
    path("api/v1/", include("envelopes.api_urls")),
    path("api/v1/", include("audits.api_urls")),
    path("api/v1/", include(router.urls)),
    # The API's description is for its users: behind login (anonymous: 401/403, the docs page redirects to login).
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api_schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema", permission_classes=[IsAuthenticated])),
        name="api_docs",
    ),
]

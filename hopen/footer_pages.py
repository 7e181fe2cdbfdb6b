"""The pages of the DSFR footer: accessibility statement, legal notice, personal data, sitemap, cookie management.

The route names are the ones django-dsfr's footer (`dsfr/footer.html`) looks up, so its links point here. Public
pages: the accessibility statement must be reachable from every page, before login too (RGAA 4.1, « déclaration
d'accessibilité », article 47 of law 2005-102); the accessibility status the footer prints is the site
configuration's (`DsfrConfig.accessibility_status`, « non conforme » until an RGAA audit measures a rate).
"""

from django.urls import path
from django.views.generic import TemplateView


def _page(template: str):
    return TemplateView.as_view(template_name=f"hopen/footer/{template}.html")


urlpatterns = [
    path("accessibilite/", _page("accessibility"), name="footer-accessibility-status"),
    path("mentions-legales/", _page("legal_notice"), name="footer-legal-notice"),
    path("donnees-personnelles/", _page("personal_data"), name="footer-personal-data"),
    path("plan-du-site/", _page("sitemap"), name="footer-sitemap"),
    path("gestion-des-cookies/", _page("cookies"), name="footer-cookie-management"),
]

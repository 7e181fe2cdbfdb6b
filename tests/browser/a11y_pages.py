"""The platform's pages, role by role, for the accessibility pass (issue 16 item 6).

Built from the URL conf and the demo world of `make run` (tests/funding/test_demo.py `demo_world` + the demo
dossiers): every route of the URL conf is either a page listed here for at least one role, or a route that is not a
page (`NOT_PAGES`, each with why) — `html_routes()` lets the test check that nothing is forgotten.
"""

from django.contrib.auth.tokens import default_token_generator
from django.urls import URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

# Routes that answer no HTML page of their own: files (downloads, CSV/XLSX exports and templates: `is_file`),
# POST-only actions (require_POST: their result is the page they redirect to, which is listed), the logout (POST).
FILE_SUFFIXES = ("_download", "_template")


def is_file(name: str) -> bool:
    return name.endswith(FILE_SUFFIXES) or "export" in name


NOT_PAGES = {
    "logout", "notification_read", "notifications_read_all", "indicators:evidence_upload", "indicators:evidence_delete",
    "funding:ght_master_plan_upload", "funding:ght_master_plan_validation", "funding:ght_master_plan_delete",
    "funding:ght_cio_name", "funding:ght_cio_validate", "funding:ght_values_declare_all", "funding:ght_value_save",
    "funding:ght_value_declare", "funding:ght_value_correct", "funding:ght_value_document_upload",
    "audits:findings", "audits:send", "audits:respond", "audits:decide",
}
# Not the platform's pages: the Django admin and the API (its Swagger page is the vendor's, drf-spectacular's).
FOREIGN_PREFIXES = ("admin/", "api/")


def html_routes() -> set[str]:
    """Every named route of the URL conf that renders one of the platform's HTML pages."""

    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif pattern.name:
                yield prefix + str(pattern.pattern).lstrip("^"), namespace + pattern.name

    return {
        name for route, name in walk(get_resolver().url_patterns)
        if not route.startswith(FOREIGN_PREFIXES) and name not in NOT_PAGES and not is_file(name)
    }


def pages_by_role(world, dossiers) -> dict[str, tuple[str | None, list[str]]]:
    """{role: (demo e-mail or None for anonymous, [paths])} over the demo world; `dossiers` are the demo dossiers
    (the support's 2020 dossier, the clinic's, the GHT dossier awaiting the ARS's decision)."""
    from ami.models import PreCandidature
    from indicators.models import Indicator

    own, private, ght_dossier = dossiers
    support, member, clinic = world.support, world.member, world.clinic
    region, ght = world.region_a.code, world.ght.code
    indicator = Indicator.objects.filter(values__establishment=support).order_by("code").first()
    pre = PreCandidature.objects.filter(establishment=support).order_by("pk").first()
    demo = "@demo.hopen.test"

    def establishment_pages(finess):
        return [
            reverse("establishment_detail", args=[finess]),
            reverse("indicators:dashboard", args=[finess]),
            reverse("indicators:indicator_detail", args=[finess, indicator.code]),
            reverse("funding:estimate_establishment", args=[finess]),
            reverse("ami:tab", args=[finess]),
        ]

    def common():
        return [
            reverse("home"), reverse("establishment_list"), reverse("indicators:home"), reverse("ami:home"),
            reverse("funding:calculator"), reverse("funding:regional_shares"), reverse("funding:dossier_list"),
            reverse("notifications"),
        ]

    def dossier_pages(dossier):
        return [
            reverse("funding:dossier_detail", args=[dossier.reference]),
            reverse("funding:dossier_reviews", args=[dossier.reference]),
        ]

    audit = _demo_audit(own, demo)
    uid = urlsafe_base64_encode(force_bytes(world.editor.pk))
    token = default_token_generator.make_token(world.editor)
    return {
        "anonyme": (None, [
            reverse("login"), reverse("password_reset"), reverse("password_reset_done"),
            reverse("password_reset_confirm", args=[uid, token]), reverse("password_reset_complete"),
            reverse("footer-accessibility-status"), reverse("footer-legal-notice"), reverse("footer-personal-data"),
            reverse("footer-sitemap"), reverse("footer-cookie-management"),
        ]),
        # The pages whose content is the same for every establishment role (lists, calculator) are checked once, with
        # the editor; the other roles visit what differs for them (their home, actions, queues).
        "rédacteur (établissement support)": (f"{support.finess}{demo}", [
            reverse("home"), reverse("establishment_list"), reverse("indicators:home"), reverse("ami:home"),
            reverse("funding:calculator"), reverse("funding:dossier_list"), reverse("notifications"),
            *establishment_pages(support.finess), *dossier_pages(own),
            reverse("indicators:bulk_import", args=[support.finess]), reverse("funding:dossier_create"),
            reverse("funding:review_create", args=[own.reference]), reverse("funding:ght_governance", args=[ght]),
        ]),
        "directeur (établissement membre)": (f"direction-{member.finess}{demo}", [
            reverse("home"), reverse("ami:tab", args=[member.finess]),
            reverse("funding:dossier_detail", args=[ght_dossier.reference]),
        ]),
        "directeur (établissement support du GHT)": (f"direction-{support.finess}{demo}", [
            reverse("home"), reverse("ami:support_queue"), reverse("funding:ght_governance", args=[ght]),
            reverse("funding:dossier_detail", args=[ght_dossier.reference]),
        ]),
        "directeur (clinique privée)": (f"direction-{clinic.finess}{demo}", [
            reverse("home"), reverse("funding:estimate_establishment", args=[clinic.finess]),
            reverse("funding:dossier_detail", args=[private.reference]),
        ]),
        "ARS": (f"ars-{region}{demo}", [
            reverse("home"), reverse("establishment_list"), reverse("indicators:regional_table"),
            reverse("indicators:completeness"), reverse("ami:home"), reverse("ami:ars_list"),
            reverse("ami:ars_detail", args=[pre.pk]), reverse("ami:programming"), reverse("funding:dashboard"),
            reverse("funding:dashboard_region", args=[region]), reverse("envelopes:home"),
            reverse("envelopes:detail", args=[region]), reverse("funding:dossier_list"),
            reverse("funding:dossier_detail", args=[ght_dossier.reference]),
            reverse("funding:dossier_detail", args=[private.reference]),
            reverse("indicators:dashboard", args=[support.finess]),
            reverse("audits:audits"), reverse("audits:audit", args=[audit.pk]),
        ]),
        "DGOS": (f"dgos{demo}", [
            reverse("home"), reverse("funding:regional_shares"), reverse("funding:dashboard"),
            reverse("envelopes:home"), reverse("envelopes:redeployment"), reverse("envelopes:detail", args=[region]),
            reverse("indicators:home"), reverse("audits:campaigns"), reverse("audits:campaign", args=[audit.campaign_id]),
        ]),
        "auditeur DGOS": (f"auditeur{demo}", [
            reverse("home"), reverse("audit_trail"), reverse("footer-sitemap"), reverse("audits:audit", args=[audit.pk]),
        ]),
        "administrateur": (f"admin{demo}", [
            reverse("home"), reverse("audit_trail"), reverse("indicators:referentials_home"),
            reverse("indicators:prior_results_import"), reverse("funding:vendors_import"),
        ]),
    }


def _demo_audit(dossier, demo):
    """An audit campaign drawn by the DGOS over the demo dossiers of `dossier`'s region (one dossier, its checklist)."""
    from audits.selectors import PopulationFilters
    from audits.services import CampaignInput, campaign_create
    from hopen.models import User

    campaign = campaign_create(
        programme=dossier.programme, by=User.objects.get(email=f"dgos{demo}"),
        data=CampaignInput(name="Campagne de contrôle (démonstration)", seed=2026, sample_size=1,
                           filters=PopulationFilters(regions=(dossier.region.code,))),
    )
    return campaign.audits.get()

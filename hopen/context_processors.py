from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from . import permissions
from .notifications import UnreadCount

# The URLs of the header and its menu (templates/base.html), reversed once per process and script prefix rather than
# seventeen times per page (issue 17: the fixed cost of every page). The template reads `nav_urls.<name>`, the URL
# name with « : » written « _ ».
NAV_URL_NAMES = (
    "admin:index", "ami:home", "api_docs", "audit_trail", "audits:audits", "envelopes:home", "establishment_list",
    "funding:calculator", "funding:dashboard", "funding:dossier_list", "home", "indicators:home",
    "indicators:referentials_home", "login", "logout", "notifications",
)
_nav_urls: dict = {}


def nav_urls() -> dict:
    """{name: URL} for the header; keyed by the URL configuration in force and the script prefix."""
    key = (settings.ROOT_URLCONF, get_urlconf(), get_script_prefix())
    urls = _nav_urls.get(key)
    if urls is None:
        urls = {name.replace(":", "_"): reverse(name) for name in NAV_URL_NAMES}
        _nav_urls[key] = urls
    return urls


SKIPLINKS = [
    {"link": "#content", "label": "Contenu"},
    {"link": "#fr-navigation", "label": "Menu"},
    {"link": "#footer", "label": "Pied de page"},
]
# Logged out, the header has no menu (templates/base.html): a skip link to it would lead nowhere (RGAA 12.7).
SKIPLINKS_LOGGED_OUT = [link for link in SKIPLINKS if link["link"] != "#fr-navigation"]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"skiplinks": SKIPLINKS_LOGGED_OUT, "nav_urls": nav_urls()}
    flags = {
        "nav_can_browse_audit": permissions.can_browse_audit_trail(user),
        "nav_can_browse_envelopes": permissions.can_browse_envelopes(user),
        "nav_can_browse_audits": permissions.can_browse_audits(user),
        "nav_can_import_referentials": permissions.can_import_referentials(user),
        "nav_can_admin": user.is_staff,
        "nav_can_pilot": _can_pilot(user),
    }
    return {
        "skiplinks": SKIPLINKS,
        "nav_urls": nav_urls(),
        **flags,
        "nav_key": (*flags.values(), *_current_view(request)),
        "unread_notifications": UnreadCount(user),  # counted (one query) only when the header shows it
    }


def _current_view(request) -> tuple:
    """What the menu reads of the current page to mark its item (templates/base.html): with the flags, the key of
    the menu rendered once per process (`hopen.layout_cache`)."""
    match = getattr(request, "resolver_match", None)
    names = (match.url_name, match.namespace, match.view_name) if match is not None else (None, None, None)
    return (*names, "/referentiels/" in request.path)


def _can_pilot(user) -> bool:
    """The funding dashboard (annex 4 §3): ARS officers and national roles (`funding.dashboard.selectors`)."""
    from funding.dashboard.selectors import can_view_dashboard

    return can_view_dashboard(user)

from . import permissions
from .notifications import UnreadCount


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
        return {"skiplinks": SKIPLINKS_LOGGED_OUT}
    return {
        "skiplinks": SKIPLINKS,
        "nav_can_browse_audit": permissions.can_browse_audit_trail(user),
        "nav_can_browse_envelopes": permissions.can_browse_envelopes(user),
        "nav_can_browse_audits": permissions.can_browse_audits(user),
        "nav_can_import_referentials": permissions.can_import_referentials(user),
        "nav_can_admin": user.is_staff,
        "nav_can_pilot": _can_pilot(user),
        "unread_notifications": UnreadCount(user),  # counted (one query) only when the header shows it
    }


def _can_pilot(user) -> bool:
    """The funding dashboard (annex 4 §3): ARS officers and national roles (`funding.dashboard.selectors`)."""
    from funding.dashboard.selectors import can_view_dashboard

    return can_view_dashboard(user)

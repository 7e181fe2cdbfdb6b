from . import permissions


SKIPLINKS = [
    {"link": "#content", "label": "Contenu"},
    {"link": "#fr-navigation", "label": "Menu"},
    {"link": "#footer", "label": "Pied de page"},
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"skiplinks": SKIPLINKS}
    return {
        "skiplinks": SKIPLINKS,
        "nav_can_browse_audit": permissions.can_browse_audit_trail(user),
        "nav_can_browse_envelopes": permissions.can_browse_envelopes(user),
        "nav_can_import_referentials": permissions.can_import_referentials(user),
        "nav_can_admin": user.is_staff,
        "nav_can_pilot": _can_pilot(user),
    }


def _can_pilot(user) -> bool:
    """The funding dashboard (annex 4 §3): ARS officers and national roles (`funding.dashboard.selectors`)."""
    from funding.dashboard.selectors import can_view_dashboard

    return can_view_dashboard(user)

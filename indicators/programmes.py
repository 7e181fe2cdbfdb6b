"""Which programme a request works on: one way everywhere.

Pages and API read ``request.programme``: the ``programme`` query parameter when given (an unknown code answers
404), else the programme the user last chose in the header switcher (kept in the session), else the default
programme (``Programme.is_default``). Code below the views receives the programme as a parameter and never
names one.
"""

from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from django.utils.functional import SimpleLazyObject

from .models import Programme

PARAMETER = "programme"
SESSION_KEY = "programme_code"


def default_programme() -> Programme:
    """The programme shown when none is chosen: the one flagged default, else the first selectable one."""
    programme = selectable_programmes().first() or Programme.objects.order_by("code").first()
    if programme is None:
        raise Http404("Aucun programme n'est chargé (manage.py load_programme).")
    return programme


def selectable_programmes():
    return Programme.objects.filter(is_selectable=True).order_by("-is_default", "code")


def _choices(request) -> list:
    """The selectable programmes, read once per request (the switcher and `request.programme` share them)."""
    if not hasattr(request, "_programme_choices"):
        request._programme_choices = list(selectable_programmes())
    return request._programme_choices


def _programme_of(request) -> Programme:
    choices = _choices(request)
    session = getattr(request, "session", None)
    code = session.get(SESSION_KEY) if session is not None else None
    for programme in choices:
        if programme.code == code:
            return programme
    return choices[0] if choices else default_programme()


class ProgrammeMiddleware:
    """Sets ``request.programme`` (read lazily: a page that does not need it costs no query)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = request.GET.get(PARAMETER)
        if code is not None:
            programme = next((p for p in _choices(request) if p.code == code), None)
            if programme is None:
                message = f"Programme inconnu : « {code} »."
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": message}, status=404)
                return page_not_found(request, Http404(message))
            request.programme = programme
            session = getattr(request, "session", None)
            if session is not None and session.get(SESSION_KEY) != programme.code and request.user.is_authenticated:
                session[SESSION_KEY] = programme.code
        else:
            request.programme = SimpleLazyObject(lambda: _programme_of(request))
        return self.get_response(request)


def _loaded_programme(request):
    """The request's programme for the header, or None while no programme is offered (a fresh database): a page that
    does not use the programme must still render (a view that uses it answers 404). One query: the choices."""
    if not _choices(request):
        return None
    return request.programme


def programme_switcher(request):
    """Context processor: the programmes offered in the header and the one in force."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "programme"):
        return {}
    return {
        "current_programme": SimpleLazyObject(lambda: _loaded_programme(request)),
        "programme_choices": SimpleLazyObject(lambda: _choices(request)),
    }

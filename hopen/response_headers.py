"""No copy of a logged-in page or of a file kept by a browser or a proxy.

A page seen by a logged-in user shows establishment data of their scope; an export or a justificatory document is
the data itself. `Cache-Control: no-store` on both keeps them out of shared caches and out of the browser's history
cache on a shared workstation (the hospital's). Public pages (login, static files) stay cacheable.
"""

from django.utils.cache import add_never_cache_headers


def is_download(response) -> bool:
    """An export or a file: an attachment, or a streamed / file answer."""
    if response.get("Content-Disposition"):
        return True
    return bool(getattr(response, "streaming", False))


def _is_authenticated(request) -> bool:
    user = getattr(request, "user", None)  # DRF copies the token's user back onto the Django request
    return bool(user is not None and getattr(user, "is_authenticated", False))


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_download(response) or _is_authenticated(request):
            add_never_cache_headers(response)
        return response

"""The API throttle, keyed on the same client address as the login lockout."""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from .client import client_ip


class ClientScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle with two differences: the client is `client_ip` (the trusted-proxy rule shared with
    django-axes, so a forged `X-Forwarded-For` is one more request from the same client), and the rates are read at
    each request rather than frozen at import, so that a deployment or a test changing `REST_FRAMEWORK` is obeyed."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request) or ""

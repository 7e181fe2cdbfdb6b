"""The client address of a request, the same for the login lockout, the API throttle and the reset limit."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The address of the client as seen by the last of `NUM_PROXIES` trusted reverse proxies.

    Why: `X-Forwarded-For` is written by the client first and appended to by each proxy, so only the entries added by
    our own proxies can be believed. With no proxy (`NUM_PROXIES = 0`, development) the header is ignored and the
    socket address is the client; with N proxies the N-th entry from the right is the address our outermost proxy
    saw. Any value the client forges sits further left and changes nothing. Same rule as DRF's `NUM_PROXIES`.
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    num_proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",") if address.strip()]
    if not addresses:
        return remote_addr
    candidate = addresses[-min(num_proxies, len(addresses))]
    # A proxy count larger than the real chain hands the choice back to the client: never store what is not an address.
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr

"""One hour of inactivity ends the session, without writing the session row on every request.

Django's `SESSION_SAVE_EVERY_REQUEST` pushes the expiry back by rewriting (and committing) the session row on every
answer: at national scale each GET of a list paid an UPDATE and a commit. Here the expiry is pushed back only when
its last push is more than REFRESH_INTERVAL old (the moment is kept in the session itself): a user clicking through
pages writes the row at most once every few minutes. The session still ends after an idle hour at most — between
SESSION_COOKIE_AGE - REFRESH_INTERVAL and SESSION_COOKIE_AGE after the last request, never later.

Placed after SessionMiddleware in MIDDLEWARE, so its answer phase runs first and SessionMiddleware saves the
session it marked modified. An empty session (anonymous visitor, logged out) is left alone: nothing to keep alive.
"""

import time

REFRESH_INTERVAL = 5 * 60  # seconds
REFRESHED_AT = "_expiry_refreshed_at"  # epoch seconds of the last push of the expiry (a JSON-serialisable int)


def needs_refresh(refreshed_at, now: float, interval: int = REFRESH_INTERVAL) -> bool:
    """True when the expiry was never pushed back in this session, or longer than `interval` seconds ago (a moment
    in the future — a clock set back — counts as stale too)."""
    if not isinstance(refreshed_at, int):
        return True
    return not (0 <= now - refreshed_at <= interval)


class SessionExpiryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty():
            return response
        now = time.time()
        if needs_refresh(session.get(REFRESHED_AT), now):
            session[REFRESHED_AT] = int(now)  # marks the session modified: SessionMiddleware saves it, new expiry
        return response

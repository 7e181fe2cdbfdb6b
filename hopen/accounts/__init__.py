"""Accounts security (issue 15): the client address behind trusted proxies, login lockout (django-axes), throttled
password reset, expiring hashed API tokens (django-rest-knox) and the audit of authentication events."""

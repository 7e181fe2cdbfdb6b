"""Template helpers of the justificatory documents partial (`indicators/_documents.html`)."""

from django import template
from django.conf import settings

from indicators.evidence import ACCEPT_ATTRIBUTE, ACCEPTED_FORMATS_LABEL, documents_listing, format_size

register = template.Library()


@register.simple_tag
def evidence_listing(value):
    """`{% evidence_listing value as listing %}`: listing.visible (not deleted) and listing.deleted_count."""
    return documents_listing(value)


@register.simple_tag
def evidence_upload_limits():
    """`{% evidence_upload_limits as limits %}`: what the upload form tells and checks before sending."""
    return {
        "max_size": settings.EVIDENCE_MAX_UPLOAD_SIZE,
        "max_size_display": format_size(settings.EVIDENCE_MAX_UPLOAD_SIZE),
        "accept": ACCEPT_ATTRIBUTE,
        "formats": ACCEPTED_FORMATS_LABEL,
    }


@register.filter
def filesize_fr(size):
    """« 1,2 Mo »."""
    return format_size(size)

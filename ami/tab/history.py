"""The history of a pre-candidature shown on its tab: its audit records and those of its domains, messages and
documents (deleted documents included), read as the audit trail reads them (`hopen.audit_display`, labels in
`ami.audit_labels`).
"""

from django.db.models import Q

from hopen.audit_display import present
from hopen.models import AuditRecord

HISTORY_LIMIT = 300
# The storage key of a file and the pre-candidature a line is already about say nothing to the page's reader.
HIDDEN_KEYS = ("file", "pre_candidature")


def history(pre_candidature, domains, comments, attachments) -> list:
    """Audit lines of the pre-candidature and of its domains, messages and documents (newest first): one query
    for the records and their authors, one per kind of related object their changes name."""
    if pre_candidature.pk is None:
        return []
    condition = Q(object_type="ami.precandidature", object_id=str(pre_candidature.pk))
    for object_type, objects in (
        ("ami.precandidaturedomain", domains),
        ("ami.precandidaturecomment", comments),
        ("ami.precandidatureattachment", attachments),
    ):
        ids = [str(o.pk) for o in objects]
        if ids:
            condition |= Q(object_type=object_type, object_id__in=ids)
    records = AuditRecord.objects.filter(condition).select_related("actor").order_by("-id")[:HISTORY_LIMIT]
    return present(records, skip=HIDDEN_KEYS)

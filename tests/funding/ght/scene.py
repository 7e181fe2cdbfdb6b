"""Helpers of the GHT governance tests: users of the support establishment, files, a complete governance."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from funding.ght.models import GhtIndicatorValue, GhtMasterPlan
from funding.ght.rules import is_declined_at_ght_level
from funding.eligibility.models import GhtItGovernance
from indicators.models import Indicator, ScanStatus, ValueKind, ValueStatus


def pdf_bytes(text="Schéma directeur du SI du GHT"):
    body = text.encode("latin-1", "replace")
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n"
        b"4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
        b"3 0 obj\n<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def pdf_file(name="sdsi.pdf", text="Schéma directeur du SI du GHT"):
    return SimpleUploadedFile(name, pdf_bytes(text), content_type="application/pdf")


def declined(programme_code="HOPEN"):
    """The indicators of the programme's catalogue in force declined at GHT level (annex 1)."""
    indicators = Indicator.objects.filter(catalogue__is_current=True, catalogue__programme__code=programme_code)
    return [i for i in indicators.order_by("group__position", "position") if is_declined_at_ght_level(i.ght_declination)]


def complete_governance(ght, by, *, programme_code="HOPEN"):
    """Rows as the GHT page leaves them once everything is done (for tests that are not about the pages)."""
    now = timezone.now()
    GhtMasterPlan.objects.create(
        ght=ght, file="evidence/test/sdsi", original_name="sdsi.pdf", size=10, content_type="application/pdf",
        sha256="0" * 64, uploaded_by=by, scan_status=ScanStatus.NOT_SCANNED, validated_on=now.date(),
    )
    GhtItGovernance.objects.update_or_create(
        ght=ght, defaults={"cio_name": "Dominique Martin", "cio_validated_by": by, "cio_validated_at": now}
    )
    for indicator in declined(programme_code):
        GhtIndicatorValue.objects.create(
            ght=ght, indicator=indicator, kind=ValueKind.EXISTENCE, exists=True, status=ValueStatus.DECLARED,
            created_by=by, declared_by=by, declared_at=now,
        )

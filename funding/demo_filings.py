"""What the demo dossiers (`funding.demo`) need before « Etape 2 », written through the services: the GHT's IT
governance (§5.3.1 GHT: SDSI, CIO, convergence indicators — `funding.ght`) and the AMI pre-selection of each domain
(§5.3.2 « Etape 1 »: the dossiers concern the projects pre-selected at the AMI — `ami.services`); and the tiny PDF
of the demo's justificatory documents."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from indicators.models import ValueKind
from indicators.selectors import current_catalogue


def demo_pdf(text: str) -> bytes:
    """A tiny valid PDF of one page (a justificatory document of the demo), with its cross-reference table so that
    the upload's PDF check (`indicators.file_safety`) opens it."""
    body = f"BT /F1 11 Tf 72 760 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def ami_preselect(establishment, actors, codes, *, programme, ars, at, support_director=None):
    """§5.3.2: « Etape 2 » concerns the projects pre-selected at the AMI — the establishment files its
    pre-candidature on `codes` (its director validates; a GHT member's support director too), the ARS pre-selects
    each domain, all dated `at` (within the programme's AMI window)."""
    from ami import services as ami
    from ami.models import Decision, FilingStatus, Position
    from indicators.models import SemesterRange

    semester = SemesterRange.objects.get(programme=programme, code="domain-forecast").last
    pre = ami.pre_candidature_save(
        establishment=establishment, programme=programme, by=actors.editor, now=at,
        data=ami.PreCandidatureInput(
            position=Position.FINAL, referent_name="Référent HOP'EN (démonstration)",
            domains=[ami.DomainChoice(code, semester, priority) for priority, code in enumerate(codes, start=1)],
        ),
    )
    pre = ami.pre_candidature_validate(pre_candidature=pre, by=actors.director, now=at)
    if pre.status == FilingStatus.AWAITING_SUPPORT:
        pre = ami.pre_candidature_validate_as_support(pre_candidature=pre, by=support_director, now=at)
    for domain in pre.domains.all():
        ami.pre_candidature_decide(domain=domain, decision=Decision.PRESELECTED, reason="", by=ars, now=at)
    return pre


def ght_governance(ght, actors, *, programme):
    """§5.3.1 (GHT): the support establishment deposits the GHT's SDSI (validated by the GHT on 01/09/2019), names its
    CIO whom its director validates, and declares the GHT-level convergence indicators — through the GHT services
    (`funding.ght`); left alone when an SDSI is already there."""
    from funding.ght import services as ght_services
    from funding.ght import values as ght_values
    from funding.ght.models import GhtMasterPlan
    from funding.ght.selectors import declined_indicators

    if GhtMasterPlan.objects.filter(ght=ght).exists():
        return
    upload = SimpleUploadedFile(
        "sdsi-ght.pdf", demo_pdf(f"Schema directeur du SI du GHT {ght.code}"), content_type="application/pdf"
    )
    ght_services.master_plan_upload(ght=ght, uploaded_file=upload, by=actors.editor, validated_on=datetime.date(2019, 9, 1))
    ght_services.cio_name(ght=ght, name="DSI de GHT (démonstration)", by=actors.editor)
    ght_services.cio_validate(ght=ght, by=actors.director)
    indicators = declined_indicators(current_catalogue(programme).indicators.all())
    for indicator in indicators:
        ght_values.ght_value_save(
            ght=ght, indicator=indicator, by=actors.editor, kind=ValueKind.EXISTENCE, exists=True,
            description="Convergence engagée à l'échelle du GHT.",
        )
    if indicators:
        ght_values.ght_values_declare_all(ght=ght, indicators=indicators, by=actors.director)

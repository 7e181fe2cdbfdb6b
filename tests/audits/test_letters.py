"""The audit letters (WeasyPrint), read back with pypdf: the draft findings with the response deadline, the final
decision with the amounts to refund."""

import io

import pytest
from pypdf import PdfReader

from audits import services
from audits.letters import generate_audit_letter
from audits.models import AuditLetter
from hopen.models import AuditRecord, OutboxMessage
from tests.factories_dossiers import hopen_programme

from .factories import audit_ready_for_decision, campaign_input, paid_dossier

pytestmark = pytest.mark.django_db


def pdf_text(letter) -> str:
    letter.refresh_from_db()
    with letter.file.open("rb") as stored:
        reader = PdfReader(io.BytesIO(stored.read()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_letters_of_a_non_conform_audit_render_with_the_deadline_and_the_amounts(world):
    t = world
    dossier = paid_dossier(t)
    campaign = services.campaign_create(programme=hopen_programme(), data=campaign_input(name="Contrôle 2026"), by=t.dgos)
    audit = audit_ready_for_decision(campaign.audits.get(), auditor=t.auditor)
    services.decision_record(audit=audit, decision="non_conform", reason="Valeur P1.1 non justifiée", by=t.auditor)
    draft = AuditLetter.objects.get(audit=audit, kind="draft_findings")
    final = AuditLetter.objects.get(audit=audit, kind="final_decision")
    queued = OutboxMessage.objects.filter(task_name="audits.tasks.generate_audit_letter")
    assert sorted(m.kwargs["letter_id"] for m in queued) == sorted([draft.pk, final.pk])  # generated after the commit
    for letter in (draft, final):
        assert generate_audit_letter(letter.pk).generated_at is not None
    text = pdf_text(draft)
    assert dossier.reference in text and "Contrôle 2026" in text
    assert "Pièce ne justifiant pas la valeur" in text
    assert f"{audit.response_due_on.day}" in text and "procédure contradictoire" in text
    text = pdf_text(final)
    assert "non conforme" in text and "Valeur P1.1 non justifiée" in text
    assert "50 000,00 €" in text and "200 000,00 €" in text and "250 000,00 €" in text
    # Generated once: a second run leaves the file and records nothing more.
    sha = AuditLetter.objects.get(pk=final.pk).sha256
    generate_audit_letter(final.pk)
    assert AuditLetter.objects.get(pk=final.pk).sha256 == sha
    assert AuditRecord.objects.filter(action="audit_letter.generate").count() == 2

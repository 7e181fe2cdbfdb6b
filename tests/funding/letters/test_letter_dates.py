"""Letters dated by the decision they carry (issue 16, item 5): the selection letter and the funding agreement by
the ARS's decision (annex 4 §1–§2), the seed decision by the domain's decision and the usage notification by its
notification (annex 2 §2), the refund claim by the claimed ledger entry — never by the day the PDF is generated; a
letter reissued later keeps that date and says « Réédité le … » (and prints the ARS address entered meanwhile)."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.db import transaction
from pypdf import PdfReader

from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Pot
from funding.letters import documents
from funding.letters import services as letters
from funding.models import DossierDomainShare, DossierLetter, DossierMember, LetterKind
from hopen import tasking
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord
from indicators.loading import load_calendar
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, open_envelope

PARIS = datetime.timezone(datetime.timedelta(hours=1))
DECIDED_2020 = datetime.datetime(2020, 3, 5, 23, 30, tzinfo=PARIS)  # 5 March 2020 in Paris, 22:30 UTC
NOTIFIED_2021 = datetime.datetime(2021, 6, 14, 10, 0, tzinfo=PARIS)
REISSUED = datetime.datetime(2026, 12, 5, 9, 0, tzinfo=PARIS)


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


@pytest.fixture
def sent(monkeypatch):
    """The generation tasks published after the commit (`hopen.tasking`), instead of Redis."""
    published = []
    monkeypatch.setattr(tasking, "enqueue", lambda name, /, **kwargs: published.append((name, kwargs)))
    return published


@pytest.fixture
def private_root(settings, tmp_path):
    root = tmp_path / "private-media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": None}},
    }
    return root


@pytest.fixture
def dossier_2020(tenants):
    """A dossier the ARS decided on 5 March 2020 (D2 selected with seed), D2's usage notified on 14 June 2021."""
    load_calendar()
    dossier = DossierFactory(
        establishment=tenants.member, reference="HOPEN-32-2020-00007", status="in_progress",
        transmitted_at=datetime.datetime(2019, 12, 2, 9, 0, tzinfo=PARIS), decided_at=DECIDED_2020,
    )
    DossierDomainFactory(
        dossier=dossier, domain_code="D2", status="usage_notified", total_amount=Decimal("500000.00"),
        seed_amount=Decimal("100000.00"), decided_at=DECIDED_2020, targets_reached_at=NOTIFIED_2021,
        usage_notified_at=NOTIFIED_2021, target_deadline_initial=datetime.date(2022, 6, 30),
    )
    return dossier


def request(dossier, kind, key, domain=None):
    return letters.request_letter(dossier=dossier, kind=kind, event_key=key, domain=domain)


def test_a_2020_selection_generated_today_is_dated_5_march_2020(dossier_2020, sent, private_root):
    """Annex 4 §1: the selection letter carries the ARS's decision of 5 March 2020 (Paris time, though 22:30 UTC
    is still the 5th) — not the day the PDF is made."""
    letter = request(dossier_2020, LetterKind.SELECTION, f"selection:{dossier_2020.pk}")
    generated = letters.generate_letter(letter.pk)
    assert generated.dated_on == datetime.date(2020, 3, 5)
    text = pdf_text(generated.file.open("rb").read())
    assert "Le 5 mars 2020" in text
    assert "2026" not in text.replace(dossier_2020.reference, "")  # neither the generation day nor anything of today
    assert "Réédité" not in text


def test_each_kind_is_dated_by_its_own_decision(dossier_2020, tenants, sent):
    """Seed decision: the domain's decision; usage notification: its notification, of the domain or of a GHT
    member's share (annex 2 §2); refund claim: the claimed ledger entry's date; agreement: the ARS's decision."""
    d2 = dossier_2020.domains.get(domain_code="D2")
    envelope = open_envelope(tenants.region_a)
    with transaction.atomic():
        [claim] = append_many([
            Movement(
                envelope_id=envelope.pk, kind=EntryKind.REFUND_CLAIM, pot=Pot.SEED, amount=Decimal("100000.00"),
                label="Prérequis non atteints au 1er janvier 2021", establishment_id=tenants.member.pk,
                dossier_domain_id=d2.pk, effective_on=datetime.date(2021, 1, 4),
            )
        ])
    DossierMember.objects.get_or_create(dossier=dossier_2020, establishment=tenants.support)
    share = DossierDomainShare.objects.create(
        domain=d2, establishment=tenants.support, amount=Decimal("200000.00"), usage_amount=Decimal("200000.00"),
        targets_reached_at=NOTIFIED_2021, usage_notified_at=datetime.datetime(2022, 2, 1, 0, 30, tzinfo=PARIS),
    )
    expected = {
        request(dossier_2020, LetterKind.FUNDING_AGREEMENT, f"agreement:{dossier_2020.pk}"): datetime.date(2020, 3, 5),
        request(dossier_2020, LetterKind.SEED_DECISION, f"seed:{d2.pk}", d2): datetime.date(2020, 3, 5),
        request(dossier_2020, LetterKind.USAGE_NOTIFICATION, f"usage:{d2.pk}", d2): datetime.date(2021, 6, 14),
        request(dossier_2020, LetterKind.USAGE_NOTIFICATION, f"usage:{d2.pk}:share:{share.pk}", d2): datetime.date(2022, 2, 1),
        request(dossier_2020, LetterKind.REFUND_CLAIM, f"refund:{claim.pk}", d2): datetime.date(2021, 1, 4),
    }
    assert {letter.reference: documents.decision_date(letter) for letter in expected} == {
        letter.reference: day for letter, day in expected.items()
    }
    seed_letter = next(letter for letter in expected if letter.kind == LetterKind.SEED_DECISION)
    assert "Le 5 mars 2020" in pdf_text(documents.render_letter_pdf(seed_letter))
    agreement = next(letter for letter in expected if letter.kind == LetterKind.FUNDING_AGREEMENT)
    assert "Trame établie le 5 mars 2020 à partir" in pdf_text(documents.render_letter_pdf(agreement))


def test_a_selection_without_a_dossier_date_takes_the_last_domain_decision(tenants, sent):
    dossier = DossierFactory(
        establishment=tenants.member, status="in_progress", decided_at=None,
        transmitted_at=datetime.datetime(2019, 12, 2, 9, 0, tzinfo=PARIS),
    )
    DossierDomainFactory(dossier=dossier, domain_code="D1", status="selected", decided_at=DECIDED_2020)
    DossierDomainFactory(dossier=dossier, domain_code="D3", status="selected", decided_at=NOTIFIED_2021)
    letter = request(dossier, LetterKind.SELECTION, f"selection:{dossier.pk}")
    assert documents.decision_date(letter) == datetime.date(2021, 6, 14)


def test_a_reissue_keeps_the_decision_date_and_says_when_it_was_reissued(
    dossier_2020, tenants, sent, private_root, django_capture_on_commit_callbacks
):
    """The ARS's address entered after the letter was sent: the reissued letter prints it, keeps the date of the
    decision (5 March 2020), says « Réédité le 5 décembre 2026 », is audited and replaces the earlier file."""
    letter = request(dossier_2020, LetterKind.SELECTION, f"selection:{dossier_2020.pk}")
    first = letters.generate_letter(letter.pk)
    first_file, first_sha = first.file.name, first.sha256
    assert "Euralille" not in pdf_text(first.file.open("rb").read())
    tenants.region_a.ars_address = "556 avenue Willy Brandt\n59777 Euralille"
    tenants.region_a.save()

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reissued = letters.reissue_letter(letter=first, by=tenants.ars_a, now=REISSUED)
    assert reissued.generated_at is None and reissued.reissued_at == REISSUED
    assert sent == [("funding.tasks.generate_letter", {"letter_id": letter.pk})]  # a new outbox key: sent again
    record = AuditRecord.objects.get(action="dossier_letter.reissue")
    assert record.actor_id == tenants.ars_a.pk and record.object_id == str(letter.pk)
    assert list(record.changes) == ["reissued_at"]

    with django_capture_on_commit_callbacks(execute=True):
        again = letters.generate_letter(letter.pk)
    text = pdf_text(again.file.open("rb").read())
    assert "Euralille, le 5 mars 2020" in text
    assert "Réédité le 5 décembre 2026" in text
    assert "556 avenue Willy Brandt" in text
    assert again.dated_on == datetime.date(2020, 3, 5) and again.sha256 != first_sha
    assert again.file.name != first_file and not (private_root / first_file).exists()
    generation = AuditRecord.objects.filter(action="dossier_letter.generate").order_by("-id").first()
    assert generation.changes["sha256"] == [first_sha, again.sha256]


def test_only_the_region_s_ars_or_an_administrator_reissues(dossier_2020, tenants, sent, private_root):
    letter = letters.generate_letter(request(dossier_2020, LetterKind.SELECTION, f"selection:{dossier_2020.pk}").pk)
    for outsider in (tenants.director, tenants.dgos, tenants.ars_b):
        with pytest.raises(PermissionRefused):
            letters.reissue_letter(letter=letter, by=outsider, now=REISSUED)
    assert DossierLetter.objects.get(pk=letter.pk).reissued_at is None
    assert letters.reissue_letter(letter=letter, by=tenants.admin, now=REISSUED).reissued_at == REISSUED


def test_a_letter_being_generated_cannot_be_reissued(dossier_2020, tenants, sent):
    letter = request(dossier_2020, LetterKind.SELECTION, f"selection:{dossier_2020.pk}")
    with pytest.raises(ApplicationError, match="en cours de génération"):
        letters.reissue_letter(letter=letter, by=tenants.ars_a, now=REISSUED)


def test_the_admin_action_reissues_through_the_service(client, dossier_2020, tenants, sent, private_root):
    letter = letters.generate_letter(request(dossier_2020, LetterKind.SELECTION, f"selection:{dossier_2020.pk}").pk)
    admin = tenants.admin
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    response = client.post(
        "/admin/funding/dossierletter/", {"action": "reissue", "_selected_action": [letter.pk]}, follow=True
    )
    assert "1 courrier(s) en cours de réédition." in response.content.decode()
    letter.refresh_from_db()
    assert letter.reissued_at is not None and letter.generated_at is None
    assert letter.dated_on == datetime.date(2020, 3, 5)
    assert AuditRecord.objects.get(action="dossier_letter.reissue").actor_id == admin.pk

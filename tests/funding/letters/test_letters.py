"""Letters of a dossier (issue 6, « Documents »): each PDF renders and carries its key figures — ARS, reference,
establishment and FINESS, domains, amounts « 1 234 567,89 € » and dates « 25 novembre 2026 » (annex 4 §1 selection
and refusals, annex 2 §2 seed / usage / refund, §5.1 derogatory seed, annex 3 §2 GHT amounts, annex 4 §2–§3
agreement); a letter is recorded once per decision and generated once; it downloads through the permission policy.
"""

import datetime
import io
import re
import threading
import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import close_old_connections, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Pot
from funding.letters import documents
from funding.letters import services as letters
from funding.models import DossierDomainShare, DossierLetter, DossierMember, LetterKind
from funding.tasks import generate_letter as generate_letter_task
from hopen import tasking
from hopen.celery import app
from hopen.formatting import french_date
from indicators.loading import load_calendar
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, open_envelope

PARIS = datetime.timezone(datetime.timedelta(hours=1))
DECIDED_AT = datetime.datetime(2026, 3, 10, 11, 0, tzinfo=PARIS)


# --------------------------------------------------------------------------------------------------- helpers


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with every kind of space (no-break, narrow no-break, line breaks) as one plain space."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def rendered(letter) -> str:
    pdf = documents.render_letter_pdf(letter)
    assert pdf.startswith(b"%PDF-")
    return pdf_text(pdf)


def assert_letterhead(text, letter, establishment):
    assert "ARS Hauts-de-France" in text
    assert letter.reference in text
    assert letter.dossier.reference in text
    assert establishment.name in text
    assert f"FINESS {establishment.finess}" in text
    assert french_date(documents.decision_date(letter)) in text  # dated by its decision (issue 16)
    assert re.search(r"Page 1 / \d", text)


@pytest.fixture
def private_root(settings, tmp_path):
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": None}},
    }
    return root


@pytest.fixture
def no_enqueue(monkeypatch):
    """Generation requests recorded instead of sent to Redis (tests that call the service themselves): the ids of
    the letters whose task `funding.tasks.generate_letter` left after the commit (`hopen.tasking`)."""
    sent = []

    def enqueue(task_name, /, **kwargs):
        if task_name == "funding.tasks.generate_letter":
            sent.append(kwargs["letter_id"])

    monkeypatch.setattr(tasking, "enqueue", enqueue)
    return sent


@pytest.fixture
def dossier(tenants):
    """A dossier of « CH Membre » (region A): D2 selected with derogatory seed, D3 targets reached, D5 refused for
    financial reasons, D6 refused by silence of the ARS (annex 4 §1)."""
    load_calendar()  # §5.1 derogatory deadline 1 January 2021, annex 4 §1 six months' re-candidacy delay
    dossier = DossierFactory(
        establishment=tenants.member, reference="HOPEN-32-2026-00042", status="in_progress",
        transmitted_at=datetime.datetime(2026, 1, 5, 9, 0, tzinfo=PARIS), decided_at=DECIDED_AT,
    )
    DossierDomainFactory(
        dossier=dossier, domain_code="D2", status="selected", total_amount=Decimal("1234567.89"),
        seed_amount=Decimal("246913.58"), seed_is_derogatory=True, decided_at=DECIDED_AT,
        target_deadline_initial=datetime.date(2026, 11, 25),
    )
    DossierDomainFactory(
        dossier=dossier, domain_code="D3", status="targets_reached", total_amount=Decimal("300000.00"),
        seed_amount=Decimal("60000.00"), decided_at=DECIDED_AT, targets_reached_at=DECIDED_AT,
        target_deadline_initial=datetime.date(2022, 6, 30),
    )
    DossierDomainFactory(
        dossier=dossier, domain_code="D5", status="refused", total_amount=Decimal("120000.00"),
        decision_reason="Enveloppe annuelle d'amorçage déjà consommée", refusal_kind="financial", decided_at=DECIDED_AT,
    )
    DossierDomainFactory(
        dossier=dossier, domain_code="D6", status="refused", total_amount=Decimal("80000.00"),
        decision_reason="absence de décision de l'ARS dans le délai de quatre mois", refusal_kind="feasibility",
        refused_for_silence=True, decided_at=DECIDED_AT,
    )
    return dossier


def domain(dossier, code):
    return dossier.domains.get(domain_code=code)


@pytest.fixture
def ght_dossier(tenants):
    """A GHT dossier filed by « CH Support » for itself and « CH Membre » (annex 3 §2), D1 selected."""
    load_calendar()
    dossier = DossierFactory(
        establishment=tenants.support, ght=tenants.ght, reference="HOPEN-32-2026-00043", status="in_progress",
        transmitted_at=datetime.datetime(2026, 1, 5, 9, 0, tzinfo=PARIS), with_member=False,
    )
    DossierMember.objects.create(dossier=dossier, establishment=tenants.support)
    DossierMember.objects.create(dossier=dossier, establishment=tenants.member)
    d1 = DossierDomainFactory(
        dossier=dossier, domain_code="D1", status="selected", total_amount=Decimal("450000.00"),
        seed_amount=Decimal("90000.00"), decided_at=DECIDED_AT, with_share=False,
    )
    DossierDomainShare.objects.create(domain=d1, establishment=tenants.support, amount=Decimal("312345.67"))
    DossierDomainShare.objects.create(domain=d1, establishment=tenants.member, amount=Decimal("137654.33"))
    return dossier


# --------------------------------------------------------------------------------------------------- contents


def test_selection_letter_lists_selected_and_refused_domains_with_reasons(dossier, tenants, no_enqueue):
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
    assert letter.reference == "HOPEN-32-2026-00042-SEL-01"
    text = rendered(letter)
    assert_letterhead(text, letter, tenants.member)
    assert "transmis le 5 janvier 2026" in text
    # Selected domains: total, seed, usage = total − seed (annex 2 §2), target deadline.
    for figure in ("D2", "1 234 567,89 €", "246 913,58 €", "987 654,31 €", "25 novembre 2026", "D3", "300 000,00 €", "240 000,00 €"):
        assert figure in text
    assert "1 534 567,89 €" in text  # total of the selected domains
    # Refused domains with their reasons and kinds; re-candidacy dates (annex 4 §1).
    assert "Enveloppe annuelle d'amorçage déjà consommée" in text and "Motif financier" in text
    assert "absence de décision de l'ARS dans le délai de quatre mois" in text and "Refus implicite" in text
    assert "1er janvier 2027" in text  # financial refusal: the following year
    assert "10 septembre 2026" in text  # other refusal: six months after 10 March 2026
    assert "1er janvier 2021" in text  # prerequisites deadline (annex 2 §2)


def test_seed_decision_states_the_derogatory_condition_of_section_5_1(dossier, tenants, no_enqueue):
    d2 = domain(dossier, "D2")
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.SEED_DECISION, event_key=f"seed:{d2.pk}", domain=d2)
    assert letter.reference == "HOPEN-32-2026-00042-AMO-01"
    text = rendered(letter)
    assert_letterhead(text, letter, tenants.member)
    assert "domaine D2" in text
    assert "246 913,58 €" in text and "1 234 567,89 €" in text and "987 654,31 €" in text
    assert "Amorçage dérogatoire (instruction §5.1)" in text
    assert "avant le 1er janvier 2021" in text
    assert "décision du 10 mars 2026" in text


def test_seed_decision_of_a_non_derogatory_seed_has_no_derogatory_mention(dossier, no_enqueue):
    d3 = domain(dossier, "D3")
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.SEED_DECISION, event_key=f"seed:{d3.pk}", domain=d3)
    text = rendered(letter)
    assert "60 000,00 €" in text and "domaine D3" in text
    assert "dérogatoire" not in text


def test_usage_notification_is_total_minus_seed(dossier, tenants, no_enqueue):
    d3 = domain(dossier, "D3")
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.USAGE_NOTIFICATION, event_key=f"usage:{d3.pk}", domain=d3)
    assert letter.reference == "HOPEN-32-2026-00042-USA-01"
    text = rendered(letter)
    assert_letterhead(text, letter, tenants.member)
    assert "domaine D3" in text
    assert "Soutien financier total du domaine 300 000,00 €" in text
    assert "Amorçage déjà attribué 60 000,00 €" in text
    assert "Financement à l'usage notifié (soutien total − amorçage) 240 000,00 €" in text
    assert "constatés le 10 mars 2026" in text
    assert "D2" not in text.replace("HOPEN-32", "")  # only the notified domain (annex 2 §2: per domain)


def test_refund_claim_reads_the_claimed_ledger_entry(dossier, tenants, no_enqueue):
    d2 = domain(dossier, "D2")
    envelope = open_envelope(tenants.region_a)
    with transaction.atomic():
        [claim] = append_many([
            Movement(
                envelope_id=envelope.pk, kind=EntryKind.REFUND_CLAIM, pot=Pot.SEED, amount=Decimal("246913.58"),
                label="Prérequis HOP'EN non atteints au 1er janvier 2021", establishment_id=tenants.member.pk,
                dossier_domain_id=d2.pk, effective_on=datetime.date(2021, 1, 2),
            )
        ])
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.REFUND_CLAIM, event_key=f"refund:{claim.pk}", domain=d2)
    assert letter.reference == "HOPEN-32-2026-00042-REM-01"
    text = rendered(letter)
    assert_letterhead(text, letter, tenants.member)
    assert "Total à rembourser 246 913,58 €" in text
    assert "Prérequis HOP'EN non atteints au 1er janvier 2021" in text
    assert "2 janvier 2021" in text
    assert "Amorçage (FMESPP)" in text and "annexe 2 §2" in text
    assert f"Débiteur : {tenants.member.name} (FINESS {tenants.member.finess})" in text
    assert "Créancier : ARS Hauts-de-France" in text


def test_funding_agreement_skeleton_for_a_single_establishment(dossier, tenants, no_enqueue):
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.FUNDING_AGREEMENT, event_key=f"agreement:{dossier.pk}")
    assert letter.reference == "HOPEN-32-2026-00042-CNV-01"
    pdf = documents.render_letter_pdf(letter)
    text = pdf_text(pdf)
    assert_letterhead(text, letter, tenants.member)
    assert "Entre les soussignés" in text and "représentée par" in text
    for article in ("Objet", "Domaines retenus et montants", "Modalités de versement", "Engagements de l'établissement",
                    "Suivi du projet", "Contrôles et remboursement"):
        assert article in text
    assert "1 234 567,89 €" in text and "1 534 567,89 €" in text and "1 227 654,31 €" in text
    assert "revues de projet au moins semestrielles (annexe 4 §3)" in text
    assert "D5" not in text  # refused domains are not part of the agreement
    assert page_count(pdf) >= 2


def test_ght_letters_list_member_amounts_and_payment_to_the_support(ght_dossier, tenants, no_enqueue):
    agreement = letters.request_letter(
        dossier=ght_dossier, kind=LetterKind.FUNDING_AGREEMENT, event_key=f"agreement:{ght_dossier.pk}"
    )
    text = rendered(agreement)
    assert_letterhead(text, agreement, tenants.support)
    assert f"GHT {tenants.ght.code}" in text
    assert f"{tenants.member.name} {tenants.member.finess}" in text
    assert "312 345,67 €" in text and "137 654,33 €" in text and "450 000,00 €" in text
    assert f"versées à l'établissement support, {tenants.support.name}" in text

    d1 = ght_dossier.domains.get()
    seed = letters.request_letter(dossier=ght_dossier, kind=LetterKind.SEED_DECISION, event_key=f"seed:{d1.pk}", domain=d1)
    text = rendered(seed)
    assert "312 345,67 €" in text and "137 654,33 €" in text and "90 000,00 €" in text
    assert "annexe 3 §2" in text and f"support, {tenants.support.name}" in text


def test_ars_address_and_place_are_printed_when_known(dossier, tenants, no_enqueue):
    tenants.region_a.ars_address = "Bâtiment d'essai\n1 place de Test\n59000 Villetest Cedex"
    tenants.region_a.save()
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
    text = rendered(letter)
    assert "1 place de Test" in text
    assert f"Villetest, le {french_date(DECIDED_AT)}" in text  # the decision's date, not the generation day


def test_ars_place_is_the_town_of_the_last_address_line():
    assert documents.ars_place("1 rue X\nCS 1234\n59000 Lille Cedex 2") == "Lille"
    assert documents.ars_place("1 rue X\n13331 Marseille cedex 03") == "Marseille"
    assert documents.ars_place("") == ""


# --------------------------------------------------------------------------------------------------- idempotency


def test_request_letter_twice_records_one_letter_and_one_generation(dossier, no_enqueue, django_capture_on_commit_callbacks):
    key = f"selection:{dossier.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        first = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=key)
        second = letters.request_letter(dossier=dossier, kind="selection", event_key=key)
    assert first.pk == second.pk
    assert DossierLetter.objects.filter(event_key=key).count() == 1
    assert no_enqueue == [first.pk]
    # Another decision of the same kind takes the next number.
    d2 = domain(dossier, "D2")
    d3 = domain(dossier, "D3")
    seed_2 = letters.request_letter(dossier=dossier, kind=LetterKind.SEED_DECISION, event_key=f"seed:{d2.pk}", domain=d2)
    seed_3 = letters.request_letter(dossier=dossier, kind=LetterKind.SEED_DECISION, event_key=f"seed:{d3.pk}", domain=d3)
    assert (seed_2.reference, seed_3.reference) == ("HOPEN-32-2026-00042-AMO-01", "HOPEN-32-2026-00042-AMO-02")


def test_a_rolled_back_decision_leaves_no_letter_and_sends_nothing(dossier, no_enqueue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
        raise RuntimeError("la décision échoue")
    assert not DossierLetter.objects.exists()
    assert no_enqueue == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_decision_record_one_letter(transactional_db, dossier, no_enqueue):
    """Eight services deciding the same event at once: the unique (kind, event_key) lets one letter through."""
    key = f"selection:{dossier.pk}"
    barrier = threading.Barrier(8)
    references, errors = [], []

    def decide():
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                letter = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=key)
                time.sleep(0.05)  # hold the transaction open so the others collide on the constraint
            references.append(letter.reference)
        except Exception as error:  # pragma: no cover - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert errors == []
    assert set(references) == {"HOPEN-32-2026-00042-SEL-01"}
    assert DossierLetter.objects.filter(event_key=key).count() == 1
    assert len(no_enqueue) == 1


def test_generate_stores_the_pdf_once(dossier, private_root, no_enqueue):
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
    generated = letters.generate_letter(letter.pk)
    assert generated.generated_at is not None
    assert generated.size > 1000 and len(generated.sha256) == 64
    assert generated.file.name.startswith("letters/") and letter.reference not in generated.file.name  # random key
    stored = list(private_root.rglob("*.pdf"))
    assert len(stored) == 1 and stored[0].read_bytes().startswith(b"%PDF-")

    again = letters.generate_letter(letter.pk)
    assert (again.file.name, again.sha256, again.generated_at) == (generated.file.name, generated.sha256, generated.generated_at)
    assert len(list(private_root.rglob("*.pdf"))) == 1
    assert letters.generate_letter(999_999_999) is None


# --------------------------------------------------------------------------------------------------- Celery


@pytest.fixture(scope="module")
def celery_worker():
    assert not app.conf.task_always_eager  # tests/hopen/test_celery.py: a real worker, through Redis
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING") as worker:
        yield worker


@pytest.mark.django_db(transaction=True)
def test_the_letter_is_generated_by_the_worker_after_the_commit(transactional_db, dossier, private_root, celery_worker):
    with transaction.atomic():
        letter = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        letter.refresh_from_db()
        if letter.generated_at is not None:
            break
        time.sleep(0.2)
    assert letter.generated_at is not None, "le worker n'a pas généré le courrier"
    assert letter.file.read(5) == b"%PDF-"
    # The task is idempotent: sent again, it leaves the letter as it is.
    assert generate_letter_task.delay(letter.pk).get(timeout=20) == letter.reference
    assert DossierLetter.objects.get(pk=letter.pk).sha256 == letter.sha256


# --------------------------------------------------------------------------------------------------- download


def download_url(letter):
    return reverse("funding:letter_download", args=[letter.dossier.reference, letter.reference])


@pytest.fixture
def generated(dossier, private_root, no_enqueue):
    letter = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
    return letters.generate_letter(letter.pk)


def test_download_by_the_establishment_and_its_ars(client, generated, tenants):
    assert download_url(generated) == "/dossiers/HOPEN-32-2026-00042/courriers/HOPEN-32-2026-00042-SEL-01.pdf"
    for user in (tenants.director, tenants.ars_a):
        client.force_login(user)
        response = client.get(download_url(generated))
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert body.startswith(b"%PDF-") and len(body) == generated.size
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'attachment; filename="courrier-de-selection-HOPEN-32-2026-00042-SEL-01.pdf"'
        assert response["X-Content-Type-Options"] == "nosniff"


def test_download_out_of_scope_is_404_and_anonymous_goes_to_login(client, generated, tenants):
    client.force_login(tenants.ars_b)  # ARS of another region
    assert client.get(download_url(generated)).status_code == 404
    client.logout()
    response = client.get(download_url(generated))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_download_of_a_letter_not_generated_yet_or_of_another_dossier_is_404(client, dossier, ght_dossier, tenants, private_root, no_enqueue):
    pending = letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}")
    client.force_login(tenants.ars_a)
    assert client.get(download_url(pending)).status_code == 404
    other = letters.generate_letter(
        letters.request_letter(dossier=ght_dossier, kind=LetterKind.SELECTION, event_key=f"selection:{ght_dossier.pk}").pk
    )
    wrong_pair = reverse("funding:letter_download", args=[dossier.reference, other.reference])
    assert client.get(wrong_pair).status_code == 404
    assert client.get(download_url(other)).status_code == 200


def test_letter_list_include_shows_state_and_links_in_one_query(dossier, tenants, private_root, no_enqueue, django_assert_num_queries):
    done = letters.generate_letter(
        letters.request_letter(dossier=dossier, kind=LetterKind.SELECTION, event_key=f"selection:{dossier.pk}").pk
    )
    d2 = domain(dossier, "D2")
    letters.request_letter(dossier=dossier, kind=LetterKind.SEED_DECISION, event_key=f"seed:{d2.pk}", domain=d2)
    dossier.refresh_from_db()
    with django_assert_num_queries(1):
        html = render_to_string("funding/letters/_list.html", {"letters": dossier.letters.all()})
    assert download_url(done) in html
    assert "HOPEN-32-2026-00042-AMO-01" in html and "en cours de génération" in html
    assert timezone.localtime(done.generated_at).strftime("%Y") in html

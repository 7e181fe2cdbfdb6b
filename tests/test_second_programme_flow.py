"""A second programme configured without code (issue 11): the demonstration campaign is loaded from its one file
into a fresh database — HOP'EN is not even loaded — and the whole flow runs on it today through the same services
as HOP'EN's, no code path special-cased:

indicator entry and declaration (with justificatory documents, §5.3.1) → attainment → eligibility (§5.3.1) →
AMI filed and validated (§5.3.2 Étape 1, annex 5) → ARS pre-selection → dossier created and transmitted (§5.3.2
Étape 2) → ARS review and selection with seed (annex 2 §2) → ledger entry on the campaign's envelope → letter.
"""

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from ami import services as ami
from ami.models import Decision, FilingStatus
from envelopes.models import EntryKind, Envelope, LedgerEntry, Pot
from envelopes.services.delegations import credits_delegate
from funding.dossiers import services as dossiers
from funding.dossiers.models import DomainStatus, DossierStatus
from funding.dossiers.rules import DomainInput
from funding.eligibility.selectors import eligibility_for_establishment
from funding.letters.models import DossierLetter
from funding.letters.services import generate_letter
from funding.models import CombinedActivity, SoftwareVendor
from hopen.models import Role
from indicators.evidence import evidence_upload
from indicators.models import GroupKind, PriorProgrammeResult, PriorResultKind, Programme, ValueKind
from indicators.selectors import current_catalogue, group_attainments
from indicators.state.selectors import current_declared_values
from indicators.services import ValueInput, value_declare, value_save_draft
from indicators.windows import AMI_FILING, DOSSIER_FILING, programme_windows
from tests.factories import EstablishmentFactory, RegionFactory, user_with_role

DEMO_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "programmes" / "demo-2026.json"
PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n"
    b"4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


@pytest.fixture
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path), "base_url": None}},
    }
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    return tmp_path


def _value(indicator, *, reached, day):
    if indicator.target_kind == ValueKind.RATE:
        percent = Decimal(100) if reached else max(Decimal(indicator.target_threshold) - 25, Decimal(0))
        return ValueInput(measured_on=day, kind=ValueKind.RATE, numerator=int(percent * 2), denominator=200)
    return ValueInput(measured_on=day, kind=ValueKind.EXISTENCE, exists=reached, description="Constat du jour.")


def test_the_demo_campaign_runs_the_whole_flow_today(db, private_root, sent_tasks, django_capture_on_commit_callbacks):
    # A fresh database: the campaign's file alone, then its envelopes.
    region = RegionFactory(code="32", name="Hauts-de-France", ars_name="ARS Hauts-de-France")
    call_command("load_programme", str(DEMO_FILE), stdout=io.StringIO())
    call_command("open_envelopes", stdout=io.StringIO())
    assert not Programme.objects.filter(code="HOPEN").exists()
    programme = Programme.objects.get(code="DEMO2026")
    today = timezone.localdate()
    windows = programme_windows(programme)
    assert windows[AMI_FILING].is_open(today) and windows[DOSSIER_FILING].is_open(today)

    clinic = EstablishmentFactory(region=region, status="private_for_profit", name="Clinique de la Démonstration")
    CombinedActivity.objects.create(establishment=clinic, source_year=2023, computed=Decimal("41250"))
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=clinic)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=clinic)
    ars = user_with_role(Role.ARS_OFFICER, region=region)
    # The DGOS delegates this year's seed credits of the campaign to the region (annex 2 §3).
    credits_delegate(
        envelope=Envelope.objects.get(programme=programme, region=region), year=today.year, pot=Pot.SEED,
        amount=Decimal("500000.00"), reference="Circulaire fictive de démonstration", by=user_with_role(Role.DGOS_OFFICER),
    )
    # The earlier programme's results, as §5.3.1 footnote 3 requires them (the campaign names HN as its prior).
    for kind in (PriorResultKind.PREREQUISITES_REACHED, PriorResultKind.INDICATORS_COMPLETE):
        PriorProgrammeResult.objects.create(
            establishment=clinic, programme=programme.prior_programme, kind=kind, domain_code="", achieved=True,
            achieved_on=datetime.date(2018, 12, 31), source="Export oSIS (test)",
        )

    # 1. Indicator entry and declaration on the campaign's own catalogue: the 15 prerequisites reached with a
    #    document each; D2's indicators declared, the first reached, the others not (« au moins deux … non atteints »).
    catalogue = current_catalogue(programme)
    assert catalogue.programme_id == programme.pk
    measured = today - datetime.timedelta(days=3)
    d2 = [i for i in catalogue.indicators.all() if i.group.code == "D2"]
    prerequisites = [i for i in catalogue.indicators.all() if i.group.kind == GroupKind.PREREQUISITE]
    assert len(prerequisites) == 15
    for indicator in prerequisites + d2:
        value = value_save_draft(
            establishment=clinic, indicator=indicator, by=editor,
            data=_value(indicator, reached=indicator.group.kind == GroupKind.PREREQUISITE or indicator == d2[0],
                        day=measured),
        )
        if indicator.group.kind == GroupKind.PREREQUISITE:
            evidence_upload(
                value=value, by=editor,
                uploaded_file=SimpleUploadedFile(f"{indicator.code}.pdf", PDF, content_type="application/pdf"),
            )
        value_declare(value=value, by=director)

    # 2. Attainment on this catalogue.
    values = current_declared_values([clinic.pk], [i.pk for i in catalogue.indicators.all()])
    attainments = group_attainments(catalogue, {indicator_id: v for (_, indicator_id), v in values.items()})
    assert attainments["prerequisites"] == "reached"

    # 3. Eligibility (§5.3.1) on the campaign: D2 may be presented and funded.
    verdict = eligibility_for_establishment(clinic, programme=programme, today=today)["D2"]
    assert verdict.eligible_to_apply and verdict.fundable, verdict

    # 4. AMI filed and validated today, on time; the ARS pre-selects D2.
    semester = f"{today.year} S{1 if today.month <= 6 else 2}"
    pre_candidature = ami.pre_candidature_save(
        establishment=clinic, programme=programme, by=editor,
        data=ami.PreCandidatureInput(domains=[ami.DomainChoice("D2", semester, 1)], hn_prerequisites_reached=True),
    )
    assert pre_candidature.programme_id == programme.pk
    pre_candidature = ami.pre_candidature_validate(pre_candidature=pre_candidature, by=director)
    assert pre_candidature.status == FilingStatus.FILED and not pre_candidature.is_late
    ami.pre_candidature_decide(
        domain=pre_candidature.domains.get(domain_code="D2"), decision=Decision.PRESELECTED, reason="", by=ars
    )

    # 5. Dossier created and transmitted today; the ARS opens the review and selects D2 with a seed. D2 names a
    #    RELIMS-referenced, QHN-engaged vendor (§5.3.1: a domain naming none is not transmitted — issue 13).
    vendor = SoftwareVendor.objects.create(name="Éditeur RELIMS", relims_reference="R-1", qhn_engaged=True)
    dossier = dossiers.dossier_create(
        establishment=clinic, programme=programme, by=editor,
        domains=[DomainInput(code="D2", target_deadline=datetime.date(2028, 6, 30), vendors=[vendor.pk])],
    )
    assert dossier.reference.startswith("DEMO2026-32-")
    dossier = dossiers.dossier_transmit(dossier=dossier, by=director)
    assert dossier.status == DossierStatus.TRANSMITTED
    dossier = dossiers.dossier_start_review(dossier=dossier, by=ars)
    domain = dossier.domains.get(domain_code="D2")
    assert domain.total_amount > 0
    seed = (domain.total_amount * Decimal("0.2")).quantize(Decimal("1"))
    with django_capture_on_commit_callbacks(execute=True):
        domain = dossiers.domain_select(domain=domain, seed_amount=seed, by=ars, reason="Projet prioritaire (test).")
    assert domain.status == DomainStatus.SELECTED

    # 6. The ledger: the seed is committed on the campaign's envelope of the region, not anywhere else.
    envelope = Envelope.objects.get(programme=programme, region=region)
    commitment = LedgerEntry.objects.get(dossier_domain=domain, kind=EntryKind.SEED_COMMITMENT)
    assert (commitment.envelope_id, commitment.pot, commitment.amount) == (envelope.pk, Pot.SEED, seed)

    # 7. The letters of the decision: their generation left after the commit (by the task's name); rendered here, the
    #    selection letter names the dossier and the establishment.
    letter = DossierLetter.objects.get(dossier=dossier, kind="selection")
    generate_letter(letter.pk)
    letter.refresh_from_db()
    with letter.file.open("rb") as stored:
        text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(stored.read())).pages)
    assert dossier.reference in text and clinic.name in text
    assert f"Programme {programme.name}" in " ".join(text.split())
    assert {"letter_id": letter.pk} in sent_tasks.of("funding.tasks.generate_letter")

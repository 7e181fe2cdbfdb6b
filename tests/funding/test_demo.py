"""Demo dossiers of `make run` (funding.demo): written through the services (audit trail, ledger, letters), once.

The scenario follows the instruction: §5.3.1 eligibility at transmission, annex 2 §2 seed and usage funding, §5.1
derogatory seed, annex 4 §1 refusal with its reason and kind, annex 4 §3 project review moving a target deadline.
"""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from envelopes.models import EntryKind, LedgerEntry
from funding.dashboard.selectors import dashboard, dashboard_scope
from funding.demo import seed_demo_dossiers
from funding.demo_referentials import DEMO_FILES
from funding.eligibility.vendors_import import SOFTWARE_VENDORS
from funding.loading import load_amount_grid
from funding.models import CombinedActivity, DomainStatus, Dossier, DossierLetter, DossierStatus, RefusalKind
from hopen.demo import seed_demo
from hopen.models import AuditRecord, User
from indicators.models import EstablishmentState, Evidence, IndicatorValue
from indicators.referential_import.engine import import_file
from indicators.state.writer import rebuild_attainment
from tests.factories_dossiers import hopen_programme, open_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_root(settings, tmp_path):
    """Justificatory documents and letters go to a private folder of the test; no antivirus configured."""
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
    }
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST = ""
    return root


@pytest.fixture
def demo_world(tenants, catalogue, demo_programme, private_root):
    """Region A (code 32) has a GHT (support + member) and a private clinic, their demo accounts, the annex-3 grid,
    combined activities and an open envelope; region B (53) has no envelope. The demonstration campaign (open today)
    is loaded: the dossier awaiting the ARS's decision is filed on it (HOP'EN's dossier window closed, §5.3.2)."""
    load_amount_grid()
    for establishment, value in ((tenants.support, "60000"), (tenants.member, "20000"), (tenants.clinic, "9000")):
        CombinedActivity.objects.create(establishment=establishment, source_year=2023, computed=Decimal(value))
    tenants.envelope = open_envelope(tenants.region_a, seed=Decimal("600000.00"), usage=Decimal("2400000.00"))
    seed_demo()
    import_demo_vendors()
    tenants.ars = User.objects.get(email="ars-32@demo.hopen.test")
    return tenants


def import_demo_vendors():
    """The demo's software vendors (`seed_demo` imports them before the dossiers, `funding.demo_referentials`):
    every demo domain names a RELIMS-referenced, QHN-engaged one (§5.3.1, issue 13)."""
    name = "editeurs-FICTIFS-demo.csv"
    plan = import_file(SOFTWARE_VENDORS, (DEMO_FILES / name).read_bytes(), name, by=None, dry_run=False)
    assert plan.is_valid, plan.as_report()


def _counts():
    return (
        Dossier.objects.count(), LedgerEntry.objects.count(), AuditRecord.objects.count(),
        DossierLetter.objects.count(), IndicatorValue.objects.count(), Evidence.objects.count(),
    )


def test_seed_writes_the_region_scenario_through_the_services_once(demo_world):
    t = demo_world
    skipped = []

    references = seed_demo_dossiers(skipped=skipped, generate_letters=False)

    assert len(references) == 3, skipped
    assert [r.split("-", 2)[:2] for r in references] == [["HOPEN", "32"], ["HOPEN", "32"], ["DEMO2026", "32"]]
    assert any("Bretagne" in reason and "open_envelopes" in reason for reason in skipped)
    own, private, ght = (Dossier.objects.get(reference=r) for r in references)
    # §5.3.1 (issue 13): every demo domain names a RELIMS-referenced, QHN-engaged vendor.
    for dossier in (own, private, ght):
        for domain in dossier.domains.prefetch_related("vendors"):
            assert [(bool(v.relims_reference), v.qhn_engaged) for v in domain.vendors.all()] == [(True, True)], domain
    # 1. The support's dossier: both domains selected with a non-derogatory seed (annex 2 §2), D2 paid, D3 moved.
    assert own.establishment == t.support and own.status == DossierStatus.IN_PROGRESS
    d2, d3 = own.domains.get(domain_code="D2"), own.domains.get(domain_code="D3")
    assert d2.status == DomainStatus.PAID and d2.usage_amount == d2.total_amount - d2.seed_amount > 0
    assert d3.status == DomainStatus.SELECTED and d3.seed_paid_at is not None and not d3.seed_is_derogatory
    assert d3.target_deadline > d3.target_deadline_initial  # annex 4 §3 review
    assert own.transmitted_at.year == 2020 and own.reviews.count() == 1
    # 2. The clinic's dossier: derogatory seed (§5.1) on D1, D4 refused for a financial reason (annex 4 §1).
    assert private.establishment == t.clinic and private.status == DossierStatus.IN_PROGRESS
    selected, refused = private.domains.get(domain_code="D1"), private.domains.get(domain_code="D4")
    assert selected.seed_is_derogatory and selected.seed_paid_at is not None
    assert refused.status == DomainStatus.REFUSED and refused.refusal_kind == RefusalKind.FINANCIAL
    assert refused.decision_reason
    # 3. The GHT dossier for the member (annex 3 §2), awaiting the decision, on the campaign open today (§5.3.2).
    assert ght.ght == t.ght and ght.status == DossierStatus.TRANSMITTED and ght.programme.code == "DEMO2026"
    assert list(ght.members.values_list("establishment", flat=True)) == [t.member.pk]
    # Real audit trail, ledger and letters.
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {
        "indicator_value.declare", "evidence.upload", "dossier.transmit", "dossier_domain.select",
        "dossier_domain.refuse", "dossier_domain.notify_usage", "project_review.record", "ledger.usage_pay",
    } <= actions
    assert LedgerEntry.objects.filter(kind=EntryKind.SEED_COMMITMENT, is_derogatory=True).count() == 1
    assert set(DossierLetter.objects.filter(dossier=own).values_list("kind", flat=True)) == {
        "selection", "funding_agreement", "seed_decision", "usage_notification",
    }
    # The declarations went through the services: the attainment state they kept is the history's, both programmes.
    assert EstablishmentState.objects.values("programme").distinct().count() == 2
    assert EstablishmentState.objects.filter(establishment=t.support, prerequisites_met=True).exists()
    assert rebuild_attainment(check=True) == []

    before = _counts()
    skipped_again = []
    assert seed_demo_dossiers(skipped=skipped_again, generate_letters=False) == []
    assert _counts() == before
    assert any("Hauts-de-France" in reason and "déjà présents" in reason for reason in skipped_again)


def test_one_demo_dossier_shows_a_refused_money_gate_with_its_reason_and_the_others_respect_every_gate(client, demo_world):
    """Issue 12: the GHT dossier's member lacks the Hôpital numérique prerequisites (§5.3.1 note 3) — its page lists
    the seed refused at the selection with the cited reason; every movement of the other demo dossiers passes its
    gate re-evaluated today (§5.3.1, §5.3.2: eligibility, AMI pre-selection)."""
    from funding.dossiers import gates
    from funding.dossiers.gate_facts import domain_facts

    t = demo_world
    own, private, ght = (Dossier.objects.get(reference=r) for r in seed_demo_dossiers(generate_letters=False))
    client.force_login(t.ars)
    page = client.get(f"/dossiers/{ght.reference}/").content.decode()
    code = ght.domains.order_by("domain_code").first().domain_code
    refusals = page.split(f'data-testid="seed-refusals-{code}"', 1)[1].split("</div>", 1)[0]
    assert 'data-code="not_fundable:hn_prerequisites_not_reached"' in refusals and "Hôpital numérique" in refusals
    assert "(5.3.1" in refusals
    for dossier in (own, private):
        facts = domain_facts(dossier)
        for domain in dossier.domains.exclude(status=DomainStatus.REFUSED):
            assert gates.selection_ami_refusals(facts[domain.pk]) == [], domain
            assert gates.seed_payment_gate(facts[domain.pk]) == [], domain
            assert gates.usage_payment_gate(facts[domain.pk]) == [], domain


def test_dashboard_and_ledger_figures_are_not_empty_and_letters_are_generated(demo_world):
    t = demo_world

    references = seed_demo_dossiers()

    board = dashboard(t.ars, dashboard_scope(t.ars, "32"), programme=hopen_programme())
    assert board.balances.seed_committed > 0 and board.balances.seed_paid > 0
    assert board.balances.usage_committed > 0 and board.balances.usage_paid == board.balances.usage_committed
    assert board.selected_dossiers == 2 and board.selected_domains == 3
    assert board.slipped_targets_count == 1 and board.slipped_targets[0].domain_code == "D3"
    assert board.attainment.prerequisites_reached == 2  # the clinic reached them before 01/01/2021 (§5.1)
    letters = DossierLetter.objects.filter(dossier__reference__in=references)
    assert letters.count() == 8
    assert all(letter.generated_at and letter.size > 0 and letter.file for letter in letters)


def test_command_summarises_and_survives_a_missing_envelope(tenants, catalogue, private_root):
    load_amount_grid()
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    assert "Dossiers de démonstration : 0 créé(s)." in out.getvalue()
    assert "enveloppe régionale non ouverte (open_envelopes)" in out.getvalue()
    assert not Dossier.objects.exists() and not LedgerEntry.objects.exclude(kind=EntryKind.ALLOCATION).exists()


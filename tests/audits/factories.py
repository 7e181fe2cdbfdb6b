"""Arrange helpers of the audits' tests: funded dossiers written directly (the dossier services are tested in
tests/funding), and a scene whose dossier was really paid through the services (seed and usage)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from audits import services
from audits.selectors import PopulationFilters
from funding.dossiers import services as dossier_services
from funding.models import DomainStatus, DossierMember, DossierStatus
from tests.factories_dossiers import DossierDomainFactory, DossierFactory
from tests.funding.dossier_scene import LATER, domain_of, reach, reviewed_dossier


def funded_dossier(establishment, *codes, status=DossierStatus.IN_PROGRESS, domain_status=DomainStatus.SELECTED, members=()):
    """A dossier « en cours » of `establishment` with `codes` selected by the ARS (rows written directly); with
    `members`, a GHT dossier filed by its support `establishment` for them."""
    ght = establishment.ght if members else None
    dossier = DossierFactory(establishment=establishment, ght=ght, status=status, transmitted_at=timezone.now())
    for member in members:
        DossierMember.objects.create(dossier=dossier, establishment=member)
    for code in codes or ("D2",):
        fields = {"usage_amount": Decimal("300000.00")} if domain_status in (DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID) else {}
        DossierDomainFactory(dossier=dossier, domain_code=code, status=domain_status, decided_at=timezone.now(), **fields)
    return dossier


def campaign_input(name="Campagne test", *, seed=42, size=1, rate=None, strata=(), exclude=False, **filters):
    return services.CampaignInput(
        name=name, seed=seed, sample_size=None if rate is not None else size, sample_rate=rate, strata=tuple(strata), exclude_recently_audited=exclude, filters=PopulationFilters(**filters),
    )


def paid_dossier(t):
    """The clinic's dossier on D2 and D3 (seed 50 000 € each), through the services: D2's seed paid, then its targets
    reached, its usage funding notified and paid; D3's seed committed, not paid."""
    dossier = reviewed_dossier(t, "D2", "D3")
    for code in ("D2", "D3"):
        dossier_services.domain_select(domain=domain_of(dossier, code), seed_amount="50000", by=t.ars_a)
    dossier_services.domain_record_seed_payment(domain=domain_of(dossier, "D2"), by=t.ars_a, now=LATER)
    reach(t.clinic, "D2", by=t.clinic_director)
    domain = dossier_services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ars_a)
    dossier_services.domain_notify_usage(domain=domain, by=t.ars_a)
    dossier_services.domain_record_usage_payment(domain=domain, by=t.ars_a)
    dossier.refresh_from_db()
    return dossier


def audit_ready_for_decision(audit, *, auditor, failing=True, now=None):
    """Every line checked (the first non-conform when `failing`), the draft findings sent, the deadline passed."""
    lines = list(audit.lines.order_by("pk"))
    findings = [
        services.FindingInput(line.pk, "non_conform" if failing and i == 0 else "conform",
                              "Pièce ne justifiant pas la valeur" if failing and i == 0 else "")
        for i, line in enumerate(lines)
    ]
    services.findings_record(audit=audit, findings=findings, by=auditor)
    sent = now or timezone.now() - datetime.timedelta(days=60)
    return services.findings_send(audit=audit, by=auditor, now=sent)

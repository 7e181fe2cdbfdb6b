"""Arrange helpers of the dossier tests (tests/funding/test_*dossier*.py): a world with the programme calendar and
catalogue, the annex-3 grid, combined activities, open envelopes and establishments eligible to apply (§5.3.1);
declared values are written directly (the indicator services are tested elsewhere). Behaviour goes through the
services of `funding.dossiers.services`."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from funding.dossiers import services
from funding.dossiers.rules import DomainInput
from funding.loading import load_amount_grid
from ami.models import Decision, FilingStatus, PreCandidature, PreCandidatureDomain
from funding.models import CombinedActivity, DomainStatus, DossierStatus, SoftwareVendor
from hopen.models import Role
from indicators.models import Evidence, IndicatorValue, PriorProgrammeResult, Programme
from tests.factories import attainment_synced, user_with_role
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, hopen_programme, open_envelope
from tests.funding.ght.scene import complete_governance
from tests.indicators.conftest import indicator

UTC = datetime.timezone.utc
NOW = datetime.datetime(2020, 3, 2, 9, 0, tzinfo=UTC)  # before the derogatory deadline (01/01/2021)
LATER = NOW + datetime.timedelta(days=20)
B_LOWER = Decimal("7000")  # annex 3: category B starts at 7 000 — D2 250 000 €, D3 200 000 €
C_LOWER = Decimal("22500")
PREREQUISITES = (
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2",
    "P4.3",
)
GROUPS = {
    "D1": ("D1.1", "D1.2", "D1.3", "D1.5"),
    "D2": ("D2.2", "D2.3", "D2.4", "D2.5"),
    "D3": ("D3.1", "D3.2", "D3.3", "D3.4", "D3.5"),
    "D4": ("D4.1", "D4.2", "D4.3", "D4.4"),
    "D5": ("D5.1", "D5.2", "D5.3"),
}
DEADLINE = datetime.date(2021, 12, 31)
ALL_DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")


def declare(establishment, code, *, reached, by, day=datetime.date(2020, 1, 15), document=None):
    """A declared value written directly: reached (100 %, or « exists ») or not (0 %, « does not exist »). A
    prerequisite carries its justificatory document unless told (§5.3.1: « la valeur des indicateurs et la totalité
    des pièces justificatives »)."""
    ind = indicator(code)
    fields = {"kind": ind.target_kind}
    if ind.target_kind == "rate":
        fields |= {"numerator": 100 if reached else 0, "denominator": 100}
    else:
        fields |= {"exists": reached}
    value = attainment_synced(IndicatorValue.objects.create(
        establishment=establishment, indicator=ind, measured_on=day, status="declared", created_by=by,
        declared_by=by, declared_at=timezone.now(), **fields,
    ))
    if document if document is not None else code in PREREQUISITES:
        add_document(value, by=by)
    return value


def add_document(value, *, by):
    """A justificatory document row (the file itself is never read by the rules)."""
    return attainment_synced(Evidence.objects.create(
        value=value, file="evidence/test/piece", original_name="piece.pdf", size=12, content_type="application/pdf",
        sha256="0" * 64, uploaded_by=by, scan_status="not_scanned",
    ))


def preselect(establishment, *codes, programme=None, at=datetime.datetime(2019, 6, 1, 9, 0, tzinfo=datetime.timezone.utc)):
    """§5.3.2 « Etape 1 »: the establishment's AMI pre-candidature filed, with `codes` pre-selected by the ARS (rows
    written directly: the AMI services are tested in tests/ami)."""
    programme = programme or hopen_programme()
    pre, _ = PreCandidature.objects.get_or_create(
        establishment=establishment, programme=programme,
        defaults={"status": FilingStatus.FILED, "filed_at": at, "validated_at": at},
    )
    taken = set(pre.domains.values_list("domain_code", flat=True))
    start = pre.domains.count()
    PreCandidatureDomain.objects.bulk_create(
        PreCandidatureDomain(
            pre_candidature=pre, domain_code=code, forecast_semester="2020 S2", priority=start + i + 1,
            decision=Decision.PRESELECTED, decided_at=at,
        )
        for i, code in enumerate(c for c in codes if c not in taken)
    )
    return pre


def hn(establishment, *, prerequisites=True, complete=True):
    programme = Programme.objects.get(code="HN")
    for kind, achieved in (("prerequisites_reached", prerequisites), ("indicators_complete", complete)):
        PriorProgrammeResult.objects.create(
            establishment=establishment, programme=programme, kind=kind, domain_code="", achieved=achieved
        )


def make_eligible(establishment, *, by, domains=("D2", "D3"), prerequisites=True, hn_prerequisites=True):
    """§5.3.1: HN results complete, two indicators of each domain declared not reached; the HOP'EN prerequisites
    declared reached (or not)."""
    hn(establishment, prerequisites=hn_prerequisites)
    for code in PREREQUISITES:
        declare(establishment, code, reached=prerequisites, by=by)
    for domain in domains:
        for code in GROUPS[domain]:
            declare(establishment, code, reached=False, by=by)


def reach(establishment, domain, *, by, prerequisites=True, day=datetime.date(2020, 9, 1)):
    """Later declared values: every indicator of `domain` reached (and the prerequisites, unless told)."""
    for code in GROUPS[domain]:
        declare(establishment, code, reached=True, by=by, day=day)
    if prerequisites:
        for code in PREREQUISITES:
            declare(establishment, code, reached=True, by=by, day=day)


def relims_vendor():
    """The RELIMS-referenced, QHN-engaged vendor of the scene (§5.3.1): every domain of a transmitted dossier names
    one (issue 13)."""
    vendor, _ = SoftwareVendor.objects.get_or_create(
        name="Éditeur RELIMS", defaults={"relims_reference": "R-1", "qhn_engaged": True}
    )
    return vendor


def domains(*codes, deadline=DEADLINE, vendors=None):
    """Dossier domains as typed; each names the scene's RELIMS vendor unless `vendors` is given (`()`: none)."""
    vendors = [relims_vendor().pk] if vendors is None else list(vendors)
    return [DomainInput(code=code, target_deadline=deadline, vendors=list(vendors)) for code in codes]


@pytest.fixture
def world(tenants, catalogue):
    """The tenants (region A: GHT support + member, a private clinic; region B: a hospital), with the annex-3 grid,
    combined activities, envelopes in both regions, a RELIMS vendor, the clinic's director, and the clinic, the GHT
    support and the GHT member eligible to apply on D2 and D3 (HOP'EN prerequisites reached)."""
    t = tenants
    load_amount_grid()
    for establishment, value in ((t.clinic, B_LOWER), (t.support, C_LOWER), (t.member, B_LOWER), (t.foreign, B_LOWER)):
        CombinedActivity.objects.create(establishment=establishment, source_year=2017, computed=value)
    t.envelope_a = open_envelope(t.region_a, seed=Decimal("600000.00"), usage=Decimal("2400000.00"))
    t.envelope_b = open_envelope(t.region_b)
    t.vendor = relims_vendor()
    t.clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.clinic)
    t.clinic_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=t.clinic)
    t.support_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.support)
    t.foreign_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    for establishment, by in ((t.clinic, t.clinic_director), (t.support, t.support_director), (t.member, t.director)):
        make_eligible(establishment, by=by)
    for establishment in (t.clinic, t.support, t.member, t.foreign):  # §5.3.2: Étape 2 follows the AMI
        preselect(establishment, *ALL_DOMAINS)
    complete_governance(t.ght, t.ght_director)  # §5.3.1: the GHT's master plan, convergence indicators and CIO
    return t


def transmitted_dossier(t, *codes, establishment=None, by=None, now=NOW):
    """A dossier of the clinic (by default) on `codes`, created and transmitted through the services."""
    establishment = establishment or t.clinic
    by = by or t.clinic_director
    dossier = services.dossier_create(programme=hopen_programme(), establishment=establishment, domains=domains(*codes, vendors=[t.vendor.pk]), by=by, now=now)
    return services.dossier_transmit(dossier=dossier, by=by, now=now)


def reviewed_dossier(t, *codes, establishment=None, by=None, now=NOW):
    """A dossier transmitted then « en instruction » (annex 4 §1: the ARS selects once it has opened the review)."""
    dossier = transmitted_dossier(t, *codes, establishment=establishment, by=by, now=now)
    ars = t.ars_a if dossier.region_id == t.region_a.pk else t.ars_b
    return services.dossier_start_review(dossier=dossier, by=ars, now=now)


def domain_of(dossier, code):
    return dossier.domains.get(domain_code=code)


# --- Rows in a given state (arrange only, for the forbidden transitions) --------------------------------------------


def dossier_in(status, **kwargs):
    """A dossier row in `status` with what the database constraints ask of that status."""
    now = timezone.now()
    fields = {"status": status}
    if status == DossierStatus.INITIALISATION_REQUESTED:
        fields["initialisation_requested_at"] = now
    if status not in (DossierStatus.INITIALISATION_REQUESTED, DossierStatus.DRAFT):
        fields["transmitted_at"] = now
    if status == DossierStatus.CLOSED:
        fields |= {"closed_at": now, "closure_kind": "abandonment", "closure_reason": "Abandon du projet"}
    return DossierFactory(**fields, **kwargs)


def domain_in(dossier, status, code="D2", **kwargs):
    fields = {"status": status}
    if status != DomainStatus.PENDING:
        fields |= {"decided_at": timezone.now()}
    if status == DomainStatus.REFUSED:
        fields |= {"decision_reason": "Projet insuffisamment mûr", "refusal_kind": "feasibility"}
    if status in (DomainStatus.USAGE_NOTIFIED, DomainStatus.PAID):
        fields |= {"usage_amount": Decimal("300000.00")}
    return DossierDomainFactory(dossier=dossier, domain_code=code, **fields, **kwargs)

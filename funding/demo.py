"""Demo dossiers for `make run` (never under the production settings): a few realistic dossiers of the demo
establishments of Hauts-de-France (32) and Bretagne (53) — those `hopen.demo.demo_establishments` chooses, acted on
by their demo accounts and by the region's demo ARS officer — so that the ARS dashboard (`/pilotage/<region>/`),
the envelope pages, the dossier list and the letters show something.

Everything goes through the services, so the audit trail, the ledger entries, the notifications and the letters
are the real ones: indicator values (`indicators.services`: draft by the editor, justificatory PDF for the
prerequisites — §5.3.1 « la totalité des pièces justificatives » — then declared by the director), dossiers and
decisions (`funding.dossiers.services`, dated with `now=`), a project review (`funding.reviews.services`, annex 4
§3). The Hôpital numérique results (§5.3.1, « export des indicateurs HN de l'observatoire oSIS faisant foi ») have
no service — they are an import of the oSIS export — and are written here with their audit record.

Before the dossiers (`funding.demo_filings`, through the services): the support's GHT gets its IT governance
(§5.3.1 GHT: SDSI, validated CIO, convergence indicators) and every demo domain its AMI pre-selection by the ARS
(§5.3.2 « Etape 1 »: HOP'EN's AMI in June 2019; the campaign's within its own AMI window) — the money gates
(`funding.dossiers.gates`) refuse the rest.

Per region (`SCENARIOS`):

1. The GHT support establishment's own dossier, on two domains, transmitted in early 2020 with the HOP'EN
   prerequisites reached and justified, both domains selected with a seed funding (annex 2 §2, non derogatory)
   and the seed paid; a project review (annex 4 §3) moves the target deadline of the second domain (the
   dashboard's « décalé » list); the first domain's targets are reached, its usage funding notified and paid.
2. The private establishment's dossier: one domain selected with a *derogatory* seed (§5.1: HOP'EN prerequisites
   not yet reached, Hôpital numérique ones reached, before 01/01/2021), the other refused for a financial reason
   (annex 4 §1: re-candidacy the following year); the prerequisites are then reached before the derogatory
   deadline, so the deadline sweep claims no refund.
3. A GHT dossier filed by the support establishment for a member (annex 3 §2), awaiting the ARS's decision. The
   member has not reached the Hôpital numérique prerequisites (§5.3.1 note 3: « éligible, financement bloqué »):
   the page lists the seed refused at the selection with its reason (`funding.dossiers.gates`) — the one demo
   dossier showing a refused money gate; every other demo movement passed its gate. It is
   dated a few weeks before today, not in 2019–2022: the daily deadline sweep refuses a dossier left undecided four
   months after its transmission (annex 4 §1), so an older one would not stay « awaiting decision ». HOP'EN's
   dossier window closed on 31/12/2021 (§5.3.2), so it is filed on the demonstration campaign (`DEMO2026`, open
   today; the member's values are declared on that campaign's catalogue) — skipped when the campaign is not loaded.

The ledger entries are dated the day they are written (`envelopes.ledger` records no past dates); the dossiers,
decisions, reviews and indicator values carry their 2019–2022 dates.

Idempotent: a region whose demo establishments already appear in a dossier is left alone. A region whose
prerequisites are missing (programme, catalogue or amount grid not loaded, envelope not opened, demo accounts or
combined activity missing) is skipped with a French reason, never an error.
"""

import datetime
import logging
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from envelopes.demo import delegate_demo_credits
from envelopes.models import Envelope
from hopen.audit import audit_record
from hopen.demo import DEMO_DOMAIN, demo_establishments
from hopen.exceptions import ApplicationError
from hopen.models import Region, User
from indicators import windows
from indicators.evidence import evidence_upload
from indicators.models import CatalogueVersion, GroupKind, PriorProgrammeResult, PriorResultKind, Programme, ValueKind
from indicators.selectors import current_catalogue
from indicators.services import ValueInput, value_declare, value_save_draft

from .demo_filings import ami_preselect, demo_pdf, ght_governance
from .dossiers import services as dossiers
from .dossiers.models import Dossier, RefusalKind
from .dossiers.rules import DomainInput
from .eligibility.models import SoftwareVendor
from .letters.models import DossierLetter
from .models import CombinedActivity
from .reviews.services import project_review_record
from .selectors import amount_grid

logger = logging.getLogger(__name__)

HOPEN, HN, CAMPAIGN = "HOPEN", "HN", "DEMO2026"
AMI_PRESELECTION_DAY = datetime.date(2019, 6, 20)  # HOP'EN's AMI window closes on 30/06/2019 (§5.3.2)
CAMPAIGN_DEMO_DOMAINS = ("D1", "D2", "D3", "D4", "D5")  # declared, first indicator reached, the others not
HN_SOURCE = "Export oSIS des indicateurs Hôpital numérique du 01/03/2019 (données de démonstration)"
SEED_SHARE = Decimal("0.20")  # annex 2 §2: « un montant supérieur ou inférieur à 20 % du soutien financier total »
# The three prerequisites the private establishment reaches late (§5.1 derogatory seed): cybersecurity audit,
# DPO and register of processing, ROR population.
LATE_PREREQUISITES = ("P2.5", "P3.6", "P4.2")


@dataclass(frozen=True)
class Scenario:
    """The dossiers of one region; every date of the support's and the private establishment's dossiers follows
    `start` (the support establishment's dossier is created that day)."""

    start: datetime.date
    own_domains: tuple[str, str]  # (usage funding notified and paid, target deadline moved at a review)
    own_deadlines: tuple[datetime.date, datetime.date]
    slipped_to: datetime.date
    private_domains: tuple[str, str]  # (selected with a derogatory seed, refused for a financial reason)
    private_deadline: datetime.date
    ght_domains: tuple[str, ...]
    ght_under_review: bool  # the ARS has opened the review of the GHT dossier (still undecided)


SCENARIOS = {
    "32": Scenario(
        start=datetime.date(2020, 1, 20), own_domains=("D2", "D3"),
        own_deadlines=(datetime.date(2021, 12, 31), datetime.date(2022, 6, 30)), slipped_to=datetime.date(2022, 12, 31),
        private_domains=("D1", "D4"), private_deadline=datetime.date(2022, 6, 30), ght_domains=("D1", "D5"),
        ght_under_review=False,
    ),
    "53": Scenario(
        start=datetime.date(2020, 3, 2), own_domains=("D3", "D1"),
        own_deadlines=(datetime.date(2021, 12, 31), datetime.date(2022, 3, 31)), slipped_to=datetime.date(2022, 9, 30),
        private_domains=("D2", "D5"), private_deadline=datetime.date(2022, 6, 30), ght_domains=("D2", "D4"),
        ght_under_review=True,
    ),
}

REFUSAL_REASON = (
    "Enveloppe d'amorçage {year} de la région déjà engagée sur les projets prioritaires du territoire : le domaine "
    "{code} n'est pas retenu cette année. Il pourra être présenté de nouveau l'an prochain (annexe 4 §1)."
)


@dataclass(frozen=True)
class Actors:
    editor: User
    director: User


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def _days(day: datetime.date, n: int) -> datetime.date:
    return day + datetime.timedelta(days=n)


def _demo_user(email: str) -> User | None:
    return User.objects.filter(email=email, is_active=True).first()


def _actors(establishment) -> Actors | None:
    editor = _demo_user(f"{establishment.finess.lower()}@{DEMO_DOMAIN}")
    director = _demo_user(f"direction-{establishment.finess.lower()}@{DEMO_DOMAIN}")
    return Actors(editor, director) if editor and director else None


# --- What the seed needs --------------------------------------------------------------------------------------------


def _missing(region_code: str) -> str | None:
    """Why the region's demo dossiers cannot be written (None when they can)."""
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        return f"région {region_code} absente (import_sae)"
    hopen = Programme.objects.filter(code=HOPEN).first()
    if hopen is None or not Programme.objects.filter(code=HN).exists():
        return f"{region.name} : programme non chargé (load_programme)"
    try:
        current_catalogue(hopen)
    except CatalogueVersion.DoesNotExist:
        return f"{region.name} : référentiel d'indicateurs non chargé (load_programme)"
    if not amount_grid(hopen).categories:
        return f"{region.name} : grille des montants de l'annexe 3 non chargée (load_programme)"
    if not Envelope.objects.filter(programme__code=HOPEN, region=region).exists():
        return f"{region.name} : enveloppe régionale non ouverte (open_envelopes)"
    ght, establishments = demo_establishments(region_code)
    if ght is None or len(establishments) < 3 or establishments[0].pk != ght.support_id:
        return f"{region.name} : pas de GHT avec support, membre et établissement privé parmi les établissements"
    if not _vendors():
        return (
            f"{region.name} : aucun éditeur référencé RELIMS et engagé QHN (seed_demo importe "
            "fixtures/demo/editeurs-FICTIFS-demo.csv) — un domaine sans éditeur n'est pas transmis (§5.3.1)"
        )
    if _demo_user(f"ars-{region_code}@{DEMO_DOMAIN}") is None or any(_actors(e) is None for e in establishments):
        return f"{region.name} : comptes de démonstration absents (seed_demo)"
    with_activity = set(
        CombinedActivity.objects.filter(establishment__in=establishments).values_list("establishment_id", flat=True)
    )
    without = [e.name for e in establishments if e.pk not in with_activity]
    if without:
        return f"{region.name} : activité combinée inconnue ({', '.join(without)}) (compute_combined_activity)"
    return None


def _already_seeded(establishments) -> bool:
    return Dossier.objects.filter(
        Q(establishment__in=establishments) | Q(members__establishment__in=establishments)
    ).exists()


# --- Indicator values, through the indicator services ---------------------------------------------------------------


def _input(indicator, *, reached: bool, day: datetime.date) -> ValueInput:
    """A plausible value: a rate 5 points above the threshold (or 100 %), or 25 points below it; an existence."""
    if indicator.target_kind == ValueKind.RATE:
        denominator = 240
        threshold = Decimal(indicator.target_threshold)
        percent = min(threshold + 5, Decimal(100)) if reached else max(threshold - 25, Decimal(0))
        numerator = int((percent * denominator / 100).to_integral_value(rounding=ROUND_DOWN))
        if reached and Decimal(numerator) * 100 < threshold * denominator:
            numerator = denominator
        return ValueInput(measured_on=day, kind=ValueKind.RATE, numerator=numerator, denominator=denominator)
    return ValueInput(
        measured_on=day, kind=ValueKind.EXISTENCE, exists=reached,
        description="En place et documenté." if reached else "Projet engagé, pas encore opérationnel.",
    )


def _declare(establishment, indicator, actors: Actors, *, reached: bool, day: datetime.date, document: bool):
    """Draft by the editor, justificatory PDF when asked (prerequisites, §5.3.1), declared by the director."""
    value = value_save_draft(
        establishment=establishment, indicator=indicator, data=_input(indicator, reached=reached, day=day),
        by=actors.editor,
    )
    if document:
        content = demo_pdf(f"{establishment.name} - {indicator.code} - justificatif au {day:%d/%m/%Y}")
        upload = SimpleUploadedFile(
            f"justificatif-{indicator.code}-{day:%Y%m%d}.pdf", content, content_type="application/pdf"
        )
        evidence_upload(value=value, uploaded_file=upload, by=actors.editor)
    return value_declare(value=value, by=actors.director)


def _catalogue_groups(programme) -> tuple[list, dict]:
    """(the 15 prerequisite indicators, {domain code: its indicators}) of the programme's catalogue in force."""
    prerequisites, domains = [], {}
    for indicator in current_catalogue(programme).indicators.all():
        if indicator.group.kind == GroupKind.PREREQUISITE:
            prerequisites.append(indicator)
        else:
            domains.setdefault(indicator.group.code, []).append(indicator)
    return prerequisites, domains


def _baseline(establishment, actors, *, programme, day, domains, late=()):
    """§5.3.1 before applying: the 15 prerequisites declared with their documents (those in `late` not reached),
    and every indicator of each domain declared, the first reached, the others not (« au moins deux indicateurs du
    domaine ne sont pas atteints »)."""
    prerequisites, by_domain = _catalogue_groups(programme)
    for indicator in prerequisites:
        _declare(establishment, indicator, actors, reached=indicator.code not in late, day=day, document=True)
    for code in domains:
        for position, indicator in enumerate(by_domain[code]):
            _declare(establishment, indicator, actors, reached=position == 0, day=day, document=False)


def _reach_domain(establishment, actors, code, *, programme, day):
    """Annex 2 §2: every indicator of the domain declared reached (« les valeurs cibles d'usage atteintes »)."""
    _, by_domain = _catalogue_groups(programme)
    for indicator in by_domain[code]:
        _declare(establishment, indicator, actors, reached=True, day=day, document=False)


def _reach_prerequisites(establishment, actors, codes, *, programme, day):
    prerequisites, _ = _catalogue_groups(programme)
    for indicator in prerequisites:
        if indicator.code in codes:
            _declare(establishment, indicator, actors, reached=True, day=day, document=True)


def _hn_results(establishment, *, prerequisites=True):
    """§5.3.1: every HN indicator entered (oSIS export) and the Hôpital numérique prerequisites reached — or not
    (`prerequisites=False`: « éligible, financement bloqué », note 3)."""
    programme = Programme.objects.get(code=HN)
    for kind in (PriorResultKind.PREREQUISITES_REACHED, PriorResultKind.INDICATORS_COMPLETE):
        achieved = prerequisites or kind != PriorResultKind.PREREQUISITES_REACHED
        result, created = PriorProgrammeResult.objects.get_or_create(
            establishment=establishment, programme=programme, kind=kind, domain_code="",
            defaults={
                "achieved": achieved, "achieved_on": datetime.date(2018, 12, 31) if achieved else None,
                "source": HN_SOURCE,
            },
        )
        if created:
            audit_record(
                actor=None, action="prior_result.import", target=result,
                changes={"kind": [None, kind], "achieved": [None, achieved], "source": [None, HN_SOURCE]},
            )


# --- Dossiers, through the dossier services -------------------------------------------------------------------------


def _vendors() -> list[int]:
    """A RELIMS-referenced, QHN-engaged vendor of the referential (§5.3.1) — every demo domain names it: a domain
    naming none is not transmitted (issue 13; `_missing` says so when the referential has none)."""
    vendor = SoftwareVendor.objects.filter(qhn_engaged=True).exclude(relims_reference="").order_by("name").first()
    return [vendor.pk] if vendor else []


def _seed(domain) -> Decimal:
    """The seed an ARS would decide: about 20 % of the domain's total, rounded down to the thousand euros."""
    return (domain.total_amount * SEED_SHARE / 1000).to_integral_value(rounding=ROUND_DOWN) * 1000


def _domain(dossier, code):
    return dossier.domains.get(domain_code=code)


def _support_dossier(scenario, support, actors, ars, region, programme) -> Dossier:
    """Dossier 1: two domains selected with seed; the first paid in full, the second's deadline moved."""
    start, (paid, slipped) = scenario.start, scenario.own_domains
    vendors = _vendors()
    dossier = dossiers.dossier_create(
        establishment=support, by=actors.editor, now=_at(start), programme=programme,
        domains=[
            DomainInput(code=code, target_deadline=deadline, vendors=vendors)
            for code, deadline in zip(scenario.own_domains, scenario.own_deadlines, strict=True)
        ],
        comment="Projet porté par l'établissement support, cohérent avec le schéma directeur du SI du GHT.",
    )
    dossier = dossiers.dossier_transmit(dossier=dossier, by=actors.director, now=_at(_days(start, 14)))
    dossier = dossiers.dossier_start_review(dossier=dossier, by=ars, now=_at(_days(start, 28)))
    for code in scenario.own_domains:
        domain = _domain(dossier, code)
        dossiers.domain_select(
            domain=domain, seed_amount=_seed(domain), by=ars, now=_at(_days(start, 77)),
            reason="Projet prioritaire du territoire, prérequis HOP'EN atteints et justifiés.",
        )
    for code in scenario.own_domains:
        dossiers.domain_record_seed_payment(domain=_domain(dossier, code), by=ars, now=_at(_days(start, 105)))
    project_review_record(
        dossier=dossier, held_on=_days(start, 420),
        participants=(
            f"{region.ars_name} (référent HOP'EN) ; direction et DSI de {support.name} ; éditeur du logiciel"
        ),
        notes=(
            f"{paid} : déploiement achevé dans tous les services, mesure des cibles prévue à l'été. "
            f"{slipped} : retard de livraison de l'éditeur et mobilisation des équipes pendant la crise sanitaire ; "
            f"échéance reportée au {scenario.slipped_to:%d/%m/%Y}."
        ),
        prerequisites_forecast=None,
        domain_deadlines={_domain(dossier, slipped).pk: scenario.slipped_to},
        by=ars,
    )
    _reach_domain(support, actors, paid, programme=programme, day=_days(start, 520))
    domain = dossiers.domain_record_targets_reached(
        domain=_domain(dossier, paid), by=actors.director, now=_at(_days(start, 530))
    )
    domain = dossiers.domain_notify_usage(domain=domain, by=ars, now=_at(_days(start, 545)))
    dossiers.domain_record_usage_payment(domain=domain, by=ars, now=_at(_days(start, 590)))
    return dossier


def _private_dossier(scenario, clinic, actors, ars, programme) -> Dossier:
    """Dossier 2: one domain selected with a derogatory seed (§5.1), the other refused for a financial reason."""
    start, (selected, refused) = scenario.start, scenario.private_domains
    vendors = _vendors()
    dossier = dossiers.dossier_create(
        establishment=clinic, by=actors.editor, now=_at(_days(start, 200)), programme=programme,
        domains=[DomainInput(code=code, target_deadline=scenario.private_deadline, vendors=vendors)
                 for code in scenario.private_domains],
        comment="Prérequis HOP'EN en cours de mise en conformité (audit de cybersécurité, DPO, ROR) avant fin 2020.",
    )
    dossier = dossiers.dossier_transmit(dossier=dossier, by=actors.director, now=_at(_days(start, 207)))
    dossier = dossiers.dossier_start_review(dossier=dossier, by=ars, now=_at(_days(start, 221)))
    decided = _at(_days(start, 240))
    domain = _domain(dossier, selected)
    dossiers.domain_select(
        domain=domain, seed_amount=_seed(domain), by=ars, now=decided,
        reason="Amorçage dérogatoire : prérequis Hôpital numérique atteints, prérequis HOP'EN attendus avant le "
        "01/01/2021 (instruction §5.1).",
    )
    dossiers.domain_refuse(
        domain=_domain(dossier, refused), by=ars, now=decided, refusal_kind=RefusalKind.FINANCIAL,
        reason=REFUSAL_REASON.format(year=decided.year, code=refused),
    )
    dossiers.domain_record_seed_payment(domain=_domain(dossier, selected), by=ars, now=_at(_days(start, 255)))
    _reach_prerequisites(clinic, actors, LATE_PREREQUISITES, programme=programme, day=_days(start, 280))
    return dossier


def _ght_dossier(scenario, support, member, actors, ars, programme) -> Dossier:
    """Dossier 3: a GHT dossier for a member (annex 3 §2) on the demonstration campaign, transmitted a few weeks ago
    (not before its dossier window opened), awaiting the decision."""
    window = windows.programme_window(programme, windows.DOSSIER_FILING)
    today = timezone.localdate()
    transmitted = today - datetime.timedelta(days=33)
    if window.opens is not None:
        transmitted = min(max(transmitted, _days(window.opens, 7)), today)
    deadline = datetime.date(transmitted.year + 1, 12, 31)
    dossier = dossiers.dossier_create(
        establishment=support, by=actors.director, ght_members=[member], programme=programme,
        now=_at(max(_days(transmitted, -7), window.opens or _days(transmitted, -7))),
        domains=[DomainInput(code=code, target_deadline=deadline, vendors=_vendors()) for code in scenario.ght_domains],
        comment=f"Dossier de GHT déposé par l'établissement support pour {member.name} (convergence du GHT).",
    )
    dossier = dossiers.dossier_transmit(dossier=dossier, by=actors.director, now=_at(transmitted))
    if scenario.ght_under_review:
        dossier = dossiers.dossier_start_review(dossier=dossier, by=ars, now=_at(_days(transmitted, 12)))
    return dossier


def _seed_region(region_code: str, scenario: Scenario) -> list[str]:
    region = Region.objects.get(code=region_code)
    hopen = Programme.objects.get(code=HOPEN)
    campaign = Programme.objects.filter(code=CAMPAIGN).first()
    ars = _demo_user(f"ars-{region_code}@{DEMO_DOMAIN}")
    for programme in (hopen, campaign):  # annex 2 §3: the credits are delegated before any commitment
        if programme is not None:
            delegate_demo_credits(region, programme)
    _, (support, member, clinic) = demo_establishments(region_code)
    people = {e.pk: _actors(e) for e in (support, member, clinic)}
    baseline = _days(scenario.start, -50)
    for establishment in (support, clinic):
        _hn_results(establishment)
    # The member has not reached the Hôpital numérique prerequisites: its GHT dossier may be transmitted and
    # selected, but not funded (§5.3.1 note 3) — the one demo dossier whose page shows a refused money gate.
    _hn_results(member, prerequisites=False)
    _baseline(support, people[support.pk], programme=hopen, day=baseline, domains=scenario.own_domains)
    _baseline(
        clinic, people[clinic.pk], programme=hopen, day=baseline, domains=scenario.private_domains,
        late=LATE_PREREQUISITES,
    )
    ght_governance(support.ght, people[support.pk], programme=hopen)
    ami_day = _at(AMI_PRESELECTION_DAY)  # HOP'EN's AMI: « au plus tard le 30 juin 2019 » (§5.3.2 « Etape 1 »)
    ami_preselect(support, people[support.pk], scenario.own_domains, programme=hopen, ars=ars, at=ami_day)
    ami_preselect(clinic, people[clinic.pk], scenario.private_domains, programme=hopen, ars=ars, at=ami_day)
    created = [
        _support_dossier(scenario, support, people[support.pk], ars, region, hopen),
        _private_dossier(scenario, clinic, people[clinic.pk], ars, hopen),
    ]
    if campaign is not None:
        member_day = timezone.localdate() - datetime.timedelta(days=75)
        _baseline(member, people[member.pk], programme=campaign, day=member_day, domains=scenario.ght_domains)
        window = windows.programme_window(campaign, windows.AMI_FILING)
        ami_preselect(
            member, people[member.pk], scenario.ght_domains, programme=campaign, ars=ars,
            at=_at(max(member_day, window.opens or member_day)), support_director=people[support.pk].director,
        )
        # The support's own values on the campaign too, so that after its AMI and the ARS's pre-selection (done by
        # hand in the demo) its editor can file and its director transmit a dossier today (§5.3.1).
        _baseline(support, people[support.pk], programme=campaign, day=member_day, domains=CAMPAIGN_DEMO_DOMAINS)
        created.append(_ght_dossier(scenario, support, member, people[support.pk], ars, campaign))
    else:
        logger.info("Campagne %s non chargée : pas de dossier de GHT en attente de décision.", CAMPAIGN)
    return [dossier.reference for dossier in created]


def _generate_letters(references) -> int:
    """The PDFs of the demo letters, now (the Celery task does it too after the commit; both are idempotent)."""
    from .letters.services import generate_letter

    failed = 0
    ids = DossierLetter.objects.filter(dossier__reference__in=references, generated_at__isnull=True).values_list(
        "pk", flat=True
    )
    for pk in list(ids):
        try:
            generate_letter(pk)
        except Exception:  # noqa: BLE001 — the worker generates it later; the demo must not stop here
            failed += 1
            logger.exception("Courrier %s non généré : le worker Celery le générera.", pk)
    return failed


def seed_demo_dossiers(*, skipped: list[str] | None = None, generate_letters: bool = True) -> list[str]:
    """Write the demo dossiers of the regions of `SCENARIOS` that have none yet; return their references.

    Each region is written in its own transaction; a region that cannot be written is left untouched and its
    French reason appended to `skipped` (already present, or a missing prerequisite). The letters of the new
    dossiers are generated at once unless `generate_letters` is False.
    """
    skipped = skipped if skipped is not None else []
    created: list[str] = []
    for region_code, scenario in SCENARIOS.items():
        reason = _missing(region_code)
        if reason is not None:
            skipped.append(reason)
            continue
        _, establishments = demo_establishments(region_code)
        if _already_seeded(establishments):
            skipped.append(f"{Region.objects.get(code=region_code).name} : dossiers de démonstration déjà présents")
            continue
        try:
            with transaction.atomic():
                created += _seed_region(region_code, scenario)
        except (ApplicationError, ValidationError) as error:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            skipped.append(f"{Region.objects.get(code=region_code).name} : {' '.join(messages)}")
    if created and generate_letters:
        failed = _generate_letters(created)
        if failed:
            skipped.append(f"{failed} courrier(s) non généré(s) maintenant : le worker Celery les générera")
    return created

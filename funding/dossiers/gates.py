"""One gate per movement of money (issue 12) — pure functions of plain values, no database, no request.

Each gate takes the facts gathered by `funding.dossiers.gate_facts` (small frozen dataclasses) and returns the
refusals (`Refusal(code, section, message)`: a stable code, the section of the text, a French message); an empty
list lets the movement happen. The services call their gate inside their locked transaction (after
`select_for_update`) and raise one `GateRefused` carrying every refusal (API 400 `{"detail", "reasons"}`, the
page's error summary; nothing written, nothing audited); the dossier page asks the same gates through the same
selector to disable its buttons with the reasons.

Sources (../shared/reference/000_*.txt): §5.3.1 (conditions of funding, footnote 3), §5.1 (derogatory seed),
§5.3.2 « Etape 1 / Etape 2 » (AMI then dossier), annex 2 §2 (seed then usage funding, refund of the seed), annex 4
§1 (instruction and decision).

Readings, documented here:
- Eligibility is re-evaluated at every gate (`funding.eligibility.rules.eligibility`, same inputs as on the page).
  At the selection with a seed every reason that blocks counts (effect `ineligible` → `not_eligible:<code>`,
  `not_fundable` → `not_fundable:<code>`). After the selection only the *funding* conditions are re-evaluated
  (effect `not_fundable`: Hôpital numérique prerequisites, HOP'EN prerequisites past the derogatory deadline, GHT
  master plan / convergence indicators / CIO): the candidature criteria (« au moins deux indicateurs non atteints »,
  « projets terminés inéligibles ») were judged at the transmission and the selection, and reaching the targets —
  the very aim of the usage funding — would otherwise block it.
- Selection only « en instruction » (annex 4 §1: the ARS instructs the dossier, then decides): the state machine
  lets a refusal (and the silence refusal) happen from « Transmis à l'ARS », the selection waits for the review.
- AMI pre-selection (§5.3.2 « Etape 2 » concerns the projects pre-selected at « Etape 1 »): every candidate
  establishment of the dossier (for a GHT dossier each candidate member, whose pre-candidature the AMI models) has
  the domain pre-selected by the ARS on the same programme. Reading of « Exceptionnellement, les établissements
  pourront candidater […] jusqu'au 31/12/2021, si l'ARS et son enveloppe régionale le permettent » (§5.3.2): a
  late candidature without AMI pre-selection is possible when the ARS allows it — while the programme's late
  candidature window (`indicators.windows.AMI_LATE_FILING`) is open a dossier may name such a domain, and the ARS
  records « admis sans présélection AMI » with its reason (`domain_admit_without_ami`); the transmission needs the
  pre-selection or that admission for every domain.
- « Prérequis atteints » is `funding.eligibility.prerequisites.prerequisite_gaps` (values and documents, §5.3.1).
- Software vendors (§5.3.1 « Les éditeurs des applications mises en œuvre dans le cadre du projet sont référencés
  dans la base RELIMS […] et doivent être engagés dans la démarche […] QHN »; issue 13): the rule applies to the
  vendors each domain names, so a domain naming none cannot be checked — the transmission is refused
  (`vendors_named_gate`, code `vendors_not_named`, naming the domains). This gate is the single place of the
  « no vendor named » rule: a draft may be saved without vendors (the eligibility verdict then says « à vérifier
  au dépôt », `information`), and the eligibility rule keeps judging the vendors named (RELIMS, QHN: `ineligible`).
  Not an eligibility effect `ineligible`, because eligibility reads the application as a whole (the vendors of
  every domain together) and would neither see a single domain without vendor nor name it.
"""

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal

from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros

UNDER_REVIEW = "under_review"  # funding.dossiers.models.DossierStatus.UNDER_REVIEW (kept pure: no model import)
INELIGIBLE, NOT_FUNDABLE = "ineligible", "not_fundable"  # funding.eligibility.rules.Effect values


@dataclass(frozen=True)
class Refusal:
    code: str
    section: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "section": self.section, "message": self.message}


class GateRefused(ApplicationError):
    """A gate refused a movement of money: HTTP 400 with every reason; nothing is written."""

    def __init__(self, refusals, action: str = ""):
        refusals = tuple(refusals)
        text = " ".join(r.message for r in refusals)
        super().__init__(
            f"{action} refusé : {text}" if action else text,
            extra={"reasons": [r.as_dict() for r in refusals]},
        )
        self.refusals = refusals


def require(refusals, action: str = "") -> None:
    """Raise `GateRefused` when a gate returned refusals."""
    refusals = list(refusals)
    if refusals:
        raise GateRefused(refusals, action)


# --- Facts (plain values) --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonFacts:
    """An eligibility reason (§5.3.1) as the gates read it."""

    code: str
    section: str
    message: str
    effect: str


@dataclass(frozen=True)
class MemberFacts:
    """One candidate establishment of the dossier, for one domain."""

    establishment_id: int
    name: str
    reasons: tuple = ()  # ReasonFacts of the eligibility verdict on the domain
    prerequisites_reached: bool = False  # HOP'EN prerequisites, values and documents (§5.3.1)
    hn_prerequisites_reached: bool = False  # Hôpital numérique prerequisites (§5.3.1 note 3)
    targets_reached: bool = False  # the domain's usage targets (annex 2 §2)
    ami_preselected: bool = False  # the domain pre-selected by the ARS at the AMI (§5.3.2 « Etape 1 »)
    structured_format_reached: bool = False  # the domain's structured-format indicator reached (annex 3 §3)


@dataclass(frozen=True)
class DomainFacts:
    """One domain of a dossier and what its gates read."""

    today: datetime.date
    derogatory_deadline: datetime.date | None  # None: the programme's calendar does not declare it
    dossier_status: str
    domain_code: str
    seed_amount: Decimal = Decimal("0.00")
    seed_paid: bool = False
    admitted_without_ami: bool = False
    eligibility_known: bool = True
    members: tuple = ()  # MemberFacts
    ght: bool = False  # a GHT dossier: the messages name each member
    rate: str = "standard"  # funding.dossiers.rules.STANDARD / ADVANCED
    structured_format_indicator: str = ""  # the programme's indicator granting the advanced rate on this domain


@dataclass(frozen=True)
class RefundClaimFacts:
    """Annex 2 §2: the seed of a domain when the prerequisites deadline has come."""

    as_of: datetime.date
    deadline: datetime.date  # first day past the derogatory window (01/01/2021 for HOP'EN)
    paid: Decimal  # seed paid and not yet claimed
    behind: tuple = ()  # names of the candidates without the prerequisites (values and documents)


@dataclass(frozen=True)
class RefundReceiptFacts:
    """A refund received against a claim (annex 2 §2, annex 4)."""

    is_claim: bool
    amount: Decimal
    outstanding: Decimal
    claim_number: int = 0


# --- Shared rules ----------------------------------------------------------------------------------------------------


def _d(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def _who(facts: DomainFacts, member: MemberFacts) -> str:
    return f"{member.name} — " if facts.ght or len(facts.members) > 1 else ""


def eligibility_refusals(facts: DomainFacts, *, effects=(NOT_FUNDABLE,)) -> list[Refusal]:
    """§5.3.1: the eligibility verdict re-evaluated — one refusal per blocking reason and member
    (`not_fundable:<code>`, `not_eligible:<code>` for the effects asked)."""
    if not facts.eligibility_known:
        return [Refusal(
            "eligibility_unknown", "5.3.1",
            "Le référentiel d'indicateurs du programme n'est pas chargé : l'éligibilité ne peut pas être établie.",
        )]
    prefix = {NOT_FUNDABLE: "not_fundable", INELIGIBLE: "not_eligible"}
    return [
        Refusal(f"{prefix[r.effect]}:{r.code}", r.section, f"{_who(facts, m)}{facts.domain_code} : {r.message}")
        for m in facts.members
        for r in m.reasons
        if r.effect in effects
    ]


def progress_refusals(facts: DomainFacts) -> list[Refusal]:
    """Annex 2 §2: « les soutiens financiers ne sont notifiés qu'une fois les seuils de prérequis et les valeurs
    cibles d'usage atteints » — every candidate has reached the HOP'EN prerequisites (values **and** documents,
    §5.3.1) and the domain's usage targets (declared values)."""
    refusals = []
    behind = [m.name for m in facts.members if not m.prerequisites_reached]
    if behind:
        refusals.append(Refusal(
            "prerequisites_not_reached", "5.3.1, annexe 2 §2",
            f"prérequis HOP'EN (P1 à P4) non atteints ou non justifiés (valeurs et pièces justificatives) : "
            f"{', '.join(behind)}",
        ))
    short = [m.name for m in facts.members if not m.targets_reached]
    if short:
        refusals.append(Refusal(
            "targets_not_reached", "annexe 2 §2",
            f"cibles d'usage du domaine {facts.domain_code} non atteintes : {', '.join(short)}",
        ))
    return refusals


def seed_is_derogatory(facts: DomainFacts) -> bool:
    """§5.1: a seed decided before the candidates have reached the HOP'EN prerequisites is derogatory."""
    return any(not m.prerequisites_reached for m in facts.members)


# --- The gates -------------------------------------------------------------------------------------------------------


def selection_refusals(facts: DomainFacts) -> list[Refusal]:
    """Annex 4 §1: the ARS selects once it has opened the instruction of the dossier (« en instruction »); §5.3.2
    « Etape 2 »: the domain's AMI pre-selection re-checked at the selection (`selection_ami_refusals`)."""
    refusals = [] if facts.dossier_status == UNDER_REVIEW else [Refusal(
        "dossier_not_under_review", "annexe 4 §1",
        "Ouvrez d'abord l'instruction du dossier : un domaine n'est sélectionné que lorsque le dossier est « En "
        "instruction ».",
    )]
    return refusals + selection_ami_refusals(facts)


def selection_ami_refusals(facts: DomainFacts) -> list[Refusal]:
    """§5.3.2 « Etape 2 » (« concerne les projets présélectionnés à l'étape 1 »), re-checked when the ARS selects —
    with or without seed: every candidate has the domain pre-selected at the AMI, unless the ARS admitted the domain
    without it (`domain_admit_without_ami`). The late candidature window does not excuse it here: it only lets a
    dossier being filed wait for that admission (`ami_preselection_gate`, the one rule)."""
    return ami_preselection_gate(
        [(m.establishment_id, m.name) for m in facts.members], [facts.domain_code],
        preselected={(m.establishment_id, facts.domain_code) for m in facts.members if m.ami_preselected},
        admitted={facts.domain_code} if facts.admitted_without_ami else frozenset(),
    )


def locks_selection(refusal: Refusal) -> bool:
    """A refusal that forbids the selection itself (with or without seed) — the rest only forbids a seed."""
    return refusal.code == "dossier_not_under_review" or refusal.code.startswith("no_ami_preselection:")


def seed_commitment_gate(facts: DomainFacts, seed: Decimal) -> list[Refusal]:
    """Selection with its seed commitment (annex 4 §1, annex 2 §2, §5.1, §5.3.1): « en instruction »; with a seed,
    eligible and fundable for every candidate (footnote 3: « les financements ne pourront être délégués que
    lorsque ces prérequis seront atteints »), and a derogatory seed (§5.1: HOP'EN prerequisites not reached) only
    before the derogatory deadline and with the Hôpital numérique prerequisites reached."""
    refusals = selection_refusals(facts)
    if seed <= 0:
        return refusals
    refusals += eligibility_refusals(facts, effects=(INELIGIBLE, NOT_FUNDABLE))
    behind = [m for m in facts.members if not m.prerequisites_reached]
    if behind and (facts.derogatory_deadline is None or facts.today >= facts.derogatory_deadline):
        refusals.append(Refusal(
            "derogatory_seed_deadline_passed", "5.1, annexe 2 §2",
            f"Amorçage impossible : les prérequis HOP'EN ne sont pas atteints ({', '.join(m.name for m in behind)}) "
            "et le délai dérogatoire est échu"
            + (f" (avant le {_d(facts.derogatory_deadline)})" if facts.derogatory_deadline else " ou n'est pas déclaré")
            + ". Sélectionnez le domaine sans amorçage.",
        ))
    without_hn = [m.name for m in behind if not m.hn_prerequisites_reached]
    if without_hn:
        refusals.append(Refusal(
            "derogatory_seed_without_hn", "5.1",
            "Amorçage dérogatoire impossible : les prérequis HOP'EN ne sont pas atteints et les prérequis Hôpital "
            f"numérique non plus ({', '.join(without_hn)}) ; l'amorçage en amont des prérequis HOP'EN suppose "
            "l'atteinte des prérequis Hôpital numérique. Sélectionnez le domaine sans amorçage.",
        ))
    return refusals


def seed_payment_gate(facts: DomainFacts) -> list[Refusal]:
    """Annex 2 §2 and §5.3.1 note 3: the seed decided is paid while the funding conditions still hold."""
    return eligibility_refusals(facts)


def targets_reached_gate(facts: DomainFacts) -> list[Refusal]:
    """Annex 2 §2: targets recorded when every candidate has reached the prerequisites (values and documents) and
    the domain's usage targets; the funding conditions of §5.3.1 still hold."""
    return progress_refusals(facts) + eligibility_refusals(facts)


def usage_notification_gate(facts: DomainFacts) -> list[Refusal]:
    """Annex 2 §2: the usage funding is notified « une fois les seuils de prérequis et les valeurs cibles d'usage
    atteints » — re-read at the notification — and while the funding conditions of §5.3.1 hold; an advanced rate
    still needs its structured-format indicator reached (annex 3 §3)."""
    advanced = advanced_rate_gate(
        facts.domain_code, facts.rate, facts.structured_format_indicator,
        [(m.name, m.structured_format_reached) for m in facts.members],
    )
    return progress_refusals(facts) + eligibility_refusals(facts) + advanced


def usage_payment_gate(facts: DomainFacts) -> list[Refusal]:
    """Annex 2 §2: « aucun versement intermédiaire entre l'amorçage éventuel et l'atteinte des cibles » — the seed
    decided is paid first; the funding conditions of §5.3.1 still hold."""
    refusals = []
    if facts.seed_amount > 0 and not facts.seed_paid:
        refusals.append(Refusal(
            "seed_not_paid", "annexe 2 §2",
            f"Enregistrez d'abord le versement de l'amorçage du domaine {facts.domain_code} : le financement à "
            "l'usage en est le solde.",
        ))
    return refusals + eligibility_refusals(facts)


def ami_preselection_gate(
    members, codes, *, preselected, admitted=frozenset(), late_window_open=False
) -> list[Refusal]:
    """§5.3.2 « Etape 2 »: a dossier domain requires the AMI pre-selection of that domain for each candidate
    establishment on the same programme (`preselected`: {(establishment id, code)}), unless the ARS admitted the
    domain without it (`admitted`: codes) — or, while the late candidature window is open, the domain waits for that
    admission (§5.3.2 « Exceptionnellement … jusqu'au 31/12/2021, si l'ARS et son enveloppe régionale le
    permettent »). `members`: [(establishment id, name)]."""
    members = list(members)
    refusals = []
    for code in sorted({str(c).upper() for c in codes}):
        if code in admitted or late_window_open:
            continue
        missing = [name for pk, name in members if (pk, code) not in preselected]
        if missing:
            refusals.append(Refusal(
                f"no_ami_preselection:{code}", "5.3.2",
                f"Le domaine {code} n'a pas été présélectionné par l'ARS lors de l'appel à manifestation d'intérêt "
                f"({', '.join(missing)}) : l'étape 2 ne concerne que les projets présélectionnés à l'étape 1.",
            ))
    return refusals


def advanced_rate_gate(domain_code: str, rate: str, indicator_code: str, members) -> list[Refusal]:
    """Annex 3 §3: « Un forfait avancé qui intègre un bonus de +20 % du forfait standard. Ce forfait concerne les
    dossiers pour lesquels les cibles d'usage sont atteintes en intégrant » the structured format (D1: CDAR2 niveau 3,
    indicator D1.3; D6: structured discharge letter, indicator D6.1) — the advanced rate is granted only when the
    programme's structured-format indicator of the domain is declared reached by every candidate (`members`:
    [(name, reached)]). Checked when the dossier is filed, updated and transmitted, and again at the usage notification.
    A standard rate is never refused here."""
    if rate != "advanced":
        return []
    if not indicator_code:
        return [Refusal(
            f"advanced_rate_not_offered:{domain_code}", "annexe 3 §3",
            f"{domain_code} : le programme ne prévoit pas de forfait avancé pour ce domaine.",
        )]
    behind = [name for name, reached in members if not reached]
    if not behind:
        return []
    return [Refusal(
        f"advanced_rate_structured_format:{domain_code}", "annexe 3 §3",
        f"{domain_code} : le forfait avancé suppose le format structuré en place — indicateur {indicator_code} "
        f"déclaré atteint — pour chaque établissement candidat ({', '.join(behind)}). Choisissez le forfait standard "
        "ou déclarez d'abord l'indicateur atteint.",
    )]


def vendors_named_gate(vendors_by_domain) -> list[Refusal]:
    """§5.3.1: the vendors of the applications of the project are RELIMS-referenced and QHN-engaged — the rule
    applies to the vendors each domain names, so every domain of a transmitted dossier names at least one
    (`vendors_by_domain`: [(domain code, number of vendors named)]). One refusal naming every domain without."""
    missing = sorted({str(code).upper() for code, count in vendors_by_domain if not count})
    if not missing:
        return []
    which = f"le domaine {missing[0]}" if len(missing) == 1 else f"les domaines {', '.join(missing)}"
    return [Refusal(
        "vendors_not_named", "5.3.1",
        f"Aucun éditeur n'est indiqué pour {which} : indiquez les éditeurs des applications mises en œuvre, "
        "référencés dans la base RELIMS de la DGOS et engagés dans la démarche de certification « Qualité Hôpital "
        "numérique » (QHN), avant de transmettre le dossier.",
    )]


def refund_claim_gate(facts: RefundClaimFacts) -> list[Refusal]:
    """Annex 2 §2: « Les prérequis doivent être atteints au plus tard le 01 janvier 2021. Si les prérequis ne sont
    pas atteints à date par l'établissement, il remboursera les montants perçus au titre de l'amorçage » — a claim
    from the deadline day on, on a seed paid, when a candidate lacks the prerequisites (values and documents)."""
    refusals = []
    if facts.as_of < facts.deadline:
        refusals.append(Refusal(
            "refund_deadline_not_reached", "annexe 2 §2",
            f"Les prérequis peuvent encore être atteints jusqu'au {_d(facts.deadline - datetime.timedelta(days=1))}.",
        ))
    if facts.paid <= 0:
        refusals.append(Refusal("refund_nothing_paid", "annexe 2 §2", "Aucun amorçage versé n'est à rembourser."))
    if not facts.behind:
        refusals.append(Refusal(
            "refund_prerequisites_reached", "annexe 2 §2",
            "Les prérequis HOP'EN sont atteints et justifiés par chaque établissement candidat.",
        ))
    return refusals


def refund_receipt_gate(facts: RefundReceiptFacts) -> list[Refusal]:
    """Annex 2 §2, annex 4: a refund is received against a claim, for a positive amount not above what it awaits."""
    if not facts.is_claim:
        return [Refusal(
            "refund_not_a_claim", "annexe 2 §2", "Un remboursement s'enregistre sur une demande de remboursement."
        )]
    if facts.amount <= 0:
        return [Refusal("refund_amount_not_positive", "annexe 2 §2", "Le montant remboursé doit être positif.")]
    if facts.amount > facts.outstanding:
        return [Refusal(
            "refund_exceeds_outstanding", "annexe 2 §2",
            f"Remboursement supérieur au montant attendu : {french_euros(facts.amount)} reçus, "
            f"{french_euros(max(facts.outstanding, Decimal('0.00')))} restent dus sur la demande n° {facts.claim_number}.",
        )]
    return []


# --- A GHT member's share (annex 2 §2) -------------------------------------------------------------------------------


def share_facts(facts: DomainFacts, establishment_id: int, seed_part: Decimal) -> DomainFacts:
    """Annex 2 §2: « le soutien financier intervient à chaque atteinte des cibles d'usage par un établissement
    partie pour un domaine fonctionnel » — the facts of one member's share of a domain: the progress and
    eligibility refusals read only that member, and the seed that must be paid before its usage funding is its
    own part of the domain's seed. The same gates (`targets_reached_gate`, `usage_notification_gate`,
    `usage_payment_gate`) then judge the share."""
    return replace(
        facts,
        members=tuple(m for m in facts.members if m.establishment_id == establishment_id),
        seed_amount=Decimal(seed_part),
    )

"""Eligibility of an establishment's project on a functional domain (instruction DGOS, §5.3.1) — pure function.

`eligibility(inputs)` takes plain values (no database, no request) and returns a `Verdict`: may the
establishment apply on the domain (`eligible_to_apply`), may the funding be delegated (`fundable`), and every
reason, each with a stable code, the section of the text it comes from and a French message.
`funding.eligibility.selectors` gathers the inputs from the database.

Sources (../shared/reference/): 000 = the instruction, §5.3.1 « Les conditions de financement » with its
footnote 3, §5.1, §5.3.2 and annex 3 §2; 004 = minutes of an ARS / FHP meeting (April 2019), informative.

Two verdicts, because footnote 3 separates them: « L'atteinte des prérequis Hôpital Numérique n'est pas
indispensable pour pré-candidater dans le cadre du programme. En revanche, les financements ne pourront être
délégués que lorsque ces prérequis seront atteints dans les délais impartis. »

- `eligible_to_apply`: the project may be presented (pre-candidature of the AMI, then the dossier) — no reason
  of effect `ineligible`;
- `fundable`: it is eligible to apply and nothing stops the delegation of the funding — no reason of effect
  `not_fundable`. A reason of effect `information` (a deadline still open, something to check at deposit,
  an exception that applies) blocks neither.

Decisions on the text, documented here and in each rule:

- Rule « au moins deux indicateurs du domaine ne sont pas atteints d'après les saisies sur oSIS »: only
  *declared* values count (« d'après les saisies »); an indicator without a declared value is not counted as
  « non atteint » — nothing is known of it — and the message lists it, to be declared. The 004 minutes read the
  rule the same way (« ils doivent avoir au moins 2 […] cibles non atteints »).
- « Les projets terminés (mesurés par l'atteinte des valeurs cibles pour l'ensemble des indicateurs d'usage) »:
  every indicator declared and reached, a « non applicable » one counting as neither (as in
  `indicators.attainment.group_attainment`); reported as `project_finished` instead of the count rule.
- Hôpital numérique (HN) results (`indicators.PriorProgrammeResult`) name their domain with the HOP'EN code
  (HN domains D1–D5 are HOP'EN D1–D5; D6 and D7 are new in HOP'EN): the rule on HN funding and the D6/D7
  rule compare codes directly. An HN result not recorded (None) is not presumed: « export des indicateurs HN
  de l'observatoire oSIS faisant foi ».
- HN convergence exception (« excepté pour un établissement candidatant de nouveau sur un domaine dans le cadre
  de sa stratégie de convergence GHT ») needs the application's flag *and* a GHT: without a GHT there is no
  GHT convergence strategy.
- D6/D7 « Il est, en revanche, possible de s'engager sur ces domaines de façon conjointe »: a joint candidature
  counts only when D2 or D3 is in the same application *and* is itself eligible to apply (the caller passes
  those domains in `joint_domains`).
- HOP'EN prerequisites (« la saisie […] de la valeur des indicateurs et de la totalité des pièces justificatives
  dans oSIS au moment du dépôt de dossier ou, de façon dérogatoire, avant le 1er janvier 2021 dernier délai »):
  compliant when all 15 indicators have a declared value, reached, with at least one justificatory document
  (not deleted, not infected). Before the derogatory deadline a non-compliance leaves the project fundable
  with an `information` reason; from the deadline day on (« avant le 1er janvier 2021 »: 01/01/2021 is
  already late) it is `not_fundable` (annex 3 §2: « Les prérequis doivent être atteints au plus tard le
  01 janvier 2021 »). It never blocks the pre-candidature: annex 5 asks the AMI only for a forecast semester.
- Software vendors (RELIMS, QHN): checked on the vendors the application names; with no application yet, or an
  application (a draft dossier) naming none, the rule is « à vérifier au dépôt » (`information`: a draft may be
  saved without vendors); a named vendor not referenced or not engaged makes the project ineligible (it is a
  criterion of the project). « A domain names no vendor » is not an eligibility reason: it blocks the
  transmission of the dossier, in one place — `funding.dossiers.gates.vendors_named_gate` (code
  `vendors_not_named`, issue 13) — because this rule reads the application as a whole (the vendors of all its
  domains together) and could neither see a single domain without vendor nor name it.
- GHT (« Les établissements parties d'un GHT et qui sont candidats doivent également justifier de »): applies
  to public establishments members of a GHT. The master plan, the convergence indicators and the validated
  GHT CIO are justifications of the funding (`not_fundable` when missing: the pre-candidature stays open);
  the validation of the application by the support establishment is required for the candidature itself
  (§5.3.2: « la pré-candidature doit être validée par […] le directeur d'établissement support ») —
  `ineligible` when an application is not validated, `information` before any application, and met by
  construction when the establishment is the support itself.
- HN indicators entered (« La saisie de l'ensemble des indicateurs […] Hôpital Numérique dans oSIS ») is a
  criterion of the candidature (`ineligible`); footnote 3 relaxes only the HN prerequisites.
"""

import datetime
from dataclasses import dataclass, field
from enum import Enum

from indicators.attainment import Attainment

from .prerequisites import IndicatorState, prerequisite_gaps  # noqa: F401 (IndicatorState: part of the inputs)

DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7")
DOMAINS_OPEN_AFTER_HN_D2_D3 = ("D6", "D7")
HN_GATE_DOMAINS = frozenset({"D2", "D3"})
PREREQUISITE_COUNT = 15  # annex 1: P1–P4, 15 indicators


class Effect(str, Enum):
    INELIGIBLE = "ineligible"
    NOT_FUNDABLE = "not_fundable"
    INFORMATION = "information"

    @property
    def label(self):
        return {
            "ineligible": "Inéligible",
            "not_fundable": "Financement bloqué",
            "information": "Information",
        }[self.value]


# --- Inputs (plain values) -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HnResults:
    """Hôpital numérique results (export oSIS); domains in HOP'EN codes; None = no result recorded."""

    prerequisites_reached: bool | None = None
    indicators_complete: bool | None = None
    usage_targets_reached: frozenset = frozenset()
    funding_received: frozenset = frozenset()


@dataclass(frozen=True)
class VendorFacts:
    """A software vendor of the project and its RELIMS facts (`funding.models.SoftwareVendor`)."""

    name: str
    referenced: bool
    qhn_engaged: bool


@dataclass(frozen=True)
class ApplicationFacts:
    """What the application declares; absent (None in `EligibilityInputs`) before any application."""

    vendors: tuple = ()
    convergence_reapplication: bool = False
    validated_by_support: bool = False


@dataclass(frozen=True)
class GhtFacts:
    """§5.3.1 requirements of a GHT whose public member applies (`funding.models.GhtItGovernance`)."""

    is_support: bool = False
    master_plan_uploaded: bool = False
    convergence_indicators_entered: bool = False
    cio_validated: bool = False


@dataclass(frozen=True)
class EligibilityInputs:
    domain: str
    today: datetime.date
    derogatory_deadline: datetime.date
    indicators: tuple = ()  # IndicatorState of the domain's indicators
    prerequisites: tuple = ()  # IndicatorState of the 15 HOP'EN prerequisite indicators
    hn: HnResults = field(default_factory=HnResults)
    ght: GhtFacts | None = None  # None: not a public member of a GHT
    application: ApplicationFacts | None = None  # None: no application yet
    joint_domains: frozenset = frozenset()  # other domains of the same application, themselves eligible to apply
    domain_label: str = ""


# --- Output ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    section: str
    message: str
    effect: Effect

    @property
    def effect_label(self):
        return self.effect.label


@dataclass(frozen=True)
class Verdict:
    domain: str
    eligible_to_apply: bool
    fundable: bool
    reasons: tuple = ()
    label: str = ""

    @property
    def codes(self) -> list:
        return [reason.code for reason in self.reasons]

    @property
    def status(self) -> str:
        """`fundable`, `eligible` (may apply, funding blocked) or `ineligible`."""
        if self.fundable:
            return "fundable"
        return "eligible" if self.eligible_to_apply else "ineligible"


class VerdictsByDomain(dict):
    """{domain: Verdict}, with the reasons every domain shares (establishment-wide conditions: Hôpital numérique
    results, HOP'EN prerequisites, vendors, GHT), so that a page may show them once."""

    @property
    def common_reasons(self) -> tuple:
        verdicts = list(self.values())
        if len(verdicts) < 2:
            return ()
        return tuple(r for r in verdicts[0].reasons if all(r in verdict.reasons for verdict in verdicts[1:]))


# --- Helpers ---------------------------------------------------------------------------------------------------------


def _codes(states) -> str:
    return ", ".join(state.code for state in states)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n <= 1 else plural}"


def _date(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def _with(states, attainment):
    return [state for state in states if state.attainment == attainment]


# --- The rules, one function each ------------------------------------------------------------------------------------


def _rule_project_in_progress(inputs):
    """§5.3.1: « Un projet est éligible si au moins deux indicateurs du domaine ne sont pas atteints d'après les
    saisies sur oSIS. Les projets terminés (mesurés par l'atteinte des valeurs cibles pour l'ensemble des
    indicateurs d'usage) sont en revanche inéligibles »."""
    not_reached = _with(inputs.indicators, Attainment.NOT_REACHED)
    missing = _with(inputs.indicators, Attainment.MISSING)
    reached = _with(inputs.indicators, Attainment.REACHED)
    if reached and not not_reached and not missing:
        return [Reason(
            "project_finished", "5.3.1",
            "Tous les indicateurs du domaine atteignent leur cible d'après les valeurs déclarées : le projet est "
            "terminé, il n'est plus éligible.",
            Effect.INELIGIBLE,
        )]
    if len(not_reached) >= 2:
        return []
    # Said positively: how many indicators still have their target to reach, against the two the text requires.
    if not_reached:
        found = (
            f"seul {_codes(not_reached)} n'atteint pas encore sa cible" if len(not_reached) == 1
            else f"{_count(len(not_reached), 'indicateur', 'indicateurs')} n'atteignent pas encore leur cible"
        )
    else:
        found = "aucun n'a encore sa cible à atteindre"
    message = (
        "Le projet doit encore avoir au moins deux indicateurs du domaine dont la cible reste à atteindre, d'après "
        f"les valeurs déclarées ; ici, {found}."
    )
    if missing:
        message += (
            f" {_count(len(missing), 'indicateur sans valeur déclarée', 'indicateurs sans valeur déclarée')} "
            f"({_codes(missing)}) ne {'compte' if len(missing) == 1 else 'comptent'} pas encore : "
            "déclarez-les pour établir l'éligibilité."
        )
    return [Reason("fewer_than_two_indicators_not_reached", "5.3.1", message, Effect.INELIGIBLE)]


def _rule_applicability(inputs):
    """§5.3.1: « Si plus d'un indicateur par domaine est non applicable/non concerné d'après les saisies sur
    oSIS, le projet est inéligible »."""
    not_applicable = _with(inputs.indicators, Attainment.NOT_APPLICABLE)
    if len(not_applicable) <= 1:
        return []
    return [Reason(
        "more_than_one_indicator_not_applicable", "5.3.1",
        f"Plus d'un indicateur du domaine est déclaré non applicable ({_codes(not_applicable)}) : le projet est "
        "inéligible pour ce domaine (un seul indicateur non applicable y est compatible avec l'éligibilité).",
        Effect.INELIGIBLE,
    )]


def _rule_no_prior_hn_funding(inputs):
    """§5.3.1: « L'absence d'aide au titre du programme Hôpital Numérique dans le domaine auquel candidate
    l'établissement, excepté pour un établissement candidatant de nouveau sur un domaine dans le cadre de sa
    stratégie de convergence GHT et donc du déploiement d'un nouvel applicatif unique »."""
    if inputs.domain not in inputs.hn.funding_received:
        return []
    declared = inputs.application is not None and inputs.application.convergence_reapplication
    if declared and inputs.ght is not None:
        return [Reason(
            "hn_funding_convergence_exception", "5.3.1",
            "Un financement Hôpital numérique a déjà été reçu sur ce domaine ; la candidature est recevable car "
            "elle s'inscrit dans la stratégie de convergence du GHT (déploiement d'un nouvel applicatif unique), "
            "ce que l'ARS vérifie.",
            Effect.INFORMATION,
        )]
    message = (
        "Un financement Hôpital numérique a déjà été reçu sur ce domaine : seule une nouvelle candidature dans le "
        "cadre de la stratégie de convergence du GHT (déploiement d'un nouvel applicatif unique) est recevable."
    )
    if declared:
        message += " L'établissement n'étant partie à aucun GHT, cette exception ne s'applique pas."
    return [Reason("hn_funding_already_received", "5.3.1", message, Effect.INELIGIBLE)]


def _rule_d6_d7_opening(inputs):
    """§5.3.1: « Les domaines D6 […] et D7 […] sont ouverts aux établissements / GHT ayant atteint les cibles
    d'usage Hôpital Numérique pour les domaines D2 […] ou D3 […]. Il est, en revanche, possible de s'engager sur
    ces domaines de façon conjointe »."""
    if inputs.domain not in DOMAINS_OPEN_AFTER_HN_D2_D3:
        return []
    if inputs.hn.usage_targets_reached & HN_GATE_DOMAINS:
        return []
    joint = sorted(inputs.joint_domains & HN_GATE_DOMAINS)
    if joint:
        return [Reason(
            "d6_d7_joint_candidature", "5.3.1",
            f"Les cibles d'usage Hôpital numérique de D2 et de D3 ne sont pas atteintes : la candidature sur "
            f"{inputs.domain} est recevable conjointement avec {' et '.join(joint)}, dans le même dossier.",
            Effect.INFORMATION,
        )]
    return [Reason(
        "d6_d7_require_hn_d2_or_d3", "5.3.1",
        f"Le domaine {inputs.domain} est ouvert aux établissements ayant atteint les cibles d'usage Hôpital "
        "numérique du domaine D2 ou D3, ce qui n'est pas le cas ; il reste possible de candidater sur "
        f"{inputs.domain} conjointement avec D2 ou D3 (éligible) dans le même dossier.",
        Effect.INELIGIBLE,
    )]


def _rule_hn_indicators_entered(inputs):
    """§5.3.1: « La saisie de l'ensemble des indicateurs (prérequis et domaines) Hôpital Numérique dans oSIS »."""
    if inputs.hn.indicators_complete:
        return []
    if inputs.hn.indicators_complete is None:
        message = (
            "Aucun résultat Hôpital numérique n'est enregistré pour l'établissement : la saisie de l'ensemble des "
            "indicateurs Hôpital numérique (prérequis et domaines) dans oSIS n'est pas établie."
        )
    else:
        message = "Les indicateurs Hôpital numérique (prérequis et domaines) n'ont pas tous été saisis dans oSIS."
    return [Reason("hn_indicators_incomplete", "5.3.1", message, Effect.INELIGIBLE)]


def _rule_hn_prerequisites(inputs):
    """§5.3.1: « L'atteinte des prérequis du programme Hôpital Numérique (HN) par l'établissement / GHT
    concerné (export des indicateurs HN de l'observatoire oSIS faisant foi) », with footnote 3: not needed to
    pre-apply, needed before any funding is delegated."""
    if inputs.hn.prerequisites_reached:
        return []
    state = (
        "L'atteinte des prérequis Hôpital numérique n'est pas établie (aucun résultat enregistré, l'export oSIS "
        "faisant foi)"
        if inputs.hn.prerequisites_reached is None
        else "Les prérequis Hôpital numérique ne sont pas atteints"
    )
    return [Reason(
        "hn_prerequisites_not_reached", "5.3.1, note 3",
        f"{state} : la pré-candidature reste possible, mais aucun financement ne pourra être délégué avant "
        "leur atteinte.",
        Effect.NOT_FUNDABLE,
    )]


def _rule_hopen_prerequisites(inputs):
    """§5.3.1: « La conformité aux indicateurs des prérequis du programme HOP'EN est mesurée via la saisie par
    l'établissement / GHT de la valeur des indicateurs et de la totalité des pièces justificatives dans oSIS au
    moment du dépôt de dossier ou, de façon dérogatoire, avant le 1er janvier 2021 dernier délai »; annex 3 §2:
    « Les prérequis doivent être atteints au plus tard le 01 janvier 2021 »."""
    found = prerequisite_gaps(inputs.prerequisites, expected=PREREQUISITE_COUNT)  # the one rule (values and documents)
    if found.reached:
        return []
    missing, not_reached, without_documents, absent = (
        found.missing, found.not_reached, found.without_documents, found.absent
    )
    gaps = []
    if missing or absent:
        gaps.append(
            _count(len(missing) + absent, "indicateur non déclaré", "indicateurs non déclarés")
            + (f" ({_codes(missing)})" if missing else "")
        )
    if not_reached:
        gaps.append(f"{_count(len(not_reached), 'indicateur non atteint', 'indicateurs non atteints')} "
                    f"({_codes(not_reached)})")
    if without_documents:
        gaps.append(f"{_count(len(without_documents), 'indicateur', 'indicateurs')} sans pièce justificative "
                    f"({_codes(without_documents)})")
    detail = " ; ".join(gaps)
    deadline = _date(inputs.derogatory_deadline)
    if inputs.today < inputs.derogatory_deadline:
        return [Reason(
            "hopen_prerequisites_pending", "5.3.1",
            f"Prérequis HOP'EN pas encore conformes ({detail}). Ils doivent être déclarés, atteints et justifiés "
            f"au dépôt du dossier ou, par dérogation, avant le {deadline} : le financement en dépend.",
            Effect.INFORMATION,
        )]
    return [Reason(
        "hopen_prerequisites_not_met", "5.3.1",
        f"Prérequis HOP'EN non conformes ({detail}) et délai dérogatoire échu (avant le {deadline}) : aucun "
        "financement ne peut être délégué.",
        Effect.NOT_FUNDABLE,
    )]


def _rule_vendors(inputs):
    """§5.3.1: « Les éditeurs des applications mises en œuvre dans le cadre du projet sont référencés dans la base
    RELIMS […] de la DGOS et doivent être engagés dans la démarche de certification « Qualité Hôpital numérique »
    (QHN) ». An application naming no vendor yet is « à vérifier au dépôt » like no application: the transmission
    of a dossier whose domain names none is refused by `funding.dossiers.gates.vendors_named_gate` (the single
    place of that rule)."""
    if inputs.application is None or not inputs.application.vendors:
        return [Reason(
            "vendors_to_check_at_deposit", "5.3.1",
            "À vérifier au dépôt du dossier : les éditeurs des applications du projet doivent être référencés dans "
            "la base RELIMS de la DGOS et engagés dans la démarche de certification « Qualité Hôpital numérique ».",
            Effect.INFORMATION,
        )]
    vendors = inputs.application.vendors
    reasons = []
    unreferenced = [v.name for v in vendors if not v.referenced]
    if unreferenced:
        reasons.append(Reason(
            "vendors_not_referenced_in_relims", "5.3.1",
            f"Éditeur{'s' if len(unreferenced) > 1 else ''} non référencé{'s' if len(unreferenced) > 1 else ''} "
            f"dans la base RELIMS de la DGOS : {', '.join(unreferenced)}.",
            Effect.INELIGIBLE,
        ))
    not_engaged = [v.name for v in vendors if not v.qhn_engaged]
    if not_engaged:
        reasons.append(Reason(
            "vendors_not_qhn_engaged", "5.3.1",
            f"Éditeur{'s' if len(not_engaged) > 1 else ''} non engagé{'s' if len(not_engaged) > 1 else ''} dans "
            f"la démarche de certification « Qualité Hôpital numérique » (QHN) : {', '.join(not_engaged)}.",
            Effect.INELIGIBLE,
        ))
    return reasons


def _rule_ght(inputs):
    """§5.3.1: « Les établissements parties d'un GHT et qui sont candidats doivent également justifier de : la
    validation d'un schéma directeur de système d'information du groupement hospitalier de territoire […] déposé
    par l'établissement support […] ; la saisie des indicateurs de convergence dans oSIS ; un dépôt de dossier de
    financement validé par l'établissement support de GHT […] ; la mise en place d'une gouvernance commune de
    groupement par la nomination d'un directeur des systèmes d'information (DSI) de GHT validé par le directeur
    de l'établissement support »."""
    ght = inputs.ght
    if ght is None:
        return []
    reasons = []
    if not ght.master_plan_uploaded:
        reasons.append(Reason(
            "ght_master_plan_missing", "5.3.1 (GHT)",
            "Le schéma directeur du système d'information (SDSI) du GHT n'a pas été déposé par l'établissement "
            "support.",
            Effect.NOT_FUNDABLE,
        ))
    if not ght.convergence_indicators_entered:
        reasons.append(Reason(
            "ght_convergence_indicators_missing", "5.3.1 (GHT)",
            "Les indicateurs de convergence du GHT ne sont pas saisis.",
            Effect.NOT_FUNDABLE,
        ))
    if not ght.cio_validated:
        reasons.append(Reason(
            "ght_cio_not_validated", "5.3.1 (GHT)",
            "Aucun directeur des systèmes d'information (DSI) de GHT n'est nommé et validé par le directeur de "
            "l'établissement support.",
            Effect.NOT_FUNDABLE,
        ))
    if not ght.is_support:
        if inputs.application is None:
            reasons.append(Reason(
                "ght_support_validation_to_check", "5.3.1 (GHT)",
                "À vérifier au dépôt : le dossier devra être validé par l'établissement support du GHT.",
                Effect.INFORMATION,
            ))
        elif not inputs.application.validated_by_support:
            reasons.append(Reason(
                "ght_application_not_validated_by_support", "5.3.1 (GHT)",
                "Le dossier n'est pas validé par l'établissement support du GHT.",
                Effect.INELIGIBLE,
            ))
    return reasons


RULES = (
    _rule_project_in_progress,
    _rule_applicability,
    _rule_no_prior_hn_funding,
    _rule_d6_d7_opening,
    _rule_hn_indicators_entered,
    _rule_hn_prerequisites,
    _rule_hopen_prerequisites,
    _rule_vendors,
    _rule_ght,
)


def eligibility(inputs: EligibilityInputs) -> Verdict:
    """The verdict of §5.3.1 for one establishment and one domain, with every reason (see the module docstring)."""
    if inputs.domain not in DOMAINS:
        raise ValueError(f"Domaine inconnu : {inputs.domain}.")
    reasons = tuple(reason for rule in RULES for reason in rule(inputs))
    eligible_to_apply = not any(reason.effect == Effect.INELIGIBLE for reason in reasons)
    fundable = eligible_to_apply and not any(reason.effect == Effect.NOT_FUNDABLE for reason in reasons)
    return Verdict(inputs.domain, eligible_to_apply, fundable, reasons, inputs.domain_label)

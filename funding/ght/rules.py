"""Pure rules of the GHT governance (§5.3.1 « Pour les GHT », annex 1 « déclinaison GHT ») — no database.

Decisions on the text:

- **Which indicators take a GHT-level value.** Annex 1 fills the « déclinaison GHT » column for every indicator,
  but for many of them it only says the indicator stays per establishment (« Applicable par établissement. »,
  « Le taux est calculé par établissement. », « L'usage du service de messagerie sécurisée est applicable par
  établissement. », « Le DPO peut cependant être mutualisé. »). The others state a requirement on the GHT as a
  whole (« Ce référentiel d'identités est unique au sein du GHT », « L'application utilisée […] est identique au
  sein du GHT », « Applicable par établissement et par GHT si des pôles inter-établissements existent »…), and
  every one of those names the GHT. So an indicator is declined at GHT level when its text names the GHT (the
  word « GHT »): 24 of the 41 HOP'EN indicators. A programme whose catalogue declines none asks for no
  GHT-level value.
- **« La saisie des indicateurs de convergence dans oSIS »**: the condition is the *entry*, not the attainment:
  it is met when every indicator declined at GHT level in the programme's catalogue in force has a declared
  GHT-level value (met or not, or not applicable with its reason). A draft does not count.
- **« La validation d'un schéma directeur […] déposé par l'établissement support »**: met when the GHT's current
  SDSI (its latest document not deleted) is not found infected and carries the date the GHT validated it. A file
  still being scanned counts, as for the justificatory documents of the prerequisites.
- **« La nomination d'un DSI de GHT validé par le directeur de l'établissement support »**: a name, and a
  validation by the support's director recorded after it (naming another CIO withdraws the validation).
"""

import re
from dataclasses import dataclass

from indicators.models import ScanStatus

GHT_WORD = re.compile(r"\bGHT\b")


def is_declined_at_ght_level(ght_declination: str) -> bool:
    """Does annex 1's « déclinaison GHT » text ask something of the GHT as a whole? (see the module docstring)."""
    return bool(GHT_WORD.search(ght_declination or ""))


@dataclass(frozen=True)
class GovernanceFacts:
    """What §5.3.1 checks of a GHT, as `funding.eligibility.rules.GhtFacts` needs it."""

    master_plan_uploaded: bool = False
    convergence_indicators_entered: bool = False
    cio_validated: bool = False


def master_plan_validated(scan_status, validated_on) -> bool:
    """The current SDSI (its scan status, None without document) counts when it is there, not found infected, with
    the GHT's validation date."""
    return scan_status is not None and scan_status != ScanStatus.INFECTED and validated_on is not None


def convergence_entered(declined_count: int, declared_count: int) -> bool:
    """Every indicator declined at GHT level has a declared GHT-level value (one declared value per indicator)."""
    return declared_count >= declined_count


def governance_facts(*, plan_scan_status, plan_validated_on, declined_count, declared_count, governance) -> GovernanceFacts:
    return GovernanceFacts(
        master_plan_uploaded=master_plan_validated(plan_scan_status, plan_validated_on),
        convergence_indicators_entered=convergence_entered(declined_count, declared_count),
        cio_validated=bool(governance is not None and governance.has_validated_cio),
    )

"""Writes of the dossier workflow (instruction §5.3.2 « Etape 2 », annexes 2, 3 and 4): one service per transition
of the state machine declared in `funding.dossiers.states`; split by stage — filing and transmission
(`filing`), the ARS's decisions (`decisions`), then payments, targets, usage funding and closure (`follow_up`).

Every service: checks the permission (`hopen.permissions`), locks the dossier row first (`select_for_update`,
then the domain row; the envelope is locked after them, inside `envelopes.services`), asks the state machine
(`require_dossier_transition` / `require_domain_transition`: an impossible transition raises `TransitionRefused`,
HTTP 409), checks its preconditions (a clear French `ApplicationError` otherwise), writes, records the audit
trail in the same transaction (before → after), requests the letters of the decision
(`funding.letters.services`) and notifies the establishment and the ARS (in-app now, e-mail after commit).

Decisions documented here:
- Windows (`indicators.windows`): a dossier is created, its initialisation asked and it is transmitted only within its
  programme's dossier window (§5.3.2; HOP'EN's closed on 31/12/2021), checked inside the service's transaction with
  its `now` — outside it `WindowClosed` (400, nothing written, nothing audited). A target deadline is not past and
  within the programme's usage-target window (§5.3.1 « avant le 1er janvier 2023 »), at creation and at a review.
- The programme is given (`programme=`, from `request.programme` on the pages and the API) or the dossier's; the
  reference names it (`DEMO2026-32-2026-00001`). Re-candidacy and « already candidate » are read per programme.
- Re-candidacy (annex 4 §1) is checked per candidate establishment and domain, at creation and again at
  transmission: a domain refused for that establishment cannot be presented again before
  `funding.dossiers.rules.recandidacy_allowed_from`. An establishment cannot either present a domain already in
  one of its dossiers that is neither refused nor closed.
- Eligibility (§5.3.1) blocks the transmission when a candidate establishment is not eligible to apply on a domain
  of the dossier. A GHT dossier is filed by the support establishment, so it counts as validated by it.
- Seed funding (annex 2 §2, §5.1) is derogatory when a candidate establishment has not reached the HOP'EN
  prerequisites; it then needs the Hôpital numérique prerequisites and the derogatory deadline not passed.
- For a GHT dossier the usage funding moves per member share (`shares`; annex 2 §2 « le soutien financier
  intervient à chaque atteinte des cibles d'usage par un établissement partie »): each member's targets reached,
  usage funding (its amount − its part of the seed, split at the selection by `rules.seed_parts`) notified and
  paid, gated on that member's facts only; the domain-level services then need the member (`establishment`). The
  domain's status follows its shares; the money is still delegated to the support establishment (annex 3 §2).
- The usage funding is paid after the seed funding of the same domain, when there is one (annex 2 §2: « aucun
  versement intermédiaire entre l'amorçage éventuel et l'atteinte des cibles »).
- Money gates (`funding.dossiers.gates`, facts from `funding.dossiers.gate_facts`): the selection with its seed,
  the seed payment, the targets reached, the usage notification and payment each ask their gate inside the locked
  transaction; a refusal raises `GateRefused` (400 with `reasons`, nothing written). A dossier domain needs the AMI
  pre-selection of each candidate, or the ARS's admission without it (`admission.domain_admit_without_ami`).
"""

from ..gates import GateRefused
from ..rules import DomainInput
from ..states import TransitionRefused
from .admission import domain_admit_without_ami
from .decisions import domain_refuse, domain_select
from .filing import (
    dossier_create,
    dossier_initialise,
    dossier_request_initialisation,
    dossier_start_review,
    dossier_transmit,
    dossier_update,
)
from .follow_up import (
    domain_notify_usage,
    domain_record_seed_payment,
    domain_record_targets_reached,
    domain_record_usage_payment,
    dossier_close,
)

__all__ = [
    "DomainInput", "TransitionRefused", "dossier_create", "dossier_request_initialisation", "dossier_initialise",
    "dossier_update", "dossier_transmit", "dossier_start_review", "domain_select", "domain_refuse",
    "domain_record_seed_payment", "domain_record_targets_reached", "domain_notify_usage",
    "domain_record_usage_payment", "dossier_close", "domain_admit_without_ami", "GateRefused",
]

"""The dossier state machine, declared once (instruction §5.3.2 « Etape 2 », annexes 2 and 4).

Every service of `funding.dossiers.services` asks `require_dossier_transition` / `require_domain_transition`
before it writes; an impossible transition raises `TransitionRefused` (an ApplicationError: a clear message,
HTTP 409 in the API, a message on the page — never a 500).
"""

from hopen.exceptions import ApplicationError

from .models import DomainStatus, DossierStatus

D, S = DossierStatus, DomainStatus

# action: (allowed source states, target state)
DOSSIER_TRANSITIONS = {
    "initialise": ({D.INITIALISATION_REQUESTED}, D.DRAFT),  # the ARS has 1.5 months (§5.3.2 « Etape 2 »)
    "transmit": ({D.DRAFT}, D.TRANSMITTED),
    "start_review": ({D.TRANSMITTED}, D.UNDER_REVIEW),
    # When the last pending domain is decided: in progress if one domain at least is selected, refused otherwise.
    "decide": ({D.TRANSMITTED, D.UNDER_REVIEW}, None),
    "refuse_for_silence": ({D.TRANSMITTED, D.UNDER_REVIEW}, D.REFUSED),  # annex 4 §1
    "complete": ({D.IN_PROGRESS}, D.COMPLETED),
    "close": ({D.TRANSMITTED, D.UNDER_REVIEW, D.IN_PROGRESS, D.COMPLETED}, D.CLOSED),  # audit failure, abandonment
}

DOMAIN_TRANSITIONS = {
    "select": ({S.PENDING}, S.SELECTED),
    "refuse": ({S.PENDING}, S.REFUSED),
    "reach_targets": ({S.SELECTED}, S.TARGETS_REACHED),
    "notify_usage": ({S.TARGETS_REACHED}, S.USAGE_NOTIFIED),
    "pay_usage": ({S.USAGE_NOTIFIED}, S.PAID),
}

ACTION_LABELS = {
    "initialise": "initialiser le dossier",
    "transmit": "transmettre le dossier",
    "start_review": "ouvrir l'instruction",
    "decide": "rendre une décision",
    "refuse_for_silence": "refuser le dossier pour silence de l'ARS",
    "complete": "solder le dossier",
    "close": "clôturer le dossier",
    "select": "sélectionner le domaine",
    "refuse": "refuser le domaine",
    "reach_targets": "constater l'atteinte des cibles",
    "notify_usage": "notifier le financement à l'usage",
    "pay_usage": "enregistrer le versement à l'usage",
}

# The domain decisions an ARS can still take while the dossier is open for review.
OPEN_FOR_DECISION = {D.TRANSMITTED, D.UNDER_REVIEW}
# A selected domain moves on only while its dossier is in progress.
DOMAIN_ACTIONS_NEED_DOSSIER = {
    "select": OPEN_FOR_DECISION,
    "refuse": OPEN_FOR_DECISION,
    "reach_targets": {D.IN_PROGRESS},
    "notify_usage": {D.IN_PROGRESS},
    "pay_usage": {D.IN_PROGRESS},
}


class TransitionRefused(ApplicationError):
    """The object is not in a state that allows the action (HTTP 409)."""


def _impossible(action: str) -> str:
    """« Impossible de transmettre… », « Impossible d'ouvrir… » (elision before a vowel)."""
    label = ACTION_LABELS[action]
    return f"Impossible d'{label}" if label[:1] in "aeiouéèê" else f"Impossible de {label}"


def allowed_dossier_actions(status: str) -> list[str]:
    return [action for action, (sources, _) in DOSSIER_TRANSITIONS.items() if status in sources]


def allowed_domain_actions(domain_status: str, dossier_status: str) -> list[str]:
    return [
        action for action, (sources, _) in DOMAIN_TRANSITIONS.items()
        if domain_status in sources and dossier_status in DOMAIN_ACTIONS_NEED_DOSSIER[action]
    ]


def require_dossier_transition(status: str, action: str):
    """The target state of `action` from `status` (None for "decide": it depends on the domains)."""
    sources, target = DOSSIER_TRANSITIONS[action]
    if status not in sources:
        raise TransitionRefused(
            f"{_impossible(action)} : le dossier est « {DossierStatus(status).label} »."
        )
    return target


def require_domain_transition(domain_status: str, dossier_status: str, action: str):
    sources, target = DOMAIN_TRANSITIONS[action]
    if dossier_status not in DOMAIN_ACTIONS_NEED_DOSSIER[action]:
        raise TransitionRefused(
            f"{_impossible(action)} : le dossier est « {DossierStatus(dossier_status).label} »."
        )
    if domain_status not in sources:
        raise TransitionRefused(
            f"{_impossible(action)} : le domaine est « {DomainStatus(domain_status).label} »."
        )
    return target


def dossier_status_after_decisions(domain_statuses) -> str | None:
    """None while a domain is pending; then in progress if one domain is selected, refused if none is."""
    statuses = list(domain_statuses)
    if not statuses or S.PENDING in statuses:
        return None
    return D.REFUSED if all(s == S.REFUSED for s in statuses) else D.IN_PROGRESS


# --- A GHT member's share of a selected domain (annex 2 §2) ----------------------------------------------------------

# action: (share stage required, share stage after) — `funding.dossiers.models.ShareStage` values. The domain's
# status follows its shares (`domain_status_of_shares`): the least advanced share sets it.
SHARE_TRANSITIONS = {
    "reach_targets": ("waiting", "targets_reached"),
    "notify_usage": ("targets_reached", "usage_notified"),
    "pay_usage": ("usage_notified", "paid"),
}
SHARE_STAGE_ORDER = ("waiting", "targets_reached", "usage_notified", "paid")
DOMAIN_STATUS_OF_STAGE = {
    "waiting": S.SELECTED, "targets_reached": S.TARGETS_REACHED, "usage_notified": S.USAGE_NOTIFIED, "paid": S.PAID,
}
STAGE_LABELS = {
    "waiting": "cibles non constatées", "targets_reached": "cibles atteintes", "usage_notified": "usage notifié",
    "paid": "versé",
}
# A share moves while its domain is selected and not yet paid as a whole.
SHARE_DOMAIN_STATUSES = {S.SELECTED, S.TARGETS_REACHED, S.USAGE_NOTIFIED}


def allowed_share_actions(stage: str, domain_status: str, dossier_status: str) -> list[str]:
    if dossier_status != D.IN_PROGRESS or domain_status not in SHARE_DOMAIN_STATUSES:
        return []
    return [action for action, (source, _) in SHARE_TRANSITIONS.items() if source == stage]


def require_share_transition(stage: str, domain_status: str, dossier_status: str, action: str, member: str) -> str:
    """The stage of a member's share after `action` (annex 2 §2: targets, usage notified, usage paid per member);
    TransitionRefused (409) naming the member otherwise."""
    source, target = SHARE_TRANSITIONS[action]
    if dossier_status != D.IN_PROGRESS:
        raise TransitionRefused(f"{_impossible(action)} : le dossier est « {DossierStatus(dossier_status).label} ».")
    if domain_status not in SHARE_DOMAIN_STATUSES:
        raise TransitionRefused(f"{_impossible(action)} : le domaine est « {DomainStatus(domain_status).label} ».")
    if stage != source:
        raise TransitionRefused(f"{_impossible(action)} pour {member} : sa part en est à « {STAGE_LABELS[stage]} ».")
    return target


def domain_status_of_shares(stages) -> str:
    """The domain's status from its shares' stages (annex 2 §2): « usage notifié » when every share is notified,
    « versé » when every share is paid — the least advanced share sets it."""
    stages = list(stages) or ["waiting"]
    return DOMAIN_STATUS_OF_STAGE[min(stages, key=SHARE_STAGE_ORDER.index)]

"""What the dossier page shows of each GHT member's share of a selected domain (annex 2 §2: « le soutien financier
intervient à chaque atteinte des cibles d'usage par un établissement partie pour un domaine fonctionnel »): its
amount, its part of the seed, its usage funding, its stage, and the actions the user may take on it — disabled
with the reasons of the same gates the services ask (`gates.share_facts`: that member's facts only)."""

from dataclasses import dataclass, field, replace
from decimal import Decimal

from . import confirmations
from .gate_facts import domain_facts, gate_refusals
from .gates import share_facts
from .rules import usage_amount
from .states import STAGE_LABELS, allowed_share_actions

SHARE_ACTIONS = ("reach_targets", "notify_usage", "pay_usage")
SHARE_ACTION_LABELS = {
    "reach_targets": "Constater l'atteinte des cibles",
    "notify_usage": "Notifier le financement à l'usage",
    "pay_usage": "Enregistrer le versement à l'usage",
}


def share_modal_code(code: str, finess: str) -> str:
    """The modal of a member's share action: `confirmations.modal_id(action, share_modal_code(code, finess))`."""
    return f"{code}-{finess}"


@dataclass
class ShareAction:
    action: str
    label: str
    blocked: str = ""  # « reason (section) ; … » when the gate refuses
    modal_id: str = ""
    confirm: object = None  # hopen.confirmation.Confirmation: amount, member, consequence


@dataclass
class ShareLine:
    share: object  # DossierDomainShare (establishment loaded)
    stage_label: str
    actions: list = field(default_factory=list)  # [ShareAction]

    @property
    def usage_amount(self) -> Decimal:
        """Annex 2 §2: the share's usage funding — its amount minus its part of the seed."""
        if self.share.usage_amount is not None:
            return self.share.usage_amount
        return usage_amount(self.share.amount, self.share.seed_part)


def _action(action, dossier, domain, line) -> ShareAction:
    """The action with its confirmation (issue 12): the member's usage amount, the member, the consequence."""
    member = line.share.establishment
    party = (
        f"{member.name} (FINESS {member.finess}), établissement partie du GHT {dossier.ght.code} — versé à "
        f"{dossier.establishment.name} (établissement support, annexe 3 §2)"
    )
    base = confirmations.for_domain(action, dossier, party, domain, line.usage_amount)
    confirm = replace(base, amount=line.usage_amount, title=f"{base.title[:-2]} — {member.name} ?")
    code = share_modal_code(domain.domain_code, member.finess)
    return ShareAction(action, SHARE_ACTION_LABELS[action], modal_id=confirmations.modal_id(action, code), confirm=confirm)


def _allowed(abilities) -> dict:
    return {"reach_targets": abilities.file or abilities.manage, "notify_usage": abilities.manage,
            "pay_usage": abilities.manage}


def share_lines(abilities, dossier, members, domains, *, today) -> dict[int, list[ShareLine]]:
    """{domain id: [ShareLine]} of a GHT dossier's domains (the domains prefetched with their shares and vendors);
    empty for an establishment's own dossier (its single share moves with its domain). The gates are read only when
    an action is offered."""
    if not dossier.is_ght_dossier:
        return {}
    allowed = _allowed(abilities)
    lines, gated = {}, set()
    for domain in domains:
        rows = []
        for share in domain.shares.all():
            actions = [
                a for a in allowed_share_actions(share.stage, domain.status, dossier.status) if allowed.get(a)
            ]
            line = ShareLine(share=share, stage_label=STAGE_LABELS[share.stage].capitalize())
            line.actions = [_action(a, dossier, domain, line) for a in actions]
            rows.append(line)
            if actions:
                gated.add(domain.pk)
        lines[domain.pk] = rows
    if gated:
        facts = domain_facts(dossier, today=today, members=members, domains=[d for d in domains if d.pk in gated])
        for domain_id in gated:
            for line in lines[domain_id]:
                member = share_facts(facts[domain_id], line.share.establishment_id, line.share.seed_part)
                for action in line.actions:
                    refusals = gate_refusals(action.action, member)
                    action.blocked = " ; ".join(f"{r.message} ({r.section})" for r in refusals)
    return lines

"""What the confirmation modal of each dossier action restates (issue 12, `hopen.confirmation`): the amount in euros,
the establishment or GHT, and the consequence — in French, from the dossier's own values.

The actions whose amount is known before any typing (transmission, seed payment, targets reached, usage
notification and payment) get their confirmation with the page (`attach`), so that the button opens the modal in
place; the others (selection with its seed, refusal, closure, admission without AMI pre-selection) get it from the
values read and checked by the dry run of the POST (`for_input`).
"""

from decimal import Decimal

from hopen.confirmation import Confirmation
from hopen.formatting import french_euros

FIXED_ACTIONS = ("pay_seed", "reach_targets", "notify_usage", "pay_usage")
LEDGER_NOTE = "une écriture du grand livre ne se supprime pas (une erreur se corrige par une écriture opposée)."


def modal_id(action: str, code: str = "") -> str:
    """The modal of an action (of a domain when `code`): the id the templates build the same way."""
    return f"confirmer-{action}-{code}" if code else f"confirmer-{action}"


def party_of(dossier, members) -> str:
    """The establishment, or for a GHT dossier the support establishment and the candidate members (annex 3 §2)."""
    establishment = dossier.establishment
    if dossier.ght_id:
        names = ", ".join(m.name for m in members)
        return f"GHT {dossier.ght.code} — {establishment.name} (établissement support) pour {names}"
    return f"{establishment.name} (FINESS {establishment.finess})"


def _region(dossier) -> str:
    return dossier.region.name


def transmit(dossier, party, total) -> Confirmation:
    ars = dossier.region.ars_name or f"l'ARS {dossier.region.name}"
    return Confirmation(
        title=f"Transmettre le dossier {dossier.reference} à l'ARS ?",
        amount=total, amount_label="Soutien financier total demandé", party=party,
        consequence=f"Le dossier n'est plus modifiable ; {ars} dispose de quatre mois pour décider, faute de quoi "
        "il est considéré comme refusé (annexe 4 §1).",
        confirm_label="Confirmer la transmission",
    )


def for_domain(action: str, dossier, party, domain, usage) -> Confirmation:
    """The confirmation of a domain action whose amount is known in advance (`FIXED_ACTIONS`)."""
    code, region = domain.domain_code, _region(dossier)
    if action == "pay_seed":
        derogatory = (
            " Amorçage dérogatoire (§5.1) : remboursable si les prérequis ne sont pas atteints à l'échéance "
            "(annexe 2 §2)." if domain.seed_is_derogatory else ""
        )
        return Confirmation(
            title=f"Enregistrer le versement de l'amorçage du domaine {code} ?",
            amount=domain.seed_amount, amount_label="Amorçage versé", party=party,
            consequence=f"Le versement est inscrit au grand livre de l'enveloppe {region} ; {LEDGER_NOTE}{derogatory}",
            confirm_label="Confirmer le versement",
        )
    if action == "reach_targets":
        return Confirmation(
            title=f"Constater l'atteinte des cibles d'usage du domaine {code} ?",
            amount=usage, amount_label="Financement à l'usage attendu", party=party,
            consequence="L'atteinte des cibles est enregistrée et ne s'annule pas ; l'ARS est notifiée et peut "
            "notifier le financement à l'usage (annexe 2 §2).",
        )
    if action == "notify_usage":
        return Confirmation(
            title=f"Notifier le financement à l'usage du domaine {code} ?",
            amount=usage, amount_label="Financement à l'usage notifié", party=party,
            consequence=f"Le montant est engagé sur l'enveloppe {region} et le courrier de notification est adressé "
            "à l'établissement (annexe 2 §2) ; la notification ne s'annule pas.",
            confirm_label="Confirmer la notification",
        )
    if action == "pay_usage":
        return Confirmation(
            title=f"Enregistrer le versement du financement à l'usage du domaine {code} ?",
            amount=domain.usage_amount if domain.usage_amount is not None else usage,
            amount_label="Financement à l'usage versé", party=party,
            consequence=f"Le versement est inscrit au grand livre de l'enveloppe {region} et solde le domaine ; "
            f"{LEDGER_NOTE}",
            confirm_label="Confirmer le versement",
        )
    raise ValueError(action)


def attach(page, party) -> None:
    """The confirmations of the page's fixed-amount actions: `page.confirm_transmit`, `line.confirm[action]`."""
    page.confirm_transmit = transmit(page.dossier, party, page.total) if "transmit" in page.actions else None
    for line in page.lines:
        line.confirm = {
            action: for_domain(action, page.dossier, party, line.domain, line.usage_amount)
            for action in FIXED_ACTIONS
            if action in line.actions
        }


def for_input(action: str, dossier, party, *, domain=None, seed: Decimal | None = None, reason="", kind="") -> Confirmation:
    """The confirmation of an action whose values were typed (read and checked by the dry run)."""
    region = _region(dossier)
    if action == "select":
        code = domain.domain_code
        engaged = (
            f"l'amorçage est engagé sur l'enveloppe {region} (annexe 2 §2)" if seed else "sans amorçage"
        )
        return Confirmation(
            title=f"Sélectionner le domaine {code} ?",
            amount=seed, amount_label="Amorçage engagé", party=party,
            detail=f"Soutien financier total du domaine : {french_euros(domain.total_amount)}."
            + (f" Commentaire : {reason}" if reason else ""),
            consequence=f"Le domaine est sélectionné, {engaged} ; la décision est notifiée à l'établissement avec ses "
            "courriers et ne s'annule pas (annexe 4 §1).",
            confirm_label="Confirmer la sélection",
        )
    if action == "refuse":
        return Confirmation(
            title=f"Refuser le domaine {domain.domain_code} ?",
            amount=domain.total_amount, amount_label="Soutien financier demandé, non retenu", party=party,
            detail=f"{kind} — motif : {reason}",
            consequence="Le refus et son motif sont notifiés à l'établissement ; une nouvelle candidature sur ce "
            "domaine n'est possible qu'après le délai de l'annexe 4 §1.",
            confirm_label="Confirmer le refus",
        )
    if action == "close":
        return Confirmation(
            title=f"Clôturer le dossier {dossier.reference} ?",
            amount=sum((d.total_amount for d in dossier.domains.all()), Decimal("0.00")),
            amount_label="Soutien financier du dossier", party=party, detail=f"{kind} — motif : {reason}",
            consequence=f"La clôture est définitive : les engagements non versés reviennent à l'enveloppe {region} ; "
            "après un contrôle non conforme, l'amorçage et l'usage versés sont à rembourser (annexe 4).",
            confirm_label="Confirmer la clôture",
        )
    if action == "admit_without_ami":
        return Confirmation(
            title=f"Admettre le domaine {domain.domain_code} sans présélection AMI ?",
            amount=domain.total_amount, amount_label="Soutien financier demandé sur le domaine", party=party,
            detail=f"Motif : {reason}",
            consequence="Candidature tardive admise par l'ARS (instruction §5.3.2) : le dossier pourra être transmis "
            "avec ce domaine ; l'admission est tracée et l'établissement notifié. Elle ne s'annule pas.",
            confirm_label="Confirmer l'admission",
        )
    raise ValueError(action)

"""The ARS's decisions per domain (annex 4 §1, annex 2 §2): selection with its seed funding (derogatory §5.1) or
refusal with its reason; the dossier is concluded when no domain is pending any more."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from funding import calendar
from hopen.audit import audit_record, diff
from hopen.exceptions import ApplicationError
from hopen.formatting import french_euros

from .. import gates
from ..gate_facts import facts_of
from ..models import DomainStatus, DossierDomain, DossierStatus, RefusalKind
from ..rules import recandidacy_allowed_from, seed_amount_errors, to_amount
from ..states import dossier_status_after_decisions, require_dossier_transition, require_domain_transition
from .common import (
    _ars_officers,
    _date,
    _domain_state,
    _dossier_state,
    _envelopes,
    establishment_side,
    _lock_domain,
    _notify,
    _now,
    _require_region_money,
)
from .shares import assign_seed_parts


# --- Decisions per domain (annex 4 §1, annex 2 §2) -------------------------------------------------------------------


def _conclude_if_decided(dossier, by, now):
    """Annex 4 §1: when no domain is pending any more, the dossier is in progress (one domain selected at least:
    « l'ARS peut décider de sélectionner seulement une partie des domaines ») or refused; the selection letter,
    the funding agreement and a seed decision per domain with seed funding are requested."""
    domains = list(dossier.domains.all())
    target = dossier_status_after_decisions(d.status for d in domains)
    if target is None:
        return None
    require_dossier_transition(dossier.status, "decide")
    before = _dossier_state(dossier)
    dossier.status, dossier.decided_at, dossier.updated_at = target, now, now
    dossier.save()
    audit_record(actor=by, action="dossier.decide", target=dossier, changes=diff(before, _dossier_state(dossier)))
    from funding.letters.services import decision_letter_requests, request_letters

    request_letters(decision_letter_requests(dossier, domains))
    selected = [d.domain_code for d in domains if d.status == DomainStatus.SELECTED]
    refused = [d.domain_code for d in domains if d.status == DomainStatus.REFUSED]
    if target == DossierStatus.IN_PROGRESS:
        text = f"Décision de l'ARS sur le dossier {dossier.reference} : domaine(s) sélectionné(s) {', '.join(selected)}"
        text += f" ; refusé(s) {', '.join(refused)}." if refused else "."
    else:
        text = f"Décision de l'ARS sur le dossier {dossier.reference} : dossier refusé ({', '.join(refused)})."
    _notify([*establishment_side(dossier), *_ars_officers(dossier.region_id)], text, dossier, exclude=by)
    return target


@transaction.atomic
def domain_select(*, domain, seed_amount, by, reason="", now=None) -> DossierDomain:
    """Annex 4 §1 and annex 2 §2: the region's ARS selects a domain of a dossier « en instruction » and sets its seed
    funding (any amount from 0 to the domain's total, deducted from it), committed on the regional envelope —
    derogatory when the candidates have not reached the HOP'EN prerequisites (§5.1; the limits are checked under the
    envelope lock). The gate `seed_commitment_gate` (eligibility re-evaluated, §5.3.1) refuses with its reasons."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "La sélection revient à l'ARS de la région du dossier.")
    target = require_domain_transition(domain.status, dossier.status, "select")
    errors = seed_amount_errors(seed_amount, domain.total_amount)
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"seed_amount": errors}})
    seed = to_amount(seed_amount)
    facts = facts_of(domain, today=timezone.localdate(now))
    gates.require(gates.seed_commitment_gate(facts, seed), "Sélection du domaine")
    derogatory = gates.seed_is_derogatory(facts) if seed > 0 else False
    before = _domain_state(domain)
    domain.status, domain.seed_amount, domain.seed_is_derogatory = target, seed, derogatory
    domain.decision_reason, domain.refusal_kind = (reason or "").strip(), ""
    domain.decided_by, domain.decided_at = by, now
    domain.save()
    assign_seed_parts(domain)  # annex 2 §2: each member's part of the seed, refunded by it if it misses the prerequisites
    if seed > 0:
        _envelopes().seed_commit(
            dossier_domain=domain, amount=seed, is_derogatory=derogatory, by=by, on=timezone.localdate(now)
        )
    audit_record(actor=by, action="dossier_domain.select", target=domain, changes=diff(before, _domain_state(domain)))
    if _conclude_if_decided(dossier, by, now) is None:
        text = f"Domaine {domain.domain_code} du dossier {dossier.reference} sélectionné par l'ARS"
        text += f" (amorçage {french_euros(seed)}{', dérogatoire' if derogatory else ''})." if seed > 0 else "."
        _notify(establishment_side(dossier), text, dossier)
    return domain


@transaction.atomic
def domain_refuse(*, domain, reason, refusal_kind, by, now=None) -> DossierDomain:
    """Annex 4 §1: « L'ARS doit indiquer à l'établissement / GHT les raisons de son refus » — the reason is
    mandatory, and its kind (financial, or feasibility / other) sets when the establishment may apply again."""
    now = _now(now)
    dossier, domain = _lock_domain(domain)
    _require_region_money(by, dossier, "Le refus revient à l'ARS de la région du dossier.")
    target = require_domain_transition(domain.status, dossier.status, "refuse")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Le motif du refus est obligatoire : il est communiqué à l'établissement (annexe 4 §1).",
            extra={"errors": {"reason": ["Le motif du refus est obligatoire."]}},
        )
    if refusal_kind not in RefusalKind.values:
        raise ApplicationError(
            "Précisez la nature du refus : motif financier, ou faisabilité et autre motif (annexe 4 §1).",
            extra={"errors": {"refusal_kind": ["Choisissez la nature du refus."]}},
        )
    before = _domain_state(domain)
    domain.status, domain.decision_reason, domain.refusal_kind = target, reason, refusal_kind
    domain.seed_amount, domain.seed_is_derogatory = Decimal("0.00"), False
    domain.decided_by, domain.decided_at = by, now
    domain.save()
    audit_record(actor=by, action="dossier_domain.refuse", target=domain, changes=diff(before, _domain_state(domain)))
    if _conclude_if_decided(dossier, by, now) is None:
        text = f"Domaine {domain.domain_code} du dossier {dossier.reference} refusé par l'ARS : {reason}"
        delay = calendar.programme_delays(dossier.programme).get(calendar.RECANDIDACY)
        if delay is not None:
            allowed = recandidacy_allowed_from(timezone.localdate(now), refusal_kind, delay)
            text += f" Nouvelle candidature possible à partir du {_date(allowed)} (annexe 4 §1)."
        _notify(establishment_side(dossier), text, dossier)
    return domain

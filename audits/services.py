"""Writes of the DGOS audits (instruction §5.2.1; annex 4 « Des contrôles seront réalisés de façon aléatoire … dans le
respect de la mise en œuvre d'une procédure contradictoire, l'établissement / GHT voit son dossier clôturé. Il
remboursera les montants perçus au titre de l'amorçage et de l'usage … L'enveloppe régionale sera déduite des
montants perçus »).

Every service checks the permission first (`hopen.permissions`), then its input (a French `ApplicationError`,
nothing written), writes, and records the audit trail in the same transaction; letters and e-mails leave after the
commit. The steps of one audit:

1. `campaign_create` draws the dossiers (`audits.sampling`) and generates each audit's checklist (`checklist`);
2. `findings_record` — the auditor marks lines conform / non-conform / document missing, with a comment;
3. `findings_send` — the draft findings go to the establishment (and the GHT support) with the response deadline
   (programme delay `audit-response`, data) and their letter;
4. `response_record` — the establishment answers (text, documents) until the audit is concluded; after the
   deadline the answer is flagged late;
5. `decision_record` — once answered or past the deadline (the sweep, `audits.deadlines`, reminds then tells the
   auditor): conform (no effect) or non-conform — the dossier is closed « contrôle non conforme » through
   `funding.dossiers.services.dossier_close`, which releases the commitments and claims back each amount paid
   (seed and usage, once per domain and pot: ledger idempotency keys), and the final decision letter.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from funding.calendar import programme_delay
from funding.dossiers import services as dossier_services
from funding.dossiers.models import ClosureKind, Dossier
from funding.dossiers.services.common import establishment_side
from hopen import permissions
from hopen.audit import audit_record, audit_record_many, diff
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Role, User
from hopen.notifications import notify
from indicators.evidence import evidence_check_file, refuse_duplicate, store_uploaded_document

from . import sampling
from .checklist import checklist_lines
from .letters import request_audit_letter
from .models import (
    FAILING_FINDINGS,
    Audit,
    AuditCampaign,
    AuditDecision,
    AuditLetterKind,
    AuditLine,
    AuditResponseDocument,
    AuditStatus,
    Finding,
    StratumDimension,
)
from .selectors import PopulationFilters, audited_since, population_units, stratum_label

RESPONSE_DELAY = "audit-response"
RESPONSE_REMINDER = "audit-response-reminder"
CREATE_REFUSED = "Seule la DGOS crée les campagnes de contrôle."
CONDUCT_REFUSED = "Seul un auditeur de la DGOS conduit les contrôles."
RESPOND_REFUSED = "Seul l'établissement contrôlé (ou l'établissement support de son GHT) répond aux constats."
MAX_SEED = 2**63 - 1


def _link(audit) -> str:
    return reverse("audits:audit", args=[audit.pk])


def _auditors():
    return User.objects.filter(is_active=True, role_assignments__role=Role.DGOS_AUDITOR).distinct()


# --- 1. Campaign and draw ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInput:
    name: str
    seed: int
    sample_size: int | None = None
    sample_rate: Decimal | None = None
    filters: PopulationFilters = PopulationFilters()
    strata: tuple = ()
    exclude_recently_audited: bool = False


def _check_input(data: CampaignInput) -> None:
    errors = {}
    if not data.name.strip():
        errors["name"] = ["Nommez la campagne."]
    if (data.sample_size is None) == (data.sample_rate is None):
        errors["sample_size"] = ["Indiquez soit une taille d'échantillon, soit un taux (en %)."]
    elif data.sample_size is not None and data.sample_size < 1:
        errors["sample_size"] = ["La taille de l'échantillon doit être d'au moins un dossier."]
    elif data.sample_rate is not None and not (0 < data.sample_rate <= 100):
        errors["sample_rate"] = ["Le taux doit être compris entre 0 (exclu) et 100 %."]
    if not 0 <= data.seed <= MAX_SEED:
        errors["seed"] = ["La graine est un entier positif."]
    unknown = [d for d in data.strata if d not in StratumDimension.values]
    if unknown or len(set(data.strata)) != len(data.strata):
        errors["strata"] = ["Les strates possibles sont « region » et « sector », chacune une fois."]
    if errors:
        raise ApplicationError("La campagne n'est pas valide : " + " ".join(m for ms in errors.values() for m in ms),
                               extra={"errors": errors})


@transaction.atomic
def campaign_create(*, programme, data: CampaignInput, by, now=None) -> AuditCampaign:
    """§5.2.1: draw a random sample of the programme's funded dossiers; the draw is reproducible
    (`audits.sampling`: same population, size, strata and seed → same sample) and stored with its explanation
    (population count and fingerprint, each stratum's count and draw). A sample larger than the population or an
    empty population is refused (nothing written)."""
    if not permissions.can_create_audit_campaign(by):
        raise PermissionRefused(CREATE_REFUSED)
    now = now or timezone.now()
    _check_input(data)
    strata = tuple(data.strata)
    units = population_units(
        programme=programme, filters=data.filters, strata=strata,
        exclude_audited_since=audited_since(now) if data.exclude_recently_audited else None,
    )
    if not units:
        raise ApplicationError("La population est vide : aucun dossier ne répond aux critères de la campagne.")
    size = data.sample_size if data.sample_size is not None else sampling.size_from_rate(len(units), data.sample_rate)
    draw = sampling.draw(units, size, data.seed)
    campaign = AuditCampaign.objects.create(
        programme=programme, name=data.name.strip(), filters=data.filters.as_json(), strata=list(strata),
        exclude_recently_audited=data.exclude_recently_audited,
        recent_months=settings.AUDITS_RECENT_MONTHS if data.exclude_recently_audited else None,
        sample_rate=data.sample_rate, sample_size=size, seed=data.seed, population_count=draw.population_count,
        population_fingerprint=draw.fingerprint, created_by=by, created_at=now,
        strata_table=[
            {"key": list(s.key), "label": stratum_label(s.key, strata), "population": s.population, "drawn": s.drawn}
            for s in draw.strata
        ],
    )
    dossiers = dict(Dossier.objects.filter(reference__in=draw.sample).values_list("reference", "pk"))
    stratum_of = {ref: stratum_label(s.key, strata) for s in draw.strata for ref in s.references}
    audits = Audit.objects.bulk_create(
        Audit(campaign=campaign, dossier_id=dossiers[ref], stratum=stratum_of[ref][:120], created_at=now)
        for ref in draw.sample
    )
    for audit in audits:
        audit.campaign = campaign
    lines = AuditLine.objects.bulk_create(checklist_lines(audits))
    audit_record(
        actor=by, action="audit_campaign.create", target=campaign,
        changes={
            "programme": [None, programme.code], "name": [None, campaign.name], "seed": [None, campaign.seed],
            "sample_size": [None, size], "population_count": [None, draw.population_count],
            "population_fingerprint": [None, draw.fingerprint], "filters": [None, campaign.filters],
            "strata": [None, campaign.strata], "sample": [None, list(draw.sample)],
        },
    )
    per_audit = {}
    for line in lines:
        per_audit[line.audit_id] = per_audit.get(line.audit_id, 0) + 1
    audit_record_many(
        actor=by, action="audit.draw",
        entries=[(a, {"dossier": [None, a.dossier_id], "lines": [None, per_audit.get(a.pk, 0)]}) for a in audits],
    )
    return campaign


# --- 2. Findings --------------------------------------------------------------------------------------------------------


def _lock_audit(audit) -> Audit:
    return (
        Audit.objects.select_for_update(of=("self",))
        .select_related("campaign__programme", "dossier__establishment", "dossier__ght", "dossier__region")
        .get(pk=audit.pk)
    )


@dataclass(frozen=True)
class FindingInput:
    line_id: int
    finding: str
    comment: str = ""


@transaction.atomic
def findings_record(*, audit, findings: list[FindingInput], by, now=None) -> Audit:
    """The auditor marks checklist lines (each: conform, non-conform or document missing, with a comment — a comment
    is required for a failing line). Open until the audit is concluded (the establishment's answer may change them)."""
    if not permissions.can_conduct_audit(by):
        raise PermissionRefused(CONDUCT_REFUSED)
    now = now or timezone.now()
    audit = _lock_audit(audit)
    if audit.status == AuditStatus.CONCLUDED:
        raise ApplicationError("Le contrôle est conclu : ses constats ne peuvent plus être modifiés.")
    if not findings:
        raise ApplicationError("Aucun constat n'est indiqué.")
    lines = {line.pk: line for line in audit.lines.select_for_update().filter(pk__in=[f.line_id for f in findings])}
    errors = []
    for item in findings:
        if item.line_id not in lines:
            errors.append(f"La ligne {item.line_id} n'appartient pas à ce contrôle.")
        elif item.finding not in (Finding.CONFORM, Finding.NON_CONFORM, Finding.DOCUMENT_MISSING):
            errors.append(f"Constat inconnu pour la ligne {item.line_id} : conforme, non conforme ou pièce manquante.")
        elif item.finding in FAILING_FINDINGS and not item.comment.strip():
            errors.append(f"Expliquez le constat de la ligne {lines[item.line_id].indicator.code} (commentaire obligatoire).")
    if errors:
        raise ApplicationError(" ".join(errors), extra={"errors": {"lines": errors}})
    entries = []
    for item in findings:
        line = lines[item.line_id]
        before = {"finding": line.finding, "comment": line.comment}
        line.finding, line.comment, line.checked_at, line.checked_by = item.finding, item.comment.strip(), now, by
        line.save(update_fields=["finding", "comment", "checked_at", "checked_by"])
        entries.append((line, diff(before, {"finding": line.finding, "comment": line.comment})))
    audit_record_many(actor=by, action="audit_line.check", entries=entries)
    if audit.status == AuditStatus.DRAWN:
        audit.status = AuditStatus.UNDER_REVIEW
        audit.save(update_fields=["status"])
        audit_record(actor=by, action="audit.start", target=audit, changes={"status": [AuditStatus.DRAWN, audit.status]})
    return audit


@transaction.atomic
def findings_send(*, audit, by, now=None) -> Audit:
    """The contradictory procedure opens: the draft findings (every line checked) go to the establishment — and to
    the GHT support for a GHT dossier — with the response deadline (programme delay `audit-response`)."""
    if not permissions.can_conduct_audit(by):
        raise PermissionRefused(CONDUCT_REFUSED)
    now = now or timezone.now()
    audit = _lock_audit(audit)
    if audit.status != AuditStatus.UNDER_REVIEW:
        raise ApplicationError(
            f"Les constats provisoires s'envoient une fois les lignes vérifiées (contrôle « {audit.get_status_display()} »)."
        )
    pending = audit.lines.filter(finding=Finding.PENDING).count()
    if pending:
        raise ApplicationError(f"{pending} ligne(s) restent à vérifier avant l'envoi des constats provisoires.")
    delay = programme_delay(RESPONSE_DELAY, audit.campaign.programme)
    before = {"status": audit.status, "findings_sent_at": None, "response_due_on": None}
    audit.status, audit.findings_sent_at, audit.findings_sent_by = AuditStatus.AWAITING_RESPONSE, now, by
    audit.response_due_on = delay.after(timezone.localdate(now))
    audit.save(update_fields=["status", "findings_sent_at", "findings_sent_by", "response_due_on"])
    audit_record(
        actor=by, action="audit.send_findings", target=audit,
        changes=diff(before, {"status": audit.status, "findings_sent_at": now, "response_due_on": audit.response_due_on}),
    )
    request_audit_letter(audit=audit, kind=AuditLetterKind.DRAFT_FINDINGS)
    dossier = audit.dossier
    notify(
        recipients=establishment_side(dossier),
        message=f"Contrôle du dossier {dossier.reference} : constats provisoires transmis. Vous pouvez y répondre "
        f"jusqu'au {audit.response_due_on:%d/%m/%Y} (procédure contradictoire).",
        link=_link(audit), subject=f"HOP'EN — contrôle du dossier {dossier.reference}",
    )
    return audit


# --- 3. The establishment's answer --------------------------------------------------------------------------------------


@transaction.atomic
def response_record(*, audit, text, by, documents=(), now=None) -> Audit:
    """The establishment answers the draft findings (text and documents). Accepted until the decision; after the
    deadline it is flagged late."""
    audit = _lock_audit(audit)
    if not permissions.can_respond_to_audit(by, audit):
        raise PermissionRefused(RESPOND_REFUSED)
    now = now or timezone.now()
    if audit.status == AuditStatus.CONCLUDED:
        raise ApplicationError("Le contrôle est conclu : la réponse n'est plus possible.")
    if audit.status != AuditStatus.AWAITING_RESPONSE:
        raise ApplicationError("Aucun constat provisoire n'attend de réponse sur ce contrôle.")
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Rédigez votre réponse aux constats.", extra={"errors": {"text": ["La réponse est obligatoire."]}})
    checked = [(uploaded, evidence_check_file(uploaded)) for uploaded in documents]
    before = {"response_text": audit.response_text, "responded_at": audit.responded_at, "response_late": audit.response_late}
    audit.response_text, audit.responded_at, audit.responded_by = text, now, by
    audit.response_late = timezone.localdate(now) > audit.response_due_on
    audit.save(update_fields=["response_text", "responded_at", "responded_by", "response_late"])
    audit_record(
        actor=by, action="audit.respond", target=audit,
        changes=diff(before, {"response_text": text, "responded_at": now, "response_late": audit.response_late}),
    )
    for uploaded, file_check in checked:
        refuse_duplicate(audit.response_documents.all(), file_check, " pour ce contrôle")
        store_uploaded_document(
            AuditResponseDocument(audit=audit), uploaded_file=uploaded, checked=file_check, by=by,
            action="audit.response_document", owner=("audit", audit.pk),
            scan_task="audits.tasks.scan_response_document", scan_argument="document_id",
        )
    late = " (hors délai)" if audit.response_late else ""
    notify(
        recipients=[audit.findings_sent_by] if audit.findings_sent_by else list(_auditors()),
        message=f"Contrôle du dossier {audit.dossier.reference} : réponse de l'établissement reçue{late}.",
        link=_link(audit), subject=f"HOP'EN — contrôle du dossier {audit.dossier.reference}",
    )
    return audit


# --- 4. The decision ---------------------------------------------------------------------------------------------------


@transaction.atomic
def decision_record(*, audit, decision, reason, by, now=None) -> Audit:
    """Conclude the audit. Needs the draft findings sent and either the answer or the deadline passed (the
    contradictory procedure). Non-conform (at least one failing line): the dossier is closed « contrôle non
    conforme » through the closure service, which claims back every amount paid (seed and usage) on the ledger
    — the regional envelope is reduced by what is received (annex 4) — and the final decision letter follows.

    Two concurrent decisions: the audit row is locked first, so the second sees the audit concluded and is refused;
    the ledger's idempotency keys would anyway make each claim once."""
    if not permissions.can_conduct_audit(by):
        raise PermissionRefused(CONDUCT_REFUSED)
    now = now or timezone.now()
    audit = _lock_audit(audit)
    if audit.status == AuditStatus.CONCLUDED:
        raise ApplicationError("Le contrôle est déjà conclu.")
    if decision not in AuditDecision.values:
        raise ApplicationError("La décision est « conforme » ou « non conforme ».",
                               extra={"errors": {"decision": ["Choisissez la décision."]}})
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Motivez la décision : le motif est communiqué à l'établissement.",
                               extra={"errors": {"reason": ["Le motif est obligatoire."]}})
    checked = audit.lines.exclude(finding=Finding.PENDING)
    if not checked.exists():
        raise ApplicationError("Aucun constat n'est enregistré : vérifiez les lignes du contrôle avant de conclure.")
    if audit.status != AuditStatus.AWAITING_RESPONSE:
        raise ApplicationError("Envoyez d'abord les constats provisoires à l'établissement (procédure contradictoire).")
    today = timezone.localdate(now)
    if audit.responded_at is None and today <= audit.response_due_on:
        raise ApplicationError(
            f"L'établissement peut répondre jusqu'au {audit.response_due_on:%d/%m/%Y} : la décision attend sa réponse "
            "ou la fin du délai (procédure contradictoire)."
        )
    if decision == AuditDecision.NON_CONFORM and not checked.filter(finding__in=FAILING_FINDINGS).exists():
        raise ApplicationError("Une décision non conforme s'appuie sur au moins un constat non conforme ou une pièce manquante.")
    before = {"status": audit.status, "decision": "", "decision_reason": "", "decided_at": None}
    audit.status, audit.decision, audit.decision_reason = AuditStatus.CONCLUDED, decision, reason
    audit.decided_at, audit.decided_by = now, by
    audit.save(update_fields=["status", "decision", "decision_reason", "decided_at", "decided_by"])
    audit_record(
        actor=by, action="audit.decide", target=audit,
        changes=diff(before, {"status": audit.status, "decision": decision, "decision_reason": reason, "decided_at": now}),
    )
    if decision == AuditDecision.NON_CONFORM:
        dossier_services.dossier_close(
            dossier=audit.dossier, kind=ClosureKind.AUDIT_FAILURE,
            reason=f"Contrôle DGOS non conforme (campagne « {audit.campaign.name} ») : {reason}", by=by, now=now,
        )
    request_audit_letter(audit=audit, kind=AuditLetterKind.FINAL_DECISION)
    dossier = audit.dossier
    notify(
        recipients=establishment_side(dossier),
        message=f"Contrôle du dossier {dossier.reference} conclu : {audit.get_decision_display().lower()}.",
        link=_link(audit), subject=f"HOP'EN — contrôle du dossier {dossier.reference}",
    )
    return audit

"""The letters an ARS sends about a dossier, as PDF (WeasyPrint), generated once per decision and attached to it.

- `request_letter` is called by the decision services, inside their transaction: it records the letter
  (idempotent on (kind, event_key), a database constraint, even under concurrent calls) and enqueues its
  generation after the commit (the task `funding.tasks.generate_letter`, by its name: `hopen.tasking`).
- `generate_letter` (the task's body) renders the PDF (`funding.letters.documents`), stores it under a random key
  and records its size and SHA-256; a letter already generated is left as it is.
"""

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from funding.dossiers.models import DomainStatus, Dossier, DossierDomain, DossierStatus
from hopen import permissions
from hopen.audit import audit_record
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.tasking import Task, enqueue_many_on_commit

from .documents import decision_date, render_letter_pdf
from .models import DossierLetter, LetterKind

logger = logging.getLogger(__name__)

GENERATE_LETTER_TASK = "funding.tasks.generate_letter"
# Reference of a letter: f"{dossier.reference}-{code}-{n:02d}".
LETTER_CODES = {
    LetterKind.SELECTION: "SEL",
    LetterKind.SEED_DECISION: "AMO",
    LetterKind.USAGE_NOTIFICATION: "USA",
    LetterKind.REFUND_CLAIM: "REM",
    LetterKind.FUNDING_AGREEMENT: "CNV",
}
_REFERENCE_ATTEMPTS = 5


# --- Request and generation ------------------------------------------------------------------------------------------


def letter_reference(dossier, kind, number: int) -> str:
    return f"{dossier.reference}-{LETTER_CODES[kind]}-{number:02d}"


def request_letter(*, dossier, kind, event_key, domain=None) -> DossierLetter:
    """The letter documenting the decision `event_key` (created once) — its PDF is generated after the commit.

    Call it inside the deciding service's transaction: if that transaction rolls back, neither the letter nor
    its generation remain. Idempotent on (kind, event_key) (unique constraint): a second call, even a concurrent
    one, returns the first letter. The reference numbers a dossier's letters of one kind: REF-SEL-01, REF-AMO-02…
    """
    kind = LetterKind(kind)
    existing = DossierLetter.objects.filter(kind=kind, event_key=event_key).first()
    if existing is not None:
        return existing
    for attempt in range(_REFERENCE_ATTEMPTS):
        number = DossierLetter.objects.filter(dossier=dossier, kind=kind).count() + 1 + attempt
        try:
            with transaction.atomic():  # a savepoint: a clash leaves the caller's transaction usable
                letter = DossierLetter.objects.create(
                    dossier=dossier, domain=domain, kind=kind, event_key=event_key,
                    reference=letter_reference(dossier, kind, number),
                )
        except IntegrityError:
            # Either the same event was recorded meanwhile (return it) or another letter of this dossier took
            # the reference number (try the next one).
            existing = DossierLetter.objects.filter(kind=kind, event_key=event_key).first()
            if existing is not None:
                return existing
            continue
        _enqueue_generation(letter.pk)
        return letter
    raise RuntimeError(f"Impossible d'attribuer une référence au courrier {kind} du dossier {dossier.reference}.")


@dataclass(frozen=True)
class LetterRequest:
    dossier: Dossier
    kind: str
    event_key: str
    domain: DossierDomain | None = None


def decision_letter_requests(dossier, domains) -> list[LetterRequest]:
    """The letters of an ARS decision on a dossier (annex 4 §1–§2), whoever takes it — the ARS, or the silence of
    four months: the selection letter (selected and refused domains, reasons); when the dossier goes « en cours »,
    the funding agreement and a seed decision per selected domain with seed funding (annex 2 §2)."""
    requests = [LetterRequest(dossier, LetterKind.SELECTION, f"selection:{dossier.pk}")]
    if dossier.status == DossierStatus.IN_PROGRESS:
        requests.append(LetterRequest(dossier, LetterKind.FUNDING_AGREEMENT, f"agreement:{dossier.pk}"))
        requests += [
            LetterRequest(dossier, LetterKind.SEED_DECISION, f"seed:{domain.pk}", domain)
            for domain in domains
            if domain.status == DomainStatus.SELECTED and domain.seed_amount > 0
        ]
    return requests


def request_letters(requests: list[LetterRequest]) -> int:
    """`request_letter` for many letters at once (the deadline sweep) (a constant number of queries): one count of
    the dossiers' letters for the reference numbers, one ``INSERT … ON CONFLICT DO NOTHING RETURNING``, the
    generation of each new letter enqueued after the commit. A letter whose (kind, event_key) is already
    recorded is left as it is; one whose reference number was taken meanwhile by a concurrent letter of the same
    dossier goes through `request_letter`, which retries. Returns the number of letters created."""
    if not requests:
        return 0
    requests = list({(r.kind, r.event_key): r for r in requests}.values())
    counts = defaultdict(int)
    rows = (
        DossierLetter.objects.filter(
            dossier_id__in={r.dossier.pk for r in requests}, kind__in={r.kind for r in requests}
        )
        .values_list("dossier_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for dossier_id, kind, n in rows:
        counts[(dossier_id, kind)] = n
    references = []
    for request in requests:
        counts[(request.dossier.pk, request.kind)] += 1
        number = counts[(request.dossier.pk, request.kind)]
        references.append(letter_reference(request.dossier, LetterKind(request.kind), number))
    now = timezone.now()
    table = DossierLetter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (dossier_id, domain_id, kind, event_key, reference, file, size, sha256, requested_at)
            SELECT t.dossier_id, t.domain_id, t.kind, t.event_key, t.reference, '', 0, '', %s
            FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[])
                AS t(dossier_id, domain_id, kind, event_key, reference)
            ORDER BY t.kind, t.event_key
            ON CONFLICT DO NOTHING
            RETURNING id, kind, event_key
            """,
            [
                now, [r.dossier.pk for r in requests], [r.domain.pk if r.domain else None for r in requests],
                [r.kind for r in requests], [r.event_key for r in requests], references,
            ],
        )
        inserted = {(kind, key): pk for pk, kind, key in cursor.fetchall()}
    enqueue_many_on_commit([_generation(pk) for pk in inserted.values()])
    left = [r for r in requests if (r.kind, r.event_key) not in inserted]
    if left:
        recorded = set(
            DossierLetter.objects.filter(event_key__in={r.event_key for r in left}).values_list("kind", "event_key")
        )
        for request in left:
            if (request.kind, request.event_key) not in recorded:  # a reference number clash: rare
                request_letter(dossier=request.dossier, kind=request.kind, event_key=request.event_key,
                               domain=request.domain)
    return len(inserted)


def _enqueue_generation(letter_id: int) -> None:
    """The PDF of the letter is generated by the worker once the current transaction commits (one outbox message
    per letter: its key)."""
    enqueue_many_on_commit([_generation(letter_id)])


def _generation(letter_id: int) -> Task:
    return Task(GENERATE_LETTER_TASK, {"letter_id": letter_id}, key=f"letter:{letter_id}")


def generate_letter(letter_id: int) -> DossierLetter | None:
    """Render and store the PDF of a letter (the Celery task's body). A letter already generated is returned
    unchanged; an unknown id (rolled back meanwhile) answers None."""
    with transaction.atomic():
        letter = (
            DossierLetter.objects.select_for_update(of=("self",))
            .select_related("dossier", "domain")
            .filter(pk=letter_id)
            .first()
        )
        if letter is None:
            logger.warning("Courrier %s introuvable : rien à générer.", letter_id)
            return None
        if letter.generated_at is not None:
            return letter
        if letter.dated_on is None:
            letter.dated_on = decision_date(letter)  # fixed now: a reissue keeps it
        previous = {"file": letter.file.name or None, "sha256": letter.sha256 or None, "size": letter.size or None}
        pdf = render_letter_pdf(letter)
        letter.file.save(f"{letter.reference}.pdf", ContentFile(pdf), save=False)
        try:
            letter.size = len(pdf)
            letter.sha256 = hashlib.sha256(pdf).hexdigest()
            letter.generated_at = timezone.now()
            letter.save(update_fields=["file", "size", "sha256", "generated_at", "dated_on"])
            audit_record(
                actor=None, action="dossier_letter.generate", target=letter,
                changes={"sha256": [previous["sha256"], letter.sha256], "size": [previous["size"], letter.size]},
            )
        except Exception:
            letter.file.storage.delete(letter.file.name)
            raise
        if previous["file"]:  # a reissue replaces the earlier file once the new one is recorded
            storage = letter.file.storage
            transaction.on_commit(lambda: storage.delete(previous["file"]))
    logger.info("Courrier %s généré (%s octets).", letter.reference, letter.size)
    return letter


@transaction.atomic
def reissue_letter(*, letter, by, now=None) -> DossierLetter:
    """Generate a letter again — after its ARS's postal address was entered, or a lost file — keeping its date: the
    day of the decision it carries (`dated_on`); the new PDF says « Réédité le … ». The letter stays « en cours de
    génération » until the worker has rendered it (after the commit, like a first generation)."""
    if not permissions.can_reissue_letter(by, letter.dossier):
        raise PermissionRefused("Seule l'ARS de la région ou un administrateur de la plateforme peut rééditer un courrier.")
    now = now or timezone.now()
    letter = DossierLetter.objects.select_for_update().get(pk=letter.pk)
    if letter.generated_at is None:
        raise ApplicationError(f"Le courrier {letter.reference} est en cours de génération : il ne peut être réédité.")
    before = {"reissued_at": letter.reissued_at, "dated_on": letter.dated_on}
    if letter.dated_on is None:  # generated before letters kept their date
        letter.dated_on = decision_date(letter)
    letter.reissued_at, letter.generated_at = now, None
    letter.save(update_fields=["reissued_at", "generated_at", "dated_on"])
    audit_record(
        actor=by, action="dossier_letter.reissue", target=letter,
        changes={
            key: [before[key], getattr(letter, key)] for key in ("reissued_at", "dated_on")
            if before[key] != getattr(letter, key)
        },
    )
    key = f"letter:{letter.pk}:reissue:{now.isoformat()}"
    enqueue_many_on_commit([Task(GENERATE_LETTER_TASK, {"letter_id": letter.pk}, key=key)])
    return letter

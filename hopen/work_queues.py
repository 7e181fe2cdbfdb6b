"""The work queues (« À faire ») of each role's home: counts and links to where the work is done.

The lines come from each app's queue selectors (`indicators.queues`, `ami.queues`, `funding.dossiers.queues`,
`funding.ght.queues`), always within the user's scope (`hopen.permissions.scope_of`) and on the programme of the
request; each home costs a constant number of queries whatever the number of objects.

- An establishment's editor prepares (values in draft, the AMI pre-candidature, the dossier), its director
  declares, validates and transmits (§5.3.1, §5.3.2 « Etape 1 » and « Etape 2 »): the editor's lines say what waits
  for the director, the director's lines list what the editors prepared — the hand-off happens in the platform.
- The GHT support director validates its members' pre-candidatures (§5.3.2) and the GHT IT governance (§5.3.1).
- The ARS decides on pre-candidatures (annex 5), opens the instruction and decides within four months (annex 4 §1),
  initialises a requested dossier within 1.5 months (§5.3.2), notifies the usage funding once targets are reached
  (annex 2 §2) and follows the target deadlines (annex 4 §3).
- The DGOS follows the regions' programmings (§5.3.2) and the same ARS lines nationally (annex 4 §3).

A filing line (AMI, dossier transmission) only shows while its window is open: outside it the service refuses the
action (`indicators.windows`), so it is no work to do.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse

from ami import queues as ami_queues
from funding.dossiers import queues as dossier_queues
from funding.dossiers.models import DossierStatus
from funding.ght import queues as ght_queues
from indicators import queues as indicator_queues
from indicators import windows

from .models import Region, Role, RoleAssignment
from .permissions import scope_of
from .work_items import Task, plural

DOSSIER_LIST = "funding:dossier_list"


@dataclass
class EstablishmentWork:
    establishment: object
    directs: bool  # the user declares and transmits for it (director, or editor of an establishment without one)
    tasks: list = field(default_factory=list)


@dataclass
class WorkQueue:
    establishments: list = field(default_factory=list)  # EstablishmentWork
    ght: list = field(default_factory=list)  # Task
    region: list = field(default_factory=list)  # Task
    national: list = field(default_factory=list)  # Task

    @property
    def tasks(self) -> list:
        return [t for w in self.establishments for t in w.tasks] + self.ght + self.region + self.national

    @property
    def total(self) -> int:
        return sum(task.count for task in self.tasks)


def _list(name: str, **query) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def _open_windows(programme, today) -> set[str]:
    if programme is None:
        return set()
    return {code for code, window in windows.programme_windows(programme).items() if window.is_open(today)}


def work_queue_of(user, establishments, programme, *, today: datetime.date | None = None) -> WorkQueue:
    """The whole queue of the user's home. `establishments`: the ones the home shows (`establishments_held_by`)."""
    from django.utils import timezone

    today = today or timezone.localdate()
    scope = scope_of(user)
    queue = WorkQueue()
    open_windows = None
    if establishments or scope.ght_ids:
        open_windows = _open_windows(programme, today)
        queue.establishments, orphan_dossier_work = _establishment_work(
            user, list(establishments), programme, today, open_windows
        )
        if scope.ght_ids:
            queue.ght = _ght_work(scope.ght_ids, programme, today, open_windows, orphan_dossier_work)
    if Role.ARS_OFFICER in scope.roles and scope.region_ids:
        queue.region = _region_work(user, programme, today)
    elif scope.national:
        queue.national = _national_work(user, programme, today)
    return queue


# --- Establishments --------------------------------------------------------------------------------------------------


def _directed_ids(user, establishments) -> set[int]:
    """The establishments the user declares for: those it directs, and those it edits that have no active director
    (`permissions.can_declare_values`) — two queries for any number of establishments."""
    ids = [e.pk for e in establishments]
    rows = list(user.role_assignments.filter(establishment_id__in=ids).values_list("role", "establishment_id"))
    directed = {pk for role, pk in rows if role == Role.ESTABLISHMENT_DIRECTOR}
    edited = {pk for role, pk in rows if role == Role.ESTABLISHMENT_EDITOR} - directed
    if edited:
        with_director = set(
            RoleAssignment.objects.filter(
                establishment_id__in=edited, role=Role.ESTABLISHMENT_DIRECTOR, user__is_active=True
            ).values_list("establishment_id", flat=True)
        )
        directed |= edited - with_director
    return directed


def _establishment_work(user, establishments, programme, today, open_windows):
    ids = [e.pk for e in establishments]
    directed = _directed_ids(user, establishments) if ids else set()
    values = indicator_queues.value_counts(ids, programme)
    drafts = ami_queues.drafts_of(ids, programme) if windows.AMI_FILING in open_windows or (
        windows.AMI_LATE_FILING in open_windows) else {}
    dossiers = dossier_queues.establishment_queue(ids, scope_of(user).ght_ids, programme, today=today)
    work = []
    for establishment in establishments:
        directs = establishment.pk in directed
        tasks = _value_tasks(establishment, values.get(establishment.pk), directs)
        tasks += _ami_tasks(establishment, drafts.get(establishment.pk), directs)
        dossier_work = dossiers.pop(establishment.pk, None)
        if dossier_work is not None:
            tasks += _dossier_tasks(dossier_work, directs, windows.DOSSIER_FILING in open_windows)
        work.append(EstablishmentWork(establishment, directs, tasks))
    return work, dossiers  # dossiers left: GHT dossiers of establishments the user holds no role in


def _value_tasks(establishment, counts, directs) -> list[Task]:
    if counts is None:
        return []
    url = reverse("indicators:dashboard", args=[establishment.finess])
    tasks = []
    if counts.drafts:
        n = counts.drafts
        who = "à déclarer" if directs else "à déclarer par la direction"
        tasks.append(Task(
            "values_draft", n, f"{plural(n, 'valeur')} d'indicateur en brouillon, {who}", url,
            "Instruction, §5.3.1",
        ))
    if counts.prerequisites_without_documents:
        n = counts.prerequisites_without_documents
        tasks.append(Task(
            "prerequisite_documents", n,
            f"{plural(n, 'prérequis déclaré', 'prérequis déclarés')} sans pièce justificative", url,
            "Instruction, §5.3.1 : « la totalité des pièces justificatives »",
        ))
    return tasks


def _ami_tasks(establishment, draft, directs) -> list[Task]:
    if draft is None:
        return []
    url = reverse("ami:tab", args=[establishment.finess])
    source = "Instruction, §5.3.2 « Etape 1 »"
    if not draft.domain_count:
        return [Task("ami_draft", 1, "pré-candidature AMI en préparation : aucun domaine choisi", url, source)]
    if directs:
        return [Task("ami_to_validate", 1, "pré-candidature AMI à valider", url, source)]
    return [Task("ami_to_validate", 1, "pré-candidature AMI prête, à valider par la direction", url, source)]


def _dossier_tasks(dossier_work, directs, filing_open) -> list[Task]:
    tasks = []
    source = "Instruction, §5.3.2 « Etape 2 »"
    if dossier_work.to_transmit and filing_open:
        n = len(dossier_work.to_transmit)
        label = f"{plural(n, 'dossier')} en préparation, " + ("à transmettre à l'ARS" if directs else "à transmettre par la direction")
        tasks.append(Task(
            "dossier_to_transmit", n, label, _list(DOSSIER_LIST, status=DossierStatus.DRAFT), source,
            tuple(dossier_work.to_transmit),
        ))
    if dossier_work.targets_to_record and directs:
        items = tuple(dossier_work.targets_to_record)
        tasks.append(Task(
            "targets_to_record", len(items), f"{plural(len(items), 'domaine sélectionné', 'domaines sélectionnés')} "
            "dont l'atteinte des cibles d'usage reste à constater", _list(DOSSIER_LIST, status=DossierStatus.IN_PROGRESS),
            "Annexe 2 §2, annexe 4 §3", items, alert=any(item.is_overdue for item in items),
        ))
    return tasks


# --- GHT support ----------------------------------------------------------------------------------------------------


def _ght_work(ght_ids, programme, today, open_windows, orphan_dossier_work) -> list[Task]:
    tasks = []
    if windows.AMI_FILING in open_windows or windows.AMI_LATE_FILING in open_windows:
        n = ami_queues.awaiting_support_count(ght_ids, programme)
        if n:
            tasks.append(Task(
                "ami_support", n, f"{plural(n, 'pré-candidature')} de membres du GHT à valider par l'établissement support",
                reverse("ami:support_queue"), "Instruction, §5.3.2 « Etape 1 »",
            ))
    for ght in ght_queues.ght_counts(ght_ids, programme):
        url = reverse("funding:ght_governance", args=[ght.code])
        if ght.drafts:
            tasks.append(Task(
                "ght_values_draft", ght.drafts,
                f"{plural(ght.drafts, 'valeur')} du GHT {ght.code} en brouillon, à déclarer", url,
                "Instruction, §5.3.1 « Pour les GHT »",
            ))
        if ght.cio_to_validate:
            tasks.append(Task(
                "ght_cio", 1, f"DSI du GHT {ght.code} nommé, à valider", url, "Instruction, §5.3.1 « Pour les GHT »",
            ))
    if orphan_dossier_work:  # the GHT's dossiers and member shares outside the user's own establishments
        combined = dossier_queues.EstablishmentDossierQueue()
        for dossier_work in orphan_dossier_work.values():
            combined.to_transmit.extend(dossier_work.to_transmit)
            combined.targets_to_record.extend(dossier_work.targets_to_record)
        combined.targets_to_record.sort(key=lambda item: (item.deadline is None, item.deadline))
        tasks += _dossier_tasks(combined, True, windows.DOSSIER_FILING in open_windows)
    return tasks


# --- ARS and DGOS ---------------------------------------------------------------------------------------------------


def _region_work(user, programme, today) -> list[Task]:
    tasks = []
    n = ami_queues.to_decide_count(user, programme)
    if n:
        tasks.append(Task(
            "ami_to_decide", n, f"{plural(n, 'pré-candidature déposée', 'pré-candidatures déposées')} "
            "avec un domaine à présélectionner",
            _list("ami:ars_list", filing="filed", decision="pending"), "Instruction, §5.3.2 « Etape 1 », annexe 5",
        ))
    return tasks + _dossier_region_tasks(dossier_queues.region_queue(user, programme, today=today))


def _dossier_region_tasks(q) -> list[Task]:
    tasks = []
    four_months = "Annexe 4 §1 : décision dans les quatre mois de la transmission"
    if q.transmitted:
        tasks.append(Task(
            "dossier_transmitted", q.transmitted,
            f"{plural(q.transmitted, 'dossier transmis', 'dossiers transmis')}, instruction à ouvrir",
            _list(DOSSIER_LIST, status=DossierStatus.TRANSMITTED), four_months, tuple(q.transmitted_items),
            alert=any(i.is_overdue for i in q.transmitted_items),
        ))
    if q.under_review:
        tasks.append(Task(
            "dossier_under_review", q.under_review,
            f"{plural(q.under_review, 'dossier')} en instruction, décision à rendre",
            _list(DOSSIER_LIST, status=DossierStatus.UNDER_REVIEW), four_months, tuple(q.under_review_items),
            alert=any(i.is_overdue for i in q.under_review_items),
        ))
    if q.initialisation_requested:
        tasks.append(Task(
            "dossier_initialisation", q.initialisation_requested,
            f"{plural(q.initialisation_requested, 'dossier')} dont l'initialisation est demandée",
            _list(DOSSIER_LIST, status=DossierStatus.INITIALISATION_REQUESTED),
            "Instruction, §5.3.2 « Etape 2 » : initialisation dans un délai d'un mois et demi",
            tuple(q.awaiting_initialisation), alert=any(i.is_overdue for i in q.awaiting_initialisation),
        ))
    if q.usage_ready:
        tasks.append(Task(
            "usage_ready", q.usage_ready,
            f"{plural(q.usage_ready, 'domaine')} aux cibles atteintes, financement à l'usage à notifier",
            _list(DOSSIER_LIST, status=DossierStatus.IN_PROGRESS), "Annexe 2 §2", tuple(q.usage_ready_items),
        ))
    if q.targets_overdue:
        tasks.append(Task(
            "targets_overdue", q.targets_overdue,
            f"{plural(q.targets_overdue, 'domaine')} dont l'échéance d'atteinte des cibles est dépassée",
            _list(DOSSIER_LIST, status=DossierStatus.IN_PROGRESS), "Annexe 4 §3", tuple(q.overdue_items), alert=True,
        ))
    return tasks


def _national_work(user, programme, today) -> list[Task]:
    tasks = []
    transmitted = ami_queues.regions_with_programming(programme)
    if transmitted:
        regions = Region.objects.count()
        verb = "a transmis sa programmation" if transmitted == 1 else "ont transmis leur programmation"
        tasks.append(Task(
            "regions_programming", transmitted, f"{plural(transmitted, 'région')} sur {regions} {verb} à la DGOS",
            reverse("ami:programming"), "Instruction, §5.3.2",
        ))
    n = ami_queues.to_decide_count(user, programme)
    if n:
        tasks.append(Task(
            "ami_to_decide", n, f"{plural(n, 'pré-candidature déposée', 'pré-candidatures déposées')} "
            "attendant la présélection de l'ARS",
            _list("ami:ars_list", filing="filed", decision="pending"), "Instruction, §5.3.2 « Etape 1 », annexe 5",
        ))
    return tasks + _dossier_region_tasks(
        dossier_queues.region_queue(user, programme, today=today, with_items=False)
    )

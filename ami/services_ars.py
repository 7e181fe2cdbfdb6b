"""The one write of the ARS programming: marking it transmitted to the DGOS (instruction §5.3.2: « L'ARS présente
sa programmation pluriannuelle à la DGOS au plus tard le 30 août 2019 »). Audited on the region."""

import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hopen.audit import audit_record
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import Role, User
from hopen.notifications import notify

from . import selectors


@transaction.atomic
def programming_transmit(*, region, programme, by, now: datetime.datetime | None = None):
    """The ARS officer of `region` marks its programming of `programme` transmitted; the DGOS officers are notified.

    The audit record (action `ami.programming_transmitted`, on the region) keeps what was transmitted: the number
    of pre-selected domains, the planned total and its seed part, and the previous transmission date, so that a
    later re-transmission shows what changed.
    """
    if not selectors.can_transmit_programming(by, region):
        raise PermissionRefused("Seule l'ARS de la région transmet sa programmation à la DGOS.")
    now = now or timezone.now()
    summary = selectors.programming_summary(by, programme, region)
    if not summary.totals.lines:
        raise ApplicationError("Aucun domaine présélectionné : la programmation à transmettre est vide.")
    previous = selectors.last_transmission(region, programme)
    before = previous.changes if previous is not None else {}

    def former(name):
        value = before.get(name)
        return value[1] if isinstance(value, list) and len(value) == 2 else None

    deadline = selectors.programming_deadline(programme)
    after = {
        "programme": programme.code,
        "transmitted_at": now.isoformat(),
        "domains": summary.totals.lines,
        "establishments": summary.establishments,
        "planned_total": str(summary.totals.total.total),
        "seed_total": str(summary.totals.total.seed),
        "on_time": deadline is None or deadline.is_open(timezone.localdate(now)),
    }
    changes = {name: [former(name), value] for name, value in after.items()}
    record = audit_record(actor=by, action=selectors.PROGRAMMING_TRANSMITTED, target=region, changes=changes)
    dgos = User.objects.filter(is_active=True, role_assignments__role=Role.DGOS_OFFICER).distinct()
    notify(
        recipients=list(dgos),
        message=(
            f"Programmation pluriannuelle {programme.name} transmise par l'{region.ars_name} : {summary.totals.lines} domaine(s) "
            f"présélectionné(s), {summary.establishments} établissement(s)."
        ),
        link=f"{reverse('ami:programming')}?region={region.code}&programme={programme.code}",
    )
    return record


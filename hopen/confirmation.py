"""The one confirmation of an irreversible or money action in the pages (issue 12: « a DSFR modal restating the
amount, the establishment and the consequence »).

How it works, the same way on every page (dossier decisions and payments, envelope delegations and redeployments):

- the action's form carries the modal (`templates/includes/confirm_modal.html`): its « Confirmer » button submits
  the form with `confirmed=1`, the only way that field is ever sent;
- with JavaScript (the DSFR script of `templates/base.html` and `hopen/static/hopen/confirm.js`), the action button
  of an action whose amount is known in advance opens the modal in place; a form whose amount or reason is typed
  submits first, so that the modal restates the values as read;
- the view passes the write to `confirm_or_run`: without `confirmed=1` the write runs as a dry run in a savepoint
  rolled back — the service's own checks and money gates answer now with their reasons (the page's error summary),
  nothing is written (no status, no ledger entry, no audit record, no letter; the notifications and e-mails,
  queued on commit, are dropped with the savepoint) — and the page re-renders with the modal opened; with it, the
  write runs for real. A page without JavaScript thus still asks for the explicit confirmation.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

CONFIRMED_FIELD = "confirmed"
PENDING = object()  # `confirm_or_run`'s answer when the confirmation is still to be given


@dataclass(frozen=True)
class Confirmation:
    """What the modal restates (French): the action, the amount in euros, who receives or carries it, what follows."""

    title: str
    amount: Decimal | None
    amount_label: str
    party: str
    consequence: str
    detail: str = ""
    confirm_label: str = "Confirmer"


class _DryRun(Exception):
    """Raised inside the savepoint of a dry run to roll it back."""


def is_confirmed(request) -> bool:
    """The POST carries the modal's confirmation."""
    return request.POST.get(CONFIRMED_FIELD) == "1"


def confirm_or_run(request, write):
    """`write()`'s result when the POST is confirmed; otherwise `PENDING`, after a dry run of `write()` rolled back
    (its refusals — `ApplicationError`, `PermissionRefused` — propagate as for the real write)."""
    if is_confirmed(request):
        return write()
    try:
        with transaction.atomic():
            write()
            raise _DryRun
    except _DryRun:
        pass
    return PENDING

"""The daily deadline sweep of the dossiers (annexes 2 and 4 of the instruction): each job is a set-based
function of the date `as_of`, idempotent and enforced by the database.

Jobs, in the order `run_deadlines` runs them (each in its own transaction):

a. `refuse_silent_dossiers` — annex 4 §1 « Au-delà de quatre mois, le dossier est considéré comme refusé par
   l'ARS »: a dossier transmitted or under review whose transmission date + four months (delay
   `ars-decision`) — the last day the ARS may decide — is before `as_of` is refused, its pending domains with the reason
   « absence de décision de l'ARS dans le délai de quatre mois » (kind « faisabilité ou autre motif »: the
   re-candidacy delay of six months applies). A dossier one domain of which the ARS already selected goes
   « en cours » instead (annex 4 §1: « l'ARS peut décider de sélectionner seulement une partie des domaines »):
   only its pending domains are refused. The selection letter is requested.
b. `remind_ars_of_pending_decisions` — three months and three weeks after the transmission (delay
   `ars-decision-reminder`), a reminder to the ARS officers of the region, once per dossier.
c. `alert_overdue_initialisations` — §5.3.2 « Etape 2 »: the ARS has a month and a half (delay
   `ars-initialisation`) to initialise a dossier an establishment asked for; past it, an alert once.
d. `claim_refunds_for_unmet_prerequisites` — annex 2 §2 « Les prérequis doivent être atteints au plus tard le
   01 janvier 2021. Si les prérequis ne sont pas atteints à date par l'établissement, il remboursera les
   montants perçus au titre de l'amorçage »: from the derogatory deadline of the programme calendar, a refund
   claim of the seed paid for every domain of a dossier not closed one candidate establishment of which has
   not reached the HOP'EN prerequisites (for a GHT dossier, each candidate member: annex 3 §2 — the support
   establishment receives the sum, the members' commitments are individual), and its letter.
e. `alert_target_deadlines` — annex 4 §3 (follow-up of the dates of attainment of the targets): three months
   (delay `target-deadline-alert`) before a selected domain's target deadline and once it has passed; the same
   around the programme's deadline of the usage targets (§5.3.1 « avant le 1er janvier 2023 », calendar code
   `usage-targets-deadline`). A re-forecast deadline (project review) is a new deadline: its alerts are new.
f. `remind_annual_reports` — annex 4 §3: the ARS sends the DGOS its yearly report « avant le 31 janvier de
   l'année suivante »: a reminder to the ARS officers of every region from 21 days before (delay
   `annual-report-reminder`), once per region and year.

Exactly once, even when two sweeps run at the same time: every action is recorded by a `DeadlineEvent` whose
unique `key` names it; the events are inserted with ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key`` and
only the run that inserted an event notifies, writes letters or claims (a concurrent run waits on the unique
index, then inserts nothing). The silence refusal is moreover guarded by the dossier rows, locked
(``SELECT … FOR UPDATE``) and re-checked on their status; refund claims by the ledger's unique idempotency key.

Every job runs for every programme whose calendar declares delays (`common.programmes_with_delays`), with that
programme's delays and windows, on that programme's dossiers. A constant number of queries per programme whatever
the number of dossiers: reads of whole sets, bulk updates, one insert of
the events, one of the notifications (`Notification` rows; their e-mails leave after the commit), one of the
letters, and the audit records through `hopen.audit.audit_record_many` (which inserts by batches of 1,000).
The delays are computed by PostgreSQL with the arithmetic of `funding.calendar.add_delay` (months first, clamped
to the end of the month, then days).
"""

import datetime

from django.utils import timezone

from audits.deadlines import remind_audit_responses

from .common import logger
from .decisions import alert_overdue_initialisations, refuse_silent_dossiers, remind_ars_of_pending_decisions
from .follow_up import alert_target_deadlines, remind_annual_reports
from .refunds import claim_refunds_for_unmet_prerequisites

JOBS = (
    ("silence_refusals", refuse_silent_dossiers),
    ("review_reminders", remind_ars_of_pending_decisions),
    ("initialisation_alerts", alert_overdue_initialisations),
    ("prerequisites_refunds", claim_refunds_for_unmet_prerequisites),
    ("target_alerts", alert_target_deadlines),
    ("annual_report_reminders", remind_annual_reports),
    ("audit_responses", remind_audit_responses),  # g. the audits' contradictory procedure (`audits.deadlines`)
)


def run_deadlines(as_of: datetime.date | None = None) -> dict[str, dict[str, int]]:
    """Run every job for `as_of` (today by default), in order, each in its own transaction:
    {job name: its counts}."""
    as_of = as_of or timezone.localdate()
    results = {}
    for name, job in JOBS:
        results[name] = job(as_of)
    logger.info("Échéances du %s traitées : %s", as_of, results)
    return results

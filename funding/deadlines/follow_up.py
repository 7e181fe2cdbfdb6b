"""The follow-up alerts of the sweep (annex 4 §3): job e, the target deadlines of the selected domains and of the
programme; job f, the reminder of the ARS's annual report."""

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Q

from funding.calendar import ANNUAL_REPORT_REMINDER, TARGET_DEADLINE_ALERT
from funding.dossiers.models import DomainStatus, DossierDomain, DossierStatus
from hopen.models import Region
from indicators import windows

from .common import (
    Event,
    Note,
    _ars_officers,
    _column,
    _day,
    _dossier_link,
    _dossier_parties,
    _due_on,
    add_counts,
    logger,
    notify_many,
    programmes_with_delays,
    record_events,
)
from .models import DeadlineEventKind

ANNUAL_REPORT_MONTH_DAY = (1, 31)  # annex 4 §3 « avant le 31 janvier de l'année suivante »


# --- e. Target deadlines of the selected domains and of the programme ----------------------------------------------


def _usage_targets_deadline(programme) -> datetime.date:
    """The first day past the programme's usage-target window (§5.3.1: 01/01/2023 for HOP'EN) — one query."""
    return windows.programme_window(programme, windows.USAGE_TARGETS).last_day + windows.ONE_DAY


@transaction.atomic
def alert_target_deadlines(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §3 (« La liste des établissements / GHT dont la date d'atteinte des cibles est décalée ») and §5.3.1
    (« l'atteinte des cibles d'usage […] avant le 1er janvier 2023 »): alerts to the establishment and to its ARS
    before and after a selected domain's target deadline, and around the programme's deadline.

    A domain's deadline is the last day to reach its targets: it has passed the day after. The programme's is
    « avant le 1er janvier 2023 »: it has passed on that day. For every programme, with its delay and its window."""
    counts = {"target_soon": 0, "target_passed": 0, "programme_soon": 0, "programme_passed": 0, "notifications": 0}
    for programme, delays in programmes_with_delays():
        add_counts(counts, _alert_target_deadlines(as_of, programme, delays[TARGET_DEADLINE_ALERT]))
    return counts


def _alert_target_deadlines(as_of, programme, delay) -> dict[str, int]:
    programme_deadline = _usage_targets_deadline(programme)
    programme_alert_from = delay.before(programme_deadline)
    programme_phase = (
        "passed" if as_of >= programme_deadline else "soon" if as_of >= programme_alert_from else None
    )
    condition = Q(target_deadline__lt=as_of) | Q(alert_from__lte=as_of)
    domains = list(
        DossierDomain.objects.select_related("dossier__establishment")
        .filter(dossier__programme=programme, status=DomainStatus.SELECTED)
        .exclude(dossier__status=DossierStatus.CLOSED)
        .alias(alert_from=_due_on(_column(DossierDomain, "target_deadline"), delay, local_date_of_timestamp=False,
                                  sign="-"))
        .filter(condition if programme_phase is None else Q())
        .order_by("pk")
    )
    events, messages = [], {}
    for domain in domains:
        dossier, deadline = domain.dossier, domain.target_deadline
        label = f"Dossier {dossier.reference} ({dossier.establishment.name}), domaine {domain.domain_code}"
        phase = "passed" if deadline < as_of else "soon" if delay.before(deadline) <= as_of else None
        if phase:
            kind = (DeadlineEventKind.TARGET_DEADLINE_PASSED if phase == "passed"
                    else DeadlineEventKind.TARGET_DEADLINE_SOON)
            key = f"{kind}:{domain.pk}:{deadline:%Y-%m-%d}"
            events.append(Event(kind, key, dossier_id=dossier.pk, domain_id=domain.pk, region_id=dossier.region_id,
                                detail=f"Échéance des cibles : {_day(deadline)}."))
            messages[key] = (domain, (
                f"{label} : l'échéance d'atteinte des cibles d'usage du {_day(deadline)} est dépassée sans que "
                "leur atteinte ait été constatée (annexe 4 §3)." if phase == "passed" else
                f"{label} : l'échéance d'atteinte des cibles d'usage est le {_day(deadline)} (annexe 4 §3)."
            ))
        if programme_phase:
            kind = (DeadlineEventKind.PROGRAMME_DEADLINE_PASSED if programme_phase == "passed"
                    else DeadlineEventKind.PROGRAMME_DEADLINE_SOON)
            key = f"{kind}:{domain.pk}:{programme_deadline:%Y-%m-%d}"
            events.append(Event(kind, key, dossier_id=dossier.pk, domain_id=domain.pk, region_id=dossier.region_id,
                                detail=f"Échéance du programme : {_day(programme_deadline)}."))
            messages[key] = (domain, (
                f"{label} : les cibles d'usage devaient être atteintes avant le {_day(programme_deadline)} (§5.3.1) "
                "et leur atteinte n'a pas été constatée." if programme_phase == "passed" else
                f"{label} : les cibles d'usage doivent être atteintes avant le {_day(programme_deadline)} (§5.3.1)."
            ))
    inserted = record_events(events, as_of)
    fresh = [(key, *messages[key]) for key in sorted(inserted)]
    dossiers = {domain.dossier_id: domain.dossier for _, domain, _ in fresh}
    side, by_region = _dossier_parties(dossiers.values())
    notes = [
        Note(
            [*side[domain.dossier_id], *by_region[domain.dossier.region_id].values()],
            message, _dossier_link(domain.dossier.reference),
        )
        for _, domain, message in fresh
    ]
    notifications = notify_many(notes, subject="HOP'EN — échéance d'atteinte des cibles")
    by_kind = defaultdict(int)
    for key in inserted:
        by_kind[key.split(":", 1)[0]] += 1
    logger.info("Échéances des cibles au %s : %s alerte(s) %s.", as_of, len(inserted), dict(by_kind))
    return {
        "target_soon": by_kind[DeadlineEventKind.TARGET_DEADLINE_SOON],
        "target_passed": by_kind[DeadlineEventKind.TARGET_DEADLINE_PASSED],
        "programme_soon": by_kind[DeadlineEventKind.PROGRAMME_DEADLINE_SOON],
        "programme_passed": by_kind[DeadlineEventKind.PROGRAMME_DEADLINE_PASSED],
        "notifications": notifications,
    }


# --- f. The ARS's annual report before 31 January (annex 4 §3) --------------------------------------------------------


@transaction.atomic
def remind_annual_reports(as_of: datetime.date) -> dict[str, int]:
    """Annex 4 §3: « L'ARS contribue au pilotage national du programme en fournissant à la DGOS […] une synthèse
    […] avant le 31 janvier de l'année suivante »: from 21 days before 31 January to that day, once per region
    and year — for every programme (its own report), with its delay."""
    counts = {"regions": 0, "notifications": 0}
    for programme, delays in programmes_with_delays():
        add_counts(counts, _remind_annual_reports(as_of, programme, delays[ANNUAL_REPORT_REMINDER]))
    return counts


def _annual_report_key(programme, region, year) -> str:
    return f"annual_report_reminder:{programme.code}:{region.pk}:{year}"


def _remind_annual_reports(as_of, programme, delay) -> dict[str, int]:
    deadline = datetime.date(as_of.year, *ANNUAL_REPORT_MONTH_DAY)
    if not delay.before(deadline) <= as_of <= deadline:
        return {"regions": 0, "notifications": 0}
    regions = list(Region.objects.order_by("pk"))
    inserted = record_events(
        [Event(DeadlineEventKind.ANNUAL_REPORT_REMINDER, _annual_report_key(programme, region, as_of.year),
               region_id=region.pk,
               detail=f"Rapport annuel {as_of.year - 1} ({programme.name}) attendu avant le {_day(deadline)}.")
         for region in regions],
        as_of,
    )
    fresh = [r for r in regions if _annual_report_key(programme, r, as_of.year) in inserted]
    by_region = _ars_officers({region.pk for region in fresh})
    notes = [
        Note(
            list(by_region[region.pk].values()),
            f"Rappel : le rapport annuel de l'{region.ars_name} sur l'exécution du programme {programme.name} en "
            f"{as_of.year - 1} (état d'avancement, moyens engagés, éléments significatifs par dossier et synthèse) "
            f"est à transmettre à la DGOS avant le {_day(deadline)} (annexe 4 §3).",
        )
        for region in fresh
    ]
    notifications = notify_many(notes, subject="HOP'EN — rapport annuel de l'ARS")
    logger.info("Rappel du rapport annuel %s au %s : %s région(s).", as_of.year - 1, as_of, len(fresh))
    return {"regions": len(fresh), "notifications": notifications}

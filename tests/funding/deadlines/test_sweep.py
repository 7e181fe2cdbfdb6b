"""The daily deadline sweep (funding.deadlines): annex 4 §1 (silence of the ARS = refusal after four months, its
reminder, §5.3.2 initialisation within a month and a half), annex 2 §2 (refund of the seed when the HOP'EN
prerequisites are not reached on 01/01/2021), annex 4 §3 and §5.3.1 (target deadlines, 01/01/2023; the ARS's
annual report before 31 January). The clock is frozen by passing `as_of`."""

import datetime
import io
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Envelope, LedgerEntry, Pot
from funding.calendar import Delay, add_delay
from funding.deadlines import common, decisions, follow_up, refunds
from funding.deadlines.sweep import run_deadlines
from funding.models import (
    DeadlineEvent,
    DossierDomain,
    DossierLetter,
    DossierMember,
)
from funding.tasks import run_deadlines_task
from hopen.models import AuditRecord, Notification, Region, Role
from tests.factories import EstablishmentFactory, user_with_role
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, open_envelope
from tests.funding.dossier_scene import add_document
from tests.indicators.conftest import declared, existence, indicator, rate

PARIS = ZoneInfo("Europe/Paris")
SILENCE_REASON = "absence de décision de l'ARS dans le délai de quatre mois"
PREREQUISITE_CODES = (
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5", "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2",
    "P4.3",
)


def at(day: datetime.date, hour=10, minute=0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def transmitted(establishment, on, *, status="transmitted", domains=("D2",), **fields):
    moment = on if isinstance(on, datetime.datetime) else at(on)
    dossier = DossierFactory(establishment=establishment, status=status, transmitted_at=moment, **fields)
    for code in domains:
        DossierDomainFactory(dossier=dossier, domain_code=code)
    return dossier


def initialisation_requested(establishment, on):
    dossier = DossierFactory(
        establishment=establishment, status="initialisation_requested", initialisation_requested_at=at(on)
    )
    DossierDomainFactory(dossier=dossier)
    return dossier


def selected_domain(establishment, *, code="D2", target_deadline=datetime.date(2022, 6, 30), **dossier_fields):
    dossier_fields = {"status": "in_progress", **dossier_fields}
    dossier = DossierFactory(
        establishment=establishment, transmitted_at=at(datetime.date(2019, 9, 2)), **dossier_fields
    )
    return DossierDomainFactory(
        dossier=dossier, domain_code=code, status="selected", target_deadline=target_deadline,
        seed_amount=Decimal("5000.00"), decided_at=at(datetime.date(2019, 11, 4)),
    )


def pay_seed(domain, amount=Decimal("5000.00")):
    """A seed commitment and its payment for `domain`, written through the ledger (arrange only)."""
    envelope = Envelope.objects.get(region=domain.dossier.region)
    common = {"envelope_id": envelope.pk, "pot": Pot.SEED, "amount": amount, "dossier_domain_id": domain.pk,
              "establishment_id": domain.dossier.establishment_id, "sector": "public"}
    with transaction.atomic():
        append_many([
            Movement(kind=EntryKind.SEED_COMMITMENT, label="Engagement d'amorçage (test)", **common),
            Movement(kind=EntryKind.SEED_PAYMENT, label="Versement d'amorçage (test)", **common),
        ])


def declare_prerequisites(establishment, *, editor, director):
    for code in PREREQUISITE_CODES:
        data = rate(100, 100) if indicator(code).target_kind == "rate" else existence(True)
        value = declared(establishment, code, data, editor=editor, director=director)
        add_document(value, by=editor)  # §5.3.1: values and justificatory documents


def recipients(message_part):
    return set(Notification.objects.filter(message__contains=message_part).values_list("recipient__email", flat=True))


@pytest.fixture
def world(tenants, catalogue):
    open_envelope(tenants.region_a, seed=Decimal("1000000.00"))
    open_envelope(tenants.region_b, seed=Decimal("1000000.00"))
    return tenants


def emails(*users):
    return {user.email for user in users}


# --- The delays: PostgreSQL's date arithmetic is funding.calendar's ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("delay", [Delay(4, 0), Delay(3, 21), Delay(1, 15), Delay(3, 0)])
def test_delays_computed_by_the_database_match_add_delay(delay):
    """Months first, clamped to the end of the month (31/10 + 4 months = 29/02), then days — every day of 2019–2024."""
    for sign, expected in (("+", add_delay), ("-", lambda day, d: d.before(day))):
        expression = common._due_on("d", delay, local_date_of_timestamp=False, sign=sign)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d::date, {expression.sql} FROM generate_series('2019-01-01'::date, '2024-12-31'::date, "
                "'1 day') AS d",
                expression.params,
            )
            rows = cursor.fetchall()
        assert len(rows) == 2192
        assert [(day, due) for day, due in rows if expected(day, delay) != due] == []


# --- a. Silence = refusal after four months (annex 4 §1) -----------------------------------------------------------


def test_silence_refusal_the_day_after_the_four_months(world):
    """Annex 4 §1: « au bout de quatre mois au plus tard » — 15/05 is the ARS's last day; « au-delà », refused."""
    dossier = transmitted(world.member, datetime.date(2020, 1, 15), domains=("D2", "D3"))
    assert decisions.refuse_silent_dossiers(datetime.date(2020, 5, 15))["dossiers"] == 0
    dossier.refresh_from_db()
    assert dossier.status == "transmitted" and dossier.decided_at is None

    counts = decisions.refuse_silent_dossiers(datetime.date(2020, 5, 16))
    assert counts == {"dossiers": 1, "domains": 2, "notifications": 3, "letters": 1}
    dossier.refresh_from_db()
    assert dossier.status == "refused" and dossier.decided_at is not None
    for domain in dossier.domains.all():
        assert domain.status == "refused"
        assert domain.decision_reason == SILENCE_REASON
        assert (domain.refusal_kind, domain.refused_for_silence) == ("feasibility", True)
        assert domain.decided_at == dossier.decided_at and domain.decided_by is None
    event = DeadlineEvent.objects.get()
    assert (event.kind, event.key, event.dossier, event.region, event.as_of) == (
        "silence_refusal", f"silence_refusal:{dossier.pk}", dossier, world.region_a, datetime.date(2020, 5, 16)
    )
    # The establishment's users and the ARS of its region; not the other region's ARS.
    assert recipients(dossier.reference) == emails(world.editor, world.director, world.ars_a)
    notification = Notification.objects.first()
    assert "réputé refusé (annexe 4 §1) — domaines refusés : D2, D3" in notification.message
    assert notification.link == reverse("funding:dossier_detail", args=[dossier.reference])
    letter = DossierLetter.objects.get()
    assert (letter.dossier, letter.kind, letter.event_key, letter.domain) == (
        dossier, "selection", f"selection:{dossier.pk}", None
    )
    audits = AuditRecord.objects.filter(action__endswith="refuse_for_silence")
    assert sorted(audits.values_list("action", "actor_id")) == [
        ("dossier.refuse_for_silence", None),
        ("dossier_domain.refuse_for_silence", None),
        ("dossier_domain.refuse_for_silence", None),
    ]
    assert audits.get(action="dossier.refuse_for_silence").changes["status"] == ["transmitted", "refused"]


def test_silence_refusal_of_a_ght_dossier_reaches_the_ght_support_director_too(world):
    """Annex 3 §2: a GHT dossier is the support establishment's; its GHT support directors are told, as by the
    ARS's own decisions (funding.dossiers.services)."""
    dossier = transmitted(world.support, datetime.date(2020, 1, 15), ght=world.ght)
    support_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=world.support)
    assert decisions.refuse_silent_dossiers(datetime.date(2020, 5, 16))["dossiers"] == 1
    assert recipients(dossier.reference) == emails(support_director, world.ght_director, world.ars_a)


def test_silence_refusal_counts_from_the_local_date_of_transmission(world):
    """Transmitted at 00:30 in Paris on 15 January (23:30 UTC on the 14th): four months run from the 15th."""
    dossier = transmitted(world.member, at(datetime.date(2020, 1, 15), hour=0, minute=30))
    assert decisions.refuse_silent_dossiers(datetime.date(2020, 5, 15))["dossiers"] == 0
    assert decisions.refuse_silent_dossiers(datetime.date(2020, 5, 16))["dossiers"] == 1
    dossier.refresh_from_db()
    assert dossier.status == "refused"


def test_silence_refusal_at_the_end_of_a_month_is_clamped(world):
    """31 October + four months = 29 February 2020 (funding.calendar.add_delay): refused on 1 March."""
    dossier = transmitted(world.member, datetime.date(2019, 10, 31), status="under_review")
    assert decisions.refuse_silent_dossiers(datetime.date(2020, 2, 29))["dossiers"] == 0
    assert decisions.refuse_silent_dossiers(datetime.date(2020, 3, 1))["dossiers"] == 1
    dossier.refresh_from_db()
    assert dossier.status == "refused"


def test_silence_refusal_leaves_decided_domains_and_puts_a_partly_selected_dossier_in_progress(world):
    """Annex 4 §1: « l'ARS peut décider de sélectionner seulement une partie des domaines »: the silence refuses
    only what is still pending."""
    dossier = transmitted(world.member, datetime.date(2020, 1, 15), status="under_review", domains=("D2", "D3"))
    DossierDomain.objects.filter(dossier=dossier, domain_code="D2").update(
        status="selected", decided_at=at(datetime.date(2020, 3, 1)), seed_amount=Decimal("20000.00")
    )
    decisions.refuse_silent_dossiers(datetime.date(2020, 6, 1))
    dossier.refresh_from_db()
    statuses = dict(dossier.domains.values_list("domain_code", "status"))
    assert dossier.status == "in_progress"
    assert statuses == {"D2": "selected", "D3": "refused"}
    assert DossierDomain.objects.get(dossier=dossier, domain_code="D2").decision_reason == ""
    message = Notification.objects.first().message
    assert "les domaines encore en attente sont réputés refusés (annexe 4 §1) : D3" in message
    d2 = DossierDomain.objects.get(dossier=dossier, domain_code="D2")
    assert set(DossierLetter.objects.values_list("kind", "event_key")) == {
        ("selection", f"selection:{dossier.pk}"), ("funding_agreement", f"agreement:{dossier.pk}"),
        ("seed_decision", f"seed:{d2.pk}"),
    }


def test_silence_refusal_only_for_dossiers_awaiting_a_decision(world):
    draft = DossierFactory(establishment=world.member)
    in_progress = transmitted(world.member, datetime.date(2019, 9, 2), status="in_progress")
    refused = transmitted(world.member, datetime.date(2019, 9, 2), status="refused")
    assert decisions.refuse_silent_dossiers(datetime.date(2021, 1, 1))["dossiers"] == 0
    for dossier, status in ((draft, "draft"), (in_progress, "in_progress"), (refused, "refused")):
        dossier.refresh_from_db()
        assert dossier.status == status
    assert not DeadlineEvent.objects.exists() and not Notification.objects.exists()


# --- b. Reminder to the ARS at three months and three weeks --------------------------------------------------------


def test_reminder_to_the_ars_three_months_and_three_weeks_after_transmission(world):
    dossier = transmitted(world.member, datetime.date(2020, 1, 15))  # 15/04 + 21 days = 06/05
    assert decisions.remind_ars_of_pending_decisions(datetime.date(2020, 5, 5)) == {"dossiers": 0, "notifications": 0}
    assert decisions.remind_ars_of_pending_decisions(datetime.date(2020, 5, 6)) == {"dossiers": 1, "notifications": 1}
    assert recipients(dossier.reference) == emails(world.ars_a)
    message = Notification.objects.get().message
    assert "transmis le 15/01/2020" in message and "Sans décision au plus tard le 15/05/2020, il sera réputé refusé" in message
    assert decisions.remind_ars_of_pending_decisions(datetime.date(2020, 5, 7)) == {"dossiers": 0, "notifications": 0}
    assert DeadlineEvent.objects.filter(kind="review_reminder").count() == 1


def test_no_reminder_once_the_four_months_are_over_or_the_dossier_decided(world):
    late = transmitted(world.member, datetime.date(2020, 1, 15))
    decided = transmitted(world.member, datetime.date(2020, 1, 20), status="in_progress")
    run_deadlines(datetime.date(2020, 5, 16))
    late.refresh_from_db()
    assert late.status == "refused"
    assert not DeadlineEvent.objects.filter(kind="review_reminder").exists()
    assert decisions.remind_ars_of_pending_decisions(datetime.date(2020, 5, 26))["dossiers"] == 0
    assert decided.status == "in_progress"


# --- c. Initialisation not done within a month and a half ----------------------------------------------------------


def test_alert_when_the_initialisation_is_not_done_within_a_month_and_a_half(world):
    dossier = initialisation_requested(world.member, datetime.date(2020, 1, 15))  # 15/02 + 15 days = 01/03
    initialised = initialisation_requested(world.member, datetime.date(2020, 1, 15))
    initialised.status = "draft"
    initialised.save()
    assert decisions.alert_overdue_initialisations(datetime.date(2020, 3, 1))["dossiers"] == 0  # its last day
    assert decisions.alert_overdue_initialisations(datetime.date(2020, 3, 2)) == {"dossiers": 1, "notifications": 3}
    assert recipients(dossier.reference) == emails(world.ars_a, world.editor, world.director)
    assert recipients(initialised.reference) == set()
    assert "le délai d'un mois et demi a expiré le 01/03/2020" in Notification.objects.first().message
    assert decisions.alert_overdue_initialisations(datetime.date(2020, 4, 1))["dossiers"] == 0


# --- d. Refund of the seed at the prerequisites deadline (annex 2 §2) ----------------------------------------------


def test_refund_claim_of_the_seed_paid_when_the_prerequisites_are_not_reached_at_the_deadline(world):
    domain = selected_domain(world.member)
    pay_seed(domain, Decimal("12345.67"))
    unpaid = selected_domain(world.member, code="D3")  # seed decided, never paid: nothing to claim
    assert refunds.claim_refunds_for_unmet_prerequisites(datetime.date(2020, 12, 31))["claims"] == 0
    assert not LedgerEntry.objects.filter(kind="refund_claim").exists()

    counts = refunds.claim_refunds_for_unmet_prerequisites(datetime.date(2021, 1, 1))
    assert counts == {"domains": 1, "claims": 1, "notifications": 3, "letters": 1}
    claim = LedgerEntry.objects.get(kind="refund_claim")
    assert (claim.pot, claim.amount, claim.dossier_domain, claim.idempotency_key) == (
        "seed", Decimal("12345.67"), domain, f"prerequisites-refund:{domain.pk}:seed"
    )
    assert "Prérequis HOP'EN non atteints à l'échéance du 01/01/2021" in claim.label
    assert DeadlineEvent.objects.get(kind="prerequisites_refund").domain == domain
    assert not DeadlineEvent.objects.filter(domain=unpaid).exists()
    letter = DossierLetter.objects.get()
    assert (letter.kind, letter.event_key, letter.domain) == ("refund_claim", f"refund:{claim.pk}", domain)
    assert recipients(domain.dossier.reference) == emails(world.editor, world.director, world.ars_a)
    assert "(12\u00a0345,67\u00a0€)" in Notification.objects.first().message


def test_refund_claims_of_two_domains_of_a_dossier_have_numbered_letters(
    world, sent_tasks, django_capture_on_commit_callbacks
):
    """The letters are inserted together (funding.letters.services.request_letters), numbered after the dossier's
    letters of the same kind as funding.letters.services.request_letter numbers them, and generated after the commit
    (the task `funding.tasks.generate_letter`, sent by name through `hopen.tasking`)."""
    d2 = selected_domain(world.member)
    d3 = DossierDomainFactory(dossier=d2.dossier, domain_code="D3", status="selected", seed_amount=Decimal("5000.00"))
    pay_seed(d2)
    pay_seed(d3)
    reference = d2.dossier.reference
    DossierLetter.objects.create(
        dossier=d2.dossier, kind="refund_claim", event_key="refund:earlier", reference=f"{reference}-REM-01"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert refunds.claim_refunds_for_unmet_prerequisites(datetime.date(2021, 1, 1))["letters"] == 2
    letters = DossierLetter.objects.exclude(event_key="refund:earlier").order_by("reference")
    assert [(letter.reference, letter.domain) for letter in letters] == [
        (f"{reference}-REM-02", d2), (f"{reference}-REM-03", d3)
    ]
    assert sent_tasks == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    enqueued = [task["letter_id"] for task in sent_tasks.of("funding.tasks.generate_letter")]
    assert sorted(enqueued) == sorted(letter.pk for letter in letters)
    # one e-mail per claimed domain, to the establishment and its ARS
    assert len(sent_tasks.of("hopen.tasks.send_email")) == 2


def test_no_refund_claim_when_the_prerequisites_are_reached(world):
    domain = selected_domain(world.member)
    pay_seed(domain)
    declare_prerequisites(world.member, editor=world.editor, director=world.director)
    assert refunds.claim_refunds_for_unmet_prerequisites(datetime.date(2021, 1, 1))["claims"] == 0
    assert not LedgerEntry.objects.filter(kind="refund_claim").exists()
    assert not DeadlineEvent.objects.exists()


def test_no_refund_claim_for_a_closed_dossier(world):
    domain = selected_domain(
        world.member, status="closed", closed_at=at(datetime.date(2020, 6, 1)), closure_kind="abandonment",
        closure_reason="Projet abandonné",
    )
    pay_seed(domain)
    assert refunds.claim_refunds_for_unmet_prerequisites(datetime.date(2021, 1, 1))["claims"] == 0


def test_refund_claim_for_a_ght_dossier_when_one_candidate_member_has_not_reached_the_prerequisites(world):
    """Annex 3 §2: the GHT's support establishment receives the sum of its candidate members' amounts; each member
    commits to the prerequisites (§5.3.1 « L'engagement de l'établissement / GHT »)."""
    domain = selected_domain(world.support, ght=world.ght, with_member=False)
    DossierMember.objects.create(dossier=domain.dossier, establishment=world.support)
    DossierMember.objects.create(dossier=domain.dossier, establishment=world.member)
    pay_seed(domain)
    declare_prerequisites(world.member, editor=world.editor, director=world.director)
    assert refunds.claim_refunds_for_unmet_prerequisites(datetime.date(2021, 1, 1))["claims"] == 1
    # annex 2 §2 per member share: the support (behind, the only share of this domain) is claimed its part
    share = domain.shares.get()
    assert DeadlineEvent.objects.get().detail == "CH Support : prérequis HOP'EN non atteints au 01/01/2021."
    assert LedgerEntry.objects.get(kind="refund_claim").idempotency_key == (
        f"prerequisites-refund:{domain.pk}:share:{share.pk}:seed"
    )


# --- e. Target deadlines ---------------------------------------------------------------------------------------------


def test_alerts_before_and_after_a_selected_domains_target_deadline(world):
    domain = selected_domain(world.member, target_deadline=datetime.date(2022, 6, 30))
    reached = selected_domain(world.member, code="D3", target_deadline=datetime.date(2022, 6, 30))
    DossierDomain.objects.filter(pk=reached.pk).update(status="targets_reached")
    alert = follow_up.alert_target_deadlines
    assert alert(datetime.date(2022, 3, 29))["target_soon"] == 0
    assert alert(datetime.date(2022, 3, 30))["target_soon"] == 1  # three months before 30/06
    assert recipients("échéance d'atteinte des cibles d'usage est le 30/06/2022") == emails(
        world.editor, world.director, world.ars_a
    )
    assert alert(datetime.date(2022, 6, 30)) == {
        "target_soon": 0, "target_passed": 0, "programme_soon": 0, "programme_passed": 0, "notifications": 0
    }
    assert alert(datetime.date(2022, 7, 1))["target_passed"] == 1
    assert alert(datetime.date(2022, 7, 2))["target_passed"] == 0
    # A re-forecast deadline (project review) is a new deadline, with its own alerts.
    DossierDomain.objects.filter(pk=domain.pk).update(status="selected", target_deadline=datetime.date(2022, 9, 30))
    assert alert(datetime.date(2022, 7, 3))["target_soon"] == 1
    assert set(DeadlineEvent.objects.values_list("key", flat=True)) == {
        f"target_deadline_soon:{domain.pk}:2022-06-30",
        f"target_deadline_passed:{domain.pk}:2022-06-30",
        f"target_deadline_soon:{domain.pk}:2022-09-30",
    }
    assert not DeadlineEvent.objects.filter(domain=reached).exists()


def test_alerts_around_the_programmes_usage_targets_deadline(world):
    """§5.3.1 « avant le 1er janvier 2023 »: alerts from 01/10/2022, then from 01/01/2023 (already late)."""
    domain = selected_domain(world.member, target_deadline=datetime.date(2023, 6, 30))
    alert = follow_up.alert_target_deadlines
    assert alert(datetime.date(2022, 9, 30))["programme_soon"] == 0
    assert alert(datetime.date(2022, 10, 1))["programme_soon"] == 1
    assert alert(datetime.date(2022, 12, 31))["programme_soon"] == 0
    assert alert(datetime.date(2023, 1, 1))["programme_passed"] == 1
    assert alert(datetime.date(2023, 1, 2))["programme_passed"] == 0
    assert DeadlineEvent.objects.filter(domain=domain).count() == 2
    assert recipients("doivent être atteintes avant le 01/01/2023") == emails(world.editor, world.director, world.ars_a)


# --- f. The ARS's annual report -----------------------------------------------------------------------------------


def test_annual_report_reminder_before_31_january_once_per_region_and_year(world):
    remind = follow_up.remind_annual_reports
    regions = Region.objects.count()
    assert remind(datetime.date(2021, 1, 9)) == {"regions": 0, "notifications": 0}
    assert remind(datetime.date(2021, 1, 10)) == {"regions": regions, "notifications": 2}  # 31/01 − 21 days
    assert recipients("exécution du programme Hôpital numérique ouvert sur son environnement en 2020") == emails(world.ars_a, world.ars_b)
    assert "avant le 31/01/2021 (annexe 4 §3)" in Notification.objects.first().message
    assert remind(datetime.date(2021, 1, 31))["regions"] == 0
    assert remind(datetime.date(2021, 2, 1))["regions"] == 0
    assert remind(datetime.date(2022, 1, 31))["regions"] == regions
    assert DeadlineEvent.objects.filter(kind="annual_report_reminder").count() == 2 * regions


# --- The whole sweep: idempotent, exactly once under concurrency, constant number of queries -----------------------

AS_OF = datetime.date(2021, 1, 15)


def scene(tenants, copies=1):
    """Dossiers due for every job on 15/01/2021, `copies` of each, in region A."""
    for _ in range(copies):
        establishment = EstablishmentFactory(region=tenants.region_a)
        transmitted(establishment, datetime.date(2020, 9, 1), domains=("D2", "D3"))  # refused from 02/01/2021
        transmitted(establishment, datetime.date(2020, 9, 20), status="under_review")  # reminder from 10/01/2021
        initialisation_requested(establishment, datetime.date(2020, 11, 20))  # overdue from 05/01/2021
        pay_seed(selected_domain(establishment, target_deadline=datetime.date(2021, 3, 31)))  # refund + soon


def table_counts():
    return {
        "events": DeadlineEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "audit": AuditRecord.objects.count(),
        "letters": DossierLetter.objects.count(),
        "refused": DossierDomain.objects.filter(status="refused").count(),
    }


EXPECTED_ONCE = {
    "silence_refusals": {"dossiers": 1, "domains": 2, "notifications": 1, "letters": 1},
    "review_reminders": {"dossiers": 1, "notifications": 1},
    "initialisation_alerts": {"dossiers": 1, "notifications": 1},
    "prerequisites_refunds": {"domains": 1, "claims": 1, "notifications": 1, "letters": 1},
    "target_alerts": {"target_soon": 1, "target_passed": 0, "programme_soon": 0, "programme_passed": 0,
                      "notifications": 1},
    "audit_responses": {"reminders": 0, "overdue": 0, "notifications": 0},  # no audit in this scene
}


def test_running_the_sweep_twice_changes_nothing_the_second_time(world):
    scene(world)
    first = run_deadlines(AS_OF)
    regions = Region.objects.count()
    assert first == {**EXPECTED_ONCE, "annual_report_reminders": {"regions": regions, "notifications": 2}}
    after_first = table_counts()
    assert after_first["events"] == 5 + regions
    second = run_deadlines(AS_OF)
    assert all(n == 0 for counts in second.values() for n in counts.values()), second
    assert table_counts() == after_first


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_time_do_everything_exactly_once(tenants, catalogue):
    """(The ledger's rows are emptied after this test by tests/conftest.py's `_ledger_flushable`.)"""
    open_envelope(tenants.region_a, seed=Decimal("1000000.00"))
    scene(tenants, copies=3)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(run_deadlines(AS_OF))
        except Exception as exc:  # reported below: an exception in a thread does not fail the test by itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(results) == 2
    regions = Region.objects.count()
    totals = {
        job: {name: sum(result[job][name] for result in results) for name in results[0][job]} for job in results[0]
    }
    assert totals["silence_refusals"] == {"dossiers": 3, "domains": 6, "notifications": 3, "letters": 3}
    assert totals["prerequisites_refunds"] == {"domains": 3, "claims": 3, "notifications": 3, "letters": 3}
    assert totals["review_reminders"]["dossiers"] == totals["initialisation_alerts"]["dossiers"] == 3
    assert totals["target_alerts"]["target_soon"] == 3
    assert totals["annual_report_reminders"]["regions"] == regions
    assert DeadlineEvent.objects.count() == 15 + regions
    assert LedgerEntry.objects.filter(kind="refund_claim").count() == 3
    assert DossierLetter.objects.count() == 6
    assert Notification.objects.count() == 3 * 5 + 2  # one ARS officer in region A; two ARS for the report
    assert AuditRecord.objects.filter(action="dossier.refuse_for_silence").count() == 3
    assert AuditRecord.objects.filter(action="ledger.refund_claim").count() == 3


def test_the_sweep_uses_the_same_number_of_queries_for_3_and_for_30_dossiers(world):
    def queries(copies):
        scene(world, copies)
        with CaptureQueriesContext(connection) as context:
            results = run_deadlines(AS_OF)
        assert results["silence_refusals"]["dossiers"] == copies
        assert results["prerequisites_refunds"]["claims"] == copies
        DeadlineEvent.objects.filter(kind="annual_report_reminder").delete()  # the next scene reminds again
        return len(context.captured_queries)

    assert queries(3) == queries(30)


# --- Entry points ----------------------------------------------------------------------------------------------------


def test_management_command_prints_the_counts_in_french(world):
    scene(world)
    out = io.StringIO()
    call_command("run_deadlines", "--as-of", "2021-01-15", stdout=out)
    text = out.getvalue()
    assert "Échéances au 15/01/2021 :" in text
    assert "- Refus implicites (annexe 4 §1) : 1 dossier(s), 2 domaine(s), 1 notification(s), 1 courrier(s)" in text
    assert ("- Remboursements : prérequis non atteints à l'échéance : 1 domaine(s), 1 demande(s) de "
            "remboursement") in text
    with pytest.raises(CommandError, match="Date invalide « 15/01/2021 »"):
        call_command("run_deadlines", "--as-of", "15/01/2021")


def test_celery_task_runs_the_sweep(world):
    scene(world)
    assert run_deadlines_task("2021-01-15")["silence_refusals"]["dossiers"] == 1


def test_the_sweep_is_scheduled_daily(db):
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", stdout=io.StringIO())
    task = PeriodicTask.objects.get(task="funding.tasks.run_deadlines_task")
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("2", "45", "Europe/Paris")

"""The ARS side of the AMI (instruction §5.3.2 « Etape 1 », annexes 2 and 4): the region's pre-candidatures, the
decisions per domain and their notification, the multi-year programming and its transmission to the DGOS.

Helpers and fixtures here are shared by tests/ami/test_exports.py and tests/ami/test_api.py.
"""

import datetime
import html
import itertools
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ami import programming
from ami.models import Decision, FilingStatus, PreCandidature, PreCandidatureDomain
from ami.services import (
    DomainChoice,
    pre_candidature_decide,
    pre_candidature_validate,
    pre_candidature_validate_as_support,
)
from ami.estimates import refresh_estimates
from funding.loading import load_amount_grid
from funding.loading_envelopes import FIXTURE as HOPEN_ENVELOPES
from indicators.loading import load_envelope_table
from funding.models import CombinedActivity
from hopen.models import AuditRecord, Notification, Role
from indicators.models import Programme
from tests.ami.conftest import LATE, ON_TIME, hopen_programme, save_draft
from tests.factories import EstablishmentFactory, user_with_role

pytestmark = pytest.mark.django_db

LIST = reverse("ami:ars_list")
PROGRAMMING = reverse("ami:programming")
B_LOWER = Decimal("7000")  # annex 3: category B starts at 7 000 — D2 250 k€, D3 200 k€, D4 75 k€
C_LOWER = Decimal("22500")  # category C starts at 22 500 — D2 350 k€, D3 300 k€


# --- Shared helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def ami_world(tenants, catalogue):
    """The tenants, the programme calendar and catalogue, the annex-3 grid, the annex-2 envelope table (kept on the
    programme) and combined activities."""
    load_amount_grid()
    load_envelope_table(data=json.loads(HOPEN_ENVELOPES.read_text(encoding="utf-8")))
    CombinedActivity.objects.create(establishment=tenants.member, source_year=2023, computed=B_LOWER)
    CombinedActivity.objects.create(establishment=tenants.clinic, source_year=2023, computed=C_LOWER)
    CombinedActivity.objects.create(establishment=tenants.foreign, source_year=2023, computed=B_LOWER)
    return tenants


def file_pre_candidature(establishment, data, *, now=ON_TIME, editor=None, director=None, support_director=None):
    """Enter, validate (director, then GHT support when needed) through the services, with a frozen clock."""
    director = director or user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)
    pre = save_draft(establishment=establishment, data=data, by=editor or director, now=now)
    pre = pre_candidature_validate(pre_candidature=pre, by=director, now=now)
    if pre.status == FilingStatus.AWAITING_SUPPORT:
        support_director = support_director or user_with_role(Role.GHT_SUPPORT_DIRECTOR, ght=establishment.ght)
        pre = pre_candidature_validate_as_support(pre_candidature=pre, by=support_director, now=now)
    assert pre.status == FilingStatus.FILED
    return pre


def domain_of(pre, code) -> PreCandidatureDomain:
    return pre.domains.get(domain_code=code)


_counter = itertools.count(1)


def bulk_filed(region, count, *, domains=("D2", "D3"), decision=Decision.PENDING, ght=None):
    """`count` filed pre-candidatures in `region` (ORM bulk, for query counts and volume)."""
    programme = Programme.objects.get(code="HOPEN")
    establishments = [
        EstablishmentFactory(region=region, ght=ght, name=f"Hôpital en nombre {next(_counter):04d}") for _ in range(count)
    ]
    CombinedActivity.objects.bulk_create(
        CombinedActivity(establishment=e, source_year=2023, computed=Decimal(10_000 + i * 1_000))
        for i, e in enumerate(establishments)
    )
    pres = PreCandidature.objects.bulk_create(
        PreCandidature(
            establishment=e, programme=programme, position="final", status=FilingStatus.FILED,
            validated_at=ON_TIME, filed_at=ON_TIME,
        )
        for e in establishments
    )
    PreCandidatureDomain.objects.bulk_create(
        PreCandidatureDomain(
            pre_candidature=pre, domain_code=code, forecast_semester="2021 S2", priority=rank, decision=decision,
            decision_reason="Enveloppe consommée" if decision == Decision.REJECTED else "",
        )
        for pre in pres
        for rank, code in enumerate(domains, start=1)
    )
    refresh_estimates(pre_candidature_ids=[pre.pk for pre in pres])  # what the AMI services do on save
    return pres


def query_count(client, url, **params):
    client.get(url, params)  # the session's expiry refresh (at most every few minutes) is not what is counted
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(queries)


# --- Pure functions (ami/programming.py) -------------------------------------------------------------------------


def test_annex_2_seed_is_20_percent_and_seed_plus_usage_is_the_amount():
    assert programming.split_seed_usage(Decimal("250000")) == (Decimal("50000.00"), Decimal("200000.00"))
    seed, usage = programming.split_seed_usage(Decimal("100000.03"))
    assert (seed, usage) == (Decimal("20000.01"), Decimal("80000.02"))
    assert seed + usage == Decimal("100000.03")


def test_annex_2_seed_in_the_filing_year_usage_in_the_year_of_the_forecast_semester():
    plan = programming.planned_funding(domain="D2", amount=Decimal("250000"), filing_year=2019, forecast_semester="2021 S2")
    assert (plan.seed_year, plan.usage_year) == (2019, 2021)
    totals = programming.programming_totals([
        plan,
        programming.planned_funding(domain="D3", amount=Decimal("300000"), filing_year=2020, forecast_semester="2022 S1"),
        programming.planned_funding(domain="D2", amount=Decimal("350000"), filing_year=2019, forecast_semester="2019 S2"),
    ])
    assert totals.years == [2019, 2020, 2021, 2022]
    assert totals.by_year[2019].seed == Decimal("120000.00")  # 50 000 + 70 000
    assert totals.by_year[2019].usage == Decimal("280000.00")  # 80 % of 350 000 reached in 2019 S2
    assert (totals.by_year[2020].seed, totals.by_year[2020].usage) == (Decimal("60000.00"), 0)
    assert totals.by_year[2021].usage == Decimal("200000.00")
    assert totals.by_year[2022].usage == Decimal("240000.00")
    assert totals.by_domain["D2"].total == Decimal("600000.00")
    assert totals.by_domain_year[("D2", 2019)].total == Decimal("400000.00")
    assert totals.total.total == Decimal("900000.00") and totals.total.seed == Decimal("180000.00")
    assert [row["domain"] for row in totals.table()] == ["D2", "D3"]


def test_annex_2_seed_cap_is_20_percent_of_the_regional_envelope():
    use = programming.envelope_use(envelope=Decimal("37018000"), planned=Decimal("1000000"), seed_planned=Decimal("7403600.01"))
    assert use.envelope == Decimal("37018000") and use.seed_cap == Decimal("7403600.00")
    assert use.seed_over_cap and not use.over_envelope
    assert use.planned_percent == Decimal("2.7")


def test_5_1_balance_groups_public_private_espic():
    assert programming.balance_status("public", False) == programming.PUBLIC
    assert programming.balance_status("private_for_profit", False) == programming.PRIVATE
    assert programming.balance_status("private_non_profit", False) == programming.PRIVATE
    assert programming.balance_status("private_non_profit", True) == programming.ESPIC
    assert programming.balance_status("clcc", False) == programming.ESPIC
    result = programming.balance([
        programming.BalanceLine(1, programming.PUBLIC, ("MCO", "SSR"), Decimal("300")),
        programming.BalanceLine(1, programming.PUBLIC, ("MCO", "SSR"), Decimal("100")),
        programming.BalanceLine(2, programming.ESPIC, ("PSY",), Decimal("100")),
    ])
    statuses = {row.key: row for row in result["statuses"]}
    assert (statuses["public"].establishments, statuses["public"].domains, statuses["public"].amount) == (1, 2, 400)
    assert statuses["public"].amount_percent == Decimal("80.0") and statuses["private"].establishments == 0
    activities = {row.key: row for row in result["activities"]}
    assert activities["SSR"].establishment_percent == Decimal("50.0") and activities["HAD"].domains == 0


def test_estimated_amount_is_the_annex_3_standard_rate(ami_world):
    from funding.selectors import amount_grid

    grid = amount_grid(hopen_programme())
    assert programming.estimated_amount(B_LOWER, "D2", grid) == Decimal("250000.00")
    assert programming.estimated_amount(Decimal("2000000"), "D1", grid) == Decimal("575000.00")  # standard, not +20 %
    assert programming.estimated_amount(None, "D2", grid) is None


# --- The region's list -------------------------------------------------------------------------------------------


@pytest.fixture
def filed_pair(ami_world, ami_input):
    """Member (region A, public, GHT) on time with D2 2021 S1 and D3 2022 S1; clinic (region A, private) late
    with D4; foreign (region B) with D2."""
    t = ami_world
    member = file_pre_candidature(t.member, ami_input(), editor=t.editor, director=t.director)
    clinic = file_pre_candidature(
        t.clinic, ami_input(position="planned", domains=[DomainChoice("D4", "2022 S2", 1)]), now=LATE
    )
    foreign = file_pre_candidature(t.foreign, ami_input(domains=[DomainChoice("D2", "2020 S2", 1)]))
    return member, clinic, foreign


def test_ars_sees_its_region_dgos_the_nation_others_are_refused(client, ami_world, filed_pair):
    t = ami_world
    client.force_login(t.ars_a)
    response = client.get(LIST)
    assert response.status_code == 200
    finesses = {row["pre_candidature"].establishment.finess for row in response.context["rows"]}
    assert finesses == {t.member.finess, t.clinic.finess}
    assert t.foreign.finess not in response.content.decode()
    # a foreign region in the filter is dropped, never widening the scope
    response = client.get(LIST, {"region": t.region_b.code})
    assert {row["pre_candidature"].establishment.finess for row in response.context["rows"]} == finesses

    client.force_login(t.dgos)
    response = client.get(LIST)
    assert len(response.context["rows"]) == 3
    response = client.get(LIST, {"region": t.region_b.code})
    assert [row["pre_candidature"].establishment.finess for row in response.context["rows"]] == [t.foreign.finess]

    for user in (t.editor, t.director, t.ght_director):
        client.force_login(user)
        assert client.get(LIST).status_code == 403
    client.logout()
    assert client.get(LIST).status_code == 302


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"domain": "D3"}, {"member"}),
        ({"domain": "D4"}, {"clinic"}),
        ({"position": "planned"}, {"clinic"}),
        ({"sector": "private"}, {"clinic"}),  # the sectors of the ledger (hopen.sectors)
        ({"sector": "public"}, {"member"}),
        ({"late": "oui"}, {"clinic"}),
        ({"late": "non"}, {"member", "psy"}),
        ({"sector": "espic"}, {"psy"}),
        ({"ght": "HF-99"}, {"member"}),
        ({"activity": "PSY"}, {"psy"}),
        ({"decision": "preselected"}, set()),
        ({"filing": "draft"}, {"draft"}),
    ],
)
def test_list_filters(client, ami_world, filed_pair, ami_input, params, expected):
    t = ami_world
    psy = EstablishmentFactory(
        region=t.region_a, status="private_non_profit", is_espic=True, has_mco=False, has_psy=True, name="EPSM privé"
    )
    file_pre_candidature(psy, ami_input(domains=[DomainChoice("D5", "2021 S1", 1)]))
    draft = EstablishmentFactory(region=t.region_a, name="CH en préparation")
    save_draft(
        establishment=draft, data=ami_input(), by=user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=draft)
    )
    names = {t.member.pk: "member", t.clinic.pk: "clinic", psy.pk: "psy", draft.pk: "draft"}
    client.force_login(t.ars_a)
    response = client.get(LIST, params)
    assert {names[row["pre_candidature"].establishment_id] for row in response.context["rows"]} == expected


def test_totals_per_domain_and_year_next_to_the_regional_envelope(client, ami_world, filed_pair):
    """§5.3.2 / annex 2: the ARS weighs the estimated amounts against its envelope (Hauts-de-France: 37 018 k€)."""
    t = ami_world
    member, _, _ = filed_pair
    pre_candidature_decide(domain=domain_of(member, "D2"), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    client.force_login(t.ars_a)
    response = client.get(LIST)
    totals = response.context["totals"]
    assert totals.by_domain_year == {
        ("D2", 2021): Decimal("250000.00"),  # member, category B
        ("D3", 2022): Decimal("200000.00"),
        ("D4", 2022): Decimal("200000.00"),  # clinic, category C lower bound
    }
    assert totals.by_year == {2021: Decimal("250000.00"), 2022: Decimal("400000.00")}
    assert totals.total == Decimal("650000.00")
    assert response.context["preselected_totals"].total == Decimal("250000.00")
    envelope = response.context["envelope"]
    # The envelopes are not opened in this world: the programme's table, in euros like every other page.
    assert envelope.amount == Decimal("37018000") and "Hauts-de-France" in envelope.label
    assert response.context["envelope_requested"].planned_percent == Decimal("1.8")
    page = response.content.decode()
    assert "37\xa0018\xa0000,00\xa0€" in page
    # the balance between statuses and activities (§5.1): member public, clinic private
    statuses = {row.key: row for row in response.context["balance"]["statuses"]}
    assert (statuses["public"].establishments, statuses["public"].domains) == (1, 2)
    assert (statuses["private"].establishments, statuses["private"].amount) == (1, Decimal("200000.00"))
    assert statuses["espic"].establishments == 0
    # DGOS, national: the national total of annex 2
    client.force_login(t.dgos)
    response = client.get(LIST)
    # The sum of the regional rows (419 999 k€), as the ledger opens them, not the printed total (420 000 k€).
    assert response.context["envelope"].amount == Decimal("419999000")
    assert response.context["totals"].by_domain_year[("D2", 2020)] == Decimal("250000.00")
    response = client.get(LIST, {"region": t.region_b.code})
    assert response.context["envelope"].amount == Decimal("21511000")  # Bretagne


def test_domain_filter_restricts_the_totals_to_that_domain(client, ami_world, filed_pair):
    client.force_login(ami_world.ars_a)
    totals = client.get(LIST, {"domain": "D3"}).context["totals"]
    assert totals.counts == {"D3": 1} and totals.total == Decimal("200000.00")


def test_list_uses_a_constant_number_of_queries(client, ami_world):
    t = ami_world
    client.force_login(t.ars_a)
    bulk_filed(t.region_a, 3, ght=t.ght)
    few = query_count(client, LIST)
    bulk_filed(t.region_a, 40, ght=t.ght, decision=Decision.PRESELECTED)
    assert query_count(client, LIST) == few
    assert query_count(client, LIST, page=2, domain="D2") == few
    client.force_login(t.dgos)
    assert query_count(client, LIST) <= few + 1


# --- One pre-candidature: decisions and notifications ----------------------------------------------------------


def detail(pre):
    return reverse("ami:ars_detail", args=[pre.pk])


def test_ars_preselects_some_domains_and_rejects_one_with_a_reason_the_establishment_is_notified(
    client, ami_world, filed_pair, sent_tasks, django_capture_on_commit_callbacks
):
    """Annex 4 §1: « l'ARS peut décider de sélectionner seulement une partie des domaines » and « doit indiquer
    à l'établissement / GHT les raisons de son refus »; the establishment is notified (in-app, e-mail after commit)."""
    t = ami_world
    member, _, _ = filed_pair
    d2, d3 = domain_of(member, "D2"), domain_of(member, "D3")
    client.force_login(t.ars_a)
    response = client.get(detail(member))
    assert response.status_code == 200
    assert f'name="domaine-{d2.pk}-decision"' in response.content.decode()
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(detail(member), {"domain": d2.pk, f"domaine-{d2.pk}-decision": "preselected"})
    assert response.status_code == 302 and response.url.endswith("#domaine-D2")
    assert len(callbacks) == 1
    (sent,) = sent_tasks.of("hopen.tasks.send_email")
    assert sorted(sent["recipients"]) == sorted([t.editor.email, t.director.email])
    assert "D2" in sent["body"] and "présélectionné" in sent["body"]

    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail(member), {
            "domain": d3.pk, f"domaine-{d3.pk}-decision": "rejected",
            f"domaine-{d3.pk}-reason": "Enveloppe 2022 déjà programmée",
        })
    assert "Enveloppe 2022 déjà programmée" in sent_tasks.of("hopen.tasks.send_email")[-1]["body"]

    d2.refresh_from_db()
    d3.refresh_from_db()
    assert (d2.decision, d2.decided_by) == (Decision.PRESELECTED, t.ars_a)
    assert (d3.decision, d3.decision_reason) == (Decision.REJECTED, "Enveloppe 2022 déjà programmée")
    notified = Notification.objects.filter(recipient__in=[t.editor, t.director])
    assert notified.count() == 4
    assert notified.filter(message__contains="non retenu (Enveloppe 2022 déjà programmée)").count() == 2
    assert AuditRecord.objects.filter(action="pre_candidature.decide", actor=t.ars_a).count() == 2
    # the page shows both decisions, with the reason
    page = client.get(detail(member)).content.decode()
    assert "Présélectionné" in page and "motif : Enveloppe 2022 déjà programmée" in page
    # Issue 16 item 3: the history panel reads as the audit trail (`ami.audit_labels`, choices by their label).
    panel = " ".join(re.sub(r"<[^>]+>", "", html.unescape(page).split('id="historique"')[1].split("</table>")[0]).split())
    assert panel.count("Présélection décidée par l'ARS") == 2 and t.ars_a.get_full_name() in panel
    assert "Décision ARS : En attente → Non retenu" in panel and "Motif : — → Enveloppe 2022 déjà programmée" in panel
    assert "pre_candidature." not in panel and "rejected" not in panel
    # only D2 reaches the programming
    response = client.get(PROGRAMMING)
    assert [(line.row["domain_code"]) for line in response.context["lines"]] == ["D2"]


def test_rejection_without_reason_is_refused_and_the_input_kept(client, ami_world, filed_pair):
    t = ami_world
    member, _, _ = filed_pair
    d3 = domain_of(member, "D3")
    client.force_login(t.ars_a)
    response = client.post(detail(member), {
        "domain": d3.pk, f"domaine-{d3.pk}-decision": "rejected", f"domaine-{d3.pk}-reason": "   ",
    })
    assert response.status_code == 200
    page = response.content.decode()
    assert "Le motif est obligatoire pour ne pas retenir un domaine." in page
    assert f'id="id_domaine-{d3.pk}-decision_1" name="domaine-{d3.pk}-decision" value="rejected" checked' in page
    d3.refresh_from_db()
    assert d3.decision == Decision.PENDING
    assert not AuditRecord.objects.filter(action="pre_candidature.decide").exists()
    # the service refuses it too, whatever the caller
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        pre_candidature_decide(domain=d3, decision=Decision.REJECTED, reason="", by=t.ars_a)


def test_detail_scopes(client, ami_world, filed_pair):
    """Out of scope: 404 (GET and POST); readers (DGOS, the establishment): the page without forms, 403 on POST."""
    t = ami_world
    member, _, foreign = filed_pair
    d2 = domain_of(member, "D2")
    post = {"domain": d2.pk, f"domaine-{d2.pk}-decision": "preselected"}

    client.force_login(t.ars_b)
    assert client.get(detail(member)).status_code == 404
    assert client.post(detail(member), post).status_code == 404
    assert client.get(detail(foreign)).status_code == 200

    clinic_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=t.clinic)
    client.force_login(clinic_editor)
    assert client.get(detail(member)).status_code == 404

    for reader in (t.dgos, t.director, t.auditor):
        client.force_login(reader)
        response = client.get(detail(member))
        assert response.status_code == 200
        assert "-decision" not in response.content.decode()
        assert client.post(detail(member), post).status_code == 403
    d2.refresh_from_db()
    assert d2.decision == Decision.PENDING

    client.force_login(t.ars_a)
    assert client.post(detail(member), {"domain": 999999, "domaine-999999-decision": "preselected"}).status_code == 404
    assert client.get(reverse("ami:ars_detail", args=[999999])).status_code == 404


def test_no_decision_before_filing(client, ami_world, ami_input):
    """A GHT member's pre-candidature counts as filed only once its support validated it (§5.3.2)."""
    t = ami_world
    pre = save_draft(establishment=t.member, data=ami_input(), by=t.editor)
    pre = pre_candidature_validate(pre_candidature=pre, by=t.director, now=ON_TIME)
    assert pre.status == FilingStatus.AWAITING_SUPPORT
    client.force_login(t.ars_a)
    response = client.get(detail(pre))
    page = response.content.decode()
    assert "-decision" not in page and "validation de l'établissement support du GHT attendue" in page
    d2 = domain_of(pre, "D2")
    response = client.post(detail(pre), {"domain": d2.pk, f"domaine-{d2.pk}-decision": "preselected"})
    assert "n'est pas enregistrée : La pré-candidature n'est pas encore déposée." in html.unescape(response.content.decode())
    d2.refresh_from_db()
    assert d2.decision == Decision.PENDING


# --- Programming ---------------------------------------------------------------------------------------------------


def test_programming_lists_preselected_domains_by_finess_with_seed_and_usage_per_year(client, ami_world, filed_pair):
    """§5.3.2: « liste des établissements sélectionnés (classés par FINESS) et de leurs projets (classés par
    domaines) avec leur échéance […] et leur financement correspondant (dont répartition amorçage / usage) »."""
    t = ami_world
    member, clinic, foreign = filed_pair
    for pre, code in ((member, "D2"), (member, "D3"), (clinic, "D4")):
        pre_candidature_decide(domain=domain_of(pre, code), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    pre_candidature_decide(domain=domain_of(foreign, "D2"), decision=Decision.PRESELECTED, reason="", by=t.ars_b)

    client.force_login(t.ars_a)
    response = client.get(PROGRAMMING)
    assert response.status_code == 200
    lines = response.context["lines"]
    keys = [(line.row["pre_candidature__establishment__finess"], line.row["domain_code"]) for line in lines]
    assert keys == sorted(keys) and len(keys) == 3 and t.foreign.finess not in {k[0] for k in keys}
    d2 = next(line for line in lines if line.row["domain_code"] == "D2")
    assert (d2.plan.amount, d2.plan.seed, d2.plan.seed_year, d2.plan.usage, d2.plan.usage_year) == (
        Decimal("250000.00"), Decimal("50000.00"), 2019, Decimal("200000.00"), 2021,
    )
    assert d2.target_deadline == datetime.date(2021, 6, 30) and d2.status_label == "Public"
    totals = response.context["summary"].totals
    # member filed 2019: seeds 50 000 (D2) + 40 000 (D3); clinic filed late in 2020: seed 40 000 (D4, 200 000)
    assert totals.by_year[2019].seed == Decimal("90000.00")
    assert totals.by_year[2020].seed == Decimal("40000.00")
    assert totals.by_year[2021].usage == Decimal("200000.00")
    assert totals.by_year[2022].usage == Decimal("160000.00") + Decimal("160000.00")  # D3 2022 S1, D4 2022 S2
    assert totals.total.total == Decimal("650000.00") and totals.total.seed == Decimal("130000.00")
    assert response.context["summary"].establishments == 2
    assert response.context["envelope_use"].seed_cap == Decimal("7403600.00")
    assert response.context["deadline"].last_day == datetime.date(2019, 8, 30)
    assert "30/08/2019" in response.content.decode()

    client.force_login(t.dgos)
    national = client.get(PROGRAMMING).context["summary"].totals
    assert national.total.total == Decimal("900000.00")
    assert client.get(PROGRAMMING, {"region": t.region_b.code}).context["summary"].totals.total.total == Decimal("250000.00")
    client.force_login(t.director)
    assert client.get(PROGRAMMING).status_code == 403


def test_programming_is_marked_transmitted_with_an_audit_record_on_the_region(client, ami_world, filed_pair):
    t = ami_world
    member, _, _ = filed_pair
    dgos_officers = [t.dgos]
    client.force_login(t.ars_a)
    response = client.post(PROGRAMMING, {"action": "transmit"}, follow=True)
    assert "la programmation à transmettre est vide" in response.content.decode()
    assert not AuditRecord.objects.filter(action="ami.programming_transmitted").exists()

    pre_candidature_decide(domain=domain_of(member, "D2"), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    response = client.post(PROGRAMMING, {"action": "transmit"})
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="ami.programming_transmitted")
    assert (record.object_type, record.object_id, record.actor) == ("hopen.region", str(t.region_a.pk), t.ars_a)
    assert record.changes["domains"] == [None, 1] and record.changes["planned_total"] == [None, "250000.00"]
    assert record.changes["on_time"][1] is False  # transmitted after 30/08/2019
    assert Notification.objects.filter(recipient__in=dgos_officers, message__contains="transmise").count() == 1
    page = client.get(PROGRAMMING).content.decode()
    assert "Transmise le" in page and "Transmettre de nouveau" in page

    # a second transmission keeps the former figures as « before »
    pre_candidature_decide(domain=domain_of(member, "D3"), decision=Decision.PRESELECTED, reason="", by=t.ars_a)
    client.post(PROGRAMMING, {"action": "transmit"})
    second = AuditRecord.objects.filter(action="ami.programming_transmitted").order_by("-id").first()
    assert second.changes["domains"] == [1, 2]

    for user in (t.dgos, t.auditor, t.director):
        client.force_login(user)
        assert client.post(PROGRAMMING, {"action": "transmit"}).status_code == 403
    # the ARS of region B asking for region A stays on its own (empty) programming: nothing transmitted for A
    client.force_login(t.ars_b)
    response = client.post(f"{PROGRAMMING}?region={t.region_a.code}", {"action": "transmit"}, follow=True)
    assert response.context["region"] == t.region_b and "est vide" in response.content.decode()
    assert AuditRecord.objects.filter(action="ami.programming_transmitted").count() == 2


def test_programming_uses_a_constant_number_of_queries(client, ami_world):
    t = ami_world
    client.force_login(t.ars_a)
    bulk_filed(t.region_a, 3, decision=Decision.PRESELECTED)
    few = query_count(client, PROGRAMMING)
    bulk_filed(t.region_a, 40, decision=Decision.PRESELECTED)
    assert query_count(client, PROGRAMMING) == few


def test_eligibility_filter_uses_the_5_3_1_verdicts_of_the_chosen_domains(client, ami_world, filed_pair):
    """Annex 4 / issue: the ARS filters pre-candidatures by eligibility (§5.3.1), in a constant number of queries."""
    from indicators.models import PriorProgrammeResult
    from tests.indicators.conftest import declared, rate

    t = ami_world
    client.force_login(t.ars_a)

    def listed(**params):
        return {row["pre_candidature"].establishment_id for row in client.get(LIST, params).context["rows"]}

    # Nothing declared: fewer than two indicators not reached in any domain → every chosen domain is ineligible.
    assert listed(eligibility="eligible") == set()
    assert listed(eligibility="ineligible") == {t.member.pk, t.clinic.pk}
    # The member declares two indicators not reached in D2 and in D3, and its HN indicators are all entered.
    PriorProgrammeResult.objects.create(
        establishment=t.member, programme=Programme.objects.get(code="HN"), kind="indicators_complete", achieved=True
    )
    for code in ("D2.2", "D2.3", "D3.1", "D3.2"):
        declared(t.member, code, rate(1, 10), editor=t.editor, director=t.director)
    assert listed(eligibility="eligible") == {t.member.pk}
    assert listed(eligibility="eligible", domain="D3") == {t.member.pk}
    assert listed(eligibility="ineligible") == {t.clinic.pk}
    few = query_count(client, LIST, eligibility="eligible")
    bulk_filed(t.region_a, 15)
    assert query_count(client, LIST, eligibility="eligible") == few

"""The dossier pages (funding.dossiers.views): the list scoped to the user with a constant number of queries, a new
dossier (establishment, GHT), one dossier with the actions the user may take. A refused action shows a DSFR alert
with the typed input kept (409 for an impossible transition, 400 otherwise), a reader's write answers 403, a dossier
out of scope 404 — never a 500."""

import html
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from funding.dossiers import services
from funding.models import DomainStatus, Dossier, DossierStatus
from tests.factories import EstablishmentFactory
from tests.factories_dossiers import DossierDomainFactory, DossierFactory, hopen_programme
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    NOW,
    domain_of,
    domains,
    reach,
    reviewed_dossier,
    transmitted_dossier,
    world,
)

# Flows filed today on HOP'EN (whose dossier window closed on 31/12/2021, §5.3.2): its windows moved around today.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("hopen_filing_open")]

LIST = reverse("funding:dossier_list")
CONFIRMED = {"confirmed": "1"}  # the confirmation modal's « Confirmer » (hopen.confirmation; tests/funding/dossiers/test_confirmations.py)
CREATE = reverse("funding:dossier_create")


def detail(dossier):
    return reverse("funding:dossier_detail", args=[dossier.reference])


def text(response):
    return html.unescape(response.content.decode())


def by_testid(response, name):
    """The text of the element with data-testid="name" (tags stripped)."""
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</', response.content.decode(), re.S)
    assert match, f"no element data-testid={name}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def has_testid(response, name):
    return f'data-testid="{name}"' in response.content.decode()


# --- The list --------------------------------------------------------------------------------------------------------


def test_list_is_scoped_establishment_ars_dgos(client, world):
    t = world
    own = transmitted_dossier(t, "D2")
    ght = services.dossier_create(programme=hopen_programme(), establishment=t.support, domains=domains("D3"), ght_members=[t.member], by=t.ght_director, now=NOW)
    foreign = DossierFactory(establishment=t.foreign)
    cases = {
        t.clinic_director: {own.reference},
        t.director: {ght.reference},  # the GHT member reads the dossier it is a candidate of
        t.ght_director: {ght.reference},
        t.ars_a: {own.reference, ght.reference},
        t.ars_b: {foreign.reference},
        t.dgos: {own.reference, ght.reference, foreign.reference},
    }
    for user, expected in cases.items():
        client.force_login(user)
        response = client.get(LIST)
        assert response.status_code == 200
        assert set(re.findall(r'data-reference="([^"]+)"', response.content.decode())) == expected, user


def test_list_filters_by_status_domain_and_region(client, world):
    t = world
    transmitted = transmitted_dossier(t, "D2")
    draft = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D3"), by=t.clinic_director, now=NOW)
    foreign = DossierFactory(establishment=t.foreign)
    client.force_login(t.dgos)

    def references(query):
        return set(re.findall(r'data-reference="([^"]+)"', client.get(LIST, query).content.decode()))

    assert references({"status": "draft"}) == {draft.reference, foreign.reference}
    assert references({"domain": "D2"}) == {transmitted.reference}
    assert references({"region": "53"}) == {foreign.reference}
    assert references({"establishment": t.clinic.finess}) == {transmitted.reference, draft.reference}
    client.force_login(t.ars_a)
    assert references({"region": "53"}) == {transmitted.reference, draft.reference}  # out of its choices: ignored


def _bulk(region, count):
    for _ in range(count):
        dossier = DossierFactory(establishment=EstablishmentFactory(region=region))
        DossierDomainFactory(dossier=dossier, domain_code="D2")
        DossierDomainFactory(dossier=dossier, domain_code="D3")


@pytest.mark.parametrize("who", ["ars_a", "dgos", "clinic_director"])
def test_list_query_count_does_not_grow_with_the_number_of_dossiers(client, world, django_assert_max_num_queries, who):
    t = world
    user = getattr(t, who)
    client.force_login(user)
    _bulk(t.region_a, 2)
    transmitted_dossier(t, "D2")
    client.get(LIST)  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    _bulk(t.region_a, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert response.status_code == 200
    if who != "clinic_director":
        assert len(re.findall(r'data-reference="', response.content.decode())) == 23


def test_list_offers_a_new_dossier_to_the_establishment_only(client, world):
    t = world
    client.force_login(t.clinic_director)
    assert has_testid(client.get(LIST), f"new-dossier-{t.clinic.finess}")
    client.force_login(t.ars_a)
    assert "Nouveau dossier" not in text(client.get(LIST))


def test_the_header_links_to_the_dossiers(client, world):
    client.force_login(world.ars_a)
    assert f'id="lien-dossiers" href="{LIST}"' in client.get(LIST).content.decode()


# --- A new dossier ---------------------------------------------------------------------------------------------------


def test_create_an_establishment_dossier_from_the_page(client, world):
    t = world
    client.force_login(t.clinic_director)
    assert client.get(CREATE).status_code == 302  # a single establishment: straight to its form
    page = client.get(CREATE, {"finess": t.clinic.finess})
    assert page.status_code == 200 and has_testid(page, "domain-D2") and 'name="kind"' not in page.content.decode()
    response = client.post(CREATE, {
        "finess": t.clinic.finess, "D2_selected": "on", "D2_target_deadline": "2028-12-31",
        "D2_vendors": [str(t.vendor.pk)], "comment": "DPI",
    })
    dossier = Dossier.objects.get(establishment=t.clinic)
    assert response.status_code == 302 and response["Location"] == detail(dossier)
    assert list(dossier.domains.values_list("domain_code", "total_amount")) == [("D2", Decimal("250000.00"))]


def test_create_a_ght_dossier_from_the_page(client, world):
    t = world
    client.force_login(t.ght_director)
    page = client.get(CREATE, {"finess": t.support.finess})
    assert 'name="kind"' in page.content.decode() and t.member.name in text(page)
    client.post(CREATE, {
        "finess": t.support.finess, "kind": "ght", "members": [t.support.finess, t.member.finess],
        "D3_selected": "on", "D3_target_deadline": "31/12/2028",
    })
    dossier = Dossier.objects.get(ght=t.ght)
    assert sorted(dossier.members.values_list("establishment__name", flat=True)) == ["CH Membre", "CH Support"]
    response = client.get(detail(dossier))
    assert has_testid(response, "shares-D3")


def test_create_refused_keeps_the_input_and_explains(client, world):
    t = world
    client.force_login(t.clinic_director)
    response = client.post(CREATE, {"finess": t.clinic.finess, "comment": "Mon projet"})
    assert response.status_code == 400
    assert "Choisissez au moins un domaine fonctionnel" in by_testid(response, "create-error")
    assert "Mon projet" in text(response)
    response = client.post(CREATE, {"finess": t.clinic.finess, "D2_selected": "on", "D2_target_deadline": "2019-01-01"})
    assert response.status_code == 400 and "est déjà passée" in text(response)
    assert not Dossier.objects.exists()


def test_create_is_refused_to_the_ars_and_hidden_from_another_region(client, world):
    t = world
    client.force_login(t.ars_a)
    assert client.get(CREATE, {"finess": t.clinic.finess}).status_code == 403
    assert client.get(CREATE).status_code == 403
    client.force_login(t.foreign_director)
    assert client.get(CREATE, {"finess": t.clinic.finess}).status_code == 404


# --- One dossier -----------------------------------------------------------------------------------------------------


def test_detail_shows_state_amounts_eligibility_and_deadline(client, world):
    t = world
    dossier = transmitted_dossier(t, "D2", "D3")
    client.force_login(t.clinic_director)
    response = client.get(detail(dossier))
    assert response.status_code == 200
    assert by_testid(response, "dossier-reference") == dossier.reference
    assert by_testid(response, "dossier-status") == "Transmis à l'ARS"
    assert by_testid(response, "review-deadline") == "02/07/2020"
    assert by_testid(response, "domain-total-D2") == "250\u00a0000,00\u00a0€"
    assert by_testid(response, "dossier-total") == "450\u00a0000,00\u00a0€"
    assert "Éligibilité (§5.3.1)" in text(response)
    assert not has_testid(response, "select-D2")  # the establishment does not decide
    assert 'id="courriers"' in response.content.decode()


def test_detail_out_of_scope_is_404(client, world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    for user in (t.ars_b, t.foreign_director, t.director):
        client.force_login(user)
        assert client.get(detail(dossier)).status_code == 404


def test_the_ars_selects_two_domains_with_seed_funding_from_the_page(client, world):
    t = world
    dossier = transmitted_dossier(t, "D2", "D3")
    client.force_login(t.ars_a)
    page = client.get(detail(dossier))
    assert has_testid(page, "select-D2") and has_testid(page, "refuse-D3") and has_testid(page, "start-review")
    # Annex 4 §1: the selection waits for the review — the button says why, before any typing.
    assert "« En instruction »" in by_testid(page, "select-D2-disabled-reason")
    assert client.post(detail(dossier), {"action": "start_review"}).status_code == 302
    response = client.post(detail(dossier), {"action": "select", "domain": "D2", "select-D2-seed_amount": "50 000", **CONFIRMED})
    assert response.status_code == 302 and response["Location"].endswith("#domaine-D2")
    client.post(detail(dossier), {"action": "select", "domain": "D3", "select-D3-seed_amount": "40000,00", **CONFIRMED})
    page = client.get(detail(dossier))
    assert by_testid(page, "dossier-status") == "Sélectionné — projet en cours"
    assert by_testid(page, "domain-seed-D2") == "50\u00a0000,00\u00a0€"
    assert by_testid(page, "domain-usage-D3") == "160\u00a0000,00\u00a0€"
    assert has_testid(page, "pay-seed-D2") and not has_testid(page, "notify-usage-D2")
    assert "Courrier de sélection" in text(page)


def test_the_establishment_reaches_targets_and_the_ars_notifies_usage_from_the_page(client, world):
    t = world
    dossier = reviewed_dossier(t, "D2", "D3")
    for code in ("D2", "D3"):
        services.domain_select(domain=domain_of(dossier, code), seed_amount="50000", by=t.ars_a)
    client.force_login(t.clinic_director)
    response = client.post(detail(dossier), {"action": "reach_targets", "domain": "D2"})
    assert response.status_code == 400
    assert "cibles d'usage du domaine D2 non atteintes" in by_testid(response, "domain-error-D2")
    reach(t.clinic, "D2", by=t.clinic_director)
    assert client.post(detail(dossier), {"action": "reach_targets", "domain": "D2", **CONFIRMED}).status_code == 302
    client.force_login(t.ars_a)
    assert has_testid(client.get(detail(dossier)), "notify-usage-D2")
    assert client.post(detail(dossier), {"action": "notify_usage", "domain": "D2", **CONFIRMED}).status_code == 302
    page = client.get(detail(dossier))
    assert by_testid(page, "domain-status-D2") == "Financement à l'usage notifié"
    assert by_testid(page, "domain-usage-D2") == "200\u00a0000,00\u00a0€"
    assert by_testid(page, "domain-status-D3") == "Sélectionné"


def test_an_impossible_transition_on_the_page_is_a_409_alert_not_a_500(client, world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=t.ars_a)
    client.force_login(t.ars_a)
    response = client.post(detail(dossier), {"action": "start_review"})
    assert response.status_code == 409
    assert "Impossible d'ouvrir l'instruction : le dossier est « Sélectionné — projet en cours »" in by_testid(response, "action-error")
    response = client.post(detail(dossier), {"action": "notify_usage", "domain": "D2"})
    assert response.status_code == 409 and "le domaine est « Sélectionné »" in by_testid(response, "domain-error-D2")


def test_a_refused_decision_keeps_the_typed_input(client, world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    client.force_login(t.ars_a)
    response = client.post(detail(dossier), {"action": "select", "domain": "D2", "select-D2-seed_amount": "999999"})
    assert response.status_code == 400
    assert "ne peut pas dépasser le soutien financier total" in by_testid(response, "domain-error-D2")
    assert 'value="999999"' in response.content.decode()
    response = client.post(detail(dossier), {
        "action": "refuse", "domain": "D2", "refuse-D2-reason": "", "refuse-D2-refusal_kind": "financial",
    })
    assert response.status_code == 400 and "motif du refus est obligatoire" in text(response)
    assert re.search(r'value="financial" checked', response.content.decode())
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING


def test_a_refusal_from_the_page_shows_the_recandidacy_date(client, world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    client.force_login(t.ars_a)
    client.post(detail(dossier), {
        "action": "refuse", "domain": "D2", "refuse-D2-reason": "Enveloppe annuelle consommée",
        "refuse-D2-refusal_kind": "financial", **CONFIRMED,
    })
    page = client.get(detail(dossier))
    assert by_testid(page, "dossier-status") == "Refusé"
    decided = domain_of(dossier, "D2").decided_at
    assert by_testid(page, "recandidacy-D2") == f"01/01/{decided.year + 1}"


def test_readers_cannot_write_through_the_page(client, world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    client.force_login(t.dgos)
    page = client.get(detail(dossier))
    assert not has_testid(page, "select-D2") and has_testid(page, "close-dossier")  # the DGOS may close, not decide
    assert client.post(detail(dossier), {"action": "select", "domain": "D2", "select-D2-seed_amount": "0"}).status_code == 403
    client.force_login(t.clinic_editor)
    assert client.post(detail(dossier), {"action": "start_review"}).status_code == 403
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING


def test_unknown_action_or_domain(client, world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    client.force_login(t.ars_a)
    assert client.post(detail(dossier), {"action": "explode"}).status_code == 400
    assert client.post(detail(dossier), {"action": "select", "domain": "D7"}).status_code == 404


def test_transmit_and_close_from_the_page(client, world):
    t = world
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=NOW)
    client.force_login(t.clinic_director)
    assert has_testid(client.get(detail(dossier)), "transmit-dossier")
    assert client.post(detail(dossier), {"action": "transmit", **CONFIRMED}).status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).status == DossierStatus.TRANSMITTED
    client.force_login(t.ars_a)
    response = client.post(detail(dossier), {"action": "close", "close-kind": "abandonment", "close-reason": ""})
    assert response.status_code == 400 and "Expliquez la clôture" in by_testid(response, "action-error")
    assert client.post(detail(dossier), {"action": "close", "close-kind": "abandonment", "close-reason": "Abandon", **CONFIRMED}).status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).status == DossierStatus.CLOSED


def test_detail_query_count_is_bounded(client, world, django_assert_max_num_queries):
    t = world
    dossier = transmitted_dossier(t, "D2", "D3")
    client.force_login(t.ars_a)
    client.get(detail(dossier))
    # 41 today: the header's unread-notification count and the history's names (issue 16) joined the page; a
    # constant, whatever the number of domains and candidates.
    with django_assert_max_num_queries(43):
        assert client.get(detail(dossier)).status_code == 200


def test_the_establishment_page_links_to_its_dossiers(client, world):
    t = world
    client.force_login(t.clinic_director)
    response = client.get(reverse("establishment_detail", args=[t.clinic.finess]))
    assert f"{LIST}?establishment={t.clinic.finess}" in response.content.decode()

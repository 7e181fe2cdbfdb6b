"""Indicator values belong to one programme's catalogue (issue 11: the programme is a parameter everywhere).

§5.3.1 measures a programme's prerequisites and usage targets by the values of *its* catalogue (annex 1 for
HOP'EN); the demonstration campaign (fixtures/programmes/demo-2026.json) has its own catalogue version with the same
indicator codes. A value entered and declared on one programme (``?programme=<code>``, else the programme chosen in
the header) lands in that programme's catalogue, and the pages and endpoints of the other programme never show it.
"""

import datetime
import re

import pytest
from rest_framework.test import APIClient

from indicators.bulk import parsing, planning
from indicators.models import IndicatorValue, ValueStatus
from indicators.programmes import SESSION_KEY
from tests.indicators.conftest import declared, hopen_programme, indicator, rate

pytestmark = pytest.mark.django_db
DEMO = "DEMO2026"
HOPEN = "HOPEN"


def page_url(establishment, code="D1.1"):
    return f"/etablissements/{establishment.finess}/indicateurs/{code}/"


def dashboard_url(establishment):
    return f"/etablissements/{establishment.finess}/indicateurs/"


def declared_count(html) -> int:
    return int(re.search(r'id="nombre-declares">(\d+)<', html).group(1))


def enter_and_declare_on_the_page(client, tenants, programme_code, code="D1.1"):
    """The editor saves a draft and the director declares it, both on `?programme=<code>`."""
    client.force_login(tenants.editor)
    data = {"action": "save_draft", "measured_on": "2026-11-15", "kind": "rate", "numerator": "95",
            "denominator": "100"}
    assert client.post(f"{page_url(tenants.member, code)}?programme={programme_code}", data).status_code == 302
    value = IndicatorValue.objects.get(status=ValueStatus.DRAFT)
    client.force_login(tenants.director)
    response = client.post(
        f"{page_url(tenants.member, code)}?programme={programme_code}", {"action": "declare", "value": value.pk}
    )
    assert response.status_code == 302
    value.refresh_from_db()
    assert value.status == ValueStatus.DECLARED
    return value


@pytest.mark.parametrize(("entered_on", "other"), [(DEMO, HOPEN), (HOPEN, DEMO)])
def test_a_value_declared_on_one_programme_belongs_to_its_catalogue_and_its_dashboard_only(
    client, tenants, demo_programme, entered_on, other
):
    """§5.3.1 per programme: the value entered under `?programme=<code>` is one of that programme's catalogue in
    force; its dashboard counts it, the other programme's dashboard does not (and the reverse)."""
    value = enter_and_declare_on_the_page(client, tenants, entered_on)
    assert value.indicator.catalogue.programme.code == entered_on
    assert value.indicator.catalogue.is_current
    assert value.indicator == indicator("D1.1", entered_on) != indicator("D1.1", other)

    mine = client.get(dashboard_url(tenants.member), {"programme": entered_on}).content.decode()
    theirs = client.get(dashboard_url(tenants.member), {"programme": other}).content.decode()
    assert declared_count(mine) == 1
    assert declared_count(theirs) == 0
    # The indicator pages follow: the value is listed under its programme only.
    assert "95,0 % (95 / 100)" in client.get(page_url(tenants.member), {"programme": entered_on}).content.decode()
    assert "95,0 % (95 / 100)" not in client.get(page_url(tenants.member), {"programme": other}).content.decode()


def test_the_programme_chosen_in_the_header_is_the_one_entered_without_parameter(client, tenants, demo_programme):
    """The session keeps the switcher's choice: a later form posted without the parameter stays on it."""
    client.force_login(tenants.editor)
    client.get("/", {"programme": DEMO})
    assert client.session[SESSION_KEY] == DEMO
    data = {"action": "save_draft", "measured_on": "2026-11-15", "kind": "rate", "numerator": "1", "denominator": "2"}
    assert client.post(page_url(tenants.member), data).status_code == 302
    assert IndicatorValue.objects.get().indicator.catalogue.programme == demo_programme


def test_the_entry_page_and_the_dashboard_name_the_programme_of_their_values(client, tenants, demo_programme):
    """Issue 11: the pages say which programme the values belong to; a fictitious one also gets the base banner."""
    client.force_login(tenants.editor)
    for url in (page_url(tenants.member), dashboard_url(tenants.member)):
        html = client.get(url, {"programme": DEMO}).content.decode()
        assert "Campagne de démonstration 2026–2028 (fictive)</strong> (DEMO2026, campagne fictive)" in html
        assert 'id="bandeau-campagne-fictive"' in html
        html = client.get(url, {"programme": HOPEN}).content.decode()
        assert f"<strong>{hopen_programme().name}</strong> (HOPEN)" in html
        assert 'id="bandeau-campagne-fictive"' not in html


def test_an_unknown_programme_answers_404_on_the_indicator_pages(client, tenants, catalogue):
    client.force_login(tenants.editor)
    for url in (page_url(tenants.member), dashboard_url(tenants.member), "/indicateurs/etablissements/"):
        assert client.get(url, {"programme": "NOPE"}).status_code == 404


def test_the_regional_table_and_completeness_count_the_values_of_the_programme_only(client, tenants, demo_programme):
    """Annex 4 §3 per programme: the ARS reads the declarations of the programme chosen, not the sum of all."""
    declared(tenants.member, "D1.1", rate(95, 100), editor=tenants.editor, director=tenants.director)  # HOP'EN
    client.force_login(tenants.ars_a)
    totals = {}
    for code in (HOPEN, DEMO):
        html = client.get("/indicateurs/completude/", {"programme": code}).content.decode()
        totals[code] = int(re.search(r'id="total-avec-declarations">(\d+)<', html).group(1))
    assert totals == {HOPEN: 1, DEMO: 0}


def api_client(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_enters_declares_and_lists_on_the_programme_of_the_parameter(tenants, demo_programme):
    """`programme=<code>` on the indicator endpoints: the draft, its declaration and the overview are the demo
    catalogue's; HOP'EN's overview does not show them."""
    base = f"/api/v1/establishments/{tenants.member.finess}/indicators/"
    body = {"measured_on": "2026-11-15", "kind": "rate", "numerator": 95, "denominator": 100}
    response = api_client(tenants.editor).post(f"{base}D1.1/values/?programme={DEMO}", body, format="json")
    assert response.status_code == 201
    value = IndicatorValue.objects.get(pk=response.json()["id"])
    assert value.indicator.catalogue.programme == demo_programme
    declare = api_client(tenants.director).post(f"{base}D1.1/values/{value.pk}/declare/?programme={DEMO}")
    assert declare.status_code == 200 and declare.json()["status"] == "declared"
    # The value is not HOP'EN's: under HOP'EN, the same address finds no such value of its D1.1.
    assert api_client(tenants.director).post(f"{base}D1.1/values/{value.pk}/declare/?programme={HOPEN}").status_code == 404

    reader = api_client(tenants.ars_a)
    demo = reader.get(base, {"programme": DEMO}).json()
    hopen = reader.get(base, {"programme": HOPEN}).json()
    assert (demo["catalogue"]["programme"], hopen["catalogue"]["programme"]) == (DEMO, HOPEN)
    assert demo["catalogue"]["programme_name"] == demo_programme.name
    assert sum(row["latest_declared"] is not None for row in demo["indicators"]) == 1
    assert sum(row["latest_declared"] is not None for row in hopen["indicators"]) == 0
    assert reader.get(base, {"programme": "NOPE"}).status_code == 404


def test_a_bulk_file_targets_the_catalogue_of_its_programme(tenants, demo_programme):
    """The bulk planner takes the programme: its lines become drafts of that programme's indicators."""
    content = (
        "finess;indicateur;date_mesure;nature_valeur;numerateur;denominateur\r\n"
        f"{tenants.member.finess};D1.1;15/11/2026;taux;9;10\r\n"
    ).encode()
    lines = parsing.bulk_parse(content, "f.csv")
    for programme in (demo_programme, hopen_programme()):
        plan = planning.bulk_plan(lines=lines, by=tenants.editor, programme=programme)
        assert plan.is_valid
        [change] = plan.writes
        assert change.indicator.catalogue.programme == programme
    assert {i.catalogue.programme_id for i in planning.current_indicators(demo_programme)} == {demo_programme.pk}


def test_the_bulk_template_follows_the_programme_chosen(client, tenants, demo_programme):
    """The pre-filled template reads the values of the chosen programme's catalogue only."""
    declared(tenants.member, "D1.1", rate(9, 10, day=datetime.date(2020, 3, 15)), editor=tenants.editor,
             director=tenants.director)  # HOP'EN
    client.force_login(tenants.editor)
    url = f"/etablissements/{tenants.member.finess}/saisie-en-masse/modele.csv"
    hopen_rows = client.get(url, {"programme": HOPEN}).content.decode()
    demo_rows = client.get(url, {"programme": DEMO}).content.decode()
    assert "15/03/2020" in hopen_rows and "15/03/2020" not in demo_rows

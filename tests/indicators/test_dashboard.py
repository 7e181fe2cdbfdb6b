"""Attainment pages: an establishment's dashboard, the regional table, the completeness view.

Rules (instruction, ../shared/reference/000_eb8a7a77b11ba617.txt):
- annex 1: each indicator has a target, a rate threshold or an existence requirement;
- §5.3.1: the prerequisites are met through "la saisie […] de la valeur des indicateurs et de la totalité
  des pièces justificatives"; a domain indicator may be "non applicable / non concerné";
- annex 4 §3: the ARS follows "le niveau d'atteinte des prérequis et des cibles d'usage" of its establishments.
"""

import datetime
import re
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from indicators.models import CurrentValue, Evidence, IndicatorValue, Programme, ValueStatus
from indicators.selectors import current_catalogue
from indicators.selectors_dashboard import establishment_dashboard
from indicators.services import value_correct, value_save_draft
from tests.factories import EstablishmentFactory, RegionFactory, Role, attainment_synced, user_with_role
from tests.indicators.conftest import declared, existence, indicator, not_applicable, rate

pytestmark = pytest.mark.django_db

PREREQUISITE_CODES = [
    "P1.1", "P1.2", "P1.3", "P1.4", "P2.1", "P2.2", "P2.4", "P2.5",
    "P3.2", "P3.3", "P3.4", "P3.6", "P4.1", "P4.2", "P4.3",
]
TABLE_URL = "/indicateurs/etablissements/"
COMPLETENESS_URL = "/indicateurs/completude/"


def dashboard_url(establishment):
    return f"/etablissements/{establishment.finess}/indicateurs/"


def reached_input(code, day=datetime.date(2020, 3, 15)):
    """A value reaching the target of `code` (a full rate, or "exists")."""
    if indicator(code).target_kind == "rate":
        return rate(10, 10, day=day)
    return existence(True, day=day)


def declare(tenants, code, data, establishment=None):
    """Enter and declare through the services, as the establishment's own editor and director."""
    establishment = establishment or tenants.member
    if establishment == tenants.member:
        return declared(establishment, code, data, editor=tenants.editor, director=tenants.director)
    directors = tenants.__dict__.setdefault("other_directors", {})
    if establishment.pk not in directors:
        directors[establishment.pk] = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)
    director = directors[establishment.pk]
    return declared(establishment, code, data, editor=director, director=director)


def add_document(value, *, by, deleted=False, synced=True):
    """A justificatory document row (the file itself is never read by these pages); `synced`: the attainment state
    refreshed at once (else the caller does it after its last row)."""
    document = Evidence.objects.create(
        value=value,
        file="evidence/test/piece",
        original_name="piece.pdf",
        size=12,
        content_type="application/pdf",
        sha256="0" * 64,
        uploaded_by=by,
        scan_status="not_scanned",
        deleted_at=timezone.now() if deleted else None,
        deleted_by=by if deleted else None,
    )
    return attainment_synced(document) if synced else document


def page(client, user, url, params=None):
    client.force_login(user)
    response = client.get(url, params or {})
    assert response.status_code == 200
    return response.content.decode()


def row(html, code):
    """The rendered table row of indicator `code` on the dashboard."""
    match = re.search(rf'<tr id="indicateur-{re.escape(code)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def row_attainment(html, code):
    return re.search(r'data-attainment="(\w+)"', row(html, code)).group(1)


def group_badge(html, group_code):
    return re.search(rf'data-group="{group_code}" data-attainment="(\w+)"', html).group(1)


def prerequisites_badge(html):
    return re.search(r'id="prerequis-global" data-attainment="(\w+)"', html).group(1)


def table_rows(html, table_id):
    body = html.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0]
    return {
        finess: chunk
        for finess, chunk in re.findall(r'<tr data-finess="(\w+)">(.*?)</tr>', body, re.S)
    }


def cell(chunk, group_code):
    return re.search(rf'data-group="{group_code}" data-attainment="(\w+)"', chunk).group(1)


def column(chunk, name):
    return re.sub(r"<[^>]+>", "", re.search(rf'data-column="{name}">(.*?)</td>', chunk, re.S).group(1)).strip()


# --- The grid ------------------------------------------------------------------------------------------------------


def test_grid_shows_value_target_and_attainment_of_each_indicator(client, tenants, catalogue):
    """Annex 1: a rate reaches its target when rate ≥ threshold (exact fraction), an existence when it exists."""
    declare(tenants, "P1.1", rate(92, 100))  # 92 % ≥ 90 %
    declare(tenants, "P1.3", rate(899, 1000))  # 89.9 % < 90 %: not reached, even though it rounds to 90
    declare(tenants, "P1.2", existence(True, day=datetime.date(2019, 9, 2)))
    declare(tenants, "D1.2", not_applicable())

    html = page(client, tenants.director, dashboard_url(tenants.member))

    p11 = row(html, "P1.1")
    assert "92,0 % (92 / 100)" in p11
    assert "2020 S1 — mesure du 15/03/2020" in p11
    assert "90% des applications concernées et intégrant l’INS" in p11
    assert "Atteint" in p11 and row_attainment(html, "P1.1") == "reached"
    assert f'href="/etablissements/{tenants.member.finess}/indicateurs/P1.1/"' in p11
    assert f"Déclarée le {timezone.localdate():%d/%m/%Y}" in p11

    assert row_attainment(html, "P1.3") == "not_reached" and "Non atteint" in row(html, "P1.3")
    assert "89,9 % (899 / 1000)" in row(html, "P1.3")
    assert row_attainment(html, "P1.2") == "reached" and "2019 S2" in row(html, "P1.2")
    assert row_attainment(html, "D1.2") == "not_applicable" and "Non applicable" in row(html, "D1.2")
    assert row_attainment(html, "P1.4") == "missing"
    assert "Aucune valeur déclarée" in row(html, "P1.4") and "Non renseigné" in row(html, "P1.4")
    # Every indicator of the catalogue is listed, in catalogue order (P1 … P4, then D1 … D7).
    codes = re.findall(r'<tr id="indicateur-([\w.]+)"', html)
    assert len(codes) == catalogue.count() == 41
    assert codes[:4] == ["P1.1", "P1.2", "P1.3", "P1.4"] and codes[-1] == "D7.3"
    assert '<span class="hopen-dashboard-figures__number" id="nombre-declares">4</span>' in html
    assert '<span class="hopen-dashboard-figures__number" id="nombre-atteints">2</span>' in html


def test_latest_declared_value_is_shown_not_the_draft_nor_an_older_one(client, tenants, catalogue):
    declare(tenants, "D1.1", rate(50, 100, day=datetime.date(2019, 3, 1)))
    declare(tenants, "D1.1", rate(95, 100, day=datetime.date(2020, 3, 1)))
    value_save_draft(
        establishment=tenants.member, indicator=indicator("D1.1"), data=rate(10, 100, day=datetime.date(2020, 9, 1)),
        by=tenants.editor,
    )

    html = page(client, tenants.editor, dashboard_url(tenants.member))

    assert "95,0 % (95 / 100)" in row(html, "D1.1")
    assert "50,0 %" not in row(html, "D1.1") and "10,0 %" not in row(html, "D1.1")
    assert row_attainment(html, "D1.1") == "reached"


def test_group_is_reached_only_when_all_its_indicators_are(client, tenants, catalogue):
    """P1 needs its 4 indicators; one missing leaves the group "non renseigné", one not reached makes it "non atteint"."""
    for code in ["P1.1", "P1.2", "P1.3"]:
        declare(tenants, code, reached_input(code))
    html = page(client, tenants.director, dashboard_url(tenants.member))
    assert group_badge(html, "P1") == "missing"

    declare(tenants, "P1.4", existence(False))
    html = page(client, tenants.director, dashboard_url(tenants.member))
    assert group_badge(html, "P1") == "not_reached"
    assert re.search(r'data-group-badge="P1">Non atteint<', html)

    declare(tenants, "P1.4", existence(True, day=datetime.date(2020, 9, 1)))
    html = page(client, tenants.director, dashboard_url(tenants.member))
    assert group_badge(html, "P1") == "reached"
    assert re.search(r'data-group-badge="P1">Atteint<', html)
    assert group_badge(html, "P2") == "missing"


def test_group_with_a_not_applicable_indicator_and_the_rest_reached_is_reached(client, tenants, catalogue):
    """§5.3.1: a "non applicable" indicator counts as neither reached nor missing."""
    declare(tenants, "D1.2", not_applicable())
    for code in ["D1.1", "D1.3", "D1.5"]:
        declare(tenants, code, reached_input(code))

    html = page(client, tenants.director, dashboard_url(tenants.member))

    assert group_badge(html, "D1") == "reached"
    assert "3 / 4 atteints" in html


def test_prerequisites_are_reached_only_when_all_15_are(client, tenants, catalogue):
    """§5.3.1: the HOP'EN prerequisites (P1 to P4) are met when every one of their indicators is."""
    for code in PREREQUISITE_CODES[:-1]:
        declare(tenants, code, reached_input(code))
    html = page(client, tenants.director, dashboard_url(tenants.member))
    assert prerequisites_badge(html) == "missing"
    assert '<span id="prerequis-atteints">14</span> indicateurs atteints sur 15' in html

    declare(tenants, "P4.3", existence(False))
    html = page(client, tenants.director, dashboard_url(tenants.member))
    assert prerequisites_badge(html) == "not_reached"
    assert [group_badge(html, g) for g in ["P1", "P2", "P3", "P4"]] == ["reached", "reached", "reached", "not_reached"]

    declare(tenants, "P4.3", existence(True, day=datetime.date(2020, 9, 1)))
    html = page(client, tenants.director, dashboard_url(tenants.member))
    assert prerequisites_badge(html) == "reached"
    assert '<span id="prerequis-atteints">15</span> indicateurs atteints sur 15' in html


# --- Markers -------------------------------------------------------------------------------------------------------


def test_declared_value_without_document_is_flagged(client, tenants, catalogue):
    """§5.3.1 asks for "la totalité des pièces justificatives": a declared value with none is flagged."""
    without = declare(tenants, "P1.1", rate(95, 100))
    with_document = declare(tenants, "P1.2", existence(True))
    add_document(with_document, by=tenants.editor)
    only_deleted = declare(tenants, "P1.3", rate(95, 100))
    add_document(only_deleted, by=tenants.editor, deleted=True)

    html = page(client, tenants.ars_a, dashboard_url(tenants.member))

    assert 'data-marker="missing-documents"' in row(html, "P1.1")
    assert "Pièce justificative manquante" in row(html, "P1.1")
    assert 'data-marker="missing-documents"' not in row(html, "P1.2")
    assert 'data-marker="missing-documents"' in row(html, "P1.3")
    assert 'data-marker="missing-documents"' not in row(html, "P1.4")  # nothing declared: nothing to justify
    assert without.pk and only_deleted.pk


def test_draft_in_progress_is_marked(client, tenants, catalogue):
    value_save_draft(establishment=tenants.member, indicator=indicator("D2.2"), data=rate(1, 2), by=tenants.editor)
    corrected = declare(tenants, "D2.3", rate(1, 2))
    value_correct(value=corrected, reason="Erreur de saisie du numérateur", data=rate(2, 2), by=tenants.editor)

    html = page(client, tenants.director, dashboard_url(tenants.member))

    assert 'data-marker="draft"' in row(html, "D2.2") and "Brouillon en cours" in row(html, "D2.2")
    assert row_attainment(html, "D2.2") == "missing"  # a draft is not a declaration
    assert 'data-marker="draft"' in row(html, "D2.3")
    assert "50,0 % (1 / 2)" in row(html, "D2.3")  # the declared value stays until the correction is declared
    assert 'data-marker="draft"' not in row(html, "D2.4")


# --- Progress over semesters ---------------------------------------------------------------------------------------


def progress_fixture(tenants):
    declare(tenants, "P1.3", rate(95, 100, day=datetime.date(2019, 3, 1)))  # reached from 2019 S1
    declare(tenants, "P1.1", rate(70, 100, day=datetime.date(2019, 6, 30)))  # not reached in 2019 S1
    declare(tenants, "P1.1", rate(95, 100, day=datetime.date(2019, 12, 31)))  # reached from 2019 S2
    declare(tenants, "P1.2", existence(True, day=datetime.date(2020, 3, 15)))  # reached from 2020 S1
    declare(tenants, "P1.3", rate(50, 100, day=datetime.date(2020, 7, 1)))  # no longer reached in 2020 S2
    declare(tenants, "D7.2", existence(True, day=datetime.date(2020, 8, 1)))  # a domain indicator, 2020 S2


def test_progress_counts_indicators_reached_at_the_end_of_each_semester(tenants, catalogue):
    """The axis is the programme's range (HOP'EN calendar: 2019 S1 … 2022 S2, annex 5 §2), not « up to today »."""
    progress_fixture(tenants)

    dashboard = establishment_dashboard(tenants.member, current_catalogue(Programme.objects.get(code="HOPEN")))

    assert [(p.semester, p.reached, p.prerequisites_reached) for p in dashboard.progress] == [
        ("2019 S1", 1, 1),
        ("2019 S2", 2, 2),
        ("2020 S1", 3, 3),
        ("2020 S2", 3, 2),
        ("2021 S1", 3, 2),
        ("2021 S2", 3, 2),
        ("2022 S1", 3, 2),
        ("2022 S2", 3, 2),
    ]


def test_a_measurement_outside_the_programme_range_widens_the_axis(tenants, catalogue):
    """No declared value is left out of the chart: a 2024 measurement extends the axis to 2024 S1, no further."""
    progress_fixture(tenants)
    declare(tenants, "P1.2", existence(True, day=datetime.date(2024, 3, 1)))

    dashboard = establishment_dashboard(tenants.member, current_catalogue(Programme.objects.get(code="HOPEN")))

    assert (dashboard.progress[0].semester, dashboard.progress[-1].semester) == ("2019 S1", "2024 S1")


def test_progress_chart_and_its_table_on_the_page(client, tenants, catalogue):
    progress_fixture(tenants)

    html = page(client, tenants.director, dashboard_url(tenants.member))

    table = html.split('id="tableau-progression"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr data-semester="(\d{4} S[12])"><th scope="row">[^<]+</th>'
        r'<td class="hopen-number">(\d+)</td><td class="hopen-number">(\d+)</td>',
        table,
    )
    assert rows[:4] == [("2019 S1", "1", "1"), ("2019 S2", "2", "2"), ("2020 S1", "3", "3"), ("2020 S2", "3", "2")]
    assert rows[-1][0] == "2022 S2"  # the programme's last semester, whatever today is
    bars = re.findall(r'<rect class="hopen-chart__bar"[^>]*data-semester="([^"]+)" data-reached="(\d+)"', html)
    assert [(s, int(n)) for s, n in bars] == [(s, int(n)) for s, n, _ in rows]
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg and "<title" in svg and "style=" not in svg


def test_svg_attributes_stay_machine_numbers_past_seventeen_semesters(client, tenants, catalogue):
    """Issue 16: beyond ~17 semesters the chart is over 999 units wide; French thousands separators in `viewBox`
    (« 0 0 1 412 220 ») broke it. Every geometric attribute must be a plain number."""
    progress_fixture(tenants)
    declare(tenants, "P1.2", existence(True, day=datetime.date(2010, 3, 1)))  # 2010 S1 … 2022 S2: 26 semesters

    html = page(client, tenants.director, dashboard_url(tenants.member))

    svg = html.split('<svg class="hopen-chart__svg"', 1)[1].split("</svg>", 1)[0]
    view_box = re.search(r'viewBox="([^"]*)"', svg).group(1)
    assert re.fullmatch(r"0 0 \d+(\.\d+)? \d+(\.\d+)?", view_box) and float(view_box.split()[2]) > 1000
    for name, number in re.findall(r'\b(x|y|x1|x2|y1|y2|width|height)="([^"]*)"', svg):
        assert re.fullmatch(r"-?\d+(\.\d+)?", number), (name, number)
    assert svg.count('class="hopen-chart__bar"') == 26


def test_no_progress_before_the_first_declaration(client, tenants, catalogue):
    value_save_draft(establishment=tenants.member, indicator=indicator("D2.2"), data=rate(1, 2), by=tenants.editor)

    html = page(client, tenants.director, dashboard_url(tenants.member))

    assert 'id="progression-vide"' in html and "<svg" not in html


# --- Scopes --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, target, expected",
    [
        ("editor", "member", 200),
        ("director", "member", 200),
        ("ght_director", "member", 200),
        ("ars_a", "member", 200),
        ("dgos", "member", 200),
        ("auditor", "foreign", 200),
        ("editor", "clinic", 404),  # editor of another establishment
        ("director", "support", 404),
        ("ars_b", "member", 404),  # ARS of another region
        ("ars_a", "foreign", 404),
    ],
)
def test_dashboard_follows_the_permission_policy(client, tenants, catalogue, role, target, expected):
    establishment = getattr(tenants, target)
    client.force_login(getattr(tenants, role))
    response = client.get(dashboard_url(establishment))
    assert response.status_code == expected
    if expected == 404:
        assert establishment.name not in response.content.decode()


@pytest.mark.parametrize("role", ["ars_a", "dgos", "auditor"])
def test_ars_and_dgos_read_the_dashboard_without_entry_buttons(client, tenants, catalogue, role):
    declare(tenants, "P1.1", rate(95, 100))
    html = page(client, getattr(tenants, role), dashboard_url(tenants.member))
    assert 'id="lecture-seule"' in html
    assert ">Saisir</a>" not in html
    assert "95,0 % (95 / 100)" in row(html, "P1.1")


@pytest.mark.parametrize("role", ["editor", "director", "ght_director"])
def test_establishment_roles_get_entry_buttons(client, tenants, catalogue, role):
    html = page(client, getattr(tenants, role), dashboard_url(tenants.member))
    assert 'id="lecture-seule"' not in html
    assert html.count(">Saisir</a>") == 41


def test_anonymous_user_is_sent_to_login(client, tenants, catalogue):
    for url in [dashboard_url(tenants.member), TABLE_URL, COMPLETENESS_URL, "/indicateurs/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/compte/connexion/?next={quote(url)}"


def test_pages_carry_no_inline_style_or_script(client, tenants, catalogue):
    progress_fixture(tenants)
    for url in [dashboard_url(tenants.member), TABLE_URL, COMPLETENESS_URL]:
        html = page(client, tenants.ars_a, url)
        assert " style=" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_indicators_menu_leads_to_the_right_page(client, tenants, catalogue):
    client.force_login(tenants.editor)
    response = client.get("/indicateurs/")
    assert response.status_code == 302 and response["Location"] == dashboard_url(tenants.member)
    html = client.get(dashboard_url(tenants.member)).content.decode()
    assert 'href="/indicateurs/" aria-current="page">Indicateurs</a>' in html
    for role in ["ars_a", "dgos", "ght_director"]:
        client.force_login(getattr(tenants, role))
        response = client.get("/indicateurs/")
        assert response.status_code == 302 and response["Location"] == TABLE_URL


def test_establishment_page_links_to_its_dashboard(client, tenants, catalogue):
    html = page(client, tenants.ars_a, f"/etablissements/{tenants.member.finess}/")
    assert f'href="{dashboard_url(tenants.member)}">Indicateurs</a>' in html


# --- Regional table ------------------------------------------------------------------------------------------------


def all_prerequisites_reached(tenants, establishment):
    for code in PREREQUISITE_CODES:
        value = declare(tenants, code, reached_input(code), establishment=establishment)
        add_document(value, by=tenants.editor)


def test_regional_table_shows_group_attainment_per_establishment(client, tenants, catalogue):
    """Annex 4 §3: the ARS follows the attainment of the prerequisites and of the domains."""
    all_prerequisites_reached(tenants, tenants.member)
    declare(tenants, "D1.1", rate(1, 10))
    declare(tenants, "D1.2", not_applicable())
    for code in ["D7.1", "D7.2", "D7.3"]:
        declare(tenants, code, reached_input(code))

    html = page(client, tenants.ars_a, TABLE_URL)
    rows = table_rows(html, "tableau-atteinte")

    assert set(rows) == {tenants.support.finess, tenants.member.finess, tenants.clinic.finess}
    member = rows[tenants.member.finess]
    assert cell(member, "prerequisites") == "reached"
    assert [cell(member, g) for g in ["P1", "P2", "P3", "P4"]] == ["reached"] * 4
    assert cell(member, "D1") == "not_reached"  # D1.1 at 10 % settles it, though D1.3 and D1.5 are not entered
    assert cell(member, "D7") == "reached"
    assert cell(member, "D2") == "missing"
    clinic = rows[tenants.clinic.finess]
    assert cell(clinic, "prerequisites") == "missing" and cell(clinic, "P1") == "missing"
    assert f'href="{dashboard_url(tenants.member)}"' in member
    headers = re.findall(r'<abbr title="[^"]+">(\w\d)</abbr>', html)
    assert headers == ["P1", "P2", "P3", "P4", "D1", "D2", "D3", "D4", "D5", "D6", "D7"]


@pytest.mark.parametrize(
    "role, expected",
    [
        ("editor", {"member"}),
        ("ght_director", {"support", "member"}),
        ("ars_a", {"support", "member", "clinic"}),
        ("ars_b", {"foreign"}),
        ("dgos", {"support", "member", "clinic", "foreign"}),
    ],
)
def test_regional_table_and_completeness_are_scoped(client, tenants, catalogue, role, expected):
    for url, table in [(TABLE_URL, "tableau-atteinte"), (COMPLETENESS_URL, "tableau-completude")]:
        html = page(client, getattr(tenants, role), url)
        assert set(table_rows(html, table)) == {getattr(tenants, key).finess for key in expected}


def test_regional_table_filters(client, tenants, catalogue):
    all_prerequisites_reached(tenants, tenants.member)
    declare(tenants, "P1.1", rate(10, 10), establishment=tenants.clinic)  # one prerequisite only
    client.force_login(tenants.dgos)

    def listed(params):
        response = client.get(TABLE_URL, params)
        assert response.status_code == 200
        return set(table_rows(response.content.decode(), "tableau-atteinte"))

    everyone = {tenants.support.finess, tenants.member.finess, tenants.clinic.finess, tenants.foreign.finess}
    assert listed({}) == everyone
    assert listed({"region": "53"}) == {tenants.foreign.finess}
    assert listed({"prerequisites": "oui"}) == {tenants.member.finess}
    assert listed({"prerequisites": "non"}) == everyone - {tenants.member.finess}
    assert listed({"prerequisites": "non", "region": "32", "sector": "private"}) == {tenants.clinic.finess}
    assert listed({"ght": tenants.ght.code}) == {tenants.support.finess, tenants.member.finess}
    assert listed({"category": "355", "prerequisites": "oui"}) == {tenants.member.finess}
    # A value outside the choices drops that filter only.
    assert listed({"prerequisites": "peut-être", "region": "53"}) == {tenants.foreign.finess}


def test_ars_cannot_widen_its_scope_with_the_region_filter(client, tenants, catalogue):
    html = page(client, tenants.ars_a, TABLE_URL, {"region": "53"})
    assert tenants.foreign.finess not in table_rows(html, "tableau-atteinte")


def test_regional_table_is_paginated_by_25(client, tenants, catalogue):
    for _ in range(30):
        EstablishmentFactory(region=tenants.region_a)
    html = page(client, tenants.ars_a, TABLE_URL)
    assert len(table_rows(html, "tableau-atteinte")) == 25
    assert "33\xa0établissements" in html
    html = page(client, tenants.ars_a, TABLE_URL, {"page": 2})
    assert len(table_rows(html, "tableau-atteinte")) == 8


# --- Completeness --------------------------------------------------------------------------------------------------


def test_completeness_counts_declarations_drafts_and_missing_documents(client, tenants, catalogue):
    first = declare(tenants, "P1.1", rate(5, 10, day=datetime.date(2019, 3, 1)))
    add_document(first, by=tenants.editor)
    declare(tenants, "P1.1", rate(9, 10, day=datetime.date(2020, 3, 1)))  # latest value of P1.1: no document
    justified = declare(tenants, "P1.2", existence(True))
    add_document(justified, by=tenants.editor)
    declare(tenants, "D1.2", not_applicable())  # no document either
    value_save_draft(establishment=tenants.member, indicator=indicator("P1.3"), data=rate(1, 2), by=tenants.editor)
    value_save_draft(establishment=tenants.member, indicator=indicator("D2.2"), data=rate(1, 2), by=tenants.editor)
    support_value = declare(tenants, "P2.1", existence(True), establishment=tenants.support)
    add_document(support_value, by=tenants.editor)

    html = page(client, tenants.ars_a, COMPLETENESS_URL)
    rows = table_rows(html, "tableau-completude")

    member = rows[tenants.member.finess]
    assert column(member, "declared") == "3 / 41"  # P1.1 counts once, whatever its number of measurements
    assert column(member, "drafts") == "2"
    assert column(member, "missing-documents") == "2"  # latest P1.1 and D1.2
    assert column(member, "last-declared") == f"{timezone.localdate():%d/%m/%Y}"
    clinic = rows[tenants.clinic.finess]
    columns = ["declared", "drafts", "missing-documents", "last-declared"]
    assert [column(clinic, c) for c in columns] == ["0 / 41", "0", "0", "—"]
    support = rows[tenants.support.finess]
    assert column(support, "declared") == "1 / 41" and column(support, "missing-documents") == "0"

    totals = {
        name: re.search(rf'id="total-{name}">([\d\u202f\xa0 ]+)<', html).group(1)
        for name in ["etablissements", "avec-declarations", "complets", "declares", "brouillons", "pieces-manquantes"]
    }
    assert totals == {
        "etablissements": "3", "avec-declarations": "2", "complets": "0",
        "declares": "4", "brouillons": "2", "pieces-manquantes": "2",
    }
    assert "indicateurs déclarés sur 123" in html  # 3 establishments × 41


def test_completeness_filters_and_totals_follow_them(client, tenants, catalogue):
    all_prerequisites_reached(tenants, tenants.member)
    declare(tenants, "P1.1", rate(1, 10), establishment=tenants.foreign)

    html = page(client, tenants.dgos, COMPLETENESS_URL, {"region": "53"})
    assert set(table_rows(html, "tableau-completude")) == {tenants.foreign.finess}
    assert 'id="total-etablissements">1<' in html and 'id="total-declares">1<' in html

    html = page(client, tenants.dgos, COMPLETENESS_URL, {"prerequisites": "oui"})
    assert set(table_rows(html, "tableau-completude")) == {tenants.member.finess}
    assert 'id="total-complets">0<' in html and 'id="total-declares">15<' in html
    assert column(table_rows(html, "tableau-completude")[tenants.member.finess], "declared") == "15 / 41"


def test_completeness_draft_totals_follow_the_filters_and_the_scope(client, tenants, catalogue):
    """The drafts total counts each draft of the listed establishments once, whatever the filter or the scope."""
    for code in ["P1.3", "D2.2"]:
        value_save_draft(establishment=tenants.member, indicator=indicator(code), data=rate(1, 2), by=tenants.editor)
    foreign_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.foreign)
    value_save_draft(establishment=tenants.foreign, indicator=indicator("P1.3"), data=rate(1, 2), by=foreign_editor)

    def drafts(user, params=None):
        html = page(client, user, COMPLETENESS_URL, params)
        shown = {finess: column(row, "drafts") for finess, row in table_rows(html, "tableau-completude").items()}
        return re.search(r'id="total-brouillons">(\d+)<', html).group(1), shown

    total, shown = drafts(tenants.dgos)
    assert total == "3" and shown[tenants.member.finess] == "2" and shown[tenants.foreign.finess] == "1"
    assert drafts(tenants.dgos, {"region": "53"}) == ("1", {tenants.foreign.finess: "1"})
    assert drafts(tenants.dgos, {"q": tenants.member.finess}) == ("2", {tenants.member.finess: "2"})
    assert drafts(tenants.dgos, {"prerequisites": "oui"}) == ("0", {})
    total, shown = drafts(tenants.ars_a)  # the foreign establishment's draft is out of the ARS's scope
    assert total == "2" and tenants.foreign.finess not in shown


# --- Constant number of queries ------------------------------------------------------------------------------------


def quick_values(establishment, by, codes, *, measurements=2, documents=1):
    """Declared values (several dates each) with their documents, created directly for speed."""
    now = timezone.now()
    for code in codes:
        target = indicator(code)
        for n in range(measurements):
            day = datetime.date(2019 + n, 3, 1)
            if target.target_kind == "rate":
                fields = {"kind": "rate", "numerator": 10 - (measurements - 1 - n), "denominator": 10}  # latest reached
            else:
                fields = {"kind": "existence", "exists": True}
            value = IndicatorValue.objects.create(
                establishment=establishment, indicator=target, measured_on=day, status=ValueStatus.DECLARED,
                created_by=by, declared_by=by, declared_at=now, **fields,
            )
            for _ in range(documents):
                add_document(value, by=by, synced=False)
    attainment_synced(establishment)  # as the declaration service would have left it
    IndicatorValue.objects.create(
        establishment=establishment, indicator=indicator("D7.3"), measured_on=datetime.date(2021, 1, 4),
        kind="existence", exists=False, created_by=by,
    )


def count_queries(client, url, params=None):
    client.get(url, params or {})  # the session's first request may refresh its expiry (one write): not counted
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def test_dashboard_query_count_does_not_depend_on_the_number_of_values(
    client, tenants, catalogue, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(tenants.director)
    quick_values(tenants.member, tenants.director, ["P1.1", "D1.1"], measurements=1)
    few = count_queries(client, dashboard_url(tenants.member))

    all_codes = list(catalogue.values_list("code", flat=True))
    quick_values(tenants.support, tenants.director, all_codes)  # another establishment's values: not read
    Evidence.objects.filter(value__establishment=tenants.member).delete()
    CurrentValue.objects.filter(establishment=tenants.member).delete()  # the state protects the values it mirrors
    IndicatorValue.objects.filter(establishment=tenants.member).delete()
    quick_values(tenants.member, tenants.director, all_codes, measurements=4, documents=3)
    with django_assert_num_queries(few):
        client.get(dashboard_url(tenants.member))
    # 15 + 1: the request's programme and the header's switcher (issue 11); + 1: the programme's semester ranges,
    # the axis of the progress chart (issue 16).
    with django_assert_max_num_queries(17):
        client.get(dashboard_url(tenants.member))


@pytest.mark.parametrize("url", [TABLE_URL, COMPLETENESS_URL])
@pytest.mark.parametrize("params", [{}, {"prerequisites": "oui", "sector": "public"}, {"prerequisites": "non", "page": "2"}])
@pytest.mark.parametrize("role", ["ars_a", "dgos"])
def test_table_query_counts_do_not_depend_on_the_number_of_establishments(
    client, tenants, catalogue, url, params, role, django_assert_num_queries, django_assert_max_num_queries
):
    user = getattr(tenants, role)
    client.force_login(user)
    codes = PREREQUISITE_CODES[:5] + ["D1.1", "D7.2"]
    quick_values(tenants.member, tenants.director, PREREQUISITE_CODES + ["D1.1"])  # every filter matches a row
    for establishment in [tenants.support, tenants.clinic]:
        quick_values(establishment, tenants.director, codes)
    few = count_queries(client, url, params)

    other_region = RegionFactory()
    for i in range(40):
        establishment = EstablishmentFactory(region=tenants.region_a if i % 4 else other_region)
        quick_values(establishment, tenants.director, PREREQUISITE_CODES if i % 3 else codes)
    with django_assert_num_queries(few):
        client.get(url, params)
    # Session, user, the request's programme, the user's roles, the header's unread notifications; the catalogue (with
    # its number of indicators), the filter bar's choices in one statement (issue 17); then the table: its groups,
    # the count, the page and the page's group states; or the completeness totals (which count the page's
    # establishments too) and the page.
    with django_assert_max_num_queries({TABLE_URL: 11, COMPLETENESS_URL: 9}[url]):
        client.get(url, params)

"""Hostile input never reaches a view (issue 15, item 4): control characters in a path answer 404, anywhere else 400;
JSON bodies are bounded in depth and size; dates are bounded to 2000–2100 in forms, API and imports."""

import datetime
import json

import pytest
from urllib.parse import urlencode

from rest_framework.test import APIClient

from hopen.input_guard import json_depth_exceeds
from hopen.validation import has_control_character, sane_date_error
from indicators.bulk import parsing, planning
from indicators.models import IndicatorValue
from tests.indicators.conftest import hopen_programme
from tests.indicators.test_bulk import confirm, csv_bytes, line, upload

pytestmark = pytest.mark.django_db

# The path patterns with a text segment, each with a NUL (and other controls) in it.
NUL_PATHS = [
    "/etablissements/%00/",
    "/etablissements/{finess}/indicateurs/%00/",
    "/etablissements/%00/saisie-en-masse/",
    "/etablissements/%00/financement/",
    "/etablissements/%00/ami/",
    "/dossiers/%00/",
    "/dossiers/%00/revues/",
    "/pilotage/%00/",
    "/ght/%00/gouvernance/",
    "/enveloppes/%00/",
    "/api/v1/establishments/%00/",
    "/api/v1/establishments/{finess}/indicators/%00/values/",
    "/api/v1/dossiers/%00/",
    "/api/v1/envelopes/%1f/",
    "/etablissements/%7f/",
]


def token_client(user):
    client = APIClient()
    client.force_authenticate(user)  # DRF authentication, no session (as a token)
    return client


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_control_character_in_a_path_answers_404(client, tenants, path):
    client.force_login(tenants.dgos)
    response = client.get(path.format(finess=tenants.member.finess))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/dossiers/?region=%00",
        "/api/v1/establishments/?search=a%00b",
        "/api/v1/ami/?domain=%01",
        "/etablissements/?q=%00",
        "/dossiers/?region=%00",
        "/api/v1/?%00=1",
    ],
)
def test_a_control_character_in_the_query_string_answers_400(tenants, url):
    response = token_client(tenants.dgos).get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert "caractère de contrôle" in response.json()["detail"]


def test_tab_and_line_breaks_stay_ordinary_text():
    """Text areas carry line breaks and pasted tabs: only the invisible controls are refused."""
    assert not has_control_character("ligne 1\r\nligne 2\tfin")
    assert has_control_character("a\x00b") and has_control_character("a\x1bb") and has_control_character("\x7f")


def test_a_nul_in_a_json_body_answers_400_before_any_write(tenants):
    url = f"/api/v1/establishments/{tenants.member.finess}/ami/"
    response = token_client(tenants.editor).put(url, {"comment": "a\u0000b"}, format="json")
    assert response.status_code == 400
    assert "caractère de contrôle" in response.json()["detail"]
    response = token_client(tenants.editor).put(url, {"comm\u0000ent": "x"}, format="json")
    assert response.status_code == 400


def test_a_nul_in_a_form_field_answers_400(client, db):
    response = client.post("/compte/connexion/", {"username": "a\x00b@example.org", "password": "x"})
    assert response.status_code == 400


def test_a_nul_in_an_uploaded_file_name_never_reaches_the_application(client, tenants, catalogue):
    """Django keeps only the printable characters of a file name; the upload is read as usual."""
    client.force_login(tenants.editor)
    content = csv_bytes([line(tenants.member.finess, "P1.1", kind="taux", numerator="1", denominator="2")])
    response = upload(client, tenants.member, content, name="indic\x00ateurs.csv")
    assert response.status_code == 200
    assert "\x00" not in response.content.decode()


@pytest.mark.parametrize("fmt", ["multipart", "form"])
def test_a_nul_in_an_api_form_body_answers_400(tenants, catalogue, fmt):
    """DRF parses API form bodies itself (PUT / PATCH included): its parsers apply the same refusal."""
    url = f"/api/v1/establishments/{tenants.member.finess}/indicators/P1.1/values/"
    body = {"measured_on": "2020-03-15", "kind": "rate", "numerator": "1", "denominator": "2", "comment": "a\x00b"}
    client = token_client(tenants.editor)
    if fmt == "form":
        response = client.post(url, urlencode(body), content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(url, body, format="multipart")
    assert response.status_code == 400
    assert "caractère de contrôle" in response.json()["detail"]
    assert not IndicatorValue.objects.exists()


def test_a_5000_deep_json_body_answers_400_not_500(tenants):
    body = "[" * 5000 + "]" * 5000
    response = token_client(tenants.editor).generic(
        "PUT", f"/api/v1/establishments/{tenants.member.finess}/ami/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "trop profond" in response.json()["detail"]


def test_json_depth_is_counted_outside_strings():
    assert not json_depth_exceeds(b'{"a": "[[[[[[[[[[[[[[[["}', 2)
    assert json_depth_exceeds(b'{"a": [[{"b": 1}]]}', 3)
    assert not json_depth_exceeds(b'{"a": [[{"b": "\\"[["}]]}', 4)


def test_an_oversized_json_body_answers_400(tenants, settings):
    settings.API_JSON_MAX_BYTES = 1000
    body = json.dumps({"comment": "x" * 2000})
    response = token_client(tenants.editor).generic(
        "PUT", f"/api/v1/establishments/{tenants.member.finess}/ami/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "trop volumineux" in response.json()["detail"]


def test_a_multipart_put_on_the_ami_api_is_refused_rather_than_dropping_the_domains(tenants):
    """A form body cannot carry the nested domains (annex 5): 415, nothing saved."""
    response = token_client(tenants.editor).put(
        f"/api/v1/establishments/{tenants.member.finess}/ami/", {"comment": "x", "domains": "D1"}, format="multipart"
    )
    assert response.status_code == 415


# --- Dates ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, ok",
    [(datetime.date(1, 1, 1), False), (datetime.date(1999, 12, 31), False), (datetime.date(2000, 1, 1), True),
     (datetime.date(2100, 12, 31), True), (datetime.date(2101, 1, 1), False), (datetime.date(9999, 12, 31), False)],
)
def test_sane_dates_are_2000_to_2100(day, ok):
    """The programme runs from 2018 (Instruction, §1) and plans a few years ahead."""
    assert (sane_date_error(day) is None) is ok


@pytest.mark.parametrize("measured_on", ["0001-01-01", "9999-12-31"])
def test_an_absurd_date_is_a_field_error_in_the_api(tenants, catalogue, measured_on):
    url = f"/api/v1/establishments/{tenants.member.finess}/indicators/P1.1/values/"
    body = {"measured_on": measured_on, "kind": "rate", "numerator": 1, "denominator": 2}
    response = token_client(tenants.editor).post(url, body, format="json")
    assert response.status_code == 400
    assert "measured_on" in response.json()
    assert not IndicatorValue.objects.exists()


@pytest.mark.parametrize("measured_on", ["01/01/1900", "31/12/9999", "15/03/1999"])
def test_an_absurd_date_is_a_line_error_of_the_bulk_dry_run(tenants, catalogue, measured_on):
    lines = parsing.bulk_parse(
        csv_bytes([line(tenants.member.finess, "P1.1", date=measured_on, kind="taux", numerator="1", denominator="2")]),
        "f.csv",
    )
    plan = planning.bulk_plan(lines=lines, by=tenants.editor, programme=hopen_programme())
    assert not plan.changes
    [error] = plan.errors
    assert "date_mesure" in error.message and "2000" in error.message


@pytest.mark.parametrize("cell", ["a\x00b", "a\x1bb", "\x01"])
def test_a_control_character_in_a_bulk_cell_is_refused_at_the_dry_run_and_nothing_is_written(
    client, tenants, catalogue, cell
):
    """Refused at the dry run (the file, or the cell named); the confirmation writes nothing and does not fail."""
    content = csv_bytes([line(tenants.member.finess, "P1.1", kind="taux", numerator="1", denominator="2", comment=cell)])
    client.force_login(tenants.editor)
    dry_run = upload(client, tenants.member, content)
    assert dry_run.status_code in (200, 400)
    html = dry_run.content.decode()
    assert "commentaire : caractère de contrôle interdit" in html or "Fichier illisible" in html
    confirmed = confirm(client, tenants.member, content)
    assert confirmed.status_code < 500
    assert not IndicatorValue.objects.exists()

"""Answer headers (issue 15, item 6): a Permissions-Policy on every answer, `Cache-Control: no-store` on every page
of a logged-in user and every export or download, the API's schema and docs behind login."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/compte/connexion/", "/", "/etablissements/", "/api/v1/dossiers/", "/nulle-part/"])
def test_every_answer_carries_a_permissions_policy(client, tenants, path):
    for logged_in in (False, True):
        if logged_in:
            client.force_login(tenants.editor)
        policy = client.get(path)["Permissions-Policy"]
        assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


@pytest.mark.parametrize("path", ["/", "/etablissements/", "/etablissements/{finess}/", "/dossiers/", "/nulle-part/"])
def test_logged_in_pages_are_not_stored(client, tenants, path):
    client.force_login(tenants.editor)
    response = client.get(path.format(finess=tenants.member.finess))
    assert response.status_code in (200, 404)
    assert no_store(response)


def test_an_api_answer_to_a_token_is_not_stored(tenants):
    client = APIClient()
    client.force_authenticate(tenants.dgos)  # DRF authentication, no session
    response = client.get("/api/v1/establishments/")
    assert response.status_code == 200
    assert no_store(response)


def test_a_public_page_is_left_to_its_view(client, db):
    """Only logged-in answers and files are forced to no-store (the login view sets its own never-cache)."""
    assert not no_store(client.get("/compte/mot-de-passe/oubli/"))


@pytest.mark.parametrize("path", ["/api/v1/ami/export.csv", "/api/v1/ami/export.xlsx", "/ami/region/export/?format=csv"])
def test_exports_are_not_stored(client, tenants, catalogue, path):
    client.force_login(tenants.dgos)
    response = client.get(path)
    assert response.status_code == 200
    assert response.get("Content-Disposition") or response.streaming
    assert no_store(response)


def test_a_download_is_not_stored_even_without_a_session():
    """A file answer is never cached, whoever asked (`is_download`)."""
    from django.http import FileResponse, HttpResponse

    from hopen.response_headers import is_download

    attachment = HttpResponse(b"a;b", content_type="text/csv")
    attachment["Content-Disposition"] = 'attachment; filename="x.csv"'
    assert is_download(attachment)
    assert is_download(FileResponse(iter([b"x"])))
    assert not is_download(HttpResponse(b"<html>"))


def test_schema_and_docs_are_behind_login(client, tenants):
    assert APIClient().get("/api/schema/").status_code in (401, 403)
    assert APIClient().get("/api/schema/", {"format": "json"}).status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and "/compte/connexion/" in docs["Location"]
    client.force_login(tenants.editor)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200

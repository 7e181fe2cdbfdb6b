"""The indicator page: entry, declaration, correction, history — through the browser's forms."""

import pytest

from indicators.models import IndicatorValue, ValueStatus
from tests.indicators.conftest import declared, rate

pytestmark = pytest.mark.django_db


def url(establishment, code="D1.1"):
    return f"/etablissements/{establishment.finess}/indicateurs/{code}/"


def post_draft(client, establishment, code="D1.1", **fields):
    data = {"action": "save_draft", "measured_on": "2020-03-15", "kind": "rate", "numerator": "80", "denominator": "100",
            "comment": "Extraction du DPI"}
    data.update(fields)
    return client.post(url(establishment, code), data)


def test_editor_enters_a_draft_and_the_director_declares_it(client, tenants, catalogue):
    client.force_login(tenants.editor)
    page = client.get(url(tenants.member))
    assert page.status_code == 200
    assert "Saisir une valeur" in page.content.decode()
    response = post_draft(client, tenants.member)
    assert response.status_code == 302
    value = IndicatorValue.objects.get()
    assert (value.status, value.numerator, value.comment) == ("draft", 80, "Extraction du DPI")
    html = client.get(url(tenants.member)).content.decode()
    assert "La déclaration revient à la direction" in html
    assert "Déclarer cette valeur" not in html

    client.force_login(tenants.director)
    response = client.post(url(tenants.member), {"action": "declare", "value": value.pk})
    assert response.status_code == 302
    value.refresh_from_db()
    assert value.status == ValueStatus.DECLARED
    html = client.get(url(tenants.member)).content.decode()
    assert "Non atteint" in html  # 80 % < 90 % (annex 1, D1.1)
    assert "80,0 % (80 / 100)" in html


def test_invalid_entry_keeps_what_was_typed_and_explains(client, tenants, catalogue):
    client.force_login(tenants.editor)
    response = post_draft(client, tenants.member, numerator="120", comment="Ne pas perdre ce commentaire")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Le numérateur ne peut pas dépasser le dénominateur." in html
    assert "Ne pas perdre ce commentaire" in html
    assert 'value="120"' in html
    assert not IndicatorValue.objects.exists()


def test_correction_needs_a_reason_and_creates_a_new_version(client, tenants, catalogue):
    value = declared(tenants.member, "D1.1", rate(80, 100), editor=tenants.editor, director=tenants.director)
    client.force_login(tenants.editor)
    data = {"action": "correct", "value": value.pk, "measured_on": "2020-03-15", "kind": "rate", "numerator": "92",
            "denominator": "100", "correction_reason": ""}
    response = client.post(url(tenants.member), data)
    assert response.status_code == 400
    assert "obligatoire" in response.content.decode()
    data["correction_reason"] = "Recomptage après audit interne"
    assert client.post(url(tenants.member), data).status_code == 302
    correction = IndicatorValue.objects.get(version=2)
    assert (correction.previous, correction.status, correction.numerator) == (value, "draft", 92)
    html = client.get(url(tenants.member)).content.decode()
    assert "Recomptage après audit interne" in html
    assert "Numérateur</span> : 80 → 92" in html  # the history shows old → new (hopen.audit_display)


def test_declared_value_cannot_be_overwritten_by_a_new_draft_for_the_same_date(client, tenants, catalogue):
    declared(tenants.member, "D1.1", rate(80, 100), editor=tenants.editor, director=tenants.director)
    client.force_login(tenants.editor)
    response = post_draft(client, tenants.member, numerator="85")
    assert response.status_code == 400
    assert "Corriger" in response.content.decode()


def test_ars_of_the_region_reads_without_forms_and_cannot_post(client, tenants, catalogue):
    declared(tenants.member, "D1.1", rate(95, 100), editor=tenants.editor, director=tenants.director)
    client.force_login(tenants.ars_a)
    html = client.get(url(tenants.member)).content.decode()
    assert "Atteint" in html and "Saisir une valeur" not in html and "Corriger cette valeur" not in html
    assert post_draft(client, tenants.member).status_code == 403


@pytest.mark.parametrize("user, establishment", [("ars_b", "member"), ("editor", "clinic"), ("editor", "foreign")])
def test_out_of_scope_is_404(client, tenants, catalogue, user, establishment):
    client.force_login(getattr(tenants, user))
    assert client.get(url(getattr(tenants, establishment))).status_code == 404
    assert post_draft(client, getattr(tenants, establishment)).status_code == 404


def test_unknown_indicator_is_404(client, tenants, catalogue):
    client.force_login(tenants.editor)
    assert client.get(url(tenants.member, "D9.9")).status_code == 404


def test_not_applicable_needs_a_reason_on_the_page(client, tenants, catalogue):
    client.force_login(tenants.editor)
    response = post_draft(client, tenants.member, code="D1.2", kind="not_applicable", not_applicable_reason="")
    assert response.status_code == 400
    assert "Le motif de non-applicabilité est obligatoire." in response.content.decode()
    response = post_draft(client, tenants.member, code="D1.2", kind="not_applicable", not_applicable_reason="Pas d'anatomo-pathologie")
    assert response.status_code == 302


def test_prerequisite_offers_no_not_applicable_choice(client, tenants, catalogue):
    client.force_login(tenants.editor)
    html = client.get(url(tenants.member, "P1.2")).content.decode()
    assert "Non applicable / non concerné" not in html
    assert "Existe ?" in html


def test_large_identifiers_are_rendered_without_thousands_separator(client, tenants, catalogue):
    """French number formatting is on; a value id of 12345 must still post back as 12345."""
    from django.utils import timezone

    IndicatorValue.objects.create(
        pk=12345, establishment=tenants.member, indicator=catalogue.get(code="D1.1"),
        measured_on=timezone.localdate(), kind="rate", numerator=1, denominator=2, created_by=tenants.editor,
    )
    client.force_login(tenants.director)
    html = client.get(url(tenants.member)).content.decode()
    assert 'name="value" value="12345"' in html
    assert client.post(url(tenants.member), {"action": "declare", "value": "12345"}).status_code == 302
    assert IndicatorValue.objects.get(pk=12345).status == ValueStatus.DECLARED


# --- §5.3.1: more than one « non applicable » per domain makes its projects ineligible — warned before saving ------


def test_the_entry_form_warns_before_a_second_not_applicable_in_a_domain(client, tenants, catalogue):
    """§5.3.1 « Si plus d'un indicateur par domaine est non applicable/non concerné […] le projet est inéligible »:
    an eligibility consequence, not an entry rule — the form says so when another indicator of the domain is
    already non applicable, and only then."""
    from tests.indicators.conftest import not_applicable

    client.force_login(tenants.editor)
    assert 'data-testid="second-not-applicable-warning"' not in client.get(url(tenants.member, "D2.2")).content.decode()

    declared(tenants.member, "D2.3", not_applicable(), editor=tenants.editor, director=tenants.director)

    html = client.get(url(tenants.member, "D2.2")).content.decode()
    warning = html.split('data-testid="second-not-applicable-warning"', 1)[1].split("</div>", 1)[0]
    assert "D2.3 est déjà déclaré non applicable dans ce domaine" in warning and "inéligibles" in warning
    assert "§5.3.1" in warning
    # Another domain is not concerned; the page states the rule as an eligibility consequence.
    assert 'data-testid="second-not-applicable-warning"' not in client.get(url(tenants.member, "D1.1")).content.decode()
    assert "au plus un indicateur par domaine" not in html
    assert "plus d'un indicateur d'un domaine est déclaré non applicable, les projets" in html

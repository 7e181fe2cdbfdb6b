"""The establishment's tab « HOP'EN, appel à manifestation d'intérêt » (instruction, annex 5), the GHT support
establishment's validation queue (§5.3.2 « Etape 1 ») (the notifications page: tests/hopen/test_notifications.py).

Sources: ../shared/reference/000_eb8a7a77b11ba617.txt, §5.3.2 « Etape 1 » and « Annexe 5 – Levier financement du
programme HOP'EN » (the oSIS tab, its sections and its choices).
"""

import html as html_module
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ami.models import FilingStatus, PreCandidature, PreCandidatureAttachment
from ami.services import pre_candidature_decide
from funding.loading import load_amount_grid
from funding.models import CombinedActivity
from hopen.models import AuditRecord, Notification, Role
from indicators.models import ScanStatus
from tests.ami.conftest import LATE, ON_TIME, TOO_LATE, hopen_programme, save_draft
from tests.factories import EstablishmentFactory, user_with_role

pytestmark = pytest.mark.django_db

NOW = "ami.services.timezone.now"


# --- fixtures and helpers ------------------------------------------------------------------------------------------


@pytest.fixture
def private_root(settings, tmp_path):
    """Uploads go to a private folder of the test; no antivirus unless a test sets one."""
    root = tmp_path / "private-media"
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": None}},
    }
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST = ""
    return root


@pytest.fixture
def ami(tenants, catalogue, private_root):
    """The calendar and catalogue of the programme, the annex-3 grid, and a combined activity for the member."""
    load_amount_grid()
    CombinedActivity.objects.create(establishment=tenants.member, source_year=2023, computed=Decimal("50000"))
    tenants.clinic_editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.clinic)
    tenants.clinic_director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=tenants.clinic)
    return tenants


def tab_url(establishment):
    return reverse("ami:tab", args=[establishment.finess])


def text_of(response):
    return html_module.unescape(response.content.decode())


def form_data(**overrides):
    """What the page posts when the editor fills the tab: D2 first, then D3 (annex 5 choices)."""
    data = {
        "action": "save",
        "position": "final",
        "hn_prerequisites_reached": "no",
        "hn_prerequisites_forecast": "2020 S1",
        "hopen_prerequisites_forecast": "2020 S2",
        "D2_semester": "2021 S1", "D2_priority": "1", "D2_planning": "DPI sur 4 pôles ; observation oct.–déc. 2020",
        "D3_semester": "2022 S1", "D3_priority": "2", "D3_planning": "",
        "referent_name": "Claire Martin",
        "referent_function": "DSI",
        "referent_email": "claire.martin@ch-test.fr",
        "referent_phone": "03 20 00 00 00",
        "legal_representative_name": "Jean Dupont",
        "legal_representative_function": "Directeur",
        "comment": "Projet inscrit au schéma directeur du GHT.",
        "investment_amount": "1 250 000,50",
        "business_stakes": "Dossier patient partagé sur le territoire.",
    }
    for code in ("D1", "D4", "D5", "D6", "D7"):
        data.update({f"{code}_semester": "", f"{code}_priority": "", f"{code}_planning": ""})
    data.update(overrides)
    return data


def save_as(client, user, establishment, moment=ON_TIME, **overrides):
    """The editor saves the tab at `moment`: by default 15/05/2019, inside HOP'EN's AMI window (its calendar closed
    on 31/12/2021, §5.3.2; the semesters offered are those not already past at that moment)."""
    return post_at(client, user, moment, tab_url(establishment), form_data(**overrides))


def pdf_bytes(text="Schéma directeur du SI du GHT"):
    body = text.encode("latin-1", "replace")
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n"
        b"4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
        b"3 0 obj\n<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def post_at(client, user, moment, url, data):
    """POST as `user` with the services' clock frozen at `moment`. The patch freezes Django's clock for the
    whole request (the session's expiry too), so the user logs in again afterwards."""
    client.force_login(user)
    with mock.patch(NOW, return_value=moment):
        response = client.post(url, data)
    client.force_login(user)
    return response


def get_at(client, user, moment, url):
    """GET as `user` with the clock frozen at `moment` (the page as it was then); logs in again afterwards."""
    client.force_login(user)
    with mock.patch(NOW, return_value=moment):
        response = client.get(url)
    client.force_login(user)
    return response


def plain(html):
    """The text of an HTML fragment, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def pre_candidature_of(establishment):
    return PreCandidature.objects.get(establishment=establishment)


# --- reading: who sees the tab ---------------------------------------------------------------------------------------


def test_the_tab_shows_the_five_sections_and_reading_writes_nothing(client, ami):
    """Annex 5: « Estimation du soutien financier », « Manifestation d'intérêt », « Contact », « Commentaire »;
    the ARS's complementary elements (004). Reading the tab creates no pre-candidature. Seen on 15/05/2019, inside
    HOP'EN's AMI window (§5.3.2), when every semester of the calendar was still to come."""
    response = get_at(client, ami.editor, ON_TIME, tab_url(ami.member))
    page = text_of(response)
    assert response.status_code == 200
    for title in ("1. Estimation du soutien financier", "2. Manifestation d'intérêt", "3. Contact", "4. Commentaire",
                  "5. Éléments complémentaires", "Échanges avec l'ARS", "Historique des modifications"):
        assert title in page
    assert 'id="formulaire-ami"' in page
    # Section 1: combined activity 50 000 → category C (22 500 – 230 000, annex 3 §2), an amount per domain.
    assert re.search(r'id="categorie">C<', page)
    assert "Calculée sur les données SAE 2023" in page
    assert page.count('<tr data-domain="D') == 7
    # Annex 5 choices come from the calendar: 2019 S1 … 2021 S1 for the prerequisites, … 2022 S2 for the domains.
    assert '<option value="2021 S1">2021 semestre 1</option>' in page
    assert '<option value="2021 S2">' not in page.split('name="hopen_prerequisites_forecast"')[1].split("</select>")[0]
    assert '<option value="2022 S2">2022 semestre 2</option>' in page.split('name="D1_semester"')[1].split("</select>")[0]
    assert "Les éditeurs de l'établissement la préparent" in page
    assert not PreCandidature.objects.exists()


@pytest.mark.parametrize("reader", ["ars_a", "dgos", "ght_director"])
def test_ars_dgos_and_support_read_without_a_form(client, ami, reader):
    """Annex 5: « Lecture » for the ARS and the DGOS; the support establishment reads its members' tabs."""
    save_draft(establishment=ami.member, data=_input(), by=ami.editor)
    client.force_login(getattr(ami, reader))
    response = client.get(tab_url(ami.member))
    page = text_of(response)
    assert response.status_code == 200
    assert 'id="formulaire-ami"' not in page and 'name="action" value="save"' not in page
    assert "modifiables uniquement par lui" in page
    assert "Claire Martin" in page and "Définitive" in page
    assert 'id="deposer-pieces"' not in page


def test_out_of_scope_answers_404(client, ami):
    """An establishment outside the user's scope is not revealed (404), to read as to write."""
    client.force_login(ami.ars_b)
    assert client.get(tab_url(ami.member)).status_code == 404
    assert client.post(tab_url(ami.member), form_data()).status_code == 404
    client.force_login(ami.clinic_editor)
    assert client.get(tab_url(ami.member)).status_code == 404
    response = client.post(tab_url(ami.member), form_data())
    assert response.status_code == 404
    assert not PreCandidature.objects.exists()
    assert client.get(tab_url(EstablishmentFactory.build(finess="999999999"))).status_code == 404


# --- writing: the establishment prepares, the director validates ---------------------------------------------------


def _input(**overrides):
    from ami.services import DomainChoice, PreCandidatureInput

    data = PreCandidatureInput(
        position="final", hn_prerequisites_reached=True, hopen_prerequisites_forecast="2020 S2",
        domains=[DomainChoice("D2", "2021 S1", 1, "Planning D2"), DomainChoice("D3", "2022 S1", 2)],
        referent_name="Claire Martin", referent_email="claire.martin@ch-test.fr",
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def test_editor_saves_the_tab_and_the_history_shows_it_in_french(client, ami):
    response = save_as(client, ami.editor, ami.member)
    assert response.status_code == 302 and response["Location"] == tab_url(ami.member)
    pre_candidature = pre_candidature_of(ami.member)
    assert pre_candidature.position == "final"
    assert pre_candidature.hn_prerequisites_reached is False and pre_candidature.hn_prerequisites_forecast == "2020 S1"
    assert pre_candidature.investment_amount == Decimal("1250000.50")
    assert [(d.domain_code, d.forecast_semester, d.priority) for d in pre_candidature.domains.all()] == [
        ("D2", "2021 S1", 1), ("D3", "2022 S1", 2),
    ]
    assert pre_candidature.domains.get(domain_code="D2").planning.startswith("DPI sur 4 pôles")
    assert AuditRecord.objects.filter(action="pre_candidature.save", object_id=str(pre_candidature.pk)).count() == 1

    save_as(client, ami.editor, ami.member, position="planned", D3_semester="", D3_priority="")
    page = text_of(client.get(tab_url(ami.member)))
    assert "Pré-candidature enregistrée." in page
    history = plain(page.split('id="historique"')[1])
    assert "Pré-candidature enregistrée" in history
    assert "Positionnement : Définitive → En projet" in history
    assert (
        "Domaines (semestre, priorité) : D2 (2021 semestre 1, priorité 1) ; D3 (2022 semestre 1, priorité 2)"
        " → D2 (2021 semestre 1, priorité 1)"
    ) in history
    assert ami.editor.get_full_name() in history


def test_director_of_a_public_establishment_outside_a_ght_files_directly(client, ami):
    """§5.3.2: filed on time before the AMI deadline (30/06/2019)."""
    save_as(client, ami.clinic_editor, ami.clinic)
    response = post_at(client, ami.clinic_director, ON_TIME, tab_url(ami.clinic), {"action": "validate"})
    assert response.status_code == 302
    pre_candidature = pre_candidature_of(ami.clinic)
    assert pre_candidature.status == FilingStatus.FILED and not pre_candidature.is_late
    assert pre_candidature.validated_by == ami.clinic_director
    page = text_of(client.get(tab_url(ami.clinic)))
    assert "Pré-candidature déposée le 15/05/2019" in page and "Candidature tardive" not in page
    assert 'id="formulaire-ami"' not in page  # validated: read-only, also for the establishment
    # The ARS of the region is told (in-app; the e-mail leaves after commit).
    assert Notification.objects.filter(recipient=ami.ars_a, message__contains="Nouvelle pré-candidature déposée").exists()
    # Once validated, a save is refused with a message, the typed input kept.
    response = save_as(client, ami.clinic_editor, ami.clinic, referent_name="Autre référent")
    assert response.status_code == 409
    page = text_of(response)
    assert "déjà validée : elle ne peut plus être modifiée" in page
    assert 'value="Autre référent"' in page
    assert pre_candidature_of(ami.clinic).referent_name == "Claire Martin"


def test_editor_cannot_validate(client, ami):
    """The establishment's director validates; its editors prepare (§5.3.2)."""
    save_as(client, ami.editor, ami.member)
    page = text_of(client.get(tab_url(ami.member)))
    assert 'id="valider"' not in page and "La validation revient à la direction" in page
    response = post_at(client, ami.editor, ON_TIME, tab_url(ami.member), {"action": "validate"})
    assert response.status_code == 403
    assert "La validation revient au directeur de l'établissement." in text_of(response)
    assert pre_candidature_of(ami.member).status == FilingStatus.DRAFT


@pytest.mark.parametrize("reader", ["ars_a", "dgos", "ght_director", "auditor"])
def test_readers_writing_get_403_and_nothing_changes(client, ami, reader):
    save_as(client, ami.editor, ami.member)
    business = AuditRecord.objects.exclude(action__startswith="auth.")  # logins are recorded (issue 15), not writes
    before = business.count()
    client.force_login(getattr(ami, reader))
    response = client.post(tab_url(ami.member), form_data(referent_name="Usurpateur"))
    assert response.status_code == 403
    assert "modifiables uniquement par lui" in text_of(response)
    for action in ("validate", "upload", "delete_attachment"):
        assert post_at(client, getattr(ami, reader), ON_TIME, tab_url(ami.member), {"action": action}).status_code == 403
    assert pre_candidature_of(ami.member).referent_name == "Claire Martin"
    assert pre_candidature_of(ami.member).status == FilingStatus.DRAFT
    assert business.count() == before


def test_unknown_action_is_a_clear_400(client, ami):
    client.force_login(ami.editor)
    response = client.post(tab_url(ami.member), {"action": "supprimer-tout"})
    assert response.status_code == 400 and "Action inconnue." in text_of(response)


# --- annex 5 choices: semesters from the calendar, priorities --------------------------------------------------------


def test_semesters_outside_the_calendar_are_refused_with_a_message_and_the_input_kept(client, ami):
    """Annex 5: prerequisites « 2019 semestre 1 … 2021 semestre 1 », domains « … 2022 semestre 2 »."""
    response = save_as(
        client, ami.editor, ami.member, D2_semester="2023 S1", hopen_prerequisites_forecast="2021 S2",
        referent_name="Nom saisi avant l'erreur",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "D2 : semestre « 2023 S1 » hors du calendrier : choisissez entre 2019 semestre 1 et 2022 semestre 2." in page
    assert "Semestre « 2021 S2 » hors du calendrier : choisissez entre 2019 semestre 1 et 2021 semestre 1." in page
    assert "La pré-candidature n'est pas enregistrée" in page
    # Nothing typed is lost: the other fields and the refused values stay.
    assert 'value="Nom saisi avant l\'erreur"' in page or "value=\"Nom saisi avant l'erreur\"" in page
    assert '<option value="2023 S1" selected>2023 S1 (hors calendrier)</option>' in page
    assert "DPI sur 4 pôles" in page
    assert not PreCandidature.objects.exists()


def test_the_service_refuses_semesters_outside_the_calendar_too(ami):
    """Whatever the client (API, another page), the range check is the service's (calendar, not code)."""
    from django.core.exceptions import ValidationError

    from ami.services import DomainChoice

    with pytest.raises(ValidationError) as error:
        save_draft(
            establishment=ami.member, data=_input(domains=[DomainChoice("D1", "2018 S2", 1)]), by=ami.editor
        )
    assert "hors du calendrier" in str(error.value)


def test_duplicate_priority_ranks_are_refused(client, ami):
    """004 « Candidatures »: the chosen domains are ranked, each rank once."""
    response = save_as(client, ami.editor, ami.member, D3_priority="1")
    assert response.status_code == 400
    page = text_of(response)
    assert "Le rang 1 est déjà donné à D2 : chaque domaine choisi a un rang différent." in page
    assert not PreCandidature.objects.exists()


def test_priority_ranks_must_be_one_to_n(client, ami):
    response = save_as(client, ami.editor, ami.member, D3_priority="3")
    assert response.status_code == 400
    assert "Les rangs de priorité des domaines choisis doivent être 1 à 2, chacun une seule fois." in text_of(response)


def test_a_rank_without_a_semester_and_a_semester_without_a_rank_are_named(client, ami):
    """Annex 5: « Pour candidater sur un domaine, il faut sélectionner un semestre prévisionnel »."""
    response = save_as(client, ami.editor, ami.member, D5_priority="3", D3_priority="")
    page = text_of(response)
    assert response.status_code == 400
    assert "Un rang est donné à D5 sans semestre prévisionnel" in page
    assert "Donnez un rang de priorité à D3" in page


def test_no_domain_is_no_candidature_and_cannot_be_validated(client, ami):
    """Annex 5: « SI l'établissement ne saisit rien, cela signifie qu'il ne candidate sur aucun domaine »."""
    save_as(client, ami.clinic_editor, ami.clinic, D2_semester="", D2_priority="", D2_planning="", D3_semester="", D3_priority="")
    assert pre_candidature_of(ami.clinic).domains.count() == 0
    response = post_at(client, ami.clinic_director, ON_TIME, tab_url(ami.clinic), {"action": "validate"})
    assert response.status_code == 409
    assert "Choisissez au moins un domaine" in text_of(response)


def test_hn_forecast_only_when_hn_prerequisites_are_not_reached(client, ami):
    """Annex 5: « Prérequis HN atteints (Oui / Non) ? Si non, période prévisionnelle d'atteinte des prérequis HN »."""
    response = save_as(client, ami.editor, ami.member, hn_prerequisites_reached="yes", hn_prerequisites_forecast="2020 S1")
    assert response.status_code == 400
    assert "ne se renseigne que s'ils ne sont pas atteints" in text_of(response)


def test_bad_email_and_amount_are_named(client, ami):
    response = save_as(client, ami.editor, ami.member, referent_email="claire.martin", investment_amount="beaucoup")
    page = text_of(response)
    assert response.status_code == 400
    assert "Saisissez une adresse électronique valide" in page
    assert "« beaucoup » n'est pas un montant" in page
    assert 'value="claire.martin"' in page and 'value="beaucoup"' in page


# --- GHT: the support establishment validates ----------------------------------------------------------------------


def test_ght_member_waits_for_the_support_and_is_not_filed_before(client, ami):
    """§5.3.2: « la pré-candidature doit être validée par le directeur d'établissement et le directeur
    d'établissement support pour les établissements publics partis au GHT »."""
    save_as(client, ami.editor, ami.member)
    response = post_at(client, ami.director, ON_TIME, tab_url(ami.member), {"action": "validate"})
    assert response.status_code == 302
    pre_candidature = pre_candidature_of(ami.member)
    assert pre_candidature.status == FilingStatus.AWAITING_SUPPORT
    assert pre_candidature.filed_at is None
    assert not PreCandidature.objects.filter(status=FilingStatus.FILED).exists()
    page = text_of(client.get(tab_url(ami.member)))
    assert "en attente de l'établissement support" in page
    assert "Pré-candidature déposée" not in page
    assert "CH Support" in page.split('id="validation-support"')[1]
    # No notification to the ARS yet: nothing is filed.
    assert not Notification.objects.filter(recipient=ami.ars_a).exists()
    assert Notification.objects.filter(recipient=ami.ght_director, message__contains="attend la validation").exists()

    # The support director's queue lists it, with a validate button (seen inside HOP'EN's AMI window, §5.3.2).
    queue = get_at(client, ami.ght_director, ON_TIME, reverse("ami:support_queue"))
    waiting = text_of(queue).split('id="en-attente"')[1].split("</table>")[0]
    assert queue.status_code == 200
    assert ami.member.name in waiting and "D2 (1, 2021 S1), D3 (2, 2022 S1)" in waiting
    assert f'name="pre_candidature" value="{pre_candidature.pk}"' in waiting

    response = post_at(client, ami.ght_director, ON_TIME, reverse("ami:support_queue"), {"pre_candidature": pre_candidature.pk})
    assert response.status_code == 302
    pre_candidature.refresh_from_db()
    assert pre_candidature.status == FilingStatus.FILED and not pre_candidature.is_late
    assert pre_candidature.support_validated_by == ami.ght_director
    queue = text_of(client.get(reverse("ami:support_queue")))
    assert "Aucune pré-candidature n'attend votre validation." in queue
    assert "Déposée le 15/05/2019" in queue.split('id="autres"')[1]
    client.force_login(ami.editor)
    page = text_of(client.get(tab_url(ami.member)))
    assert "Pré-candidature déposée le 15/05/2019" in page
    assert "Validée par la direction de l'établissement support (CH Support)" in page
    assert Notification.objects.filter(recipient=ami.ars_a, message__contains="validée par l'établissement support").exists()


def test_support_director_validates_from_the_member_tab(client, ami):
    save_as(client, ami.editor, ami.member)
    post_at(client, ami.director, ON_TIME, tab_url(ami.member), {"action": "validate"})
    client.force_login(ami.ght_director)
    page = text_of(client.get(tab_url(ami.member)))
    assert 'id="valider-support"' in page
    response = post_at(client, ami.ght_director, LATE, tab_url(ami.member), {"action": "validate_as_support"})
    assert response.status_code == 302
    pre_candidature = pre_candidature_of(ami.member)
    assert pre_candidature.status == FilingStatus.FILED and pre_candidature.is_late


def test_the_member_itself_cannot_validate_as_support_and_the_queue_is_for_support_directors(client, ami):
    save_as(client, ami.editor, ami.member)
    post_at(client, ami.director, ON_TIME, tab_url(ami.member), {"action": "validate"})
    response = post_at(client, ami.director, ON_TIME, tab_url(ami.member), {"action": "validate_as_support"})
    assert response.status_code == 403
    assert "Seul le directeur de l'établissement support du GHT" in text_of(response)
    assert client.get(reverse("ami:support_queue")).status_code == 403
    client.force_login(ami.ars_a)
    assert client.get(reverse("ami:support_queue")).status_code == 403
    # Another GHT's support director does not see it (404 on the id).
    other_ght_director = user_with_role(Role.GHT_SUPPORT_DIRECTOR, ght=_other_ght(ami))
    client.force_login(other_ght_director)
    response = client.post(reverse("ami:support_queue"), {"pre_candidature": pre_candidature_of(ami.member).pk})
    assert response.status_code == 404
    assert pre_candidature_of(ami.member).status == FilingStatus.AWAITING_SUPPORT


def _other_ght(ami):
    from tests.factories import GhtFactory

    ght = GhtFactory(region=ami.region_a)
    ght.support = EstablishmentFactory(region=ami.region_a, ght=ght)
    ght.save()
    return ght


# --- deadlines: on time, late, refused (frozen clock) ----------------------------------------------------------------


def test_late_filing_is_flagged(client, ami):
    """§5.3.2: « au plus tard le 30 juin 2019 »; « Exceptionnellement, […] jusqu'au 31/12/2021 »."""
    save_as(client, ami.clinic_editor, ami.clinic)
    post_at(client, ami.clinic_director, LATE, tab_url(ami.clinic), {"action": "validate"})
    pre_candidature = pre_candidature_of(ami.clinic)
    assert pre_candidature.status == FilingStatus.FILED and pre_candidature.is_late
    page = text_of(client.get(tab_url(ami.clinic)))
    assert 'id="candidature-tardive"' in page
    assert "Déposée après la date limite de l'AMI (30/06/2019) : candidature tardive" in page
    assert Notification.objects.filter(recipient=ami.ars_a, message__contains="(tardive)").exists()


def test_filing_after_the_late_deadline_is_refused_with_a_clear_message(client, ami):
    save_as(client, ami.clinic_editor, ami.clinic)
    response = post_at(client, ami.clinic_director, TOO_LATE, tab_url(ami.clinic), {"action": "validate"})
    assert response.status_code == 409
    assert "Dépôt des candidatures tardives : clos depuis le 31/12/2021 (Instruction, §5.3.2)" in text_of(response)
    assert pre_candidature_of(ami.clinic).status == FilingStatus.DRAFT


def test_support_validation_after_the_late_deadline_is_refused_in_the_queue(client, ami):
    save_as(client, ami.editor, ami.member)
    post_at(client, ami.director, ON_TIME, tab_url(ami.member), {"action": "validate"})
    response = post_at(client, ami.ght_director, TOO_LATE, reverse("ami:support_queue"), {"pre_candidature": pre_candidature_of(ami.member).pk})
    assert response.status_code == 409
    assert "clos depuis le 31/12/2021 (Instruction, §5.3.2)" in text_of(response)
    assert pre_candidature_of(ami.member).status == FilingStatus.AWAITING_SUPPORT


# --- the thread between the establishment and its ARS ----------------------------------------------------------------


def test_comment_thread_notifies_the_other_side_in_app_and_by_email_after_commit(
    client, ami, sent_tasks, django_capture_on_commit_callbacks
):
    client.force_login(ami.editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(tab_url(ami.member), {"action": "comment", "body": "Pouvons-nous candidater sur D6 ?"})
    assert response.status_code == 302 and response["Location"].endswith("#echanges")
    assert Notification.objects.filter(recipient=ami.ars_a, message__contains=ami.member.name).count() == 1
    assert not Notification.objects.filter(recipient=ami.ars_b).exists()
    (sent,) = sent_tasks.of("hopen.tasks.send_email")
    assert sent["recipients"] == [ami.ars_a.email]
    assert tab_url(ami.member) in sent["body"]

    client.force_login(ami.ars_a)
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(tab_url(ami.member), {"action": "comment", "body": "Oui, conjointement avec D2."})
    (sent,) = sent_tasks.of("hopen.tasks.send_email")
    assert sorted(sent["recipients"]) == sorted([ami.editor.email, ami.director.email])
    assert Notification.objects.filter(recipient=ami.editor).count() == 1

    page = text_of(client.get(tab_url(ami.member)))
    thread = page.split('id="fil-messages"')[1].split("</ol>")[0]
    assert thread.index("Pouvons-nous candidater sur D6 ?") < thread.index("Oui, conjointement avec D2.")
    assert ami.ars_a.get_full_name() in thread
    assert "Message envoyé" in page.split('id="historique"')[1]


def test_dgos_cannot_post_in_the_thread_and_an_empty_message_is_refused(client, ami):
    client.force_login(ami.dgos)
    page = text_of(client.get(tab_url(ami.member)))
    assert 'id="formulaire-message"' not in page
    response = client.post(tab_url(ami.member), {"action": "comment", "body": "Bonjour"})
    assert response.status_code == 403
    client.force_login(ami.editor)
    response = client.post(tab_url(ami.member), {"action": "comment", "body": "   "})
    assert response.status_code == 400
    assert "Écrivez un message avant de l'envoyer." in text_of(response)
    assert not Notification.objects.exists()


# --- ARS decisions, as the establishment sees them -------------------------------------------------------------------


def test_the_establishment_sees_the_ars_decisions_and_the_reason(client, ami):
    pre_candidature = save_draft(establishment=ami.clinic, data=_input(), by=ami.clinic_editor)
    from ami.services import pre_candidature_validate

    with mock.patch(NOW, return_value=ON_TIME):
        pre_candidature_validate(pre_candidature=pre_candidature, by=ami.clinic_director)
    d2, d3 = pre_candidature.domains.order_by("priority")
    pre_candidature_decide(domain=d2, decision="preselected", reason="", by=ami.ars_a)
    pre_candidature_decide(domain=d3, decision="rejected", reason="Enveloppe 2022 épuisée", by=ami.ars_a)
    client.force_login(ami.clinic_editor)
    page = text_of(client.get(tab_url(ami.clinic)))
    rows = page.split('id="domaines-choisis"')[1].split("</table>")[0]
    assert 'data-decision="preselected"' in rows.split('data-domain="D2"')[1].split("</tr>")[0]
    d3_row = plain(rows.split('data-domain="D3"')[1].split("</tr>")[0])
    assert "Non retenu par l'ARS" in d3_row and "Motif : Enveloppe 2022 épuisée" in d3_row
    assert "Présélection décidée par l'ARS" in page.split('id="historique"')[1]


# --- complementary documents ----------------------------------------------------------------------------------------


def test_attachments_good_pdf_accepted_html_refused_and_served_only_in_scope(client, ami):
    """Same upload rules as justificatory documents (README « Justificatory documents »)."""
    client.force_login(ami.editor)
    response = client.post(
        tab_url(ami.member),
        {"action": "upload", "file": SimpleUploadedFile("Schéma directeur GHT.pdf", pdf_bytes(), "application/pdf")},
    )
    assert response.status_code == 302 and response["Location"].endswith("#pieces-complementaires")
    attachment = PreCandidatureAttachment.objects.get()
    assert attachment.original_name == "Schéma directeur GHT.pdf"
    assert attachment.content_type == "application/pdf" and attachment.scan_status == ScanStatus.NOT_SCANNED
    assert "Schéma directeur GHT" not in attachment.file.name  # stored under a random key
    assert AuditRecord.objects.filter(action="pre_candidature.attachment_upload", object_id=str(attachment.pk)).exists()

    response = client.post(
        tab_url(ami.member),
        {"action": "upload", "file": SimpleUploadedFile("rapport.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>")},
    )
    assert response.status_code == 400
    assert "contient du HTML ou du SVG" in text_of(response)
    response = client.post(tab_url(ami.member), {"action": "upload", "file": SimpleUploadedFile("page.html", b"<p>x</p>")})
    assert "n'est pas accepté (type « .html »)" in text_of(response)
    assert PreCandidatureAttachment.objects.count() == 1

    download = reverse("ami:attachment_download", args=[ami.member.finess, attachment.pk])
    client.force_login(ami.ars_a)
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    client.force_login(ami.ars_b)
    assert client.get(download).status_code == 404
    client.force_login(ami.clinic_editor)
    assert client.get(download).status_code == 404
    assert client.get(reverse("ami:attachment_download", args=[ami.clinic.finess, attachment.pk])).status_code == 404


def test_attachment_upload_by_a_reader_is_403_and_delete_is_soft_and_only_in_preparation(client, ami):
    client.force_login(ami.ars_a)
    response = client.post(tab_url(ami.member), {"action": "upload", "file": SimpleUploadedFile("a.pdf", pdf_bytes())})
    assert response.status_code == 403 and not PreCandidatureAttachment.objects.exists()

    client.force_login(ami.editor)
    client.post(tab_url(ami.member), {"action": "upload", "file": SimpleUploadedFile("a.pdf", pdf_bytes())})
    client.post(tab_url(ami.member), {"action": "upload", "file": SimpleUploadedFile("b.pdf", pdf_bytes("Autre"))})
    first, second = PreCandidatureAttachment.objects.order_by("pk")
    client.force_login(ami.ars_a)
    assert client.post(tab_url(ami.member), {"action": "delete_attachment", "attachment": first.pk}).status_code == 403
    client.force_login(ami.editor)
    response = client.post(tab_url(ami.member), {"action": "delete_attachment", "attachment": first.pk})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.deleted_at is not None and first.deleted_by == ami.editor and first.file.storage.exists(first.file.name)
    page = text_of(client.get(tab_url(ami.member)))
    listed = page.split('id="liste-pieces"')[1].split("</table>")[0]
    assert "b.pdf" in listed and "a.pdf" not in listed
    assert "1\xa0pièce supprimée" in page
    assert client.get(reverse("ami:attachment_download", args=[ami.member.finess, first.pk])).status_code == 404

    save_as(client, ami.editor, ami.member)
    post_at(client, ami.director, ON_TIME, tab_url(ami.member), {"action": "validate"})
    client.force_login(ami.editor)
    response = client.post(tab_url(ami.member), {"action": "delete_attachment", "attachment": second.pk})
    assert response.status_code == 409
    assert "ne peuvent plus être supprimées" in text_of(response)
    second.refresh_from_db()
    assert second.deleted_at is None


def test_pending_attachment_is_not_served(client, ami, settings, sent_tasks, django_capture_on_commit_callbacks):
    settings.CLAMD_HOST = "127.0.0.1"
    client.force_login(ami.editor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(tab_url(ami.member), {"action": "upload", "file": SimpleUploadedFile("a.pdf", pdf_bytes())})
    attachment = PreCandidatureAttachment.objects.get()
    assert attachment.scan_status == ScanStatus.PENDING
    assert sent_tasks == [("ami.attachments.scan_attachment", {"attachment_id": attachment.pk})]
    response = client.get(reverse("ami:attachment_download", args=[ami.member.finess, attachment.pk]))
    assert response.status_code == 409 and "en cours d'analyse antivirus" in text_of(response)


# --- the entry point -------------------------------------------------------------------------


def test_ami_menu_entry_leads_to_the_role_page(client, ami):
    client.force_login(ami.editor)
    assert client.get(reverse("ami:home"))["Location"] == tab_url(ami.member)
    client.force_login(ami.ght_director)
    assert client.get(reverse("ami:home"))["Location"] == reverse("ami:support_queue")
    client.force_login(ami.ars_a)
    assert client.get(reverse("ami:home")).status_code == 302



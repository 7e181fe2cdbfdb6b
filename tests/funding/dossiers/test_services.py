"""The dossier services (funding.dossiers.services): instruction §5.3.2 « Etape 2 », annex 2 §2 (seed and usage
funding), annex 3 §2 (GHT sums), annex 4 §1 (decisions, partial selection, reasons, re-candidacy) and annex 4
(closure, refunds). Money goes through envelopes.services; letters through funding.letters."""

import datetime
from decimal import Decimal

import pytest

from envelopes.models import EntryKind, LedgerEntry
from funding.dossiers import services
from funding.dossiers.rules import member_amount
from funding.dossiers.states import TransitionRefused
from funding.models import DomainStatus, DossierDomainShare, DossierLetter, DossierMember, DossierStatus, LetterKind
from funding.selectors import amount_grid
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.models import AuditRecord, Notification, Role
from tests.factories import EstablishmentFactory, user_with_role
from tests.factories_dossiers import hopen_programme
from tests.funding.dossier_scene import (  # noqa: F401  (fixtures)
    B_LOWER,
    C_LOWER,
    LATER,
    NOW,
    UTC,
    domain_of,
    domains,
    make_eligible,
    reach,
    reviewed_dossier,
    transmitted_dossier,
    world,
)

pytestmark = pytest.mark.django_db


def at(year, month, day):
    return datetime.datetime(year, month, day, 9, 0, tzinfo=UTC)


def letters_of(dossier):
    return sorted((letter.kind, letter.event_key) for letter in DossierLetter.objects.filter(dossier=dossier))


# --- Creation (§5.3.2, annex 3 §2) -----------------------------------------------------------------------------------


def test_create_an_establishment_dossier_with_its_flat_amounts(world):
    t = world
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", "D3", vendors=[t.vendor.pk]), by=t.clinic_editor,
        comment=" Projet DPI ", now=NOW,
    )
    assert dossier.status == DossierStatus.DRAFT
    assert dossier.reference == f"HOPEN-32-2020-{dossier.pk:05d}"
    assert (dossier.region, dossier.ght, dossier.comment, dossier.created_by) == (t.region_a, None, "Projet DPI", t.clinic_editor)
    assert list(DossierMember.objects.filter(dossier=dossier).values_list("establishment", flat=True)) == [t.clinic.pk]
    grid = amount_grid(hopen_programme())
    d2, d3 = domain_of(dossier, "D2"), domain_of(dossier, "D3")
    assert d2.total_amount == member_amount(B_LOWER, "D2", "standard", grid) == Decimal("250000.00")
    assert d3.total_amount == Decimal("200000.00")
    assert (d2.status, d2.target_deadline, d2.target_deadline_initial) == (DomainStatus.PENDING, datetime.date(2021, 12, 31), datetime.date(2021, 12, 31))
    assert list(d2.vendors.all()) == [t.vendor]
    record = AuditRecord.objects.get(action="dossier.create", object_id=str(dossier.pk))
    assert record.changes["domains"][1] == ["D2 standard 2021-12-31 250000.00", "D3 standard 2021-12-31 200000.00"]


def test_annex_4_3_the_prerequisites_date_announced_with_the_dossier_is_the_reference_of_the_slipped_list(world):
    t = world
    announced = datetime.date(2020, 10, 31)
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_editor, prerequisites_forecast=announced, now=NOW,
    )
    assert (dossier.prerequisites_forecast_initial, dossier.prerequisites_forecast) == (announced, announced)
    later = datetime.date(2020, 12, 15)
    dossier = services.dossier_update(
        dossier=dossier, domains=domains("D2"), by=t.clinic_editor, prerequisites_forecast=later, now=NOW,
    )
    # Still in preparation: the date the ARS will receive is the reference.
    assert (dossier.prerequisites_forecast_initial, dossier.prerequisites_forecast) == (later, later)
    record = AuditRecord.objects.filter(action="dossier.update", object_id=str(dossier.pk)).get()
    assert record.changes["prerequisites_forecast_initial"] == ["2020-10-31", "2020-12-15"]


def test_annex_3_2_ght_dossier_total_is_the_sum_of_the_members_flat_amounts(world):
    """« le montant du soutien financier reste calculé par activité combinée de chaque établissement candidat au sein
    du GHT, une somme des soutiens financiers est ensuite effectuée au niveau du GHT »."""
    t = world
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.support, domains=domains("D2", "D3"), ght_members=[t.support, t.member], by=t.ght_director,
        now=NOW,
    )
    assert (dossier.establishment, dossier.ght) == (t.support, t.ght)
    grid = amount_grid(hopen_programme())
    for code in ("D2", "D3"):
        domain = domain_of(dossier, code)
        shares = dict(DossierDomainShare.objects.filter(domain=domain).values_list("establishment", "amount"))
        expected = {
            t.support.pk: member_amount(C_LOWER, code, "standard", grid),
            t.member.pk: member_amount(B_LOWER, code, "standard", grid),
        }
        assert shares == expected
        assert domain.total_amount == sum(expected.values())
    assert domain_of(dossier, "D2").total_amount == Decimal("350000.00") + Decimal("250000.00")


def test_a_ght_dossier_is_filed_by_the_support_for_members_of_its_ght_only(world):
    t = world
    with pytest.raises(ApplicationError, match="n'est pas l'établissement support"):
        services.dossier_create(programme=hopen_programme(), establishment=t.member, domains=domains("D2"), ght_members=[t.member], by=t.director, now=NOW)
    with pytest.raises(ApplicationError, match="ne sont pas parties au GHT HF-99 : Clinique du Nord"):
        services.dossier_create(
            programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[t.member, t.clinic], by=t.ght_director, now=NOW
        )
    with pytest.raises(ApplicationError, match="au moins un établissement candidat"):
        services.dossier_create(programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[], by=t.ght_director, now=NOW)


def test_create_refuses_bad_domains_and_unknown_amounts(world):
    t = world
    with pytest.raises(ApplicationError, match="ne prévoit de forfait avancé que pour D1, D6"):
        services.dossier_create(
            programme=hopen_programme(), establishment=t.clinic, domains=[services.DomainInput("D2", datetime.date(2021, 6, 30), rate="advanced")],
            by=t.clinic_director, now=NOW,
        )
    orphan = EstablishmentFactory(region=t.region_a)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=orphan)
    with pytest.raises(ApplicationError, match="Activité combinée inconnue"):
        services.dossier_create(programme=hopen_programme(), establishment=orphan, domains=domains("D2"), by=director, now=NOW)
    with pytest.raises(ApplicationError, match="Éditeur inconnu"):
        services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", vendors=[999999]), by=t.clinic_director, now=NOW)


def test_create_is_refused_to_the_ars_and_to_another_establishment(world):
    t = world
    for user in (t.ars_a, t.dgos, t.foreign_director, t.director):
        with pytest.raises(PermissionRefused):
            services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=user, now=NOW)


def test_a_domain_cannot_be_in_two_open_dossiers_of_the_same_establishment(world):
    t = world
    first = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=NOW)
    with pytest.raises(ApplicationError, match=f"déjà candidat sur le domaine D2 dans le dossier {first.reference}"):
        services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D3", "D2"), by=t.clinic_director, now=NOW)
    services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D3"), by=t.clinic_director, now=NOW)


# --- Initialisation by the ARS (§5.3.2 « Etape 2 ») ------------------------------------------------------------------


def test_5_3_2_initialisation_request_notifies_the_ars_with_its_deadline_then_the_ars_initialises(world):
    t = world
    dossier = services.dossier_request_initialisation(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=NOW
    )
    assert (dossier.status, dossier.initialisation_requested_at) == (DossierStatus.INITIALISATION_REQUESTED, NOW)
    (note,) = Notification.objects.filter(recipient=t.ars_a)
    assert "jusqu'au 17/04/2020" in note.message and dossier.reference in note.message
    with pytest.raises(PermissionRefused):
        services.dossier_initialise(dossier=dossier, by=t.ars_b)
    with pytest.raises(TransitionRefused, match="Impossible de transmettre le dossier"):
        services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)
    dossier = services.dossier_initialise(dossier=dossier, by=t.ars_a, now=LATER)
    assert (dossier.status, dossier.initialised_at, dossier.initialised_by) == (DossierStatus.DRAFT, LATER, t.ars_a)
    assert Notification.objects.filter(recipient=t.clinic_director, message__contains="initialisé").exists()


def test_update_replaces_the_domains_while_the_dossier_is_prepared_only(world):
    t = world
    dossier = services.dossier_request_initialisation(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=NOW)
    dossier = services.dossier_update(dossier=dossier, domains=domains("D3"), by=t.ars_a, comment="Complété par l'ARS", now=NOW)
    assert list(dossier.domains.values_list("domain_code", flat=True)) == ["D3"]
    assert dossier.comment == "Complété par l'ARS"
    services.dossier_initialise(dossier=dossier, by=t.ars_a, now=NOW)
    with pytest.raises(PermissionRefused):  # initialised: the establishment prepares it, no longer the ARS
        services.dossier_update(dossier=dossier, domains=domains("D2"), by=t.ars_a, now=NOW)
    services.dossier_update(dossier=dossier, domains=domains("D2", "D3"), by=t.clinic_director, now=NOW)
    services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)
    with pytest.raises(TransitionRefused, match="Impossible de modifier le dossier : le dossier est « Transmis à l'ARS »"):
        services.dossier_update(dossier=dossier, domains=domains("D2"), by=t.clinic_director, now=NOW)


# --- Transmission: eligibility (§5.3.1) and re-candidacy (annex 4 §1) ---------------------------------------------


def test_transmission_by_the_director_notifies_the_ars_with_the_four_month_deadline(world):
    t = world
    dossier = transmitted_dossier(t, "D2", "D3")
    assert (dossier.status, dossier.transmitted_at, dossier.transmitted_by) == (DossierStatus.TRANSMITTED, NOW, t.clinic_director)
    (note,) = Notification.objects.filter(recipient=t.ars_a)
    assert "au plus tard le 02/07/2020" in note.message


def test_transmission_is_refused_to_an_editor_when_the_establishment_has_a_director(world):
    t = world
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_editor, now=NOW)
    with pytest.raises(PermissionRefused, match="direction de l'établissement"):
        services.dossier_transmit(dossier=dossier, by=t.clinic_editor, now=NOW)


def test_5_3_1_eligibility_blocks_the_transmission_with_the_reasons(world):
    t = world
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    dossier = services.dossier_create(programme=hopen_programme(), establishment=t.foreign, domains=domains("D2"), by=director, now=NOW)
    with pytest.raises(ApplicationError) as refused:
        services.dossier_transmit(dossier=dossier, by=director, now=NOW)
    message = refused.value.message
    assert message.startswith("Le dossier ne peut pas être transmis : conditions d'éligibilité non remplies (instruction §5.3.1).")
    assert "CH de Bretagne — D2 : Aucun résultat Hôpital numérique" in message
    assert "au moins deux indicateurs du domaine dont la cible reste à atteindre" in message
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.DRAFT and dossier.transmitted_at is None
    make_eligible(t.foreign, by=director, domains=("D2",))
    assert services.dossier_transmit(dossier=dossier, by=director, now=NOW).status == DossierStatus.TRANSMITTED


def test_5_3_1_a_vendor_outside_relims_blocks_the_transmission(world):
    t = world
    from funding.models import SoftwareVendor

    unknown = SoftwareVendor.objects.create(name="Éditeur inconnu de RELIMS")
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.clinic, domains=domains("D2", vendors=[unknown.pk]), by=t.clinic_director, now=NOW
    )
    with pytest.raises(ApplicationError, match="non référencé dans la base RELIMS de la DGOS : Éditeur inconnu de RELIMS"):
        services.dossier_transmit(dossier=dossier, by=t.clinic_director, now=NOW)


def test_5_3_1_a_ght_members_own_dossier_needs_the_support_a_ght_dossier_is_validated_by_it(world):
    t = world
    own = services.dossier_create(programme=hopen_programme(), establishment=t.member, domains=domains("D2"), by=t.director, now=NOW)
    with pytest.raises(ApplicationError, match="pas validé par l'établissement support du GHT"):
        services.dossier_transmit(dossier=own, by=t.director, now=NOW)
    ght = services.dossier_create(
        programme=hopen_programme(), establishment=t.support, domains=domains("D3"), ght_members=[t.support, t.member], by=t.ght_director, now=NOW
    )
    assert services.dossier_transmit(dossier=ght, by=t.ght_director, now=NOW).status == DossierStatus.TRANSMITTED


def _refused(t, kind, *, now=NOW):
    dossier = transmitted_dossier(t, "D2", now=now)
    services.domain_refuse(domain=domain_of(dossier, "D2"), reason="Enveloppe annuelle consommée", refusal_kind=kind, by=t.ars_a, now=now)
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.REFUSED
    return dossier


def test_annex_4_1_after_a_feasibility_refusal_a_new_dossier_waits_six_months(world):
    t = world
    _refused(t, "feasibility")  # refused on 02/03/2020
    with pytest.raises(ApplicationError, match="à partir du 02/09/2020") as refused:
        services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=at(2020, 9, 1))
    assert "refusé par l'ARS le 02/03/2020 pour un motif de faisabilité" in refused.value.message
    services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D3"), by=t.clinic_director, now=at(2020, 9, 1))
    assert services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=at(2020, 9, 2))


def test_annex_4_1_after_a_financial_refusal_a_new_dossier_waits_for_the_following_year(world):
    t = world
    _refused(t, "financial")
    with pytest.raises(ApplicationError, match="à partir du 01/01/2021 \\(l'année suivante, annexe 4 §1\\)"):
        services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=at(2020, 12, 31))
    assert services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D2"), by=t.clinic_director, now=at(2021, 1, 1))


def test_annex_4_1_recandidacy_is_checked_when_a_draft_takes_the_refused_domain(world):
    t = world
    draft = services.dossier_create(programme=hopen_programme(), establishment=t.clinic, domains=domains("D3"), by=t.clinic_director, now=NOW)
    refused = transmitted_dossier(t, "D2")
    services.domain_refuse(domain=domain_of(refused, "D2"), reason="Capacité insuffisante", refusal_kind="feasibility", by=t.ars_a, now=NOW)
    with pytest.raises(ApplicationError, match="à partir du 02/09/2020"):
        services.dossier_update(dossier=draft, domains=domains("D2", "D3"), by=t.clinic_director, now=at(2020, 4, 1))
    assert list(draft.domains.values_list("domain_code", flat=True)) == ["D3"]


def test_annex_4_1_a_refusal_for_a_ght_member_binds_that_member_only(world):
    t = world
    ght = services.dossier_create(
        programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[t.member], by=t.ght_director, now=NOW
    )
    services.dossier_transmit(dossier=ght, by=t.ght_director, now=NOW)
    services.domain_refuse(domain=domain_of(ght, "D2"), reason="Projet non mûr", refusal_kind="feasibility", by=t.ars_a, now=NOW)
    with pytest.raises(ApplicationError, match="CH Membre — Le domaine D2 a été refusé"):
        services.dossier_create(
            programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[t.support, t.member], by=t.ght_director,
            now=at(2020, 5, 1),
        )
    assert services.dossier_create(
        programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[t.support], by=t.ght_director, now=at(2020, 5, 1)
    )


# --- Decisions (annex 4 §1) and seed funding (annex 2 §2, §5.1) -----------------------------------------------------


def test_annex_4_1_partial_selection_one_domain_selected_one_refused(world):
    """« l'ARS peut décider de sélectionner seulement une partie des domaines fonctionnels »."""
    t = world
    dossier = transmitted_dossier(t, "D2", "D3")
    services.dossier_start_review(dossier=dossier, by=t.ars_a, now=NOW)
    d2 = services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="50000", by=t.ars_a, reason="Projet solide", now=LATER)
    assert (d2.status, d2.seed_amount, d2.seed_is_derogatory, d2.decided_by) == (DomainStatus.SELECTED, Decimal("50000.00"), False, t.ars_a)
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.UNDER_REVIEW and letters_of(dossier) == []  # D3 still pending
    commitment = LedgerEntry.objects.get(dossier_domain=d2)
    assert (commitment.kind, commitment.amount, commitment.establishment) == (EntryKind.SEED_COMMITMENT, Decimal("50000.00"), t.clinic)
    d3 = services.domain_refuse(
        domain=domain_of(dossier, "D3"), reason="Enveloppe annuelle consommée", refusal_kind="financial", by=t.ars_a, now=LATER
    )
    assert (d3.status, d3.refusal_kind, d3.decision_reason) == (DomainStatus.REFUSED, "financial", "Enveloppe annuelle consommée")
    dossier.refresh_from_db()
    assert (dossier.status, dossier.decided_at) == (DossierStatus.IN_PROGRESS, LATER)
    assert letters_of(dossier) == sorted([
        (LetterKind.FUNDING_AGREEMENT, f"agreement:{dossier.pk}"),
        (LetterKind.SEED_DECISION, f"seed:{d2.pk}"),
        (LetterKind.SELECTION, f"selection:{dossier.pk}"),
    ])
    note = Notification.objects.filter(recipient=t.clinic_director).latest("id")
    assert "sélectionné(s) D2 ; refusé(s) D3" in note.message


def test_annex_4_1_every_domain_refused_refuses_the_dossier_with_a_selection_letter_only(world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    services.domain_refuse(domain=domain_of(dossier, "D2"), reason="Faisabilité non démontrée", refusal_kind="feasibility", by=t.ars_a, now=NOW)
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.REFUSED
    assert letters_of(dossier) == [(LetterKind.SELECTION, f"selection:{dossier.pk}")]


def test_annex_4_1_a_refusal_needs_a_reason_and_a_kind(world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    with pytest.raises(ApplicationError, match="motif du refus est obligatoire"):
        services.domain_refuse(domain=domain_of(dossier, "D2"), reason="  ", refusal_kind="financial", by=t.ars_a)
    with pytest.raises(ApplicationError, match="nature du refus"):
        services.domain_refuse(domain=domain_of(dossier, "D2"), reason="Motif", refusal_kind="", by=t.ars_a)
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING


def test_ledger_entries_take_the_date_of_the_decision_they_record(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    domain = services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="50000", by=t.ars_a, now=LATER)
    services.domain_record_seed_payment(domain=domain, by=t.ars_a, now=at(2020, 4, 6))
    dates = dict(LedgerEntry.objects.filter(dossier_domain=domain).values_list("kind", "effective_on"))
    assert dates == {EntryKind.SEED_COMMITMENT: LATER.date(), EntryKind.SEED_PAYMENT: datetime.date(2020, 4, 6)}


def test_annex_2_2_selection_without_seed_commits_nothing(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=t.ars_a, now=NOW)
    assert not LedgerEntry.objects.filter(dossier_domain__dossier=dossier).exists()
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.IN_PROGRESS
    assert (LetterKind.SEED_DECISION, f"seed:{domain_of(dossier, 'D2').pk}") not in letters_of(dossier)


def test_annex_2_2_seed_above_the_domain_total_is_refused_and_nothing_is_written(world):
    t = world
    dossier = reviewed_dossier(t, "D2")
    before = AuditRecord.objects.count()
    with pytest.raises(ApplicationError, match="ne peut pas dépasser le soutien financier total"):
        services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="250000.01", by=t.ars_a)
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING
    assert AuditRecord.objects.count() == before


def test_annex_2_2_seed_beyond_the_regional_seed_credits_is_refused_by_the_envelope(world):
    t = world
    first, second = reviewed_dossier(t, "D2"), None
    services.domain_select(domain=domain_of(first, "D2"), seed_amount="250000", by=t.ars_a, now=NOW)
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.support)
    second = services.dossier_create(
        programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[t.support, t.member], by=director, now=NOW
    )
    services.dossier_transmit(dossier=second, by=director, now=NOW)
    with pytest.raises(ApplicationError):  # 600 000 € of seed credits, 250 000 € committed: 400 000 € refused
        services.domain_select(domain=domain_of(second, "D2"), seed_amount="400000", by=t.ars_a, now=NOW)
    assert domain_of(second, "D2").status == DomainStatus.PENDING


def test_5_1_seed_before_the_hopen_prerequisites_is_derogatory(world):
    t = world
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    make_eligible(t.foreign, by=director, domains=("D2",), prerequisites=False)
    dossier = reviewed_dossier(t, "D2", establishment=t.foreign, by=director)
    domain = services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="10000", by=t.ars_b, now=NOW)
    assert domain.seed_is_derogatory
    assert LedgerEntry.objects.get(dossier_domain=domain).is_derogatory


def test_5_1_derogatory_seed_needs_the_hn_prerequisites(world):
    t = world
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    make_eligible(t.foreign, by=director, domains=("D2",), prerequisites=False, hn_prerequisites=False)
    dossier = reviewed_dossier(t, "D2", establishment=t.foreign, by=director)
    with pytest.raises(ApplicationError, match="prérequis Hôpital numérique non plus \\(CH de Bretagne\\)"):
        services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="10000", by=t.ars_b, now=NOW)
    # Selection without seed stays possible.
    assert services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=t.ars_b, now=NOW).status == DomainStatus.SELECTED


def test_5_1_derogatory_seed_is_closed_from_the_derogatory_deadline(world):
    t = world
    director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=t.foreign)
    make_eligible(t.foreign, by=director, domains=("D2",), prerequisites=False)
    dossier = reviewed_dossier(t, "D2", establishment=t.foreign, by=director)
    with pytest.raises(ApplicationError, match="délai dérogatoire est échu \\(avant le 01/01/2021"):
        services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="10000", by=t.ars_b, now=at(2021, 1, 1))


# --- Funding of a selected domain (annex 2 §2) ------------------------------------------------------------------------


def _in_progress(t, *codes, seed="50000"):
    dossier = reviewed_dossier(t, *codes)
    for code in codes:
        services.domain_select(domain=domain_of(dossier, code), seed_amount=seed, by=t.ars_a, now=NOW)
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.IN_PROGRESS
    return dossier


def test_annex_2_2_seed_payment_is_recorded_once(world):
    t = world
    dossier = _in_progress(t, "D2")
    domain = services.domain_record_seed_payment(domain=domain_of(dossier, "D2"), by=t.ars_a, now=LATER)
    assert domain.seed_paid_at == LATER
    payment = LedgerEntry.objects.get(dossier_domain=domain, kind=EntryKind.SEED_PAYMENT)
    assert payment.amount == Decimal("50000.00")
    with pytest.raises(TransitionRefused, match="déjà versé"):
        services.domain_record_seed_payment(domain=domain, by=t.ars_a)
    with pytest.raises(PermissionRefused):
        services.domain_record_seed_payment(domain=domain, by=t.dgos)


def test_seed_payment_without_seed_is_refused(world):
    t = world
    dossier = _in_progress(t, "D2", seed="0")
    with pytest.raises(ApplicationError, match="Aucun amorçage n'a été décidé"):
        services.domain_record_seed_payment(domain=domain_of(dossier, "D2"), by=t.ars_a)


def test_annex_2_2_targets_reached_needs_prerequisites_and_targets_from_declared_values(world):
    t = world
    dossier = _in_progress(t, "D2", "D3")
    with pytest.raises(ApplicationError) as refused:
        services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.clinic_director)
    assert "cibles d'usage du domaine D2 non atteintes : Clinique du Nord" in refused.value.message
    assert "prérequis HOP'EN" not in refused.value.message
    reach(t.clinic, "D2", by=t.clinic_director)
    domain = services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.clinic_director, now=LATER)
    assert (domain.status, domain.targets_reached_at) == (DomainStatus.TARGETS_REACHED, LATER)
    assert Notification.objects.filter(recipient=t.ars_a, message__contains="D2 atteints").exists()
    assert domain_of(dossier, "D3").status == DomainStatus.SELECTED


def test_annex_2_2_targets_reached_lists_the_prerequisites_missing(world):
    t = world
    dossier = _in_progress(t, "D2")
    reach(t.clinic, "D2", by=t.clinic_director, prerequisites=False)
    from tests.funding.dossier_scene import declare

    declare(t.clinic, "P1.1", reached=False, by=t.clinic_director, day=datetime.date(2020, 10, 1))
    with pytest.raises(ApplicationError, match="prérequis HOP'EN \\(P1 à P4\\) non atteints ou non justifiés .*: Clinique du Nord") as refused:
        services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ars_a)
    assert "prerequisites_not_reached" in [r["code"] for r in refused.value.extra["reasons"]]


def test_annex_2_2_a_ght_domain_reaches_its_targets_when_every_member_share_has(world):
    """Annex 2 §2 « le soutien financier intervient à chaque atteinte des cibles d'usage par un établissement
    partie »: the targets are recorded per member (the domain-level call names it); the domain is « cibles
    atteintes » once every member's share is."""
    t = world
    dossier = services.dossier_create(
        programme=hopen_programme(), establishment=t.support, domains=domains("D2"), ght_members=[t.support, t.member], by=t.ght_director, now=NOW
    )
    services.dossier_transmit(dossier=dossier, by=t.ght_director, now=NOW)
    services.dossier_start_review(dossier=dossier, by=t.ars_a, now=NOW)
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=t.ars_a, now=NOW)
    reach(t.support, "D2", by=t.support_director)
    with pytest.raises(ApplicationError, match="précisez l'établissement partie"):
        services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ght_director)
    with pytest.raises(ApplicationError, match="non atteintes : CH Membre"):
        services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ght_director, establishment=t.member)
    domain = services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ght_director, establishment=t.support)
    assert domain.status == DomainStatus.SELECTED  # the member's share still waits
    reach(t.member, "D2", by=t.director)
    domain = services.domain_record_targets_reached(
        domain=domain_of(dossier, "D2"), by=t.ght_director, establishment=t.member.finess
    )
    assert domain.status == DomainStatus.TARGETS_REACHED


def test_targets_reached_is_refused_to_an_editor_another_region_and_the_dgos(world):
    t = world
    dossier = _in_progress(t, "D2")
    reach(t.clinic, "D2", by=t.clinic_director)
    for user in (t.clinic_editor, t.ars_b, t.dgos, t.foreign_director):
        with pytest.raises(PermissionRefused):
            services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=user)


def test_annex_2_2_usage_funding_is_the_total_minus_the_seed_per_domain(world):
    """« verser le soutien financier (montant de l'amorçage soustrait si applicable) lors de l'atteinte des indicateurs
    d'un ou des domaines […] la notification est réalisée par domaine »."""
    t = world
    dossier = _in_progress(t, "D2", "D3")
    reach(t.clinic, "D2", by=t.clinic_director)
    d2 = services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.clinic_director)
    d2 = services.domain_notify_usage(domain=d2, by=t.ars_a, now=LATER)
    assert d2.usage_amount == Decimal("250000.00") - Decimal("50000.00")
    assert (d2.status, d2.usage_notified_at, d2.usage_notified_by) == (DomainStatus.USAGE_NOTIFIED, LATER, t.ars_a)
    commitment = LedgerEntry.objects.get(dossier_domain=d2, kind=EntryKind.USAGE_COMMITMENT)
    assert commitment.amount == Decimal("200000.00")
    assert (LetterKind.USAGE_NOTIFICATION, f"usage:{d2.pk}") in letters_of(dossier)
    assert domain_of(dossier, "D3").status == DomainStatus.SELECTED  # independent of the other domain


def test_usage_payment_waits_for_the_seed_payment_then_completes_the_dossier(world):
    t = world
    dossier = _in_progress(t, "D2")
    reach(t.clinic, "D2", by=t.clinic_director)
    domain = services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ars_a)
    domain = services.domain_notify_usage(domain=domain, by=t.ars_a)
    with pytest.raises(ApplicationError, match="Enregistrez d'abord le versement de l'amorçage"):
        services.domain_record_usage_payment(domain=domain, by=t.ars_a)
    services.domain_record_seed_payment(domain=domain, by=t.ars_a)
    domain = services.domain_record_usage_payment(domain=domain, by=t.ars_a, now=LATER)
    assert (domain.status, domain.paid_at) == (DomainStatus.PAID, LATER)
    assert LedgerEntry.objects.get(dossier_domain=domain, kind=EntryKind.USAGE_PAYMENT).amount == Decimal("200000.00")
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.COMPLETED
    assert AuditRecord.objects.filter(action="dossier.complete", object_id=str(dossier.pk)).exists()


def test_a_dossier_is_completed_only_when_every_selected_domain_is_paid(world):
    t = world
    dossier = _in_progress(t, "D2", "D3", seed="0")
    reach(t.clinic, "D2", by=t.clinic_director)
    domain = services.domain_record_targets_reached(domain=domain_of(dossier, "D2"), by=t.ars_a)
    services.domain_notify_usage(domain=domain, by=t.ars_a)
    services.domain_record_usage_payment(domain=domain, by=t.ars_a)
    dossier.refresh_from_db()
    assert dossier.status == DossierStatus.IN_PROGRESS


# --- Closure (annex 4) ----------------------------------------------------------------------------------------------


def test_annex_4_audit_failure_releases_commitments_claims_the_paid_money_back_with_letters(world):
    t = world
    dossier = _in_progress(t, "D2", "D3")
    services.domain_record_seed_payment(domain=domain_of(dossier, "D2"), by=t.ars_a)
    closed = services.dossier_close(dossier=dossier, kind="audit_failure", reason="Contrôle DGOS non conforme", by=t.auditor, now=LATER)
    assert (closed.status, closed.closed_at, closed.closed_by, closed.closure_kind) == (DossierStatus.CLOSED, LATER, t.auditor, "audit_failure")
    d2, d3 = domain_of(dossier, "D2"), domain_of(dossier, "D3")
    claim = LedgerEntry.objects.get(kind=EntryKind.REFUND_CLAIM)
    assert (claim.dossier_domain, claim.pot, claim.amount) == (d2, "seed", Decimal("50000.00"))
    release = LedgerEntry.objects.get(dossier_domain=d3, kind=EntryKind.SEED_COMMITMENT, amount__lt=0)
    assert release.amount == Decimal("-50000.00")
    assert (LetterKind.REFUND_CLAIM, f"refund:{claim.pk}") in letters_of(dossier)
    assert Notification.objects.filter(recipient=t.clinic_director, message__contains="Remboursement demandé : 50\u00a0000,00\u00a0€").exists()


def test_abandonment_releases_commitments_without_refund_claims(world):
    t = world
    dossier = _in_progress(t, "D2")
    services.dossier_close(dossier=dossier, kind="abandonment", reason="Projet abandonné", by=t.ars_a)
    assert not LedgerEntry.objects.filter(kind=EntryKind.REFUND_CLAIM).exists()
    assert LedgerEntry.objects.filter(dossier_domain__dossier=dossier, amount__lt=0).count() == 1


def test_closure_needs_a_kind_and_an_explanation_and_a_closing_role(world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    with pytest.raises(ApplicationError, match="motif de clôture"):
        services.dossier_close(dossier=dossier, kind="", reason="x", by=t.ars_a)
    with pytest.raises(ApplicationError, match="Expliquez la clôture"):
        services.dossier_close(dossier=dossier, kind="abandonment", reason=" ", by=t.ars_a)
    for user in (t.ars_b, t.clinic_director, t.admin):
        with pytest.raises(PermissionRefused):
            services.dossier_close(dossier=dossier, kind="abandonment", reason="x", by=user)
    assert services.dossier_close(dossier=dossier, kind="abandonment", reason="Abandon", by=t.dgos).status == DossierStatus.CLOSED


# --- Permission matrix (annex 4: the region's ARS decides; the DGOS reads) ----------------------------------------


@pytest.mark.parametrize("who", ["ars_b", "dgos", "auditor", "clinic_director", "foreign_director", "admin"])
def test_only_the_regions_ars_decides(world, who):
    t = world
    dossier = transmitted_dossier(t, "D2")
    user = getattr(t, who)
    with pytest.raises(PermissionRefused):
        services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="0", by=user)
    with pytest.raises(PermissionRefused):
        services.domain_refuse(domain=domain_of(dossier, "D2"), reason="x", refusal_kind="financial", by=user)
    with pytest.raises(PermissionRefused):
        services.dossier_start_review(dossier=dossier, by=user)
    assert domain_of(dossier, "D2").status == DomainStatus.PENDING


def test_every_transition_is_audited_with_before_and_after(world):
    t = world
    dossier = transmitted_dossier(t, "D2")
    services.dossier_start_review(dossier=dossier, by=t.ars_a)
    services.domain_select(domain=domain_of(dossier, "D2"), seed_amount="1000", by=t.ars_a)
    records = {r.action: r for r in AuditRecord.objects.filter(action__startswith="dossier")}
    assert records["dossier.transmit"].changes["status"] == ["draft", "transmitted"]
    assert records["dossier.start_review"].changes["status"] == ["transmitted", "under_review"]
    assert records["dossier_domain.select"].changes["seed_amount"] == ["0.00", "1000.00"]
    assert records["dossier.decide"].changes["status"] == ["under_review", "in_progress"]

"""The SAE importer: real data, idempotency, bad rows, scope and inference rules (see hopen/importers/sae.py)."""

import csv

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from hopen.models import ActivityFigures, AuditRecord, Establishment, Ght, GhtMembershipSource, Region
from hopen.importers.sae import import_sae
from hopen.services import establishment_set_ght
from tests.factories import make_finess

pytestmark = pytest.mark.django_db

ID_HEADER = ["bor", "an", "fi", "rs", "fi_ej", "stjr", "cat", "espic", "reg", "dep", "NOMCOM", "LIBCOM"]
MCO_HEADER = ["BOR", "AN", "FI", "RS", "FI_EJ", "JOU_MCO", "SEA_MCO", "SEJHP_CHI", "SEJHP_MED", "SEJHP_OBS"]
SSR_HEADER = ["BOR", "AN", "FI", "RS", "FI_EJ", "GDE", "JOUHC", "JOUHP"]
PSY_HEADER = ["BOR", "AN", "FI", "RS", "FI_EJ", "DIS", "JOU_HTP", "JOU_PFT", "JOU_AAT", "JOU_ACP", "JOU_CCU", "JOU_HAD", "VEN_HDJ", "VEN_HDN"]
HAD_HEADER = ["BOR", "AN", "FI", "RS", "FI_EJ", "JOU_HAD"]
GHT_HEADER = ["NOM_COURT_GHT", "CODE_GHT", "NOM_COMPLET_GHT"]


def write(path, header, rows):
    with path.open("w", encoding="latin-1", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])


def id_row(finess, **values):
    row = {"bor": "ID", "an": "2023", "fi": finess, "rs": f"CH {finess}", "fi_ej": make_finess("15"), "stjr": "1",
           "cat": "355", "espic": "1", "reg": "84", "dep": "15", "NOMCOM": "AURILLAC"}
    row.update(values)
    return row


def mco_row(finess, **values):
    row = {"BOR": "MCO", "AN": "2023", "FI": finess, "JOU_MCO": "1000", "SEA_MCO": "10", "SEJHP_CHI": "5",
           "SEJHP_MED": "3", "SEJHP_OBS": "2"}
    row.update(values)
    return row


@pytest.fixture
def sae_dir(tmp_path):
    """A small SAE folder: Cantal (department 15, one GHT: ARA-04) plus what each test adds."""

    def build(id_rows, mco_rows=(), ssr_rows=(), psy_rows=(), had_rows=()):
        write(tmp_path / "ID_2023r.csv", ID_HEADER, id_rows)
        write(tmp_path / "MCO_2023r.csv", MCO_HEADER, mco_rows)
        write(tmp_path / "SSR_2023r.csv", SSR_HEADER, ssr_rows)
        write(tmp_path / "PSY_2023r.csv", PSY_HEADER, psy_rows)
        write(tmp_path / "HAD_2023r.csv", HAD_HEADER, had_rows)
        write(tmp_path / "GHT_2023r.csv", GHT_HEADER, [
            {"NOM_COURT_GHT": "ARA-04", "CODE_GHT": "84104", "NOM_COMPLET_GHT": "CANTAL"},
            {"NOM_COURT_GHT": "", "CODE_GHT": "x", "NOM_COMPLET_GHT": "ligne cassée"},
        ])
        return tmp_path

    return build


def test_real_data_import_then_second_run_changes_nothing():
    report = import_sae(settings.HOPEN_SAE_DIR)
    assert report.errors == []
    assert Region.objects.count() == 18
    assert Ght.objects.count() == 135
    with (settings.HOPEN_SAE_DIR / "ID_2023r.csv").open(encoding="latin-1") as handle:
        id_rows = sum(1 for _ in handle) - 1
    establishments = Establishment.objects.count()
    assert establishments == report.created["établissements"]
    assert establishments + sum(report.skipped.values()) == id_rows
    assert sum(report.in_scope_by_region.values()) == establishments
    assert len(report.in_scope_by_region) == 18  # every region has in-scope establishments, Mayotte included
    assert ActivityFigures.objects.count() == establishments
    assert Establishment.objects.filter(status="clcc").count() > 15
    assert Establishment.objects.filter(finess__startswith="2A").exists()
    audit_records = AuditRecord.objects.count()
    assert audit_records >= establishments

    second = import_sae(settings.HOPEN_SAE_DIR)
    assert second.total_created == 0
    assert second.total_updated == 0
    assert second.unchanged["établissements"] == establishments
    assert AuditRecord.objects.count() == audit_records
    assert "Total : 0 créé(s), 0 modifié(s)." in list(second.lines())


def test_real_data_ght_membership_is_public_only_and_within_region():
    import_sae(settings.HOPEN_SAE_DIR)
    members = Establishment.objects.filter(ght__isnull=False).select_related("ght")
    assert members.count() > 500
    assert not members.exclude(status="public").exists()
    assert all(e.ght.region_id == e.region_id for e in members)
    for ght in Ght.objects.filter(support__isnull=False).select_related("support"):
        assert ght.support.ght_id == ght.pk


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_is_imported(sae_dir):
    good, other = make_finess("15"), make_finess("15")
    directory = sae_dir(
        [
            id_row(good),
            id_row("150000000"),  # line 3: bad check digit
            id_row(other, reg="00"),  # line 4: unknown region
        ],
        mco_rows=[mco_row(good), mco_row(other), mco_row(good, JOU_MCO="beaucoup")],
    )
    report = import_sae(directory)
    messages = [str(error) for error in report.errors]
    assert any(m.startswith("ID_2023r.csv, ligne 3 :") and "clé de contrôle" in m for m in messages)
    assert any(m.startswith("ID_2023r.csv, ligne 4 :") and "région inconnu" in m for m in messages)
    assert any(m.startswith("MCO_2023r.csv, ligne 4 :") and "non numérique" in m for m in messages)
    assert any(m.startswith("GHT_2023r.csv, ligne 3 :") for m in messages)
    assert list(Establishment.objects.values_list("finess", flat=True)) == [good]


def test_categories_out_of_programme_and_establishments_without_activity_are_skipped(sae_dir):
    dialysis, no_activity, hospital = make_finess("15"), make_finess("15"), make_finess("15")
    directory = sae_dir(
        [id_row(dialysis, cat="146", stjr="3", espic="6"), id_row(no_activity), id_row(hospital)],
        mco_rows=[mco_row(dialysis), mco_row(hospital)],
    )
    report = import_sae(directory)
    assert report.skipped["catégorie hors programme"] == 1
    assert report.skipped["sans activité MCO/SSR/PSY/HAD déclarée"] == 1
    assert list(Establishment.objects.values_list("finess", flat=True)) == [hospital]


def test_status_espic_and_clcc_mapping(sae_dir):
    espic, non_espic, clcc, private = (make_finess("15") for _ in range(4))
    directory = sae_dir(
        [
            id_row(espic, stjr="3", espic="6", cat="365"),
            id_row(non_espic, stjr="3", espic="7", cat="365"),
            id_row(clcc, stjr="3", espic="6", cat="131"),
            id_row(private, stjr="2", espic="0", cat="128"),
        ],
        mco_rows=[mco_row(f) for f in (espic, non_espic, clcc, private)],
    )
    import_sae(directory)
    by_finess = {e.finess: e for e in Establishment.objects.all()}
    assert (by_finess[espic].status, by_finess[espic].is_espic) == ("private_non_profit", True)
    assert (by_finess[non_espic].status, by_finess[non_espic].is_espic) == ("private_non_profit", False)
    assert (by_finess[clcc].status, by_finess[clcc].category_label) == ("clcc", "Centre de lutte contre le cancer (CLCC)")
    assert (by_finess[private].status, by_finess[private].is_espic) == ("private_for_profit", False)


def test_ssr_and_psy_take_the_total_row_not_the_sum_of_groups(sae_dir):
    finess = make_finess("15")
    directory = sae_dir(
        [id_row(finess)],
        ssr_rows=[
            {"BOR": "SSR", "FI": finess, "GDE": "SSR_A", "JOUHC": "100", "JOUHP": "10"},
            {"BOR": "SSR", "FI": finess, "GDE": "SSR_A50", "JOUHC": "60", "JOUHP": "4"},
            {"BOR": "SSR", "FI": finess, "GDE": "SSR_TOT", "JOUHC": "100", "JOUHP": "10"},
        ],
        psy_rows=[
            {"BOR": "PSY", "FI": finess, "DIS": "GEN", "JOU_HTP": "500", "VEN_HDJ": "40", "JOU_PFT": "1"},
            {"BOR": "PSY", "FI": finess, "DIS": "INF", "JOU_HTP": "200", "VEN_HDJ": "20", "JOU_PFT": "2"},
            {"BOR": "PSY", "FI": finess, "DIS": "TOT", "JOU_HTP": "700", "VEN_HDJ": "60", "JOU_PFT": "3", "JOU_CCU": "4"},
        ],
    )
    import_sae(directory)
    figures = ActivityFigures.objects.get(establishment__finess=finess)
    assert (figures.ssr_full_days, figures.ssr_partial_days) == (100, 10)
    assert (figures.psy_full_time_days, figures.psy_day_attendances, figures.psy_other_full_time_days) == (700, 60, 7)
    establishment = figures.establishment
    assert establishment.activities == ["SSR", "PSY"]


def test_ght_membership_inferred_for_public_establishments_and_kept_when_corrected(sae_dir, tenants):
    public, private = make_finess("15"), make_finess("15")
    directory = sae_dir(
        [id_row(public), id_row(private, stjr="2", espic="0", cat="128")],
        mco_rows=[mco_row(public), mco_row(private)],
    )
    import_sae(directory)
    ght = Ght.objects.get(code="ARA-04")
    public_establishment = Establishment.objects.get(finess=public)
    assert public_establishment.ght == ght
    assert public_establishment.ght_membership_source == GhtMembershipSource.INFERRED
    assert Establishment.objects.get(finess=private).ght is None
    ght.refresh_from_db()
    assert ght.support == public_establishment  # the only member is the support

    establishment_set_ght(establishment=public_establishment, ght=None, by=tenants.admin)
    report = import_sae(directory)
    public_establishment.refresh_from_db()
    assert public_establishment.ght is None
    assert public_establishment.ght_membership_source == GhtMembershipSource.MANUAL
    assert report.total_updated == 0  # the GHT lost its support; the establishment itself stays as corrected


def test_command_prints_counts_and_refuses_a_missing_folder(sae_dir, capsys):
    finess = make_finess("15")
    directory = sae_dir([id_row(finess)], mco_rows=[mco_row(finess)])
    call_command("import_sae", dir=str(directory), verbosity=2)
    output = capsys.readouterr().out
    assert "établissements : 1 créé(s), 0 modifié(s), 0 inchangé(s)" in output
    assert "Auvergne-Rhône-Alpes : 1" in output
    with pytest.raises(CommandError, match="introuvable"):
        call_command("import_sae", dir=str(directory / "absent"))

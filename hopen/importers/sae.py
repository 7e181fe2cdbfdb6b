"""Import of the DREES SAE files (statistique annuelle des établissements de santé).

Files are latin-1, `;`-separated, header on the first line. What is imported and why:

* Establishments come from ID_<year>r.csv. Only the FINESS categories marked `in_scope` in
  `fixtures/finess_categories.csv` are kept (hospitals with MCO, SSR, PSY or HAD activity, CLCC
  included; dialysis-only units, long-term care units, cooperation groupings and administrative
  entities are out of the programme), and only when the establishment declares some activity in one
  of the MCO/SSR/PSY/HAD files: annex 3 funds establishments by their combined activity.
* Status: `stjr` 1 public, 2 private for-profit, 3 private non-profit; category 131 is a CLCC.
  The `espic` column is 1 for public establishments, 0 for for-profit ones, 6 for ESPIC and 7 for
  other non-profit ones; we keep the ESPIC flag (6).
* Activity figures: MCO and HAD have one row per establishment; SSR has one row per activity
  group plus a total row `SSR_TOT` (we take the total, or the sum of the group rows when a total
  is missing); PSY has one row per discipline plus a `TOT` row (same rule).
* GHTs come from GHT_<year>r.csv, which has no list of members. Membership is inferred for public
  establishments only (a GHT gathers public hospitals), in this order:
  1. `fixtures/ght_legal_entities.csv` places every public legal entity of a department shared by
     several GHTs (or out of any GHT: AP-HP, army hospitals…), from the published GHT compositions,
     checked against the member counts of GHT_<year>r.csv (scripts/check_ght_legal_entities.py);
  2. otherwise `fixtures/ght_departments.csv` gives the departments each GHT covers: a public
     establishment of a department covered by exactly one GHT of its region is a member of it;
  3. otherwise the establishment joins the GHT whose seat city (`main_city_hint`) is its own city,
     else it stays unattached for an administrator to settle.
  The support establishment is inferred as the member in the seat city with the most MCO days
  (else the member with the most MCO days). Inferred links are marked as such; links set by an
  administrator are never overwritten by a later import.

The import is idempotent: a second run with the same files changes nothing and says so.
"""

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ..audit import audit_record_many, snapshot
from ..finess import finess_error
from ..models import (
    ActivityFigures,
    Establishment,
    EstablishmentStatus,
    Ght,
    GhtMembershipSource,
    LegalEntity,
    Region,
)

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
STATUS_BY_STJR = {
    "1": EstablishmentStatus.PUBLIC,
    "2": EstablishmentStatus.PRIVATE_FOR_PROFIT,
    "3": EstablishmentStatus.PRIVATE_NON_PROFIT,
}
CLCC_CATEGORY = "131"
ESPIC_CODE = "6"
PSY_OTHER_FULL_TIME = ("JOU_PFT", "JOU_AAT", "JOU_ACP", "JOU_CCU", "JOU_HAD")
ACTIVITY_FIELDS = [f.name for f in ActivityFigures._meta.fields if f.name.split("_")[0] in {"mco", "ssr", "psy", "had"}]
ESTABLISHMENT_FIELDS = [
    "name", "legal_entity", "status", "is_espic", "category_code", "category_label", "region", "department",
    "city", "ght", "ght_membership_source", "has_mco", "has_ssr", "has_psy", "has_had",
]


class SaeFormatError(Exception):
    pass


@dataclass
class RowError:
    file: str
    line: int
    message: str

    def __str__(self):
        return f"{self.file}, ligne {self.line} : {self.message}"


@dataclass
class ImportReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    in_scope_by_region: Counter = field(default_factory=Counter)

    @property
    def total_created(self):
        return sum(self.created.values())

    @property
    def total_updated(self):
        return sum(self.updated.values())

    def lines(self):
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        yield "Import SAE terminé."
        for kind in kinds:
            yield (
                f"  {kind} : {self.created[kind]} créé(s), {self.updated[kind]} modifié(s), "
                f"{self.unchanged[kind]} inchangé(s)"
            )
        for reason, count in sorted(self.skipped.items()):
            yield f"  ignorés ({reason}) : {count}"
        yield f"  lignes en erreur : {len(self.errors)}"
        for error in self.errors:
            yield f"    {error}"
        yield f"Total : {self.total_created} créé(s), {self.total_updated} modifié(s)."


def read_rows(path: Path):
    """(line number, row dict) for each data line; line 1 is the header."""
    with path.open(encoding="latin-1", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        if not reader.fieldnames:
            raise SaeFormatError(f"{path.name} : fichier vide ou sans en-tête.")
        for index, row in enumerate(reader, start=2):
            yield index, row


def _find(directory: Path, prefix: str) -> Path:
    matches = sorted(directory.glob(f"{prefix}_*r.csv"))
    if not matches:
        raise SaeFormatError(f"Fichier {prefix}_<année>r.csv introuvable dans {directory}.")
    return matches[-1]


def _int(row, column) -> int:
    value = (row.get(column) or "").strip()
    if value == "":
        return 0
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise ValueError(f"valeur non numérique « {value} » dans la colonne {column}") from None
    if number < 0:
        raise ValueError(f"valeur négative « {value} » dans la colonne {column}")
    return int(round(number))


def _read_csv_fixture(name):
    with (FIXTURES_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _normalise_city(name: str) -> str:
    text = name.upper().replace("-", " ").replace("'", " ")
    text = re.sub(r"\bST\b", "SAINT", text)
    text = re.sub(r"\bSTE\b", "SAINTE", text)
    text = re.sub(r"\s+CEDEX.*$", "", text)
    return " ".join(text.split())


class SaeImporter:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.report = ImportReport()
        self.audit_entries = defaultdict(list)  # action -> [(target, changes)]

    # --- reading -----------------------------------------------------------------------------

    def _error(self, path, line, message):
        self.report.errors.append(RowError(path.name, line, message))

    def read_activity(self):
        """{finess: {field: value}} from the four activity files."""
        figures = defaultdict(lambda: dict.fromkeys(ACTIVITY_FIELDS, 0))
        presence = defaultdict(set)

        path = _find(self.directory, "MCO")
        for line, row in read_rows(path):
            try:
                values = {
                    "mco_full_days": _int(row, "JOU_MCO"),
                    "mco_sessions": _int(row, "SEA_MCO"),
                    "mco_ambulatory_surgery_stays": _int(row, "SEJHP_CHI"),
                    "mco_medicine_day_stays": _int(row, "SEJHP_MED"),
                    "mco_obstetrics_day_stays": _int(row, "SEJHP_OBS"),
                }
            except ValueError as exc:
                self._error(path, line, str(exc))
                continue
            figures[row["FI"].strip()].update(values)
            if any(values.values()):
                presence[row["FI"].strip()].add("mco")

        path = _find(self.directory, "HAD")
        for line, row in read_rows(path):
            try:
                days = _int(row, "JOU_HAD")
            except ValueError as exc:
                self._error(path, line, str(exc))
                continue
            figures[row["FI"].strip()]["had_days"] = days
            if days:
                presence[row["FI"].strip()].add("had")

        self._read_grouped(
            _find(self.directory, "SSR"), "GDE", "SSR_TOT", lambda gde: gde in {"SSR_A", "SSR_E"},
            lambda row: {"ssr_full_days": _int(row, "JOUHC"), "ssr_partial_days": _int(row, "JOUHP")},
            figures, presence, "ssr",
        )
        self._read_grouped(
            _find(self.directory, "PSY"), "DIS", "TOT", lambda dis: True,
            lambda row: {
                "psy_full_time_days": _int(row, "JOU_HTP"),
                "psy_other_full_time_days": sum(_int(row, column) for column in PSY_OTHER_FULL_TIME),
                "psy_day_attendances": _int(row, "VEN_HDJ"),
                "psy_night_attendances": _int(row, "VEN_HDN"),
            },
            figures, presence, "psy",
        )
        return figures, presence

    def _read_grouped(self, path, group_column, total_group, is_top_group, extract, figures, presence, activity):
        totals, groups = {}, defaultdict(list)
        for line, row in read_rows(path):
            try:
                values = extract(row)
            except ValueError as exc:
                self._error(path, line, str(exc))
                continue
            finess, group = row["FI"].strip(), (row.get(group_column) or "").strip()
            if group == total_group:
                totals[finess] = values
            else:
                groups[finess].append((group, values))
        for finess in set(totals) | set(groups):
            values = totals.get(finess)
            if values is None:
                rows = [v for g, v in groups[finess] if is_top_group(g)] or [v for _, v in groups[finess]]
                values = {key: sum(v[key] for v in rows) for key in rows[0]}
            figures[finess].update(values)
            if any(values.values()):
                presence[finess].add(activity)

    # --- writing -----------------------------------------------------------------------------

    def _count(self, kind, outcome):
        getattr(self.report, outcome)[kind] += 1

    def import_regions(self):
        regions = {r.code: r for r in Region.objects.all()}
        for row in _read_csv_fixture("regions.csv"):
            region = regions.get(row["code"])
            wanted = {"name": row["name"], "ars_name": row["ars_name"]}
            if region is None:
                region = Region.objects.create(code=row["code"], **wanted)
                regions[region.code] = region
                self._count("régions", "created")
                self.audit_entries["sae.create"].append((region, {k: [None, v] for k, v in wanted.items()}))
            elif any(getattr(region, k) != v for k, v in wanted.items()):
                changes = {k: [getattr(region, k), v] for k, v in wanted.items() if getattr(region, k) != v}
                for k, v in wanted.items():
                    setattr(region, k, v)
                region.save()
                self._count("régions", "updated")
                self.audit_entries["sae.update"].append((region, changes))
            else:
                self._count("régions", "unchanged")
        return regions

    def import_ghts(self, regions):
        path = _find(self.directory, "GHT")
        existing = {g.code: g for g in Ght.objects.all()}
        ghts = {}
        for line, row in read_rows(path):
            code = (row.get("NOM_COURT_GHT") or "").strip()
            insee_code = (row.get("CODE_GHT") or "").strip()
            name = (row.get("NOM_COMPLET_GHT") or "").strip()
            if not code or not insee_code.isdigit() or len(insee_code) < 4:
                self._error(path, line, f"code GHT invalide « {code} » / « {insee_code} »")
                continue
            region = regions.get(insee_code[:-3].zfill(2))
            if region is None:
                self._error(path, line, f"région inconnue pour le GHT {code} (code {insee_code})")
                continue
            wanted = {"insee_code": insee_code, "name": name, "region": region}
            ght = existing.get(code)
            if ght is None:
                ght = Ght.objects.create(code=code, **wanted)
                self._count("GHT", "created")
                self.audit_entries["sae.create"].append((ght, {k: [None, str(v)] for k, v in wanted.items()}))
            else:
                changes = {k: [str(getattr(ght, k)), str(v)] for k, v in wanted.items() if getattr(ght, k) != v}
                if changes:
                    for k, v in wanted.items():
                        setattr(ght, k, v)
                    ght.save()
                    self._count("GHT", "updated")
                    self.audit_entries["sae.update"].append((ght, changes))
                else:
                    self._count("GHT", "unchanged")
            ghts[code] = ght
        return ghts

    def ght_lookup(self, ghts):
        """(region code, department) -> [(ght, seat city)] from the department mapping fixture."""
        lookup = defaultdict(list)
        for row in _read_csv_fixture("ght_departments.csv"):
            ght = ghts.get(row["ght_code"])
            if ght is None:
                continue
            for department in filter(None, row["departments"].split("|")):
                lookup[(ght.region.code, department.strip())].append(
                    (ght, _normalise_city(row.get("main_city_hint") or ""))
                )
        return lookup

    def legal_entity_lookup(self, ghts):
        """{legal entity FINESS: GHT or None} for the entities placed by hand in the fixture."""
        return {
            row["ej_finess"]: ghts.get(row["ght_code"]) if row["ght_code"] else None
            for row in _read_csv_fixture("ght_legal_entities.csv")
        }

    def infer_ght(self, lookup, entity_lookup, region_code, legal_entity_finess, department, city, status):
        if status != EstablishmentStatus.PUBLIC:
            return None
        if legal_entity_finess in entity_lookup:
            ght = entity_lookup[legal_entity_finess]
            return ght if ght is not None and ght.region.code == region_code else None
        candidates = lookup.get((region_code, department), [])
        if len(candidates) == 1:
            return candidates[0][0]
        by_city = [ght for ght, seat in candidates if seat and seat == _normalise_city(city)]
        return by_city[0] if len(by_city) == 1 else None

    def run(self) -> ImportReport:
        categories = {row["code"]: row for row in _read_csv_fixture("finess_categories.csv")}
        with transaction.atomic():
            regions = self.import_regions()
            ghts = self.import_ghts(regions)
            lookup, entity_lookup = self.ght_lookup(ghts), self.legal_entity_lookup(ghts)
            figures, presence = self.read_activity()
            self.import_establishments(regions, lookup, entity_lookup, categories, figures, presence)
            self.infer_supports(ghts)
            for action, entries in self.audit_entries.items():
                audit_record_many(actor=None, action=action, entries=entries)
        return self.report

    def import_establishments(self, regions, lookup, entity_lookup, categories, figures, presence):
        path = _find(self.directory, "ID")
        legal_entities = {e.finess: e for e in LegalEntity.objects.all()}
        establishments = {e.finess: e for e in Establishment.objects.select_related("ght", "region")}
        activity_rows = {(a.establishment_id, a.source_year): a for a in ActivityFigures.objects.all()}
        seen = set()
        for line, row in read_rows(path):
            finess = (row.get("fi") or "").strip().upper()
            ej_finess = (row.get("fi_ej") or "").strip().upper()
            problem = finess_error(finess) or (finess_error(ej_finess) and f"FINESS EJ : {finess_error(ej_finess)}")
            if problem:
                self._error(path, line, problem)
                continue
            if finess in seen:
                self._error(path, line, f"FINESS {finess} présent plusieurs fois")
                continue
            seen.add(finess)
            category_code = (row.get("cat") or "").strip()
            category = categories.get(category_code)
            if category is None:
                self._error(path, line, f"catégorie FINESS inconnue « {category_code} »")
                continue
            if category["in_scope"] != "yes":
                self.report.skipped["catégorie hors programme"] += 1
                continue
            if not presence.get(finess):
                self.report.skipped["sans activité MCO/SSR/PSY/HAD déclarée"] += 1
                continue
            region = regions.get((row.get("reg") or "").strip())
            if region is None:
                self._error(path, line, f"code région inconnu « {row.get('reg')} »")
                continue
            status = STATUS_BY_STJR.get((row.get("stjr") or "").strip())
            if status is None:
                self._error(path, line, f"statut juridique inconnu « {row.get('stjr')} »")
                continue
            if category_code == CLCC_CATEGORY:
                status = EstablishmentStatus.CLCC
            try:
                year = int(row.get("an") or "")
            except ValueError:
                self._error(path, line, f"année invalide « {row.get('an')} »")
                continue

            legal_entity = legal_entities.get(ej_finess)
            if legal_entity is None:
                legal_entity = LegalEntity.objects.create(finess=ej_finess)
                legal_entities[ej_finess] = legal_entity
                self._count("entités juridiques", "created")
                self.audit_entries["sae.create"].append((legal_entity, {"finess": [None, ej_finess]}))

            department = (row.get("dep") or "").strip()
            city = (row.get("NOMCOM") or row.get("LIBCOM") or "").strip()
            wanted = {
                "name": (row.get("rs") or "").strip() or finess,
                "legal_entity": legal_entity,
                "status": status,
                "is_espic": (row.get("espic") or "").strip() == ESPIC_CODE and status != EstablishmentStatus.PUBLIC,
                "category_code": category_code,
                "category_label": category["label"],
                "region": region,
                "department": department,
                "city": city,
                "has_mco": "mco" in presence[finess],
                "has_ssr": "ssr" in presence[finess],
                "has_psy": "psy" in presence[finess],
                "has_had": "had" in presence[finess],
            }
            establishment = establishments.get(finess)
            if establishment is None or establishment.ght_membership_source != GhtMembershipSource.MANUAL:
                ght = self.infer_ght(lookup, entity_lookup, region.code, ej_finess, department, city, status)
                wanted["ght"] = ght
                wanted["ght_membership_source"] = GhtMembershipSource.INFERRED if ght else ""
            if establishment is None:
                establishment = Establishment(finess=finess, **wanted)
                establishment.save()
                establishments[finess] = establishment
                self._count("établissements", "created")
                self.audit_entries["sae.create"].append((establishment, snapshot(establishment, ESTABLISHMENT_FIELDS)))
                changes = None
            else:
                before = snapshot(establishment, ESTABLISHMENT_FIELDS)
                for key, value in wanted.items():
                    setattr(establishment, key, value)
                after = snapshot(establishment, ESTABLISHMENT_FIELDS)
                changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
                if changes:
                    establishment.save()
                    self._count("établissements", "updated")
                    self.audit_entries["sae.update"].append((establishment, changes))
                else:
                    self._count("établissements", "unchanged")
            self.report.in_scope_by_region[region.name] += 1
            self._upsert_activity(establishment, year, figures[finess], activity_rows)

    def _upsert_activity(self, establishment, year, values, activity_rows):
        current = activity_rows.get((establishment.pk, year))
        if current is None:
            current = ActivityFigures.objects.create(establishment=establishment, source_year=year, **values)
            self._count("activités", "created")
            self.audit_entries["sae.create"].append((current, {k: [None, v] for k, v in values.items()}))
            return
        changes = {k: [getattr(current, k), v] for k, v in values.items() if getattr(current, k) != v}
        if not changes:
            self._count("activités", "unchanged")
            return
        for key, value in values.items():
            setattr(current, key, value)
        current.save()
        self._count("activités", "updated")
        self.audit_entries["sae.update"].append((current, changes))

    def infer_supports(self, ghts):
        seats = {row["ght_code"]: _normalise_city(row.get("main_city_hint") or "") for row in _read_csv_fixture("ght_departments.csv")}
        members = defaultdict(list)
        for establishment in Establishment.objects.filter(ght__isnull=False).prefetch_related("activity_figures"):
            members[establishment.ght_id].append(establishment)
        for ght in ghts.values():
            if ght.support_source == GhtMembershipSource.MANUAL:
                continue
            candidates = members.get(ght.pk, [])

            def mco_days(establishment):
                latest = max(establishment.activity_figures.all(), key=lambda a: a.source_year, default=None)
                return (latest.mco_full_days if latest else 0, establishment.finess)

            seat = seats.get(ght.code)
            in_seat = [e for e in candidates if seat and _normalise_city(e.city) == seat]
            pool = in_seat or candidates
            support = max(pool, key=mco_days) if pool else None
            wanted_source = GhtMembershipSource.INFERRED if support else ""
            if ght.support_id != getattr(support, "pk", None) or ght.support_source != wanted_source:
                changes = {"support": [ght.support_id, getattr(support, "pk", None)]}
                ght.support = support
                ght.support_source = wanted_source
                ght.save(update_fields=["support", "support_source"])
                self._count("GHT (établissement support)", "updated")
                self.audit_entries["sae.update"].append((ght, changes))
            else:
                self._count("GHT (établissement support)", "unchanged")


def import_sae(directory) -> ImportReport:
    return SaeImporter(Path(directory)).run()

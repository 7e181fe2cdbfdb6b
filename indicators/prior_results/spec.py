"""The prior-results file: one line per establishment and result, checked into the values of one
`PriorProgrammeResult` (establishment, programme, kind, domain_code: the unique key; achieved, achieved_on, amount,
source: what a re-import may change).

Decisions:
- `programme` is the code of an existing programme (HN for Hôpital numérique), case-insensitive; unknown → line error.
- `result` is the stored value (`prerequisites_reached`…) or its French label (« Prérequis atteints », with or without
  accents, « (domaine) » optional).
- `domain` is required for the per-domain results (usage targets, funding) and refused for the others, as the
  database's check constraint says; it is a code (letters, digits, « . », « - », up to 8), stored in capitals.
- `achieved`: oui/non (also o/n, yes/no, vrai/faux, 1/0). `achieved_on`: JJ/MM/AAAA or AAAA-MM-JJ, not in the
  future, optional. `amount`: euros ≥ 0 with at most 2 decimals (« 150 000,50 », « 150000.5 »), optional.
- A FINESS missing its leading zero (a spreadsheet drops it) is completed, as in the bulk entry.
"""

import re
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from hopen.models import Establishment
from hopen.validation import sane_date_error
from indicators.bulk.parsing import BOOLEAN_OF_TEXT, normalized_finess, normalized_word, parse_date
from indicators.models import PriorProgrammeResult, PriorResultKind, Programme
from indicators.referential_import.engine import ReferentialSpec

COLUMNS = ("finess", "programme", "result", "domain", "achieved", "achieved_on", "amount", "source")
PER_DOMAIN = {PriorResultKind.USAGE_TARGETS_REACHED, PriorResultKind.FUNDING_RECEIVED}
DOMAIN_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,7}")
MAX_AMOUNT = Decimal("9999999999.99")  # max_digits=12, decimal_places=2


def _word(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", normalized_word(text)).strip("_")


def _kinds_of_text() -> dict:
    kinds = {}
    for kind in PriorResultKind:
        kinds[_word(kind.value)] = kind.value
        kinds[_word(kind.label)] = kind.value
        kinds[_word(re.sub(r"\s*\(domaine\)", "", kind.label))] = kind.value
    return kinds


KIND_OF_TEXT = _kinds_of_text()


class PriorResultsSpec(ReferentialSpec):
    code = "prior_results"
    title = "Résultats des programmes antérieurs"
    model = PriorProgrammeResult
    columns = COLUMNS
    required_columns = ("finess", "programme", "result", "achieved")
    date_columns = ("achieved_on",)
    unique_fields = ("establishment", "programme", "kind", "domain_code")
    fields = ("achieved", "achieved_on", "amount", "source")
    field_labels = {"achieved": "atteint", "achieved_on": "date", "amount": "montant (€)", "source": "source"}
    max_rows = 70_000
    audit_action = "prior_result.import"
    file_stem = "resultats-programmes-anterieurs"
    sheet_title = "Résultats"
    help_lines = (
        "Une ligne par établissement et par résultat ; la première ligne (noms des colonnes) ne se modifie pas.",
        "finess : FINESS géographique de l'établissement.",
        "programme : code du programme antérieur (HN pour Hôpital numérique).",
        "result : prerequisites_reached (Prérequis atteints), indicators_complete (Indicateurs entièrement saisis), "
        "usage_targets_reached (Cibles d'usage atteintes, par domaine), funding_received (Financement reçu, par "
        "domaine).",
        "domain : code du domaine (D1 à D5 pour Hôpital numérique), seulement pour usage_targets_reached et "
        "funding_received.",
        "achieved : oui ou non. achieved_on : JJ/MM/AAAA (facultatif). amount : montant en euros (facultatif).",
        "source : par exemple « export oSIS du 01/03/2019 » (facultatif, 200 caractères au plus).",
        "Un nouvel import du même fichier ne change rien ; un résultat absent du fichier n'est pas supprimé.",
    )

    def context(self, lines):
        """Two queries: the establishments named by the file, the programmes."""
        wanted = {normalized_finess(line.cells.get("finess", "")) for line in lines}
        establishments = {
            establishment.finess: establishment
            for establishment in Establishment.objects.filter(finess__in=wanted).only("id", "finess", "name")
        }
        programmes = {programme.code.upper(): programme for programme in Programme.objects.only("id", "code", "name")}
        return {"establishments": establishments, "programmes": programmes, "today": timezone.localdate()}

    def check(self, cells, context):
        messages = []
        finess_text = cells.get("finess", "")
        establishment = context["establishments"].get(normalized_finess(finess_text))
        if establishment is None:
            messages.append(f"finess « {finess_text} » inconnu" if finess_text else "finess : colonne vide")
        programme_text = cells.get("programme", "")
        programme = context["programmes"].get(programme_text.strip().upper())
        if programme is None:
            messages.append(
                f"programme « {programme_text} » inconnu (code attendu, par exemple HN)"
                if programme_text else "programme : colonne vide"
            )
        kind = _kind(cells.get("result", ""), messages)
        domain = _domain(cells.get("domain", ""), kind, messages)
        achieved = _achieved(cells.get("achieved", ""), messages)
        achieved_on = _date(cells.get("achieved_on", ""), context["today"], messages)
        amount = _amount(cells.get("amount", ""), messages)
        source = cells.get("source", "").strip()
        if len(source) > 200:
            messages.append(f"source : {len(source)} caractères, 200 au plus")
        if messages:
            return None, {}, messages
        key = (establishment.pk, programme.pk, kind, domain)
        values = {
            "establishment": establishment, "programme": programme, "kind": kind, "domain_code": domain,
            "achieved": achieved, "achieved_on": achieved_on, "amount": amount, "source": source,
        }
        return key, values, messages

    def existing(self, keys, context):
        """One query: the results of the file's establishments and programmes, kept when their key is in the file."""
        if not keys:
            return {}
        rows = PriorProgrammeResult.objects.filter(
            establishment_id__in={key[0] for key in keys}, programme_id__in={key[1] for key in keys}
        )
        establishments = {e.pk: e for e in context["establishments"].values()}
        programmes = {p.pk: p for p in context["programmes"].values()}
        found = {}
        for row in rows:
            key = (row.establishment_id, row.programme_id, row.kind, row.domain_code)
            if key in keys:
                row.establishment = establishments[row.establishment_id]
                row.programme = programmes[row.programme_id]
                found[key] = row
        return found

    def label(self, cells):
        parts = [cells.get("finess", ""), cells.get("programme", ""), cells.get("result", ""), cells.get("domain", "")]
        return " — ".join(part for part in parts if part)


def _kind(text, messages):
    if not text.strip():
        messages.append("result : colonne vide")
        return ""
    kind = KIND_OF_TEXT.get(_word(text), "")
    if not kind:
        choices = ", ".join(kind.value for kind in PriorResultKind)
        messages.append(f"result « {text} » inconnu (attendu : {choices} ou leur libellé)")
    return kind


def _domain(text, kind, messages):
    domain = re.sub(r"\s+", "", text).upper()
    if kind in PER_DOMAIN and not domain:
        messages.append("domain : obligatoire pour ce résultat (par exemple D2)")
    elif kind and kind not in PER_DOMAIN and domain:
        messages.append(f"domain « {text} » : à laisser vide pour ce résultat, qui ne porte pas sur un domaine")
    elif domain and not DOMAIN_RE.fullmatch(domain):
        messages.append(f"domain « {text} » : code de domaine invalide (par exemple D2)")
    return domain


def _achieved(text, messages):
    achieved = BOOLEAN_OF_TEXT.get(normalized_word(text))
    if achieved is None:
        messages.append(f"achieved « {text} » : répondez oui ou non" if text.strip() else "achieved : colonne vide")
    return achieved


def _date(text, today, messages):
    if not text.strip():
        return None
    try:
        day = parse_date(text)
    except ValueError:
        messages.append(f"achieved_on « {text} » n'est pas une date valide (JJ/MM/AAAA)")
        return None
    if day > today:
        messages.append(f"achieved_on « {text} » est dans le futur")
    elif sane_date_error(day):
        messages.append(f"achieved_on « {text} » : {sane_date_error(day)}")
    return day


def _amount(text, messages):
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", text).replace(",", ".")
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not re.fullmatch(r"\d+(\.\d+)?", cleaned):
        messages.append(f"amount « {text} » n'est pas un montant en euros (par exemple 150000,00)")
        return None
    if amount != amount.quantize(Decimal("0.01")) or amount > MAX_AMOUNT:
        messages.append(f"amount « {text} » : au plus 2 décimales et 9 999 999 999,99 €")
        return None
    return amount.quantize(Decimal("0.01"))


PRIOR_RESULTS = PriorResultsSpec()

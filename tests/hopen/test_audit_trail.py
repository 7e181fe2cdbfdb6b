"""The audit trail for auditors (issue 16, item 3): French labels from the apps' registries, values formatted, local
time, filters, CSV/XLSX exports scoped like the page, a constant number of queries, the same rendering in the
history panels. README « Audit trail »; the permission policy (hopen/permissions.py `can_browse_audit_trail`)."""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import transaction
from django.utils import timezone
from openpyxl import load_workbook

from funding.models import DossierDomain
from hopen.audit import audit_record
from hopen.audit_registry import registry
from hopen.models import AuditRecord
from tests.factories_dossiers import DossierDomainFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
URL = "/piste-audit/"
EXPORT_URL = "/piste-audit/export/"

# --- Every action code written in the code has a French label ---------------------------------------------------

LITERAL = re.compile(r'"([a-z][a-z_]*(?:\.[a-z][a-z_]*)+)"')
CONSTANT_ACTION = re.compile(r"action=(?:\w+\.)?([A-Z][A-Z_]+)\b")
# Codes built at run time: each pattern with every value it takes. A new f-string action fails the test until it
# is listed here (and labelled in its app's audit_labels.py).
DYNAMIC_ACTIONS = {
    'action=f"{spec.audit_action}.create"': ["prior_result.import.create", "software_vendor.import.create"],
    'action=f"{spec.audit_action}.update"': ["prior_result.import.update", "software_vendor.import.update"],
    'action=f"ledger.{pot}_pay"': ["ledger.seed_pay", "ledger.usage_pay"],
    'action=f"{self.audit_prefix}.{action}"': [
        "software_vendor.create", "software_vendor.update", "ght_it_governance.create", "ght_it_governance.update",
    ],
    'action=f"{self.audit_prefix}.delete"': ["software_vendor.delete", "ght_it_governance.delete"],
    'action=f"ght.{kind}_scan"': ["ght.master_plan_scan", "ght.value_document_scan"],
    'action=f"dossier_domain.{domain_action[action]}"': [
        "dossier_domain.reach_targets", "dossier_domain.notify_usage", "dossier_domain.usage_payment",
    ],
    'action=f"dossier_domain_share.{action}"': [
        "dossier_domain_share.reach_targets", "dossier_domain_share.notify_usage", "dossier_domain_share.usage_payment",
    ],
}


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "bench", "scripts"} or "migrations" in relative.parts:
            continue
        yield relative, path.read_text(encoding="utf-8")


def written_action_codes() -> tuple[dict, set]:
    """{code: where} of the literal codes on audit lines, and the f-string patterns found."""
    model_labels = {m._meta.label_lower for m in apps.get_models()}
    codes, patterns, constants = {}, set(), {}
    for relative, text in _sources():
        for number, line in enumerate(text.splitlines(), 1):
            constant = re.match(r"^([A-Z][A-Z_]+) = \"([a-z_.]+)\"", line)
            if constant:
                constants[constant.group(1)] = (constant.group(2), f"{relative}:{number}")
            lowered = line.lower()
            if "action" not in lowered and "audit" not in lowered:
                continue
            for code in LITERAL.findall(line):
                # Logger, task and module names (« hopen.tasks.… », « audits.urls »: the audits app's name contains
                # « audit ») and file names are not actions.
                if code not in model_labels and not code.endswith((".py", ".html")) and not code.startswith(("hopen.", "audits.")):
                    codes.setdefault(code, f"{relative}:{number}")
            for pattern in re.findall(r'action=f"[^"]*"', line):
                patterns.add(pattern)
            for name in CONSTANT_ACTION.findall(line) if "audit_record" in line else ():
                codes.setdefault(("constant", name), f"{relative}:{number}")
    for key in [k for k in codes if isinstance(k, tuple)]:
        where = codes.pop(key)
        value = constants.get(key[1])
        assert value is not None, f"Action {key[1]} ({where}) : constante introuvable"
        codes.setdefault(value[0], value[1])
    # `audit_action = "prior_result.import"` is a prefix: its codes are the `.create`/`.update` patterns above
    # (unless the code is also written as such, as the demo does).
    for relative, text in _sources():
        for prefix in re.findall(r'audit_action = "([a-z_.]+)"', text):
            if not any(f'action="{prefix}"' in other for _, other in _sources()):
                codes.pop(prefix, None)
    return codes, patterns


def test_every_action_code_written_in_the_code_has_a_french_label():
    """Issue 16 item 3: no code (« ledger.redeploy ») reaches the page; `auth.*` events included (issue 15)."""
    codes, patterns = written_action_codes()
    assert "ledger.redeploy" in codes and "auth.lockout" in codes and "ami.programming_transmitted" in codes
    assert patterns == set(DYNAMIC_ACTIONS), "nouvelle action construite à l'exécution : listez ses valeurs ici"
    for values in DYNAMIC_ACTIONS.values():
        codes.update({code: "f-string" for code in values})
    labels = registry().actions
    missing = {code: where for code, where in codes.items() if code not in labels}
    assert not missing, f"Actions sans libellé français : {missing}"
    assert all(label and label[0].isupper() for label in labels.values())


def test_field_labels_come_from_the_registries_and_the_models():
    reg = registry()
    assert reg.field("envelopes.ledgerentry", "pot").kind == "choice"  # « seed » reads « Amorçage »
    assert reg.field("funding.dossierdomain", "seed_is_derogatory").declared
    assert reg.field("funding.dossierdomain", "decided_by").related == "hopen.user"
    assert reg.field("funding.ghtitgovernance", "ght_id").label == "GHT"  # recorded by the admin under its column
    assert not reg.field("funding.dossier", "no_such_key").declared
    assert "funding.dossiers.audit_labels" in reg.modules and "hopen.audit_labels" in reg.modules


# --- The page -------------------------------------------------------------------------------------------------------


@pytest.fixture
def trail(tenants):
    """A selected domain of a dossier of region A and an authentication event of the auditor."""
    domain = DossierDomainFactory(dossier__establishment=tenants.member, total_amount=Decimal("1000.50"))
    with transaction.atomic():
        audit_record(actor=tenants.ars_a, action="dossier_domain.select", target=domain, changes={
            "status": ["pending", "selected"],
            "seed_is_derogatory": [False, True],
            "total_amount": ["0.00", "1000.50"],
            "decided_by": [None, tenants.ars_a.pk],
            "decided_at": [None, "2026-12-05T10:00:00Z"],
            "target_deadline": ["2026-06-30", "2026-12-31"],
        })
        audit_record(actor=tenants.admin, action="ledger.redeploy", target=tenants.region_b, changes={})
    tenants.domain = domain
    return tenants


def _text(response):
    return response.content.decode()


def test_page_reads_in_french(client, trail):
    """Labels, euros, dd/mm/yyyy, local time (10:00 UTC is 11:00 in Paris in December), enums by their label,
    booleans Oui/Non, a user by his name."""
    trail.ars_a.first_name, trail.ars_a.last_name = "Claire", "Martin"
    trail.ars_a.save()
    client.force_login(trail.auditor)
    page = _text(client.get(URL, {"action": "dossier_domain.select"}))
    assert "Domaine sélectionné" in page and "dossier_domain.select</td>" not in page
    assert "1\u00a0000,50\u00a0€" in page
    assert "05/12/2026 11:00" in page and "2026-12-05" not in page
    assert "30/06/2026 → 31/12/2026" in page
    assert "Sélectionné" in page and "Oui" in page and "Non" in page
    assert "Claire Martin" in page
    assert "seed_is_derogatory" not in page and "decided_by" not in page


def test_page_filters(client, trail):
    client.force_login(trail.auditor)
    by_action = client.get(URL, {"action": "ledger.redeploy"}).context["page"]
    assert [r.action for r in by_action] == ["ledger.redeploy"]
    by_actor = client.get(URL, {"actor": trail.ars_a.email}).context["page"]
    assert {r.action for r in by_actor} == {"dossier_domain.select"}
    by_type = client.get(URL, {"object_type": "funding.dossierdomain"}).context["page"]
    assert [r.action for r in by_type] == ["dossier_domain.select"]
    by_region = client.get(URL, {"region": trail.region_b.pk, "action": "ledger.redeploy"}).context["page"]
    assert [r.action for r in by_region] == ["ledger.redeploy"]
    region_a = client.get(URL, {"region": trail.region_a.pk}).context["page"]
    assert "dossier_domain.select" in {r.action for r in region_a} and "ledger.redeploy" not in {r.action for r in region_a}
    today = timezone.localdate()
    assert client.get(URL, {"start": today + datetime.timedelta(days=1)}).context["page"].paginator.count == 0
    assert client.get(URL, {"start": today, "end": today, "action": "ledger.redeploy"}).context["page"].paginator.count == 1
    search = client.get(URL, {"q": "Domaine sélectionné"}).context["page"]
    assert [r.action for r in search] == ["dossier_domain.select"]


@pytest.mark.parametrize("role", ["ars_a", "dgos", "director"])
def test_page_and_export_reserved_to_the_roles_that_browse_the_trail(client, trail, role):
    client.force_login(getattr(trail, role))
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT_URL, {"format": "csv"}).status_code == 403


def test_page_queries_do_not_grow_with_the_records(client, trail, django_assert_max_num_queries):
    client.force_login(trail.auditor)
    client.get(URL)
    with django_assert_max_num_queries(14):
        client.get(URL, {"region": trail.region_a.pk, "start": "2020-01-01"})
    for _ in range(30):
        domain = DossierDomainFactory(dossier__establishment=trail.clinic)
        with transaction.atomic():
            audit_record(actor=trail.ars_a, action="dossier_domain.refuse", target=domain,
                         changes={"decided_by": [None, trail.ars_a.pk], "dossier": [None, domain.dossier_id]})
    with django_assert_max_num_queries(14):
        response = client.get(URL)
    assert len(response.context["lines"]) == min(50, AuditRecord.objects.count()) > 30


def test_csv_export_holds_the_filtered_records_in_french(client, trail, django_assert_max_num_queries):
    client.force_login(trail.auditor)
    with django_assert_max_num_queries(10):
        response = client.get(EXPORT_URL, {"format": "csv", "object_type": "funding.dossierdomain"})
        body = b"".join(response.streaming_content).decode("utf-8")
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["Date (heure de Paris)", "Auteur", "Adresse électronique de l'auteur", "Action"]
    assert len(rows) == 2 and rows[1][3] == "Domaine sélectionné" and rows[1][4] == "dossier_domain.select"
    assert "1\u00a0000,50\u00a0€" in rows[1][8] and "05/12/2026 11:00" in rows[1][8]
    assert rows[1][9] == AuditRecord.objects.get(action="dossier_domain.select").hash


def test_xlsx_export_and_unknown_format(client, trail):
    client.force_login(trail.auditor)
    response = client.get(EXPORT_URL, {"format": "xlsx", "action": "ledger.redeploy"})
    assert "no-store" in response["Cache-Control"]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][3] == "Crédits redéployés" and isinstance(rows[1][0], datetime.datetime)
    assert client.get(EXPORT_URL, {"format": "pdf"}).status_code == 400


def test_page_layout_keeps_the_changes_column_in_a_focusable_region(client, trail):
    client.force_login(trail.auditor)
    page = _text(client.get(URL))
    assert 'class="fr-table__content" tabindex="0" role="region" aria-label="Traces d\'audit"' in page
    assert 'data-label="Modifications"' in page


def test_dossier_history_uses_the_same_rendering(client, trail):
    """The dossier page's history panel reads as the trail: label, formatted changes (README « Audit trail »)."""
    from funding.dossiers.selectors import _history

    lines = _history(DossierDomain.objects.get(pk=trail.domain.pk).dossier)
    assert [line.action_label for line in lines] == ["Domaine sélectionné"]
    assert any(row.after == "1\u00a0000,50\u00a0€" for row in lines[0].rows)

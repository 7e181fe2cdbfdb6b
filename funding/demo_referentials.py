"""Demo referentials for `make run` (never under the production settings), imported through the same engine as the
DGOS's files (`indicators.referential_import`): audited, idempotent (a second run changes nothing).

- `fixtures/demo/resultats-hn-FICTIFS-demo.csv`: FICTITIOUS Hôpital numérique results (§5.3.1 footnote 3) for most
  establishments of Hauts-de-France and Bretagne — about 85 % have results, about one in seven of those has not
  reached the HN prerequisites — so that the demo shows eligible, derogatory and blocked cases side by side. The six
  demo establishments get theirs from `funding.demo` (their dossiers are dated 2020).
- `fixtures/demo/editeurs-FICTIFS-demo.csv`: a few FICTITIOUS software vendors, RELIMS-referenced and QHN-engaged or not.

Establishments absent from the database (a partial SAE import) make their lines fail: the file is then not imported
and the reason is returned, like any bad file.
"""

from pathlib import Path

from django.conf import settings

from indicators.prior_results.spec import PRIOR_RESULTS
from indicators.referential_import.engine import import_file

from .eligibility.vendors_import import SOFTWARE_VENDORS

DEMO_FILES = Path(settings.BASE_DIR) / "fixtures" / "demo"
FILES = ((SOFTWARE_VENDORS, "editeurs-FICTIFS-demo.csv"), (PRIOR_RESULTS, "resultats-hn-FICTIFS-demo.csv"))


def seed_demo_referentials() -> list[str]:
    """Import the demo files; one French line per file (its counts, or why it was not imported)."""
    report = []
    for spec, name in FILES:
        plan = import_file(spec, (DEMO_FILES / name).read_bytes(), name, by=None, dry_run=False)
        if plan.is_valid:
            report.append(f"{name} : {plan.summary}")
        else:
            errors = plan.as_report()["errors"]
            first = errors[0] if errors else {}
            report.append(f"{name} : non importé, {len(errors)} ligne(s) en erreur (ligne {first.get('line')} : "
                          f"{first.get('message')})")
    return report


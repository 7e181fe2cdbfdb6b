"""Accessibility of every page of every role, checked by axe-core in Chromium (issue 16 item 6; RGAA 4.1).

The demo world of `make run` (factories + `seed_demo` + the demo dossiers, as tests/funding/test_demo.py builds it)
is browsed by each role — establishment editor and directors, GHT support director, ARS, DGOS, auditor,
administrator — and by an anonymous visitor (login, password reset, footer pages). No serious or critical violation
is accepted. The wide tables (ledger, audit trail, attainment grid) are also checked at 375 px: they scroll inside a
keyboard-focusable region and nothing of the page overflows the screen. Screenshots in test-artifacts/.
"""


import pytest
from django.urls import resolve

from funding.demo import seed_demo_dossiers
from funding.models import Dossier
from hopen.demo import DEMO_PASSWORD
from tests.browser.a11y_pages import html_routes, pages_by_role
from tests.funding.test_demo import demo_world, private_root  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BLOCKING = ("serious", "critical")
AXE_OPTIONS = {"resultTypes": ["violations"]}


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def demo(demo_world):  # noqa: F811
    references = seed_demo_dossiers(skipped=[], generate_letters=False)
    return demo_world, [Dossier.objects.get(reference=r) for r in references]


def log_in(page, base, email):
    page.context.clear_cookies()
    if email is None:
        return
    page.goto(f"{base}/compte/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()
    assert "/compte/connexion/" not in page.url, f"{email} n'a pas pu se connecter"


def blocking_violations(axe, page) -> list[str]:
    """« rule (impact): selector — help » for each serious or critical violation of the page as it is shown."""
    results = axe.run(page, options=AXE_OPTIONS).response
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} — {violation['help']}"
        for violation in results["violations"] if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


def test_every_page_of_every_role_has_no_serious_violation(page, live_server, demo, axe, capsys, artifacts_dir):
    """RGAA 4.1 through axe-core: 0 serious/critical violations on every page of every role; every HTML route of the
    URL conf is visited by at least one role. Then the wide tables at 1 280 and 375 px (`check_wide_tables`): one
    test, so that the demo world is built once."""
    world, dossiers = demo
    base = live_server.url
    problems, statuses, visited = [], [], set()
    count = 0
    for role, (email, paths) in pages_by_role(world, dossiers).items():
        log_in(page, base, email)
        for path in paths:
            response = page.goto(f"{base}{path}")
            if response.status != 200:
                statuses.append(f"[{role}] {path}: {response.status}")
            problems += [f"[{role}] {path}: {line}" for line in blocking_violations(axe, page)]
            visited.add(resolve(path).view_name)  # the route asked for (some redirect to the role's own page)
            count += 1
    with capsys.disabled():
        print(f"\naxe-core : {count} pages vérifiées ({len(visited)} routes distinctes)")
    assert count >= 60
    assert statuses + problems == [], "\n".join(statuses + problems)
    assert html_routes() - visited == set()

    check_wide_tables(page, base, axe, artifacts_dir)


# The wide tables (issue 16): the ledger, the audit trail, the attainment grid — seen by the roles that have them.
WIDE_TABLES = [
    ("grand-livre", "ars-32@demo.hopen.test", "/enveloppes/32/", "#tableau-ecritures"),
    ("piste-audit", "auditeur@demo.hopen.test", "/piste-audit/", "main .fr-table"),
    ("grille-atteinte", "ars-32@demo.hopen.test", "/indicateurs/etablissements/", "#tableau-atteinte"),
]

# The geometry of a table's scroll region, after the keyboard moved it to its right end (`End` would jump out of
# the region on some screen readers; the arrow keys are what a keyboard user presses).
GEOMETRY = """(selector) => {
  const box = document.querySelector(selector);
  const region = box.querySelector('[role="region"]');
  const scroller = box.querySelector('.fr-table__container');
  const table = region.querySelector('table');
  const last = table.querySelector('thead tr th:last-child') || table.querySelector('tr > :last-child');
  return {
    role: region.getAttribute('role'), tabindex: region.getAttribute('tabindex'), label: region.getAttribute('aria-label'),
    pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
    regionScrolls: scroller.scrollWidth > scroller.clientWidth, scrollLeft: scroller.scrollLeft,
    lastRight: last.getBoundingClientRect().right, regionRight: scroller.getBoundingClientRect().right,
    // The outermost elements wider than the screen: what makes the page scroll sideways.
    wider: [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1
      && el.parentElement.getBoundingClientRect().right <= window.innerWidth + 1).slice(0, 5)
      .map((el) => `${el.tagName}.${el.className}#${el.id}`),
  };
}"""


def check_wide_tables(page, base, axe, artifacts_dir):
    """At 1 280 px and 375 px (a phone) the page itself never scrolls sideways; the table scrolls inside a labelled
    region that takes the keyboard focus, and its last column is reached with the arrow keys (RGAA 10.11 — content
    readable without horizontal scrolling of the page at 320 CSS px —, 12.13, WCAG 2.1.1)."""
    problems = []
    for name, email, path, selector in WIDE_TABLES:
        log_in(page, base, email)
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}{path}")
            page.screenshot(path=str(artifacts_dir / f"a11y-{name}-{width}.png"), full_page=True)
            before = page.evaluate(GEOMETRY, selector)
            assert (before["role"], before["tabindex"]) == ("region", "0") and before["label"], (name, before)
            problems += [f"{name} {width}px: {line}" for line in blocking_violations(axe, page)]
            if before["pageOverflow"] > 0:
                problems.append(f"{name} {width}px: la page déborde de {before['pageOverflow']} px ({before['wider']})")
            if before["regionScrolls"] and not reaches_last_column(page, selector):
                problems.append(f"{name} {width}px: dernière colonne hors d'atteinte au clavier")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert problems == [], "\n".join(problems)


def reaches_last_column(page, selector) -> bool:
    """Focus the table's region and press → until its last column is in view (the browser scrolls smoothly: the
    position is read once the scrolling has settled)."""
    page.focus(f'{selector} [role="region"]')
    for _ in range(20):
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(150)
        geometry = page.evaluate(GEOMETRY, selector)
        if geometry["scrollLeft"] > 0 and geometry["lastRight"] <= geometry["regionRight"] + 1:
            return True
    return False

"""Playwright fixtures: Debian's Chromium (never `playwright install`), one context per test.

The sync Playwright API keeps an asyncio loop running in the test thread for as long as Playwright is
started; Django refuses ORM calls from a thread with a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is
set. Both are confined to this module's tests: Playwright is started per module, and the variable is set
only while it runs (set process-wide, it would leak into the other tests, e.g. into the
`manage.py check --deploy` subprocess of tests/hopen/test_settings.py, which then reports async.E001).
"""

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Reports every Content-Security-Policy violation event of every page to Python (survives navigations).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__hopenReportCsp(`${event.violatedDirective} ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`);
});
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


class PageRecorder:
    """What the browser reported while the test ran: console messages, failed responses."""

    def __init__(self, page, csp_events):
        self.page = page
        self.csp_events = csp_events
        self.console = []
        self.page_errors = []
        self.failed_responses = []
        self.responses = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", self._on_response)

    def _on_response(self, response):
        self.responses.append((response.status, response.url))
        if response.status >= 400:
            self.failed_responses.append((response.status, response.url))

    def csp_violations(self):
        from_console = [
            line for line in self.console if "Content Security Policy" in line or "Content-Security-Policy" in line
        ]
        return from_console + self.csp_events


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    csp_events = []
    context.expose_function("__hopenReportCsp", lambda text: csp_events.append(text))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.recorder = PageRecorder(page, csp_events)
    yield page
    context.close()


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

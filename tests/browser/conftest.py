"""A real browser on the real server: Playwright drives Debian's Chromium (never a downloaded build)
against the app served on 127.0.0.1 in a thread, on a fresh SQLite store with a small county.

One browser per test session, a new context (cookies, viewport) per test. Fixtures act like a
person: `ui.login("vmed1", "password1")`, `ui.logout()`, `ui.goto("/tasks")`. `screenshot(page,
name)` keeps a full-page PNG under tests/browser/screenshots/ (not committed) to look at;
`assert_accessible(page)` runs axe-core and fails on serious or critical violations.
"""
from __future__ import annotations

import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import BPMN_DIR, FIXTURES, definition_files, deploy_files, make_system, seed_people
from tests.pages.app import page_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "password1"


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("browser: Debian's chromium is not installed (.ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser: the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


class Site:
    """The service as served for one test: its address and the System behind it."""

    def __init__(self, url: str, system):
        self.url = url
        self.system = system


@contextmanager
def served(tmp_path, bpmn_dir: Path = FIXTURES / "bpmn", *, bundled: bool = False, more=None):
    """The app served on 127.0.0.1 in a thread, on a fresh SQLite store with the small county of
    tests/conftest.py; `bundled`: the bundled processes deployed as `fengqiao deploy` does; `more`:
    a function given the system to add people or units of its own."""
    system = make_system(f"sqlite:///{tmp_path / 'browser.db'}", BPMN_DIR if bundled else bpmn_dir)
    if bundled:
        deploy_files(system, definition_files(BPMN_DIR))
    system.people = seed_people(system)
    if more is not None:
        more(system)
    server = make_server("127.0.0.1", 0, page_app(system), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", system)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        system.close()


@pytest.fixture
def site(tmp_path):
    with served(tmp_path) as found:
        yield found


def _new_page(browser, site: Site, viewport: dict):
    context = browser.new_context(base_url=site.url, viewport=viewport, locale="zh-CN")
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, site):
    """A desktop browser window (1280 × 900)."""
    context, page = _new_page(browser, site, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, site):
    """A phone's screen (360 × 740)."""
    context, page = _new_page(browser, site, PHONE)
    yield page
    context.close()


class BrowserUser:
    """A person at the browser: finds fields by their labels and buttons by their words."""

    def __init__(self, page):
        self.page = page

    def goto(self, path: str):
        return self.page.goto(path)

    def login(self, username: str, password: str = PASSWORD, *, labels=("用户名", "密码", "登录")):
        user_label, password_label, button = labels
        if not self.page.url.split("?")[0].endswith("/login"):
            self.goto("/login")
        self.page.get_by_label(user_label, exact=True).fill(username)
        self.page.get_by_label(password_label, exact=True).fill(password)
        self.page.get_by_role("button", name=button, exact=True).click()
        self.page.wait_for_load_state()

    def logout(self, button: str = "退出登录"):
        self.page.get_by_role("button", name=button, exact=True).click()
        self.page.wait_for_load_state()

    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.page.url)


@pytest.fixture
def ui(page):
    return BrowserUser(page)


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as tests/browser/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^\w.-]+", "-", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page) -> None:
    """axe-core (shipped inside the axe-playwright-python package) finds no serious or critical
    violation on the page as it is shown now."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                              f"{[n['target'] for n in v['nodes']]}" for v in bad)


def has_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")

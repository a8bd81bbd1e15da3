"""End-to-end fixtures: the application served over real HTTP and a real Chromium driving it.

- ``live_server``: the app on the test database (SQLite or PostgreSQL, like every other test),
  served by werkzeug's threaded WSGI server on 127.0.0.1 and a free port, with CSRF ON (the
  browser posts the real forms). It comes with demo-like data made by the factories:

  * ``live_server.url``: ``http://127.0.0.1:PORT``
  * ``live_server.app``: the Flask app (``get_database(live_server.app).transaction()`` to add
    your own data before you load a page)
  * ``live_server.staff[role] -> (username, password)`` for every role in
    ``library.models.STAFF_ROLES`` (the circulation user is scoped to the central library "ZY")
  * ``live_server.reader -> (card_number, pin)``; ``live_server.branch_codes``
  * ``live_server.login_staff(page, role="admin")``, ``live_server.login_reader(page)``
  * ``live_server.errors``: errors logged while serving (unhandled exceptions); a test that leaves any there fails
    at teardown (set ``live_server.expect_errors = True`` when a test provokes one on purpose).

- ``page``: a fresh browser context (desktop 1280x900, Chinese UI, ``base_url`` = the live
  server, so ``page.goto("/staff/login")`` works); ``phone_page``: the same at 390x844 with touch;
  ``make_page(**context_options)`` for anything else. Skipped, saying why, when /usr/bin/chromium
  or Playwright is missing.
- ``screenshot(page, name)`` saves a full-page PNG to /tmp/e2e-shots (never into the repo).

Every test in this folder is marked ``browser``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from library.db import get_database
from library.models import STAFF_ROLES
from tests import factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]
SHOTS_DIR = Path(os.environ.get("LIBRARY_E2E_SHOTS", "/tmp/e2e-shots"))
DEFAULT_TIMEOUT_MS = 20_000  # the CI machine is shared and slow; a real failure still ends the test


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


class LiveServer:
    """The application served over HTTP in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)
        self.errors: list[BaseException] = []
        self.expect_errors = False
        self.staff: dict[str, tuple[str, str]] = {}
        self.reader: tuple[str, str] = ("", "")
        self.branch_codes: list[str] = []

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def login_staff(self, page: Any, role: str = "admin") -> None:
        """Log ``page`` in through the staff login form as the demo user holding ``role``."""
        username, password = self.staff[role]
        page.goto(f"{self.url}/staff/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("form button[type=submit].primary")
        page.wait_for_url(lambda url: "/staff/login" not in url)

    def login_reader(self, page: Any, card_number: str | None = None, pin: str | None = None) -> None:
        """Log ``page`` in through the reader login form (the default reader unless given)."""
        page.goto(f"{self.url}/login")
        page.fill("input[name=card_number]", card_number or self.reader[0])
        page.fill("input[name=pin]", pin or self.reader[1])
        page.click("form button[type=submit].primary")
        page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"))


def _seed(live: LiveServer) -> None:
    with get_database(live.app).transaction() as session:
        central = factories.make_branch(session, code="ZY", name="资阳区图书馆", kind="central")
        branch = factories.make_branch(session, code="ZY01", name="汽车路街道分馆", parent=central)
        factories.make_branch(session, code="ZY01-01", name="马良社区服务点", kind="service_point", parent=branch,
                              open_days=(1, 3, 5))
        for role in STAFF_ROLES:
            username = f"e2e_{role}"
            factories.make_staff(session, role=role, username=username,
                                 branch_code="ZY" if role == "circulation" else None)
            live.staff[role] = (username, factories.STAFF_PASSWORD)
        reader = factories.make_reader(session, card_number="E2E0000001", name="王晓东", home_branch=central,
                                       phone="13800000001")
        live.reader = (reader.card_number, factories.READER_PIN)
        for i in range(2, 6):
            factories.make_reader(session, card_number=f"E2E000000{i}", home_branch=branch,
                                  category_code=("adult", "child", "senior", "visually_impaired")[i - 2])
        live.branch_codes = ["ZY", "ZY01", "ZY01-01"]


@pytest.fixture
def live_server(app: Flask, make_app: Callable[..., Flask]) -> Iterator[LiveServer]:
    """The app (same test database as ``app``) served on 127.0.0.1:<free port>, CSRF on."""
    served = make_app(SERVER_NAME=None, WTF_CSRF_ENABLED=True, PROPAGATE_TEST_ERRORS=False)
    live = LiveServer(served)

    class _Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            live.errors.append(record.exc_info[1] if record.exc_info and record.exc_info[1]
                               else RuntimeError(record.getMessage()))

    recorder = _Recorder(level=logging.ERROR)
    served.logger.addHandler(recorder)
    _seed(live)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        served.logger.removeHandler(recorder)
        get_database(served).dispose()
    if live.errors and not live.expect_errors:
        pytest.fail(f"the live server raised {len(live.errors)} error(s) while serving: {live.errors!r}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run (each test gets its own context)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the test extra
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken Chromium install: say so instead of erroring every test
        pw.stop()
        pytest.skip(f"{CHROMIUM} could not be started by Playwright: {exc}")
    try:
        yield chromium
    finally:
        chromium.close()
        pw.stop()


@pytest.fixture
def make_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """``make_page(viewport={"width": 390, "height": 844}, locale="en-US", ...)``: a page in a
    fresh context (own cookies) whose ``base_url`` is the live server."""
    contexts: list[Any] = []

    def factory(**options: Any) -> Any:
        settings: dict[str, Any] = {"base_url": live_server.url, "locale": "zh-CN",
                                    "viewport": {"width": 1280, "height": 900}}
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_page: Callable[..., Any]) -> Any:
    """A desktop-sized page (1280x900) on the live server."""
    return make_page()


@pytest.fixture
def phone_page(make_page: Callable[..., Any]) -> Any:
    """A phone-sized page (390x844, touch, mobile user agent behaviour) on the live server."""
    return make_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                     device_scale_factor=2)


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """``screenshot(page, "admin-branches-phone")`` -> /tmp/e2e-shots/admin-branches-phone.png"""

    def take(page: Any, name: str) -> Path:
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
        path = SHOTS_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

"""Browser tests: Playwright for Python driving Debian's Chromium against live_server.

Chromium comes from the OS (`apt-get install chromium`), never from `playwright
install`. Without Chromium or Playwright the tests skip with the reason; in CI
(conftest.services_required()) they fail instead.
"""

from __future__ import annotations

import importlib.abc
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from conftest import services_required

CHROMIUM = "/usr/bin/chromium"
# Headless, and quiet on a closed network: no background calls to Google's hosts.
# Playwright adds a fresh --user-data-dir of its own to every launch.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
# ReDoc's bundle renders the whole schema; on a busy 2-core machine that takes seconds.
TIMEOUT_MS = 30_000
NO_PLAYWRIGHT = (
    "the playwright package is not installed (pip install -r requirements-dev.txt)"
)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Saves the page as a PNG when a test fails (or always, BROWSER_SCREENSHOTS=all)."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    wanted = report.failed or os.environ.get("BROWSER_SCREENSHOTS") == "all"
    if report.when == "call" and page is not None and wanted:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
        path = ARTIFACTS / f"{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's failure
            report.sections.append(("screenshot", f"not saved: {exc}"))
        else:
            report.sections.append(("screenshot", str(path)))
    return report


def _chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def _unavailable(reason: str) -> None:
    message = f"browser tests cannot run here: {reason}"
    if services_required():
        pytest.fail(f"{message} (CI must run them)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


class _PlaywrightMissing(importlib.abc.MetaPathFinder):
    """Turns a test module's `from playwright... import` into that skip."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "playwright":
            _unavailable(NO_PLAYWRIGHT)


try:
    import playwright  # noqa: F401
except ImportError:
    sys.meta_path.insert(0, _PlaywrightMissing())


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the whole browser package, stopped when it is done."""
    from playwright.sync_api import Error, sync_playwright

    executable = _chromium_path()
    if executable is None:
        _unavailable(
            f"no Chromium at {os.environ.get('CHROMIUM_PATH') or CHROMIUM} "
            "(apt-get install chromium, or set CHROMIUM_PATH)"
        )
    # Playwright's sync API keeps an event loop running in this thread, and Django
    # refuses ORM calls whenever one runs. Nothing here is async: allow it, but
    # only while this package's tests run.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        driver = sync_playwright().start()
        try:
            try:
                chromium = driver.chromium.launch(
                    executable_path=executable, args=CHROMIUM_FLAGS
                )
            except Error as exc:
                first_line = str(exc.message).strip().splitlines()[0]
                _unavailable(f"Chromium at {executable} did not start: {first_line}")
            yield chromium
            chromium.close()
        finally:
            driver.stop()


@pytest.fixture
def page(browser, live_server) -> Iterator[Any]:
    """A page in a fresh browser context, with relative URLs on the live server."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)  # expect() has its own 5 s default
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()

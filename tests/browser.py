"""Headless Chromium for tests, driven by Playwright's sync API.

Debian's /usr/bin/chromium, never a downloaded browser. One browser per test module, a fresh
context (cookies, storage) per test. Test modules import the fixtures they use:

    from .browser import browser, page, screenshot  # noqa: F401 - pytest fixtures
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / ".cache/axe/node_modules/axe-core/axe.min.js"


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop in this thread, and Django then refuses ORM calls
    # from the test ("async context"). The test itself is synchronous, so the guard does not apply.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if saved is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screenshot(request):
    """screenshot(page, "what the step shows") → test-artifacts/<test>/<nn>-<what>.png"""
    folder = ARTIFACTS / re.sub(r"[^\w-]+", "-", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    taken = []

    def shoot(tab: Page, name: str, *, full_page: bool = True) -> Path:
        taken.append(name)
        slug = re.sub(r"[^\w-]+", "-", name.lower()).strip("-")
        path = folder / f"{len(taken):02d}-{slug}.png"
        tab.screenshot(path=path, full_page=full_page)
        return path

    return shoot


def write_markdown(tab: Page, field: str, text: str) -> None:
    """Type `text` at the end of the Markdown editor of the admin form's `field` (the textarea
    it replaces is hidden; newsletter/admin/editor.py)."""
    tab.locator(f".field-{field} .CodeMirror").click()
    tab.keyboard.press("Control+End")
    tab.keyboard.type(text)

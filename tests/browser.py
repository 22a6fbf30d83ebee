"""Headless Chromium for tests, driven by Playwright's sync API.

Debian's /usr/bin/chromium, never a downloaded browser. One browser per test module, a fresh
context (cookies, storage) per test. The fixtures (browser, page, axe_page, screenshot) are in
tests/conftest.py; the helpers are here.
"""

import json
import os

from django.test import Client
from playwright.sync_api import Page

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
# What an accessibility check fails on (axe's impacts).
BLOCKING = {"serious", "critical"}


def write_markdown(tab: Page, field: str, text: str) -> None:
    """Type `text` at the end of the Markdown editor of the admin form's `field` (the textarea
    it replaces is hidden; newsletter/admin/editor.py)."""
    tab.locator(f".field-{field} .CodeMirror").click()
    tab.keyboard.press("Control+End")
    tab.keyboard.type(text)


def violations(page, include: list[str] | None = None) -> list[dict]:
    """Serious and critical violations on the page (or only in the elements `include` selects)."""
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate(
        "async (include) => await axe.run(include ? {include} : document, "
        "{resultTypes: ['violations']})",
        include,
    )
    found = result["violations"]
    for violation in found:
        print(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({len(violation['nodes'])} nodes) {violation['helpUrl']}"
        )
        for node in violation["nodes"][:5]:
            print("    ", json.dumps(node["target"]), node["failureSummary"].replace("\n", " "))
    return [v for v in found if v["impact"] in BLOCKING]


def signed_in_tab(browser, live_server, user, width: int = 1280, height: int = 900) -> Page:
    """A new tab signed in as `user` (the test client's session, handed to the browser)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()

"""axe-core with the WCAG 2.2 AA rules (every impact, not only serious ones) on every public page,
the pages of leaving, and the HTML of every kind of email Engage sends (issue 25)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.browser import AXE
from tests.mail import sent_emails
from tests.web.public_pages import public_pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def tab(browser):
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make axe` (make test does it)")
    # The site's CSP rightly refuses inline scripts; axe is the test's, not the page's.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def violations(tab) -> list[str]:
    tab.add_script_tag(content=AXE.read_text())
    result = tab.evaluate(
        "async (tags) => await axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_22_AA,
    )
    return [
        f"[{v['impact']}] {v['id']}: {v['help']} at {json.dumps(node['target'])}"
        for v in result["violations"]
        for node in v["nodes"][:5]
    ]


def test_every_public_page_passes_wcag_22_aa(topics, live_server, settings, tab):
    settings.SITE_URL = live_server.url
    pages = public_pages(topics)
    found = []
    for name, path in pages.items():
        tab.goto(path if path.startswith("http") else live_server.url + path)
        found += [f"{name}: {v}" for v in violations(tab)]
    # After leaving: the reason and the way back.
    tab.goto(pages["unsubscribe"])
    tab.get_by_role("button", name="Unsubscribe", exact=True).click()
    tab.get_by_role("heading", name="You are unsubscribed").wait_for()
    found += [f"unsubscribed: {v}" for v in violations(tab)]
    print(f"{len(pages) + 1} pages scanned")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("access", [(), ("larger_text",), ("no_images",)], ids=repr)
def test_every_email_passes_wcag_22_aa(topics, live_server, settings, tab, tmp_path, access):
    """For a reader who chose nothing, and as a reader of larger text or of no images gets it."""
    settings.SITE_URL = live_server.url
    call_command("seed_demo", password_file=tmp_path / "password.txt", stdout=StringIO())
    emails = sent_emails.every_email(sent_emails.demo_extras(topics), access=access)
    found = []
    for name, (html, _text) in emails.items():
        tab.set_content(html)
        found += [f"{name}: {v}" for v in violations(tab)]
    print(f"{len(emails)} emails scanned")
    assert found == [], "\n".join(found)


def test_the_scan_counts_a_wcag_failure_of_any_impact(tab):
    tab.set_content(
        '<html lang="en"><title>t</title><main><p style="color:#999">faint</p></main></html>'
    )

    assert any("color-contrast" in v for v in violations(tab))

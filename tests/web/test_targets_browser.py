"""Targets, focus, text size and reflow on every public page, measured in Chromium (issue 25).

People with MND/ALS point by eye gaze, a head mouse or a shaking hand, and step through a page
with a switch. On each public page, at 375 and 1280 px and at 1280 px with 200% zoom (640 CSS px
and the browser's text at 200%):
- every control and every link that stands on its own is at least 44×44 CSS px (a checkbox or a
  radio button by its label; links inside a sentence are exempt, as WCAG 2.5.8 exempts them);
- every control shows a focus indicator with a contrast of at least 3:1 against what is around it;
- the text follows the browser's text size (rem, not px);
- at 320 px nothing scrolls sideways.
A screenshot of each page at each size goes to test-artifacts/."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.mail import sent_emails
from tests.web.public_pages import public_pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

MEASURE = (Path(__file__).parent / "measure_targets.js").read_text()

SIZES = {
    "375px": {"viewport": {"width": 375, "height": 800}, "text": "100%"},
    "1280px": {"viewport": {"width": 1280, "height": 900}, "text": "100%"},
    # The browser zoomed to 200%: half the CSS pixels across, and its text size doubled.
    "1280px at 200%": {"viewport": {"width": 640, "height": 450}, "text": "200%"},
}


@pytest.fixture
def pages(topics, live_server, settings):
    settings.SITE_URL = live_server.url
    return public_pages(topics)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_public_page_has_large_targets_and_a_clear_focus_ring(
    size,
    pages,
    browser,
    live_server,
    screenshot,
):
    setting = SIZES[size]
    context = browser.new_context(viewport=setting["viewport"])
    tab = context.new_page()
    report, problems = [], []
    for name, path in pages.items():
        url = path if path.startswith("http") else live_server.url + path
        tab.goto(url)
        tab.evaluate("(size) => document.documentElement.style.fontSize = size", setting["text"])
        screenshot(tab, f"{name} {size}")
        found = tab.evaluate(MEASURE)
        report.append(f"{name}: {found['count']} targets, {len(found['small'])} under 44 px")
        problems += [f"{name}: small {entry}" for entry in found["small"]]
        problems += [f"{name}: faint focus {entry}" for entry in found["faint"]]
    context.close()
    print(f"\n{size}:", *report, sep="\n  ")
    assert problems == [], "\n".join(problems)


def test_text_follows_the_browser_text_size_and_nothing_scrolls_sideways_at_320px(
    pages,
    browser,
    live_server,
):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    tab = context.new_page()
    wide, fixed = [], []
    for name, path in pages.items():
        tab.goto(path if path.startswith("http") else live_server.url + path)
        body = tab.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
        tab.evaluate("() => document.documentElement.style.fontSize = '200%'")
        larger = tab.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
        if larger < body * 1.9:
            fixed.append(f"{name}: body text {body} px stays {larger} px at 200%")
        tab.evaluate("() => document.documentElement.style.fontSize = ''")
        overflow = tab.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        if overflow > 0:
            wide.append(f"{name}: scrolls {overflow} px sideways at 320 px")
    context.close()
    assert fixed == [] and wide == [], "\n".join(fixed + wide)


@pytest.mark.parametrize("width", [375, 600])
def test_every_link_in_every_email_is_a_large_target(
    width,
    topics,
    live_server,
    settings,
    browser,
    tmp_path,
):
    settings.SITE_URL = live_server.url
    call_command("seed_demo", password_file=tmp_path / "password.txt", stdout=StringIO())
    emails = sent_emails.every_email(sent_emails.demo_extras(topics))
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    report, small = [], []
    for name, (html, _text) in emails.items():
        tab.set_content(html)
        found = tab.evaluate(MEASURE)
        report.append(f"{name}: {found['count']} targets, {len(found['small'])} under 44 px")
        small += [f"{name}: {entry}" for entry in found["small"]]
    context.close()
    print(f"\nemails at {width} px:", *report, sep="\n  ")
    assert small == [], "\n".join(small)

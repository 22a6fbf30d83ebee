"""A reader's time zone in Chromium: the join form takes the browser's own zone where JavaScript
runs (the context's timezone_id, as a reader in Tokyo has), the organisation's where it does not,
and the preference centre changes it; axe finds nothing serious on the pages that show it."""

import pytest

from newsletter import tokens
from newsletter.models import SignupRequest

from .browser import browser, screenshot  # noqa: F401 - pytest fixtures
from .factories import SubscriberFactory
from .test_accessibility import violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def reader_in(browser, zone: str, *, javascript: bool = True):  # noqa: F811
    # bypass_csp lets axe's own script in; the page's script is a plain same-origin file.
    context = browser.new_context(
        timezone_id=zone,
        java_script_enabled=javascript,
        bypass_csp=True,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    return context


def join(page, live_server, email: str):
    page.goto(f"{live_server.url}/join/")
    page.get_by_label("Email address").fill(email)
    page.locator("#id_consent").check()
    page.get_by_role("button", name="Join").click()
    page.get_by_text("Check your inbox").first.wait_for()


def test_the_join_form_sends_the_browsers_zone_and_falls_back_without_javascript(
    browser,  # noqa: F811
    live_server,
    topics,
    screenshot,  # noqa: F811
):
    tokyo = reader_in(browser, "Asia/Tokyo")
    page = tokyo.new_page()
    page.goto(f"{live_server.url}/join/")
    assert page.locator('input[name="time_zone"]').input_value() == "Asia/Tokyo"
    assert violations(page) == []
    join(page, live_server, "tokyo@example.org")
    screenshot(page, "joined from Tokyo")
    tokyo.close()
    assert SignupRequest.objects.get(email="tokyo@example.org").time_zone == "Asia/Tokyo"

    without_script = reader_in(browser, "Asia/Tokyo", javascript=False)
    page = without_script.new_page()
    join(page, live_server, "plain@example.org")
    without_script.close()
    assert SignupRequest.objects.get(email="plain@example.org").time_zone == ""


def test_the_preference_centre_changes_the_zone(
    browser,  # noqa: F811
    live_server,
    settings,
    topics,
    screenshot,  # noqa: F811
):
    settings.SITE_URL = live_server.url
    reader = SubscriberFactory(active=True, topics=[topics["news"]], time_zone="Asia/Tokyo")
    context = reader_in(browser, "Asia/Tokyo")
    page = context.new_page()
    page.goto(tokens.preferences_url(reader.pk))
    zone = page.get_by_label("Your time zone")
    assert zone.input_value() == "Asia/Tokyo"
    assert violations(page) == []

    zone.select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your preferences were saved.").wait_for()
    screenshot(page, "zone changed to New York")
    assert page.get_by_label("Your time zone").input_value() == "America/New_York"
    context.close()
    reader.refresh_from_db()
    assert reader.time_zone == "America/New_York"

"""Local-time sending in Chromium. A reader's zone: the join form takes the browser's own where
JavaScript runs (the context's timezone_id, as a reader in Tokyo has), the organisation's where it
does not, and the preference centre changes it. A sender schedules 09:00 in each reader's zone,
reads the span of the waves before confirming, and watches the first wave go. axe finds nothing
serious on the pages that show the zone."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from newsletter import tasks
from newsletter.models import SignupRequest
from newsletter.subscribers import tokens
from tests.browser import violations
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def reader_in(browser, zone: str, *, javascript: bool = True):
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
    browser,
    live_server,
    topics,
    screenshot,
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
    browser,
    live_server,
    settings,
    topics,
    screenshot,
):
    settings.SITE_URL = live_server.url
    reader = SubscriberFactory(active=True, topics=[topics["news"]], time_zone="Asia/Tokyo")
    context = reader_in(browser, "Asia/Tokyo")
    page = context.new_page()
    page.goto(tokens.preferences_url(reader.pk))
    zone = page.locator("select[name=time_zone]")  # the select; a search field sits beside it
    assert zone.input_value() == "Asia/Tokyo"
    assert violations(page) == []

    zone.select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your preferences were saved.").wait_for()
    screenshot(page, "zone changed to New York")
    assert page.locator("select[name=time_zone]").input_value() == "America/New_York"
    context.close()
    reader.refresh_from_db()
    assert reader.time_zone == "America/New_York"


def test_a_sender_schedules_nine_in_each_readers_zone_and_watches_the_waves(
    browser,
    live_server,
    settings,
    topics,
    sink,
    screenshot,
):
    # This process (the site and beat) lives on the Saturday before Europe springs forward; the
    # browser keeps its own clock, so the session cookie must not carry an expiry date.
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    User.objects.create_superuser("sender", "sender@example.org", "a long passphrase")
    campaign = CampaignFactory(
        subject="Spring issue", posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]]
    )
    for zone in ["Asia/Tokyo", "Europe/London", "America/New_York"]:
        SubscriberFactory(active=True, topics=[topics["news"]], time_zone=zone)
    context = reader_in(browser, "Europe/London")
    page = context.new_page()
    with time_machine.travel(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), tick=True):
        page.goto(f"{live_server.url}/admin/")
        page.get_by_label("Username").fill("sender")
        page.get_by_label("Password").fill("a long passphrase")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Site administration").wait_for()

        page.goto(f"{live_server.url}{reverse('admin:campaign-schedule', args=[campaign.pk])}")
        page.get_by_label("At a time of day in each reader's own time zone").check()
        page.get_by_role("textbox", name="Date").fill("2026-03-29")
        page.get_by_role("textbox", name="Time of day").fill("09:00")
        screenshot(page, "schedule at nine in each readers zone")
        assert violations(page) == []
        page.get_by_role("button", name="Schedule…").click()
        page.get_by_text(
            "Send to 3 people at 09:00 on Sunday 29 March 2026 in each reader's own time zone, "
            "from 00:00 UTC Sun 29 Mar to 13:00 UTC Sun 29 Mar?"
        ).wait_for()
        screenshot(page, "confirm the span of the waves")
        page.get_by_role("button", name="Yes, send").click()
        page.get_by_text("in each reader's time zone, from").wait_for()

        with time_machine.travel(datetime(2026, 3, 29, 0, 0, 5, tzinfo=UTC), tick=True):
            tasks.tick()  # Tokyo's 09:00: the campaign starts and its first wave goes
            sink.wait_for(1)
            page.reload()
            waves = page.get_by_role("table", name="Waves, one per moment")
            waves.wait_for()
            screenshot(page, "the first wave sent the others waiting")
            rows = [row.inner_text().split("\t") for row in waves.locator("tbody tr").all()]
    context.close()
    assert rows == [
        ["Sun 29 Mar 00:00 UTC", "Asia/Tokyo", "0", "1", "0"],
        ["Sun 29 Mar 08:00 UTC", "Europe/London", "1", "0", "0"],
        ["Sun 29 Mar 13:00 UTC", "America/New_York", "1", "0", "0"],
    ]

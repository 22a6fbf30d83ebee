"""The time-zone picker in the preference centre (issue 25): a grouped list whose options keep
their region, the browser's own zone chosen when the reader has none, and a search field with
JavaScript (the grouped list alone without it)."""

import pytest

from newsletter.models import Subscriber
from newsletter.subscribers import tokens
from tests.factories import SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


@pytest.fixture
def reader(topics, live_server, settings):
    settings.SITE_URL = live_server.url
    return SubscriberFactory(active=True, topics=[topics["news"]], time_zone="")


def test_the_browser_zone_is_chosen_and_typing_a_city_finds_its_zone(
    reader,
    live_server,
    browser,
    screenshot,
):
    context = browser.new_context(
        timezone_id="America/New_York", viewport={"width": 375, "height": 800}
    )
    tab = context.new_page()
    tab.goto(tokens.preferences_url(reader.pk))
    zone = tab.locator("select[name=time_zone]")
    assert zone.input_value() == "America/New_York"

    search = tab.get_by_label("Find your time zone by city or region")
    search.fill("London")
    search.press("Enter")
    tab.get_by_text("Time zone chosen: London, Europe.").wait_for()
    screenshot(tab, "zone found by typing")
    assert zone.input_value() == "Europe/London"
    assert "saved" not in tab.locator("body").inner_text()  # Enter chose; it sent nothing

    tab.get_by_role("button", name="Save").press("Enter")
    tab.get_by_text("Your preferences were saved.").wait_for()
    context.close()
    reader.refresh_from_db()
    assert reader.time_zone == "Europe/London"
    assert reader.status == Subscriber.Status.ACTIVE


def test_without_javascript_the_grouped_list_keeps_each_region(reader, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.goto(tokens.preferences_url(reader.pk))

    assert tab.locator("input[type=search]").count() == 0
    zone = tab.locator("select[name=time_zone]")
    groups = zone.locator("optgroup").evaluate_all("(gs) => gs.map((g) => g.label)")
    assert {"Europe", "America", "Asia"} <= set(groups)
    europe = zone.locator("optgroup[label=Europe] option[value='Europe/Paris']")
    assert europe.inner_text() == "Paris, Europe"
    zone.select_option("Europe/Paris")
    tab.get_by_role("button", name="Save").click()
    tab.get_by_text("Your preferences were saved.").wait_for()
    context.close()
    reader.refresh_from_db()
    assert reader.time_zone == "Europe/Paris"

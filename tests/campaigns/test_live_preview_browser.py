"""Composing a new campaign in headless Chromium (issue 26): the live preview follows the post
picker (Django's autocomplete, select2) with no other change, and the audience count shows before
the first save. Screenshots of the admin index and the compose page in test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from newsletter.models import Campaign
from tests.browser import signed_in_tab
from tests.factories import PostFactory, SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def test_the_preview_shows_a_post_just_picked_and_the_audience_before_saving(
    topics, live_server, browser, screenshot, django_user_model
):
    PostFactory(topic=topics["news"], title="Clinic opens in Leeds")
    for _ in range(2):
        SubscriberFactory(active=True, topics=[topics["news"]])
    SubscriberFactory(active=True, topics=[topics["events"]])  # not in the campaign's topics
    user = django_user_model.objects.create_superuser("admin", "admin@engage.example.org", "pw")
    tab = signed_in_tab(browser, live_server, user)

    tab.goto(f"{live_server.url}/admin/")
    tab.get_by_role("heading", name="Site administration").wait_for()
    screenshot(tab, "admin index")

    tab.goto(f"{live_server.url}/admin/newsletter/campaign/add/")
    panel = tab.locator("[data-live-preview]")
    email = tab.frame_locator("[data-live-preview] iframe")
    tab.locator("#id_subject").fill("Spring news")
    tab.get_by_role("checkbox", name="News").check()
    expect(panel.locator("[data-status]")).to_have_text(re.compile("Tick a topic and add a post"))
    # The count while composing, not yet saved: no post yet, so nothing for the readers of News.
    nothing = "This goes to 0 people (2 of the 2 in these topics get nothing from its posts)."
    expect(panel.locator("[data-audience]")).to_have_text(nothing)
    rendered = int(panel.get_attribute("data-rendered") or 0)

    # Pick the post in the autocomplete and change nothing else.
    tab.locator("#items-0 .select2-selection").click()
    tab.locator(".select2-search__field").fill("Clinic")
    tab.get_by_role("option", name="Clinic opens in Leeds").click()
    expect(email.get_by_text("Clinic opens in Leeds")).to_be_visible()
    expect(panel.locator("[data-status]")).to_have_text(re.compile("Subject: Spring news"))
    assert int(panel.get_attribute("data-rendered")) > rendered
    expect(panel.locator("[data-audience]")).to_have_text("This goes to 2 people.")
    expect(tab.locator(".field-audience_size .readonly")).to_have_text("This goes to 2 people.")
    screenshot(tab, "campaign compose with the picked post in the preview")

    assert not Campaign.objects.exists()  # all of it before the first save
    tab.context.close()

"""A reader in Chromium: unticks every topic and is asked whether they mean to leave, leaves
with a reason, and resubscribes from the same page; axe finds nothing serious on any step."""

import pytest

from newsletter.models import Subscriber
from newsletter.subscribers import tokens
from tests.browser import violations
from tests.factories import SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


def test_leaving_asks_first_keeps_the_reason_and_resubscribe_brings_them_back(
    topics,
    axe_page,
    live_server,
    settings,
    screenshot,
):
    settings.SITE_URL = live_server.url
    reader = SubscriberFactory(active=True, topics=[topics["news"]])
    page = axe_page
    page.goto(tokens.preferences_url(reader.pk))
    assert violations(page) == []

    page.get_by_label("News").uncheck()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="No topics means no emails. Do you mean to leave?").wait_for()
    screenshot(page, "asked whether they mean to leave")
    assert violations(page) == []
    page.get_by_role("link", name="Keep my topics").click()
    assert page.get_by_label("News").is_checked()

    page.get_by_label("Too many emails").check()
    page.get_by_label("Anything else (optional)").fill("Monthly would suit me.")
    page.get_by_role("button", name="Unsubscribe", exact=True).click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    screenshot(page, "unsubscribed with a reason")
    assert violations(page) == []
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert (reader.leaving_reason, reader.leaving_comment) == ("too-many", "Monthly would suit me.")

    page.get_by_role("button", name="Resubscribe").click()
    page.get_by_text("Welcome back: you are subscribed again.").wait_for()
    screenshot(page, "resubscribed")
    assert violations(page) == []
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert [topic.slug for topic in reader.topics.all()] == ["news"]

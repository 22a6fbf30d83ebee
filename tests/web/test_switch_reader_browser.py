"""A reader with a switch that only moves (Tab) and presses (Enter) joins, confirms, chooses plain
text and digests only, and the next digest arrives as plain text (issue 25's "Done when").

Each key press is counted; the address is typed (an on-screen keyboard types as a keyboard does),
and the confirmation link is opened from the email."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from newsletter import delivery
from newsletter.campaigns import digests
from newsletter.campaigns.states import transition
from newsletter.models import Campaign, Delivery, Subscriber
from tests.factories import PostFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

ADDRESS = "switch.reader@example.org"


class Switch:
    """Tab and Enter only, counted."""

    def __init__(self, tab):
        self.tab, self.presses = tab, 0

    def move_to(self, selector: str) -> None:
        for _ in range(60):
            self.tab.keyboard.press("Tab")
            self.presses += 1
            if self.tab.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    def press(self) -> None:
        self.tab.keyboard.press("Enter")
        self.presses += 1


def test_tab_and_enter_alone_join_confirm_choose_plain_text_and_digests_only(
    topics,
    live_server,
    settings,
    browser,
    screenshot,
):
    settings.SITE_URL = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    switch = Switch(tab)

    tab.goto(f"{live_server.url}/join/")
    switch.move_to("input[name=email]")
    tab.keyboard.type(ADDRESS)
    switch.move_to("input[name=consent]")
    switch.press()
    switch.move_to("button[type=submit]")
    switch.press()
    tab.get_by_role("heading", name="Check your inbox").wait_for()
    joined = switch.presses

    [confirmation] = mail.outbox
    tab.goto(re.search(r"http\S+/confirm/\S+/", confirmation.body).group(0))
    switch.move_to("button[type=submit]")
    switch.press()
    tab.get_by_role("heading", name="Thank you, you are subscribed").wait_for()
    switch.move_to("a[href*='/preferences/']")
    switch.press()
    tab.get_by_role("heading", name="Your preferences").wait_for()
    switch.move_to("input[value=plain_text_only]")
    switch.press()
    switch.move_to("input[name=digest]")
    switch.press()
    switch.move_to("button[value=save]")
    switch.press()
    tab.get_by_text("Your preferences were saved.").wait_for()
    assert tab.evaluate("document.activeElement.textContent") == "Your preferences were saved."
    screenshot(tab, "saved with Tab and Enter")
    context.close()

    reader = Subscriber.objects.get(email=ADDRESS)
    assert (reader.status, reader.plain_text_only, reader.digest_only) == ("active", True, True)

    # The next digest, and a one-off campaign the reader no longer gets.
    mail.outbox.clear()
    PostFactory(topic=topics["news"], published_at=timezone.now() - timedelta(minutes=5))
    digest = digests.compose_digest(
        topics=list(topics.values()),
        since=timezone.now() - timedelta(days=1),
        until=timezone.now(),
        subject="Your digest",
        intro="",
    )
    for status in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING):
        transition(digest, status)
    delivery.prepare(digest.pk)
    delivery.send_batch(list(Delivery.objects.filter(campaign=digest).values_list("pk", flat=True)))

    [received] = [m for m in mail.outbox if ADDRESS in m.to[0]]
    assert received.subject == "Your digest"
    assert received.alternatives == []
    assert received.message().get_content_type() == "text/plain"
    print(f"joined in {joined} presses; confirmed and chose in {switch.presses - joined} more")

"""Issue 26's "Done when": a sender presses "Yes, send" and the campaign page says it is starting,
then shows the mail going out, without a reload and without waiting for beat: the start is queued
with the send, and a real Celery worker takes it. Screenshots in test-artifacts/<test name>/."""

import pytest
from django.contrib.auth.models import User

from newsletter import tasks
from newsletter.models import Campaign
from tests.campaign_runs import audience, per_recipient
from tests.factories import CampaignFactory, PostFactory, role_group
from tests.support import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

READERS = 16


def test_yes_send_shows_starting_then_progress_without_a_reload_or_beat(
    live_server, settings, start_worker, page, screenshot, sink, topics
):
    settings.SITE_URL = live_server.url
    readers = audience(topics, READERS)
    campaign = CampaignFactory(
        subject="Winter news", posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]]
    )
    sender = User.objects.create_user(
        "sender", "sender@example.org", "a long passphrase", is_staff=True
    )
    sender.groups.add(role_group("sender"))
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("sender")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()

    page.goto(f"{live_server.url}/admin/newsletter/campaign/{campaign.pk}/schedule/")
    page.get_by_role("button", name="Schedule…").click()  # the time the form offers: now
    page.get_by_text(f"Send to {READERS} people now").wait_for()
    page.get_by_role("button", name="Yes, send").click()

    # No worker runs yet: the page says the campaign is starting, in a polite live region.
    page.get_by_text("“Winter news” is starting: it goes out now.").wait_for()
    block = page.locator(".engage-progress-live")
    assert "Starting…" in block.inner_text()
    assert block.get_attribute("aria-live") == "polite"
    assert block.get_attribute("data-live") == "true"
    page.evaluate(
        "window.engageNotReloaded = true;"
        "document.querySelector('.engage-progress-live').dataset.sameRegion = 'yes'"
    )
    screenshot(page, "starting")

    # A slow worker (two messages a second), so the page shows the way there. Beat never
    # ticks until every message went: the start was queued with the send.
    start_worker(extra_env={"SITE_URL": live_server.url, "SEND_RATE_PER_SECOND": "2"})
    seen = set()

    def all_sent() -> bool:
        text = page.locator(".engage-progress-live").inner_text()
        sent = text.split(" sent")[0].split()[-1] if " sent" in text else "starting"
        if sent not in seen:
            seen.add(sent)
            screenshot(page, "still starting" if sent == "starting" else f"{sent} sent")
        return f"{READERS} sent · 0 queued" in text

    wait_until(all_sent, 90, interval=0.3, message="the page to show every message sent")
    # The Status field beside the counts follows them, without a reload.
    assert page.locator(".field-status .readonly").inner_text() == "Sending"
    assert seen - {"starting", "0", str(READERS)}, "no figure between the start and the end"
    assert page.evaluate("window.engageNotReloaded") is True  # the same page all along
    # The same live region all along (its contents change), so screen readers hear the news.
    assert page.locator(".engage-progress-live").get_attribute("data-same-region") == "yes"

    tasks.tick()  # now beat: it marks the campaign sent, and the page stops asking
    page.get_by_text("(sent: see the report)").wait_for()
    assert page.locator(".field-status .readonly").inner_text() == "Sent"
    screenshot(page, "sent")
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == (Campaign.Status.SENT, READERS)
    assert per_recipient(sink.received) == {reader.email: 1 for reader in readers}

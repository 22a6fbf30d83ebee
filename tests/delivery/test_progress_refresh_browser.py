"""A campaign's progress refreshes itself: staff open the campaign page while it sends, and watch
it reach "N sent" with a real Celery worker delivering to the SMTP sink, never reloading the page.
Once the campaign is sent, the page stops asking. Screenshots in test-artifacts/<test name>/."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from newsletter import delivery, tasks
from newsletter.campaigns import scheduling
from newsletter.models import Campaign
from tests.campaign_runs import audience, per_recipient
from tests.factories import CampaignFactory, PostFactory
from tests.support import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]

READERS = 12


def test_the_campaign_page_shows_sending_progress_to_the_end_without_a_reload(
    live_server,
    settings,
    start_worker,
    page,
    screenshot,
    sink,
    topics,
):
    settings.SITE_URL = live_server.url
    readers = audience(topics, READERS)
    campaign = CampaignFactory(posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]])
    scheduling.campaign_schedule(campaign=campaign)  # due now
    assert delivery.start_due_campaigns() == 1  # sending; its preparation waits for a worker

    # Watching needs only the permission to see campaigns (not to send them).
    viewer = get_user_model().objects.create_user(
        "viewer", "viewer@example.org", "a long passphrase", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()

    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/delivery/progress/" in r.url else None)
    page.goto(f"{live_server.url}/admin/newsletter/campaign/{campaign.pk}/change/")
    block = page.locator(".engage-progress-live")
    assert block.get_attribute("data-live") == "true"
    page.evaluate("window.engageNotReloaded = true")
    screenshot(page, "sending, before the worker starts")

    # A slow worker (a few messages a second), so the page has time to show the way there.
    start_worker(extra_env={"SITE_URL": live_server.url, "SEND_RATE_PER_SECOND": "4"})
    seen = set()

    def finished() -> bool:
        tasks.tick()  # this process plays beat: it marks the campaign sent once all went out
        text = page.locator(".engage-progress-live").inner_text()
        sent = text.split(" sent")[0].split()[-1] if " sent" in text else "?"
        if sent not in seen:
            seen.add(sent)
            page.locator(".engage-progress-live").scroll_into_view_if_needed()
            screenshot(page, f"{sent} sent", full_page=False)
        return f"{READERS} sent · 0 queued" in text and "(sent: see the report)" in text

    wait_until(finished, 120, interval=0.5, message="the page to show every message sent")
    screenshot(page, "all sent")

    assert page.evaluate("window.engageNotReloaded") is True  # the same page all along
    assert len(polls) >= 2
    assert page.locator(".engage-progress-live").get_attribute("data-live") == "false"
    report = page.get_by_role("link", name="see the report")
    assert report.get_attribute("href") == f"/admin/newsletter/campaignreport/{campaign.pk}/change/"
    asked = len(polls)
    page.wait_for_timeout(7_000)  # two refresh periods and more
    assert len(polls) == asked  # it stopped asking once the campaign was sent

    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == (Campaign.Status.SENT, READERS)
    assert per_recipient(sink.received) == {reader.email: 1 for reader in readers}

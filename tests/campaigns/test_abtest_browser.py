"""A sender sets up an A/B subject test in headless Chromium, schedules it, watches the test share
go out through a real worker, sends the winner to the rest, and reads the report. Every step leaves
a screenshot in test-artifacts/<test name>/."""

import collections

import pytest
from django.contrib.auth import get_user_model

from newsletter import tasks
from newsletter.models import Campaign
from tests.campaign_runs import audience, per_recipient, tick_until_sent
from tests.factories import CampaignFactory, PostFactory
from tests.support import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


def test_a_sender_tests_two_subjects_and_sends_the_winner_to_the_rest(
    site,
    page,
    screenshot,
    sink,
    topics,
):
    get_user_model().objects.create_superuser("sender", "sender@example.org", "a long passphrase")
    readers = audience(topics, 20)
    campaign = CampaignFactory(
        subject="Autumn news", posts=[PostFactory(topic=topics["news"])], topics=[topics["news"]]
    )
    page.goto(f"{site}/admin/login/")
    page.get_by_label("Username").fill("sender")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()

    page.goto(f"{site}/admin/newsletter/campaign/{campaign.pk}/change/")
    page.get_by_text("A/B subject test", exact=True).click()  # the collapsed fieldset
    page.get_by_text("mail privacy proxies fetch every tracking pixel").wait_for()
    page.locator("#id_test_share").fill("50")
    for n, (letter, subject) in enumerate([("A", "Autumn news"), ("B", "Walk with us in May")]):
        page.get_by_text("Add another A/B test subject").click()
        page.locator(f"#id_variants-{n}-letter").select_option(letter)
        page.locator(f"#id_variants-{n}-subject").fill(subject)
    screenshot(page, "two subjects")
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_text("was changed successfully").wait_for()

    page.get_by_role("link", name="Schedule…").click()
    page.get_by_role("button", name="Schedule…").click()
    sentence = (
        "A/B test: 50% (10 people) get A/B, winner after 4 hours chosen by a sender, "
        "then the rest (10)."
    )
    page.get_by_text(sentence).wait_for()
    screenshot(page, "confirm the test")
    page.get_by_role("button", name="Yes, send").click()
    page.get_by_text("is starting: it goes out now.").wait_for()

    def tested() -> bool:
        tasks.tick()  # this process plays beat
        return len(sink.received) == 10

    wait_until(tested, 60, interval=0.5, message="the test share to be sent")
    # The progress block follows without a reload: the test's half went, the rest waits.
    page.get_by_text("Test: 10 of 10 sent; rest: 0 of 10").wait_for()
    assert "50.0%" in page.locator(".engage-progress-live").inner_text()
    page.get_by_text("A/B test under way").wait_for()
    screenshot(page, "A/B progress, the test sent")
    page.reload()  # the buttons to send a winner come with the page
    page.get_by_role("link", name="Send B to the rest…").click()
    page.get_by_text("Send B to the rest of the audience: 10 more people?").wait_for()
    figures = page.get_by_role("table", name="Each subject in the test so far")
    assert figures.locator("tbody tr").count() == 2
    screenshot(page, "confirm the winner")
    page.get_by_role("button", name="Yes, send B to the rest").click()
    page.get_by_text("B won: the rest of the audience gets it.").wait_for()
    tick_until_sent(campaign)

    page.get_by_text("Test: 10 of 10 sent; rest: 10 of 10").wait_for()  # live, no reload
    screenshot(page, "A/B progress, all sent")

    assert per_recipient(sink.received) == collections.Counter({r.email: 1 for r in readers})
    subjects = collections.Counter(r.message["Subject"] for r in sink.received)
    assert subjects == {"Autumn news": 5, "Walk with us in May": 15}
    assert campaign.status == Campaign.Status.SENT and campaign.winner == "B"

    page.goto(f"{site}/admin/newsletter/campaignreport/{campaign.pk}/change/")
    page.get_by_text("Then 10 more readers got B.").wait_for()
    screenshot(page, "report")

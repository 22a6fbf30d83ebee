"""A visitor and a staff member, each in headless Chromium, against the live site, a real Celery
worker and the SMTP sink. Links in the emails point at the live server, and the browser follows
them. Every step leaves a screenshot in test-artifacts/<test name>/."""

import collections
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from newsletter import tasks
from newsletter.models import ApprovedTestAddress, Campaign, Post, Subscriber
from newsletter.subscribers import tokens
from tests.browser import write_markdown
from tests.factories import SubscriberFactory
from tests.support import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


def tab_to(page, selector: str, *, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def topic_slugs(subscriber: Subscriber) -> set[str]:
    return set(subscriber.topics.values_list("slug", flat=True))


def test_a_visitor_joins_by_keyboard_confirms_from_the_email_changes_preferences_and_leaves(
    site,
    page,
    screenshot,
    sink,
    topics,
):
    page.goto(f"{site}/join/")
    screenshot(page, "join page")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab_to(page, "input[name=email]")
    page.keyboard.type("Keyboard.User@Example.org")
    tab_to(page, "input[name=first_name]")
    page.keyboard.type("Kim")
    # Every topic starts ticked: keep news and education, untick the other two.
    for slug in ("events", "get-involved"):
        tab_to(page, f"input[name=topics][value={slug}]")
        page.keyboard.press("Space")
    tab_to(page, "input[name=consent]")
    page.keyboard.press("Space")
    screenshot(page, "join form filled in by keyboard")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Check your inbox").wait_for()
    screenshot(page, "check your inbox")

    (received,) = sink.wait_for(1)  # the worker has made the subscriber by then
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "keyboard.user@example.org"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.first_name == "Kim"
    assert topic_slugs(subscriber) == {"news", "education"}
    assert subscriber.consent_source == "/join/" and subscriber.consent_at is not None
    assert received.rcpt_tos == ["keyboard.user@example.org"]
    text = received.message.get_body(("plain",)).get_content()
    link = re.search(r"(https?://\S+/confirm/\S+/)", text).group(1)
    assert link.startswith(f"{site}/confirm/")

    page.goto(link)
    screenshot(page, "confirm page")
    page.get_by_role("button", name="Confirm my subscription").click()
    page.get_by_role("heading", name="Thank you, you are subscribed").wait_for()
    screenshot(page, "confirmed")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None

    page.get_by_role("link", name="Choose your topics or change your details").click()
    page.get_by_role("heading", name="Your preferences").wait_for()
    screenshot(page, "preferences as confirmed")
    page.get_by_label("First name").fill("Kimberley")
    page.get_by_label("Events").check()
    page.get_by_label("Education").uncheck()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your preferences were saved.").wait_for()
    screenshot(page, "preferences saved")
    subscriber.refresh_from_db()
    assert subscriber.first_name == "Kimberley"
    assert topic_slugs(subscriber) == {"news", "events"}
    assert subscriber.status == Subscriber.Status.ACTIVE

    # The link every campaign email carries in its footer and List-Unsubscribe header.
    page.goto(tokens.unsubscribe_url(subscriber.pk))
    screenshot(page, "unsubscribe page")
    # The one button first; the gentler choices come after it.
    assert page.get_by_role("button").first.inner_text() == "Unsubscribe"
    page.get_by_role("button", name="Unsubscribe", exact=True).click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    screenshot(page, "unsubscribed")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None
    assert subscriber.first_name == "Kimberley"  # leaving keeps the record, it does not erase
    assert len(sink.received) == 1  # the confirmation, and nothing else


def test_a_staff_member_writes_a_post_composes_a_digest_tests_it_and_watches_it_go_out(
    site,
    page,
    screenshot,
    sink,
    topics,
):
    get_user_model().objects.create_superuser("editor", "staff@example.org", "a long passphrase")
    readers = [
        SubscriberFactory(active=True, email=f"reader{i}@example.org", topics=[topics["news"]])
        for i in range(6)
    ]
    readers.append(
        SubscriberFactory(
            active=True, email="both@example.org", topics=[topics["news"], topics["events"]]
        )
    )
    SubscriberFactory(active=True, email="events-only@example.org", topics=[topics["events"]])
    SubscriberFactory(email="pending@example.org", topics=[topics["news"]])
    SubscriberFactory(unsubscribed=True, email="gone@example.org", topics=[topics["news"]])
    ApprovedTestAddress.objects.create(email="colleague@example.org")  # on the test list

    page.goto(f"{site}/admin/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("a long passphrase")
    screenshot(page, "admin login")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Site administration").wait_for()
    screenshot(page, "admin index")

    page.goto(f"{site}/admin/newsletter/post/add/")
    page.locator("#id_kind").select_option("news")
    page.locator("#id_title").press_sequentially("New clinic opens in Leeds")
    assert page.locator("#id_slug").input_value() == "new-clinic-opens-in-leeds"  # admin's JS
    page.locator("#id_topic").select_option(label="News")
    page.locator("#id_status").select_option("published")
    write_markdown(page, "summary", "Appointments start in December, with shorter waits.")
    write_markdown(page, "body", "The **new clinic** sees people with motor neurone disease.")
    page.locator("#id_url").fill("https://engage.example.org/news/new-clinic/")
    screenshot(page, "post written")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()
    screenshot(page, "post saved")
    post = Post.objects.get()
    assert post.status == Post.Status.PUBLISHED and post.published_at <= timezone.now()

    page.goto(f"{site}/admin/newsletter/campaign/")
    page.get_by_role("link", name="Compose a digest").click()
    page.get_by_label("News", exact=True).check()
    page.locator("#id_intro").fill("Here is what happened this week.")
    screenshot(page, "compose a digest")
    page.get_by_role("button", name="Compose").click()
    page.get_by_text("Digest composed with 1 posts").wait_for()
    screenshot(page, "digest composed")
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.DRAFT
    assert list(campaign.items.values_list("post__title", flat=True)) == [post.title]

    page.get_by_role("link", name="Preview").click()
    frame = page.frame_locator("iframe[title='HTML part of the email']")
    frame.get_by_text("New clinic opens in Leeds", exact=True).wait_for()
    # Only the viewport: a full-page capture resizes it, and the frame's height is in vh.
    screenshot(page, "preview", full_page=False)

    page.get_by_role("link", name="Send a test…").click()
    page.locator("#id_addresses").fill("colleague@example.org")
    screenshot(page, "send a test")
    page.get_by_role("button", name="Send test").click()
    page.get_by_text("Test sent to staff@example.org, colleague@example.org").wait_for()
    screenshot(page, "test sent")
    tests = sink.wait_for(2)
    assert sorted(address for r in tests for address in r.rcpt_tos) == [
        "colleague@example.org",
        "staff@example.org",
    ]
    for received in tests:
        assert received.message["Subject"] == f"[Test] {campaign.subject}"
        assert "New clinic opens in Leeds" in received.message.get_body(("html",)).get_content()
    assert not campaign.deliveries.exists()  # a test is not a delivery

    page.get_by_role("link", name="Schedule…").click()
    page.get_by_text("This goes to 7 people.").wait_for()
    screenshot(page, "schedule")
    page.get_by_role("button", name="Schedule…").click()
    page.get_by_text("Send to 7 people now").wait_for()
    screenshot(page, "confirm schedule")
    sink.reset()  # the tests above; the campaign goes as soon as it is confirmed
    page.get_by_role("button", name="Yes, send").click()
    page.get_by_text("is starting: it goes out now.").wait_for()  # no wait for beat's tick
    screenshot(page, "starting")

    seen = set()

    def finished() -> bool:
        tasks.tick()  # this process plays beat
        page.reload()
        status = page.locator(".field-status .readonly").inner_text().strip()
        if status not in seen:
            seen.add(status)
            screenshot(page, f"campaign {status}")
        return status == "Sent" and page.get_by_text("7 sent · 0 queued").count() == 1

    wait_until(finished, 90, interval=0.5, message="the campaign page to show it sent")
    screenshot(page, "campaign finished")

    received = collections.Counter(address for r in sink.received for address in r.rcpt_tos)
    assert received == collections.Counter({reader.email: 1 for reader in readers})
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == (Campaign.Status.SENT, 7)

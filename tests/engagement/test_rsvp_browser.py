"""RSVPs in headless Chromium: a reader answers from a digest opened in the browser, staff see
the count and export the list, and every RSVP page passes axe like the other public pages."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from newsletter.campaigns.scheduling import campaign_schedule
from newsletter.campaigns.snapshot import render_body
from newsletter.engagement import interest, rsvp
from newsletter.models import Post, PostEngagement, Rsvp
from tests.browser import violations
from tests.campaign_runs import tick_until_sent
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, event_taking_rsvps

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


@pytest.mark.worker
def test_a_reader_rsvps_from_a_digest_in_the_browser_and_staff_export_the_list(
    site,
    page,
    screenshot,
    sink,
    topics,
):
    event = event_taking_rsvps(topics["events"], capacity=20, title="Charity walk by the river")
    SubscriberFactory(
        active=True, email="ada@example.org", first_name="Ada", topics=[topics["events"]]
    )
    campaign = CampaignFactory(subject="This week", posts=[event], topics=[topics["events"]])
    campaign_schedule(campaign=campaign)

    tick_until_sent(campaign)
    [digest] = sink.received
    html = digest.message.get_body(("html",)).get_content()
    sink.reset()

    # The reader opens the digest (as a webmail would show it) and presses "I'll be there".
    page.set_content(html)
    screenshot(page, "the digest")
    page.get_by_role("link", name="I'll be there").click()
    page.get_by_role("button", name="I'll be there").wait_for()
    screenshot(page, "the rsvp page")
    assert not Rsvp.objects.exists()  # opening the link records nothing
    page.get_by_role("button", name="I'll be there").click()
    page.get_by_role("heading", name="See you there").wait_for()
    screenshot(page, "answered")
    assert list(Rsvp.objects.values_list("subscriber__email", "answer")) == [
        ("ada@example.org", "yes")
    ]
    [confirmation] = sink.wait_for(1)
    assert confirmation.message["Subject"] == "You're going to Charity walk by the river"

    # Staff see the count and download the list.
    get_user_model().objects.create_superuser("staff", "staff@example.org", "a long passphrase")
    page.goto(f"{site}/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site}/admin/newsletter/eventattendance/")
    page.get_by_role("link", name="Charity walk by the river").click()
    counts = page.locator("#rsvp-counts")
    counts.wait_for()
    assert re.search(r"Yes\s+1\s+No\s+0\s+Waitlist\s+0\s+Places left\s+19", counts.inner_text())
    screenshot(page, "staff see the count")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download attendees (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row[:3] for row in rows] == [
        ["email", "name", "answer"],
        ["ada@example.org", "Ada", "yes"],
    ]


@pytest.fixture
def pages(topics, settings, live_server):
    settings.SITE_URL = live_server.url
    event = event_taking_rsvps(topics["events"], capacity=1, title="Quiz night", slug="quiz")
    closed = event_taking_rsvps(topics["events"], title="Old fair", slug="old-fair")
    PostEngagement.objects.filter(post=closed).update(rsvp_deadline="2020-01-01T00:00Z")
    call = PostFactory(kind=Post.Kind.GET_INVOLVED, topic=topics["get-involved"], title="Bake")
    PostEngagement.objects.create(post=call, count_me_in=True)
    reader = SubscriberFactory(active=True, first_name="Ada")
    someone = SubscriberFactory(active=True)
    rsvp.rsvp_answer(reader=rsvp.Reader(subscriber_id=someone.pk), post_id=event.pk, answer="yes")
    return {
        "rsvp page": rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), event.pk, "yes"),
        "closed rsvp page": rsvp.rsvp_url(rsvp.Reader(subscriber_id=reader.pk), closed.pk),
        "event page": f"{live_server.url}/events/quiz/rsvp/",
        "count me in": interest.interest_url(reader.pk, call.pk),
    }


@pytest.mark.parametrize("name", ["rsvp page", "closed rsvp page", "event page", "count me in"])
def test_the_rsvp_page_has_no_serious_accessibility_violations(name, pages, axe_page):
    response = axe_page.goto(pages[name])
    assert response.status < 500

    assert violations(axe_page) == []


@pytest.mark.parametrize(
    ("name", "button", "heading"),
    [
        ("rsvp page", "I'll be there", "You're on the waitlist"),
        ("count me in", "Count me in", "Thank you"),
    ],
)
def test_the_page_after_the_button_has_no_serious_accessibility_violations(
    name,
    button,
    heading,
    pages,
    axe_page,
    settings,
):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    axe_page.goto(pages[name])
    axe_page.get_by_role("button", name=button).click()
    axe_page.get_by_role("heading", name=heading).wait_for()

    assert violations(axe_page) == []


def test_the_event_form_with_its_errors_has_no_serious_accessibility_violations(
    pages,
    axe_page,
):
    axe_page.goto(pages["event page"])
    axe_page.get_by_role("button", name="Email me my link").click()
    axe_page.get_by_text("Please correct the highlighted fields.").wait_for()

    assert violations(axe_page) == []


def test_an_email_with_the_buttons_has_no_serious_accessibility_violations(
    topics,
    axe_page,
):
    from newsletter.mail import rendering

    event = event_taking_rsvps(topics["events"], title="Quiz night")
    call = PostFactory(kind=Post.Kind.GET_INVOLVED, topic=topics["get-involved"], title="Bake")
    PostEngagement.objects.create(post=call, count_me_in=True)
    reader = SubscriberFactory(active=True)
    campaign = CampaignFactory(
        posts=[event, call], topics=[topics["events"], topics["get-involved"]]
    )
    body = render_body(campaign, frozenset({"events", "get-involved"}))
    html = rendering.personalise(body, reader).html
    assert "I'll be there" in html and "Count me in" in html

    axe_page.set_content(html)

    assert violations(axe_page) == []

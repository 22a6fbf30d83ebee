"""axe-core (from the npm registry; `make test` installs it under .cache/axe) scans every public
page in Chromium, and the campaign email as a mail client would show it: no serious or critical
violations. Every violation found is printed, whatever its impact."""

import datetime

import pytest
from django.utils import timezone

from newsletter.campaigns.snapshot import render_body
from newsletter.campaigns.states import transition
from newsletter.mail import rendering
from newsletter.models import Campaign, Post, Reference
from newsletter.subscribers import tokens
from tests.browser import violations
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]


@pytest.fixture
def content(topics, settings, live_server):
    """A sent issue with a news post, an event and an article with references, and a subscriber."""
    settings.SITE_URL = live_server.url
    news = PostFactory(topic=topics["news"], title="New clinic opens in Leeds")
    event = PostFactory(
        topic=topics["events"],
        kind=Post.Kind.EVENT,
        title="Charity walk by the river",
        starts_at=timezone.now() + datetime.timedelta(days=10),
        ends_at=timezone.now() + datetime.timedelta(days=10, hours=3),
        location="Roundhay Park, Leeds",
        registration_url="https://engage.example.org/walk/register/",
    )
    article = PostFactory(
        topic=topics["education"],
        kind=Post.Kind.EDUCATION,
        title="ALS or benign fasciculation syndrome?",
        image_url="https://engage.example.org/media/muscle.png",
        image_alt="A diagram of a motor neurone and muscle fibres",
    )
    Reference.objects.create(
        post=article, position=1, title="Benign fasciculation syndrome", publisher="BMJ", year=2020
    )
    campaign = CampaignFactory(
        subject="November news",
        slug="november-news",
        topics=[topics["news"], topics["events"], topics["education"]],
        posts=[news, event, article],
    )
    for status in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.SENT):
        transition(campaign, status)
    subscriber = SubscriberFactory(
        active=True,
        first_name="Ada",
        topics=[topics["news"], topics["events"], topics["education"]],
    )
    pending = SubscriberFactory(first_name="Ben", topics=[topics["news"]])
    return {"campaign": campaign, "subscriber": subscriber, "pending": pending}


def _path(content, name: str) -> str:
    subscriber, pending = content["subscriber"], content["pending"]
    return {
        "join": "/join/",
        "embed": "/join/embed/",
        "confirmation": tokens.confirm_url(pending.pk),
        "preferences": tokens.preferences_url(subscriber.pk),
        "unsubscribe": tokens.unsubscribe_url(subscriber.pk),
        "archive": "/archive/",
        "archive issue": f"/archive/{content['campaign'].slug}/",
        "bad link": "/confirm/not-a-token/",
    }[name]


@pytest.mark.parametrize(
    "name",
    [
        "join",
        "embed",
        "confirmation",
        "preferences",
        "unsubscribe",
        "archive",
        "archive issue",
        "bad link",
    ],
)
def test_the_public_page_has_no_serious_accessibility_violations(
    name, content, axe_page, live_server
):
    path = _path(content, name)
    response = axe_page.goto(path if path.startswith("http") else live_server.url + path)
    assert response.status < 500

    assert violations(axe_page) == []


def test_the_join_form_with_its_errors_shown_has_no_serious_accessibility_violations(
    content, axe_page, live_server
):
    axe_page.goto(f"{live_server.url}/join/")
    axe_page.get_by_role("button", name="Join").click()
    axe_page.get_by_text("Please correct the highlighted fields.").wait_for()

    assert violations(axe_page) == []


def test_the_campaign_email_has_no_serious_accessibility_violations(content, axe_page):
    subscriber = content["subscriber"]
    slugs = frozenset(subscriber.topics.values_list("slug", flat=True))
    body = render_body(content["campaign"], slugs)
    html = rendering.personalise(body, subscriber).html
    assert "Charity walk by the river" in html

    axe_page.set_content(html)

    assert violations(axe_page) == []


def test_the_scan_itself_catches_a_serious_violation(axe_page):
    axe_page.set_content(
        '<html lang="en"><title>t</title><main><img src="chart.png"><a href="/x"></a></main></html>'
    )

    assert {v["id"] for v in violations(axe_page)} >= {"image-alt", "link-name"}

import pytest
from django.urls import reverse

from newsletter.campaigns.states import transition
from newsletter.models import Campaign
from newsletter.subscribers import tokens
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
Status = Campaign.Status


def send(campaign):
    for status in (Status.SCHEDULED, Status.SENDING, Status.SENT):
        transition(campaign, status)
    return campaign


@pytest.fixture
def issue(topics):
    posts = [
        PostFactory(topic=topics["news"], title="Clinic opens"),
        PostFactory(topic=topics["events"], title="Charity walk"),
    ]
    return CampaignFactory(
        subject="November issue",
        slug="november",
        topics=[topics["news"], topics["events"]],
        posts=posts,
    )


def test_the_archive_lists_sent_campaigns_only(client, issue, topics):
    send(issue)
    CampaignFactory(subject="A draft in progress", topics=[topics["news"]])
    CampaignFactory(subject="Called off", status=Status.CANCELLED)
    response = client.get(reverse("archive"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "November issue" in html and reverse("archive-detail", args=["november"]) in html
    assert "A draft in progress" not in html and "Called off" not in html


def test_an_issue_shows_every_section_without_any_personal_data(client, issue, topics):
    subscriber = SubscriberFactory(
        active=True, first_name="Zebedee", email="zebedee@example.org", topics=[topics["news"]]
    )
    send(issue)
    response = client.get(reverse("archive-detail", args=["november"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Clinic opens" in html and "Charity walk" in html
    assert "Hello," in html
    for personal in (
        "Zebedee",
        "zebedee@example.org",
        "%%ENGAGE",
        "/unsubscribe/",
        "/preferences/",
        tokens.make_token("unsubscribe", subscriber.pk),
    ):
        assert personal not in html


def test_an_issue_is_viewable_in_the_browser_while_it_is_being_sent(client, issue):
    transition(issue, Status.SCHEDULED)
    assert client.get(reverse("archive-detail", args=["november"])).status_code == 404
    transition(issue, Status.SENDING)
    assert client.get(reverse("archive-detail", args=["november"])).status_code == 200


@pytest.mark.parametrize("status", [Status.DRAFT, Status.CANCELLED])
def test_an_unsent_campaign_is_not_public(client, topics, status):
    CampaignFactory(slug="secret", status=status, topics=[topics["news"]])
    assert client.get(reverse("archive-detail", args=["secret"])).status_code == 404


def test_an_unknown_issue_is_a_404(client):
    assert client.get("/archive/no-such-issue/").status_code == 404


def test_the_archive_refuses_to_be_changed_by_a_post(client, issue):
    send(issue)
    assert client.post(reverse("archive-detail", args=["november"])).status_code == 405


def test_the_archive_still_shows_what_was_sent_after_its_posts_are_edited(client, issue, topics):
    send(issue)
    clinic = issue.items.get(post__title="Clinic opens").post
    clinic.title, clinic.summary = "Clinic closes", "Rewritten after the send."
    clinic.save()
    topics["news"].name = "Headlines"
    topics["news"].save()
    html = client.get(reverse("archive-detail", args=["november"])).content.decode()
    assert "Clinic opens" in html and "News" in html
    assert "Clinic closes" not in html and "Rewritten after the send" not in html
    assert "Headlines" not in html

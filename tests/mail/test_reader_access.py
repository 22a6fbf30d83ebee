"""Reader preferences for access (issue 25): plain text only, larger text, no images — chosen at
signup (optional, collapsed) and in the preference centre, honoured by every email Engage sends,
in the reader's data download, and gone with them when they are erased."""

import json
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from newsletter import delivery
from newsletter.campaigns.snapshot import render_body
from newsletter.engagement import rsvp
from newsletter.mail import access, messages, rendering
from newsletter.models import Campaign, Delivery, Post, SignupRequest, Subscriber
from newsletter.subscribers import tokens
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, event_taking_rsvps

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(topics):
    post = PostFactory(
        topic=topics["news"],
        kind=Post.Kind.EDUCATION,
        image_url="https://engage.example.org/media/muscle.png",
        image_alt="A motor neurone and muscle fibres",
    )
    return CampaignFactory(
        posts=[post],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )


def sent_to(campaign, capture, *readers) -> dict[str, object]:
    """The campaign through the delivery pipeline (ledger, batch, the one message builder)."""
    with capture():
        delivery.prepare(campaign.pk)
    ids = list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))
    delivery.send_batch(ids)
    return {message.to[0].rsplit("<", 1)[-1].rstrip(">"): message for message in mail.outbox}


def html_of(message) -> str:
    return next((body for body, kind in message.alternatives if kind == "text/html"), "")


def test_each_preference_shapes_the_campaign_each_reader_gets(
    topics, campaign, django_capture_on_commit_callbacks
):
    news = [topics["news"]]
    plain = SubscriberFactory(active=True, topics=news, plain_text_only=True)
    larger = SubscriberFactory(active=True, topics=news, larger_text=True)
    no_images = SubscriberFactory(active=True, topics=news, no_images=True)
    usual = SubscriberFactory(active=True, topics=news)

    got = sent_to(campaign, django_capture_on_commit_callbacks)

    assert got[plain.email].alternatives == []
    raw = got[plain.email].message().as_bytes()
    assert message_from_bytes(raw, policy=policy.default).get_content_type() == "text/plain"
    assert "Unsubscribe: " in got[plain.email].body  # the footer's links stay, in words
    assert access.LARGER_TEXT in html_of(got[larger.email])
    assert "<img" not in html_of(got[no_images.email])
    assert "[A motor neurone and muscle fibres]" in html_of(got[no_images.email])
    assert "<img" in html_of(got[usual.email])
    assert access.LARGER_TEXT not in html_of(got[usual.email])


def test_the_smtp_fast_path_sends_plain_text_alone(topics, campaign):
    reader = SubscriberFactory(active=True, topics=[topics["news"]], plain_text_only=True)
    body = render_body(campaign, frozenset({"news"}))

    raw = messages.MessageBuilder(campaign).as_bytes(
        reader, rendering.personalise(body, reader), "<1@engage.example.org>"
    )

    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "text/plain"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body.subject and "Unsubscribe: http" in parsed.get_content()


def test_chosen_at_signup_they_shape_the_confirmation_and_stay_after_it(
    client, topics, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/join/",
            {
                "email": "reader@example.org",
                "topics": ["news"],
                "consent": "on",
                "access": ["plain_text_only", "larger_text"],
            },
        )
    assert response.status_code == 200

    [confirmation] = mail.outbox
    assert confirmation.alternatives == []  # plain text only, from the first email on
    signup = SignupRequest.objects.get()
    assert signup.access == ["plain_text_only", "larger_text"]
    client.post(tokens.confirm_url(signup.pk))
    reader = Subscriber.objects.get(email="reader@example.org")
    assert (reader.plain_text_only, reader.larger_text, reader.no_images) == (True, True, False)


def test_the_join_page_offers_them_collapsed_and_unticked(client, topics):
    html = client.get("/join/").content.decode()

    details = html[html.index("<details") : html.index("</details>")]
    assert "open" not in details.split(">", 1)[0]
    for name, label in access.CHOICES:
        assert f'value="{name}"' in details and label in details
    assert "checked" not in details


def test_the_preference_centre_sets_and_clears_them_and_the_download_has_them(topics):
    reader = SubscriberFactory(active=True, topics=[topics["news"]])
    url = tokens.preferences_url(reader.pk)
    client = Client()
    form = {"first_name": reader.first_name, "topics": ["news"], "emails": "all"}

    saved = client.post(url, {**form, "action": "save", "access": ["no_images"]})
    assert "Your preferences were saved." in saved.content.decode()
    reader.refresh_from_db()
    assert reader.no_images and not reader.plain_text_only
    download = json.loads(client.post(url, {"action": "export"}).content)
    assert download["access"] == {
        "plain_text_only": False,
        "larger_text": False,
        "no_images": True,
    }

    client.post(url, {**form, "action": "save"})
    reader.refresh_from_db()
    assert access.choices_of(reader) == []


def test_rsvp_emails_honour_them_too(topics, django_capture_on_commit_callbacks):
    reader = SubscriberFactory(active=True, topics=[topics["events"]], plain_text_only=True)
    event = event_taking_rsvps(topics["events"])

    with django_capture_on_commit_callbacks(execute=True):
        rsvp.rsvp_answer(
            reader=rsvp.Reader(subscriber_id=reader.pk), post_id=event.pk, answer="yes"
        )

    [answer] = mail.outbox
    assert [kind for _, kind in answer.alternatives] == []


def test_erasure_leaves_nothing_of_them(topics):
    reader = SubscriberFactory(active=True, topics=[topics["news"]], larger_text=True)
    client = Client()
    client.post(tokens.preferences_url(reader.pk), {"action": "erase-confirmed"})

    assert not Subscriber.objects.filter(pk=reader.pk).exists()
    assert not SignupRequest.objects.filter(email=reader.email).exists()

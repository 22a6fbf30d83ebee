"""The preference centre's alternatives to leaving: digests only, a pause, the reason for
leaving, resubscribing, and the question when every topic is unticked."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter import delivery
from newsletter.models import Campaign, Delivery, Subscriber, Suppression
from newsletter.subscribers import policy
from newsletter.subscribers.tokens import make_token
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, subscriber_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(topics):
    return SubscriberFactory(email="reader@example.org", active=True, topics=[topics["news"]])


@pytest.fixture
def page(reader):
    return f"/preferences/{make_token('preferences', reader.pk)}/"


def campaign_for(topics, *, is_digest: bool) -> Campaign:
    return CampaignFactory(
        posts=[PostFactory(topic=topics["news"])],
        topics=[topics["news"]],
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
        kind=Campaign.Kind.DIGEST if is_digest else Campaign.Kind.CAMPAIGN,
    )


def send(campaign, capture) -> set[str]:
    """Prepare the ledger and send its batch over SMTP; the addresses that got it."""
    with capture():
        delivery.prepare(campaign.pk)
    rows = list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))
    if rows:
        delivery.send_batch(rows)
    return set(
        Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).values_list(
            "subscriber__email", flat=True
        )
    )


def test_digest_only_and_paused_readers_are_left_out_of_a_one_off_and_digest_only_gets_digests(
    client, topics, sink, django_capture_on_commit_callbacks
):
    everything = SubscriberFactory(email="all@example.org", active=True, topics=[topics["news"]])
    digests = SubscriberFactory(email="digest@example.org", active=True, topics=[topics["news"]])
    paused = SubscriberFactory(email="paused@example.org", active=True, topics=[topics["news"]])
    back = SubscriberFactory(email="back@example.org", active=True, topics=[topics["news"]])
    back.paused_until = timezone.localdate()  # the pause ends today
    back.save()
    form = {"action": "save", "topics": ["news"], "emails": "digest"}
    saved = client.post(f"/preferences/{make_token('preferences', digests.pk)}/", form)
    assert "Your preferences were saved" in saved.content.decode()
    response = client.post(
        f"/preferences/{make_token('preferences', paused.pk)}/", {"action": "pause"}
    )
    assert "Your emails are paused until" in response.content.decode()

    one_off = send(campaign_for(topics, is_digest=False), django_capture_on_commit_callbacks)
    digest = send(campaign_for(topics, is_digest=True), django_capture_on_commit_callbacks)

    assert one_off == {everything.email, back.email}
    assert digest == {everything.email, digests.email, back.email}
    to = [address for message in sink.received for address in message.rcpt_tos]
    assert sorted(to) == sorted([everything.email, back.email] * 2 + [digests.email])
    paused.refresh_from_db()
    assert paused.paused_until == timezone.localdate() + timedelta(days=30)


def test_resume_ends_the_pause(client, reader, page):
    client.post(page, {"action": "pause"})

    response = client.post(page, {"action": "resume"})

    assert "Pause emails for a month" in response.content.decode()
    reader.refresh_from_db()
    assert reader.paused_until is None


def test_the_reason_for_leaving_is_stored_exported_and_erased(client, reader, page):
    response = client.post(
        page, {"action": "unsubscribe", "reason": "too-many", "comment": "Weekly is plenty."}
    )

    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert (reader.leaving_reason, reader.leaving_comment) == ("too-many", "Weekly is plenty.")
    data = json.loads(client.post(page, {"action": "export"}).content)
    assert data["leaving"] == {"reason": "too-many", "comment": "Weekly is plenty."}

    client.post(page, {"action": "erase-confirmed"})

    assert not Subscriber.objects.filter(leaving_comment__contains="Weekly").exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"reason": "spite"}, "reason"),
        ({"comment": "x" * 1001}, "comment"),
    ],
)
def test_a_bad_reason_gets_400_with_the_field_and_changes_nothing(
    client, reader, page, data, field
):
    before = subscriber_table()

    response = client.post(page, {"action": "unsubscribe", **data})

    assert response.status_code == 400
    assert field in response.context["leaving"].errors
    assert subscriber_table() == before


def test_a_bad_email_choice_gets_400_and_changes_nothing(client, reader, page):
    before = subscriber_table()

    response = client.post(page, {"action": "save", "topics": ["news"], "emails": "hourly"})

    assert response.status_code == 400
    assert "emails" in response.context["form"].errors
    assert subscriber_table() == before


def test_resubscribe_from_the_page_after_unsubscribing(client, reader, page):
    left = client.post(page, {"action": "unsubscribe"})
    assert "Resubscribe" in left.content.decode()
    policy.suppress(reader.pk, Suppression.Reason.UNSUBSCRIBED)  # as an ESP's unsubscribe lists it

    response = client.post(page, {"action": "resubscribe"})

    assert response.status_code == 200
    assert "you are subscribed again" in response.content.decode()
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert reader.unsubscribed_at is None
    assert reader.consent_source == "preference centre: resubscribed"
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("reason", [Suppression.Reason.BOUNCED, Suppression.Reason.COMPLAINED])
def test_resubscribe_never_passes_a_bounce_or_a_complaint(client, reader, page, reason):
    client.post(page, {"action": "unsubscribe"})
    policy.suppress(reader.pk, reason)
    before = subscriber_table()

    response = client.post(page, {"action": "resubscribe"})

    assert response.status_code == 409
    assert "bounced or was reported as spam" in response.content.decode()
    assert subscriber_table() == before
    assert Suppression.objects.get().reason == reason


def test_resubscribe_does_nothing_for_an_active_reader(client, reader, page):
    before = subscriber_table()

    assert client.post(page, {"action": "resubscribe"}).status_code == 409
    assert subscriber_table() == before


def test_unticking_every_topic_asks_whether_they_mean_to_leave(client, reader, page):
    before = subscriber_table()

    response = client.post(page, {"action": "save", "first_name": "Rita"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Do you mean to leave?" in html
    assert "Unsubscribe from everything" in html and "Keep my topics" in html
    assert "were saved" not in html
    assert subscriber_table() == before

    client.post(page, {"action": "unsubscribe"})
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED

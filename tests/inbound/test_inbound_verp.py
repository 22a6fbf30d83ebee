"""VERP on the way out: each campaign message's envelope sender and mailto: name its delivery, and
what comes back to them reaches the right reader."""

import re

import pytest
from django.utils import timezone

from newsletter import delivery
from newsletter.inbound.receive import receive
from newsletter.mail import verp
from newsletter.models import Campaign, Delivery, Subscriber
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory
from tests.inbound_mail import BOUNCE_ADDRESS, corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_over_smtp(topics, sink, django_capture_on_commit_callbacks):
    """Sends a campaign to two readers through the SMTP sink; their deliveries and messages."""

    def send():
        campaign = CampaignFactory(
            posts=[PostFactory(topic=topics["news"])],
            topics=[topics["news"]],
            status=Campaign.Status.SENDING,
            started_at=timezone.now(),
        )
        for email in ("ann@example.org", "bob@example.org"):
            SubscriberFactory(email=email, topics=[topics["news"]], active=True)
        with django_capture_on_commit_callbacks():
            delivery.prepare(campaign.pk)
        rows = list(Delivery.objects.filter(campaign=campaign).select_related("subscriber"))
        delivery.send_batch([row.pk for row in rows])
        by_reader = {m.rcpt_tos[0]: m for m in sink.wait_for(2)}
        return [(row, by_reader[row.subscriber.email]) for row in rows]

    return send


def _mailto(message) -> str:
    return re.search(r"<mailto:([^?>]+)", message.message["List-Unsubscribe"]).group(1)


def test_with_bounce_address_each_message_names_its_delivery_in_envelope_and_mailto(
    settings, sent_over_smtp
):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS

    for row, message in sent_over_smtp():
        sender_token = verp.token_in(BOUNCE_ADDRESS, [message.mail_from])
        mailto_token = verp.token_in(settings.UNSUBSCRIBE_MAILTO, [_mailto(message)])
        assert verp.read_token(verp.BOUNCE, sender_token) == row.pk
        assert verp.read_token(verp.UNSUBSCRIBE, mailto_token) == row.pk
        assert message.message["From"] == settings.DEFAULT_FROM_EMAIL


def test_without_bounce_address_the_envelope_sender_and_mailto_are_as_before(
    settings, sent_over_smtp
):
    settings.BOUNCE_ADDRESS = ""

    for _, message in sent_over_smtp():
        assert message.mail_from == "news@engage.example.org"
        assert _mailto(message) == settings.UNSUBSCRIBE_MAILTO


def test_a_dsn_to_the_envelope_sender_and_a_mail_to_the_mailto_reach_the_right_readers(
    settings, sent_over_smtp
):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS
    (first, first_message), (second, second_message) = sent_over_smtp()

    receive(corpus("hard_bounce--exim-plain.txt", first, to=first_message.mail_from), source="t")
    receive(corpus("unsubscribe--mailto.txt", second, to=_mailto(second_message)), source="t")

    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {
        first.subscriber.email: "bounced",
        second.subscriber.email: "unsubscribed",
    }

"""One soft-bounce streak, whichever door each soft bounce came through."""

import base64
import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from newsletter.inbound.receive import receive
from newsletter.models import InboundMessage, Subscriber
from tests import ledger
from tests.inbound_mail import BOUNCE_ADDRESS, corpus

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "engage-hook:s3cret-basic-auth"


@pytest.fixture(autouse=True)
def _doors(settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    settings.SOFT_BOUNCE_LIMIT = 3


def soft_bounce_by_mail(delivery, n: int) -> None:
    raw = corpus("soft_bounce--postfix-delayed.txt", delivery)
    receive(raw.replace(b"<20261201142000.7C8D9E0F11@", f"<{n}.dsn@".encode()), source="imap")


def soft_bounce_by_postmark(delivery) -> int:
    """Postmark's Bounce webhook for a soft bounce, posted as Postmark posts it: no CSRF token."""
    payload = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "SoftBounce",
        "TypeCode": 4096,
        "Name": "Soft bounce",
        "MessageID": delivery.message_id,
        "Metadata": {},
        "Description": "The server could not deliver your message for now.",
        "Details": "smtp;452 4.2.2 Mailbox full",
        "Email": delivery.subscriber.email,
        "From": "news@engage.example.org",
        "BouncedAt": timezone.now().isoformat(),
        "Inactive": False,
        "CanActivate": True,
        "Subject": "News from Engage",
    }
    response = Client(enforce_csrf_checks=True).post(
        reverse("anymail:postmark_tracking_webhook"),
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode(),
    )
    return response.status_code


def test_two_soft_bounces_by_mail_and_one_by_esp_webhook_reach_a_limit_of_3(
    topics, django_capture_on_commit_callbacks
):
    reader = ledger.subscriber("ann@example.org")
    sends = [
        ledger.delivery(ledger.campaign(topics["news"]), reader, message_id=str(uuid.uuid4()))
        for _ in range(3)
    ]

    soft_bounce_by_mail(sends[0], 0)
    soft_bounce_by_mail(sends[1], 1)
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == (Subscriber.Status.ACTIVE, 2)

    with django_capture_on_commit_callbacks(execute=True):
        assert soft_bounce_by_postmark(sends[2]) == 200

    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == (Subscriber.Status.BOUNCED, 3)
    assert reader.suppressed_at is not None


def test_an_esp_webhook_is_answered_without_a_csrf_token(topics):
    reader = ledger.subscriber("bea@example.org")
    sent = ledger.delivery(ledger.campaign(topics["news"]), reader, message_id=str(uuid.uuid4()))

    assert soft_bounce_by_postmark(sent) == 200


def test_a_report_copied_to_two_readers_joins_each_readers_own_streak(topics):
    """One message for two of our addresses is recorded once (by its Message-ID) and counts
    towards the streak of each reader it names, the second as much as the first."""
    first, second = ledger.subscriber("cy@example.org"), ledger.subscriber("di@example.org")
    campaigns = [ledger.campaign(topics["news"]) for _ in range(3)]
    earlier = [ledger.delivery(c, second, message_id=str(uuid.uuid4())) for c in campaigns[:2]]
    shared = [
        ledger.delivery(campaigns[2], reader, message_id=str(uuid.uuid4()))
        for reader in (first, second)
    ]
    soft_bounce_by_mail(earlier[0], 10)
    soft_bounce_by_mail(earlier[1], 11)

    # The same report (one Message-ID), as the MTA hands over a copy per address.
    soft_bounce_by_mail(shared[0], 12)
    soft_bounce_by_mail(shared[1], 12)
    soft_bounce_by_mail(shared[1], 12)  # and that copy again, redelivered

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.soft_bounces) == (Subscriber.Status.ACTIVE, 1)
    assert (second.status, second.soft_bounces) == (Subscriber.Status.BOUNCED, 3)
    assert InboundMessage.objects.filter(message_id__contains="12.dsn@").count() == 1

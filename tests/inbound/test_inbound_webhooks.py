"""ESP inbound routes, posted as Mailgun and Postmark post them, to anymail's inbound URLs."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest

from newsletter.models import InboundMessage, Subscriber
from tests import ledger
from tests.inbound_mail import BOUNCE_ADDRESS, corpus

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "engage-hook:s3cret-basic-auth"
MAILGUN_SIGNING_KEY = "key-mailgun-webhook-signing-0123456789"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.BOUNCE_ADDRESS = BOUNCE_ADDRESS
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


@pytest.fixture
def sent(topics):
    campaign = ledger.campaign(topics["news"])
    ledger.delivery(campaign, ledger.subscriber("bystander@example.org"))
    return ledger.delivery(campaign, ledger.subscriber("ann@example.org"))


def _auth(secret=WEBHOOK_SECRET):
    return "Basic " + base64.b64encode(secret.encode()).decode()


def post_mailgun(client, raw: bytes, *, key=MAILGUN_SIGNING_KEY, recipient=""):
    """Mailgun's route "forward" to a URL ending in `mime`: the raw message as body-mime, signed
    by HMAC-SHA256 of timestamp+token with the webhook signing key."""
    # A fresh signature and a new token for each call (Engage refuses old or used ones).
    timestamp, token = str(int(time.time())), uuid.uuid4().hex * 2
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        "/webhooks/anymail/mailgun/inbound_mime/",
        data={
            "body-mime": raw.decode(),
            "recipient": recipient,
            "timestamp": timestamp,
            "token": token,
            "signature": signature,
        },
        HTTP_AUTHORIZATION=_auth(),
    )


def post_postmark(client, raw: bytes, *, secret=WEBHOOK_SECRET):
    """Postmark's inbound JSON with the full message ("include raw email content")."""
    payload = {
        "FromFull": {"Email": "ann@example.org", "Name": "Ann"},
        "ToFull": [{"Email": "unsubscribe@engage.example.org", "Name": ""}],
        "Subject": "unsubscribe",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Mon, 30 Nov 2026 14:00:00 +0000",
        "Headers": [],
        "RawEmail": raw.decode(),
    }
    return client.post(
        "/webhooks/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=_auth(secret),
    )


def test_a_signed_mailgun_inbound_bounce_suppresses_the_subscriber_it_names(client, sent):
    response = post_mailgun(client, corpus("hard_bounce--postfix.txt", sent))

    assert response.status_code == 200
    row = InboundMessage.objects.get()
    assert (row.source, row.kind, row.delivery) == ("Mailgun", "hard_bounce", sent)
    assert dict(Subscriber.objects.values_list("email", "status")) == {
        "ann@example.org": "bounced",
        "bystander@example.org": "active",
    }


def test_a_mailgun_inbound_post_with_a_wrong_signature_is_refused_and_changes_nothing(client, sent):
    response = post_mailgun(client, corpus("hard_bounce--postfix.txt", sent), key="key-wrong")

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()
    assert Subscriber.objects.get(email="ann@example.org").status == "active"


def test_a_postmark_inbound_unsubscribe_request_unsubscribes(client, sent):
    response = post_postmark(client, corpus("unsubscribe--mailto.txt", sent))

    assert response.status_code == 200
    assert InboundMessage.objects.get().kind == "unsubscribe"
    assert Subscriber.objects.get(email="ann@example.org").status == "unsubscribed"


def test_a_postmark_inbound_post_without_the_secret_is_refused(client, sent):
    response = post_postmark(client, corpus("unsubscribe--mailto.txt", sent), secret="x:y")

    assert response.status_code == 400
    assert Subscriber.objects.get(email="ann@example.org").status == "active"


def test_a_post_over_data_upload_max_memory_size_is_refused_and_records_nothing(
    client, sent, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    raw = corpus("hard_bounce--postfix.txt", sent) + b"x" * (70 * 1024)

    assert post_mailgun(client, raw).status_code == 400
    assert not InboundMessage.objects.exists()

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    assert post_mailgun(client, raw).status_code == 200
    assert InboundMessage.objects.get().kind == "hard_bounce"


def test_a_replayed_inbound_webhook_is_recorded_once(client, sent):
    raw = corpus("complaint--yahoo.txt", sent)
    assert post_mailgun(client, raw).status_code == 200
    assert post_mailgun(client, raw).status_code == 200

    assert InboundMessage.objects.count() == 1

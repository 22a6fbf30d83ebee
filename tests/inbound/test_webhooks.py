"""ESP webhooks, posted as Postmark and Mailgun post them, to the real anymail URLs."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from anymail.exceptions import AnymailInsecureWebhookWarning
from anymail.signals import AnymailTrackingEvent, EventType
from django.urls import reverse

from newsletter.inbound.webhooks import webhook_event_store
from newsletter.models import Delivery, Subscriber, WebhookEvent
from tests import ledger
from tests.inbound.esp_calls import mailgun_event
from tests.support import wait_until

WEBHOOK_SECRET = "engage-hook:s3cret-basic-auth"
MAILGUN_SIGNING_KEY = "key-mailgun-webhook-signing-0123456789"
POSTMARK_URL = reverse("anymail:postmark_tracking_webhook")
MAILGUN_URL = reverse("anymail:mailgun_tracking_webhook")


@pytest.fixture(autouse=True)
def _anymail(settings):
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


@pytest.fixture
def sent(topics):
    """One delivered-to-the-ESP message: Postmark's id style (a bare UUID)."""
    reader = ledger.subscriber("ann@example.org")
    campaign = ledger.campaign(topics["news"], track_opens=True, track_clicks=True)
    return ledger.delivery(campaign, reader, message_id=str(uuid.uuid4()))


def _auth(secret=WEBHOOK_SECRET):
    return "Basic " + base64.b64encode(secret.encode()).decode()


def post_postmark(client, payload, *, secret=WEBHOOK_SECRET, body=None):
    return client.post(
        POSTMARK_URL,
        data=body if body is not None else json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=_auth(secret),
    )


# Shapes as Postmark documents and sends them (webhooks-overview: Bounce, Delivery, Open, Click,
# SpamComplaint, SubscriptionChange).
def postmark_bounce(message_id, email, *, kind="HardBounce", bounce_id=4323372036854775807):
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "campaign",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "news@engage.example.org",
        "BouncedAt": "2026-11-20T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "News from Engage",
        "Content": "",
    }


def postmark_delivery(message_id, email, *, at="2026-11-20T16:34:52Z"):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": email,
        "Tag": "campaign",
        "DeliveredAt": at,
        "Details": "smtp;250 2.0.0 OK  1606227292 q3si123456",
        "Metadata": {},
    }


def postmark_open(message_id, email):
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
        "Platform": "WebMail",
        "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) Chrome/35.0.1916.153",
        "ReadSeconds": 5,
        "Geo": {"CountryISOCode": "GB", "Country": "United Kingdom", "City": "London"},
        "MessageID": message_id,
        "Metadata": {},
        "ReceivedAt": "2026-11-20T17:01:02Z",
        "Tag": "campaign",
        "Recipient": email,
    }


def postmark_click(message_id, email, link="https://charity.example.org/posts/1/"):
    return {
        "RecordType": "Click",
        "MessageStream": "outbound",
        "ClickLocation": "HTML",
        "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) Chrome/35.0.1916.153",
        "OriginalLink": link,
        "Geo": {"CountryISOCode": "GB", "Country": "United Kingdom", "City": "London"},
        "MessageID": message_id,
        "Metadata": {},
        "ReceivedAt": "2026-11-20T17:02:11.0000000Z",
        "Tag": "campaign",
        "Recipient": email,
    }


def postmark_complaint(message_id, email):
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "campaign",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": email,
        "From": "news@engage.example.org",
        "BouncedAt": "2026-11-20T18:00:00.0000000Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "News from Engage",
        "Content": "",
    }


def postmark_unsubscribe(message_id, email):
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-11-20T18:30:34.416071Z",
        "Recipient": email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "campaign",
        "Metadata": {},
    }


def mailgun_payload(event_data, *, key=MAILGUN_SIGNING_KEY, token=None, timestamp=None):
    """Mailgun's JSON webhook: the event plus a signature block, HMAC-SHA256 of timestamp+token
    (fresh: Engage refuses a signature older than a day, or a token it has seen)."""
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    timestamp = timestamp or str(int(time.time()))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def post_mailgun(client, payload, *, secret=WEBHOOK_SECRET):
    return client.post(
        MAILGUN_URL,
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=_auth(secret),
    )


def _reload(delivery):
    delivery.refresh_from_db()
    delivery.subscriber.refresh_from_db()
    return delivery, delivery.subscriber


# --- Postmark -------------------------------------------------------------------------------


def test_a_postmark_hard_bounce_suppresses_the_subscriber_and_marks_the_delivery(
    client, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_postmark(client, postmark_bounce(sent.message_id, "ann@example.org"))

    assert response.status_code == 200
    delivery, reader = _reload(sent)
    assert delivery.status == Delivery.Status.BOUNCED
    assert reader.status == Subscriber.Status.BOUNCED
    assert reader.suppressed_at is not None
    event = WebhookEvent.objects.get()
    assert (event.esp, event.event_type, event.delivery) == ("Postmark", "bounced", delivery)


@pytest.mark.parametrize(
    ("postmark_type", "stored", "reader_after", "delivery_after"),
    [
        # anymail: REJECTED, invalid → the reader's address cannot work.
        ("BadEmailAddress", "rejected-invalid", Subscriber.Status.BOUNCED, Delivery.Status.BOUNCED),
        # anymail: REJECTED, blocked → Postmark refused our mail on a DMARC policy: ours to fix.
        ("DMARCPolicy", "rejected", Subscriber.Status.ACTIVE, Delivery.Status.FAILED),
        # anymail: REJECTED, no reason → not the reader's doing either.
        ("Unconfirmed", "rejected", Subscriber.Status.ACTIVE, Delivery.Status.FAILED),
    ],
)
def test_a_postmark_rejection_is_charged_to_the_reader_only_when_it_names_their_address(
    client,
    sent,
    django_capture_on_commit_callbacks,
    postmark_type,
    stored,
    reader_after,
    delivery_after,
):
    payload = postmark_bounce(sent.message_id, "ann@example.org", kind=postmark_type)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_postmark(client, payload)

    assert response.status_code == 200
    delivery, reader = _reload(sent)
    assert WebhookEvent.objects.get().event_type == stored
    assert reader.status == reader_after
    assert delivery.status == delivery_after
    if delivery_after == Delivery.Status.FAILED:
        assert "a sending problem" in delivery.last_error


def test_a_replayed_postmark_bounce_changes_nothing(
    client, sent, django_capture_on_commit_callbacks
):
    payload = postmark_bounce(sent.message_id, "ann@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, payload)
    first = Subscriber.objects.get(pk=sent.subscriber_id).suppressed_at
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_postmark(client, payload)

    assert response.status_code == 200
    assert callbacks == []  # nothing enqueued for a replay
    assert WebhookEvent.objects.count() == 1
    assert Subscriber.objects.get(pk=sent.subscriber_id).suppressed_at == first


def test_a_postmark_complaint_suppresses_and_records_the_complaint(
    client, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, postmark_complaint(sent.message_id, "ann@example.org"))

    delivery, reader = _reload(sent)
    assert reader.status == Subscriber.Status.COMPLAINED
    assert reader.suppressed_at is not None
    assert delivery.complained_at.isoformat() == "2026-11-20T18:00:00+00:00"


def test_postmark_delivered_opened_and_clicked_are_timestamped_once(
    client, sent, django_capture_on_commit_callbacks
):
    email = "ann@example.org"
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, postmark_delivery(sent.message_id, email))
        post_postmark(client, postmark_open(sent.message_id, email))
        post_postmark(client, postmark_click(sent.message_id, email))
        # A second open later (a new event, not a replay) keeps the first time.
        later_open = postmark_open(sent.message_id, email)
        later_open["ReceivedAt"] = "2026-11-21T09:00:00Z"
        post_postmark(client, later_open)

    delivery, reader = _reload(sent)
    assert delivery.delivered_at.isoformat() == "2026-11-20T16:34:52+00:00"
    assert delivery.opened_at.isoformat() == "2026-11-20T17:01:02+00:00"
    assert delivery.clicked_at.isoformat() == "2026-11-20T17:02:11+00:00"
    assert delivery.status == Delivery.Status.SENT
    assert reader.status == Subscriber.Status.ACTIVE
    assert WebhookEvent.objects.count() == 4


def test_esp_opens_are_not_recorded_for_a_subscriber_who_declined_tracking(
    client, sent, django_capture_on_commit_callbacks
):
    Subscriber.objects.filter(pk=sent.subscriber_id).update(allow_tracking=False)
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, postmark_open(sent.message_id, "ann@example.org"))
        post_postmark(client, postmark_click(sent.message_id, "ann@example.org"))

    sent.refresh_from_db()
    assert sent.opened_at is None
    assert sent.clicked_at is None


def test_a_postmark_unsubscribe_unsubscribes_the_reader(
    client, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, postmark_unsubscribe(sent.message_id, "ann@example.org"))

    _, reader = _reload(sent)
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert reader.unsubscribed_at is not None
    assert reader.suppressed_at is None


def test_soft_bounces_in_a_row_suppress_and_a_delivery_resets_the_count(
    client, topics, settings, django_capture_on_commit_callbacks
):
    settings.SOFT_BOUNCE_LIMIT = 3
    reader = ledger.subscriber("full@example.org")
    sends = [
        ledger.delivery(ledger.campaign(topics["news"]), reader, message_id=str(uuid.uuid4()))
        for _ in range(5)
    ]

    def soft(delivery, n):
        payload = postmark_bounce(delivery.message_id, reader.email, kind="SoftBounce")
        payload["ID"] = 1000 + n
        payload["BouncedAt"] = f"2026-11-2{n}T10:00:00Z"
        post_postmark(client, payload)

    with django_capture_on_commit_callbacks(execute=True):
        soft(sends[0], 0)
        soft(sends[1], 1)
        post_postmark(
            client, postmark_delivery(sends[2].message_id, reader.email, at="2026-11-22T10:00:00Z")
        )
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == (Subscriber.Status.ACTIVE, 0)

    with django_capture_on_commit_callbacks(execute=True):
        soft(sends[3], 3)
        soft(sends[4], 4)
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == (Subscriber.Status.ACTIVE, 2)
    assert Delivery.objects.get(pk=sends[4].pk).status == Delivery.Status.SENT

    fifth = ledger.delivery(ledger.campaign(topics["news"]), reader, message_id=str(uuid.uuid4()))
    with django_capture_on_commit_callbacks(execute=True):
        soft(fifth, 5)
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounces) == (Subscriber.Status.BOUNCED, 3)
    assert reader.suppressed_at is not None


def test_an_event_for_an_unknown_message_is_stored_and_ignored(
    client, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_postmark(client, postmark_bounce(str(uuid.uuid4()), "who@example.org"))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.delivery is None
    assert event.recipient == "who@example.org"
    delivery, reader = _reload(sent)
    assert delivery.status == Delivery.Status.SENT
    assert reader.status == Subscriber.Status.ACTIVE


def test_an_empty_message_id_matches_no_unsent_row(
    client, topics, django_capture_on_commit_callbacks
):
    # A row still queued has no Message-ID yet: "<>" must not be read as naming it.
    reader = ledger.subscriber("ann@example.org")
    campaign = ledger.campaign(topics["news"])
    queued = ledger.delivery(campaign, reader, status=Delivery.Status.QUEUED, message_id="")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_postmark(client, postmark_bounce("<>", "ann@example.org"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().delivery is None
    delivery, reader = _reload(queued)
    assert delivery.status == Delivery.Status.QUEUED
    assert reader.status == Subscriber.Status.ACTIVE


def test_the_delivery_id_in_metadata_finds_the_delivery(
    client, sent, django_capture_on_commit_callbacks
):
    payload = postmark_bounce("not-what-we-stored", "ann@example.org")
    payload["Metadata"] = {"delivery_id": str(sent.pk)}
    with django_capture_on_commit_callbacks(execute=True):
        post_postmark(client, payload)

    delivery, reader = _reload(sent)
    assert delivery.status == Delivery.Status.BOUNCED
    assert reader.status == Subscriber.Status.BOUNCED


def test_a_postmark_webhook_without_the_secret_is_refused_and_stores_nothing(client, sent, caplog):
    payload = postmark_bounce(sent.message_id, "ann@example.org")
    response = client.post(POSTMARK_URL, data=json.dumps(payload), content_type="application/json")
    wrong = post_postmark(client, payload, secret="engage-hook:guess")

    assert response.status_code == 400
    assert wrong.status_code == 400
    assert WebhookEvent.objects.count() == 0
    assert Subscriber.objects.get(pk=sent.subscriber_id).status == Subscriber.Status.ACTIVE
    assert "basic auth" in caplog.text


def test_a_malformed_postmark_payload_is_a_400_and_stores_nothing(client, sent, caplog):
    broken = post_postmark(client, None, body='{"RecordType": "Bounce", ')
    not_an_object = post_postmark(client, None, body="[1, 2, 3]")

    assert broken.status_code == 400
    assert not_an_object.status_code == 400
    assert WebhookEvent.objects.count() == 0
    assert "malformed Postmark webhook" in caplog.text


# --- Mailgun --------------------------------------------------------------------------------


@pytest.fixture
def mailgun_sent(topics):
    """Mailgun's API returns ids in angle brackets, and that is what the engine stores."""
    reader = ledger.subscriber("bob@example.org")
    campaign = ledger.campaign(topics["news"], track_opens=True, track_clicks=True)
    return ledger.delivery(
        campaign, reader, message_id="<20261120211713.1.DF5966851B4BAA99@mg.engage.example.org>"
    )


def test_a_mailgun_permanent_failure_suppresses_the_subscriber(
    client, mailgun_sent, django_capture_on_commit_callbacks
):
    event = mailgun_event(
        "failed",
        mailgun_sent.message_id,
        "bob@example.org",
        severity="permanent",
        reason="bounce",
        **{"delivery-status": {"code": 550, "message": "5.1.1 No such user", "description": ""}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_mailgun(client, mailgun_payload(event))

    assert response.status_code == 200
    delivery, reader = _reload(mailgun_sent)
    assert delivery.status == Delivery.Status.BOUNCED
    assert reader.status == Subscriber.Status.BOUNCED


def test_a_mailgun_temporary_failure_counts_as_a_soft_bounce(
    client, mailgun_sent, django_capture_on_commit_callbacks
):
    event = mailgun_event(
        "failed",
        mailgun_sent.message_id,
        "bob@example.org",
        severity="temporary",
        reason="generic",
        **{"delivery-status": {"code": 452, "message": "4.2.2 Mailbox full", "description": ""}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_mailgun(client, mailgun_payload(event))

    delivery, reader = _reload(mailgun_sent)
    assert (reader.status, reader.soft_bounces) == (Subscriber.Status.ACTIVE, 1)
    assert delivery.status == Delivery.Status.SENT
    assert WebhookEvent.objects.get().event_type == "deferred"


def test_mailgun_complaint_delivery_open_click_and_unsubscribe_are_recorded(
    client, mailgun_sent, django_capture_on_commit_callbacks
):
    email, mid = "bob@example.org", mailgun_sent.message_id
    with django_capture_on_commit_callbacks(execute=True):
        for kind, extra in [
            ("delivered", {"delivery-status": {"code": 250, "message": "OK", "description": ""}}),
            ("opened", {"client-info": {"user-agent": "Mozilla/5.0", "client-type": "browser"}}),
            ("clicked", {"url": "https://charity.example.org/posts/1/"}),
        ]:
            assert post_mailgun(client, mailgun_payload(mailgun_event(kind, mid, email, **extra)))
    delivery, reader = _reload(mailgun_sent)
    assert delivery.delivered_at and delivery.opened_at and delivery.clicked_at

    with django_capture_on_commit_callbacks(execute=True):
        post_mailgun(client, mailgun_payload(mailgun_event("unsubscribed", mid, email)))
    _, reader = _reload(mailgun_sent)
    assert reader.status == Subscriber.Status.UNSUBSCRIBED

    with django_capture_on_commit_callbacks(execute=True):
        post_mailgun(client, mailgun_payload(mailgun_event("complained", mid, email)))
    delivery, reader = _reload(mailgun_sent)
    assert delivery.complained_at is not None
    # Already unsubscribed: the complaint is recorded on the delivery, the choice stays theirs.
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert WebhookEvent.objects.filter(delivery=delivery).count() == 5


def test_a_replayed_mailgun_event_changes_nothing(
    client, mailgun_sent, django_capture_on_commit_callbacks
):
    payload = mailgun_payload(
        mailgun_event("delivered", mailgun_sent.message_id, "bob@example.org")
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_mailgun(client, payload)
    mailgun_sent.refresh_from_db()
    first = mailgun_sent.delivered_at
    payload["event-data"]["timestamp"] = 1795290000.0  # same token: the same event, sent again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_mailgun(client, payload)

    # Mailgun posts an event again only when it was not accepted: a used token is a replay.
    assert response.status_code == 400
    assert callbacks == []
    assert WebhookEvent.objects.count() == 1
    mailgun_sent.refresh_from_db()
    assert mailgun_sent.delivered_at == first


def test_a_mailgun_webhook_with_a_bad_signature_is_refused_and_stores_nothing(
    client, mailgun_sent, caplog
):
    event = mailgun_event("complained", mailgun_sent.message_id, "bob@example.org")
    forged = mailgun_payload(event, key="key-not-the-real-one")
    unsigned = {"event-data": event}

    assert post_mailgun(client, forged).status_code == 400
    assert post_mailgun(client, unsigned).status_code == 400
    assert WebhookEvent.objects.count() == 0
    _, reader = _reload(mailgun_sent)
    assert reader.status == Subscriber.Status.ACTIVE
    assert "incorrect signature" in caplog.text


def test_a_signed_mailgun_payload_missing_its_event_is_a_400(client, mailgun_sent):
    payload = mailgun_payload({"recipient": "bob@example.org"})

    assert post_mailgun(client, payload).status_code == 400
    assert WebhookEvent.objects.count() == 0


# --- With a real worker ---------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_the_stored_event_after_the_webhook_answers(
    client, topics, celery_worker
):
    reader = ledger.subscriber("worker@example.org")
    delivery = ledger.delivery(ledger.campaign(topics["news"]), reader, message_id="pm-1")

    response = post_postmark(client, postmark_complaint("pm-1", reader.email))

    assert response.status_code == 200
    assert WebhookEvent.objects.filter(event_type="complained").count() == 1
    wait_until(
        lambda: Subscriber.objects.get(pk=reader.pk).status == Subscriber.Status.COMPLAINED,
        message="the worker to suppress the complainer",
    )
    delivery.refresh_from_db()
    assert delivery.complained_at is not None
    assert WebhookEvent.objects.get().delivery_id == delivery.pk


# --- Storing, ESP by ESP --------------------------------------------------------------------


def _ses_bounce(bounce_type, recipients):
    """anymail's events from one Amazon SES bounce notification: one per bounced recipient."""
    notification = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": r} for r in recipients],
        },
        "mail": {"messageId": "0100017abc-ses", "destination": recipients},
    }
    return [
        AnymailTrackingEvent(
            event_type=EventType.BOUNCED,
            event_id="0b8f1c3e-ses-notification",
            message_id="0100017abc-ses",
            recipient=recipient,
            esp_event=notification,
        )
        for recipient in recipients
    ]


def test_one_esp_event_for_several_recipients_is_stored_once_per_recipient(db):
    first, second = _ses_bounce("Permanent", ["a@example.org", "b@example.org"])

    stored = [webhook_event_store(esp="Amazon SES", event=e) for e in (first, second)]
    replayed = webhook_event_store(esp="Amazon SES", event=first)

    assert all(stored) and replayed is None
    assert sorted(WebhookEvent.objects.values_list("recipient", flat=True)) == [
        "a@example.org",
        "b@example.org",
    ]
    assert set(WebhookEvent.objects.values_list("event_type", flat=True)) == {"bounced"}


def test_a_transient_ses_bounce_is_stored_as_a_soft_bounce(db):
    (event,) = _ses_bounce("Transient", ["a@example.org"])

    assert webhook_event_store(esp="Amazon SES", event=event).event_type == "deferred"


def test_without_a_webhook_secret_configured_postmark_webhooks_are_refused(client, sent, settings):
    settings.ANYMAIL = {}

    with pytest.warns(AnymailInsecureWebhookWarning):  # anymail's own warning to the operator
        response = client.post(
            POSTMARK_URL,
            data=json.dumps(postmark_bounce(sent.message_id, "ann@example.org")),
            content_type="application/json",
        )

    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "esp"),
    [
        ("anymail:mailgun_tracking_webhook", "Mailgun"),
        ("anymail:postal_tracking_webhook", "Postal"),
        ("anymail:amazon_ses_tracking_webhook", "Amazon SES"),
        ("anymail:mandrill_tracking_webhook", "Mandrill"),
    ],
)
def test_a_webhook_for_an_esp_that_is_not_configured_is_a_404(
    client, settings, monkeypatch, url, esp, db
):
    from anymail.exceptions import AnymailImproperlyInstalled
    from anymail.webhooks import amazon_ses

    def boto3_missing(**kwargs):
        raise AnymailImproperlyInstalled(missing_package="boto3", install_extra="amazon-ses")

    # What anymail does when boto3 is not installed (it is, in this venv, for other tests).
    monkeypatch.setattr(amazon_ses, "_get_anymail_boto3_params", boto3_missing)
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    auth = base64.b64encode(WEBHOOK_SECRET.encode()).decode()
    response = client.post(
        reverse(url), b"{}", content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}"
    )
    assert response.status_code == 404
    assert response.content.decode() == f"This ESP ({esp}) is not configured here."
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{not json", {}),
        (b"\xff\xfe", {}),
        (b'{"Type": "Telegram", "MessageId": "m1"}', {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Telegram"}),
        (
            b'{"Type": "Notification", "MessageId": "m1", "Message": "{broken"}',
            {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "m1"},
        ),
    ],
    ids=["broken-json", "not-utf8", "unknown-type", "unparsable-message"],
)
def test_a_malformed_amazon_ses_notification_is_a_400_and_stores_nothing(
    client, settings, db, body, headers
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    auth = base64.b64encode(WEBHOOK_SECRET.encode()).decode()
    response = client.post(
        reverse("anymail:amazon_ses_tracking_webhook"),
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
        **headers,
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_used_mailgun_signature_with_another_event_in_the_body_is_refused(client, mailgun_sent):
    """Mailgun signs a timestamp and a token, not the body: a captured call cannot carry another
    event."""
    payload = mailgun_payload(
        mailgun_event("delivered", mailgun_sent.message_id, "bob@example.org")
    )
    assert post_mailgun(client, payload).status_code == 200
    payload["event-data"] = mailgun_event("complained", mailgun_sent.message_id, "bob@example.org")

    response = post_mailgun(client, payload)

    assert response.status_code == 400
    assert list(WebhookEvent.objects.values_list("event_type", flat=True)) == ["delivered"]


def test_a_mailgun_signature_older_than_a_day_is_refused(client, mailgun_sent):
    stale = str(int(time.time()) - 25 * 3600)
    event = mailgun_event("complained", mailgun_sent.message_id, "bob@example.org")

    response = post_mailgun(client, mailgun_payload(event, timestamp=stale))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()

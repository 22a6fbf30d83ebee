"""ESP webhooks as the ESPs call them: over real HTTP, to the production web process (the README's
release step, then the Procfile's `web` line: gunicorn, DEBUG off), each ESP with its own payload
shape and its own proof of origin (tests/inbound/esp_calls.py), and a real Celery worker applying
the event.

One web process serves the whole module: a tracking webhook only stores an event, so nothing it
does caches the content types that a transactional test's flush renumbers. Each test that needs
the event applied has a worker of its own (conftest's `celery_worker`).
"""

import dataclasses
import json
import urllib.error
import urllib.request
import uuid

import pytest

from newsletter.campaigns import reports
from newsletter.models import Delivery, Subscriber, Suppression, Topic, WebhookEvent
from tests import ledger
from tests.inbound import esp_calls
from tests.production_web import ProductionWeb
from tests.support import database_url, wait_until

pytestmark = [pytest.mark.timeout(600), pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker, smtp_sink):
    """The production web process on the test database, after the README's release step: its
    base URL. Events are applied by a real worker (conftest's `celery_worker`), not eagerly."""
    with django_db_blocker.unblock():
        database = database_url()
    server = ProductionWeb(
        database_url=database, email_url=smtp_sink.url, **esp_calls.server_environment()
    )
    server.release().start(timeout=240)
    try:
        yield server.base
    finally:
        server.stop()
    # Nothing posted here may have been a server error, whatever each test asserted.
    served = server.output()
    assert '" 500 ' not in served, served[-5000:]


def _status(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def post(base: str, call: esp_calls.Call) -> int:
    return _status(
        urllib.request.Request(
            base + call.path, data=call.body, headers=call.request_headers(), method="POST"
        )
    )


def changed(call: esp_calls.Call, **replacements: str) -> esp_calls.Call:
    body = call.body
    for old, new in replacements.items():
        body = body.replace(old.encode(), new.encode())
    assert body != call.body
    return dataclasses.replace(call, body=body)


def sent(*names: str, message_id: str | None = None) -> list[Delivery]:
    """One campaign sent to each of `names`; each delivery carries the ESP's message id (one id for
    all when the ESP gives a message to several recipients one id)."""
    topic, _ = Topic.objects.get_or_create(slug="news", defaults={"name": "News"})
    campaign = ledger.campaign(topic)
    return [
        ledger.delivery(
            campaign,
            ledger.subscriber(f"{name}-{uuid.uuid4().hex[:6]}@readers.example.net"),
            message_id=message_id or str(uuid.uuid4().int % 10**16),
        )
        for name in names
    ]


def worker_idle() -> bool:
    """The worker answered, and has no task running or waiting."""
    from engage.celery import app

    inspect = app.control.inspect(timeout=1.0)
    active, reserved = inspect.active() or {}, inspect.reserved() or {}
    return bool(active) and not any(active.values()) and not any(reserved.values())


def status(delivery: Delivery) -> str:
    return Subscriber.objects.get(pk=delivery.subscriber_id).status


BOUNCES = {
    "Postmark": esp_calls.postmark_bounce,
    "Mailgun": esp_calls.mailgun_bounce,
    "Amazon SES": lambda message_id, email: esp_calls.ses_bounce(message_id, [email]),
    "SendGrid": esp_calls.sendgrid_bounce,
    "Brevo": esp_calls.brevo_bounce,
    "Mailjet": esp_calls.mailjet_bounce,
    "SparkPost": esp_calls.sparkpost_bounce,
    "Mandrill": esp_calls.mandrill_bounce,
    "Postal": esp_calls.postal_bounce,
    "MailerSend": esp_calls.mailersend_bounce,
    "Resend": esp_calls.resend_bounce,
    "Mailtrap": esp_calls.mailtrap_bounce,
    "Unisender Go": esp_calls.unisender_go_bounce,
}


@pytest.mark.worker
@pytest.mark.parametrize("esp", BOUNCES)
def test_a_hard_bounce_from_each_esp_suppresses_the_reader_it_names_and_nobody_else(
    web, celery_worker, esp
):
    bounced, bystander = sent("bounced", "bystander")

    answer = post(web, BOUNCES[esp](bounced.message_id, bounced.subscriber.email))

    assert answer == 200
    wait_until(lambda: status(bounced) == "bounced", message=f"the {esp} bounce to suppress")
    assert Delivery.objects.get(pk=bounced.pk).status == Delivery.Status.BOUNCED
    assert status(bystander) == "active"


@pytest.mark.worker
def test_a_mailgun_complaint_suppresses_the_reader_it_names(web, celery_worker):
    complained, bystander = sent("complained", "bystander")

    answer = post(
        web, esp_calls.mailgun_complaint(complained.message_id, complained.subscriber.email)
    )

    assert answer == 200
    wait_until(lambda: status(complained) == "complained", message="the complaint to suppress")
    assert Delivery.objects.get(pk=complained.pk).complained_at is not None
    assert status(bystander) == "active"


@pytest.mark.worker
def test_one_ses_notification_naming_two_readers_suppresses_both(web, celery_worker):
    # SES gives one message id to a message sent to several recipients at once.
    first, second, third = sent("first", "second", "third", message_id="0102018c-ses-shared")
    named = [first.subscriber.email, second.subscriber.email]

    answer = post(web, esp_calls.ses_bounce("0102018c-ses-shared", named))

    assert answer == 200
    wait_until(lambda: status(first) == status(second) == "bounced", message="both suppressed")
    assert status(third) == "active"


@pytest.mark.parametrize("esp", BOUNCES)
def test_a_call_without_the_esps_secret_is_refused_and_changes_nothing(web, esp):
    (reader,) = sent("reader")
    genuine = BOUNCES[esp](reader.message_id, reader.subscriber.email)

    answer = post(web, esp_calls.forged(genuine))

    assert 400 <= answer < 500
    assert not WebhookEvent.objects.exists()
    assert status(reader) == "active"


# The ESPs whose proof covers the body: a captured call replayed with another reader in it fails.
BODY_SIGNED = [
    "Mandrill",
    "Postal",
    "MailerSend",
    "SendGrid",
    "Unisender Go",
    "Resend",
    "Amazon SES",
]


def assert_replayed_at_another_reader_is_refused(web, call_for) -> None:
    """A genuine call, then the same call with its body turned on another reader: refused with a
    4xx, and only the genuine event stored."""
    victim, target = sent("victim", "target")
    genuine = call_for(victim.message_id, victim.subscriber.email)
    assert post(web, genuine) == 200

    answer = post(
        web,
        changed(
            genuine,
            **{
                victim.subscriber.email: target.subscriber.email,
                victim.message_id: target.message_id,
            },
        ),
    )

    assert 400 <= answer < 500
    assert list(WebhookEvent.objects.values_list("recipient", flat=True)) == [
        victim.subscriber.email
    ]


@pytest.mark.parametrize("esp", BODY_SIGNED)
def test_a_signed_call_replayed_with_a_changed_body_is_refused(web, esp):
    assert_replayed_at_another_reader_is_refused(web, BOUNCES[esp])


def test_a_resend_call_signed_more_than_five_minutes_ago_is_refused(web):
    (reader,) = sent("reader")
    genuine = esp_calls.resend_bounce(reader.message_id, reader.subscriber.email)
    stale = str(int(genuine.headers["svix-timestamp"]) - 10 * 60)

    answer = post(
        web, dataclasses.replace(genuine, headers={**genuine.headers, "svix-timestamp": stale})
    )

    assert 400 <= answer < 500
    assert not WebhookEvent.objects.exists()


def _unsigned(call: esp_calls.Call) -> esp_calls.Call:
    envelope = json.loads(call.body)
    del envelope["Signature"]
    return esp_calls.sns_call(envelope)


def _version(call: esp_calls.Call, version: str) -> esp_calls.Call:
    return esp_calls.sns_call({**json.loads(call.body), "SignatureVersion": version})


# What makes an SNS message Amazon's is the certificate's host: anyone can sign with their own.
NOT_AMAZONS = {
    "no signature": lambda bounce: _unsigned(bounce()),
    "an unknown signature version": lambda bounce: _version(bounce(), "3"),
    "a certificate elsewhere": lambda bounce: bounce(
        cert_url=esp_calls.SNS.cert_url(folder="elsewhere")
    ),
    "a look-alike host": lambda bounce: bounce(
        cert_url="https://sns.eu-west-1.amazonaws.com.evil.example.net/SimpleNotificationService-x.pem"
    ),
    "plain http": lambda bounce: bounce(
        cert_url="http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem"
    ),
    "an expired certificate": lambda bounce: bounce(cert_url=esp_calls.SNS.cert_url("expired")),
}


@pytest.mark.parametrize("case", NOT_AMAZONS)
def test_an_sns_notification_not_signed_by_amazon_sns_is_refused_and_changes_nothing(web, case):
    (reader,) = sent("reader")

    def bounce(**options):
        return esp_calls.ses_bounce(reader.message_id, [reader.subscriber.email], **options)

    answer = post(web, NOT_AMAZONS[case](bounce))

    assert 400 <= answer < 500
    assert not WebhookEvent.objects.exists()
    assert status(reader) == "active"


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_sns_notification_signed_with_either_signature_version_is_stored(web, version):
    (reader,) = sent("reader")

    answer = post(
        web, esp_calls.ses_bounce(reader.message_id, [reader.subscriber.email], version=version)
    )

    assert answer == 200
    assert list(WebhookEvent.objects.values_list("recipient", flat=True)) == [
        reader.subscriber.email
    ]


def test_sns_certificate_is_fetched_once_and_its_absence_is_a_503_that_sns_retries(web):
    (reader,) = sent("reader")
    name = f"rotated-{uuid.uuid4().hex[:8]}"
    sns = esp_calls.SNS

    def bounce():
        return esp_calls.ses_bounce(
            reader.message_id, [reader.subscriber.email], cert_url=sns.cert_url(name)
        )

    assert post(web, bounce()) == 503
    assert not WebhookEvent.objects.exists()

    sns.files[sns.cert_path(name)] = sns.files[sns.cert_path()]
    assert post(web, bounce()) == 200
    assert post(web, bounce()) == 200

    assert sns.fetched.count(sns.cert_path(name)) == 2  # the 404, then once for both
    assert WebhookEvent.objects.count() == 2


def test_only_a_subscription_confirmation_signed_by_sns_is_confirmed(web):
    forged = esp_calls.forged(esp_calls.sns_subscription_confirmation("token-forged"))
    genuine = esp_calls.sns_subscription_confirmation("token-genuine")

    assert 400 <= post(web, forged) < 500
    assert post(web, genuine) == 200

    assert [call["Token"] for call in esp_calls.SNS.confirmed] == ["token-genuine"]
    assert esp_calls.SNS.confirmed[0]["Action"] == "ConfirmSubscription"


def test_a_mailgun_signature_replayed_with_another_event_is_refused(web):
    """Mailgun signs a timestamp and a token, not the body: Engage refuses a token used before."""
    assert_replayed_at_another_reader_is_refused(web, esp_calls.mailgun_complaint)


def test_a_body_over_the_size_limit_is_refused_and_changes_nothing(web):
    (reader,) = sent("reader")
    genuine = esp_calls.postmark_bounce(reader.message_id, reader.subscriber.email)
    padded = genuine.body.replace(b'"Content": ""', b'"Content": "' + b"x" * 200_000 + b'"')

    answer = post(web, dataclasses.replace(genuine, body=padded))

    assert answer in (400, 413)
    assert not WebhookEvent.objects.exists()
    assert status(reader) == "active"


HOSTILE_BODIES = [
    b"",
    b"{",
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b"{}",
    b'[{"event": "bounce"}]',
    b'{"Type": "Notification", "MessageId": "m", "Message": "{\\"eventType\\": 7}"}',
    b"mandrill_events=%5B%7B%7D%5D",
    b"\x00" * 64,
]


def test_no_webhook_url_answers_a_hostile_body_with_a_server_error(web):
    from anymail.urls import urlpatterns

    (reader,) = sent("reader")
    paths = [f"/webhooks/anymail/{pattern.pattern}" for pattern in urlpatterns]
    answers = {}
    for path in paths:
        for body in HOSTILE_BODIES:
            call = esp_calls.Call("any", path, body, headers={"x-amz-sns-message-type": "x"})
            answers[(path, body)] = post(web, call)

    assert len(paths) >= 26
    assert {key: code for key, code in answers.items() if not 200 <= code < 500} == {}
    assert status(reader) == "active"


@pytest.mark.worker
def test_a_sender_side_rejection_suppresses_nobody_and_is_shown_on_the_campaign(web, celery_worker):
    """A 5.7.x refusal of our own mail (DMARC, SPF, reputation) says nothing about the reader."""
    (reader,) = sent("reader")
    refusal = esp_calls.mailgun_bounce(
        reader.message_id,
        reader.subscriber.email,
        message="5.7.26 Unauthenticated email from engage.example.org is not accepted due to "
        "domain's DMARC policy. Please contact the administrator of engage.example.org domain.",
    )

    assert post(web, refusal) == 200

    wait_until(
        lambda: WebhookEvent.objects.filter(delivery_id=reader.pk).exists() and worker_idle(),
        message="the worker to apply the event",
    )
    assert status(reader) == "active"
    assert not Suppression.objects.exists()
    delivery = Delivery.objects.get(pk=reader.pk)
    assert delivery.status == Delivery.Status.FAILED and "DMARC" in delivery.last_error
    summary = reports.campaign_summary(campaign_id=reader.campaign_id)
    assert summary["refused"] == 1
    assert any("refused" in warning for warning in reports.campaign_warnings(summary))

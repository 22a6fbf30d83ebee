"""Throttling signals: an ESP's 429 and Retry-After, Amazon SES's throttling errors and an SMTP
454 slow the whole send like a relay outage, and are never charged to a reader.

Each counterpart is real on loopback: the Postmark stand-in and an SES (v2 API) stand-in over
HTTP, aiosmtpd for SMTP; a real worker for the 454 storm."""

import collections
import time
from datetime import timedelta

import pytest
from botocore.config import Config
from django.utils import timezone

from bench.esp_standin import EspStandin, Fault
from newsletter import delivery
from newsletter.delivery.senders import throttling
from newsletter.mail import sendrate
from newsletter.models import Campaign, Delivery
from tests.campaign_runs import audience, due_campaign, per_recipient, tick_until_sent
from tests.ses_standin import SesStandin
from tests.support import SmtpSink, StormHandler


@pytest.fixture(autouse=True)
def _own_pause_key(monkeypatch):
    """The ESP pause lives in the broker's Redis: a key of this test's own, gone afterwards."""
    monkeypatch.setattr(sendrate, "PAUSE_KEY", f"engage:test:throttling:{id(monkeypatch)}")
    yield
    url = sendrate._redis_url()
    if url:
        sendrate._client(url).delete(sendrate.PAUSE_KEY)
    sendrate._paused_until = 0.0


def sending_campaign(topics, readers: int) -> tuple[Campaign, list[int]]:
    audience(topics, readers)
    campaign = due_campaign(topics)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    campaign.refresh_from_db()
    delivery.prepare(campaign.pk)
    return campaign, list(Delivery.objects.filter(campaign=campaign).values_list("pk", flat=True))


def assert_waiting_uncharged(campaign, ids, outcome, *, at_least: float, says: str):
    assert outcome.sent == 0 and outcome.retry_ids == [] and outcome.failed == 0
    assert sorted(outcome.waiting_ids) == sorted(ids)
    assert outcome.wait >= at_least
    earliest = timezone.now() + timedelta(seconds=at_least - 1)
    for row in Delivery.objects.filter(pk__in=ids):
        assert row.status == Delivery.Status.QUEUED
        assert row.attempts == 0 and row.first_attempt_at is None  # charged to nobody
        assert row.lease_expires_at >= earliest
    campaign.refresh_from_db()
    assert campaign.relay_down_since is not None and says in campaign.relay_error


# --- An ESP's 429 -----------------------------------------------------------------------------


@pytest.fixture
def postmark(db, settings):
    standin = EspStandin(latency=0.0).start()
    settings.MAILERS = {"default": {"BACKEND": "newsletter.mail.esp_backends.EmailBackend"}}
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-token", "POSTMARK_API_URL": standin.url}
    yield standin
    standin.stop()


def test_once_the_esp_takes_mail_again_the_campaign_no_longer_waits(postmark, topics):
    campaign, ids = sending_campaign(topics, 3)
    postmark.script.append(Fault(status=429, retry_after=0))
    waited = delivery.send_batch(ids)
    campaign.refresh_from_db()
    assert campaign.relay_down_since is not None
    time.sleep(waited.wait)  # until the next batch may probe

    outcome = delivery.send_batch(ids)

    assert outcome.sent == 3
    campaign.refresh_from_db()
    assert campaign.relay_down_since is None and campaign.relay_error == ""
    assert set(Delivery.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


# --- Amazon SES -------------------------------------------------------------------------------


@pytest.fixture
def ses(db, settings):
    standin = SesStandin().start()
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.amazon_ses.EmailBackend"}}
    settings.ANYMAIL = {
        "AMAZON_SES_CLIENT_PARAMS": {
            "region_name": "eu-west-1",
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
            "endpoint_url": standin.url,
            # botocore's own retries (which take throttling answers too) left to Engage.
            "config": Config(retries={"mode": "standard", "max_attempts": 1}),
        }
    }
    yield standin
    standin.stop()


@pytest.mark.parametrize(
    "status,kind,message",
    [
        (400, "Throttling", "Maximum sending rate exceeded."),
        (400, "Throttling", "Daily message quota exceeded."),
        (429, "TooManyRequestsException", "Too many requests."),
    ],
)
def test_amazon_ses_throttling_makes_the_batch_wait_and_charges_nobody(
    ses, topics, status, kind, message
):
    campaign, ids = sending_campaign(topics, 3)
    ses.errors = [(status, kind, message)] * 20

    outcome = delivery.send_batch(ids)

    assert_waiting_uncharged(
        campaign, ids, outcome, at_least=throttling.DEFAULT_WAIT_SECONDS, says=message
    )
    assert ses.accepted == []


def test_an_ses_refusal_of_a_message_is_not_taken_for_throttling(ses, topics):
    campaign, ids = sending_campaign(topics, 1)
    ses.errors = [(400, "MessageRejected", "Email address is not verified.")]

    outcome = delivery.send_batch(ids)

    assert outcome.failed == 1 and outcome.waiting_ids == [] and outcome.retry_ids == []
    campaign.refresh_from_db()
    assert campaign.relay_down_since is None


# --- SMTP 454 ---------------------------------------------------------------------------------


THROTTLED = "454 4.7.0 Throttling failure: Maximum sending rate exceeded."


def throttling_sink(storm: int) -> tuple[SmtpSink, StormHandler]:
    """Amazon SES's SMTP throttling reply to the first `storm` recipients."""
    handler = StormHandler(storm=storm, reply=THROTTLED)
    return SmtpSink(handler).start(), handler


@pytest.mark.django_db
def test_an_smtp_454_makes_the_batch_wait_for_the_server_and_charges_nobody(topics, settings):
    own, _ = throttling_sink(storm=1)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": own.port, "timeout": 10},
        }
    }
    try:
        campaign, ids = sending_campaign(topics, 4)
        outcome = delivery.send_batch(ids)
    finally:
        own.stop()
    assert_waiting_uncharged(campaign, ids, outcome, at_least=2, says="454 4.7.0 Throttling")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
def test_a_storm_of_454s_slows_the_send_and_everyone_gets_one_copy(topics, start_worker):
    """Production defaults: the server throttles the first 10 recipients it is offered."""
    own, handler = throttling_sink(storm=10)
    start_worker(email_url=own.url)
    people = audience(topics, 200)
    campaign = due_campaign(topics)

    assert delivery.start_due_campaigns() == 1
    try:
        tick_until_sent(campaign, timeout=240)
    finally:
        own.stop()

    assert handler.refused == 10
    assert per_recipient(own.received) == collections.Counter(
        {person.email: 1 for person in people}
    )
    rows = Delivery.objects.filter(campaign=campaign)
    assert set(rows.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert set(rows.values_list("attempts", flat=True)) == {1}  # the 454s were nobody's
